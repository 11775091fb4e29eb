//! The request controller's reconcile against an in-memory API server behind
//! tower-test, with CAs and CSRs made by the openssl CLI and rcgen, and every
//! issued certificate re-parsed with x509-parser and checked with `openssl verify`.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tempfile::TempDir;
use time::OffsetDateTime;
use tracing_subscriber::layer::SubscriberExt;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use privateca_issuer::api::{CertificateRequest, ClusterPrivateCA, PrivateCA};
use privateca_issuer::controller::Context;
use privateca_issuer::controller::request::record::{self, IssuanceRecord};
use privateca_issuer::controller::request::{Error, State, reconcile};
use privateca_issuer::metrics::Metrics;
use privateca_issuer::pki::FixedClock;

const NAMESPACE: &str = "apps";
const CLUSTER_NAMESPACE: &str = "privateca-system";
const UID: &str = "6d1f3c52-4f7e-4a4b-9a8e-1f2d3c4b5a69";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------
// In-memory API server

/// A response the fake server returns once, before normal handling, for the
/// first call that matches `method` and `path`. `insert` is stored first, to
/// model another writer winning a race.
struct Forced {
    method: &'static str,
    path: String,
    code: u16,
    reason: &'static str,
    insert: Option<(String, Value)>,
}

#[derive(Default)]
struct FakeState {
    objects: BTreeMap<String, Value>,
    calls: Vec<String>,
    events: Vec<Value>,
    forced: VecDeque<Forced>,
    next_version: u64,
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

/// Applies an RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

impl FakeState {
    fn version(&mut self) -> String {
        self.next_version += 1;
        (100 + self.next_version).to_string()
    }

    fn handle(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        self.calls.push(format!("{method} {path}"));
        if let Some(position) = self
            .forced
            .iter()
            .position(|forced| forced.method == method && forced.path == path)
        {
            let forced = self.forced.remove(position).expect("position is in range");
            if let Some((key, value)) = forced.insert {
                self.objects.insert(key, value);
            }
            return (
                forced.code,
                status_body(forced.code, forced.reason, "forced by the test"),
            );
        }
        let body: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).expect("request body is JSON")
        };
        match method {
            "GET" if is_collection(path) => {
                let resource = path.rsplit('/').next().unwrap_or_default();
                let marker = format!("/{resource}/");
                let items: Vec<Value> = self
                    .objects
                    .iter()
                    .filter(|(key, _)| key.contains(&marker))
                    .map(|(_, object)| object.clone())
                    .collect();
                let list = json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items});
                (200, list)
            }

            "GET" => match self.objects.get(path) {
                Some(object) => (200, object.clone()),
                None => (404, status_body(404, "NotFound", "not found")),
            },
            "POST" => {
                let name = body["metadata"]["name"]
                    .as_str()
                    .expect("created object has a name")
                    .to_string();
                let key = format!("{path}/{name}");
                if self.objects.contains_key(&key) {
                    return (409, status_body(409, "AlreadyExists", "already exists"));
                }
                let mut object = body;
                object["metadata"]["resourceVersion"] = json!(self.version());
                if path.ends_with("/events") {
                    self.events.push(object.clone());
                }
                self.objects.insert(key, object.clone());
                (201, object)
            }
            "PATCH" => {
                let key = path.trim_end_matches("/status").to_string();
                let current_version = match self.objects.get(&key) {
                    Some(object) => object["metadata"]["resourceVersion"].clone(),
                    None => return (404, status_body(404, "NotFound", "not found")),
                };
                let expected = &body["metadata"]["resourceVersion"];
                if !expected.is_null() && *expected != current_version {
                    return (
                        409,
                        status_body(409, "Conflict", "the object has been modified"),
                    );
                }
                let version = self.version();
                let object = self.objects.get_mut(&key).expect("checked above");
                merge_patch(object, &body);
                object["metadata"]["resourceVersion"] = json!(version);
                (200, object.clone())
            }
            _ => (
                405,
                status_body(405, "MethodNotAllowed", "not served by the fake"),
            ),
        }
    }
}

/// True for the cluster-wide list paths the controller's watchers use.
fn is_collection(path: &str) -> bool {
    ["/certificaterequests", "/privatecas", "/clusterprivatecas"]
        .iter()
        .any(|suffix| path.ends_with(suffix))
}

type Shared = Arc<Mutex<FakeState>>;

fn spawn_server(state: Shared) -> kube::Client {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let method = request.method().to_string();
            let path = request.uri().path().to_string();
            if request
                .uri()
                .query()
                .is_some_and(|query| query.contains("watch="))
            {
                // A watch that stays open without events until the test ends.
                state
                    .lock()
                    .expect("fake state lock")
                    .calls
                    .push(format!("WATCH {path}"));
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    drop(send);
                });
                continue;
            }
            let body = request
                .into_body()
                .collect_bytes()
                .await
                .expect("request body is readable");
            let (code, value) = state
                .lock()
                .expect("fake state lock")
                .handle(&method, &path, &body);
            let response = Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from(
                    serde_json::to_vec(&value).expect("JSON encodes"),
                ))
                .expect("response builds");
            send.send_response(response);
        }
    });
    kube::Client::new(service, "default")
}

fn secret_path(namespace: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/secrets/{name}")
}

fn request_path(namespace: &str, name: &str) -> String {
    format!("/apis/cert-manager.io/v1/namespaces/{namespace}/certificaterequests/{name}")
}

// ---------------------------------------------------------------------------
// openssl and rcgen helpers

fn openssl(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("openssl wrote the file")
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("temp file writes");
    path
}

/// `-newkey` arguments for a key spec such as `ec:P-256` or `rsa:2048`.
fn newkey_args(spec: &str) -> Vec<String> {
    match spec.split_once(':') {
        Some(("ec", curve)) => vec![
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            format!("ec_paramgen_curve:{curve}"),
        ],
        _ => vec!["-newkey".into(), spec.into()],
    }
}

/// CA material in the layout of a CA Secret.
struct CaFiles {
    certificate: String,
    key: String,
    root: String,
    chain: Option<String>,
}

