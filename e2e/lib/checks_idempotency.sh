# shellcheck shell=bash
# Idempotency under crashes and concurrency: one request UID gets at most one
# certificate, across kill -9, restarts and two controller processes.

# shellcheck disable=SC2034 # run.sh runs these checks
IDEMPOTENCY_CHECKS=(
  check_idempotency_kill
  check_two_controllers_no_election
  check_two_controllers_election
)

ISSUED_METRIC=privateca_issuer_certificates_issued_total

# burst_create NAMESPACE DIR COUNT
# Creates COUNT approved requests burst-0000... in batches of 50, each with its
# own P-256 key; DIR/NAME.pub keeps each CSR's public key.
burst_create() {
  local namespace=$1 dir=$2 count=$3 index name batch=""
  mkdir -p "$dir/csr"
  for ((index = 0; index < count; index++)); do
    name=$(printf 'burst-%04d' "$index")
    make_csr "$dir/csr" "$name" p256 "/CN=$name.example.internal"
    pki_csr_pubkey "$dir/csr/$name.csr" >"$dir/csr/$name.pub"
    if ((index % 50 == 0)); then
      batch="$dir/batch-$((index / 50)).yaml"
      : >"$batch"
    fi
    {
      echo "---"
      cr_yaml "$namespace" "$name" "$dir/csr/$name.csr"
    } >>"$batch"
    if ((index % 50 == 49 || index == count - 1)); then
      kc create -f "$batch" >/dev/null
      cr_approve_file "$batch"
    fi
  done
}

# burst_all_issued NAMESPACE COUNT: all COUNT requests are Ready=True.
burst_all_issued() {
  local reasons issued
  reasons=$(kc get certificaterequests -n "$1" \
    -o "jsonpath=$(each_item "$REQUEST_REASON_FIELDS")")
  issued=$(grep -c ' Issued$' <<<"$reasons" || true)
  if grep -Eq ' (Failed|Denied)$' <<<"$reasons"; then
    echo "requests ended unissued: $(grep -E ' (Failed|Denied)$' <<<"$reasons" | head -n 5 | tr '\n' ';')"
    return 1
  fi
  ((issued == $2)) || {
    echo "$issued of $2 issued"
    return 1
  }
}

# burst_verify NAMESPACE DIR COUNT
# Exactly one issuance record per request UID, no record for any other UID,
# and every certificate carries the public key of its own CSR.
burst_verify() {
  local namespace=$1 dir=$2 count=$3 name uid cert problems=0 duplicates strays
  kc get certificaterequests -n "$namespace" \
    -o "jsonpath=$(each_item "$REQUEST_CERTIFICATE_FIELDS")" \
    >"$dir/requests.txt"
  kc get secrets -n "$namespace" -l "$RECORD_LABEL" \
    -o "jsonpath=$(each_item "$RECORD_UID_FIELDS")" |
    sort >"$dir/record-uids.txt"
  awk '{ print $2 }' "$dir/requests.txt" | sort >"$dir/request-uids.txt"
  expect_equal "requests in $namespace" "$(grep -c . "$dir/request-uids.txt" || true)" "$count"
  duplicates=$(uniq -d "$dir/record-uids.txt")
  [[ -z "$duplicates" ]] || fail "request UIDs with more than one issuance record: $(tr '\n' ' ' <<<"$duplicates")"
  strays=$(comm -13 "$dir/request-uids.txt" "$dir/record-uids.txt")
  [[ -z "$strays" ]] || fail "issuance records for unknown request UIDs: $(tr '\n' ' ' <<<"$strays")"
  strays=$(comm -23 "$dir/request-uids.txt" "$dir/record-uids.txt")
  [[ -z "$strays" ]] || fail "requests without an issuance record: $(tr '\n' ' ' <<<"$strays")"
  mkdir -p "$dir/issued"
  while read -r name uid cert; do
    openssl base64 -d -A <<<"$cert" >"$dir/issued/$name.pem"
    if [[ "$(pki_cert_pubkey "$dir/issued/$name.pem")" != "$(<"$dir/csr/$name.pub")" ]]; then
      echo "  certificate of $name (uid $uid) does not carry its CSR's public key"
      problems=$((problems + 1))
    fi
  done <"$dir/requests.txt"
  ((problems == 0)) || fail "$problems certificates carry a public key other than their CSR's"
}

