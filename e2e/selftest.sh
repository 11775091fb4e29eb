#!/usr/bin/env bash
# Offline tests of the e2e suite itself: script syntax, the skip path, the
# openssl helpers against certificates made here, and the YAML helpers.
# Needs bash, openssl and GNU coreutils; no cluster.
set -euo pipefail
shopt -s inherit_errexit

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=e2e/lib/common.sh
source "$E2E_DIR/lib/common.sh"
# shellcheck source=e2e/lib/pki.sh
source "$E2E_DIR/lib/pki.sh"
# shellcheck source=e2e/lib/kube.sh
source "$E2E_DIR/lib/kube.sh"
# shellcheck source=e2e/lib/controller.sh
source "$E2E_DIR/lib/controller.sh"
# shellcheck source=e2e/lib/load.sh
source "$E2E_DIR/lib/load.sh"

PASSED=0
FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/privateca-e2e-selftest.XXXXXX")
# Stops fake controllers a failed run left behind, then removes the work directory.
stop_fakes() {
  local pid
  if [[ -f "$WORK/fake.log.pids" ]]; then
    while read -r pid; do
      kill "$pid" 2>/dev/null || true
    done <"$WORK/fake.log.pids"
  fi
  rm -rf "$WORK"
}
trap stop_fakes EXIT