/// Makes a self-signed root CA with openssl, valid for `days` from now.
fn openssl_root(dir: &Path, prefix: &str, key: &str, days: u32) -> CaFiles {
    let key_file = format!("{prefix}.key");
    let cert_file = format!("{prefix}.crt");
    let days = days.to_string();
    let mut args: Vec<String> = vec!["req".into(), "-x509".into(), "-new".into()];
    args.extend(newkey_args(key));
    args.extend(
        [
            "-nodes",
            "-keyout",
            &key_file,
            "-out",
            &cert_file,
            "-days",
            &days,
            "-subj",
            "/CN=Test Root CA/O=privateca-issuer tests",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,digitalSignature,keyCertSign,cRLSign",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(dir, &args);
    let certificate = read(dir, &cert_file);
    CaFiles {
        root: certificate.clone(),
        certificate,
        key: read(dir, &key_file),
        chain: None,
    }
}

/// Makes a subordinate CA with pathLen 0 signed by `root`, with openssl.
fn openssl_subordinate(dir: &Path, root_prefix: &str) -> CaFiles {
    let mut args: Vec<String> = vec!["req".into(), "-new".into()];
    args.extend(newkey_args("ec:P-256"));
    args.extend(
        [
            "-nodes",
            "-keyout",
            "sub.key",
            "-out",
            "sub.csr",
            "-subj",
            "/CN=Test Subordinate CA",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(dir, &args);
    write(
        dir,
        "sub.ext",
        "basicConstraints=critical,CA:TRUE,pathlen:0\n\
         keyUsage=critical,digitalSignature,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    );
    let root_cert = format!("{root_prefix}.crt");
    let root_key = format!("{root_prefix}.key");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "sub.csr",
            "-CA",
            &root_cert,
            "-CAkey",
            &root_key,
            "-CAcreateserial",
            "-days",
            "365",
            "-extfile",
            "sub.ext",
            "-out",
            "sub.crt",
        ],
    );
    let root = read(dir, &root_cert);
    CaFiles {
        certificate: read(dir, "sub.crt"),
        key: read(dir, "sub.key"),
        chain: Some(root.clone()),
        root,
    }
}

/// Makes a PEM CSR with openssl. `subject` is an openssl `-subj` value (`/` for
/// none) and `san` an optional subjectAltName value such as `DNS:a.example`.
fn openssl_csr(dir: &Path, key: &str, subject: &str, san: Option<&str>) -> String {
    let mut args: Vec<String> = vec!["req".into(), "-new".into()];
    args.extend(newkey_args(key));
    args.extend(
        [
            "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", subject,
        ]
        .map(String::from),
    );
    if let Some(san) = san {
        args.push("-addext".into());
        args.push(format!("subjectAltName={san}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(dir, &args);
    read(dir, "leaf.csr")
}

/// Makes a PEM CSR with rcgen, with CN `web` and the DNS SAN `web.apps.svc`.
fn rcgen_csr() -> String {
    let key = rcgen::KeyPair::generate().expect("rcgen generates a key");
    let mut params =
        rcgen::CertificateParams::new(vec!["web.apps.svc".to_string()]).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "web");
    params
        .serialize_request(&key)
        .expect("CSR signs")
        .pem()
        .expect("CSR encodes")
}

/// DER blocks of every PEM entry in `pem`.
fn pem_blocks(pem: &str) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .map(|entry| entry.expect("valid PEM").contents)
        .collect()
}

fn parse_certificate(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der)
        .expect("certificate parses")
        .1
}

/// Returns the subjectAltName value (GeneralNames DER) and criticality of a certificate.
fn certificate_san(certificate: &X509Certificate<'_>) -> (Vec<u8>, bool) {
    let extension = certificate
        .extensions()
        .iter()
        .find(|extension| extension.oid == x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME)
        .expect("certificate has a subjectAltName");
    (extension.value.to_vec(), extension.critical)
}

/// Returns the subjectAltName value (GeneralNames DER) requested in a PEM CSR.
fn csr_san(csr_pem: &str) -> Vec<u8> {
    let der = pem_blocks(csr_pem).remove(0);
    let (_, csr) = X509CertificationRequest::from_der(&der).expect("CSR parses");
    for attribute in csr.certification_request_info.iter_attributes() {
        if let ParsedCriAttribute::ExtensionRequest(request) = attribute.parsed_attribute() {
            for extension in &request.extensions {
                if extension.oid == x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME {
                    return extension.value.to_vec();
                }
            }
        }
    }
    panic!("CSR requests no subjectAltName");
}

fn extended_key_usages(certificate: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(eku)) = certificate.extended_key_usage() else {
        return Vec::new();
    };
    let eku = eku.value;
    let mut names = Vec::new();
    if eku.server_auth {
        names.push("serverAuth".to_string());
    }
    if eku.client_auth {
        names.push("clientAuth".to_string());
    }
    if eku.code_signing {
        names.push("codeSigning".to_string());
    }
    if eku.ocsp_signing {
        names.push("OCSPSigning".to_string());
    }
    names
}

/// Runs `openssl verify` of `leaf` against `root`, with `intermediates` untrusted.
fn openssl_verify(dir: &Path, root: &str, intermediates: &[&str], leaf: &str) {
    let root = write(dir, "verify-root.pem", root);
    let leaf = write(dir, "verify-leaf.pem", leaf);
    let mut args = vec![
        "verify".to_string(),
        "-CAfile".to_string(),
        root.display().to_string(),
    ];
    if !intermediates.is_empty() {
        let untrusted = write(dir, "verify-untrusted.pem", &intermediates.concat());
        args.push("-untrusted".to_string());
        args.push(untrusted.display().to_string());
    }
    args.push(leaf.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = openssl(dir, &args);
    assert!(output.contains(": OK"), "openssl verify: {output}");
}

fn to_pem(der: &[u8]) -> String {
    use std::fmt::Write;
    let encoded = base64_encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        let _ = writeln!(pem, "{}", String::from_utf8_lossy(line));
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(char::from(ALPHABET[(n >> 18) as usize & 63]));
        out.push(char::from(ALPHABET[(n >> 12) as usize & 63]));
        out.push(if chunk.len() > 1 {
            char::from(ALPHABET[(n >> 6) as usize & 63])
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            char::from(ALPHABET[n as usize & 63])
        } else {
            '='
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Test environment

struct Env {
    fake: Shared,
    state: Arc<State>,
    dir: TempDir,
    ca: CaFiles,
    now: OffsetDateTime,
    private_writer: Writer<PrivateCA>,
    _cluster_writer: Writer<ClusterPrivateCA>,
}

struct EnvOptions {
    ca_key: &'static str,
    ca_days: u32,
    subordinate: bool,
    ca_spec: &'static str,
    namespace: String,
    private_ca: bool,
    cluster_ca: bool,
    ca_secret: bool,
}

impl Default for EnvOptions {
    fn default() -> Self {
        EnvOptions {
            ca_key: "ec:P-256",
            ca_days: 3650,
            subordinate: false,
            ca_spec: "",
            namespace: NAMESPACE.to_string(),
            private_ca: true,
            cluster_ca: false,
            ca_secret: true,
        }
    }
}

fn ca_object_yaml(kind: &str, namespace: Option<&str>, name: &str, extra_spec: &str) -> String {
    let namespace = namespace
        .map(|namespace| format!("  namespace: {namespace}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: privateca.issuer.dev/v1alpha1\n\
         kind: {kind}\n\
         metadata:\n  name: {name}\n{namespace}  uid: 0a0a0a0a-0000-4000-8000-00000000000{}\n  generation: 1\n\
         spec:\n  subject:\n    commonName: Test CA\n{extra_spec}\n\
         status:\n  state: Active\n  observedGeneration: 1\n",
        if kind == "PrivateCA" { 1 } else { 2 }
    )
}

fn ca_secret_value(namespace: &str, name: &str, ca: &CaFiles) -> Value {
    let mut data = BTreeMap::from([
        (
            "tls.crt".to_string(),
            ByteString(ca.certificate.clone().into_bytes()),
        ),
        (
            "tls.key".to_string(),
            ByteString(ca.key.clone().into_bytes()),
        ),
        (
            "ca.crt".to_string(),
            ByteString(ca.root.clone().into_bytes()),
        ),
    ]);
    if let Some(chain) = &ca.chain {
        data.insert(
            "chain.crt".to_string(),
            ByteString(chain.clone().into_bytes()),
        );
    }
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            uid: Some(format!("secret-{name}")),
            resource_version: Some("7".to_string()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    };
    serde_json::to_value(secret).expect("Secret encodes")
}

impl Env {
    fn new(options: EnvOptions) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = openssl_root(dir.path(), "root", options.ca_key, options.ca_days);
        let ca = if options.subordinate {
            openssl_subordinate(dir.path(), "root")
        } else {
            root
        };
        let fake: Shared = Arc::default();
        if options.ca_secret {
            let value = ca_secret_value(&options.namespace, "main-ca", &ca);
            fake.lock()
                .expect("fake state lock")
                .objects
                .insert(secret_path(&options.namespace, "main-ca"), value);
        }
        let client = spawn_server(fake.clone());
        let now = OffsetDateTime::now_utc();
        let ctx = Context {
            client,
            metrics: Metrics::new().expect("metrics register"),
            clock: Arc::new(FixedClock(now)),
            cluster_resource_namespace: CLUSTER_NAMESPACE.to_string(),
            reporter: Reporter {
                controller: "privateca-issuer".to_string(),
                instance: Some("privateca-issuer-0".to_string()),
            },
        };

        let (private_cas, mut private_writer) = reflector::store::<PrivateCA>();
        let (cluster_cas, mut cluster_writer) = reflector::store::<ClusterPrivateCA>();
        private_writer.apply_watcher_event(&watcher::Event::Init);
        cluster_writer.apply_watcher_event(&watcher::Event::Init);
        if options.private_ca {
            let yaml = ca_object_yaml(
                "PrivateCA",
                Some(&options.namespace),
                "main",
                options.ca_spec,
            );
            let ca_object: PrivateCA = serde_yaml::from_str(&yaml).expect("PrivateCA parses");
            private_writer.apply_watcher_event(&watcher::Event::InitApply(ca_object));
        }
        if options.cluster_ca {
            let yaml = ca_object_yaml("ClusterPrivateCA", None, "shared", options.ca_spec);
            let ca_object: ClusterPrivateCA =
                serde_yaml::from_str(&yaml).expect("ClusterPrivateCA parses");
            cluster_writer.apply_watcher_event(&watcher::Event::InitApply(ca_object));
        }
        private_writer.apply_watcher_event(&watcher::Event::InitDone);
        cluster_writer.apply_watcher_event(&watcher::Event::InitDone);

        Env {
            fake,
            state: Arc::new(State::new(Arc::new(ctx), private_cas, cluster_cas)),
            dir,
            ca,
            now,
            private_writer,
            _cluster_writer: cluster_writer,
        }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stores an approved request for PrivateCA `main` and returns it.
    fn request(
        &self,
        name: &str,
        csr: &str,
        edit: impl FnOnce(&mut CertificateRequest),
    ) -> CertificateRequest {
        self.request_in(NAMESPACE, name, csr, edit)
    }

    fn request_in(
        &self,
        namespace: &str,
        name: &str,
        csr: &str,
        edit: impl FnOnce(&mut CertificateRequest),
    ) -> CertificateRequest {
        let yaml = format!(
            r#"
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata:
  name: {name}
  namespace: {namespace}
  uid: {UID}
  generation: 1
  resourceVersion: "1"
spec:
  request: ""
  issuerRef:
    group: privateca.issuer.dev
    kind: PrivateCA
    name: main
status:
  conditions:
  - type: Approved
    status: "True"
    reason: cert-manager.io
    message: Certificate request has been approved by cert-manager.io
"#
        );
        let mut request: CertificateRequest = serde_yaml::from_str(&yaml).expect("request parses");
        request.spec.request = ByteString(csr.as_bytes().to_vec());
        edit(&mut request);
        self.fake.lock().expect("fake state lock").objects.insert(
            request_path(namespace, name),
            serde_json::to_value(&request).expect("request encodes"),
        );
        request
    }

    /// Returns the request as stored in the fake API server.
    fn stored(&self, namespace: &str, name: &str) -> CertificateRequest {
        let value = self
            .fake
            .lock()
            .expect("fake state lock")
            .objects
            .get(&request_path(namespace, name))
            .cloned()
            .expect("request is stored");
        serde_json::from_value(value).expect("stored request decodes")
    }

    fn calls(&self) -> Vec<String> {
        self.fake.lock().expect("fake state lock").calls.clone()
    }

    /// Calls other than Event creation.
    fn writes_and_reads(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|call| !call.contains("/events"))
            .collect()
    }

    fn events(&self) -> Vec<Value> {
        self.fake.lock().expect("fake state lock").events.clone()
    }

    fn record(&self, namespace: &str) -> Option<Secret> {
        let value = self
            .fake
            .lock()
            .expect("fake state lock")
            .objects
            .get(&secret_path(namespace, &record::record_name(UID)))
            .cloned()?;
        Some(serde_json::from_value(value).expect("record decodes"))
    }

    fn issued_count(&self) -> u64 {
        self.state
            .ctx
            .metrics
            .certificates_issued
            .with_label_values(&["PrivateCA", NAMESPACE, "main", "EndEntityCertificate/V1"])
            .get()
    }

    async fn reconcile(&self, request: CertificateRequest) -> Result<Action, Error> {
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            reconcile(Arc::new(request), self.state.clone()),
        )
        .await
        .expect("reconcile finished within 1 s")
    }

    /// Reconciles and returns the stored request, which must be Ready with a certificate.
    async fn issue(&self, request: CertificateRequest) -> Issued {
        let namespace = request.metadata.namespace.clone().unwrap_or_default();
        let name = request.metadata.name.clone().unwrap_or_default();
        let action = self.reconcile(request).await.expect("reconcile succeeds");
        assert_eq!(action, Action::await_change());
        let stored = self.stored(&namespace, &name);
        let ready = ready(&stored);
        assert_eq!(ready.status, "True", "Ready: {ready:?}");
        assert_eq!(ready.reason.as_deref(), Some("Issued"));
        let status = stored.status.clone().expect("status is set");
        let chain =
            String::from_utf8(status.certificate.expect("certificate").0).expect("UTF-8 chain");
        let root = String::from_utf8(status.ca.expect("ca").0).expect("UTF-8 root");
        Issued { chain, root }
    }
}

struct Issued {
    chain: String,
    root: String,
}

impl Issued {
    fn leaf_der(&self) -> Vec<u8> {
        pem_blocks(&self.chain).remove(0)
    }
}

fn ready(request: &CertificateRequest) -> privateca_issuer::api::CertificateRequestCondition {
    request
        .status
        .as_ref()
        .and_then(|status| status.conditions.iter().find(|c| c.type_ == "Ready"))
        .cloned()
        .expect("Ready condition is set")
}

fn event_reasons(env: &Env) -> Vec<String> {
    env.events()
        .iter()
        .map(|event| event["reason"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn event_note(env: &Env, reason: &str) -> String {
    env.events()
        .iter()
        .find(|event| event["reason"] == reason)
        .and_then(|event| event["note"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no {reason} Event in {:?}", env.events()))
}

fn ca_secret_call() -> String {
    format!("GET {}", secret_path(NAMESPACE, "main-ca"))
}

fn record_get_call() -> String {
    format!("GET {}", secret_path(NAMESPACE, &record::record_name(UID)))
}

fn record_create_call() -> String {
    format!("POST /api/v1/namespaces/{NAMESPACE}/secrets")
}

fn status_patch_call(name: &str) -> String {
    format!("PATCH {}/status", request_path(NAMESPACE, name))
}

// ---------------------------------------------------------------------------
// Write sequences

#[tokio::test]
async fn sequence_creates_record_then_patches_status() {
    let env = Env::new(EnvOptions::default());
    let csr = rcgen_csr();
    let request = env.request("web", &csr, |_| {});
    env.issue(request).await;
    assert_eq!(
        env.writes_and_reads(),
        vec![
            ca_secret_call(),
            record_get_call(),
            record_create_call(),
            status_patch_call("web")
        ]
    );
    let record = env.record(NAMESPACE).expect("record created");
    let stored = env.stored(NAMESPACE, "web");
    let parsed = IssuanceRecord::from_secret(&record).expect("complete record");
    let certificate = stored
        .status
        .and_then(|s| s.certificate)
        .expect("certificate");
    assert_eq!(parsed.chain_pem.as_bytes(), certificate.0.as_slice());
    assert_eq!(parsed.csr_sha256, record::sha256_hex(csr.as_bytes()));
    assert_eq!(env.issued_count(), 1);
    assert_eq!(event_reasons(&env), vec!["CertificateIssued"]);
}

fn their_record(request: &CertificateRequest, csr: &str) -> Value {
    let record = IssuanceRecord {
        chain_pem: "-----BEGIN CERTIFICATE-----\nVEhFSVJT\n-----END CERTIFICATE-----\n".to_string(),
        root_pem: "-----BEGIN CERTIFICATE-----\nUk9PVA==\n-----END CERTIFICATE-----\n".to_string(),
        serial: "7e57".to_string(),
        template: "EndEntityCertificate/V1".to_string(),
        ca: "PrivateCA/apps/main".to_string(),
        csr_sha256: record::sha256_hex(csr.as_bytes()),
        not_after: "2030-01-01T00:00:00Z".to_string(),
        requested_not_after: None,
        cap_reason: None,
    };
    serde_json::to_value(record.to_secret(request).expect("record builds")).expect("encodes")
}

#[tokio::test]
async fn sequence_already_exists_uses_their_record() {
    let env = Env::new(EnvOptions::default());
    let csr = rcgen_csr();
    let request = env.request("web", &csr, |_| {});
    env.fake.lock().expect("lock").forced.push_back(Forced {
        method: "POST",
        path: format!("/api/v1/namespaces/{NAMESPACE}/secrets"),
        code: 409,
        reason: "AlreadyExists",
        insert: Some((
            secret_path(NAMESPACE, &record::record_name(UID)),
            their_record(&request, &csr),
        )),
    });
    let issued = env.issue(request).await;
    assert_eq!(
        env.writes_and_reads(),
        vec![
            ca_secret_call(),
            record_get_call(),
            record_create_call(),
            record_get_call(),
            status_patch_call("web")
        ]
    );
    assert!(issued.chain.contains("VEhFSVJT"), "{}", issued.chain);
    assert_eq!(env.issued_count(), 0);
}

#[tokio::test]
async fn sequence_status_conflict_reuses_record() {
    let env = Env::new(EnvOptions::default());
    let csr = rcgen_csr();
    let request = env.request("web", &csr, |_| {});
    env.fake.lock().expect("lock").forced.push_back(Forced {
        method: "PATCH",
        path: format!("{}/status", request_path(NAMESPACE, "web")),
        code: 409,
        reason: "Conflict",
        insert: None,
    });
    let action = env.reconcile(request).await.expect("conflict is handled");
    assert!(action != Action::await_change(), "a conflict is retried");
    let pending = env.stored(NAMESPACE, "web");
    assert_eq!(ready(&pending).reason.as_deref(), Some("Pending"));
    let first_serial = IssuanceRecord::from_secret(&env.record(NAMESPACE).expect("record"))
        .expect("record parses")
        .serial;

    let issued = env.issue(pending).await;
    let creates = env
        .calls()
        .iter()
        .filter(|call| **call == record_create_call())
        .count();
    assert_eq!(creates, 1, "one certificate per request UID");
    let leaf = issued.leaf_der();
    let certificate = parse_certificate(&leaf);
    // The DER serial has a leading zero byte when its top bit is set.
    let serial = certificate.raw_serial_as_string().replace(':', "");
    let serial = serial.strip_prefix("00").unwrap_or(&serial);
    assert_eq!(serial, first_serial);
}

#[tokio::test]
async fn sequence_denied_marks_ready_false() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        if let Some(status) = request.status.as_mut() {
            status.conditions[0].type_ = "Denied".to_string();
            status.conditions[0].reason = Some("policy.example".to_string());
        }
    });
    let action = env.reconcile(request).await.expect("denial handled");
    assert_eq!(action, Action::await_change());
    assert_eq!(env.writes_and_reads(), vec![status_patch_call("web")]);
    let stored = env.stored(NAMESPACE, "web");
    let ready = ready(&stored);
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("Denied"));
    assert!(
        stored
            .status
            .as_ref()
            .and_then(|s| s.failure_time.as_ref())
            .is_some()
    );
    assert_eq!(event_reasons(&env), vec!["CertificateRequestDenied"]);
    assert!(env.record(NAMESPACE).is_none(), "nothing signed");
}

#[tokio::test]
async fn sequence_foreign_group_makes_no_call() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.issuer_ref.group = Some("cert-manager.io".to_string());
        request.spec.issuer_ref.kind = Some("Issuer".to_string());
    });
    let before = serde_json::to_value(env.stored(NAMESPACE, "web")).expect("encodes");
    let action = env.reconcile(request).await.expect("ignored");
    assert_eq!(action, Action::await_change());
    assert!(env.calls().is_empty(), "calls: {:?}", env.calls());
    assert_eq!(
        serde_json::to_value(env.stored(NAMESPACE, "web")).expect("encodes"),
        before
    );
}

#[tokio::test]
async fn sequence_existing_record_reused_without_signing() {
    let env = Env::new(EnvOptions::default());
    let csr = rcgen_csr();
    let request = env.request("web", &csr, |_| {});
    env.fake.lock().expect("lock").objects.insert(
        secret_path(NAMESPACE, &record::record_name(UID)),
        their_record(&request, &csr),
    );
    let issued = env.issue(request).await;
    assert_eq!(
        env.writes_and_reads(),
        vec![
            ca_secret_call(),
            record_get_call(),
            status_patch_call("web")
        ]
    );
    assert!(issued.chain.contains("VEhFSVJT"));
    assert_eq!(env.issued_count(), 0);
}

#[tokio::test]
async fn sequence_record_for_other_csr_fails() {
    let env = Env::new(EnvOptions::default());
    let csr = rcgen_csr();
    let request = env.request("web", &csr, |_| {});
    env.fake.lock().expect("lock").objects.insert(
        secret_path(NAMESPACE, &record::record_name(UID)),
        their_record(&request, "a different CSR"),
    );
    let action = env.reconcile(request).await.expect("handled");
    assert_eq!(action, Action::await_change());
    let stored = env.stored(NAMESPACE, "web");
    let ready = ready(&stored);
    assert_eq!(ready.reason.as_deref(), Some("Failed"));
    assert!(
        ready
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("SHA-256")
    );
    assert!(stored.status.and_then(|s| s.certificate).is_none());
}

// ---------------------------------------------------------------------------
// Controller cases

#[tokio::test]
async fn csr_without_subject_gets_critical_san() {
    let env = Env::new(EnvOptions::default());
    let csr = openssl_csr(env.dir(), "ec:P-256", "/", Some("DNS:app.example.internal"));
    let issued = env.issue(env.request("web", &csr, |_| {})).await;
    let leaf = issued.leaf_der();
    let certificate = parse_certificate(&leaf);
    assert_eq!(certificate.subject().iter().count(), 0, "subject is empty");
    let (san, critical) = certificate_san(&certificate);
    assert!(critical, "SAN is critical when the subject is empty");
    assert_eq!(san, csr_san(&csr));
    let names = certificate
        .subject_alternative_name()
        .expect("SAN parses")
        .expect("SAN present")
        .value
        .general_names
        .clone();
    assert!(matches!(
        names.as_slice(),
        [GeneralName::DNSName("app.example.internal")]
    ));
    openssl_verify(env.dir(), &issued.root, &[], &issued.chain);
}

#[tokio::test]
async fn csr_with_only_ip_san() {
    let env = Env::new(EnvOptions::default());
    let csr = openssl_csr(env.dir(), "ec:P-256", "/", Some("IP:10.0.0.1"));
    let issued = env.issue(env.request("web", &csr, |_| {})).await;
    let leaf = issued.leaf_der();
    let certificate = parse_certificate(&leaf);
    let (san, critical) = certificate_san(&certificate);
    assert!(critical);
    assert_eq!(san, csr_san(&csr));
    openssl_verify(env.dir(), &issued.root, &[], &issued.chain);
}

#[tokio::test]
async fn csr_with_only_uri_san() {
    let env = Env::new(EnvOptions::default());
    let csr = openssl_csr(
        env.dir(),
        "ec:P-256",
        "/",
        Some("URI:spiffe://cluster.local/ns/sandbox/sa/foo"),
    );
    let issued = env.issue(env.request("web", &csr, |_| {})).await;
    let leaf = issued.leaf_der();
    let certificate = parse_certificate(&leaf);
    let (san, critical) = certificate_san(&certificate);
    assert!(critical);
    assert_eq!(san, csr_san(&csr));
}

#[tokio::test]
async fn usages_server_auth_only() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.usages = Some(vec!["server auth".to_string()]);
    });
    let issued = env.issue(request).await;
    let leaf = issued.leaf_der();
    assert_eq!(
        extended_key_usages(&parse_certificate(&leaf)),
        vec!["serverAuth"]
    );
    assert!(event_note(&env, "CertificateIssued").contains("EndEntityServerAuthCertificate/V1"));
}

