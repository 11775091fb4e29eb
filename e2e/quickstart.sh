#!/usr/bin/env bash
# Issues a certificate end to end on a local CA, with no cluster. It builds the
# CLI, creates a root and a subordinate CA, and makes a CSR with openssl. Then it
# issues a certificate from the subordinate, fetches it with its chain and
# verifies the chain with openssl. The CA directories stay in WORK_DIR.
#
# Usage: e2e/quickstart.sh [WORK_DIR]   (default: a new temporary directory)
set -euo pipefail

cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"

cargo build --locked --quiet --bin privateca-issuer
bin="${CARGO_TARGET_DIR:-target}/debug/privateca-issuer"

run() {
    echo "\$ privateca-issuer $*" >&2
    "$bin" "$@"
}

run create-certificate-authority --ca-dir "$work/root" --type ROOT \
    --key-algorithm EC_prime256v1 --subject 'CN=Quickstart Root,O=Example' \
    --validity Value=10,Type=YEARS
run create-certificate-authority --ca-dir "$work/issuing" --type SUBORDINATE \
    --key-algorithm EC_prime256v1 --subject 'CN=Quickstart Issuing CA,O=Example' \
    --validity Value=5,Type=YEARS --parent-ca-dir "$work/root" --path-length 0

openssl req -new -newkey rsa:2048 -nodes -keyout "$work/app.key" -out "$work/app.csr" \
    -subj "/CN=app.example.internal" \
    -addext "subjectAltName=DNS:app.example.internal" 2>/dev/null

issued="$(run issue-certificate --ca-dir "$work/issuing" --csr "fileb://$work/app.csr" \
    --signing-algorithm SHA256WITHECDSA --validity Value=30,Type=DAYS \
    --idempotency-token quickstart)"
echo "$issued"
arn="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["CertificateArn"])' <<<"$issued")"

run get-certificate --ca-dir "$work/issuing" --certificate-arn "$arn" >"$work/app.json"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
with open(f"{work}/app.json") as f:
    out = json.load(f)
with open(f"{work}/app.crt", "w") as f:
    f.write(out["Certificate"])
with open(f"{work}/chain.pem", "w") as f:
    f.write(out["CertificateChain"])
PY
run get-certificate-authority-certificate --ca-dir "$work/root" \
    | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["Certificate"])' \
    >"$work/root.crt"

openssl x509 -in "$work/app.crt" -noout -subject -issuer -dates -ext subjectAltName,extendedKeyUsage
openssl verify -CAfile "$work/root.crt" -untrusted "$work/chain.pem" "$work/app.crt"
echo "CA directories and the certificate are in $work"
