//! The CA lifecycle controller: the decision function for every branch at a fixed
//! time, and the reconcile against a scripted mock API server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::runtime::events::{EventType, Reporter};
use privateca_issuer::api::{CaState, CaStatus, ClusterPrivateCA, PrivateCA};
use privateca_issuer::controller::Context;
use privateca_issuer::controller::ca::decide::{
    self, CaView, Decision, ParentInput, SecretWrite, reason,
};
use privateca_issuer::controller::ca::{self, CaContext, CaObject};
use privateca_issuer::controller::ca_secret::{self, CA_SECRET_LABEL};
use privateca_issuer::metrics::Metrics;
use privateca_issuer::pki::{
    CertificateAuthority, FixedClock, KeyAlgorithm, SigningAlgorithm, Validity, ValidityType,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use x509_parser::prelude::{FromDer, X509Certificate};

const NOW: OffsetDateTime = datetime!(2026-01-15 12:00:00 UTC);

fn clock() -> FixedClock {
    FixedClock(NOW)
}

// ---------------------------------------------------------------- fixtures

fn private_ca(yaml: &str) -> PrivateCA {
    serde_yaml::from_str(yaml).expect("test PrivateCA YAML is valid")
}

fn root_ca() -> PrivateCA {
    private_ca(
        r#"
apiVersion: privateca.issuer.dev/v1alpha1
kind: PrivateCA
metadata:
  name: root
  namespace: default
  uid: 0b7f1d2e-0000-4000-8000-000000000001
  generation: 1
spec:
  type: Root
  subject:
    commonName: Example Root
    organization: Example
"#,
    )
}

fn subordinate_ca(parent: Option<&str>) -> PrivateCA {
    let parent = parent
        .map(|name| format!("  parentRef:\n    kind: PrivateCA\n    name: {name}\n"))
        .unwrap_or_default();
    private_ca(&format!(
        r#"
apiVersion: privateca.issuer.dev/v1alpha1
kind: PrivateCA
metadata:
  name: issuing
  namespace: default
  uid: 0b7f1d2e-0000-4000-8000-000000000002
  generation: 1
spec:
  type: Subordinate
  pathLength: 0
  subject:
    commonName: Example Issuing CA
{parent}"#
    ))
}

/// The root CA with `spec.secretName: corp-root`, a Secret the user provides.
fn named_root_ca() -> PrivateCA {
    let mut ca = root_ca();
    ca.spec.secret_name = Some("corp-root".to_string());
    ca
}

fn with_status(mut ca: PrivateCA, status: &CaStatus) -> PrivateCA {
    ca.status = Some(status.clone());
    ca
}

fn decide_at(
    ca: &PrivateCA,
    secret: Option<&Secret>,
    parent: ParentInput,
    at: OffsetDateTime,
) -> Decision {
    let secret_name = ca::kind::ca_secret_name(ca);
    let view = CaView {
        kind: ca::CaKind::PrivateCA,
        name: ca.metadata.name.as_deref().unwrap_or_default(),
        generation: ca.metadata.generation,
        spec: ca.ca_spec(),
        status: ca.ca_status(),
        secret_namespace: "default",
        secret_name: &secret_name,
    };
    decide::decide(&view, secret, parent, &FixedClock(at)).expect("decide succeeds")
}

fn decide_now(ca: &PrivateCA, secret: Option<&Secret>, parent: ParentInput) -> Decision {
    decide_at(ca, secret, parent, NOW)
}

fn secret(name: &str, entries: &[(&str, &str)], labelled: bool) -> Secret {
    let data = entries
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    let mut secret = ca_secret::new_ca_secret("default", name, data);
    if !labelled {
        secret.metadata.labels = None;
    }
    secret
}

fn created(decision: &Decision) -> Secret {
    match &decision.secret {
        Some(SecretWrite::Create(secret)) => secret.as_ref().clone(),
        other => panic!("expected a Secret create, got {other:?}"),
    }
}

fn entry(secret: &Secret, key: &str) -> String {
    secret
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .map(|value| String::from_utf8_lossy(&value.0).into_owned())
        .unwrap_or_default()
}

fn set_entries(secret: &mut Secret, entries: &[(&str, &str)]) {
    let data = secret.data.get_or_insert_with(BTreeMap::new);
    for (key, value) in entries {
        data.insert(key.to_string(), ByteString(value.as_bytes().to_vec()));
    }
}

fn ready(status: &CaStatus) -> (String, String) {
    let condition = status
        .conditions
        .iter()
        .find(|condition| condition.type_ == "Ready")
        .expect("status has a Ready condition");
    (condition.status.clone(), condition.reason.clone())
}

fn event_reasons(decision: &Decision) -> Vec<&'static str> {
    decision.events.iter().map(|event| event.reason).collect()
}

/// Makes a root CA certificate and its key with rcgen, both PEM.
fn rcgen_root(common_name: &str) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let key = KeyPair::generate().expect("rcgen generates a key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("rcgen params");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let certificate = params.self_signed(&key).expect("rcgen self-signs");
    (certificate.pem(), key.serialize_pem())
}

fn rcgen_key() -> String {
    rcgen::KeyPair::generate()
        .expect("rcgen generates a key")
        .serialize_pem()
}

fn parse_pem(pem: &str) -> Vec<u8> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("PEM certificate");
    block.contents
}

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

fn write(dir: &Path, name: &str, contents: &str) {
    std::fs::write(dir.join(name), contents).expect("temp file written");
}

fn engine_root() -> CertificateAuthority {
    let subject = decide::subject_name(&root_ca().spec.subject);
    CertificateAuthority::create_root(
        &subject,
        KeyAlgorithm::EcPrime256v1,
        SigningAlgorithm::Sha256WithEcdsa,
        Validity {
            value: 10,
            kind: ValidityType::Years,
        },
        &clock(),
    )
    .expect("engine creates a root")
}

fn active_parent(authority: CertificateAuthority) -> ParentInput {
    ParentInput::Active {
        authority: Box::new(authority),
        signing_algorithm: SigningAlgorithm::Sha256WithEcdsa,
    }
}

/// Creates a root through `decide` and returns the decision and its Secret.
fn created_root() -> (Decision, Secret) {
    let decision = decide_now(&root_ca(), None, ParentInput::NotNamed);
    let secret = created(&decision);
    (decision, secret)
}

// ---------------------------------------------------------------- decide

