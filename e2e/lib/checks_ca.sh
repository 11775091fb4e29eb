# shellcheck shell=bash
# Helpers shared by the checks, and the checks of the CA lifecycle.

# shellcheck disable=SC2034 # run.sh runs these checks
CA_CHECKS=(
  check_root_ca_active
  check_subordinate_ca_active
  check_cluster_ca_two_namespaces
  check_deleted_ca_secret
  check_ca_key_mismatch
)

# check_dir: prints (and creates) the work directory of the running check.
check_dir() {
  mkdir -p "$E2E_WORKDIR/$E2E_CURRENT_CHECK"
  echo "$E2E_WORKDIR/$E2E_CURRENT_CHECK"
}

# expect DESCRIPTION COMMAND [ARG...]
# Runs COMMAND and fails the check with DESCRIPTION and COMMAND's output when it fails.
expect() {
  local description=$1 output
  shift
  if ! output=$("$@" 2>&1); then
    fail "$description: ${output//$'\n'/; }"
  fi
}

# expect_equal DESCRIPTION ACTUAL EXPECTED
expect_equal() {
  [[ "$2" == "$3" ]] || fail "$1: expected '$3', got '$2'"
}

# make_csr DIR NAME KEY_TYPE SUBJECT [SAN...]: writes DIR/NAME.key and DIR/NAME.csr.
make_csr() {
  local dir=$1 name=$2 type=$3 subject=$4
  shift 4
  pki_make_key "$type" "$dir/$name.key"
  pki_make_csr "$dir/$name.key" "$dir/$name.csr" "$subject" "$@"
}

# setup_root NAMESPACE NAME [KEY_ALGORITHM] [EXTRA_SPEC]: a root PrivateCA, Active.
setup_root() {
  local spec
  spec=$(ca_spec "$2" "${3:-EC_prime256v1}")
  [[ -z "${4:-}" ]] || spec+=$'\n'"$4"
  ca_apply PrivateCA "$1" "$2" "$spec"
  expect "PrivateCA $1/$2 did not become Active" ca_wait_state PrivateCA "$1" "$2" Active "$E2E_TIMEOUT"
}

# issue NAMESPACE NAME CSR DIR [cr_yaml options]
# Creates and approves a request, waits until it is issued and fetches its
# certificate into DIR (see cr_fetch).
issue() {
  local namespace=$1 name=$2 csr=$3 dir=$4
  shift 4
  cr_create "$namespace" "$name" "$csr" "$@"
  cr_approve "$namespace" "$name"
  expect "request $namespace/$name was not issued" cr_wait_issued "$namespace" "$name" "$E2E_TIMEOUT"
  expect "cannot read the certificate of $namespace/$name" cr_fetch "$namespace" "$name" "$dir"
}

# same_serial HEX_A HEX_B: compares serial numbers ignoring case, colons and leading zeros.
same_serial() {
  local a b
  a=$(tr -d ':' <<<"$1" | tr '[:upper:]' '[:lower:]' | sed 's/^0*//')
  b=$(tr -d ':' <<<"$2" | tr '[:upper:]' '[:lower:]' | sed 's/^0*//')
  [[ -n "$a" && "$a" == "$b" ]]
}

# expect_ca_status_matches KIND NAMESPACE NAME CERT: status fields describe CERT.
expect_ca_status_matches() {
  local kind=$1 namespace=$2 name=$3 cert=$4 serial not_after
  serial=$(ca_field "$kind" "$namespace" "$name" .status.serialNumber)
  same_serial "$serial" "$(openssl x509 -in "$cert" -noout -serial | sed 's/^serial=//')" ||
    fail "status.serialNumber '$serial' is not the serial of the CA certificate"
  not_after=$(ca_field "$kind" "$namespace" "$name" .status.notAfter)
  [[ -n "$not_after" ]] || fail "status.notAfter is empty"
  expect_equal "status.notAfter in Unix seconds" "$(date -u -d "$not_after" +%s)" "$(pki_not_after "$cert")"
  expect_equal "Ready condition" "$(ca_field "$kind" "$namespace" "$name" '.status.conditions[?(@.type=="Ready")].status')" True
}

check_root_ca_active() {
  local ns dir
  ns=$(ns_create root)
  dir=$(check_dir)
  setup_root "$ns" root
  ca_fetch PrivateCA "$ns" root "$dir"
  expect "root certificate is not self-signed" pki_verify_chain "$dir/tls.crt" "" "$dir/tls.crt"
  expect "root basicConstraints" pki_expect_extension "$dir/tls.crt" "X509v3 Basic Constraints" "critical|CA:TRUE"
  expect "root keyUsage" pki_expect_extension "$dir/tls.crt" "X509v3 Key Usage" \
    "critical|Digital Signature, Certificate Sign, CRL Sign"
  expect "root extendedKeyUsage" pki_expect_extension "$dir/tls.crt" "X509v3 Extended Key Usage" absent
  expect "root authorityKeyIdentifier" pki_expect_extension "$dir/tls.crt" "X509v3 Authority Key Identifier" absent
  expect_equal "ca.crt of a root" "$(pki_fingerprint "$dir/ca.crt")" "$(pki_fingerprint "$dir/tls.crt")"
  [[ ! -s "$dir/chain.crt" ]] || fail "chain.crt of a root must be empty"
  expect_ca_status_matches PrivateCA "$ns" root "$dir/tls.crt"
  local secret_label
  secret_label=$(kc get secret root-ca -n "$ns" -o 'jsonpath={.metadata.labels.privateca\.issuer\.dev/ca-secret}')
  [[ -n "$secret_label" ]] || fail "CA Secret $ns/root-ca lacks the label privateca.issuer.dev/ca-secret"
}

