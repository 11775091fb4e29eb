//! Roots, subordinates and leaves for every key and signing algorithm, checked with
//! `openssl verify`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails on the first unexpected error"
)]

mod pki_support;

use std::sync::OnceLock;

use pki_support::*;
use privateca_issuer::pki::{
    CaKey, CertificateAuthority, ErrorKind, FixedClock, KeyAlgorithm, SigningAlgorithm,
    SubjectName, Template, Validity, ValidityType,
};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Returns one key per algorithm for the test binary, as PKCS#8 PEM so each test can
/// load its own copy.
fn key_pem(algorithm: KeyAlgorithm) -> &'static str {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        KeyAlgorithm::ALL
            .iter()
            .map(|a| CaKey::generate(*a).unwrap().to_pkcs8_pem())
            .collect()
    });
    let index = KeyAlgorithm::ALL
        .iter()
        .position(|a| *a == algorithm)
        .unwrap();
    &keys[index]
}

fn ten_years() -> Validity {
    Validity {
        value: 10,
        kind: ValidityType::Years,
    }
}

fn signature_name(signing: SigningAlgorithm) -> &'static str {
    match signing {
        SigningAlgorithm::Sha256WithRsa => "sha256WithRSAEncryption",
        SigningAlgorithm::Sha384WithRsa => "sha384WithRSAEncryption",
        SigningAlgorithm::Sha512WithRsa => "sha512WithRSAEncryption",
        SigningAlgorithm::Sha256WithEcdsa => "ecdsa-with-SHA256",
        SigningAlgorithm::Sha384WithEcdsa => "ecdsa-with-SHA384",
        SigningAlgorithm::Sha512WithEcdsa => "ecdsa-with-SHA512",
    }
}

#[test]
fn every_key_and_signing_pair_verifies() {
    let csr = p256_csr("matrix.example");
    for key_algorithm in KeyAlgorithm::ALL {
        for signing in SigningAlgorithm::ALL {
            if signing.is_rsa() != key_algorithm.is_rsa() {
                continue;
            }
            let key = CaKey::from_pem(key_pem(key_algorithm)).unwrap();
            let subject =
                SubjectName::parse(&format!("CN=Root {key_algorithm} {signing}")).unwrap();
            let clock = FixedClock(test_now());
            let root = CertificateAuthority::create_root_with_key(
                key,
                &subject,
                signing,
                ten_years(),
                &clock,
            )
            .unwrap();
            let issued = root
                .issue(
                    &request(csr.as_bytes(), Template::EndEntity, signing),
                    false,
                    &clock,
                )
                .unwrap();

            assert_openssl_verifies(&root.certificate_pem(), "", &issued.certificate_pem());
            let root_text = openssl_text(&root.certificate_pem());
            let leaf_text = openssl_text(&issued.certificate_pem());
            let expected = format!("Signature Algorithm: {}", signature_name(signing));
            assert!(
                root_text.contains(&expected),
                "{key_algorithm} {signing} root:\n{root_text}"
            );
            assert!(
                leaf_text.contains(&expected),
                "{key_algorithm} {signing} leaf:\n{leaf_text}"
            );
        }
    }
}