#[test]
fn decide_root_create() {
    let (decision, secret) = created_root();
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    assert!(ca_secret::is_labelled(&secret));
    assert!(secret.metadata.owner_references.is_none());
    assert_eq!(secret.metadata.name.as_deref(), Some("root-ca"));
    let certificate_pem = entry(&secret, "tls.crt");
    assert_eq!(entry(&secret, "ca.crt"), certificate_pem);
    assert_eq!(entry(&secret, "chain.crt"), "");
    assert!(entry(&secret, "tls.key").contains("PRIVATE KEY"));

    let der = parse_pem(&certificate_pem);
    let (_, certificate) = X509Certificate::from_der(&der).expect("tls.crt parses");
    assert_eq!(certificate.subject(), certificate.issuer());
    assert!(certificate.is_ca());
    let subject = certificate.subject().to_string();
    assert!(subject.contains("CN=Example Root"), "{subject}");
    assert_eq!(
        certificate.validity().not_after.timestamp(),
        datetime!(2036-01-15 12:00:00 UTC).unix_timestamp()
    );

    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "ca.crt", &certificate_pem);
    write(dir.path(), "ca.key", &entry(&secret, "tls.key"));
    let verified = openssl(dir.path(), &["verify", "-CAfile", "ca.crt", "ca.crt"]);
    assert!(verified.contains("OK"), "{verified}");
    let from_key = openssl(dir.path(), &["pkey", "-in", "ca.key", "-pubout"]);
    let from_certificate = openssl(dir.path(), &["x509", "-in", "ca.crt", "-pubkey", "-noout"]);
    assert_eq!(from_key, from_certificate);

    let status = &decision.status;
    assert_eq!(status.state, Some(CaState::Active));
    assert_eq!(ready(status), ("True".to_string(), "Active".to_string()));
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(
        status.serial_number.as_deref(),
        Some(hex(certificate.raw_serial()).as_str())
    );
    assert_eq!(status.not_after.as_deref(), Some("2036-01-15T12:00:00Z"));
    assert!(status.csr.is_none());
    assert!(status.failure_reason.is_none());
    assert_eq!(event_reasons(&decision), vec![reason::CREATED]);
    let status_json = serde_json::to_string(status).expect("status serializes");
    assert!(!status_json.contains("PRIVATE KEY"));
    assert!(
        decision
            .events
            .iter()
            .all(|event| !event.note.contains("PRIVATE KEY"))
    );
}

fn hex(bytes: &[u8]) -> String {
    let start = bytes
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(bytes.len());
    bytes[start..]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn decide_root_repeat_is_quiet() {
    let (first, secret) = created_root();
    let ca = with_status(root_ca(), &first.status);
    let later = NOW + time::Duration::minutes(5);
    let second = decide_at(&ca, Some(&secret), ParentInput::NotNamed, later);
    assert!(second.secret.is_none());
    assert!(second.events.is_empty());
    assert_eq!(second.status, first.status);
}

#[test]
fn decide_root_from_stored_key() {
    let key = rcgen_key();
    let stored = secret("root-ca", &[("tls.key", &key)], true);
    let decision = decide_now(&root_ca(), Some(&stored), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Active));
    assert_eq!(event_reasons(&decision), vec![reason::CREATED]);
    let entries = match &decision.secret {
        Some(SecretWrite::Update(entries)) => entries.clone(),
        other => panic!("expected a Secret update, got {other:?}"),
    };
    let certificate = entries.get("tls.crt").cloned().unwrap_or_default();

    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "ca.crt", &certificate);
    write(dir.path(), "ca.key", &key);
    let from_key = openssl(dir.path(), &["pkey", "-in", "ca.key", "-pubout"]);
    let from_certificate = openssl(dir.path(), &["x509", "-in", "ca.crt", "-pubkey", "-noout"]);
    assert_eq!(from_key, from_certificate, "the stored key must be reused");
}

#[test]
fn decide_parent_self_is_invalid() {
    let mut ca = subordinate_ca(Some("issuing"));
    ca.spec.path_length = Some(1);
    let decision = decide_now(&ca, None, ParentInput::NotFound);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(ready(&decision.status).1, "InvalidParent");
}

#[test]
fn decide_import_ok() {
    let (certificate, key) = rcgen_root("Imported Root");
    let stored = secret(
        "root-ca",
        &[("tls.crt", &certificate), ("tls.key", &key)],
        false,
    );
    let decision = decide_now(&root_ca(), Some(&stored), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Active));
    assert_eq!(decision.secret, Some(SecretWrite::Label));
    assert_eq!(event_reasons(&decision), vec![reason::IMPORTED]);
    let subject = decision.status.subject.clone().unwrap_or_default();
    assert!(subject.contains("Imported Root"), "{subject}");
    assert_eq!(
        decision.status.not_after.as_deref(),
        Some("2030-01-01T00:00:00Z")
    );
}

