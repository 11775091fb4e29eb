# shellcheck shell=bash
# Key, CSR and certificate helpers built on the openssl CLI (OpenSSL 1.1.1 or 3.x).
# They need no cluster, so e2e/selftest.sh tests them against local certificates.
# Each check helper prints what is wrong to stdout and returns 1 on a mismatch.

# pki_make_key TYPE OUT
# Writes a PKCS#8 PEM private key. TYPE: rsa1024 rsa2048 rsa3072 p256 p384 p521 ed25519.
pki_make_key() {
  local type=$1 out=$2
  case $type in
    rsa*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${type#rsa}" -out "$out" 2>/dev/null ;;
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out" ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$out" ;;
    p521) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$out" ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$out" ;;
    *)
      echo "pki_make_key: unknown key type '$type'; use rsa1024, rsa2048, rsa3072, p256, p384, p521 or ed25519" >&2
      return 1
      ;;
  esac
}

# Writes an openssl config with an empty distinguished_name section, so that
# requests depend on no system openssl.cnf.
pki_write_config() {
  printf '[req]\ndistinguished_name = dn\n[dn]\n' >"$1"
}

# pki_make_csr KEY OUT SUBJECT [SAN...]
# Writes a PEM CSR. SUBJECT is in openssl's "/CN=x/O=y" form; "/" or "" gives an
# empty subject. Each SAN is in openssl's form: DNS:name, IP:10.0.0.1, URI:spiffe://x.
pki_make_csr() {
  local key=$1 out=$2 subject=${3:-/}
  shift 3
  local config="$out.cnf"
  local args=(req -new -key "$key" -config "$config" -subj "${subject:-/}" -out "$out")
  pki_write_config "$config"
  if (($# > 0)); then
    local sans
    sans=$(
      IFS=,
      echo "$*"
    )
    args+=(-addext "subjectAltName=$sans")
  fi
  # Ed25519 signs the message itself and takes no digest.
  if ! openssl pkey -in "$key" -noout -text 2>/dev/null | grep -q '^ED25519'; then
    args+=(-sha256)
  fi
  openssl "${args[@]}"
  rm -f "$config"
}

# pki_flip_last_byte IN OUT
# Copies the PEM object IN to OUT with the last DER byte changed. For a CSR or a
# certificate that byte is inside the signature, so the object still parses but
# its signature no longer verifies.
pki_flip_last_byte() {
  local in=$1 out=$2
  local label der last
  label=$(sed -n 's/^-----BEGIN \(.*\)-----$/\1/p' "$in" | head -n1)
  der="$out.der"
  sed '/^-----/d' "$in" | openssl base64 -d >"$der.tmp"
  head -c -1 "$der.tmp" >"$der"
  last=$(tail -c 1 "$der.tmp" | od -An -tu1 | tr -d ' ')
  # shellcheck disable=SC2059 # the format is an octal escape built on purpose
  printf "\\$(printf '%03o' $((last ^ 1)))" >>"$der"
  {
    echo "-----BEGIN $label-----"
    openssl base64 -e -in "$der"
    echo "-----END $label-----"
  } >"$out"
  rm -f "$der" "$der.tmp"
}

# pki_csr_signature_ok CSR: succeeds when the CSR's self-signature verifies.
# OpenSSL 3.0's "req -verify" exits 0 even on a bad signature, so the message
# is what counts.
pki_csr_signature_ok() {
  openssl req -in "$1" -noout -verify 2>&1 | grep -q 'verify OK'
}

# pki_count_certs FILE: prints the number of PEM certificates in FILE.
pki_count_certs() {
  grep -c -- '-----BEGIN CERTIFICATE-----' "$1" || true
}

# pki_split_certs FILE PREFIX
# Writes each PEM certificate of FILE to PREFIX-0.pem, PREFIX-1.pem, ... and
# prints how many it wrote.
pki_split_certs() {
  local file=$1 prefix=$2
  awk -v prefix="$prefix" '
    /-----BEGIN CERTIFICATE-----/ { out = prefix "-" n ".pem"; n++ }
    out != "" { print > out }
    /-----END CERTIFICATE-----/ { close(out); out = "" }
    END { print n + 0 }
  ' "$file"
}

# pki_fingerprint CERT: prints the SHA-256 fingerprint of a PEM certificate.
pki_fingerprint() {
  openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

# pki_extension CERT NAME
# Prints "critical|<value>" or "-|<value>" for the extension whose openssl text
# name is NAME (such as "X509v3 Key Usage"); returns 1 when it is absent. Values
# that span lines are joined with ", ".
pki_extension() {
  local cert=$1 name=$2
  openssl x509 -in "$cert" -noout -text | awk -v name="$name" '
    function flush() { if (found && !printed) { print crit "|" value; printed = 1 } exit 0 }
    found && /^            [A-Za-z0-9]/ { flush() }
    found && /^    Signature Algorithm:/ { flush() }
    found && /^                / {
      line = $0; sub(/^ +/, "", line); sub(/ +$/, "", line)
      value = (value == "" ? line : value ", " line); next
    }
    index($0, "            " name ":") == 1 {
      found = 1; crit = ($0 ~ /critical/ ? "critical" : "-"); value = ""
    }
    END { if (!found) exit 1; if (!printed) print crit "|" value }
  '
}

# pki_sorted_list "a, b, c": prints the comma-separated items sorted, one line.
pki_sorted_list() {
  tr ',' '\n' <<<"$1" | sed 's/^ *//; s/ *$//' | sort | paste -sd, - | sed 's/,/, /g'
}

# pki_expect_extension CERT NAME EXPECTED
# EXPECTED is "critical|<value>", "-|<value>" or "absent". List values are
# compared as sets.
pki_expect_extension() {
  local cert=$1 name=$2 expected=$3 actual
  if ! actual=$(pki_extension "$cert" "$name"); then
    actual=absent
  fi
  if [[ "$expected" != absent && "$actual" != absent ]]; then
    actual="${actual%%|*}|$(pki_sorted_list "${actual#*|}")"
    expected="${expected%%|*}|$(pki_sorted_list "${expected#*|}")"
  fi
  if [[ "$actual" != "$expected" ]]; then
    echo "$name: expected '$expected', got '$actual'"
    return 1
  fi
}

# pki_check_template CERT TEMPLATE
# Checks basicConstraints, keyUsage and extendedKeyUsage against the template's
# table, and that SKI and AKI are present.
pki_check_template() {
  local cert=$1 template=$2 problems=0
  local bc ku eku
  case $template in
    EndEntityCertificate/V1)
      bc='-|CA:FALSE'
      ku='critical|Digital Signature, Key Encipherment'
      eku='-|TLS Web Server Authentication, TLS Web Client Authentication'
      ;;
    EndEntityServerAuthCertificate/V1)
      bc='-|CA:FALSE'
      ku='critical|Digital Signature, Key Encipherment'
      eku='-|TLS Web Server Authentication'
      ;;
    EndEntityClientAuthCertificate/V1)
      bc='-|CA:FALSE'
      ku='critical|Digital Signature, Key Encipherment'
      eku='-|TLS Web Client Authentication'
      ;;
    CodeSigningCertificate/V1)
      bc='-|CA:FALSE'
      ku='critical|Digital Signature'
      eku='critical|Code Signing'
      ;;
    *)
      echo "pki_check_template: no expectations for template '$template'"
      return 1
      ;;
  esac
  pki_expect_extension "$cert" "X509v3 Basic Constraints" "$bc" || problems=1
  pki_expect_extension "$cert" "X509v3 Key Usage" "$ku" || problems=1
  pki_expect_extension "$cert" "X509v3 Extended Key Usage" "$eku" || problems=1
  pki_extension "$cert" "X509v3 Subject Key Identifier" >/dev/null ||
    { echo "Subject Key Identifier missing" && problems=1; }
  pki_extension "$cert" "X509v3 Authority Key Identifier" >/dev/null ||
    { echo "Authority Key Identifier missing" && problems=1; }
  return "$problems"
}