#[test]
fn root_rejects_family_mismatch() {
    let error = CertificateAuthority::create_root(
        &SubjectName::parse("CN=Mismatch").unwrap(),
        KeyAlgorithm::EcPrime256v1,
        SigningAlgorithm::Sha256WithRsa,
        ten_years(),
        &FixedClock(test_now()),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
    assert!(error.message().contains("SHA256WITHRSA"));
    assert!(error.message().contains("EC_prime256v1"));
}

#[test]
fn issue_rejects_family_mismatch() {
    let csr = p256_csr("mismatch.example");
    let error = p256_root()
        .issue(
            &request(
                csr.as_bytes(),
                Template::EndEntity,
                SigningAlgorithm::Sha384WithRsa,
            ),
            false,
            &FixedClock(test_now()),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
    assert!(error.message().contains("SHA384WITHRSA"));
    assert!(error.message().contains("EC_prime256v1"));
}

#[test]
fn root_certificate_profile() {
    let root = p256_root();
    let (_, certificate) = X509Certificate::from_der(root.certificate()).unwrap();
    let constraints = certificate.basic_constraints().unwrap().unwrap();
    assert!(constraints.critical);
    assert!(constraints.value.ca);
    assert_eq!(constraints.value.path_len_constraint, None);
    let key_usage = certificate.key_usage().unwrap().unwrap();
    assert!(key_usage.critical);
    assert!(key_usage.value.digital_signature());
    assert!(key_usage.value.key_cert_sign());
    assert!(key_usage.value.crl_sign());
    assert!(!key_usage.value.key_encipherment());
    assert!(certificate.extended_key_usage().unwrap().is_none());
    assert_eq!(certificate.subject(), certificate.issuer());
    assert_eq!(
        certificate.subject().to_string(),
        "C=US, O=Example, CN=Test Root EC_prime256v1 SHA256WITHECDSA"
    );
    let has_aki = certificate
        .extensions()
        .iter()
        .any(|e| e.oid.to_id_string() == "2.5.29.35");
    assert!(!has_aki, "a root has no authorityKeyIdentifier");
}

#[test]
fn root_info_from_certificate() {
    let root = p256_root();
    let info = root.info();
    assert!(info.is_root);
    assert_eq!(info.path_len, None);
    assert_eq!(info.not_before, test_now() - time::Duration::minutes(60));
    assert_eq!(
        info.not_after,
        time::macros::datetime!(2036-06-15 12:00:00 UTC)
    );
    assert_eq!(info.key_algorithm, KeyAlgorithm::EcPrime256v1);
    assert_eq!(info.key_identifier.len(), 20);
    assert_eq!(
        info.subject,
        "CN=Test Root EC_prime256v1 SHA256WITHECDSA,O=Example,C=US"
    );
    assert!(root.chain().is_empty());
    assert_eq!(root.chain_pem(), "");
    assert_eq!(root.root(), root.certificate());
}

#[test]
fn root_rejects_validity_in_past() {
    let error = CertificateAuthority::create_root(
        &SubjectName::parse("CN=Old").unwrap(),
        KeyAlgorithm::EcPrime256v1,
        SigningAlgorithm::Sha256WithEcdsa,
        Validity {
            value: 200101000000,
            kind: ValidityType::EndDate,
        },
        &FixedClock(test_now()),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
    assert!(
        error.message().contains("2020-01-01T00:00:00Z"),
        "{}",
        error.message()
    );
}

/// Builds root -> subordinate (PathLen0) with the subordinate's key made by the
/// engine, and imports the subordinate.
fn subordinate(root: &CertificateAuthority, key_algorithm: KeyAlgorithm) -> CertificateAuthority {
    let key = CaKey::from_pem(key_pem(key_algorithm)).unwrap();
    let signing = key_algorithm.default_signing_algorithm();
    let subject = SubjectName::parse("CN=Test Issuing CA,O=Example").unwrap();
    let csr = CertificateAuthority::subordinate_csr(&key, &subject, signing).unwrap();
    let issued = issue(root, &csr, Template::SubordinateCa { path_len: 0 }).unwrap();
    CertificateAuthority::import(
        &issued.certificate_pem(),
        key,
        Some(&issued.certificate_chain_pem()),
    )
    .unwrap()
}

#[test]
fn root_issued_leaf_verifies() {
    for root in [p256_root(), rsa_root()] {
        let issued = issue(root, &p256_csr("leaf.example"), Template::EndEntity).unwrap();
        assert!(issued.intermediates.is_empty());
        assert_eq!(&issued.root, root.certificate());
        assert_eq!(
            issued.leaf_and_intermediates_pem(),
            issued.certificate_pem()
        );
        assert_openssl_verifies(&issued.root_pem(), "", &issued.certificate_pem());
    }
}

#[test]
fn subordinate_issued_leaf_verifies() {
    let root = rsa_root();
    let sub = subordinate(root, KeyAlgorithm::EcSecp384r1);
    assert!(!sub.info().is_root);
    assert_eq!(sub.info().path_len, Some(0));
    assert_eq!(sub.chain(), std::slice::from_ref(root.certificate()));
    assert_eq!(sub.root(), root.certificate());

    let issued = issue(&sub, &p256_csr("app.example"), Template::EndEntity).unwrap();
    assert_eq!(issued.intermediates, vec![sub.certificate().clone()]);
    assert_eq!(&issued.root, root.certificate());

    let untrusted = issued.leaf_and_intermediates_pem();
    assert_openssl_verifies(&issued.root_pem(), &untrusted, &issued.certificate_pem());
    // Without the subordinate the chain must not verify.
    let broken = openssl_verify(&issued.root_pem(), "", &issued.certificate_pem());
    assert!(!broken.status.success());
}

#[test]
fn subordinate_chain_pem_layout() {
    // Leaf then the subordinate, LF only, no duplicates; the root alone in ca.crt.
    let root = p256_root();
    let sub = subordinate(root, KeyAlgorithm::EcPrime256v1);
    let issued = issue(&sub, &p256_csr("layout.example"), Template::EndEntity).unwrap();
    let pem = issued.leaf_and_intermediates_pem();
    assert!(!pem.contains('\r'));
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert!(pem.starts_with(&issued.certificate_pem()));
    assert!(pem.ends_with(&sub.certificate_pem()));
    assert_eq!(issued.root_pem(), root.certificate_pem());
    assert_eq!(issued.root_pem().matches("BEGIN CERTIFICATE").count(), 1);
    let chain = issued.certificate_chain_pem();
    assert_eq!(
        chain,
        format!("{}{}", sub.certificate_pem(), root.certificate_pem())
    );
}

#[test]
fn second_level_subordinate_verifies() {
    let root = p256_root();
    // An intermediate with PathLen1 that issues a PathLen0 subordinate.
    let key = CaKey::from_pem(key_pem(KeyAlgorithm::EcSecp521r1)).unwrap();
    let subject = SubjectName::parse("CN=Policy CA").unwrap();
    let csr =
        CertificateAuthority::subordinate_csr(&key, &subject, SigningAlgorithm::Sha512WithEcdsa)
            .unwrap();
    let issued = issue(root, &csr, Template::SubordinateCa { path_len: 1 }).unwrap();
    let policy = CertificateAuthority::import(
        &issued.certificate_pem(),
        key,
        Some(&issued.certificate_chain_pem()),
    )
    .unwrap();
    let issuing = subordinate(&policy, KeyAlgorithm::Rsa2048);
    assert_eq!(issuing.chain().len(), 2);

    let leaf = issue(&issuing, &p256_csr("deep.example"), Template::EndEntity).unwrap();
    assert_eq!(leaf.intermediates.len(), 2);
    assert_eq!(&leaf.intermediates[1], policy.certificate());
    assert_openssl_verifies(
        &leaf.root_pem(),
        &leaf.leaf_and_intermediates_pem(),
        &leaf.certificate_pem(),
    );

    // PathLen0 issuing CA may not issue another CA.
    let error = issue(
        &issuing,
        &p256_csr("ca.example"),
        Template::SubordinateCa { path_len: 0 },
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
    // PathLen1 policy CA may not issue PathLen1.
    let error = issue(
        &policy,
        &p256_csr("ca.example"),
        Template::SubordinateCa { path_len: 1 },
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
}

#[test]
fn subordinate_csr_is_valid() {
    let key = CaKey::from_pem(key_pem(KeyAlgorithm::EcPrime256v1)).unwrap();
    let subject = SubjectName::parse("CN=Sub,O=Example,C=DE").unwrap();
    for signing in [
        SigningAlgorithm::Sha256WithEcdsa,
        SigningAlgorithm::Sha384WithEcdsa,
        SigningAlgorithm::Sha512WithEcdsa,
    ] {
        let csr = CertificateAuthority::subordinate_csr(&key, &subject, signing).unwrap();
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
        let dir = tempfile::TempDir::new().unwrap();
        let path = write(dir.path(), "sub.csr", &csr);
        let output = openssl_output(&["req", "-verify", "-noout", "-text", "-in", &path]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains("Subject: C = DE, O = Example, CN = Sub"),
            "{text}"
        );
        assert!(text.contains("CA:TRUE"), "{text}");
        assert!(text.contains(signature_name(signing)), "{text}");
    }
}