#[test]
fn decide_import_key_mismatch() {
    let (certificate, _) = rcgen_root("Imported Root");
    let stored = secret(
        "root-ca",
        &[("tls.crt", &certificate), ("tls.key", &rcgen_key())],
        true,
    );
    let decision = decide_now(&root_ca(), Some(&stored), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(
        ready(&decision.status),
        ("False".to_string(), "KeyMismatch".to_string())
    );
    assert!(decision.status.serial_number.is_none());
    assert!(decision.status.failure_reason.is_some());
    assert!(decision.secret.is_none());
    assert_eq!(event_reasons(&decision), vec![reason::FAILED]);
    assert_eq!(decision.events[0].type_, EventType::Warning);
}

#[test]
fn decide_import_type_mismatch() {
    let (certificate, key) = rcgen_root("Imported Root");
    let stored = secret(
        "issuing-ca",
        &[("tls.crt", &certificate), ("tls.key", &key)],
        true,
    );
    let decision = decide_now(&subordinate_ca(None), Some(&stored), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(ready(&decision.status).1, "TypeMismatch");
    assert!(decision.secret.is_none());
}

#[test]
fn decide_subordinate_waits_for_parent() {
    let ca = subordinate_ca(Some("root"));
    let decision = decide_now(
        &ca,
        None,
        ParentInput::NotReady {
            detail: "it is Creating".to_string(),
        },
    );
    assert_eq!(decision.status.state, Some(CaState::Creating));
    assert_eq!(
        ready(&decision.status),
        ("False".to_string(), "WaitingForParent".to_string())
    );
    let message = &decision.status.conditions[0].message;
    assert!(message.contains("PrivateCA root"), "{message}");
    assert!(message.contains("Creating"), "{message}");
    assert!(decision.secret.is_none());
    assert_eq!(decision.requeue_after, decide::PARENT_POLL);

    let missing = decide_now(&ca, None, ParentInput::NotFound);
    let message = &missing.status.conditions[0].message;
    assert!(message.contains("not found"), "{message}");
}

#[test]
fn decide_subordinate_signed() {
    let parent = engine_root();
    let parent_pem = parent.certificate_pem();
    let decision = decide_now(&subordinate_ca(Some("root")), None, active_parent(parent));
    let stored = created(&decision);
    assert_eq!(decision.status.state, Some(CaState::Active));
    assert_eq!(event_reasons(&decision), vec![reason::SIGNED]);
    assert_eq!(entry(&stored, "chain.crt").trim(), parent_pem.trim());
    assert_eq!(entry(&stored, "ca.crt").trim(), parent_pem.trim());

    let der = parse_pem(&entry(&stored, "tls.crt"));
    let (_, certificate) = X509Certificate::from_der(&der).expect("tls.crt parses");
    let constraints = certificate
        .basic_constraints()
        .expect("basicConstraints parses")
        .expect("basicConstraints present");
    assert!(constraints.critical);
    assert!(constraints.value.ca);
    assert_eq!(constraints.value.path_len_constraint, Some(0));
    assert_eq!(
        certificate.validity().not_after.timestamp(),
        datetime!(2031-01-15 12:00:00 UTC).unix_timestamp()
    );

    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "root.crt", &entry(&stored, "ca.crt"));
    write(dir.path(), "sub.crt", &entry(&stored, "tls.crt"));
    let verified = openssl(dir.path(), &["verify", "-CAfile", "root.crt", "sub.crt"]);
    assert!(verified.contains("OK"), "{verified}");
}

#[test]
fn decide_subordinate_path_len_exceeded() {
    let signed = decide_now(
        &subordinate_ca(Some("root")),
        None,
        active_parent(engine_root()),
    );
    let parent = ca_secret::import_authority(&created(&signed)).expect("signed CA imports");
    let mut child = subordinate_ca(Some("issuing"));
    child.metadata.name = Some("deeper".to_string());
    let decision = decide_now(&child, None, active_parent(parent));
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(ready(&decision.status).1, "PathLenExceeded");
    assert!(decision.secret.is_none());
}

#[test]
fn decide_pending_csr() {
    let decision = decide_now(&subordinate_ca(None), None, ParentInput::NotNamed);
    let stored = created(&decision);
    assert_eq!(decision.status.state, Some(CaState::PendingCertificate));
    assert_eq!(
        ready(&decision.status),
        ("False".to_string(), "PendingCertificate".to_string())
    );
    assert_eq!(event_reasons(&decision), vec![reason::PENDING_CERTIFICATE]);
    let csr = decision.status.csr.clone().expect("status.csr is set");
    assert_eq!(entry(&stored, "tls.csr"), csr);
    assert_eq!(entry(&stored, "tls.crt"), "");
    assert!(decision.status.serial_number.is_none());

    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "sub.csr", &csr);
    let text = openssl(
        dir.path(),
        &["req", "-in", "sub.csr", "-verify", "-noout", "-subject"],
    );
    assert!(text.contains("Example Issuing CA"), "{text}");

    let ca = with_status(subordinate_ca(None), &decision.status);
    let again = decide_now(&ca, Some(&stored), ParentInput::NotNamed);
    assert!(again.secret.is_none());
    assert!(again.events.is_empty());
    assert_eq!(again.status.csr, decision.status.csr);
}

#[test]
fn decide_pending_then_certificate_written() {
    let pending = decide_now(&subordinate_ca(None), None, ParentInput::NotNamed);
    let mut stored = created(&pending);
    let csr = pending.status.csr.clone().expect("status.csr is set");

    // Sign the CSR outside the cluster with an openssl root.
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "sub.csr", &csr);
    write(
        dir.path(),
        "sub.ext",
        "basicConstraints=critical,CA:TRUE,pathlen:0\n\
         keyUsage=critical,digitalSignature,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    );
    openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=Offline Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir.path(),
        &[
            "x509",
            "-req",
            "-in",
            "sub.csr",
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            "1825",
            "-extfile",
            "sub.ext",
            "-out",
            "sub.crt",
        ],
    );
    let certificate = std::fs::read_to_string(dir.path().join("sub.crt")).expect("sub.crt");
    let root = std::fs::read_to_string(dir.path().join("root.crt")).expect("root.crt");
    set_entries(&mut stored, &[("tls.crt", &certificate), ("ca.crt", &root)]);

    let ca = with_status(subordinate_ca(None), &pending.status);
    let decision = decide_now(&ca, Some(&stored), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Active));
    assert!(decision.status.csr.is_none());
    assert!(decision.status.serial_number.is_some());
    assert_eq!(event_reasons(&decision), vec![reason::IMPORTED]);
    let verified = openssl(dir.path(), &["verify", "-CAfile", "root.crt", "sub.crt"]);
    assert!(verified.contains("OK"), "{verified}");
}