# ok NAME COMMAND...: COMMAND must succeed.
ok() {
  local name=$1 output
  shift
  if output=$("$@" 2>&1); then
    echo "PASS $name"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $name: ${output//$'\n'/; }"
    FAILED=$((FAILED + 1))
  fi
}

# rejects NAME COMMAND...: COMMAND must fail, so that the helper can catch a fault.
rejects() {
  local name=$1 output
  shift
  if output=$("$@" 2>&1); then
    echo "FAIL $name: expected a failure, got success: ${output//$'\n'/; }"
    FAILED=$((FAILED + 1))
  else
    echo "PASS $name"
    PASSED=$((PASSED + 1))
  fi
}

# equals ACTUAL EXPECTED: for use with ok and rejects.
equals() {
  [[ "$1" == "$2" ]] || {
    echo "expected '$2', got '$1'"
    return 1
  }
}

# sign CSR OUT ISSUER_DIR EXTENSIONS [DAYS]: an openssl stand-in for the
# controller, signing CSR with the given extension lines.
sign() {
  local csr=$1 out=$2 issuer=$3 extensions=$4 days=${5:-90}
  printf '%b\n' "$extensions" >"$out.ext"
  openssl x509 -req -in "$csr" -CA "$issuer/tls.crt" -CAkey "$issuer/tls.key" \
    -set_serial "0x$(random_hex 16)" -days "$days" -extfile "$out.ext" -out "$out" 2>/dev/null
}

END_ENTITY='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
SERVER_AUTH='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
CODE_SIGNING='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,codeSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'

test_scripts() {
  local file
  for file in "$E2E_DIR"/run.sh "$E2E_DIR"/selftest.sh "$E2E_DIR"/lib/*.sh; do
    ok "bash -n ${file#"$E2E_DIR"/}" bash -n "$file"
  done
  if command -v shellcheck >/dev/null 2>&1; then
    ok "shellcheck" shellcheck -x -P "$E2E_DIR/.." "$E2E_DIR"/run.sh "$E2E_DIR"/selftest.sh "$E2E_DIR"/lib/*.sh
  else
    echo "NOTE shellcheck is not installed; skipped the lint step"
  fi
}

# skip_output ENV...: runs run.sh with the given environment and prints
# "<exit status>|<line count>|<first line>".
skip_output() {
  local output status=0
  output=$(env -u KUBECONFIG -u E2E_REQUIRE_CLUSTER "$@" "$E2E_DIR/run.sh" 2>&1) || status=$?
  echo "$status|$(grep -c . <<<"$output")|$(head -n1 <<<"$output")"
}

test_skip_path() {
  local result
  result=$(skip_output)
  ok "skip without KUBECONFIG prints one line and exits 0" \
    equals "$result" "0|1|e2e: SKIPPED: KUBECONFIG is not set; point it at a test cluster to run the suite"
  result=$(skip_output E2E_REQUIRE_CLUSTER=1)
  ok "E2E_REQUIRE_CLUSTER=1 turns the skip into exit 1" equals "${result%%|*}" 1
  ok "E2E_REQUIRE_CLUSTER=1 still says why" grep -q 'KUBECONFIG is not set' <<<"$result"

  cat >"$WORK/unreachable.kubeconfig" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: unreachable
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: nobody
  user:
    token: not-a-token
contexts:
- name: unreachable
  context:
    cluster: unreachable
    user: nobody
current-context: unreachable
EOF
  if command -v kubectl >/dev/null 2>&1; then
    result=$(skip_output KUBECONFIG="$WORK/unreachable.kubeconfig")
    ok "skip with an unreachable API server exits 0 with one line" equals "${result%|*}" "0|1"
    ok "the skip line names the unreachable server" grep -q '^0|1|e2e: SKIPPED: the API server .* is unreachable' <<<"$result"
  fi
  result=$(skip_output KUBECONFIG="$WORK/missing.kubeconfig")
  ok "skip with a missing kubeconfig file" equals "$result" \
    "0|1|e2e: SKIPPED: KUBECONFIG=$WORK/missing.kubeconfig names no existing file"
  ok "--help exits 0" "$E2E_DIR/run.sh" --help
  ok "--help documents --load" grep -q -- '--load' <<<"$("$E2E_DIR/run.sh" --help)"
  rejects "an unknown flag exits non-zero" "$E2E_DIR/run.sh" --no-such-flag
  rejects "an invalid --only regex exits non-zero" "$E2E_DIR/run.sh" --only '('
  rejects "--load with a zero count exits non-zero" "$E2E_DIR/run.sh" --load 0
}

test_csr_helpers() {
  local type
  for type in rsa2048 p256 p384 ed25519 rsa1024; do
    pki_make_key "$type" "$WORK/$type.key"
    pki_make_csr "$WORK/$type.key" "$WORK/$type.csr" "/O=e2e/CN=$type.example.internal" "DNS:$type.example.internal"
    ok "$type CSR self-signature verifies" pki_csr_signature_ok "$WORK/$type.csr"
    pki_flip_last_byte "$WORK/$type.csr" "$WORK/$type.tampered.csr"
    ok "$type tampered CSR still parses" openssl req -in "$WORK/$type.tampered.csr" -noout
    rejects "$type tampered CSR fails verification" pki_csr_signature_ok "$WORK/$type.tampered.csr"
  done
  ok "RSA 1024 key size is 1024" grep -q 'Public-Key: (1024 bit)' <<<"$(openssl req -in "$WORK/rsa1024.csr" -noout -text)"
  ok "subject of a CSR" equals "$(pki_subject "$WORK/p256.csr" req)" "CN=p256.example.internal,O=e2e"
  pki_make_csr "$WORK/p256.key" "$WORK/empty.csr" "/" "DNS:app.example.internal"
  ok "CSR with no subject" equals "$(pki_subject "$WORK/empty.csr" req)" ""
  rejects "unknown key type" pki_make_key dsa "$WORK/dsa.key"
}

test_certificate_helpers() {
  pki_make_ca "$WORK/root" 3650
  pki_make_ca "$WORK/sub" 365 "$WORK/root" 0
  pki_make_ca "$WORK/other" 3650
  ok "root ca.crt is itself" equals "$(pki_fingerprint "$WORK/root/ca.crt")" "$(pki_fingerprint "$WORK/root/tls.crt")"
  ok "root chain.crt is empty" test ! -s "$WORK/root/chain.crt"
  ok "subordinate chain.crt is the root" equals "$(pki_fingerprint "$WORK/sub/chain.crt")" "$(pki_fingerprint "$WORK/root/tls.crt")"
  ok "subordinate basicConstraints" pki_expect_extension "$WORK/sub/tls.crt" "X509v3 Basic Constraints" "critical|CA:TRUE, pathlen:0"
  ok "root keyUsage as a set" pki_expect_extension "$WORK/root/tls.crt" "X509v3 Key Usage" "critical|CRL Sign, Certificate Sign, Digital Signature"
  rejects "keyUsage criticality is compared" pki_expect_extension "$WORK/root/tls.crt" "X509v3 Key Usage" "-|Digital Signature, Certificate Sign, CRL Sign"
  ok "absent extension" pki_expect_extension "$WORK/root/tls.crt" "X509v3 Extended Key Usage" absent
  rejects "present extension expected absent" pki_expect_extension "$WORK/root/tls.crt" "X509v3 Key Usage" absent

  local type
  for type in rsa2048 p256 p384 ed25519; do
    sign "$WORK/$type.csr" "$WORK/$type.pem" "$WORK/sub" "$END_ENTITY"
    ok "$type EndEntityCertificate/V1 extensions" pki_check_template "$WORK/$type.pem" EndEntityCertificate/V1
    rejects "$type is not EndEntityServerAuthCertificate/V1" pki_check_template "$WORK/$type.pem" EndEntityServerAuthCertificate/V1
    ok "$type chain verifies" pki_verify_chain "$WORK/root/tls.crt" "$WORK/sub/tls.crt" "$WORK/$type.pem"
    rejects "$type chain without the intermediate" pki_verify_chain "$WORK/root/tls.crt" "" "$WORK/$type.pem"
    rejects "$type chain against another root" pki_verify_chain "$WORK/other/tls.crt" "$WORK/sub/tls.crt" "$WORK/$type.pem"
    ok "$type AKI is the issuer's SKI" pki_check_aki_matches "$WORK/$type.pem" "$WORK/sub/tls.crt"
    rejects "$type AKI is not the root's SKI" pki_check_aki_matches "$WORK/$type.pem" "$WORK/root/tls.crt"
    ok "$type certificate carries the CSR key" pki_expect_same_pubkey "$WORK/$type.csr" "$WORK/$type.pem"
    ok "$type lifetime of 90 days is 2160h" pki_expect_lifetime "$WORK/$type.pem" $((2160 * 3600))
  done
  rejects "another CSR's key is detected" pki_expect_same_pubkey "$WORK/p384.csr" "$WORK/p256.pem"
  rejects "a lifetime off by an hour is detected" pki_expect_lifetime "$WORK/p256.pem" $((2161 * 3600))
  ok "signature algorithm of an RSA issuer" equals "$(pki_signature_algorithm "$WORK/p384.pem")" sha256WithRSAEncryption

  sign "$WORK/p256.csr" "$WORK/server.pem" "$WORK/sub" "$SERVER_AUTH"
  ok "EndEntityServerAuthCertificate/V1 extensions" pki_check_template "$WORK/server.pem" EndEntityServerAuthCertificate/V1
  rejects "server-only EKU is not EndEntityCertificate/V1" pki_check_template "$WORK/server.pem" EndEntityCertificate/V1
  sign "$WORK/p256.csr" "$WORK/code.pem" "$WORK/sub" "$CODE_SIGNING"
  ok "CodeSigningCertificate/V1 extensions" pki_check_template "$WORK/code.pem" CodeSigningCertificate/V1
  sign "$WORK/p256.csr" "$WORK/short.pem" "$WORK/sub" "$END_ENTITY" 1
  ok "lifetime of 1 day" pki_expect_lifetime "$WORK/short.pem" 86400

  pki_make_ca "$WORK/expiring" 30
  local left=$(($(pki_not_after "$WORK/expiring/tls.crt") - $(date -u +%s)))
  ok "a 30-day CA has 30 days left" test "$left" -gt $((30 * 86400 - 120)) -a "$left" -le $((30 * 86400))
}

test_san_helpers() {
  local name san rendered
  for name in dns ip uri; do
    case $name in
      dns) san="DNS:app.example.internal" rendered="DNS:app.example.internal" ;;
      ip) san="IP:10.0.0.1" rendered="IP Address:10.0.0.1" ;;
      uri) san="URI:spiffe://cluster.local/ns/sandbox/sa/foo" rendered="$san" ;;
    esac
    pki_make_csr "$WORK/p256.key" "$WORK/$name-san.csr" "/" "$san"
    sign "$WORK/$name-san.csr" "$WORK/$name-san.pem" "$WORK/sub" "$END_ENTITY\nsubjectAltName=critical,$san"
    sign "$WORK/$name-san.csr" "$WORK/$name-san-loose.pem" "$WORK/sub" "$END_ENTITY\nsubjectAltName=$san"
    ok "$name SAN is critical" pki_expect_extension "$WORK/$name-san.pem" "X509v3 Subject Alternative Name" "critical|$rendered"
    rejects "$name SAN criticality is compared" pki_expect_extension "$WORK/$name-san-loose.pem" "X509v3 Subject Alternative Name" "critical|$rendered"
    ok "$name SAN DER equals the CSR's" equals "$(pki_san_hex "$WORK/$name-san.pem" x509)" "$(pki_san_hex "$WORK/$name-san.csr" req)"
    ok "$name SAN with an empty subject verifies" pki_verify_chain "$WORK/root/tls.crt" "$WORK/sub/tls.crt" "$WORK/$name-san.pem"
    rejects "$name non-critical SAN with an empty subject fails -x509_strict" \
      pki_verify_chain "$WORK/root/tls.crt" "$WORK/sub/tls.crt" "$WORK/$name-san-loose.pem"
  done
  ok "empty subject of a certificate" equals "$(pki_subject "$WORK/dns-san.pem" x509)" ""
  rejects "SAN DER of different names differs" equals "$(pki_san_hex "$WORK/ip-san.pem" x509)" "$(pki_san_hex "$WORK/dns-san.csr" req)"
  rejects "no SAN" pki_san_hex "$WORK/root/tls.crt" x509
}

test_chain_helpers() {
  cat "$WORK/p256.pem" "$WORK/sub/tls.crt" >"$WORK/chain.pem"
  ok "leaf then subordinate" pki_check_status_chain "$WORK/chain.pem" "$WORK/sub/tls.crt"
  cat "$WORK/p256.pem" "$WORK/sub/tls.crt" "$WORK/sub/tls.crt" >"$WORK/duplicate.pem"
  rejects "a duplicated intermediate is detected" pki_check_status_chain "$WORK/duplicate.pem" "$WORK/sub/tls.crt"
  cat "$WORK/p256.pem" "$WORK/root/tls.crt" >"$WORK/wrong.pem"
  rejects "the root in place of the intermediate is detected" pki_check_status_chain "$WORK/wrong.pem" "$WORK/sub/tls.crt"
  sed 's/$/\r/' "$WORK/chain.pem" >"$WORK/crlf.pem"
  rejects "CRLF line endings are detected" pki_check_status_chain "$WORK/crlf.pem" "$WORK/sub/tls.crt"
  ok "split counts certificates" equals "$(pki_split_certs "$WORK/chain.pem" "$WORK/split")" 2
  ok "split keeps the order" equals "$(pki_fingerprint "$WORK/split-1.pem")" "$(pki_fingerprint "$WORK/sub/tls.crt")"
}

test_yaml_helpers() {
  local yaml
  RUN_ID=e2e-selftest
  yaml=$(cr_yaml ns app "$WORK/p256.csr" --group "" --usages "digital signature, key encipherment,server auth" \
    --duration 1h --is-ca --template "arn:aws:acm-pca:::template/CodeSigningCertificate/V1")
  ok "request carries the CSR as one base64 line" grep -qF "  request: $(b64 "$WORK/p256.csr")" <<<"$yaml"
  ok "empty group is written" grep -qx '    group: ""' <<<"$yaml"
  ok "usages are a list" equals "$(grep -c '^  - "' <<<"$yaml")" 3
  ok "usage with spaces" grep -qx '  - "key encipherment"' <<<"$yaml"
  ok "template annotation" grep -qF 'privateca.issuer.dev/template: "arn:aws:acm-pca:::template/CodeSigningCertificate/V1"' <<<"$yaml"
  ok "isCA" grep -qx '  isCA: true' <<<"$yaml"
  if python3 -c 'import yaml' 2>/dev/null; then
    ok "request YAML parses" python3 -c 'import sys, yaml; d = yaml.safe_load(sys.stdin); assert d["spec"]["issuerRef"]["group"] == ""' <<<"$yaml"
  fi
  rejects "unknown request option" cr_yaml ns app "$WORK/p256.csr" --bogus

  if command -v kubectl >/dev/null 2>&1; then
    RUN_LABEL=privateca.issuer.dev/e2e-run
    echo "$yaml" >"$WORK/request.yaml"
    ok "kubectl reads the request's group" equals "$(jsonpath "$WORK/request.yaml" '[{.spec.issuerRef.group}]')" "[]"
    ok "kubectl reads the request's CSR" equals "$(jsonpath "$WORK/request.yaml" '{.spec.request}')" "$(b64 "$WORK/p256.csr")"
    ok "kubectl reads the request's usages" equals "$(jsonpath "$WORK/request.yaml" '{.spec.usages[1]}')" "key encipherment"
    ok "kubectl reads isCA as a boolean" equals "$(jsonpath "$WORK/request.yaml" '{.spec.isCA}')" true
    ok "kubectl reads the template annotation" equals \
      "$(jsonpath "$WORK/request.yaml" '{.metadata.annotations.privateca\.issuer\.dev/template}')" \
      "arn:aws:acm-pca:::template/CodeSigningCertificate/V1"

    ca_yaml PrivateCA ns sub "$(printf 'type: Subordinate\nsubject:\n  commonName: e2e sub\nparentRef:\n  kind: PrivateCA\n  name: root\n')"$'\n'"disabled: true" \
      >"$WORK/ca.yaml"
    ok "kubectl reads the CA's parentRef" equals "$(jsonpath "$WORK/ca.yaml" '{.spec.parentRef.kind}/{.spec.parentRef.name}')" PrivateCA/root
    ok "kubectl reads the CA's disabled flag" equals "$(jsonpath "$WORK/ca.yaml" '{.spec.disabled}')" true
    ok "kubectl reads the CA's run label" equals \
      "$(jsonpath "$WORK/ca.yaml" '{.metadata.labels.privateca\.issuer\.dev/e2e-run}')" e2e-selftest
    ca_yaml ClusterPrivateCA ns shared "$(ca_spec "e2e shared")" >"$WORK/cluster-ca.yaml"
    ok "a ClusterPrivateCA has no namespace" equals "$(jsonpath "$WORK/cluster-ca.yaml" '[{.metadata.namespace}]')" "[]"

    ca_secret_yaml ns imported-ca "$WORK/root" >"$WORK/ca-secret.yaml"
    ok "kubectl reads the CA Secret's certificate" equals \
      "$(jsonpath "$WORK/ca-secret.yaml" '{.data.tls\.crt}')" "$(b64 "$WORK/root/tls.crt")"
    ok "the CA Secret of a root has an empty chain.crt" equals "$(jsonpath "$WORK/ca-secret.yaml" '[{.data.chain\.crt}]')" "[]"
    ok "the CA Secret carries the CA label" equals \
      "$(jsonpath "$WORK/ca-secret.yaml" '{.metadata.labels.privateca\.issuer\.dev/ca-secret}')" true
  fi

  cat >"$WORK/chart.yaml" <<'EOF'
---
# Source: privateca-issuer/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: "release-privateca-issuer"
  labels:
    name: not-this
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: release-privateca-issuer
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: release-privateca-issuer
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: release-privateca-issuer-leader
subjects:
- kind: ServiceAccount
  name: release-privateca-issuer
EOF
  select_kinds ServiceAccount ClusterRole ClusterRoleBinding Role RoleBinding <"$WORK/chart.yaml" >"$WORK/rbac.yaml"
  ok "select_kinds keeps RBAC documents" equals "$(grep -c '^kind: ' "$WORK/rbac.yaml")" 3
  rejects "select_kinds drops the Deployment" grep -q '^kind: Deployment' "$WORK/rbac.yaml"
  ok "ServiceAccount name" equals "$(service_account_name "$WORK/rbac.yaml")" release-privateca-issuer
}

test_wait_helpers() {
  ok "wait_until returns when the command succeeds" wait_until "true" 2 true
  rejects "wait_until times out" wait_until "false to succeed" 1 false
  ok "wait_until says what it waited for" grep -q 'waiting for the impossible' <<<"$(wait_until "the impossible" 1 false 2>&1)"
  ok "holds_for a command that keeps succeeding" holds_for "true" 1 true
  rejects "holds_for a command that fails" holds_for "false" 2 false
}

selftest_passes() { true; }
selftest_fails() { fail "on purpose"; }
selftest_command_fails() {
  false
  echo "not reached"
}
selftest_skips() { skip_check "on purpose"; }

test_check_runner() {
  local output
  output=$(
    E2E_WORKDIR=$WORK
    for name in selftest_passes selftest_fails selftest_command_fails selftest_skips; do
      run_check "$name"
    done
    print_summary
  )
  ok "a passing check prints PASS" grep -qx 'PASS selftest_passes' <<<"$output"
  ok "fail prints its message" grep -qx 'FAIL selftest_fails: on purpose' <<<"$output"
  ok "a failing command names itself" grep -q '^FAIL selftest_command_fails: command failed with status 1 at .*: false$' <<<"$output"
  rejects "a failing command ends the check" grep -q 'not reached' <<<"$output"
  ok "skip_check prints SKIP" grep -qx 'SKIP selftest_skips: on purpose' <<<"$output"
  ok "the summary names the failed checks" grep -qx 'failed checks: selftest_fails selftest_command_fails' <<<"$output"
  ok "the last line counts the checks" equals "$(tail -n1 <<<"$output")" "1 passed, 2 failed, 1 skipped"
  output=$(
    E2E_WORKDIR=$WORK
    E2E_ONLY='passes$'
    run_check selftest_passes
    run_check selftest_fails
    print_summary
  )
  ok "--only runs the matching checks only" equals "$(tail -n1 <<<"$output")" "1 passed, 0 failed"
}

# write_fakes DIR: writes stand-ins for kubectl, helm and the controller into
# DIR. They log every call and return just enough for run.sh's setup and
# cleanup to run, so that the flow around the checks is exercised offline.
write_fakes() {
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/kubectl" <<'EOF_KUBECTL'
#!/usr/bin/env bash
echo "kubectl $*" >>"$FAKE_LOG"
args=" $* "
case $args in
  *" version "*) echo "Server Version: v1.33.0" ;;
  *" config view "*)
    case $args in
      *".server}"*) printf 'https://127.0.0.1:6443' ;;
      *".certificate-authority-data}"*) printf 'Q0E=' ;;
    esac
    ;;
  *" create token "*) echo fake-token ;;
  *" apply --dry-run=client "*)
    file=${args#* -f }
    file=${file%% *}
    awk '/^  name: / { print "customresourcedefinition.apiextensions.k8s.io/" $2 }' "$file"
    ;;
  *" get crd "* | *" get customresourcedefinition"*) exit 1 ;;
esac
exit 0
EOF_KUBECTL
  cat >"$dir/helm" <<'EOF_HELM'
#!/usr/bin/env bash
echo "helm $*" >>"$FAKE_LOG"
cat <<'EOF_CHART'
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: fake-issuer
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: fake-issuer
rules: []
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: fake-issuer
EOF_CHART
EOF_HELM
  cat >"$dir/privateca-issuer" <<'EOF_CONTROLLER'
#!/usr/bin/env bash
echo "privateca-issuer $* POD_NAMESPACE=$POD_NAMESPACE POD_NAME=$POD_NAME" >>"$FAKE_LOG"
echo $$ >>"$FAKE_LOG.pids"
grep -q 'token: fake-token' "$KUBECONFIG" || { echo "kubeconfig without the token" >&2; exit 1; }
grep -q 'server: https://127.0.0.1:6443' "$KUBECONFIG" || { echo "kubeconfig without the server" >&2; exit 1; }
grep -q 'certificate-authority-data: Q0E=' "$KUBECONFIG" || { echo "kubeconfig without the CA" >&2; exit 1; }
while (($# > 0)); do
  [[ "$1" == --health-probe-bind-address ]] && port=${2##*:}
  shift
done
root=$(mktemp -d)
touch "$root/healthz" "$root/readyz"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$root"
EOF_CONTROLLER
  chmod +x "$dir"/*
}

# no_fake_controller_left: fails while a fake controller process still runs.
no_fake_controller_left() {
  local pid
  while read -r pid; do
    ! kill -0 "$pid" 2>/dev/null || {
      echo "fake controller $pid still runs"
      return 1
    }
  done <"$WORK/fake.log.pids"
}

# fake_run ARG...: runs a copy of run.sh against the fakes; prints its output.
fake_run() {
  local repo="$WORK/repo"
  rm -rf "$repo"
  mkdir -p "$repo/crds" "$repo/charts/privateca-issuer"
  cp -r "$E2E_DIR" "$repo/e2e"
  printf 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: privatecas.privateca.issuer.dev\n' \
    >"$repo/crds/privateca.issuer.dev.yaml"
  printf 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: certificaterequests.cert-manager.io\n' \
    >"$WORK/cert-manager.crds.yaml"
  : >"$WORK/fake.log"
  touch "$WORK/fake.kubeconfig"
  env -u E2E_REQUIRE_CLUSTER -u E2E_KEEP PATH="$WORK/fakes:$PATH" FAKE_LOG="$WORK/fake.log" \
    KUBECONFIG="$WORK/fake.kubeconfig" E2E_BINARY="$WORK/fakes/privateca-issuer" TMPDIR="$WORK" \
    "$@" 2>&1
}

test_setup_flow() {
  local output status
  if ! command -v python3 >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
    echo "NOTE python3 or curl is missing; skipped the setup flow test"
    return
  fi
  write_fakes "$WORK/fakes"

  status=0
  output=$(fake_run "$WORK/repo/e2e/run.sh" --only '^no-such-check$') || status=$?
  ok "missing CertificateRequest CRD stops the run" equals "$status" 1
  ok "the error names CERT_MANAGER_CRDS" grep -q 'set CERT_MANAGER_CRDS' <<<"$output"

  status=0
  output=$(fake_run env E2E_BURST=many "$WORK/repo/e2e/run.sh") || status=$?
  ok "a non-numeric E2E_BURST stops the run" equals "$status" 1
  ok "the error names E2E_BURST" grep -q 'E2E_BURST=many is not a positive whole number' <<<"$output"

  rm -rf "$WORK"/privateca-e2e.*
  status=0
  output=$(fake_run env CERT_MANAGER_CRDS="$WORK/cert-manager.crds.yaml" \
    "$WORK/repo/e2e/run.sh" --only '^no-such-check$') || status=$?
  ok "setup and cleanup exit 0" equals "$status" 0
  ok "the last line counts the checks" equals "$(tail -n1 <<<"$output")" "0 passed, 0 failed"
  ok "the CRDs are applied" grep -q 'apply --server-side --force-conflicts -f .*/crds/privateca.issuer.dev.yaml' "$WORK/fake.log"
  ok "cert-manager's CRDs are applied" grep -q "apply --server-side --force-conflicts -f $WORK/cert-manager.crds.yaml" "$WORK/fake.log"
  ok "helm renders the chart into the controller namespace" \
    grep -Eq '^helm template e2e-[0-9a-f]{6} .*/charts/privateca-issuer --namespace e2e-[0-9a-f]{6}-controller$' "$WORK/fake.log"
  ok "a token is requested for the chart's ServiceAccount" \
    grep -Eq 'create token fake-issuer -n e2e-[0-9a-f]{6}-controller --duration=2h' "$WORK/fake.log"
  ok "the controller runs with the fixed flags" \
    grep -Eq '^privateca-issuer run --cluster-resource-namespace e2e-[0-9a-f]{6}-controller --metrics-bind-address 127.0.0.1:[0-9]+ --health-probe-bind-address 127.0.0.1:[0-9]+ --log-format text POD_NAMESPACE=e2e-[0-9a-f]{6}-controller POD_NAME=e2e-controller-0$' \
    "$WORK/fake.log"
  ok "cleanup deletes the chart's RBAC" grep -q 'delete -f .*/chart-rbac.yaml' "$WORK/fake.log"
  ok "cleanup deletes the controller namespace" grep -Eq 'delete namespace e2e-[0-9a-f]{6}-controller' "$WORK/fake.log"
  ok "cleanup deletes the CRDs it created" grep -q 'delete crd --wait=false privatecas.privateca.issuer.dev certificaterequests.cert-manager.io' "$WORK/fake.log"
  ok "cleanup removes the work directory" equals "$(find "$WORK" -maxdepth 1 -name 'privateca-e2e.*' | wc -l)" 0
  ok "cleanup stops the controller" no_fake_controller_left

  status=0
  output=$(fake_run env CERT_MANAGER_CRDS="$WORK/cert-manager.crds.yaml" \
    "$WORK/repo/e2e/run.sh" --deployed --only '^no-such-check$') || status=$?
  ok "deployed mode exits 0" equals "$status" 0
  ok "deployed mode waits for Ready pods" \
    grep -q 'wait pod -n privateca-issuer -l app.kubernetes.io/name=privateca-issuer --for=condition=Ready' "$WORK/fake.log"
  rejects "deployed mode renders no chart" grep -q '^helm' "$WORK/fake.log"
  rejects "deployed mode deletes no controller namespace" grep -q 'delete namespace privateca-issuer' "$WORK/fake.log"
}

test_load_batches() {
  local dir="$WORK/load" count
  mkdir -p "$dir"
  RUN_ID=e2e-selftest
  pki_make_key p256 "$dir/load.key"
  load_write_batches load-ns "$dir" 250
  ok "250 requests make 3 batch files" equals "$(find "$dir" -name 'batch-*.yaml' | wc -l)" 3
  count=$(cat "$dir"/batch-*.yaml | grep -c '^kind: CertificateRequest$')
  ok "batch files hold 250 requests" equals "$count" 250
  ok "request names are unique" equals "$(cat "$dir"/batch-*.yaml | grep '^  name: ' | sort -u | wc -l)" 250
  ok "the CSR pool shares one key" equals "$(pki_csr_pubkey "$dir/load-19.csr")" "$(pki_csr_pubkey "$dir/load-0.csr")"
  ok "the pool has 20 CSRs" equals "$(find "$dir" -name 'load-*.csr' | wc -l)" 20
  if command -v kubectl >/dev/null 2>&1; then
    ok "kubectl reads every request of a batch file" equals \
      "$(jsonpath "$dir/batch-00002.yaml" '{.metadata.name}{"\n"}' | grep -c '^load-')" 50
  fi
  : >"$WORK/fake.log"
  PATH="$WORK/fakes:$PATH" FAKE_LOG="$WORK/fake.log" load_create "$dir" 2>/dev/null
  ok "each batch is created once" equals "$(grep -c ' create -f .*/batch-' "$WORK/fake.log")" 3
  ok "each batch is approved once" equals "$(grep -c ' patch -f .*/batch-.* --subresource=status --type=merge -p {"status":{"conditions":\[{"type":"Approved","status":"True"' "$WORK/fake.log")" 3
}

# jsonpath FILE TEMPLATE: prints TEMPLATE applied by kubectl to the object in FILE.
jsonpath() {
  env -u KUBECONFIG kubectl patch --local -f "$1" -p '{}' --type=merge -o "jsonpath=$2"
}

test_jsonpath_templates() {
  if ! command -v kubectl >/dev/null 2>&1; then
    echo "NOTE kubectl is not installed; skipped the jsonpath tests"
    return
  fi
  cat >"$WORK/request.json" <<'EOF'
{"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
 "metadata": {"name": "app", "namespace": "ns1", "uid": "uid-1", "finalizers": ["example.com/hold"],
   "managedFields": [
     {"manager": "kubectl-patch", "operation": "Update", "subresource": "status"},
     {"manager": "kubectl-create", "operation": "Update"},
     {"manager": "privateca-issuer", "operation": "Apply", "subresource": "status"}]},
 "spec": {"request": "QUJD", "issuerRef": {"name": "ca"}},
 "status": {"certificate": "Q0VSVA==", "conditions": [
   {"type": "Approved", "status": "True", "reason": "E2E"},
   {"type": "Ready", "status": "False", "reason": "Pending", "message": "PrivateCA \"ca\" not found in namespace ns1"}]}}
EOF
  cat >"$WORK/event.json" <<'EOF'
{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "app.1", "namespace": "ns1"},
 "involvedObject": {"uid": "uid-1"}, "type": "Warning", "reason": "Capped",
 "message": "notAfter capped", "source": {"component": "privateca-issuer"}}
EOF
  cat >"$WORK/record.json" <<'EOF'
{"apiVersion": "v1", "kind": "Secret",
 "metadata": {"name": "privateca-issuer-uid-1", "namespace": "ns1",
   "labels": {"privateca.issuer.dev/request-uid": "uid-1"},
   "ownerReferences": [{"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest", "name": "app", "uid": "uid-1"}]},
 "data": {"tls.crt": "QUJD", "ca.crt": "REVG"}}
EOF
  ok "Ready condition" equals "$(jsonpath "$WORK/request.json" "$JSONPATH_READY")" \
    'False|Pending|PrivateCA "ca" not found in namespace ns1'
  ok "status managers" equals "$(jsonpath "$WORK/request.json" "$JSONPATH_STATUS_MANAGERS")" \
    $'kubectl-patch\nprivateca-issuer'
  ok "request reason fields" equals "$(jsonpath "$WORK/request.json" "$REQUEST_REASON_FIELDS")" "app Pending"
  ok "request certificate fields" equals "$(jsonpath "$WORK/request.json" "$REQUEST_CERTIFICATE_FIELDS")" \
    "app uid-1 Q0VSVA=="
  ok "finalizer holder fields" equals "$(jsonpath "$WORK/request.json" "$FINALIZER_HOLDER_FIELDS")" \
    "-n ns1 CertificateRequest/app"
  ok "existence filter" equals \
    "$(jsonpath "$WORK/request.json" '{range .metadata.managedFields[?(@.subresource)]}{.manager}{" "}{end}')" \
    "kubectl-patch privateca-issuer "
  ok "Approved condition type" equals \
    "$(jsonpath "$WORK/request.json" '{.status.conditions[?(@.type=="Approved")].type}')" Approved
  ok "event fields" equals "$(jsonpath "$WORK/event.json" "$EVENT_FIELDS")" "Warning|Capped|notAfter capped|privateca-issuer"
  ok "record fields" equals "$(jsonpath "$WORK/record.json" "$RECORD_FIELDS")" "privateca-issuer-uid-1|uid-1|QUJD"
  ok "record UID fields" equals "$(jsonpath "$WORK/record.json" "$RECORD_UID_FIELDS")" "uid-1"
  ok "Secret data key with a dot" equals "$(jsonpath "$WORK/record.json" '{.data.tls\.crt}')" "QUJD"
  ok "each_item wraps a template" equals "$(each_item '{.a}')" '{range .items[*]}{.a}{end}'
}

