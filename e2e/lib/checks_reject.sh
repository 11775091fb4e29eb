# shellcheck shell=bash
# Checks of requests that must not be issued, or only after the user fixed the
# cause: approval, issuer references, CA state, CSR faults and deletion.

# shellcheck disable=SC2034 # run.sh runs these checks
REJECT_CHECKS=(
  check_unapproved_then_denied
  check_only_denied
  check_foreign_group
  check_empty_group
  check_missing_issuer
  check_cluster_ca_name_as_private
  check_disabled_ca
  check_bad_csr
  check_rsa1024
  check_tampered_signature
  check_is_ca_rejected
  check_deleted_mid_flight
)

# resource_version_is NAMESPACE NAME VERSION: the request was not written since.
resource_version_is() {
  local current
  current=$(cr_field "$1" "$2" .metadata.resourceVersion)
  [[ "$current" == "$3" ]] || {
    echo "resourceVersion changed from $3 to $current; Ready is now '$(cr_ready "$1" "$2")'"
    return 1
  }
}

# expect_not_issued NAMESPACE NAME: no certificate in status and no issuance record.
expect_not_issued() {
  [[ -z "$(cr_field "$1" "$2" .status.certificate)" ]] || fail "request $1/$2 has a status.certificate"
  expect_equal "issuance records of $1/$2" "$(record_count "$1" "$(cr_uid "$1" "$2")")" 0
}

# expect_terminal NAMESPACE NAME REASON MESSAGE_REGEX
# The request ends with Ready=False REASON, failureTime set, a message that
# matches MESSAGE_REGEX (case-insensitive), nothing issued, and no further
# write to the request for 10 s, so the controller does not retry it.
expect_terminal() {
  local namespace=$1 name=$2 reason=$3 pattern=$4 ready version
  expect "request did not end as $reason" cr_wait_reason "$namespace" "$name" "$reason" "$E2E_TIMEOUT"
  ready=$(cr_ready "$namespace" "$name")
  note "Ready: $ready"
  expect_equal "Ready status" "${ready%%|*}" False
  [[ -n "$(cr_field "$namespace" "$name" .status.failureTime)" ]] || fail "status.failureTime is not set"
  grep -Eiq -- "$pattern" <<<"${ready#*|*|}" || fail "Ready message '${ready#*|*|}' does not match /$pattern/"
  expect_not_issued "$namespace" "$name"
  version=$(cr_field "$namespace" "$name" .metadata.resourceVersion)
  expect "request was retried after it ended as $reason" \
    holds_for "request $namespace/$name to stay unchanged" 10 resource_version_is "$namespace" "$name" "$version"
}

# cr_create_admitted NAMESPACE NAME CSR [cr_yaml options]
# Creates a request and returns 2 when an admission webhook rejected it.
# cert-manager's webhook verifies CSRs, so with cert-manager installed a broken
# CSR never reaches the controller and the check ends early with a PASS.
cr_create_admitted() {
  local output
  if output=$(cr_yaml "$@" | kc create -f - 2>&1); then
    return 0
  fi
  if grep -Eqi 'admission webhook|denied the request' <<<"$output"; then
    note "rejected at admission before reaching the controller: ${output//$'\n'/; }"
    return 2
  fi
  fail "kubectl create failed: $output"
}

# controller_log_lines REGEX: prints out-of-cluster controller log lines at
# INFO, WARN or ERROR that match REGEX.
controller_log_lines() {
  cat "$E2E_WORKDIR"/controller-*.log 2>/dev/null | grep -E -- "$1" | grep -E '(INFO|WARN|ERROR)' || true
}

check_unapproved_then_denied() {
  local ns dir
  ns=$(ns_create unapproved)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=unapproved.example.internal"
  cr_create "$ns" app "$dir/app.csr"
  expect "an unapproved request was signed" holds_for "request $ns/app to stay unsigned" 10 \
    not_ready_true "$ns" app
  expect_not_issued "$ns" app
  cr_deny "$ns" app
  expect_terminal "$ns" app Denied 'den'
}

not_ready_true() {
  local ready
  ready=$(cr_ready "$1" "$2")
  [[ "$ready" != True\|* ]] || {
    echo "Ready is '$ready'"
    return 1
  }
}

check_only_denied() {
  local ns dir
  ns=$(ns_create only-denied)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=denied.example.internal"
  cr_create "$ns" app "$dir/app.csr"
  cr_deny "$ns" app
  expect_terminal "$ns" app Denied 'den'
  [[ -z "$(cr_field "$ns" app '.status.conditions[?(@.type=="Approved")].type')" ]] ||
    fail "an Approved condition appeared on a denied request"
}

