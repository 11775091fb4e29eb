# shellcheck shell=bash
# Building, starting and stopping the controller under test.
#
# Out of cluster, each controller process N gets a PID file
# $E2E_WORKDIR/controller-N.pid, a log $E2E_WORKDIR/controller-N.log, health port
# BASE_PORT+2N and metrics port BASE_PORT+2N+1, so that background subshells
# (the kill loop of the idempotency check) can stop and restart processes too.

# build_controller: prints the path of the controller binary, building it with
# cargo unless E2E_BINARY names one.
build_controller() {
  if [[ -n "${E2E_BINARY:-}" ]]; then
    [[ -x "$E2E_BINARY" ]] || die "E2E_BINARY=$E2E_BINARY is not an executable file"
    echo "$E2E_BINARY"
    return
  fi
  require_commands cargo
  log "building privateca-issuer with cargo (set E2E_BINARY to skip)"
  (cd "$REPO_ROOT" && cargo build --bin privateca-issuer >&2) ||
    die "cargo build --bin privateca-issuer failed; see the output above"
  local binary="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/privateca-issuer"
  [[ -x "$binary" ]] || die "cargo build succeeded but $binary does not exist"
  echo "$binary"
}

# select_kinds KIND...: filters multi-document YAML on stdin to the documents
# whose top-level kind is one of KIND.
select_kinds() {
  awk -v kinds=" $* " '
    function flush() { if (keep && doc != "") printf "---\n%s", doc; doc = ""; keep = 0 }
    /^---/ { flush(); next }
    { doc = doc $0 "\n" }
    /^kind: / { keep = index(kinds, " " $2 " ") > 0 }
    END { flush() }
  '
}

