//! Every template issued from openssl CSRs, re-parsed with x509-parser and read back
//! with `openssl x509 -text`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails on the first unexpected error"
)]

mod pki_support;

use std::sync::OnceLock;

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use pki_support::*;
use privateca_issuer::pki::{
    CertificateAuthority, ErrorKind, FixedClock, IssuedCertificate, SigningAlgorithm, Template,
};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::oid_registry::{
    OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER, OID_X509_EXT_EXTENDED_KEY_USAGE,
    OID_X509_EXT_SUBJECT_ALT_NAME, OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
};
use x509_parser::prelude::{FromDer, X509Certificate};

const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

/// Returns one RSA 4096 CSR per test binary, because RSA 4096 generation is slow.
fn rsa_4096_csr() -> &'static str {
    static CSR: OnceLock<String> = OnceLock::new();
    CSR.get_or_init(|| openssl_csr(CsrKey::Rsa(4096), "/CN=rsa4096.example", &[], &[]))
}

fn parse(issued: &IssuedCertificate) -> X509Certificate<'_> {
    let (rest, certificate) = X509Certificate::from_der(&issued.certificate).unwrap();
    assert!(rest.is_empty());
    certificate
}

fn extension<'a>(
    certificate: &'a X509Certificate<'_>,
    oid: &x509_parser::der_parser::oid::Oid<'_>,
) -> Option<&'a X509Extension<'a>> {
    certificate.get_extension_unique(oid).unwrap()
}

fn eku_oids(certificate: &X509Certificate<'_>) -> Option<(bool, Vec<String>)> {
    let extension = extension(certificate, &OID_X509_EXT_EXTENDED_KEY_USAGE)?;
    let ParsedExtension::ExtendedKeyUsage(eku) = extension.parsed_extension() else {
        panic!("extendedKeyUsage does not parse");
    };
    let mut oids: Vec<String> = Vec::new();
    if eku.server_auth {
        oids.push(SERVER_AUTH.to_string());
    }
    if eku.client_auth {
        oids.push(CLIENT_AUTH.to_string());
    }
    if eku.code_signing {
        oids.push(CODE_SIGNING.to_string());
    }
    if eku.ocsp_signing {
        oids.push(OCSP_SIGNING.to_string());
    }
    oids.extend(eku.other.iter().map(|oid| oid.to_id_string()));
    Some((extension.critical, oids))
}

/// Returns the subjectAltName extension value of a CSR, unchanged.
fn csr_san_value(csr_pem: &str) -> Vec<u8> {
    let der = pem::parse(csr_pem).unwrap().into_contents();
    let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
    for attribute in csr.certification_request_info.iter_attributes() {
        if let ParsedCriAttribute::ExtensionRequest(request) = attribute.parsed_attribute() {
            for extension in &request.extensions {
                if extension.oid == OID_X509_EXT_SUBJECT_ALT_NAME {
                    return extension.value.to_vec();
                }
            }
        }
    }
    panic!("CSR has no subjectAltName");
}

/// Returns the subject Name DER of a CSR.
fn csr_subject_der(csr_pem: &str) -> Vec<u8> {
    let der = pem::parse(csr_pem).unwrap().into_contents();
    let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
    csr.certification_request_info.subject.as_raw().to_vec()
}