# pki_key_id CERT NAME: prints the hex of the SKI or the AKI keyIdentifier, upper case, no colons.
pki_key_id() {
  local value
  value=$(pki_extension "$1" "$2") || return 1
  value=${value#*|}
  value=${value#keyid:}
  value=${value%%, *}
  tr -d ':' <<<"$value" | tr '[:lower:]' '[:upper:]'
}

# pki_check_aki_matches LEAF ISSUER: the leaf's AKI must equal the issuer's SKI.
pki_check_aki_matches() {
  local aki ski
  aki=$(pki_key_id "$1" "X509v3 Authority Key Identifier") || {
    echo "leaf has no Authority Key Identifier"
    return 1
  }
  ski=$(pki_key_id "$2" "X509v3 Subject Key Identifier") || {
    echo "issuer has no Subject Key Identifier"
    return 1
  }
  [[ "$aki" == "$ski" ]] || {
    echo "leaf AKI $aki differs from issuer SKI $ski"
    return 1
  }
}

# pki_date_epoch "Jan  2 03:04:05 2027 GMT": prints Unix seconds (GNU date).
pki_date_epoch() {
  date -u -d "$1" +%s
}

# pki_not_before CERT / pki_not_after CERT: print the bound in Unix seconds.
pki_not_before() {
  pki_date_epoch "$(openssl x509 -in "$1" -noout -startdate | sed 's/^notBefore=//')"
}
pki_not_after() {
  pki_date_epoch "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')"
}

# pki_lifetime CERT: prints notAfter minus notBefore in seconds.
pki_lifetime() {
  echo $(($(pki_not_after "$1") - $(pki_not_before "$1")))
}

# pki_expect_lifetime CERT SECONDS: the lifetime must be exactly SECONDS.
pki_expect_lifetime() {
  local actual
  actual=$(pki_lifetime "$1")
  if ((actual != $2)); then
    echo "lifetime is ${actual}s (notAfter - notBefore), expected exactly $2s"
    return 1
  fi
}

# pki_verify_chain ROOT INTERMEDIATES LEAF
# Verifies LEAF up to ROOT with openssl verify -x509_strict; INTERMEDIATES may be
# an empty or missing file.
pki_verify_chain() {
  local root=$1 intermediates=$2 leaf=$3 output
  local args=(verify -x509_strict -CAfile "$root")
  if [[ -s "$intermediates" ]]; then
    args+=(-untrusted "$intermediates")
  fi
  if ! output=$(openssl "${args[@]}" "$leaf" 2>&1); then
    echo "openssl verify failed: $output"
    return 1
  fi
}

# pki_csr_pubkey CSR / pki_cert_pubkey CERT: print the PEM public key.
pki_csr_pubkey() {
  openssl req -in "$1" -noout -pubkey
}
pki_cert_pubkey() {
  openssl x509 -in "$1" -noout -pubkey
}

# pki_expect_same_pubkey CSR CERT: the certificate must carry the CSR's key.
pki_expect_same_pubkey() {
  if [[ "$(pki_csr_pubkey "$1")" != "$(pki_cert_pubkey "$2")" ]]; then
    echo "certificate $2 does not carry the public key of CSR $1"
    return 1
  fi
}

# pki_san_hex FILE req|x509
# Prints the DER of the subjectAltName extension value as hex, as openssl
# asn1parse shows it; returns 1 when there is none.
pki_san_hex() {
  local file=$1 kind=$2
  local der="$file.asn1.der"
  openssl "$kind" -in "$file" -outform DER -out "$der"
  openssl asn1parse -inform DER -in "$der" | awk '
    /:X509v3 Subject Alternative Name/ { found = 1; next }
    found && /OCTET STRING/ { sub(/.*\[HEX DUMP\]:/, ""); print; done = 1; exit }
    END { exit done ? 0 : 1 }
  '
  local status=$?
  rm -f "$der"
  return "$status"
}

# pki_subject FILE req|x509: prints the subject in RFC 2253 form; empty for none.
pki_subject() {
  openssl "$2" -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//; s/^ //'
}

# pki_signature_algorithm CERT: prints the algorithm of the issuer's signature.
pki_signature_algorithm() {
  openssl x509 -in "$1" -noout -text | awk '/^    Signature Algorithm:/ { print $3; exit }'
}

# pki_check_status_chain CHAIN EXPECTED_INTERMEDIATE...
# Checks a status.certificate value: LF line endings only, the leaf first, then
# exactly the given intermediates in order, and no certificate twice.
pki_check_status_chain() {
  local chain=$1
  shift
  local problems=0 count index fingerprints
  if grep -q $'\r' "$chain"; then
    echo "chain contains CR characters; expected LF line endings only"
    problems=1
  fi

  count=$(pki_split_certs "$chain" "$chain.part")
  if ((count != $# + 1)); then
    echo "chain has $count certificates, expected $(($# + 1)) (the leaf, then $# intermediates)"
    problems=1
  fi
  fingerprints=$(for ((index = 0; index < count; index++)); do
    pki_fingerprint "$chain.part-$index.pem"
  done)
  if [[ $(sort <<<"$fingerprints" | uniq -d) != "" ]]; then
    echo "chain contains the same certificate more than once"
    problems=1
  fi

  index=1
  local expected
  for expected in "$@"; do
    if [[ ! -f "$chain.part-$index.pem" ]] ||
      [[ "$(pki_fingerprint "$chain.part-$index.pem")" != "$(pki_fingerprint "$expected")" ]]; then
      echo "certificate $index of the chain is not $expected"
      problems=1
    fi
    index=$((index + 1))
  done
  rm -f "$chain".part-*.pem
  return "$problems"
}

# pki_make_ca DIR DAYS [PARENT_DIR [PATHLEN]]
# Writes a CA in the layout of a CA Secret. DIR/tls.key is an RSA 2048 key and
# DIR/tls.crt a certificate valid for DAYS with critical basicConstraints
# CA:TRUE, signed by PARENT_DIR's CA or by itself. DIR/ca.crt is the root, and
# DIR/chain.crt the issuers above (parent first, root last, empty for a root).
pki_make_ca() {
  local dir=$1 days=$2 parent=${3:-} pathlen=${4:-}
  local name bc="critical,CA:TRUE"
  mkdir -p "$dir"
  name=$(basename "$dir")
  [[ -n "$pathlen" ]] && bc="$bc,pathlen:$pathlen"
  pki_make_key rsa2048 "$dir/tls.key"
  pki_write_config "$dir/openssl.cnf"
  cat >>"$dir/openssl.cnf" <<EOF
[ca_ext]
basicConstraints = $bc
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
  if [[ -z "$parent" ]]; then
    openssl req -new -x509 -sha256 -key "$dir/tls.key" -config "$dir/openssl.cnf" \
      -subj "/O=privateca-issuer e2e/CN=$name" -days "$days" -extensions ca_ext \
      -out "$dir/tls.crt"
    cp "$dir/tls.crt" "$dir/ca.crt"
    : >"$dir/chain.crt"
  else
    openssl req -new -sha256 -key "$dir/tls.key" -config "$dir/openssl.cnf" \
      -subj "/O=privateca-issuer e2e/CN=$name" -out "$dir/csr.pem"
    openssl x509 -req -sha256 -in "$dir/csr.pem" -CA "$parent/tls.crt" -CAkey "$parent/tls.key" \
      -set_serial "0x$(random_hex 16)" -days "$days" -extfile "$dir/openssl.cnf" \
      -extensions ca_ext -out "$dir/tls.crt" 2>/dev/null
    cp "$parent/ca.crt" "$dir/ca.crt"
    cat "$parent/tls.crt" "$parent/chain.crt" >"$dir/chain.crt"
  fi
}
