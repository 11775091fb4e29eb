# shellcheck shell=bash
# Load mode: N approved requests against one root PrivateCA, timed until all
# are Ready, with API writes per request and the controller's peak RSS.

LOAD_BATCH=100
LOAD_CSR_POOL=20

# now_ms: prints the current time in milliseconds.
now_ms() {
  echo $(($(date +%s%N) / 1000000))
}

# apiserver_writes: prints the sum of apiserver_request_total for the verbs
# POST, PUT, PATCH, APPLY and DELETE on certificaterequests, secrets and events.
# Fails when the API server's /metrics is not readable.
apiserver_writes() {
  kc get --raw /metrics 2>/dev/null | awk '
    /^apiserver_request_total\{/ &&
    /resource="(certificaterequests|secrets|events)"/ &&
    /verb="(POST|PUT|PATCH|APPLY|DELETE)"/ { sum += $NF; found = 1 }
    END { if (!found) exit 1; printf "%d\n", sum }
  '
}

# load_issued_count NAMESPACE: prints how many requests are Ready=True; prints
# the failed ones to stderr.
load_issued_count() {
  local reasons
  reasons=$(kc get certificaterequests -n "$1" \
    -o "jsonpath=$(each_item "$REQUEST_REASON_FIELDS")")
  if grep -Eq ' (Failed|Denied)$' <<<"$reasons"; then
    echo "requests ended unissued: $(grep -Ec ' (Failed|Denied)$' <<<"$reasons"), first: $(grep -E ' (Failed|Denied)$' <<<"$reasons" | head -n 1)" >&2
  fi
  grep -c ' Issued$' <<<"$reasons" || true
}

# load_write_batches NAMESPACE DIR COUNT: writes COUNT requests into batch
# files of LOAD_BATCH requests. All share one key, and their CSRs come from a
# pool of LOAD_CSR_POOL that differ in name.
load_write_batches() {
  local namespace=$1 dir=$2 count=$3 index
  for ((index = 0; index < LOAD_CSR_POOL && index < count; index++)); do
    pki_make_csr "$dir/load.key" "$dir/load-$index.csr" "/CN=load-$index.example.internal" \
      "DNS:load-$index.example.internal"
  done
  for ((index = 0; index < count; index++)); do
    {
      echo "---"
      cr_yaml "$namespace" "$(printf 'load-%05d' "$index")" "$dir/load-$((index % LOAD_CSR_POOL)).csr"
    } >>"$dir/batch-$(printf '%05d' $((index / LOAD_BATCH))).yaml"
  done
}

# load_create DIR: creates and approves the requests of every batch file, with
# E2E_LOAD_PARALLEL kubectl processes at once. Each kubectl process limits
# itself to 5 requests per second, so parallel processes are what makes
# thousands of requests take minutes rather than an hour. kubectl create is
# used rather than apply, because apply reads each object first and stores a
# copy of it in an annotation.
load_create() {
  local dir=$1
  local patch
  patch=$(cr_condition_patch Approved)
  # shellcheck disable=SC2016 # the inner script expands $1 and $APPROVE_PATCH itself
  find "$dir" -name 'batch-*.yaml' -print0 | sort -z |
    APPROVE_PATCH=$patch xargs -0 -n 1 -P "${E2E_LOAD_PARALLEL:-8}" bash -c '
      kubectl --request-timeout=60s create -f "$1" >/dev/null &&
        kubectl --request-timeout=60s patch -f "$1" --subresource=status --type=merge -p "$APPROVE_PATCH" >/dev/null &&
        echo "e2e: created and approved the requests of ${1##*/}" >&2
    ' load-batch || die "creating or approving a batch of requests failed; see the kubectl output above"
}

# load_wait NAMESPACE COUNT ISSUED_BEFORE TIMEOUT: waits until COUNT requests are
# issued. Out of cluster it polls the controller's issued counter, which is
# cheap, then confirms with one listing; deployed it polls the listing.
load_wait() {
  local namespace=$1 count=$2 before=$3 timeout=$4 deadline issued
  deadline=$((SECONDS + timeout))
  if [[ "$E2E_MODE" != deployed ]]; then
    while true; do
      issued=$(metric_sum 0 "$ISSUED_METRIC" || echo "$before")
      issued=$((issued - before))
      ((issued < count)) || break
      ((SECONDS < deadline)) || break
      sleep 0.5
    done
  fi
  while true; do
    issued=$(load_issued_count "$namespace")
    ((issued < count)) || return 0
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $count requests to be issued; $issued are"
      return 1
    fi
    log "$issued of $count issued"
    sleep 5
  done
}

# run_load N: runs load mode and stores the Markdown table in LOAD_TABLE, which
# run.sh prints after cleaning up.
#
# Out of cluster the controller is stopped while the requests are created and
# started once all are approved, so the time measures the controller draining a
# backlog, not kubectl. A deployed controller runs throughout, and its time
# starts with the first create.
run_load() {
  local count=$1 ns dir started create_started created finished elapsed_ms writes_before writes_after
  local issued_before=0 rss="n/a (deployed controller)" writes="n/a (API server /metrics not readable)" source rate
  # shellcheck disable=SC2034 # read by fail() when a step fails
  E2E_CURRENT_CHECK=load
  ns=$(ns_create load)
  dir="$E2E_WORKDIR/load"
  mkdir -p "$dir"
  setup_root "$ns" ca
  pki_make_key p256 "$dir/load.key"
  load_write_batches "$ns" "$dir" "$count"
  log "load: $count requests in namespace $ns"
  writes_before=$(apiserver_writes || true)
  [[ "$E2E_MODE" == deployed ]] || controller_kill 0 TERM

  create_started=$(now_ms)
  started=$create_started
  load_create "$dir"
  created=$(now_ms)
  if [[ "$E2E_MODE" != deployed ]]; then
    started=$(now_ms)
    controller_start 0
  fi
  load_wait "$ns" "$count" "$issued_before" "${E2E_LOAD_TIMEOUT:-$((120 + count / 2))}" ||
    die "not all $count requests were issued; the controller log is $E2E_WORKDIR/controller-0.log"
  finished=$(now_ms)
  elapsed_ms=$((finished - started))

  writes_after=$(apiserver_writes || true)
  if [[ -n "$writes_before" && -n "$writes_after" ]]; then
    # The suite itself wrote one create and one approval per request.
    writes=$(awk -v d=$((writes_after - writes_before - 2 * count)) -v n="$count" 'BEGIN { printf "%.2f (apiserver_request_total)", d / n }')
    source="apiserver_request_total of certificaterequests, secrets and events, minus the suite's create and approval"
  else
    source="none: the API server's /metrics is not readable with this kubeconfig"
  fi
  if [[ "$E2E_MODE" != deployed ]]; then
    rss=$(awk '/^VmHWM:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$(controller_pid 0)/status")
  fi
  rate=$(awk -v n="$count" -v ms="$elapsed_ms" 'BEGIN { printf "%.1f", n * 1000 / ms }')
  log "API writes counted by: $source"
  # shellcheck disable=SC2034 # printed by run.sh after the cleanup
  LOAD_TABLE=$(
    echo "| requests | controller | seconds to create and approve | seconds until all Ready | requests/s | API writes per request | controller peak RSS (VmHWM) |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    printf '| %d | %s | %s | %s | %s | %s | %s |\n' "$count" "$E2E_MODE" \
      "$(awk -v ms="$((created - create_started))" 'BEGIN { printf "%.1f", ms / 1000 }')" \
      "$(awk -v ms="$elapsed_ms" 'BEGIN { printf "%.1f", ms / 1000 }')" "$rate" "$writes" "$rss"
  )
}
