//! Importing CA certificates with their keys and chains.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails on the first unexpected error"
)]

mod pki_support;

use pki_support::*;
use privateca_issuer::pki::{
    CaKey, CertificateAuthority, ErrorKind, KeyAlgorithm, SigningAlgorithm, SubjectName, Template,
};
use tempfile::TempDir;

fn key_copy(ca: &CertificateAuthority) -> CaKey {
    CaKey::from_pem(&ca.key().to_pkcs8_pem()).unwrap()
}

/// Issues and imports a CA below `parent` with a fresh P-256 key and `template`.
fn child(parent: &CertificateAuthority, name: &str, template: Template) -> CertificateAuthority {
    let key = CaKey::generate(KeyAlgorithm::EcPrime256v1).unwrap();
    let subject = SubjectName::parse(&format!("CN={name}")).unwrap();
    let csr =
        CertificateAuthority::subordinate_csr(&key, &subject, SigningAlgorithm::Sha256WithEcdsa)
            .unwrap();
    let issued = issue(parent, &csr, template).unwrap();
    CertificateAuthority::import(
        &issued.certificate_pem(),
        key,
        Some(&issued.certificate_chain_pem()),
    )
    .unwrap()
}

/// Makes a self-signed certificate and its SEC1 key with `openssl req -x509` and the
/// given extension lines.
fn openssl_self_signed(extensions: &str) -> (String, String) {
    let dir = TempDir::new().unwrap();
    let config = format!(
        "[req]\ndistinguished_name=dn\nx509_extensions=v3\nprompt=no\n[dn]\nCN=OpenSSL CA\n[v3]\n{extensions}\n"
    );
    let config_path = write(dir.path(), "openssl.cnf", &config);
    let key_path = dir.path().join("key.pem");
    let key = openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-noout"]);
    std::fs::write(&key_path, &key).unwrap();
    let certificate = openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        key_path.to_str().unwrap(),
        "-config",
        &config_path,
        "-days",
        "3650",
        "-sha256",
    ]);
    (certificate, key)
}

fn assert_import_error(
    result: privateca_issuer::pki::Result<CertificateAuthority>,
    fragment: &str,
) {
    let error = result.unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::MalformedCertificate,
        "{}",
        error.message()
    );
    assert!(
        error.message().contains(fragment),
        "message {:?} must contain {fragment:?}",
        error.message()
    );
}

#[test]
fn import_good_root() {
    let root = p256_root();
    let imported =
        CertificateAuthority::import(&root.certificate_pem(), key_copy(root), None).unwrap();
    assert_eq!(imported.info(), root.info());
    assert_eq!(imported.certificate(), root.certificate());
    assert!(imported.chain().is_empty());
}

#[test]
fn import_root_with_empty_chain_text() {
    let root = p256_root();
    let imported =
        CertificateAuthority::import(&root.certificate_pem(), key_copy(root), Some("\n")).unwrap();
    assert!(imported.info().is_root);
}

#[test]
fn import_good_subordinate() {
    let root = p256_root();
    let sub = child(
        root,
        "Imported Sub",
        Template::SubordinateCa { path_len: 0 },
    );
    let imported = CertificateAuthority::import(
        &sub.certificate_pem(),
        key_copy(&sub),
        Some(&sub.chain_pem()),
    )
    .unwrap();
    assert!(!imported.info().is_root);
    assert_eq!(imported.info().path_len, Some(0));
    assert_eq!(imported.chain(), std::slice::from_ref(root.certificate()));
    assert_eq!(imported.info().subject, "CN=Imported Sub");
}

#[test]
fn import_chain_in_certificate_pem() {
    let root = p256_root();
    let sub = child(root, "Bundled Sub", Template::SubordinateCa { path_len: 0 });
    let bundle = format!("{}{}", sub.certificate_pem(), root.certificate_pem());
    let imported = CertificateAuthority::import(&bundle, key_copy(&sub), None).unwrap();
    assert_eq!(imported.chain(), std::slice::from_ref(root.certificate()));
    // The same root given twice is kept once.
    let imported =
        CertificateAuthority::import(&bundle, key_copy(&sub), Some(&root.certificate_pem()))
            .unwrap();
    assert_eq!(imported.chain().len(), 1);
}

#[test]
fn import_subordinate_without_chain() {
    let sub = child(
        p256_root(),
        "Orphan Sub",
        Template::SubordinateCa { path_len: 0 },
    );
    let result = CertificateAuthority::import(&sub.certificate_pem(), key_copy(&sub), None);
    assert_import_error(result, "is not a self-signed root");
}

#[test]
fn import_key_mismatch() {
    let root = p256_root();
    let other = CaKey::generate(KeyAlgorithm::EcPrime256v1).unwrap();
    let result = CertificateAuthority::import(&root.certificate_pem(), other, None);
    assert_import_error(result, "does not match the public key");
}

#[test]
fn import_key_of_other_type() {
    let root = p256_root();
    let other = key_copy(rsa_root());
    let result = CertificateAuthority::import(&root.certificate_pem(), other, None);
    assert_import_error(result, "CA private key (RSA_2048) does not match");
}