/// Lists the extensions of a certificate except the subject key identifier, which differs per key.
fn extension_set(der: &[u8]) -> Vec<(String, bool, Vec<u8>)> {
    let certificate = parse_certificate(der);
    certificate
        .extensions()
        .iter()
        .filter(|e| e.oid != x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER)
        .map(|e| (e.oid.to_id_string(), e.critical, e.value.to_vec()))
        .collect()
}

#[tokio::test]
async fn usages_order_does_not_matter() {
    let env = Env::new(EnvOptions::default());
    let csr = rcgen_csr();
    let first = env.request("first", &csr, |request| {
        request.spec.usages = Some(vec!["client auth".to_string(), "server auth".to_string()]);
        request.metadata.uid = Some("11111111-1111-4111-8111-111111111111".to_string());
    });
    let second = env.request("second", &csr, |request| {
        request.spec.usages = Some(vec!["server auth".to_string(), "client auth".to_string()]);
        request.metadata.uid = Some("22222222-2222-4222-8222-222222222222".to_string());
    });
    let first = env.issue(first).await;
    let second = env.issue(second).await;
    let first_leaf = first.leaf_der();
    let second_leaf = second.leaf_der();
    assert_eq!(extension_set(&first_leaf), extension_set(&second_leaf));
    assert_eq!(
        extended_key_usages(&parse_certificate(&first_leaf)),
        vec!["serverAuth", "clientAuth"]
    );
}

