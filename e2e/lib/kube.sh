# shellcheck shell=bash
# kubectl helpers for namespaces, CAs, CertificateRequests, records and Events.
# They read RUN_ID, RUN_LABEL, CLUSTER_RESOURCE_NAMESPACE and E2E_WORKDIR from run.sh.

GROUP=privateca.issuer.dev
RECORD_LABEL=privateca.issuer.dev/request-uid
TEMPLATE_ANNOTATION=privateca.issuer.dev/template

# jsonpath templates, kept here so that e2e/selftest.sh can run each one through
# kubectl's own jsonpath printer against sample objects. The *_FIELDS ones apply
# to one list item and are wrapped by each_item.
JSONPATH_READY='{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].reason}|{.status.conditions[?(@.type=="Ready")].message}'
JSONPATH_STATUS_MANAGERS='{range .metadata.managedFields[?(@.subresource=="status")]}{.manager}{"\n"}{end}'
EVENT_FIELDS='{.type}{"|"}{.reason}{"|"}{.message}{"|"}{.source.component}{.reportingComponent}{"\n"}'
# shellcheck disable=SC2034 # used by the check files
RECORD_FIELDS='{.metadata.name}{"|"}{.metadata.ownerReferences[0].uid}{"|"}{.data.tls\.crt}{"\n"}'
# shellcheck disable=SC2034 # used by the check files
RECORD_UID_FIELDS='{.metadata.labels.privateca\.issuer\.dev/request-uid}{"\n"}'
# shellcheck disable=SC2034 # used by the check files
REQUEST_REASON_FIELDS='{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].reason}{"\n"}'
# shellcheck disable=SC2034 # used by the check files
REQUEST_CERTIFICATE_FIELDS='{.metadata.name}{" "}{.metadata.uid}{" "}{.status.certificate}{"\n"}'
# shellcheck disable=SC2034 # used by run.sh
FINALIZER_HOLDER_FIELDS='-n {.metadata.namespace} {.kind}/{.metadata.name}{"\n"}'

# each_item FIELDS: prints a jsonpath template that applies FIELDS to every list item.
each_item() {
  echo "{range .items[*]}$1{end}"
}

# kubectl with a bound on every API call.
kc() {
  kubectl --request-timeout=30s "$@"
}

# ns_create SUFFIX: creates namespace "$RUN_ID-SUFFIX" (or SUFFIX itself when it
# already starts with RUN_ID) labelled for cleanup, and prints its name.
ns_create() {
  local name=$1
  [[ "$name" == "$RUN_ID"* ]] || name="$RUN_ID-$name"
  kc create namespace "$name" >/dev/null
  kc label namespace "$name" "$RUN_LABEL=$RUN_ID" >/dev/null
  echo "$name"
}

# b64 FILE: prints FILE as one line of base64.
b64() {
  openssl base64 -A -in "$1"
}

# ca_spec CN [KEY_ALGORITHM]: prints a root CA spec body.
ca_spec() {
  printf 'type: Root\nkeyAlgorithm: %s\nsubject:\n  commonName: %s\n  organization: privateca-issuer e2e\n' \
    "${2:-EC_prime256v1}" "$1"
}

# ca_yaml KIND NAMESPACE NAME SPEC: prints a PrivateCA or ClusterPrivateCA;
# NAMESPACE is ignored for a ClusterPrivateCA.
ca_yaml() {
  local kind=$1 namespace=$2 name=$3 spec=$4
  echo "apiVersion: $GROUP/v1alpha1"
  echo "kind: $kind"
  echo "metadata:"
  echo "  name: $name"
  if [[ "$kind" == PrivateCA ]]; then
    echo "  namespace: $namespace"
  fi
  echo "  labels:"
  echo "    $RUN_LABEL: \"$RUN_ID\""
  echo "spec:"
  # shellcheck disable=SC2001 # indents every line, which ${//} cannot anchor
  sed 's/^/  /' <<<"$spec"
}

# ca_apply KIND NAMESPACE NAME SPEC: applies the CA that ca_yaml prints.
ca_apply() {
  ca_yaml "$@" | kc apply -f - >/dev/null
}

# ca_args KIND NAMESPACE NAME: prints the kubectl arguments that name the CA.
ca_args() {
  if [[ "$1" == PrivateCA ]]; then
    echo "privatecas.$GROUP $3 -n $2"
  else
    echo "clusterprivatecas.$GROUP $3"
  fi
}

# ca_field KIND NAMESPACE NAME JSONPATH: prints one field of a CA.
ca_field() {
  # shellcheck disable=SC2046 # ca_args prints separate words on purpose
  kc get $(ca_args "$1" "$2" "$3") -o "jsonpath={$4}"
}

# ca_has_state KIND NAMESPACE NAME STATE: succeeds when status.state is STATE.
ca_has_state() {
  local state
  state=$(ca_field "$1" "$2" "$3" .status.state)
  if [[ "$state" != "$4" ]]; then
    echo "state is '${state:-<unset>}' (failureReason: $(ca_field "$1" "$2" "$3" .status.failureReason))"
    return 1
  fi
}

