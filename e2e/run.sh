#!/usr/bin/env bash
# End-to-end suite of privateca-issuer against a real cluster; docs/e2e.md
# explains what it needs and how to read its output.
set -euo pipefail
# A failing command inside $(...) must fail the assignment, and so the check.
shopt -s inherit_errexit

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/.." && pwd)
# shellcheck source=e2e/lib/common.sh
source "$E2E_DIR/lib/common.sh"
# shellcheck source=e2e/lib/pki.sh
source "$E2E_DIR/lib/pki.sh"
# shellcheck source=e2e/lib/kube.sh
source "$E2E_DIR/lib/kube.sh"
# shellcheck source=e2e/lib/controller.sh
source "$E2E_DIR/lib/controller.sh"
# shellcheck source=e2e/lib/checks_ca.sh
source "$E2E_DIR/lib/checks_ca.sh"
# shellcheck source=e2e/lib/checks_issue.sh
source "$E2E_DIR/lib/checks_issue.sh"
# shellcheck source=e2e/lib/checks_reject.sh
source "$E2E_DIR/lib/checks_reject.sh"
# shellcheck source=e2e/lib/checks_idempotency.sh
source "$E2E_DIR/lib/checks_idempotency.sh"
# shellcheck source=e2e/lib/load.sh
source "$E2E_DIR/lib/load.sh"

RUN_LABEL=privateca.issuer.dev/e2e-run
E2E_MODE="out-of-cluster"
LOAD_COUNT=""

usage() {
  cat <<'EOF'
Usage: e2e/run.sh [--deployed] [--only REGEX] [--load [N]]

Runs privateca-issuer's end-to-end checks against the cluster of the current
KUBECONFIG context. Without a reachable cluster it prints one line
"e2e: SKIPPED: <reason>" and exits 0 (exit 1 with E2E_REQUIRE_CLUSTER=1).

Options:
  --deployed      test the controller already deployed in the cluster instead of
                  running the binary out of cluster as the chart's ServiceAccount
  --only REGEX    run only the checks whose function name matches REGEX
  --load [N]      load mode: create N approved requests (default 1000) and print
                  a Markdown table row with the throughput, API writes per
                  request and the controller's peak RSS; runs no checks
  -h, --help      print this help

Environment:
  KUBECONFIG                   kubeconfig of the cluster under test (required)
  E2E_REQUIRE_CLUSTER=1        fail instead of skipping without a cluster
  E2E_KEEP=1                   keep namespaces, CAs, CRDs and the work directory
                               (controller logs, CSRs, certificates)
  CERT_MANAGER_CRDS=FILE       cert-manager CRD YAML to apply when the
                               CertificateRequest CRD is missing
  E2E_BINARY=PATH              use this controller binary instead of cargo build
  E2E_BURST=N                  requests per idempotency burst (default 200)
  E2E_TIMEOUT=SECONDS          bound of each single wait (default 60)
  E2E_LOAD_TIMEOUT=SECONDS     load mode: bound of the wait for all requests
                               (default 120 + N/2)
  E2E_LOAD_PARALLEL=N          load mode: kubectl processes at once (default 8)
  E2E_CONTROLLER_NAMESPACE     --deployed: namespace of the controller (default privateca-issuer)
  E2E_CONTROLLER_SELECTOR      --deployed: label selector of its pods
                               (default app.kubernetes.io/name=privateca-issuer)
  E2E_CLUSTER_RESOURCE_NAMESPACE
                               --deployed: its --cluster-resource-namespace
                               (default the controller namespace)
EOF
}

