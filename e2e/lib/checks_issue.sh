# shellcheck shell=bash
# Checks of requests that must be issued: key types, templates, durations,
# subject alternative names, chains and the user-reported cases that end issued.

# shellcheck disable=SC2034 # run.sh runs these checks
ISSUE_CHECKS=(
  check_issue_rsa2048
  check_issue_p256
  check_issue_p384
  check_issue_ed25519
  check_template_annotation
  check_no_subject_dns_san
  check_ip_san_only
  check_uri_san_only
  check_usages_server_auth
  check_usages_order
  check_usages_server_template
  check_rsa_ca_p384_csr
  check_duration_1h
  check_duration_default
  check_ca_secret_late
  check_named_ca_secret_late
  check_capped_at_ca_expiry
  check_long_names
  check_subordinate_chain
)

HOURS_2160=$((2160 * 3600))

# expect_record NAMESPACE NAME DIR
# The request has exactly one issuance record: Secret privateca-issuer-<uid>,
# owned by the request, whose tls.crt starts with the request's certificate.
expect_record() {
  local namespace=$1 name=$2 dir=$3 uid records line
  uid=$(cr_uid "$namespace" "$name")
  records=$(kc get secrets -n "$namespace" -l "$RECORD_LABEL=$uid" \
    -o "jsonpath=$(each_item "$RECORD_FIELDS")")
  expect_equal "issuance records of $namespace/$name" "$(grep -c . <<<"$records" || true)" 1
  line=$records
  expect_equal "issuance record name" "${line%%|*}" "privateca-issuer-$uid"
  line=${line#*|}
  expect_equal "issuance record owner UID" "${line%%|*}" "$uid"
  openssl base64 -d -A <<<"${line#*|}" >"$dir/record.pem"
  pki_split_certs "$dir/record.pem" "$dir/record" >/dev/null
  expect_equal "first certificate of the issuance record" \
    "$(pki_fingerprint "$dir/record-0.pem")" "$(pki_fingerprint "$dir/leaf.pem")"
}

# expect_issued_certificate DIR CSR CA_CERT TEMPLATE
# Checks a fetched certificate: status.ca is the root, the chain verifies, the
# extensions are the template's, AKI is the issuer's SKI, and the key and the
# subject are the CSR's.
expect_issued_certificate() {
  local dir=$1 csr=$2 ca=$3 template=$4 issuer
  expect_equal "status.ca" "$(pki_fingerprint "$dir/ca.pem")" "$(pki_fingerprint "$ca")"
  expect "chain does not verify" pki_verify_chain "$dir/ca.pem" "$dir/intermediates.pem" "$dir/leaf.pem"
  expect "extensions differ from $template" pki_check_template "$dir/leaf.pem" "$template"
  issuer=$ca
  [[ ! -s "$dir/intermediates.pem" ]] || {
    pki_split_certs "$dir/intermediates.pem" "$dir/issuer" >/dev/null
    issuer="$dir/issuer-0.pem"
  }
  expect "authorityKeyIdentifier" pki_check_aki_matches "$dir/leaf.pem" "$issuer"
  expect "public key" pki_expect_same_pubkey "$csr" "$dir/leaf.pem"
  expect_equal "subject" "$(pki_subject "$dir/leaf.pem" x509)" "$(pki_subject "$csr" req)"
}

# issue_with_key KEY_TYPE: a request with a CSR of KEY_TYPE and no duration.
issue_with_key() {
  local type=$1 ns dir
  ns=$(ns_create "issue-$type")
  dir=$(check_dir)
  setup_root "$ns" ca
  ca_fetch PrivateCA "$ns" ca "$dir/ca"
  make_csr "$dir" app "$type" "/O=e2e/CN=$type.example.internal" "DNS:$type.example.internal"
  issue "$ns" app "$dir/app.csr" "$dir/app"
  expect_issued_certificate "$dir/app" "$dir/app.csr" "$dir/ca/tls.crt" EndEntityCertificate/V1
  expect "lifetime without spec.duration" pki_expect_lifetime "$dir/app/leaf.pem" "$HOURS_2160"
  expect_equal "subjectAltName" "$(pki_extension "$dir/app/leaf.pem" "X509v3 Subject Alternative Name")" \
    "-|DNS:$type.example.internal"
  expect_record "$ns" app "$dir/app"
}

check_issue_rsa2048() { issue_with_key rsa2048; }
check_issue_p256() { issue_with_key p256; }
check_issue_p384() { issue_with_key p384; }
check_issue_ed25519() { issue_with_key ed25519; }

check_template_annotation() {
  local ns dir
  ns=$(ns_create template)
  dir=$(check_dir)
  setup_root "$ns" ca EC_prime256v1 "$(printf 'allowedTemplates:\n- EndEntityCertificate/V1\n- CodeSigningCertificate/V1\n')"
  ca_fetch PrivateCA "$ns" ca "$dir/ca"
  make_csr "$dir" signer p256 "/CN=e2e code signer"
  issue "$ns" signer "$dir/signer.csr" "$dir/signer" \
    --template "arn:aws:acm-pca:::template/CodeSigningCertificate/V1"
  expect_issued_certificate "$dir/signer" "$dir/signer.csr" "$dir/ca/tls.crt" CodeSigningCertificate/V1
}

# san_only_case NAME SAN: a CSR with no subject and one SAN must be issued with
# an empty subject and a critical subjectAltName copied byte for byte. Its chain
# must verify, and openssl verify -x509_strict rejects an empty subject whose
# SAN is not critical.
san_only_case() {
  local name=$1 san=$2 ns dir
  ns=$(ns_create "$name")
  dir=$(check_dir)
  setup_root "$ns" ca
  ca_fetch PrivateCA "$ns" ca "$dir/ca"
  make_csr "$dir" app p256 "/" "$san"
  [[ -z "$(pki_subject "$dir/app.csr" req)" ]] || fail "openssl wrote a subject into the CSR"
  issue "$ns" app "$dir/app.csr" "$dir/app"
  expect_equal "subject" "$(pki_subject "$dir/app/leaf.pem" x509)" ""
  local rendered=${san/#IP:/IP Address:}
  expect "subjectAltName" pki_expect_extension "$dir/app/leaf.pem" "X509v3 Subject Alternative Name" "critical|$rendered"
  expect_equal "subjectAltName DER" "$(pki_san_hex "$dir/app/leaf.pem" x509)" "$(pki_san_hex "$dir/app.csr" req)"
  expect "chain does not verify" pki_verify_chain "$dir/app/ca.pem" "$dir/app/intermediates.pem" "$dir/app/leaf.pem"
}

check_no_subject_dns_san() { san_only_case dns-san "DNS:app.example.internal"; }
check_ip_san_only() { san_only_case ip-san "IP:10.0.0.1"; }
check_uri_san_only() { san_only_case uri-san "URI:spiffe://cluster.local/ns/sandbox/sa/foo"; }

check_usages_server_auth() {
  local ns dir
  ns=$(ns_create usages-server)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=server.example.internal" "DNS:server.example.internal"
  issue "$ns" app "$dir/app.csr" "$dir/app" --usages "server auth"
  expect "extensions for usages [server auth]" pki_check_template "$dir/app/leaf.pem" EndEntityServerAuthCertificate/V1
}

check_usages_order() {
  local ns dir extension a b
  ns=$(ns_create usages-order)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=both.example.internal" "DNS:both.example.internal"
  issue "$ns" client-first "$dir/app.csr" "$dir/a" --usages "client auth,server auth"
  issue "$ns" server-first "$dir/app.csr" "$dir/b" --usages "server auth,client auth"
  expect "extensions for [client auth, server auth]" pki_check_template "$dir/a/leaf.pem" EndEntityCertificate/V1
  for extension in "X509v3 Basic Constraints" "X509v3 Key Usage" "X509v3 Extended Key Usage" \
    "X509v3 Subject Alternative Name" "X509v3 Subject Key Identifier" "X509v3 Authority Key Identifier"; do
    a=$(pki_extension "$dir/a/leaf.pem" "$extension" || echo absent)
    b=$(pki_extension "$dir/b/leaf.pem" "$extension" || echo absent)
    expect_equal "$extension of [server auth, client auth] against [client auth, server auth]" "$b" "$a"
  done
}

# has_event_containing NAMESPACE UID TEXT [TYPE]: an Event on the object mentions TEXT.
has_event_containing() {
  local events
  events=$(events_of "$1" "$2")
  grep -F -- "$3" <<<"$events" | grep -q "^${4:-}" || {
    echo "no ${4:+$4 }Event mentions '$3'; Events: ${events:-<none>}"
    return 1
  }
}

check_usages_server_template() {
  local ns dir uid
  ns=$(ns_create usages-ku)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=ku.example.internal" "DNS:ku.example.internal"
  issue "$ns" app "$dir/app.csr" "$dir/app" --usages "digital signature,key encipherment,server auth"
  expect "extensions" pki_check_template "$dir/app/leaf.pem" EndEntityServerAuthCertificate/V1
  uid=$(cr_uid "$ns" app)
  expect "the chosen template is not named in an Event" wait_until "an Event naming the template" 20 \
    has_event_containing "$ns" "$uid" EndEntityServerAuthCertificate/V1
}

check_rsa_ca_p384_csr() {
  local ns dir
  ns=$(ns_create rsa-ca)
  dir=$(check_dir)
  setup_root "$ns" ca RSA_2048
  make_csr "$dir" app p384 "/CN=p384.example.internal" "DNS:p384.example.internal"
  issue "$ns" app "$dir/app.csr" "$dir/app"
  expect_equal "signature algorithm" "$(pki_signature_algorithm "$dir/app/leaf.pem")" sha256WithRSAEncryption
  expect "chain does not verify" pki_verify_chain "$dir/app/ca.pem" "$dir/app/intermediates.pem" "$dir/app/leaf.pem"
  expect "public key" pki_expect_same_pubkey "$dir/app.csr" "$dir/app/leaf.pem"
}

check_duration_1h() {
  local ns dir backdate
  ns=$(ns_create duration-1h)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=short.example.internal"
  issue "$ns" app "$dir/app.csr" "$dir/app" --duration 1h
  expect "lifetime for duration 1h" pki_expect_lifetime "$dir/app/leaf.pem" 3600
  backdate=$(($(date -u +%s) - $(pki_not_before "$dir/app/leaf.pem")))
  ((backdate < 600)) || fail "notBefore is ${backdate}s in the past; the default backdate is 1 minute"
}

check_duration_default() {
  local ns dir
  ns=$(ns_create duration-default)
  dir=$(check_dir)
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=default.example.internal"
  issue "$ns" explicit "$dir/app.csr" "$dir/explicit" --duration 2160h
  issue "$ns" implicit "$dir/app.csr" "$dir/implicit"
  expect "lifetime for duration 2160h" pki_expect_lifetime "$dir/explicit/leaf.pem" "$HOURS_2160"
  expect "lifetime without duration" pki_expect_lifetime "$dir/implicit/leaf.pem" "$HOURS_2160"
}

# A CA whose Secret is missing is a condition to wait for: the request stays
# Pending, never Failed, and is issued once a valid CA Secret appears. The
# Secret is taken away from an Active CA and put back 20 s after the request,
# because a new CA without a Secret would make the controller create one.
check_ca_secret_late() {
  local ns dir key started
  ns=$(ns_create secret-late)
  dir=$(check_dir)
  setup_root "$ns" ca
  mkdir -p "$dir/ca"
  for key in tls.crt tls.key ca.crt chain.crt; do
    secret_key "$ns" ca-ca "$key" "$dir/ca/$key"
  done
  kc delete secret ca-ca -n "$ns" >/dev/null
  make_csr "$dir" app p256 "/CN=late.example.internal"
  started=$SECONDS
  cr_create "$ns" app "$dir/app.csr"
  cr_approve "$ns" app
  expect "request did not become Pending while the CA Secret is missing" \
    cr_wait_reason "$ns" app Pending 15
  expect "request left Pending while the CA Secret is missing" \
    holds_for "request $ns/app to stay Pending" $((20 - (SECONDS - started))) cr_has_reason "$ns" app Pending
  ca_secret_apply "$ns" ca-ca "$dir/ca"
  expect "request was not issued after the CA Secret came back" cr_wait_issued "$ns" app "$E2E_TIMEOUT"
  cr_fetch "$ns" app "$dir/app"
  expect "certificate is not signed by the restored CA" \
    pki_verify_chain "$dir/ca/tls.crt" "$dir/app/intermediates.pem" "$dir/app/leaf.pem"
}

# secret_absent NAMESPACE NAME: succeeds when the Secret does not exist.
secret_absent() {
  ! kc get secret "$2" -n "$1" >/dev/null 2>&1
}

# A PrivateCA that names its Secret imports it and never generates a key. The
# Secret (a CA made with openssl) is created 20 s after the request: until then
# the request stays Pending, and it is issued without any other action.
check_named_ca_secret_late() {
  local ns dir started
  ns=$(ns_create named-late)
  dir=$(check_dir)
  pki_make_ca "$dir/ca" 365
  ca_apply PrivateCA "$ns" ca "$(printf 'type: Root\nkeyAlgorithm: RSA_2048\nsecretName: brought-ca\nsubject:\n  commonName: ca\n  organization: privateca-issuer e2e\n')"
  make_csr "$dir" app p256 "/CN=named-late.example.internal"
  started=$SECONDS
  cr_create "$ns" app "$dir/app.csr" --issuer ca
  cr_approve "$ns" app
  expect "request did not become Pending while the named CA Secret is missing" \
    cr_wait_reason "$ns" app Pending 15
  expect "request left Pending while the named CA Secret is missing" \
    holds_for "request $ns/app to stay Pending" $((20 - (SECONDS - started))) cr_has_reason "$ns" app Pending
  expect "the controller created the Secret it was told to import" \
    secret_absent "$ns" brought-ca
  ca_secret_apply "$ns" brought-ca "$dir/ca"
  expect "request was not issued after the named CA Secret appeared" cr_wait_issued "$ns" app "$E2E_TIMEOUT"
  cr_fetch "$ns" app "$dir/app"
  expect "certificate is not signed by the imported CA" \
    pki_verify_chain "$dir/ca/tls.crt" "$dir/app/intermediates.pem" "$dir/app/leaf.pem"
}

check_capped_at_ca_expiry() {
  local ns dir ca_end uid requested day
  ns=$(ns_create capped)
  dir=$(check_dir)
  pki_make_ca "$dir/ca" 30
  ca_secret_apply "$ns" imported-ca "$dir/ca"
  ca_apply PrivateCA "$ns" ca "$(printf 'type: Root\nkeyAlgorithm: RSA_2048\nsecretName: imported-ca\nsubject:\n  commonName: ca\n  organization: privateca-issuer e2e\n')"
  expect "imported CA with 30 days left did not become Active" ca_wait_state PrivateCA "$ns" ca Active "$E2E_TIMEOUT"
  make_csr "$dir" app p256 "/CN=long.example.internal"
  requested=$(($(date -u +%s) + 8760 * 3600))
  issue "$ns" app "$dir/app.csr" "$dir/app" --duration 8760h
  ca_end=$(pki_not_after "$dir/ca/tls.crt")
  expect_equal "notAfter (Unix seconds)" "$(pki_not_after "$dir/app/leaf.pem")" "$ca_end"
  uid=$(cr_uid "$ns" app)
  expect "no Warning Event names the CA's notAfter" wait_until "a Warning Event naming the CA notAfter" 20 \
    has_event_containing "$ns" "$uid" "$(date -u -d "@$ca_end" +%Y-%m-%d)" Warning
  # The requested end is a few seconds after $requested, possibly past midnight.
  for day in "$(date -u -d "@$requested" +%Y-%m-%d)" "$(date -u -d "@$((requested + 120))" +%Y-%m-%d)"; do
    if has_event_containing "$ns" "$uid" "$day" Warning >/dev/null; then
      return 0
    fi
  done
  fail "no Warning Event names the requested notAfter ($(date -u -d "@$requested" +%Y-%m-%d)); Events: $(events_of "$ns" "$uid")"
}

check_long_names() {
  local ns name dir pad
  dir=$(check_dir)
  pad=$((63 - ${#RUN_ID} - 6))
  ns=$(ns_create "$RUN_ID-long-$(printf '%*s' "$pad" '' | tr ' ' 'n')")
  expect_equal "namespace name length" "${#ns}" 63
  name="req-$(printf '%0196d' 0)"
  setup_root "$ns" ca
  make_csr "$dir" app p256 "/CN=long-names.example.internal"
  issue "$ns" "$name" "$dir/app.csr" "$dir/app"
  expect_record "$ns" "$name" "$dir/app"
}

check_subordinate_chain() {
  local ns dir
  ns=$(ns_create sub-chain)
  dir=$(check_dir)
  setup_root "$ns" root
  ca_apply PrivateCA "$ns" sub "$(printf 'type: Subordinate\nkeyAlgorithm: EC_prime256v1\nsubject:\n  commonName: e2e issuing CA\nparentRef:\n  kind: PrivateCA\n  name: root\n')"
  expect "subordinate did not become Active" ca_wait_state PrivateCA "$ns" sub Active "$E2E_TIMEOUT"
  ca_fetch PrivateCA "$ns" root "$dir/root"
  ca_fetch PrivateCA "$ns" sub "$dir/sub"
  make_csr "$dir" app p256 "/CN=chain.example.internal" "DNS:chain.example.internal"
  issue "$ns" app "$dir/app.csr" "$dir/app" --issuer sub
  expect "status.certificate" pki_check_status_chain "$dir/app/chain.pem" "$dir/sub/tls.crt"
  expect_equal "status.ca (the root only)" \
    "$(pki_count_certs "$dir/app/ca.pem"):$(pki_fingerprint "$dir/app/ca.pem")" "1:$(pki_fingerprint "$dir/root/tls.crt")"
  if grep -q $'\r' "$dir/app/ca.pem"; then
    fail "status.ca contains CR characters"
  fi
  expect_issued_certificate "$dir/app" "$dir/app.csr" "$dir/root/tls.crt" EndEntityCertificate/V1
}