# ca_wait_state KIND NAMESPACE NAME STATE [TIMEOUT]
ca_wait_state() {
  wait_until "$1 $2/$3 to reach state $4" "${5:-60}" ca_has_state "$1" "$2" "$3" "$4"
}

# ca_secret_location KIND NAMESPACE NAME: prints "<namespace> <secret name>".
ca_secret_location() {
  local kind=$1 namespace=$2 name=$3 secret
  secret=$(ca_field "$kind" "$namespace" "$name" .spec.secretName)
  [[ -n "$secret" ]] || secret="$name-ca"
  if [[ "$kind" == ClusterPrivateCA ]]; then
    namespace=$CLUSTER_RESOURCE_NAMESPACE
  fi
  echo "$namespace $secret"
}

# secret_key NAMESPACE SECRET KEY OUT: writes one decoded data key to OUT.
secret_key() {
  local escaped=${3//./\\.}
  kc get secret "$2" -n "$1" -o "jsonpath={.data.$escaped}" | openssl base64 -d -A >"$4"
}

# ca_fetch KIND NAMESPACE NAME DIR: writes the CA Secret's tls.crt, ca.crt and
# chain.crt to DIR.
ca_fetch() {
  local location
  location=$(ca_secret_location "$1" "$2" "$3")
  mkdir -p "$4"
  secret_key "${location% *}" "${location#* }" tls.crt "$4/tls.crt"
  secret_key "${location% *}" "${location#* }" ca.crt "$4/ca.crt"
  secret_key "${location% *}" "${location#* }" chain.crt "$4/chain.crt"
}

# ca_secret_apply NAMESPACE NAME DIR: applies the Secret that ca_secret_yaml prints.
ca_secret_apply() {
  ca_secret_yaml "$@" | kc apply -f - >/dev/null
}

# ca_secret_yaml NAMESPACE NAME DIR: prints a labelled CA Secret with DIR's
# tls.crt, tls.key, ca.crt and chain.crt, as a user importing a CA would write.
ca_secret_yaml() {
  local namespace=$1 name=$2 dir=$3
  [[ -f "$dir/chain.crt" ]] || : >"$dir/chain.crt"
  cat <<EOF
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: $name
  namespace: $namespace
  labels:
    privateca.issuer.dev/ca-secret: "true"
    $RUN_LABEL: "$RUN_ID"
data:
  tls.crt: $(b64 "$dir/tls.crt")
  tls.key: $(b64 "$dir/tls.key")
  ca.crt: $(b64 "$dir/ca.crt")
  chain.crt: "$(b64 "$dir/chain.crt")"
EOF
}

# cr_yaml NAMESPACE NAME CSR [--kind K] [--issuer NAME] [--group G] [--duration D]
#         [--usages "a,b"] [--is-ca] [--template T]
# Prints a CertificateRequest. The issuer defaults to PrivateCA "ca" in the
# privateca.issuer.dev group; --group "" writes an empty group.
cr_yaml() {
  local namespace=$1 name=$2 csr=$3
  shift 3
  local kind=PrivateCA issuer=ca group=$GROUP duration="" usages="" is_ca="" template=""
  while (($# > 0)); do
    case $1 in
      --kind) kind=$2 && shift 2 ;;
      --issuer) issuer=$2 && shift 2 ;;
      --group) group=$2 && shift 2 ;;
      --duration) duration=$2 && shift 2 ;;
      --usages) usages=$2 && shift 2 ;;
      --is-ca) is_ca=true && shift ;;
      --template) template=$2 && shift 2 ;;
      *) echo "cr_yaml: unknown option '$1'" >&2 && return 1 ;;
    esac
  done

  echo "apiVersion: cert-manager.io/v1"
  echo "kind: CertificateRequest"
  echo "metadata:"
  echo "  name: $name"
  echo "  namespace: $namespace"
  if [[ -n "$template" ]]; then
    echo "  annotations:"
    echo "    $TEMPLATE_ANNOTATION: \"$template\""
  fi
  echo "spec:"
  echo "  request: $(b64 "$csr")"
  echo "  issuerRef:"
  echo "    name: \"$issuer\""
  echo "    kind: $kind"
  echo "    group: \"$group\""
  [[ -z "$duration" ]] || echo "  duration: $duration"
  [[ -z "$is_ca" ]] || echo "  isCA: true"
  if [[ -n "$usages" ]]; then
    echo "  usages:"
    local usage
    while IFS= read -r usage; do
      echo "  - \"$usage\""
    done < <(tr ',' '\n' <<<"$usages" | sed 's/^ *//; s/ *$//')
  fi
}

# cr_create NAMESPACE NAME CSR [cr_yaml options]: creates a CertificateRequest.
cr_create() {
  cr_yaml "$@" | kc create -f - >/dev/null
}