#[tokio::test]
async fn usages_with_key_usages_pick_server_auth() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.usages = Some(
            ["digital signature", "key encipherment", "server auth"]
                .map(String::from)
                .to_vec(),
        );
    });
    let issued = env.issue(request).await;
    let leaf = issued.leaf_der();
    assert_eq!(
        extended_key_usages(&parse_certificate(&leaf)),
        vec!["serverAuth"]
    );
    let note = event_note(&env, "CertificateIssued");
    assert!(note.contains("EndEntityServerAuthCertificate/V1"), "{note}");
}

#[tokio::test]
async fn rsa_ca_signs_p384_csr() {
    let env = Env::new(EnvOptions {
        ca_key: "rsa:2048",
        ca_spec: "  keyAlgorithm: RSA_2048",
        ..EnvOptions::default()
    });
    let csr = openssl_csr(
        env.dir(),
        "ec:P-384",
        "/CN=p384.example",
        Some("DNS:p384.example"),
    );
    let issued = env.issue(env.request("web", &csr, |_| {})).await;
    let leaf = issued.leaf_der();
    let certificate = parse_certificate(&leaf);
    assert_eq!(
        certificate.signature_algorithm.algorithm,
        x509_parser::oid_registry::OID_PKCS1_SHA256WITHRSA
    );
    openssl_verify(env.dir(), &issued.root, &[], &issued.chain);
}