# expect_untouched NAMESPACE NAME ALLOW_CERT_MANAGER
# Checks that only the suite (kubectl) wrote the status, or also cert-manager's
# own controllers when ALLOW_CERT_MANAGER is 1. No other component may have
# recorded an Event, and nothing may have been issued.
expect_untouched() {
  local namespace=$1 name=$2 allow=$3 manager uid events
  while read -r manager; do
    [[ -n "$manager" ]] || continue
    [[ "$manager" == kubectl* ]] && continue
    [[ "$allow" == 1 && "$manager" == cert-manager* ]] && continue
    fail "field manager '$manager' wrote the status of $namespace/$name"
  done < <(status_managers "$namespace" "$name")
  uid=$(cr_uid "$namespace" "$name")
  events=$(events_of "$namespace" "$uid" | grep -v '|cert-manager' || true)
  [[ -z "$events" ]] || fail "Events on $namespace/$name: $events"
  expect_not_issued "$namespace" "$name"
}

check_foreign_group() {
  local ns dir
  ns=$(ns_create foreign-group)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=foreign.example.internal"
  cr_create "$ns" app "$dir/app.csr" --group issuers.example.com --kind Issuer
  cr_approve "$ns" app
  sleep 10
  [[ -z "$(cr_field "$ns" app '.status.conditions[?(@.type=="Ready")].type')" ]] ||
    fail "a request for another issuer group got a Ready condition: $(cr_ready "$ns" app)"
  expect_untouched "$ns" app 0
}

check_empty_group() {
  local ns dir name="$RUN_ID-empty-group"
  ns=$(ns_create empty-group)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=empty-group.example.internal"
  cr_create "$ns" "$name" "$dir/app.csr" --group "" --issuer ca
  cr_approve "$ns" "$name"
  sleep 10
  # An empty group means cert-manager.io, so cert-manager itself may write a status.
  expect_untouched "$ns" "$name" 1
  local lines
  lines=$(controller_log_lines "$name")
  [[ -z "$lines" ]] || fail "the controller logged above debug about a request it does not own: $lines"
}

check_missing_issuer() {
  local ns dir ready
  ns=$(ns_create missing-issuer)
  dir=$(check_dir)
  make_csr "$dir" app p256 "/CN=missing.example.internal"
  cr_create "$ns" app "$dir/app.csr" --issuer later
  cr_approve "$ns" app
  expect "request for a missing PrivateCA is not Pending" cr_wait_reason "$ns" app Pending "$E2E_TIMEOUT"
  ready=$(cr_ready "$ns" app)
  grep -qi 'not found' <<<"$ready" || fail "Pending message does not say the issuer was not found: $ready"
  setup_root "$ns" later
  expect "request was not issued once the PrivateCA existed" cr_wait_issued "$ns" app "$E2E_TIMEOUT"
}

check_cluster_ca_name_as_private() {
  local ns dir name="$RUN_ID-shared" ready
  ns=$(ns_create shared-name)
  dir=$(check_dir)
  ca_apply ClusterPrivateCA "" "$name" "$(ca_spec "e2e shared")"
  expect "ClusterPrivateCA did not become Active" ca_wait_state ClusterPrivateCA "" "$name" Active "$E2E_TIMEOUT"
  make_csr "$dir" app p256 "/CN=shared.example.internal"
  cr_create "$ns" app "$dir/app.csr" --kind PrivateCA --issuer "$name"
  cr_approve "$ns" app
  expect "request is not Pending" cr_wait_reason "$ns" app Pending "$E2E_TIMEOUT"
  ready=$(cr_ready "$ns" app)
  grep -qi 'not found' <<<"$ready" || fail "Pending message does not say the PrivateCA was not found: $ready"
  grep -qF "$ns" <<<"$ready" || fail "Pending message does not name the namespace $ns: $ready"
  expect "request left Pending" holds_for "request $ns/app to stay Pending" 10 cr_has_reason "$ns" app Pending
  expect_not_issued "$ns" app
}

check_disabled_ca() {
  local ns dir
  ns=$(ns_create disabled)
  dir=$(check_dir)
  ca_apply PrivateCA "$ns" ca "$(ca_spec "e2e disabled")"$'\n'"disabled: true"
  expect "disabled CA did not reach state Disabled" ca_wait_state PrivateCA "$ns" ca Disabled "$E2E_TIMEOUT"
  make_csr "$dir" app p256 "/CN=disabled.example.internal"
  cr_create "$ns" app "$dir/app.csr"
  cr_approve "$ns" app
  expect "request to a disabled CA is not Pending" cr_wait_reason "$ns" app Pending "$E2E_TIMEOUT"
  expect "request to a disabled CA left Pending" holds_for "request $ns/app to stay Pending" 5 \
    cr_has_reason "$ns" app Pending
  kc patch "privatecas.$GROUP" ca -n "$ns" --type=merge -p '{"spec":{"disabled":false}}' >/dev/null
  expect "re-enabled CA did not become Active" ca_wait_state PrivateCA "$ns" ca Active "$E2E_TIMEOUT"
  expect "request was not issued after the CA was enabled" cr_wait_issued "$ns" app "$E2E_TIMEOUT"
}