# random_sleep MIN_MS MAX_MS
random_sleep() {
  local ms=$(($1 + RANDOM % ($2 - $1 + 1)))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

# kill_loop STOP_FILE: kills controller 0 with SIGKILL at random moments and
# restarts it, until STOP_FILE exists or after 60 rounds.
kill_loop() {
  local stop_file=$1 round
  for ((round = 1; round <= 60; round++)); do
    [[ ! -f "$stop_file" ]] || return 0
    random_sleep 500 3000
    if [[ "$E2E_MODE" == deployed ]]; then
      echo "round $round: deleting the controller pods"
      deployed_kill
      continue
    fi
    echo "round $round: kill -9 controller 0 (pid $(controller_pid 0))"
    controller_kill 0 KILL
    random_sleep 0 1000
    controller_start 0
  done
}

check_idempotency_kill() {
  local ns dir count=${E2E_BURST:-200} stop_file chaos_pid
  ns=$(ns_create burst-kill)
  dir=$(check_dir)
  setup_root "$ns" ca
  stop_file="$dir/stop"
  kill_loop "$stop_file" >"$dir/kill-loop.log" 2>&1 &
  chaos_pid=$!
  echo "$chaos_pid" >"$E2E_WORKDIR/kill-loop.bgpid"
  burst_create "$ns" "$dir" "$count"
  sleep 10
  touch "$stop_file"
  wait "$chaos_pid" || fail "the kill loop failed; see $dir/kill-loop.log"
  rm -f "$E2E_WORKDIR/kill-loop.bgpid"
  note "$(grep -c '^round' "$dir/kill-loop.log" || true) kills during the burst"
  if [[ "$E2E_MODE" == deployed ]]; then
    deployed_wait
  else
    [[ -n "$(controller_pid 0)" ]] || controller_start 0
    expect "controller did not come back" controller_wait 0 readyz 90
  fi
  expect "burst after kills" wait_until "all $count requests to be issued" $((E2E_TIMEOUT + count)) \
    burst_all_issued "$ns" "$count"
  burst_verify "$ns" "$dir" "$count"
}

# two_controllers_case NAME [--leader-elect]: runs a burst against processes 0
# and 1 at once and prints the certificates each one issued.
two_controllers_case() {
  local name=$1 election=${2:-} ns dir count=${E2E_BURST:-200} index before0 before1
  [[ "$E2E_MODE" != deployed ]] || skip_check "needs two out-of-cluster controller processes"
  ns=$(ns_create "$name")
  dir=$(check_dir)
  setup_root "$ns" ca
  controller_kill 0 TERM
  controller_start 0 ${election:+"$election"}
  controller_start 1 ${election:+"$election"}
  for index in 0 1; do
    expect "controller $index did not start" controller_wait "$index" healthz 90
  done
  if [[ -z "$election" ]]; then
    # Without leader election both processes must be ready. With it, only the
    # leader has to be, and which one leads is not known here.
    for index in 0 1; do
      expect "controller $index did not become ready" controller_wait "$index" readyz 90
    done
  fi
  before0=$(metric_sum 0 "$ISSUED_METRIC")
  before1=$(metric_sum 1 "$ISSUED_METRIC")
  burst_create "$ns" "$dir" "$count"
  expect "burst with two controllers" wait_until "all $count requests to be issued" $((E2E_TIMEOUT + count)) \
    burst_all_issued "$ns" "$count"
  burst_verify "$ns" "$dir" "$count"
  ISSUED_BY_0=$(($(metric_sum 0 "$ISSUED_METRIC") - before0))
  ISSUED_BY_1=$(($(metric_sum 1 "$ISSUED_METRIC") - before1))
  note "certificates issued: process 0 $ISSUED_BY_0, process 1 $ISSUED_BY_1"
}

# Restores the single default controller for the checks that follow.
restore_default_controller() {
  controller_kill 1 TERM
  controller_kill 0 TERM
  controller_start 0
  controller_wait 0 readyz 90 || die "controller 0 did not become ready again; log: $E2E_WORKDIR/controller-0.log"
}

# run.sh restores the single default controller after each of these checks.
check_two_controllers_no_election() {
  two_controllers_case two-no-election
}

check_two_controllers_election() {
  two_controllers_case two-election --leader-elect
  if ((ISSUED_BY_0 > 0 && ISSUED_BY_1 > 0)); then
    fail "both processes issued certificates under leader election; only the leader may write"
  fi
  if ((ISSUED_BY_0 + ISSUED_BY_1 == 0)); then
    fail "neither process counted an issued certificate in $ISSUED_METRIC"
  fi
}