#[test]
fn decide_secret_deleted_after_active() {
    let (active, _) = created_root();
    let ca = with_status(root_ca(), &active.status);
    let decision = decide_now(&ca, None, ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(
        ready(&decision.status),
        ("False".to_string(), "SecretMissing".to_string())
    );
    assert!(
        decision.secret.is_none(),
        "a new key must never replace the CA"
    );
    assert_eq!(decision.status.serial_number, active.status.serial_number);
    assert_eq!(event_reasons(&decision), vec![reason::SECRET_MISSING]);
    assert_eq!(decision.events[0].type_, EventType::Warning);
    assert_eq!(decision.requeue_after, Duration::from_secs(10));
}

#[test]
fn decide_secret_restored_after_missing() {
    let (active, stored) = created_root();
    let ca = with_status(root_ca(), &active.status);
    let missing = decide_now(&ca, None, ParentInput::NotNamed);
    let ca = with_status(root_ca(), &missing.status);
    let restored = decide_now(&ca, Some(&stored), ParentInput::NotNamed);
    assert_eq!(restored.status.state, Some(CaState::Active));
    assert!(restored.status.failure_reason.is_none());
    assert_eq!(event_reasons(&restored), vec![reason::ACTIVE]);
}

#[test]
fn decide_named_secret_absent_waits() {
    let decision = decide_now(&named_root_ca(), None, ParentInput::NotNamed);
    assert!(
        decision.secret.is_none(),
        "no key may be generated into a Secret the user provides: {:?}",
        decision.secret
    );
    assert_eq!(decision.status.state, Some(CaState::Creating));
    assert_eq!(
        ready(&decision.status),
        ("False".to_string(), "SecretNotFound".to_string())
    );
    assert_eq!(decision.requeue_after, Duration::from_secs(10));
    assert!(decision.status.serial_number.is_none());
    assert!(decision.status.failure_reason.is_none());
    assert_eq!(event_reasons(&decision), vec![reason::SECRET_NOT_FOUND]);
    assert_eq!(decision.events[0].type_, EventType::Normal);

    let message = &decision.status.conditions[0].message;
    assert!(
        message.contains("Secret default/corp-root not found"),
        "{message}"
    );
    assert!(message.contains("tls.crt and tls.key"), "{message}");
    assert!(message.contains("remove spec.secretName"), "{message}");
    assert!(message.contains("root-ca"), "{message}");

    let waiting = with_status(named_root_ca(), &decision.status);
    let later = NOW + time::Duration::seconds(10);
    let again = decide_at(&waiting, None, ParentInput::NotNamed, later);
    assert!(again.secret.is_none());
    assert!(again.events.is_empty(), "{:?}", again.events);
    assert_eq!(again.status, decision.status);
    assert_eq!(again.requeue_after, Duration::from_secs(10));
}

#[test]
fn decide_named_secret_arrives_imports() {
    let first = decide_now(&named_root_ca(), None, ParentInput::NotNamed);
    let waiting = with_status(named_root_ca(), &first.status);
    let (certificate, key) = rcgen_root("Corp Root");
    let provided = secret(
        "corp-root",
        &[("tls.crt", &certificate), ("tls.key", &key)],
        false,
    );
    let later = NOW + time::Duration::seconds(20);
    let decision = decide_at(&waiting, Some(&provided), ParentInput::NotNamed, later);
    assert_eq!(decision.status.state, Some(CaState::Active));
    assert_eq!(
        ready(&decision.status),
        ("True".to_string(), "Active".to_string())
    );
    assert_eq!(decision.secret, Some(SecretWrite::Label));
    assert_eq!(event_reasons(&decision), vec![reason::IMPORTED]);
    assert!(decision.events[0].note.contains("default/corp-root"));
    let subject = decision.status.subject.clone().unwrap_or_default();
    assert!(subject.contains("Corp Root"), "{subject}");

    let der = parse_pem(&certificate);
    let (_, parsed) = X509Certificate::from_der(&der).expect("rcgen certificate parses");
    assert_eq!(
        decision.status.serial_number.as_deref(),
        Some(hex(parsed.raw_serial()).as_str())
    );
}

#[test]
fn decide_named_secret_key_mismatch() {
    let first = decide_now(&named_root_ca(), None, ParentInput::NotNamed);
    let waiting = with_status(named_root_ca(), &first.status);
    let (certificate, _) = rcgen_root("Corp Root");
    let provided = secret(
        "corp-root",
        &[("tls.crt", &certificate), ("tls.key", &rcgen_key())],
        false,
    );
    let decision = decide_now(&waiting, Some(&provided), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(
        ready(&decision.status),
        ("False".to_string(), "KeyMismatch".to_string())
    );
    assert!(decision.status.serial_number.is_none());
    assert_eq!(decision.secret, Some(SecretWrite::Label));
    assert_eq!(event_reasons(&decision), vec![reason::FAILED]);
}

#[test]
fn decide_named_secret_empty_fails() {
    let provided = secret("corp-root", &[], false);
    let decision = decide_now(&named_root_ca(), Some(&provided), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(ready(&decision.status).1, "InvalidCertificate");
    let message = decision.status.failure_reason.clone().unwrap_or_default();
    assert!(message.contains("default/corp-root"), "{message}");
    assert!(
        !message.contains("controller creates"),
        "the controller never creates a named Secret: {message}"
    );
    assert!(!matches!(decision.secret, Some(SecretWrite::Update(_))));
}

#[test]
fn decide_unnamed_secret_absent_generates() {
    let decision = decide_now(&root_ca(), None, ParentInput::NotNamed);
    let secret = created(&decision);
    assert_eq!(secret.metadata.name.as_deref(), Some("root-ca"));
    assert!(entry(&secret, "tls.key").contains("PRIVATE KEY"));
    assert_eq!(decision.status.state, Some(CaState::Active));
    assert_eq!(event_reasons(&decision), vec![reason::CREATED]);
}

#[test]
fn decide_named_subordinate_generates() {
    let mut pending = subordinate_ca(None);
    pending.spec.secret_name = Some("corp-issuing".to_string());
    let decision = decide_now(&pending, None, ParentInput::NotNamed);
    let secret = created(&decision);
    assert_eq!(secret.metadata.name.as_deref(), Some("corp-issuing"));
    assert!(entry(&secret, "tls.csr").contains("CERTIFICATE REQUEST"));
    assert_eq!(decision.status.state, Some(CaState::PendingCertificate));

    let mut signed = subordinate_ca(Some("root"));
    signed.spec.secret_name = Some("corp-issuing".to_string());
    let decision = decide_now(&signed, None, active_parent(engine_root()));
    let secret = created(&decision);
    assert_eq!(secret.metadata.name.as_deref(), Some("corp-issuing"));
    assert!(entry(&secret, "tls.crt").contains("BEGIN CERTIFICATE"));
    assert_eq!(decision.status.state, Some(CaState::Active));
    assert_eq!(event_reasons(&decision), vec![reason::SIGNED]);
}

#[test]
fn decide_named_secret_restored_after_missing() {
    let (certificate, key) = rcgen_root("Corp Root");
    let provided = secret(
        "corp-root",
        &[("tls.crt", &certificate), ("tls.key", &key)],
        false,
    );
    let imported = decide_now(&named_root_ca(), Some(&provided), ParentInput::NotNamed);
    let active = with_status(named_root_ca(), &imported.status);
    let missing = decide_now(&active, None, ParentInput::NotNamed);
    assert_eq!(missing.status.state, Some(CaState::Failed));
    assert_eq!(ready(&missing.status).1, "SecretMissing");
    assert!(missing.secret.is_none());
    assert_eq!(missing.requeue_after, Duration::from_secs(10));

    // Restored from a backup without the label, so only the poll finds it.
    let failed = with_status(named_root_ca(), &missing.status);
    let restored = decide_now(&failed, Some(&provided), ParentInput::NotNamed);
    assert_eq!(restored.status.state, Some(CaState::Active));
    assert!(restored.status.failure_reason.is_none());
    assert_eq!(restored.secret, Some(SecretWrite::Label));
    assert_eq!(event_reasons(&restored), vec![reason::ACTIVE]);
}

#[test]
fn decide_corrupted_secret() {
    let (active, mut stored) = created_root();
    set_entries(
        &mut stored,
        &[("tls.crt", "-----BEGIN CERTIFICATE-----\ngarbage\n")],
    );
    let ca = with_status(root_ca(), &active.status);
    let decision = decide_now(&ca, Some(&stored), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(ready(&decision.status).1, "InvalidCertificate");
    assert!(decision.secret.is_none());
    assert_eq!(decision.status.serial_number, active.status.serial_number);
    assert_eq!(event_reasons(&decision), vec![reason::FAILED]);
}

#[test]
fn decide_replaced_certificate() {
    let (active, _) = created_root();
    let (certificate, key) = rcgen_root("Other Root");
    let stored = secret(
        "root-ca",
        &[("tls.crt", &certificate), ("tls.key", &key)],
        true,
    );
    let ca = with_status(root_ca(), &active.status);
    let decision = decide_now(&ca, Some(&stored), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(ready(&decision.status).1, "CertificateChanged");
    assert!(decision.secret.is_none());
}

#[test]
fn decide_disabled() {
    let (active, stored) = created_root();
    let mut ca = with_status(root_ca(), &active.status);
    ca.spec.disabled = true;
    ca.metadata.generation = Some(2);
    let decision = decide_now(&ca, Some(&stored), ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Disabled));
    assert_eq!(
        ready(&decision.status),
        ("False".to_string(), "Disabled".to_string())
    );
    assert_eq!(decision.status.observed_generation, Some(2));
    assert_eq!(event_reasons(&decision), vec![reason::DISABLED]);
}

#[test]
fn decide_re_enabled() {
    let (active, stored) = created_root();
    let mut ca = with_status(root_ca(), &active.status);
    ca.spec.disabled = true;
    let disabled = decide_now(&ca, Some(&stored), ParentInput::NotNamed);
    let ca = with_status(root_ca(), &disabled.status);
    let later = NOW + time::Duration::hours(1);
    let decision = decide_at(&ca, Some(&stored), ParentInput::NotNamed, later);
    assert_eq!(decision.status.state, Some(CaState::Active));
    assert_eq!(event_reasons(&decision), vec![reason::ACTIVE]);
    let condition = &decision.status.conditions[0];
    assert_eq!(
        condition.last_transition_time,
        privateca_issuer::controller::conditions::to_time(later)
    );
}

#[test]
fn decide_expired() {
    let (active, stored) = created_root();
    let ca = with_status(root_ca(), &active.status);
    let not_after = datetime!(2036-01-15 12:00:00 UTC);

    let before = decide_at(
        &ca,
        Some(&stored),
        ParentInput::NotNamed,
        not_after - time::Duration::minutes(10),
    );
    assert_eq!(before.status.state, Some(CaState::Active));
    assert_eq!(before.requeue_after, Duration::from_secs(601));

    let after = decide_at(
        &ca,
        Some(&stored),
        ParentInput::NotNamed,
        not_after + time::Duration::seconds(1),
    );
    assert_eq!(after.status.state, Some(CaState::Expired));
    assert_eq!(
        ready(&after.status),
        ("False".to_string(), "Expired".to_string())
    );
    assert_eq!(event_reasons(&after), vec![reason::EXPIRED]);
    assert_eq!(after.events[0].type_, EventType::Warning);
}

#[test]
fn decide_cluster_ca_rejects_namespaced_parent() {
    let ca: ClusterPrivateCA = serde_yaml::from_str(
        r#"
apiVersion: privateca.issuer.dev/v1alpha1
kind: ClusterPrivateCA
metadata:
  name: cluster-issuing
  generation: 1
spec:
  type: Subordinate
  subject:
    commonName: Cluster Issuing
  parentRef:
    kind: PrivateCA
    name: root
"#,
    )
    .expect("test ClusterPrivateCA YAML is valid");
    let view = CaView {
        kind: ca::CaKind::ClusterPrivateCA,
        name: "cluster-issuing",
        generation: Some(1),
        spec: ca.ca_spec(),
        status: None,
        secret_namespace: "cert-manager",
        secret_name: "cluster-issuing-ca",
    };
    let decision =
        decide::decide(&view, None, ParentInput::NotNamed, &clock()).expect("decide succeeds");
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(ready(&decision.status).1, "InvalidParent");
    let message = decision.status.failure_reason.unwrap_or_default();
    assert!(message.contains("spec.parentRef.kind"), "{message}");
}

#[test]
fn decide_empty_subject_is_invalid() {
    let mut ca = root_ca();
    ca.spec.subject = Default::default();
    let decision = decide_now(&ca, None, ParentInput::NotNamed);
    assert_eq!(decision.status.state, Some(CaState::Failed));
    assert_eq!(ready(&decision.status).1, "InvalidSpec");
    assert!(decision.secret.is_none());
}

// ---------------------------------------------------------------- reconcile

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// Builds the response to one request from its head and JSON body: a status
/// code and a JSON body.
type Responder = Box<dyn FnOnce(&http::request::Parts, &Value) -> (u16, Value) + Send>;

/// One expected API request and the response to send.
struct Step {
    name: &'static str,
    method: Method,
    path: String,
    respond: Responder,
}

fn step(
    name: &'static str,
    method: Method,
    path: &str,
    respond: impl FnOnce(&http::request::Parts, &Value) -> (u16, Value) + Send + 'static,
) -> Step {
    Step {
        name,
        method,
        path: path.to_string(),
        respond: Box::new(respond),
    }
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
               "reason": "NotFound", "code": 404, "message": "not found"}),
    )
}

const SECRET_PATH: &str = "/api/v1/namespaces/default/secrets/root-ca";
const STATUS_PATH: &str =
    "/apis/privateca.issuer.dev/v1alpha1/namespaces/default/privatecas/root/status";
const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

fn get_secret(secret: Option<Secret>) -> Step {
    step(
        "get Secret",
        Method::GET,
        SECRET_PATH,
        move |_, _| match secret {
            Some(secret) => (
                200,
                serde_json::to_value(secret).expect("Secret serializes"),
            ),
            None => not_found(),
        },
    )
}

fn patch_status(expected: CaState, expected_reason: &'static str) -> Step {
    let base = serde_json::to_value(root_ca()).expect("CA serializes");
    patch_status_at(STATUS_PATH, base, expected, expected_reason)
}

fn patch_status_at(
    path: &str,
    base: Value,
    expected: CaState,
    expected_reason: &'static str,
) -> Step {
    step("patch status", Method::PATCH, path, move |parts, body| {
        let query = parts.uri.query().unwrap_or_default();
        assert!(query.contains("fieldManager=privateca-issuer"), "{query}");
        assert!(query.contains("force=true"), "{query}");
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        assert_eq!(content_type, "application/apply-patch+yaml");
        assert_eq!(body["kind"], base["kind"]);
        let status: CaStatus =
            serde_json::from_value(body["status"].clone()).expect("status patch parses");
        assert_eq!(status.state, Some(expected), "{body}");
        assert_eq!(ready(&status).1, expected_reason);
        assert!(!body.to_string().contains("PRIVATE KEY"));
        let mut object = base;
        object["status"] = body["status"].clone();
        (200, object)
    })
}

fn event_at(path: &'static str, expected_reason: &'static str) -> Step {
    step("publish Event", Method::POST, path, move |_, body| {
        assert_eq!(body["reason"], expected_reason, "{body}");
        assert!(!body.to_string().contains("PRIVATE KEY"));
        (201, body.clone())
    })
}

fn event(expected_reason: &'static str) -> Step {
    event_at(EVENTS_PATH, expected_reason)
}

async fn serve(mut handle: Handle, steps: Vec<Step>) {
    for step in steps {
        let (request, send) = handle
            .next_request()
            .await
            .unwrap_or_else(|| panic!("client closed before {}", step.name));
        let (parts, body) = request.into_parts();
        assert_eq!(parts.method, step.method, "method of {}", step.name);
        assert_eq!(parts.uri.path(), step.path, "path of {}", step.name);
        let bytes = body.collect_bytes().await.expect("request body reads");
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("request body is JSON")
        };
        let (code, response) = (step.respond)(&parts, &body);
        let response = Response::builder()
            .status(code)
            .body(Body::from(
                serde_json::to_vec(&response).expect("response serializes"),
            ))
            .expect("response builds");
        send.send_response(response);
    }
    // The client is dropped when the reconcile returns, so a request that
    // arrives before then is one the script does not expect.
    if let Some((request, _)) = handle.next_request().await {
        panic!(
            "unexpected request after the script: {} {}",
            request.method(),
            request.uri()
        );
    }
}