fn lifetime(issued: &Issued) -> i64 {
    let leaf = issued.leaf_der();
    let certificate = parse_certificate(&leaf);
    certificate.validity().not_after.timestamp() - certificate.validity().not_before.timestamp()
}

#[tokio::test]
async fn duration_one_hour_is_exact() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.duration = Some("1h".to_string());
    });
    let issued = env.issue(request).await;
    assert_eq!(lifetime(&issued), 3600);
}

#[tokio::test]
async fn duration_default_and_2160h_are_exact() {
    let env = Env::new(EnvOptions::default());
    let csr = rcgen_csr();
    let explicit = env.request("explicit", &csr, |request| {
        request.spec.duration = Some("2160h".to_string());
        request.metadata.uid = Some("11111111-1111-4111-8111-111111111111".to_string());
    });
    let default = env.request("default", &csr, |request| {
        request.metadata.uid = Some("22222222-2222-4222-8222-222222222222".to_string());
    });
    assert_eq!(lifetime(&env.issue(explicit).await), 2160 * 3600);
    assert_eq!(lifetime(&env.issue(default).await), 2160 * 3600);
}

#[tokio::test]
async fn ca_secret_appearing_later_issues() {
    let env = Env::new(EnvOptions {
        ca_secret: false,
        ..EnvOptions::default()
    });
    let request = env.request("web", &rcgen_csr(), |_| {});
    let action = env.reconcile(request).await.expect("pending is handled");
    assert!(action != Action::await_change(), "pending is retried");
    let pending = env.stored(NAMESPACE, "web");
    let condition = ready(&pending);
    assert_eq!(condition.reason.as_deref(), Some("Pending"));
    assert!(
        condition
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("main-ca")
    );

    // A second retry with the same message does not write again.
    let writes_before = env.calls().len();
    env.reconcile(pending.clone()).await.expect("still pending");
    assert_eq!(
        env.calls().len(),
        writes_before + 1,
        "only the Secret GET, no status write"
    );

    let secret = ca_secret_value(NAMESPACE, "main-ca", &env.ca);
    env.fake
        .lock()
        .expect("lock")
        .objects
        .insert(secret_path(NAMESPACE, "main-ca"), secret);
    let issued = env.issue(pending).await;
    openssl_verify(env.dir(), &issued.root, &[], &issued.chain);
}