check_subordinate_ca_active() {
  local ns dir
  ns=$(ns_create subordinate)
  dir=$(check_dir)
  setup_root "$ns" root
  ca_apply PrivateCA "$ns" sub "$(printf 'type: Subordinate\nkeyAlgorithm: EC_secp384r1\nsubject:\n  commonName: e2e sub\nparentRef:\n  kind: PrivateCA\n  name: root\npathLength: 0\n')"
  expect "subordinate did not become Active" ca_wait_state PrivateCA "$ns" sub Active "$E2E_TIMEOUT"
  ca_fetch PrivateCA "$ns" root "$dir/root"
  ca_fetch PrivateCA "$ns" sub "$dir/sub"
  expect "subordinate does not chain to the root" pki_verify_chain "$dir/root/tls.crt" "" "$dir/sub/tls.crt"
  expect "subordinate basicConstraints" pki_expect_extension "$dir/sub/tls.crt" "X509v3 Basic Constraints" \
    "critical|CA:TRUE, pathlen:0"
  expect "subordinate AKI" pki_check_aki_matches "$dir/sub/tls.crt" "$dir/root/tls.crt"
  expect_equal "subordinate ca.crt" "$(pki_fingerprint "$dir/sub/ca.crt")" "$(pki_fingerprint "$dir/root/tls.crt")"
  expect_equal "subordinate chain.crt (parent first, root last)" \
    "$(pki_count_certs "$dir/sub/chain.crt"):$(pki_fingerprint "$dir/sub/chain.crt")" \
    "1:$(pki_fingerprint "$dir/root/tls.crt")"
  expect_ca_status_matches PrivateCA "$ns" sub "$dir/sub/tls.crt"
}

check_cluster_ca_two_namespaces() {
  local name="$RUN_ID-cluster" dir ns
  dir=$(check_dir)
  ca_apply ClusterPrivateCA "" "$name" "$(ca_spec "e2e cluster CA" EC_secp384r1)"
  expect "ClusterPrivateCA did not become Active" ca_wait_state ClusterPrivateCA "" "$name" Active "$E2E_TIMEOUT"
  expect "ClusterPrivateCA Secret not in $CLUSTER_RESOURCE_NAMESPACE" ca_fetch ClusterPrivateCA "" "$name" "$dir/ca"
  for ns in team-a team-b; do
    ns=$(ns_create "$ns")
    make_csr "$dir" "$ns" p256 "/CN=app.$ns.svc" "DNS:app.$ns.svc"
    issue "$ns" app "$dir/$ns.csr" "$dir/$ns" --kind ClusterPrivateCA --issuer "$name"
    expect "certificate in $ns does not chain to the ClusterPrivateCA" \
      pki_verify_chain "$dir/ca/tls.crt" "$dir/$ns/intermediates.pem" "$dir/$ns/leaf.pem"
    expect_equal "status.ca in $ns" "$(pki_fingerprint "$dir/$ns/ca.pem")" "$(pki_fingerprint "$dir/ca/tls.crt")"
  done
}

# The controller must not create a new key for a CA whose Secret disappeared:
# certificates issued under the old key would silently stop verifying.
check_deleted_ca_secret() {
  local ns serial
  ns=$(ns_create deleted-secret)
  setup_root "$ns" root
  serial=$(ca_field PrivateCA "$ns" root .status.serialNumber)
  kc delete secret root-ca -n "$ns" >/dev/null
  expect "CA did not become Failed after its Secret was deleted" \
    ca_wait_state PrivateCA "$ns" root Failed "$E2E_TIMEOUT"
  [[ -n "$(ca_field PrivateCA "$ns" root .status.failureReason)" ]] || fail "status.failureReason is empty"
  expect "the CA was re-keyed: its Secret came back" holds_for "Secret $ns/root-ca to stay absent" 15 \
    secret_absent "$ns" root-ca
  expect_equal "status.serialNumber after the Secret was deleted" \
    "$(ca_field PrivateCA "$ns" root .status.serialNumber)" "$serial"
}

secret_absent() {
  ! kc get secret "$2" -n "$1" >/dev/null 2>&1 || {
    echo "Secret $1/$2 exists"
    return 1
  }
}

check_ca_key_mismatch() {
  local ns dir
  ns=$(ns_create key-mismatch)
  dir=$(check_dir)
  pki_make_ca "$dir/ca" 365
  pki_make_key rsa2048 "$dir/other.key"
  cp "$dir/other.key" "$dir/ca/tls.key"
  ca_secret_apply "$ns" imported-ca "$dir/ca"
  ca_apply PrivateCA "$ns" imported "$(printf 'type: Root\nkeyAlgorithm: RSA_2048\nsecretName: imported-ca\nsubject:\n  commonName: ca\n  organization: privateca-issuer e2e\n')"
  expect "CA with a mismatched key did not become Failed" ca_wait_state PrivateCA "$ns" imported Failed "$E2E_TIMEOUT"
  note "failureReason: $(ca_field PrivateCA "$ns" imported .status.failureReason)"
  [[ -n "$(ca_field PrivateCA "$ns" imported .status.failureReason)" ]] || fail "status.failureReason is empty"
  expect_equal "tls.crt of the Secret after the failure" \
    "$(kc get secret imported-ca -n "$ns" -o 'jsonpath={.data.tls\.crt}')" "$(b64 "$dir/ca/tls.crt")"
}