# write_token_kubeconfig reads the current context with the real kubectl; only
# the token request is replaced.
test_token_kubeconfig() {
  if ! command -v kubectl >/dev/null 2>&1; then
    return
  fi
  printf 'test CA\n' >"$WORK/cluster-ca.crt"
  cat >"$WORK/admin.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: $WORK/cluster-ca.crt
    tls-server-name: kubernetes.default
users:
- name: admin
  user:
    token: admin-token
contexts:
- name: test
  context:
    cluster: test
    user: admin
current-context: test
EOF
  (
    kc() { echo "sa-token"; }
    CONTROLLER_NAMESPACE=ctrl
    KUBECONFIG="$WORK/admin.kubeconfig" write_token_kubeconfig issuer "$WORK/sa.kubeconfig"
  )
  local view=(config view --minify --raw -o)
  ok "token kubeconfig keeps the server" equals \
    "$(KUBECONFIG="$WORK/sa.kubeconfig" kubectl "${view[@]}" 'jsonpath={.clusters[0].cluster.server}')" \
    https://127.0.0.1:6443
  ok "token kubeconfig embeds the CA file" equals \
    "$(KUBECONFIG="$WORK/sa.kubeconfig" kubectl "${view[@]}" 'jsonpath={.clusters[0].cluster.certificate-authority-data}')" \
    "$(b64 "$WORK/cluster-ca.crt")"
  ok "token kubeconfig keeps tls-server-name" equals \
    "$(KUBECONFIG="$WORK/sa.kubeconfig" kubectl "${view[@]}" 'jsonpath={.clusters[0].cluster.tls-server-name}')" \
    kubernetes.default
  ok "token kubeconfig uses the ServiceAccount token" equals \
    "$(KUBECONFIG="$WORK/sa.kubeconfig" kubectl "${view[@]}" 'jsonpath={.users[0].user.token}')" sa-token
  rejects "token kubeconfig drops the admin credentials" grep -q admin-token "$WORK/sa.kubeconfig"
  ok "token kubeconfig is private" equals "$(stat -c %a "$WORK/sa.kubeconfig")" 600
}

test_scripts
test_check_runner
test_jsonpath_templates
test_token_kubeconfig
test_setup_flow
test_load_batches
test_skip_path
test_csr_helpers
test_certificate_helpers
test_san_helpers
test_chain_helpers
test_yaml_helpers
test_wait_helpers
printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0))