#[tokio::test]
async fn private_ca_never_falls_back_to_cluster_ca() {
    let env = Env::new(EnvOptions {
        private_ca: false,
        cluster_ca: true,
        ..EnvOptions::default()
    });
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.issuer_ref.name = "shared".to_string();
    });
    let action = env.reconcile(request).await.expect("pending is handled");
    assert!(action != Action::await_change());
    let stored = env.stored(NAMESPACE, "web");
    let condition = ready(&stored);
    assert_eq!(condition.reason.as_deref(), Some("Pending"));
    assert_eq!(
        condition.message.as_deref(),
        Some(
            "PrivateCA apps/shared not found in the request's namespace; create it or fix issuerRef"
        )
    );
    assert_eq!(env.writes_and_reads(), vec![status_patch_call("web")]);
}

#[tokio::test]
async fn empty_group_is_untouched() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.issuer_ref.group = None;
        request.spec.issuer_ref.kind = Some("PrivateCA".to_string());
    });
    let before = serde_json::to_value(env.stored(NAMESPACE, "web")).expect("encodes");
    let levels = LevelLog::default();
    let subscriber = tracing_subscriber::registry().with(levels.clone());
    let action = {
        let _guard = tracing::subscriber::set_default(subscriber);
        env.reconcile(request).await.expect("ignored")
    };
    assert_eq!(action, Action::await_change());
    assert!(env.calls().is_empty());
    assert_eq!(
        serde_json::to_value(env.stored(NAMESPACE, "web")).expect("encodes"),
        before
    );
    let levels = levels.0.lock().expect("lock").clone();
    assert!(!levels.is_empty(), "the decision is logged at debug");
    assert!(
        levels.iter().all(|level| *level >= tracing::Level::DEBUG),
        "{levels:?}"
    );
}

/// Levels of every event logged while it is the subscriber's layer.
#[derive(Clone, Default)]
struct LevelLog(Arc<Mutex<Vec<tracing::Level>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LevelLog {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        self.0.lock().expect("lock").push(*event.metadata().level());
    }
}

#[tokio::test]
async fn denied_without_approval_is_denied() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        if let Some(status) = request.status.as_mut() {
            status.conditions = vec![privateca_issuer::api::CertificateRequestCondition {
                type_: "Denied".to_string(),
                status: "True".to_string(),
                reason: Some("policy.example".to_string()),
                ..Default::default()
            }];
        }
    });
    env.reconcile(request).await.expect("denial handled");
    let stored = env.stored(NAMESPACE, "web");
    let condition = ready(&stored);
    assert_eq!(condition.status, "False");
    assert_eq!(condition.reason.as_deref(), Some("Denied"));
    let status = stored.status.expect("status");
    assert!(status.failure_time.is_some());
    assert!(status.certificate.is_none());
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Denied" && c.status == "True")
    );
}