check_bad_csr() {
  local ns dir status=0
  ns=$(ns_create bad-csr)
  dir=$(check_dir)
  setup_root "$ns" ca
  printf -- '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY2VydGlmaWNhdGUgcmVxdWVzdA==\n-----END CERTIFICATE REQUEST-----\n' >"$dir/bad.csr"
  cr_create_admitted "$ns" app "$dir/bad.csr" || status=$?
  ((status != 2)) || return 0
  cr_approve "$ns" app
  expect_terminal "$ns" app Failed 'csr|certificate request|pem|der|parse|decode'
}

check_rsa1024() {
  local ns dir status=0
  ns=$(ns_create rsa1024)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app rsa1024 "/CN=weak.example.internal"
  cr_create_admitted "$ns" app "$dir/app.csr" || status=$?
  ((status != 2)) || return 0
  cr_approve "$ns" app
  expect_terminal "$ns" app Failed '1024'
}

check_tampered_signature() {
  local ns dir status=0
  ns=$(ns_create tampered)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=tampered.example.internal"
  pki_flip_last_byte "$dir/app.csr" "$dir/tampered.csr"
  if pki_csr_signature_ok "$dir/tampered.csr"; then
    fail "the tampered CSR still verifies; pki_flip_last_byte did not reach the signature"
  fi
  cr_create_admitted "$ns" app "$dir/tampered.csr" || status=$?
  ((status != 2)) || return 0
  cr_approve "$ns" app
  expect_terminal "$ns" app Failed 'signature'
}

# The message must tell the user how to allow CA certificates, which is the
# allowedTemplates field of the CA.
check_is_ca_rejected() {
  local ns dir status=0
  ns=$(ns_create is-ca)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=would-be CA"
  cr_create_admitted "$ns" app "$dir/app.csr" --is-ca || status=$?
  ((status != 2)) || return 0
  cr_approve "$ns" app
  expect_terminal "$ns" app Failed 'allowedTemplates'
}

check_deleted_mid_flight() {
  local ns dir index count=20 left lines
  ns=$(ns_create mid-flight)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=mid-flight.example.internal"
  for ((index = 0; index < count; index++)); do
    echo "---"
    cr_yaml "$ns" "app-$index" "$dir/app.csr"
  done >"$dir/requests.yaml"
  kc create -f "$dir/requests.yaml" >/dev/null
  cr_approve_file "$dir/requests.yaml"
  kc delete -f "$dir/requests.yaml" --wait=false >/dev/null
  expect "issuance records outlived their deleted requests" \
    wait_until "no issuance record left in $ns" "$E2E_TIMEOUT" no_records_in "$ns"
  expect "records came back after the requests were deleted" \
    holds_for "no issuance record in $ns" 10 no_records_in "$ns"
  if [[ "$E2E_MODE" != deployed ]]; then
    [[ -n "$(controller_pid 0)" ]] || fail "the controller exited"
    lines=$(controller_log_lines "$ns" | grep ERROR || true)
    [[ -z "$lines" ]] || fail "the controller logged errors for deleted requests: $(head -n 3 <<<"$lines")"
  fi
}

no_records_in() {
  local left
  left=$(kc get secrets -n "$1" -l "$RECORD_LABEL" -o name)
  [[ -z "$left" ]] || {
    echo "$(grep -c . <<<"$left") records left"
    return 1
  }
}

# controller_logs: prints the logs of the controller processes under test.
controller_logs() {
  if [[ "$E2E_MODE" == deployed ]]; then
    kc logs -n "$CONTROLLER_NAMESPACE" -l "$CONTROLLER_SELECTOR" --tail=-1 --all-containers
  else
    cat "$E2E_WORKDIR"/controller-*.log
  fi
}

# A missing RBAC rule in the chart makes the API server return "forbidden",
# which most checks would only see as a timeout.
check_controller_log_clean() {
  local lines
  if [[ "$E2E_MODE" != deployed ]]; then
    [[ -n "$(controller_pid 0)" ]] || fail "controller process 0 is not running"
  fi
  lines=$(controller_logs | grep -i 'forbidden' | head -n 5 || true)
  [[ -z "$lines" ]] || fail "the API server answered 'forbidden', so the chart's RBAC lacks a rule: $lines"
  lines=$(controller_logs | grep -i 'panicked' | head -n 5 || true)
  [[ -z "$lines" ]] || fail "the controller panicked: $lines"
}