/// Runs one reconcile against the scripted steps; fails after 1 s if the
/// requests do not match the script.
async fn scenario<K: CaObject>(
    ca: K,
    at: OffsetDateTime,
    steps: Vec<Step>,
) -> (Result<Action, ca::Error>, Metrics) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let metrics = Metrics::new().expect("metrics register");
    let context = Context {
        client: kube::Client::new(service, "default"),
        metrics: metrics.clone(),
        clock: Arc::new(FixedClock(at)),
        cluster_resource_namespace: "cert-manager".to_string(),
        reporter: Reporter {
            controller: "privateca-issuer".to_string(),
            instance: Some("test".to_string()),
        },
    };
    let context = Arc::new(CaContext::new(Arc::new(context)));
    let server = tokio::spawn(serve(handle, steps));
    let result = tokio::time::timeout(Duration::from_secs(1), ca::reconcile(Arc::new(ca), context))
        .await
        .expect("reconcile finished within 1 s: the request sequence is wrong");
    match tokio::time::timeout(Duration::from_secs(1), server).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Ok(Err(error)) => panic!("scenario task failed: {error}"),
        Err(_) => panic!("scenario did not see every expected request within 1 s"),
    }
    (result, metrics)
}

fn gauge(metrics: &Metrics, ready: bool) -> i64 {
    let labels = ["PrivateCA", "default", "root"];
    if ready {
        metrics.ca_ready.with_label_values(&labels).get()
    } else {
        metrics.ca_not_after.with_label_values(&labels).get()
    }
}