#[tokio::test]
async fn request_deleted_mid_reconcile_is_ignored() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |_| {});
    env.fake
        .lock()
        .expect("lock")
        .objects
        .remove(&request_path(NAMESPACE, "web"));
    let action = env.reconcile(request).await.expect("NotFound is ignored");
    assert_eq!(action, Action::await_change());
    let record = env
        .record(NAMESPACE)
        .expect("record was created before the status write");
    let owners = record.metadata.owner_references.expect("owner references");
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].kind, "CertificateRequest");
    assert_eq!(owners[0].name, "web");
    assert_eq!(owners[0].uid, UID);
    assert_eq!(owners[0].controller, Some(false));
    assert_eq!(owners[0].block_owner_deletion, Some(false));
}

#[tokio::test]
async fn ca_expiring_caps_not_after() {
    let env = Env::new(EnvOptions {
        ca_days: 30,
        ..EnvOptions::default()
    });
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.duration = Some("8760h".to_string());
    });
    let issued = env.issue(request).await;
    let ca_der = pem_blocks(&env.ca.certificate).remove(0);
    let ca_not_after = parse_certificate(&ca_der).validity().not_after.timestamp();
    let leaf = issued.leaf_der();
    assert_eq!(
        parse_certificate(&leaf).validity().not_after.timestamp(),
        ca_not_after
    );
    let note = event_note(&env, "CertificateLifetimeCapped");
    let ca_time =
        record::rfc3339(OffsetDateTime::from_unix_timestamp(ca_not_after).expect("valid"));
    let ca_not_before = parse_certificate(&ca_der).validity().not_before.timestamp();
    let now = env.now.unix_timestamp();
    let not_before = (now - 60).max(ca_not_before);
    let requested = record::rfc3339(
        OffsetDateTime::from_unix_timestamp(not_before + 8760 * 3600).expect("valid"),
    );
    assert!(note.contains(&ca_time), "{note} should name {ca_time}");
    assert!(note.contains(&requested), "{note} should name {requested}");
    let warning = env
        .events()
        .into_iter()
        .find(|event| event["reason"] == "CertificateLifetimeCapped")
        .expect("Event");
    assert_eq!(warning["type"], "Warning");
}

#[tokio::test]
async fn long_names_stay_within_limits() {
    let namespace = format!("ns-{}", "n".repeat(60));
    assert_eq!(namespace.len(), 63);
    let name = format!("web-{}", "r".repeat(196));
    assert_eq!(name.len(), 200);
    let env = Env::new(EnvOptions {
        namespace: namespace.clone(),
        ..EnvOptions::default()
    });
    let request = env.request_in(&namespace, &name, &rcgen_csr(), |_| {});
    env.issue(request).await;
    let record = env.record(&namespace).expect("record");
    let record_name = record.metadata.name.expect("name");
    assert!(record_name.len() <= 253);
    for (key, value) in record.metadata.labels.expect("labels") {
        assert!(value.len() <= 63, "label {key}={value}");
    }
    for event in env.events() {
        let event_name = event["metadata"]["name"].as_str().expect("event name");
        assert!(event_name.len() <= 253, "{event_name}");
    }
}

#[tokio::test]
async fn weak_rsa_csr_fails_permanently() {
    let env = Env::new(EnvOptions::default());
    let csr = openssl_csr(
        env.dir(),
        "rsa:1024",
        "/CN=weak.example",
        Some("DNS:weak.example"),
    );
    let request = env.request("web", &csr, |_| {});
    let action = env.reconcile(request).await.expect("handled");
    assert_eq!(action, Action::await_change(), "not retried");
    let stored = env.stored(NAMESPACE, "web");
    let condition = ready(&stored);
    assert_eq!(condition.reason.as_deref(), Some("Failed"));
    assert!(
        condition
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("1024"),
        "{condition:?}"
    );
    assert!(
        stored
            .status
            .as_ref()
            .and_then(|s| s.failure_time.as_ref())
            .is_some()
    );
    let calls = env.calls().len();
    env.reconcile(stored).await.expect("skipped");
    assert_eq!(env.calls().len(), calls, "a Failed request is not retried");
}

#[tokio::test]
async fn tampered_signature_fails_permanently() {
    let env = Env::new(EnvOptions::default());
    let csr = openssl_csr(env.dir(), "ec:P-256", "/CN=tampered.example", None);
    let mut der = pem_blocks(&csr).remove(0);
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered = to_pem(&der).replace("CERTIFICATE", "CERTIFICATE REQUEST");
    let request = env.request("web", &tampered, |_| {});
    let action = env.reconcile(request).await.expect("handled");
    assert_eq!(action, Action::await_change());
    let stored = env.stored(NAMESPACE, "web");
    let condition = ready(&stored);
    assert_eq!(condition.reason.as_deref(), Some("Failed"));
    let message = condition.message.unwrap_or_default().to_lowercase();
    assert!(message.contains("signature"), "{message}");
    assert!(stored.status.and_then(|s| s.failure_time).is_some());
    assert!(event_reasons(&env).contains(&"CertificateRequestFailed".to_string()));
}

#[tokio::test]
async fn subordinate_ca_chain_excludes_root() {
    let env = Env::new(EnvOptions {
        subordinate: true,
        ca_spec: "  type: Subordinate\n  parentRef:\n    kind: PrivateCA\n    name: root",
        ..EnvOptions::default()
    });
    let issued = env.issue(env.request("web", &rcgen_csr(), |_| {})).await;
    assert!(!issued.chain.contains('\r'), "LF line endings");
    let blocks = pem_blocks(&issued.chain);
    assert_eq!(blocks.len(), 2, "leaf then subordinate");
    assert_eq!(blocks[1], pem_blocks(&env.ca.certificate)[0]);
    assert_ne!(blocks[0], blocks[1]);
    assert_eq!(pem_blocks(&issued.root), pem_blocks(&env.ca.root));
    let leaf_pem = to_pem(&blocks[0]);
    openssl_verify(env.dir(), &issued.root, &[&env.ca.certificate], &leaf_pem);
}

#[tokio::test]
async fn is_ca_without_ca_templates_fails() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.is_ca = Some(true);
    });
    let action = env.reconcile(request).await.expect("handled");
    assert_eq!(action, Action::await_change());
    let stored = env.stored(NAMESPACE, "web");
    let condition = ready(&stored);
    assert_eq!(condition.reason.as_deref(), Some("Failed"));
    assert_eq!(
        condition.message.as_deref(),
        Some(
            "CA PrivateCA apps/main does not allow issuing CA certificates; \
             add SubordinateCACertificate_PathLen0/V1 to spec.allowedTemplates"
        )
    );
}