parse_args() {
  while (($# > 0)); do
    case $1 in
      -h | --help)
        usage
        exit 0
        ;;
      --deployed)
        E2E_MODE=deployed
        shift
        ;;
      --only)
        (($# >= 2)) || { echo "e2e: --only needs a REGEX" >&2 && exit 2; }
        E2E_ONLY=$2
        local regex_status=0
        # shellcheck disable=SC2319 # the status of [[ ]] itself: 2 means an invalid regex
        [[ "" =~ $E2E_ONLY ]] || regex_status=$?
        ((regex_status != 2)) || { echo "e2e: --only: invalid regular expression '$E2E_ONLY'" >&2 && exit 2; }
        shift 2
        ;;
      --load)
        LOAD_COUNT=1000
        shift
        if (($# > 0)) && [[ "$1" =~ ^[0-9]+$ ]]; then
          LOAD_COUNT=$1
          shift
        fi
        ((LOAD_COUNT >= 1)) || { echo "e2e: --load needs a count of at least 1, got $LOAD_COUNT" >&2 && exit 2; }
        ;;
      *)
        echo "e2e: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
  done
}

# Prints the one skip line and exits 0, or exits 1 under E2E_REQUIRE_CLUSTER=1.
skip_suite() {
  if [[ "${E2E_REQUIRE_CLUSTER:-}" == 1 ]]; then
    echo "e2e: FAILED: no reachable cluster and E2E_REQUIRE_CLUSTER=1: $1"
    exit 1
  fi
  echo "e2e: SKIPPED: $1"
  exit 0
}

require_cluster() {
  [[ -n "${KUBECONFIG:-}" ]] || skip_suite "KUBECONFIG is not set; point it at a test cluster to run the suite"
  local path found=""
  for path in ${KUBECONFIG//:/ }; do
    [[ ! -f "$path" ]] || found=1
  done
  [[ -n "$found" ]] || skip_suite "KUBECONFIG=$KUBECONFIG names no existing file"
  command -v kubectl >/dev/null 2>&1 || skip_suite "kubectl is not installed"
  local output
  if ! output=$(kubectl version --request-timeout=5s 2>&1); then
    output=$(grep -v -e '^Client Version' -e '^Kustomize Version' <<<"$output" | grep . | tail -n1)
    skip_suite "the API server of KUBECONFIG=$KUBECONFIG is unreachable: ${output:-kubectl version failed}"
  fi
}

# Applies a CRD file and remembers which of its CRDs this run created. Server-side
# apply avoids the last-applied annotation, which large CRDs can overflow.
apply_crds() {
  local file=$1 names name
  names=$(kc apply --dry-run=client -f "$file" -o name) || die "kubectl cannot read the objects in $file"
  names=$(grep '^customresourcedefinition' <<<"$names" || true)
  [[ -n "$names" ]] || die "$file contains no CustomResourceDefinition"
  for name in $names; do
    kc get "$name" >/dev/null 2>&1 || echo "${name#*/}" >>"$E2E_WORKDIR/created-crds"
  done
  kc apply --server-side --force-conflicts -f "$file" >/dev/null || die "kubectl apply -f $file failed"
  for name in $names; do
    kc wait --for condition=established --timeout=60s "$name" >/dev/null ||
      die "$name was not established within 60s"
  done
}

install_crds() {
  local file
  for file in "$REPO_ROOT"/crds/*.yaml; do
    [[ -f "$file" ]] || die "no CRD YAML under $REPO_ROOT/crds; the suite applies crds/*.yaml of the checkout it runs from"
    apply_crds "$file"
  done
  if ! kc get crd certificaterequests.cert-manager.io >/dev/null 2>&1; then
    [[ -n "${CERT_MANAGER_CRDS:-}" ]] ||
      die "the CertificateRequest CRD (certificaterequests.cert-manager.io) is not installed; install cert-manager or set CERT_MANAGER_CRDS to a file with cert-manager's CRDs"
    [[ -f "$CERT_MANAGER_CRDS" ]] || die "CERT_MANAGER_CRDS=$CERT_MANAGER_CRDS is not a file"
    apply_crds "$CERT_MANAGER_CRDS"
  fi
}

# clean_up_run STATUS: deletes what this run created, once. Objects go first,
# while the controller still runs and can remove its finalizers; then the
# processes stop. The work directory stays when STATUS is not 0.
clean_up_run() {
  local status=$1
  [[ -z "${CLEANED_UP:-}" && -n "${E2E_WORKDIR:-}" && -d "$E2E_WORKDIR" ]] || return 0
  CLEANED_UP=1
  # Cleanup is best effort: a failed delete must not stop the deletes after it.
  set +e
  stop_background_jobs
  if [[ "${E2E_KEEP:-}" == 1 ]]; then
    log "E2E_KEEP=1: kept objects labelled $RUN_LABEL=$RUN_ID, namespaces $RUN_ID-*, and $E2E_WORKDIR"
    stop_all_controllers
    set -e
    return 0
  fi

  log "cleaning up run $RUN_ID"
  kc delete "clusterprivatecas.$GROUP" -l "$RUN_LABEL=$RUN_ID" --wait=false >/dev/null 2>&1
  kc get namespaces -l "$RUN_LABEL=$RUN_ID" -o name 2>/dev/null | grep -v "/$CONTROLLER_NAMESPACE\$" |
    xargs -r kubectl delete --wait=false >/dev/null 2>&1
  wait_until "the run's namespaces to be deleted" 90 no_test_namespaces_left
  stop_all_controllers
  remove_leftover_finalizers

  local file
  if [[ -f "$E2E_WORKDIR/cleanup-files" ]]; then
    while read -r file; do
      kc delete -f "$file" --ignore-not-found --wait=false >/dev/null 2>&1
    done <"$E2E_WORKDIR/cleanup-files"
  fi
  if [[ "$E2E_MODE" != deployed && -n "$CONTROLLER_NAMESPACE" ]]; then
    kc delete namespace "$CONTROLLER_NAMESPACE" --wait=false >/dev/null 2>&1
  fi
  if [[ -f "$E2E_WORKDIR/created-crds" ]]; then
    xargs -r kubectl delete crd --wait=false <"$E2E_WORKDIR/created-crds" >/dev/null 2>&1
  fi
  if ((status == 0)); then
    rm -rf "$E2E_WORKDIR"
  else
    log "kept $E2E_WORKDIR (controller logs, CSRs and certificates) for the failure"
  fi
  set -e
}

# Cleans up when the run ends early: on an error, a signal or a failed setup.
on_exit() {
  local status=$?
  set +e
  clean_up_run "$status"
  exit "$status"
}

no_test_namespaces_left() {
  local left
  left=$(kc get namespaces -l "$RUN_LABEL=$RUN_ID" -o name | grep -v "/$CONTROLLER_NAMESPACE\$" || true)
  [[ -z "$left" ]] || {
    echo "$left" | tr '\n' ' '
    return 1
  }
}

stop_all_controllers() {
  local pid_file index
  for pid_file in "$E2E_WORKDIR"/controller-*.pid; do
    [[ -f "$pid_file" ]] || continue
    index=${pid_file##*/controller-}
    controller_kill "${index%.pid}" TERM
  done
}

# Removes finalizers that a stopped controller can no longer remove, so that
# the namespaces of this run can finish deleting.
remove_leftover_finalizers() {
  local object
  while read -r object; do
    [[ -n "$object" ]] || continue
    # shellcheck disable=SC2086 # object is "-n NAMESPACE KIND/NAME" or "KIND/NAME"
    kubectl patch $object --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
  done < <(
    kc get "privatecas.$GROUP,certificaterequests.cert-manager.io" -A \
      -o "jsonpath={range .items[?(@.metadata.finalizers)]}$FINALIZER_HOLDER_FIELDS{end}" 2>/dev/null |
      grep -- "-n $RUN_ID-"
    kc get "clusterprivatecas.$GROUP" -l "$RUN_LABEL=$RUN_ID" -o name 2>/dev/null
  )
}

main() {
  parse_args "$@"
  require_cluster
  require_commands kubectl openssl curl awk od
  date -u -d 'Jan  2 03:04:05 2027 GMT' +%s >/dev/null 2>&1 ||
    die "the date command cannot parse openssl dates; the suite needs GNU date (coreutils)"
  [[ "$E2E_MODE" == deployed ]] || require_commands helm

  E2E_TIMEOUT=${E2E_TIMEOUT:-60}
  local variable
  for variable in E2E_TIMEOUT E2E_BURST E2E_LOAD_TIMEOUT E2E_LOAD_PARALLEL; do
    [[ -z "${!variable:-}" || "${!variable}" =~ ^[1-9][0-9]*$ ]] ||
      die "$variable=${!variable} is not a positive whole number"
  done
  RUN_ID="e2e-$(random_hex 6)"
  E2E_WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/privateca-e2e.XXXXXX")
  BASE_PORT=$((20000 + 2 * (RANDOM % 10000)))
  CONTROLLER_NAMESPACE=""
  trap on_exit EXIT
  trap 'exit 130' INT TERM
  log "run $RUN_ID, mode $E2E_MODE, work directory $E2E_WORKDIR"

  if [[ "$E2E_MODE" == deployed ]]; then
    CONTROLLER_NAMESPACE=${E2E_CONTROLLER_NAMESPACE:-privateca-issuer}
    CONTROLLER_SELECTOR=${E2E_CONTROLLER_SELECTOR:-app.kubernetes.io/name=privateca-issuer}
    CLUSTER_RESOURCE_NAMESPACE=${E2E_CLUSTER_RESOURCE_NAMESPACE:-$CONTROLLER_NAMESPACE}
    install_crds
  else
    CONTROLLER_BINARY=$(build_controller)
    install_crds
    CONTROLLER_NAMESPACE=$(ns_create controller)
    CLUSTER_RESOURCE_NAMESPACE=$CONTROLLER_NAMESPACE
    local account
    account=$(install_chart_rbac)
    [[ -n "$account" ]] || die "could not read the ServiceAccount name from $E2E_WORKDIR/chart-rbac.yaml"
    CONTROLLER_KUBECONFIG="$E2E_WORKDIR/controller.kubeconfig"
    write_token_kubeconfig "$account" "$CONTROLLER_KUBECONFIG"
    log "controller runs as ServiceAccount $CONTROLLER_NAMESPACE/$account"
  fi
  start_default_controller

  if [[ -n "$LOAD_COUNT" ]]; then
    run_load "$LOAD_COUNT"
    clean_up_run 0
    echo "$LOAD_TABLE"
    return
  fi

  local check
  for check in "${CA_CHECKS[@]}" "${ISSUE_CHECKS[@]}" "${REJECT_CHECKS[@]}"; do
    run_check "$check"
  done
  for check in "${IDEMPOTENCY_CHECKS[@]}"; do
    run_check "$check"
    # A failed check may leave two processes or none behind.
    if [[ "$E2E_MODE" != deployed && (-z "${E2E_ONLY:-}" || "$check" =~ $E2E_ONLY) ]]; then
      restore_default_controller
    fi
  done
  run_check check_controller_log_clean

  # Cleaning up first keeps the summary on the last line of the output.
  local status=0
  ((E2E_FAILED == 0)) || status=1
  clean_up_run "$status"
  print_summary
  return "$status"
}

main "$@"