/// Checks what every issued certificate shares: SKI = SHA-1 of the key bits, AKI =
/// the CA's SKI with keyIdentifier only, issuer = the CA's subject, v3.
fn assert_common_extensions(certificate: &X509Certificate<'_>, ca: &CertificateAuthority) {
    let key_bits = &certificate.public_key().subject_public_key.data;
    let expected_ski = digest(&SHA1_FOR_LEGACY_USE_ONLY, key_bits);
    let ski = extension(certificate, &OID_X509_EXT_SUBJECT_KEY_IDENTIFIER).unwrap();
    assert!(!ski.critical);
    let ParsedExtension::SubjectKeyIdentifier(ski_value) = ski.parsed_extension() else {
        panic!("subjectKeyIdentifier does not parse");
    };
    assert_eq!(ski_value.0, expected_ski.as_ref());

    let aki = extension(certificate, &OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER).unwrap();
    assert!(!aki.critical);
    let ParsedExtension::AuthorityKeyIdentifier(aki_value) = aki.parsed_extension() else {
        panic!("authorityKeyIdentifier does not parse");
    };
    assert_eq!(
        aki_value.key_identifier.as_ref().unwrap().0,
        ca.info().key_identifier.as_slice()
    );
    assert!(aki_value.authority_cert_issuer.is_none());
    assert!(aki_value.authority_cert_serial.is_none());

    let (_, ca_certificate) = X509Certificate::from_der(ca.certificate()).unwrap();
    assert_eq!(
        certificate.issuer().as_raw(),
        ca_certificate.subject().as_raw()
    );
    assert_eq!(certificate.version().0, 2);
}

#[test]
fn end_entity_templates_profile() {
    let ca = p256_root();
    let csr = p256_csr("profile.example");
    let cases = [
        (
            Template::EndEntity,
            true,
            vec![SERVER_AUTH, CLIENT_AUTH],
            false,
        ),
        (
            Template::EndEntityServerAuth,
            true,
            vec![SERVER_AUTH],
            false,
        ),
        (
            Template::EndEntityClientAuth,
            true,
            vec![CLIENT_AUTH],
            false,
        ),
        (Template::CodeSigning, false, vec![CODE_SIGNING], true),
        (Template::OcspSigning, false, vec![OCSP_SIGNING], true),
    ];
    for (template, key_encipherment, purposes, eku_critical) in cases {
        let issued = issue(ca, &csr, template).unwrap();
        assert_eq!(issued.template, template);
        let certificate = parse(&issued);

        let constraints = certificate.basic_constraints().unwrap().unwrap();
        assert!(
            !constraints.critical,
            "{template}: basicConstraints must not be critical"
        );
        assert!(!constraints.value.ca, "{template}: CA:FALSE");
        assert_eq!(constraints.value.path_len_constraint, None);

        let key_usage = certificate.key_usage().unwrap().unwrap();
        assert!(key_usage.critical, "{template}: keyUsage critical");
        assert!(
            key_usage.value.digital_signature(),
            "{template}: digitalSignature"
        );
        assert_eq!(
            key_usage.value.key_encipherment(),
            key_encipherment,
            "{template}"
        );
        assert!(
            !key_usage.value.key_cert_sign(),
            "{template}: no keyCertSign"
        );
        assert!(!key_usage.value.crl_sign(), "{template}: no cRLSign");

        let (critical, oids) = eku_oids(&certificate).unwrap();
        assert_eq!(critical, eku_critical, "{template}: EKU criticality");
        assert_eq!(oids, purposes, "{template}: EKU purposes");

        assert_common_extensions(&certificate, ca);
        assert_openssl_verifies(&issued.root_pem(), "", &issued.certificate_pem());
    }
}

#[test]
fn subordinate_templates_profile() {
    let ca = p256_root();
    let csr = p256_csr("sub.example");
    for path_len in 0..=3u8 {
        let template = Template::SubordinateCa { path_len };
        let issued = issue(ca, &csr, template).unwrap();
        let certificate = parse(&issued);

        let constraints = certificate.basic_constraints().unwrap().unwrap();
        assert!(
            constraints.critical,
            "{template}: basicConstraints critical"
        );
        assert!(constraints.value.ca, "{template}: CA:TRUE");
        assert_eq!(
            constraints.value.path_len_constraint,
            Some(u32::from(path_len))
        );

        let key_usage = certificate.key_usage().unwrap().unwrap();
        assert!(key_usage.critical);
        assert!(key_usage.value.digital_signature());
        assert!(key_usage.value.key_cert_sign());
        assert!(key_usage.value.crl_sign());
        assert!(!key_usage.value.key_encipherment());
        assert!(eku_oids(&certificate).is_none(), "{template}: no EKU");
        assert_common_extensions(&certificate, ca);
    }
}

#[test]
fn root_template_not_issuable() {
    let error = issue(p256_root(), &p256_csr("root.example"), Template::RootCa).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
    assert!(error.message().contains("RootCACertificate/V1"));
}