# service_account_name FILE: prints the name of the first ServiceAccount in FILE.
service_account_name() {
  awk '
    /^---/ { sa = 0; meta = 0 }
    /^kind: ServiceAccount/ { sa = 1 }
    /^metadata:/ { meta = 1; next }
    /^[^ ]/ { meta = 0 }
    sa && meta && /^  name: / { gsub(/["\047]/, "", $2); print $2; exit }
  ' "$1"
}

# install_chart_rbac: renders the chart's ServiceAccount and RBAC into
# $CONTROLLER_NAMESPACE with helm template, applies them and prints the
# ServiceAccount name. The rendered file is kept for cleanup.
install_chart_rbac() {
  local chart="$REPO_ROOT/charts/privateca-issuer"
  local rendered="$E2E_WORKDIR/chart-rbac.yaml"
  [[ -d "$chart" ]] || die "chart not found at $chart; the out-of-cluster mode runs the controller as the chart's ServiceAccount"
  # The chart's defaults are used as they are: the release namespace is also
  # the cluster resource namespace the controller is started with.
  helm template "$RUN_ID" "$chart" --namespace "$CONTROLLER_NAMESPACE" >"$E2E_WORKDIR/chart.yaml" ||
    die "helm template $chart failed; see the output above"
  select_kinds ServiceAccount ClusterRole ClusterRoleBinding Role RoleBinding \
    <"$E2E_WORKDIR/chart.yaml" >"$rendered"
  grep -q '^kind: ServiceAccount' "$rendered" ||
    die "helm template rendered no ServiceAccount from $chart"
  grep -q '^kind: ClusterRole$' "$rendered" ||
    die "helm template rendered no ClusterRole from $chart"
  echo "$rendered" >>"$E2E_WORKDIR/cleanup-files"
  kc apply -n "$CONTROLLER_NAMESPACE" -f "$rendered" >&2 ||
    die "applying the chart's RBAC from $rendered failed"
  service_account_name "$rendered"
}

# write_token_kubeconfig SERVICE_ACCOUNT OUT
# Writes a kubeconfig for the current cluster that authenticates with a token
# of SERVICE_ACCOUNT in $CONTROLLER_NAMESPACE.
write_token_kubeconfig() {
  local account=$1 out=$2
  local view=(config view --minify --raw -o)
  local server ca_data ca_file insecure server_name token
  server=$(kubectl "${view[@]}" 'jsonpath={.clusters[0].cluster.server}')
  ca_data=$(kubectl "${view[@]}" 'jsonpath={.clusters[0].cluster.certificate-authority-data}')
  ca_file=$(kubectl "${view[@]}" 'jsonpath={.clusters[0].cluster.certificate-authority}')
  insecure=$(kubectl "${view[@]}" 'jsonpath={.clusters[0].cluster.insecure-skip-tls-verify}')
  server_name=$(kubectl "${view[@]}" 'jsonpath={.clusters[0].cluster.tls-server-name}')
  [[ -n "$server" ]] || die "the current kubeconfig context has no cluster server"
  if [[ -z "$ca_data" && -n "$ca_file" ]]; then
    ca_data=$(b64 "$ca_file")
  fi
  token=$(kc create token "$account" -n "$CONTROLLER_NAMESPACE" --duration=2h) ||
    die "kubectl create token $account -n $CONTROLLER_NAMESPACE failed"

  {
    echo "apiVersion: v1"
    echo "kind: Config"
    echo "clusters:"
    echo "- name: e2e"
    echo "  cluster:"
    echo "    server: $server"
    [[ -z "$ca_data" ]] || echo "    certificate-authority-data: $ca_data"
    [[ "$insecure" != true ]] || echo "    insecure-skip-tls-verify: true"
    [[ -z "$server_name" ]] || echo "    tls-server-name: $server_name"
    echo "users:"
    echo "- name: $account"
    echo "  user:"
    echo "    token: $token"
    echo "contexts:"
    echo "- name: e2e"
    echo "  context:"
    echo "    cluster: e2e"
    echo "    user: $account"
    echo "    namespace: $CONTROLLER_NAMESPACE"
    echo "current-context: e2e"
  } >"$out"
  chmod 600 "$out"
}

health_port() { echo $((BASE_PORT + 2 * $1)); }
metrics_port() { echo $((BASE_PORT + 2 * $1 + 1)); }

# controller_pid N: prints the PID of process N, or nothing when it is not running.
controller_pid() {
  local file="$E2E_WORKDIR/controller-$1.pid" pid
  [[ -f "$file" ]] || return 0
  pid=$(<"$file")
  if kill -0 "$pid" 2>/dev/null; then
    echo "$pid"
  fi
}

# controller_start N [--leader-elect]: starts process N in the background.
controller_start() {
  local index=$1
  shift
  local args=(run --cluster-resource-namespace "$CLUSTER_RESOURCE_NAMESPACE"
    --metrics-bind-address "127.0.0.1:$(metrics_port "$index")"
    --health-probe-bind-address "127.0.0.1:$(health_port "$index")"
    --log-format text)
  if [[ "${1:-}" == --leader-elect ]]; then
    args+=(--leader-elect --leader-election-namespace "$CONTROLLER_NAMESPACE")
  fi
  [[ -z "$(controller_pid "$index")" ]] || die "controller process $index is already running"
  echo "=== start $(date -u +%FT%TZ): ${args[*]}" >>"$E2E_WORKDIR/controller-$index.log"
  KUBECONFIG=$CONTROLLER_KUBECONFIG POD_NAMESPACE=$CONTROLLER_NAMESPACE \
    POD_NAME="e2e-controller-$index" \
    "$CONTROLLER_BINARY" "${args[@]}" >>"$E2E_WORKDIR/controller-$index.log" 2>&1 &
  echo $! >"$E2E_WORKDIR/controller-$index.pid"
}

# controller_kill N [SIGNAL]: stops process N (SIGTERM by default). After 20 s
# it sends SIGKILL, and it fails when the process still exists 5 s later.
controller_kill() {
  local index=$1 signal=${2:-TERM} pid deadline
  pid=$(controller_pid "$index")
  [[ -n "$pid" ]] || return 0
  kill -s "$signal" "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "controller process $index (pid $pid) ignored SIG$signal for 20s; sending SIGKILL"
    kill -s KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.2
    done
  fi
  if kill -0 "$pid" 2>/dev/null; then
    log "controller process $index (pid $pid) still exists 5s after SIGKILL"
    return 1
  fi
  rm -f "$E2E_WORKDIR/controller-$index.pid"
}

# probe PORT PATH: succeeds when GET http://127.0.0.1:PORT/PATH returns 2xx.
probe() {
  curl -fsS --max-time 2 "http://127.0.0.1:$1/$2" >/dev/null
}

# controller_answers PATH N: succeeds when process N is alive and GET /PATH returns 2xx.
controller_answers() {
  local path=$1 index=$2
  if [[ -z "$(controller_pid "$index")" ]]; then
    echo "controller process $index exited; last log lines:"
    tail -n 20 "$E2E_WORKDIR/controller-$index.log"
    return 1
  fi
  probe "$(health_port "$index")" "$path"
}

# controller_wait N PATH [TIMEOUT]: waits until process N returns 2xx for /PATH (readyz or healthz).
controller_wait() {
  wait_until "controller process $1 to answer /$2 on 127.0.0.1:$(health_port "$1")" \
    "${3:-60}" controller_answers "$2" "$1"
}

# metric_sum N NAME: prints the sum of all series of metric NAME of process N;
# fails when the metrics endpoint is unreachable.
metric_sum() {
  local body
  body=$(curl -fsS --max-time 5 "http://127.0.0.1:$(metrics_port "$1")/metrics") || return 1
  awk -v name="$2" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { printf "%d\n", sum }' <<<"$body"
}

# deployed_wait: waits until the deployed controller's pods are Ready, which
# the chart ties to /readyz.
deployed_wait() {
  kc wait pod -n "$CONTROLLER_NAMESPACE" -l "$CONTROLLER_SELECTOR" --for=condition=Ready --timeout=120s >&2 ||
    die "no Ready controller pod with labels $CONTROLLER_SELECTOR in namespace $CONTROLLER_NAMESPACE after 120s"
}

# deployed_kill: deletes the deployed controller's pods without a grace period.
deployed_kill() {
  kc delete pod -n "$CONTROLLER_NAMESPACE" -l "$CONTROLLER_SELECTOR" --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
}

# start_default_controller: the single controller the checks run against.
start_default_controller() {
  if [[ "$E2E_MODE" == deployed ]]; then
    deployed_wait
    return
  fi
  controller_start 0
  controller_wait 0 readyz 90 || die "controller process 0 did not become ready; log: $E2E_WORKDIR/controller-0.log"
}