#[test]
fn import_rejects_leaf() {
    let root = p256_root();
    let key = CaKey::generate(KeyAlgorithm::EcPrime256v1).unwrap();
    let subject = SubjectName::parse("CN=Leaf Pretending").unwrap();
    let csr =
        CertificateAuthority::subordinate_csr(&key, &subject, SigningAlgorithm::Sha256WithEcdsa)
            .unwrap();
    let leaf = issue(root, &csr, Template::EndEntity).unwrap();
    let result =
        CertificateAuthority::import(&leaf.certificate_pem(), key, Some(&root.certificate_pem()));
    assert_import_error(
        result,
        "is not a CA certificate (basicConstraints CA:FALSE)",
    );
}

#[test]
fn import_rejects_noncritical_basic_constraints() {
    let (certificate, key) = openssl_self_signed(
        "basicConstraints=CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash",
    );
    let result = CertificateAuthority::import(&certificate, CaKey::from_pem(&key).unwrap(), None);
    assert_import_error(result, "non-critical basicConstraints");
}

#[test]
fn import_rejects_missing_basic_constraints() {
    let (certificate, key) = openssl_self_signed("keyUsage=critical,keyCertSign,cRLSign");
    let result = CertificateAuthority::import(&certificate, CaKey::from_pem(&key).unwrap(), None);
    assert_import_error(result, "has no basicConstraints");
}

#[test]
fn import_rejects_key_usage_without_cert_sign() {
    let (certificate, key) = openssl_self_signed(
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature",
    );
    let result = CertificateAuthority::import(&certificate, CaKey::from_pem(&key).unwrap(), None);
    assert_import_error(result, "without keyCertSign");
}

#[test]
fn import_openssl_root_and_issue() {
    let (certificate, key) = openssl_self_signed(
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash",
    );
    let ca =
        CertificateAuthority::import(&certificate, CaKey::from_pem(&key).unwrap(), None).unwrap();
    assert!(ca.info().is_root);
    assert_eq!(ca.info().subject, "CN=OpenSSL CA");
    // The CA lives from now for 3650 days, so issue at the real time.
    let csr = p256_csr("external.example");
    let now = time::OffsetDateTime::now_utc();
    let request = privateca_issuer::pki::IssueRequest {
        csr: csr.as_bytes(),
        template: Template::EndEntity,
        signing_algorithm: SigningAlgorithm::Sha256WithEcdsa,
        not_before: now,
        not_after: now + time::Duration::days(1),
        expiry_policy: privateca_issuer::pki::ExpiryPolicy::Reject,
    };
    let issued = ca
        .issue(&request, false, &privateca_issuer::pki::SystemClock)
        .unwrap();
    let dir = TempDir::new().unwrap();
    let root = write(dir.path(), "root.pem", &issued.root_pem());
    let leaf = write(dir.path(), "leaf.pem", &issued.certificate_pem());
    openssl(&["verify", "-CAfile", &root, &leaf]);
}

#[test]
fn import_chain_out_of_order() {
    let root = p256_root();
    let policy = child(root, "Policy CA", Template::SubordinateCa { path_len: 1 });
    let issuing = child(
        &policy,
        "Issuing CA",
        Template::SubordinateCa { path_len: 0 },
    );
    let good = format!("{}{}", policy.certificate_pem(), root.certificate_pem());
    let reversed = format!("{}{}", root.certificate_pem(), policy.certificate_pem());

    let imported =
        CertificateAuthority::import(&issuing.certificate_pem(), key_copy(&issuing), Some(&good))
            .unwrap();
    assert_eq!(imported.chain().len(), 2);

    let result = CertificateAuthority::import(
        &issuing.certificate_pem(),
        key_copy(&issuing),
        Some(&reversed),
    );
    assert_import_error(result, "did not sign the CA certificate");
    let result = CertificateAuthority::import(
        &issuing.certificate_pem(),
        key_copy(&issuing),
        Some(&reversed),
    );
    assert_import_error(result, "order the chain parent first, root last");
}

#[test]
fn import_chain_without_root() {
    let root = p256_root();
    let policy = child(root, "Policy CA", Template::SubordinateCa { path_len: 1 });
    let issuing = child(
        &policy,
        "Issuing CA",
        Template::SubordinateCa { path_len: 0 },
    );
    let result = CertificateAuthority::import(
        &issuing.certificate_pem(),
        key_copy(&issuing),
        Some(&policy.certificate_pem()),
    );
    assert_import_error(
        result,
        "the last chain certificate (CN=Policy CA) is not a self-signed root",
    );
}

#[test]
fn import_rejects_non_certificate_pem() {
    let root = p256_root();
    let chain = format!("{}{}", root.certificate_pem(), root.key().to_pkcs8_pem());
    let sub = child(root, "Sub", Template::SubordinateCa { path_len: 0 });
    let result = CertificateAuthority::import(&sub.certificate_pem(), key_copy(&sub), Some(&chain));
    let error = result.unwrap_err();
    assert!(error.message().contains("PRIVATE KEY block"));
    assert!(
        !error
            .message()
            .contains(root.key().to_pkcs8_pem().lines().nth(1).unwrap())
    );
}

#[test]
fn import_rejects_garbage() {
    let result = CertificateAuthority::import("not pem", key_copy(p256_root()), None);
    assert_import_error(result, "contains no PEM CERTIFICATE block");
}