# cr_condition_patch TYPE: prints a merge patch that sets one True condition.
cr_condition_patch() {
  printf '{"status":{"conditions":[{"type":"%s","status":"True","reason":"E2E","message":"%s by the e2e suite","lastTransitionTime":"%s"}]}}' \
    "$1" "$(tr '[:upper:]' '[:lower:]' <<<"$1")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

# cr_approve NAMESPACE NAME / cr_deny NAMESPACE NAME
cr_approve() {
  kc patch certificaterequest "$2" -n "$1" --subresource=status --type=merge \
    -p "$(cr_condition_patch Approved)" >/dev/null
}
cr_deny() {
  kc patch certificaterequest "$2" -n "$1" --subresource=status --type=merge \
    -p "$(cr_condition_patch Denied)" >/dev/null
}

# cr_approve_file FILE: approves every CertificateRequest named in a YAML file.
cr_approve_file() {
  kc patch -f "$1" --subresource=status --type=merge -p "$(cr_condition_patch Approved)" >/dev/null
}

# cr_field NAMESPACE NAME JSONPATH: prints one field of a CertificateRequest.
cr_field() {
  kc get certificaterequest "$2" -n "$1" -o "jsonpath={$3}"
}

# cr_ready NAMESPACE NAME: prints "<status>|<reason>|<message>" of the Ready condition.
cr_ready() {
  kc get certificaterequest "$2" -n "$1" -o "jsonpath=$JSONPATH_READY"
}

# cr_is_issued NAMESPACE NAME: succeeds on Ready=True; prints the condition otherwise.
cr_is_issued() {
  local ready
  ready=$(cr_ready "$1" "$2")
  [[ "$ready" == True\|* ]] || {
    echo "Ready is '$ready'"
    return 1
  }
}

# cr_has_reason NAMESPACE NAME REASON: succeeds when Ready has REASON.
cr_has_reason() {
  local ready reason
  ready=$(cr_ready "$1" "$2")
  reason=${ready#*|}
  reason=${reason%%|*}
  [[ "$reason" == "$3" ]] || {
    echo "Ready is '$ready'"
    return 1
  }
}

# cr_wait_issued NAMESPACE NAME [TIMEOUT]
# Waits for Ready=True; stops early when the request reached Failed or Denied.
cr_wait_issued() {
  local namespace=$1 name=$2 timeout=${3:-60}
  local deadline=$((SECONDS + timeout)) ready
  while true; do
    ready=$(cr_ready "$namespace" "$name")
    case $ready in
      True\|*) return 0 ;;
      False\|Failed\|* | False\|Denied\|*)
        echo "  request $namespace/$name ended as '$ready' while waiting for Ready=True" >&2
        return 1
        ;;
    esac
    if ((SECONDS >= deadline)); then
      echo "  timed out after ${timeout}s waiting for request $namespace/$name to be issued; Ready is '${ready}'" >&2
      return 1
    fi
    sleep 1
  done
}

# cr_wait_reason NAMESPACE NAME REASON [TIMEOUT]
cr_wait_reason() {
  wait_until "request $1/$2 to have Ready reason $3" "${4:-60}" cr_has_reason "$1" "$2" "$3"
}

# cr_fetch NAMESPACE NAME DIR
# Writes DIR/chain.pem (status.certificate), DIR/ca.pem (status.ca), DIR/leaf.pem
# and DIR/intermediates.pem (the rest of the chain, possibly empty).
cr_fetch() {
  local namespace=$1 name=$2 dir=$3 count index
  mkdir -p "$dir"
  cr_field "$namespace" "$name" .status.certificate | openssl base64 -d -A >"$dir/chain.pem"
  cr_field "$namespace" "$name" .status.ca | openssl base64 -d -A >"$dir/ca.pem"
  [[ -s "$dir/chain.pem" ]] || {
    echo "request $namespace/$name has an empty status.certificate" >&2
    return 1
  }
  [[ -s "$dir/ca.pem" ]] || {
    echo "request $namespace/$name has an empty status.ca" >&2
    return 1
  }
  count=$(pki_split_certs "$dir/chain.pem" "$dir/cert")
  mv "$dir/cert-0.pem" "$dir/leaf.pem"
  : >"$dir/intermediates.pem"
  for ((index = 1; index < count; index++)); do
    cat "$dir/cert-$index.pem" >>"$dir/intermediates.pem"
    rm -f "$dir/cert-$index.pem"
  done
}

# cr_uid NAMESPACE NAME
cr_uid() {
  cr_field "$1" "$2" .metadata.uid
}

# record_count NAMESPACE UID: prints the number of issuance records of a request.
record_count() {
  local names
  names=$(kc get secrets -n "$1" -l "$RECORD_LABEL=$2" -o name)
  grep -c . <<<"$names" || true
}

# events_of NAMESPACE UID: prints "type|reason|message|component" per Event on the object.
events_of() {
  kc get events -n "$1" --field-selector "involvedObject.uid=$2" \
    -o "jsonpath=$(each_item "$EVENT_FIELDS")"
}

# status_managers NAMESPACE NAME: prints the field managers that wrote the status.
status_managers() {
  kc get certificaterequest "$2" -n "$1" --show-managed-fields \
    -o "jsonpath=$JSONPATH_STATUS_MANAGERS"
}