#[test]
fn openssl_text_shows_profile() {
    let ca = p256_root();
    let csr = p256_csr("text.example");

    let leaf = issue(ca, &csr, Template::EndEntity).unwrap();
    let text = openssl_text(&leaf.certificate_pem());
    assert!(
        text.contains("X509v3 Basic Constraints: \n                CA:FALSE"),
        "{text}"
    );
    assert!(
        text.contains(
            "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment"
        ),
        "{text}"
    );
    assert!(text.contains("X509v3 Extended Key Usage: \n                TLS Web Server Authentication, TLS Web Client Authentication"), "{text}");
    assert!(
        text.contains("X509v3 Subject Alternative Name: \n                DNS:text.example"),
        "{text}"
    );
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    assert!(text.contains("Subject: CN = text.example"), "{text}");

    let code = issue(ca, &csr, Template::CodeSigning).unwrap();
    let text = openssl_text(&code.certificate_pem());
    assert!(
        text.contains("X509v3 Extended Key Usage: critical\n                Code Signing"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 Key Usage: critical\n                Digital Signature\n"),
        "{text}"
    );

    let ocsp = issue(ca, &csr, Template::OcspSigning).unwrap();
    let text = openssl_text(&ocsp.certificate_pem());
    assert!(
        text.contains("X509v3 Extended Key Usage: critical\n                OCSP Signing"),
        "{text}"
    );

    let sub = issue(ca, &csr, Template::SubordinateCa { path_len: 2 }).unwrap();
    let text = openssl_text(&sub.certificate_pem());
    assert!(
        text.contains("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:2"),
        "{text}"
    );
    assert!(
        text.contains("Digital Signature, Certificate Sign, CRL Sign"),
        "{text}"
    );
}

#[test]
fn csr_key_types_issue() {
    let ca = p256_root();
    let cases = [
        (rsa_2048_csr().to_string(), "rsaEncryption"),
        (rsa_4096_csr().to_string(), "(4096 bit)"),
        (p256_csr("p256.example"), "NIST CURVE: P-256"),
        (
            openssl_csr(CsrKey::Ec("P-384"), "/CN=p384.example", &[], &[]),
            "NIST CURVE: P-384",
        ),
        (
            openssl_csr(CsrKey::Ec("P-521"), "/CN=p521.example", &[], &[]),
            "NIST CURVE: P-521",
        ),
        (
            openssl_csr(CsrKey::Ed25519, "/CN=ed.example", &[], &[]),
            "ED25519",
        ),
    ];
    for (csr, key_text) in cases {
        let issued = issue(ca, &csr, Template::EndEntity).unwrap();
        let text = openssl_text(&issued.certificate_pem());
        assert!(text.contains(key_text), "expected {key_text} in:\n{text}");
        assert_openssl_verifies(&issued.root_pem(), "", &issued.certificate_pem());
    }
}

#[test]
fn ed25519_key_usage_omits_key_encipherment() {
    let csr = openssl_csr(CsrKey::Ed25519, "/CN=ed.example", &[], &[]);
    let issued = issue(p256_root(), &csr, Template::EndEntity).unwrap();
    let text = openssl_text(&issued.certificate_pem());
    assert!(text.contains("Digital Signature"), "{text}");
    assert!(!text.contains("Key Encipherment"), "{text}");

    // EC keys keep keyEncipherment, as ACM Private CA sets it.
    let issued = issue(p256_root(), &p256_csr("ec.example"), Template::EndEntity).unwrap();
    let text = openssl_text(&issued.certificate_pem());
    assert!(text.contains("Key Encipherment"), "{text}");
}

#[test]
fn rsa_ca_signs_p384_csr() {
    // An RSA_2048 CA signs an EC P-384 CSR with SHA256WITHRSA.
    let ca = rsa_root();
    let csr = openssl_csr(CsrKey::Ec("P-384"), "/CN=ec.example", &[], &[]);
    let issued = ca
        .issue(
            &request(
                csr.as_bytes(),
                Template::EndEntity,
                SigningAlgorithm::Sha256WithRsa,
            ),
            false,
            &FixedClock(test_now()),
        )
        .unwrap();
    let certificate = parse(&issued);
    assert_eq!(
        certificate.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.11"
    );
    let text = openssl_text(&issued.certificate_pem());
    assert!(text.contains("NIST CURVE: P-384"), "{text}");
    assert_openssl_verifies(&issued.root_pem(), "", &issued.certificate_pem());
}

/// Issues a subject-less CSR whose only SAN is `san` and checks the SAN is
/// critical and byte-for-byte the CSR's, the subject is empty, the chain verifies.
fn assert_san_only(san: &str, expected: GeneralName<'_>) {
    let csr = openssl_csr(
        CsrKey::Ec("P-256"),
        "/",
        &[&format!("subjectAltName={san}")],
        &[],
    );
    let issued = issue(p256_root(), &csr, Template::EndEntity).unwrap();
    let certificate = parse(&issued);
    assert_eq!(
        certificate.subject().iter_attributes().count(),
        0,
        "{san}: empty subject"
    );
    let extension = extension(&certificate, &OID_X509_EXT_SUBJECT_ALT_NAME).unwrap();
    assert!(
        extension.critical,
        "{san}: SAN must be critical when the subject is empty"
    );
    assert_eq!(
        extension.value,
        csr_san_value(&csr).as_slice(),
        "{san}: SAN bytes"
    );
    let ParsedExtension::SubjectAlternativeName(names) = extension.parsed_extension() else {
        panic!("SAN does not parse");
    };
    assert_eq!(names.general_names, vec![expected]);
    assert_openssl_verifies(&issued.root_pem(), "", &issued.certificate_pem());
}

#[test]
fn san_only_dns() {
    assert_san_only(
        "DNS:app.example.internal",
        GeneralName::DNSName("app.example.internal"),
    );
}

#[test]
fn san_only_ip() {
    assert_san_only("IP:10.0.0.1", GeneralName::IPAddress(&[10, 0, 0, 1]));
}

#[test]
fn san_only_uri() {
    assert_san_only(
        "URI:spiffe://cluster.local/ns/sandbox/sa/foo",
        GeneralName::URI("spiffe://cluster.local/ns/sandbox/sa/foo"),
    );
}

#[test]
fn san_not_critical_with_subject() {
    let csr = p256_csr("named.example");
    let issued = issue(p256_root(), &csr, Template::EndEntity).unwrap();
    let certificate = parse(&issued);
    let extension = extension(&certificate, &OID_X509_EXT_SUBJECT_ALT_NAME).unwrap();
    assert!(!extension.critical);
    assert_eq!(extension.value, csr_san_value(&csr).as_slice());
}

#[test]
fn no_san_without_csr_san() {
    let csr = openssl_csr(CsrKey::Ec("P-256"), "/CN=plain.example", &[], &[]);
    let issued = issue(p256_root(), &csr, Template::EndEntity).unwrap();
    let certificate = parse(&issued);
    assert!(extension(&certificate, &OID_X509_EXT_SUBJECT_ALT_NAME).is_none());
}

#[test]
fn csr_extensions_ignored() {
    let csr = openssl_csr(
        CsrKey::Ec("P-256"),
        "/CN=greedy.example",
        &[
            "basicConstraints=critical,CA:TRUE,pathlen:5",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            "extendedKeyUsage=codeSigning,emailProtection",
            "nsComment=custom extension",
            "subjectAltName=DNS:greedy.example",
        ],
        &[],
    );

    let issued = issue(p256_root(), &csr, Template::EndEntityServerAuth).unwrap();
    let certificate = parse(&issued);

    let constraints = certificate.basic_constraints().unwrap().unwrap();
    assert!(!constraints.value.ca);
    assert_eq!(constraints.value.path_len_constraint, None);
    let key_usage = certificate.key_usage().unwrap().unwrap();
    assert!(!key_usage.value.key_cert_sign());
    assert!(!key_usage.value.crl_sign());
    assert!(key_usage.value.key_encipherment());
    assert_eq!(eku_oids(&certificate).unwrap().1, vec![SERVER_AUTH]);

    let oids: Vec<String> = certificate
        .extensions()
        .iter()
        .map(|e| e.oid.to_id_string())
        .collect();
    assert_eq!(
        oids,
        vec![
            "2.5.29.19",
            "2.5.29.15",
            "2.5.29.37",
            "2.5.29.14",
            "2.5.29.35",
            "2.5.29.17"
        ],
        "only the template's extensions and the SAN"
    );
}

#[test]
fn subject_copied_byte_for_byte() {
    // Two O values and a multi-valued RDN, as cert-manager and Go produce them.
    let csr = openssl_csr(
        CsrKey::Ec("P-256"),
        "/C=US/O=Org One/O=Org Two/OU=Team+CN=multi.example",
        &["subjectAltName=DNS:multi.example"],
        &["-multivalue-rdn"],
    );
    let issued = issue(p256_root(), &csr, Template::EndEntity).unwrap();
    let certificate = parse(&issued);
    assert_eq!(
        certificate.subject().as_raw(),
        csr_subject_der(&csr).as_slice()
    );
    let organizations: Vec<&str> = certificate
        .subject()
        .iter_organization()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(organizations, vec!["Org One", "Org Two"]);
    let multi_valued = certificate
        .subject()
        .iter_rdn()
        .filter(|rdn| rdn.iter().count() == 2)
        .count();
    assert_eq!(multi_valued, 1);
    let text = openssl_text(&issued.certificate_pem());
    assert!(text.contains("O = Org One, O = Org Two"), "{text}");
}

#[test]
fn identical_requests_differ_only_in_serial_and_signature() {
    // At engine level, the same template gives the same extensions.
    let csr = p256_csr("same.example");
    let first = issue(p256_root(), &csr, Template::EndEntity).unwrap();
    let second = issue(p256_root(), &csr, Template::EndEntity).unwrap();
    assert_ne!(first.serial, second.serial);
    let first_extensions: Vec<(String, bool, Vec<u8>)> = parse(&first)
        .extensions()
        .iter()
        .map(|e| (e.oid.to_id_string(), e.critical, e.value.to_vec()))
        .collect();
    let second_extensions: Vec<(String, bool, Vec<u8>)> = parse(&second)
        .extensions()
        .iter()
        .map(|e| (e.oid.to_id_string(), e.critical, e.value.to_vec()))
        .collect();
    assert_eq!(first_extensions, second_extensions);
}

#[test]
fn serial_is_positive_der_integer() {
    for _ in 0..24 {
        let issued = issue(
            p256_root(),
            &p256_csr("serial.example"),
            Template::EndEntity,
        )
        .unwrap();
        let certificate = parse(&issued);
        let magnitude = issued.serial.as_bytes();
        assert!(magnitude.len() <= 16);
        let raw = certificate.raw_serial();
        if magnitude[0] & 0x80 != 0 {
            assert_eq!(raw[0], 0, "top bit set: DER needs a leading zero byte");
            assert_eq!(&raw[1..], magnitude);
        } else {
            assert_eq!(raw, magnitude);
        }
        let text = openssl_text(&issued.certificate_pem());
        assert!(!text.contains("(Negative)"), "{text}");
    }
}

#[test]
fn tampered_and_weak_csr_rejected() {
    // The message names the bad signature or the key size.
    let mut der = pem::parse(p256_csr("tampered.example"))
        .unwrap()
        .into_contents();
    let last = der.len() - 1;
    der[last] ^= 0x80;
    let tampered = pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", der));
    let error = issue(p256_root(), &tampered, Template::EndEntity).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedCsr);
    assert!(
        error.message().contains("signature does not verify"),
        "{}",
        error.message()
    );

    let weak = openssl_csr(CsrKey::Rsa(1024), "/CN=weak.example", &[], &[]);
    let error = issue(p256_root(), &weak, Template::EndEntity).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedCsr);
    assert!(
        error.message().contains("RSA 1024-bit"),
        "{}",
        error.message()
    );
}