#[tokio::test]
async fn reconcile_creates_root() {
    let steps = vec![
        get_secret(None),
        step(
            "create Secret",
            Method::POST,
            "/api/v1/namespaces/default/secrets",
            |parts, body| {
                let query = parts.uri.query().unwrap_or_default();
                assert!(query.contains("fieldManager=privateca-issuer"), "{query}");
                assert_eq!(body["type"], "kubernetes.io/tls");
                assert_eq!(body["metadata"]["labels"][CA_SECRET_LABEL], "true");
                assert!(body["metadata"].get("ownerReferences").is_none());
                for key in ["tls.crt", "tls.key", "ca.crt", "chain.crt"] {
                    assert!(body["data"].get(key).is_some(), "missing {key}");
                }
                (201, body.clone())
            },
        ),
        patch_status(CaState::Active, "Active"),
        event(reason::CREATED),
    ];
    let (result, metrics) = scenario(root_ca(), NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(gauge(&metrics, true), 1);
    assert_eq!(
        gauge(&metrics, false),
        datetime!(2036-01-15 12:00:00 UTC).unix_timestamp()
    );
}

#[tokio::test]
async fn reconcile_create_conflict_imports_winner() {
    let (certificate, key) = rcgen_root("Winner Root");
    let winner = secret(
        "root-ca",
        &[("tls.crt", &certificate), ("tls.key", &key)],
        true,
    );
    let steps = vec![
        get_secret(None),
        step(
            "create Secret",
            Method::POST,
            "/api/v1/namespaces/default/secrets",
            |_, _| {
                (
                    409,
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                           "reason": "AlreadyExists", "code": 409, "message": "exists"}),
                )
            },
        ),
        get_secret(Some(winner)),
        patch_status(CaState::Active, "Active"),
        event(reason::IMPORTED),
    ];
    let (result, _) = scenario(root_ca(), NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn reconcile_imports_and_labels() {
    let (certificate, key) = rcgen_root("Imported Root");
    let stored = secret(
        "root-ca",
        &[("tls.crt", &certificate), ("tls.key", &key)],
        false,
    );
    let steps = vec![
        get_secret(Some(stored.clone())),
        step(
            "label Secret",
            Method::PATCH,
            SECRET_PATH,
            move |parts, body| {
                let content_type = parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default();
                assert_eq!(content_type, "application/merge-patch+json");
                assert_eq!(body["metadata"]["labels"][CA_SECRET_LABEL], "true");
                assert!(body.get("data").is_none(), "labelling must not touch data");
                (
                    200,
                    serde_json::to_value(&stored).expect("Secret serializes"),
                )
            },
        ),
        patch_status(CaState::Active, "Active"),
        event(reason::IMPORTED),
    ];
    let (result, metrics) = scenario(root_ca(), NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(gauge(&metrics, true), 1);
}

#[tokio::test]
async fn reconcile_secret_deleted_after_active() {
    let (active, _) = created_root();
    let ca = with_status(root_ca(), &active.status);
    let steps = vec![
        get_secret(None),
        patch_status(CaState::Failed, "SecretMissing"),
        event(reason::SECRET_MISSING),
    ];
    let (result, metrics) = scenario(ca, NOW, steps).await;
    let action = result.expect("reconcile succeeds");
    assert_eq!(action, Action::requeue(Duration::from_secs(10)));
    assert_eq!(gauge(&metrics, true), 0);
}

const NAMED_SECRET_PATH: &str = "/api/v1/namespaces/default/secrets/corp-root";

fn get_named_secret(secret: Option<Secret>) -> Step {
    step(
        "get named Secret",
        Method::GET,
        NAMED_SECRET_PATH,
        move |_, _| match secret {
            Some(secret) => (
                200,
                serde_json::to_value(secret).expect("Secret serializes"),
            ),
            None => not_found(),
        },
    )
}

#[tokio::test]
async fn reconcile_named_secret_absent_waits() {
    // The script ends after the Event, and `serve` fails on any request beyond
    // it, so a Secret create fails this test.
    let steps = vec![
        get_named_secret(None),
        patch_status(CaState::Creating, "SecretNotFound"),
        event(reason::SECRET_NOT_FOUND),
    ];
    let (result, metrics) = scenario(named_root_ca(), NOW, steps).await;
    let action = result.expect("reconcile succeeds");
    assert_eq!(action, Action::requeue(Duration::from_secs(10)));
    assert_eq!(gauge(&metrics, true), 0);
}

#[tokio::test]
async fn reconcile_named_secret_arrives_imports() {
    let waiting = decide_now(&named_root_ca(), None, ParentInput::NotNamed);
    let ca = with_status(named_root_ca(), &waiting.status);
    let (certificate, key) = rcgen_root("Corp Root");
    let provided = secret(
        "corp-root",
        &[("tls.crt", &certificate), ("tls.key", &key)],
        false,
    );
    let steps = vec![
        get_named_secret(Some(provided.clone())),
        step(
            "label Secret",
            Method::PATCH,
            NAMED_SECRET_PATH,
            move |_, body| {
                assert_eq!(body["metadata"]["labels"][CA_SECRET_LABEL], "true");
                assert!(body.get("data").is_none(), "labelling must not touch data");
                (
                    200,
                    serde_json::to_value(&provided).expect("Secret serializes"),
                )
            },
        ),
        patch_status(CaState::Active, "Active"),
        event(reason::IMPORTED),
    ];
    let (result, metrics) = scenario(ca, NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(gauge(&metrics, true), 1);
}

#[tokio::test]
async fn reconcile_key_mismatch() {
    let (certificate, _) = rcgen_root("Imported Root");
    let stored = secret(
        "root-ca",
        &[("tls.crt", &certificate), ("tls.key", &rcgen_key())],
        true,
    );
    let steps = vec![
        get_secret(Some(stored)),
        patch_status(CaState::Failed, "KeyMismatch"),
        event(reason::FAILED),
    ];
    let (result, metrics) = scenario(root_ca(), NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(gauge(&metrics, true), 0);
}

#[tokio::test]
async fn reconcile_disabled() {
    let (active, stored) = created_root();
    let mut ca = with_status(root_ca(), &active.status);
    ca.spec.disabled = true;
    let steps = vec![
        get_secret(Some(stored)),
        patch_status(CaState::Disabled, "Disabled"),
        event(reason::DISABLED),
    ];
    let (result, metrics) = scenario(ca, NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(gauge(&metrics, true), 0);
}

#[tokio::test]
async fn reconcile_expired() {
    let (active, stored) = created_root();
    let ca = with_status(root_ca(), &active.status);
    let after = datetime!(2036-01-15 12:00:01 UTC);
    let steps = vec![
        get_secret(Some(stored)),
        patch_status(CaState::Expired, "Expired"),
        event(reason::EXPIRED),
    ];
    let (result, metrics) = scenario(ca, after, steps).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(gauge(&metrics, true), 0);
}

#[tokio::test]
async fn reconcile_active_repeat_writes_nothing() {
    let (active, stored) = created_root();
    let ca = with_status(root_ca(), &active.status);
    let (result, _) = scenario(ca, NOW, vec![get_secret(Some(stored))]).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn reconcile_waits_for_missing_parent() {
    let mut ca = subordinate_ca(Some("root"));
    ca.metadata.name = Some("root".to_string());
    ca.spec.parent_ref = serde_yaml::from_str("kind: PrivateCA\nname: offline-root\n").ok();
    let steps = vec![
        get_secret(None),
        step(
            "get parent",
            Method::GET,
            "/apis/privateca.issuer.dev/v1alpha1/namespaces/default/privatecas/offline-root",
            |_, _| not_found(),
        ),
        patch_status(CaState::Creating, "WaitingForParent"),
        event(reason::WAITING_FOR_PARENT),
    ];
    let (result, _) = scenario(ca, NOW, steps).await;
    let action = result.expect("reconcile succeeds");
    assert_eq!(action, Action::requeue(decide::PARENT_POLL));
}

#[tokio::test]
async fn reconcile_api_error_is_retried() {
    let steps = vec![step("get Secret", Method::GET, SECRET_PATH, |_, _| {
        (
            500,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                   "reason": "InternalError", "code": 500, "message": "etcd unavailable"}),
        )
    })];
    let (result, _) = scenario(root_ca(), NOW, steps).await;
    let error = result.expect_err("a 500 fails the reconcile");
    assert_eq!(error.metric_label(), "kube");
}

#[tokio::test]
async fn reconcile_cluster_root_in_resource_namespace() {
    let ca: ClusterPrivateCA = serde_yaml::from_str(
        r#"
apiVersion: privateca.issuer.dev/v1alpha1
kind: ClusterPrivateCA
metadata:
  name: cluster-root
  uid: 0b7f1d2e-0000-4000-8000-000000000003
  generation: 1
spec:
  subject:
    commonName: Cluster Root
"#,
    )
    .expect("test ClusterPrivateCA YAML is valid");
    let base = serde_json::to_value(&ca).expect("CA serializes");
    let steps = vec![
        step(
            "get Secret",
            Method::GET,
            "/api/v1/namespaces/cert-manager/secrets/cluster-root-ca",
            |_, _| not_found(),
        ),
        step(
            "create Secret",
            Method::POST,
            "/api/v1/namespaces/cert-manager/secrets",
            |_, body| {
                assert_eq!(body["metadata"]["namespace"], "cert-manager");
                assert_eq!(body["metadata"]["labels"][CA_SECRET_LABEL], "true");
                (201, body.clone())
            },
        ),
        patch_status_at(
            "/apis/privateca.issuer.dev/v1alpha1/clusterprivatecas/cluster-root/status",
            base,
            CaState::Active,
            "Active",
        ),
        // Events about cluster-scoped objects go to the default namespace.
        event_at(EVENTS_PATH, reason::CREATED),
    ];
    let (result, metrics) = scenario(ca, NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
    let ready = metrics
        .ca_ready
        .with_label_values(&["ClusterPrivateCA", "", "cluster-root"])
        .get();
    assert_eq!(ready, 1);
}

#[tokio::test]
async fn reconcile_signs_with_active_parent() {
    let (parent_decision, parent_secret) = created_root();
    let parent = with_status(root_ca(), &parent_decision.status);
    let parent_json = serde_json::to_value(&parent).expect("parent serializes");
    let child = subordinate_ca(Some("root"));
    let child_json = serde_json::to_value(&child).expect("child serializes");
    let parent_certificate = entry(&parent_secret, "tls.crt");
    let steps = vec![
        step(
            "get Secret",
            Method::GET,
            "/api/v1/namespaces/default/secrets/issuing-ca",
            |_, _| not_found(),
        ),
        step(
            "get parent",
            Method::GET,
            "/apis/privateca.issuer.dev/v1alpha1/namespaces/default/privatecas/root",
            move |_, _| (200, parent_json),
        ),
        get_secret(Some(parent_secret)),
        step(
            "create Secret",
            Method::POST,
            "/api/v1/namespaces/default/secrets",
            move |_, body| {
                let signed: Secret =
                    serde_json::from_value(body.clone()).expect("Secret body parses");
                assert_eq!(
                    entry(&signed, "chain.crt").trim(),
                    parent_certificate.trim()
                );
                assert_eq!(entry(&signed, "ca.crt").trim(), parent_certificate.trim());
                assert!(entry(&signed, "tls.crt").contains("BEGIN CERTIFICATE"));
                (201, body.clone())
            },
        ),
        patch_status_at(
            "/apis/privateca.issuer.dev/v1alpha1/namespaces/default/privatecas/issuing/status",
            child_json,
            CaState::Active,
            "Active",
        ),
        event(reason::SIGNED),
    ];
    let (result, _) = scenario(child, NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn reconcile_publishes_pending_csr() {
    let child = subordinate_ca(None);
    let child_json = serde_json::to_value(&child).expect("child serializes");
    let steps = vec![
        step(
            "get Secret",
            Method::GET,
            "/api/v1/namespaces/default/secrets/issuing-ca",
            |_, _| not_found(),
        ),
        step(
            "create Secret",
            Method::POST,
            "/api/v1/namespaces/default/secrets",
            |_, body| {
                let pending: Secret =
                    serde_json::from_value(body.clone()).expect("Secret body parses");
                assert_eq!(pending.type_.as_deref(), Some("kubernetes.io/tls"));
                assert_eq!(entry(&pending, "tls.crt"), "");
                assert!(entry(&pending, "tls.key").contains("PRIVATE KEY"));
                assert!(entry(&pending, "tls.csr").contains("CERTIFICATE REQUEST"));
                (201, body.clone())
            },
        ),
        patch_status_at(
            "/apis/privateca.issuer.dev/v1alpha1/namespaces/default/privatecas/issuing/status",
            child_json,
            CaState::PendingCertificate,
            "PendingCertificate",
        ),
        event(reason::PENDING_CERTIFICATE),
    ];
    let (result, _) = scenario(child, NOW, steps).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn error_policy_backs_off_exponentially() {
    let (service, _handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let metrics = Metrics::new().expect("metrics register");
    let context = Context {
        client: kube::Client::new(service, "default"),
        metrics: metrics.clone(),
        clock: Arc::new(clock()),
        cluster_resource_namespace: "cert-manager".to_string(),
        reporter: Reporter::from("privateca-issuer"),
    };
    let context = Arc::new(CaContext::new(Arc::new(context)));
    let ca = Arc::new(root_ca());
    let error = ca::Error::MissingMetadata { field: "name" };
    let delays: Vec<Action> = (0..8)
        .map(|_| ca::error_policy(ca.clone(), &error, context.clone()))
        .collect();
    let expected: Vec<Action> = [5, 10, 20, 40, 80, 160, 300, 300]
        .into_iter()
        .map(|seconds| Action::requeue(Duration::from_secs(seconds)))
        .collect();
    assert_eq!(delays, expected);
    let errors = metrics
        .reconcile_errors
        .with_label_values(&["ca", "metadata"])
        .get();
    assert_eq!(errors, 8);
}

/// Responds to every list with an empty list and keeps every watch open.
async fn empty_cluster(mut handle: Handle) {
    let mut open_watches = Vec::new();
    while let Some((request, send)) = handle.next_request().await {
        let query = request.uri().query().unwrap_or_default().to_string();
        if query.contains("watch=true") {
            open_watches.push(send);
            continue;
        }
        assert_eq!(request.method(), Method::GET, "{}", request.uri());
        let list = json!({"apiVersion": "v1", "kind": "List",
                          "metadata": {"resourceVersion": "1"}, "items": []});
        let response = Response::builder()
            .status(200)
            .body(Body::from(
                serde_json::to_vec(&list).expect("list serializes"),
            ))
            .expect("response builds");
        send.send_response(response);
    }
}

#[tokio::test]
async fn run_syncs_then_stops_on_shutdown() {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(empty_cluster(handle));
    let context = Context {
        client: kube::Client::new(service, "default"),
        metrics: Metrics::new().expect("metrics register"),
        clock: Arc::new(clock()),
        cluster_resource_namespace: "cert-manager".to_string(),
        reporter: Reporter::from("privateca-issuer"),
    };
    let health = privateca_issuer::health::Health::default();
    let (trigger, shutdown) = privateca_issuer::shutdown::channel();
    let running = tokio::spawn(ca::run(Arc::new(context), shutdown, health.clone()));

    let synced = tokio::time::timeout(Duration::from_secs(1), async {
        while !health.is_ready() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(synced.is_ok(), "caches did not sync within 1 s");

    trigger.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(1), running).await;
    let result = stopped.expect("controllers stopped within 1 s of shutdown");
    assert!(matches!(result, Ok(Ok(()))), "{result:?}");
    server.abort();
}