#[tokio::test]
async fn ca_not_active_waits_then_issues() {
    let mut env = Env::new(EnvOptions::default());
    let creating: PrivateCA = serde_yaml::from_str(
        &ca_object_yaml("PrivateCA", Some(NAMESPACE), "main", "")
            .replace("state: Active", "state: Creating"),
    )
    .expect("PrivateCA parses");
    env.private_writer
        .apply_watcher_event(&watcher::Event::Apply(creating));
    let request = env.request("web", &rcgen_csr(), |_| {});
    let action = env.reconcile(request).await.expect("pending is handled");
    assert!(action != Action::await_change(), "pending is retried");
    let pending = env.stored(NAMESPACE, "web");
    let condition = ready(&pending);
    assert_eq!(condition.reason.as_deref(), Some("Pending"));
    assert!(
        condition
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("Creating"),
        "{condition:?}"
    );

    let active: PrivateCA =
        serde_yaml::from_str(&ca_object_yaml("PrivateCA", Some(NAMESPACE), "main", ""))
            .expect("PrivateCA parses");
    env.private_writer
        .apply_watcher_event(&watcher::Event::Apply(active));
    env.issue(pending).await;
}

#[tokio::test]
async fn cluster_ca_reads_secret_from_cluster_namespace() {
    let env = Env::new(EnvOptions {
        private_ca: false,
        cluster_ca: true,
        ca_secret: false,
        ..EnvOptions::default()
    });
    let secret = ca_secret_value(CLUSTER_NAMESPACE, "shared-ca", &env.ca);
    env.fake
        .lock()
        .expect("lock")
        .objects
        .insert(secret_path(CLUSTER_NAMESPACE, "shared-ca"), secret);
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.issuer_ref.kind = Some("ClusterPrivateCA".to_string());
        request.spec.issuer_ref.name = "shared".to_string();
    });
    let issued = env.issue(request).await;
    assert_eq!(
        env.writes_and_reads()[0],
        format!("GET {}", secret_path(CLUSTER_NAMESPACE, "shared-ca"))
    );
    openssl_verify(env.dir(), &issued.root, &[], &issued.chain);
}

#[tokio::test]
async fn run_returns_after_shutdown() {
    let env = Env::new(EnvOptions::default());
    let ctx = env.state.ctx.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(privateca_issuer::controller::request::run(
        ctx,
        async move {
            let _ = stopped.await;
        },
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("controller is running");
    let result = tokio::time::timeout(Duration::from_secs(5), controller)
        .await
        .expect("controller stops within 5 s of shutdown")
        .expect("controller task does not panic");
    assert!(result.is_ok(), "{result:?}");
    let calls = env.calls();
    for resource in ["certificaterequests", "privatecas", "clusterprivatecas"] {
        assert!(
            calls
                .iter()
                .any(|call| call.starts_with("GET") && call.ends_with(resource)),
            "no list of {resource} in {calls:?}"
        );
        assert!(
            calls
                .iter()
                .any(|call| call.starts_with("WATCH") && call.ends_with(resource)),
            "no watch of {resource} in {calls:?}"
        );
    }
}

#[tokio::test]
async fn run_issues_cached_request() {
    let env = Env::new(EnvOptions::default());
    let ca_object = ca_object_yaml("PrivateCA", Some(NAMESPACE), "main", "");
    let ca_value: Value = serde_yaml::from_str(&ca_object).expect("CA YAML parses");
    env.fake.lock().expect("lock").objects.insert(
        format!("/apis/privateca.issuer.dev/v1alpha1/namespaces/{NAMESPACE}/privatecas/main"),
        ca_value,
    );
    env.request("web", &rcgen_csr(), |_| {});
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(privateca_issuer::controller::request::run(
        env.state.ctx.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let issued = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let stored = env.stored(NAMESPACE, "web");
            if stored
                .status
                .as_ref()
                .is_some_and(|s| s.certificate.is_some())
            {
                return stored;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the controller issues within 5 s");
    assert_eq!(ready(&issued).reason.as_deref(), Some("Issued"));
    stop.send(()).expect("controller is running");
    let result = tokio::time::timeout(Duration::from_secs(5), controller)
        .await
        .expect("controller stops within 5 s of shutdown")
        .expect("controller task does not panic");
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn short_lived_ca_caps_at_seven_days() {
    let env = Env::new(EnvOptions {
        ca_spec: "  usageMode: ShortLivedCertificate",
        ..EnvOptions::default()
    });
    let issued = env.issue(env.request("web", &rcgen_csr(), |_| {})).await;
    assert_eq!(lifetime(&issued), 7 * 24 * 3600);
    let note = event_note(&env, "CertificateLifetimeCapped");
    assert!(note.contains("7-day"), "{note}");
}

#[tokio::test]
async fn api_error_is_pending_not_failed() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |_| {});
    env.fake.lock().expect("lock").forced.push_back(Forced {
        method: "GET",
        path: secret_path(NAMESPACE, &record::record_name(UID)),
        code: 500,
        reason: "InternalError",
        insert: None,
    });
    let action = env.reconcile(request).await.expect("handled");
    assert_eq!(action, Action::requeue(Duration::from_secs(5)));
    let stored = env.stored(NAMESPACE, "web");
    let condition = ready(&stored);
    assert_eq!(condition.status, "False");
    assert_eq!(condition.reason.as_deref(), Some("Pending"));
    assert!(stored.status.and_then(|s| s.failure_time).is_none());
    assert!(env.record(NAMESPACE).is_none(), "nothing signed yet");

    // The retry after the error signs and issues.
    let action = env.reconcile(env.stored(NAMESPACE, "web")).await;
    assert_eq!(action.expect("issued"), Action::await_change());
    assert_eq!(
        ready(&env.stored(NAMESPACE, "web")).reason.as_deref(),
        Some("Issued")
    );
}

#[tokio::test]
async fn invalid_duration_fails_naming_value() {
    let env = Env::new(EnvOptions::default());
    let request = env.request("web", &rcgen_csr(), |request| {
        request.spec.duration = Some("90d".to_string());
    });
    let action = env.reconcile(request).await.expect("handled");
    assert_eq!(action, Action::await_change());
    let stored = env.stored(NAMESPACE, "web");
    let condition = ready(&stored);
    assert_eq!(condition.reason.as_deref(), Some("Failed"));
    let message = condition.message.unwrap_or_default();
    assert!(message.contains("\"90d\""), "{message}");
    assert!(stored.status.and_then(|s| s.failure_time).is_some());
}
