//! CSR parsing and checks, on CSRs made by openssl and by x509-cert in the test.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails on the first unexpected error"
)]

mod pki_support;

use std::str::FromStr;
use std::sync::OnceLock;

use der::asn1::{BitString, Ia5String, OctetString, SetOfVec};
use der::{Decode, Encode};
use pki_support::*;
use privateca_issuer::pki::csr::MAX_CSR_BYTES;
use privateca_issuer::pki::{CaKey, CsrInfo, ErrorKind, KeyAlgorithm, SigningAlgorithm};
use tempfile::TempDir;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

fn pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn csr_der(pem_text: &str) -> Vec<u8> {
    pem::parse(pem_text).unwrap().into_contents()
}

fn p256_key() -> &'static CaKey {
    static KEY: OnceLock<CaKey> = OnceLock::new();
    KEY.get_or_init(|| CaKey::generate(KeyAlgorithm::EcPrime256v1).unwrap())
}

/// Returns the path of one RSA 2048 key file made by openssl, for CSRs that need
/// special signing options.
fn rsa_key_path() -> &'static str {
    static PATH: OnceLock<(TempDir, String)> = OnceLock::new();
    let (_, path) = PATH.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let key = openssl(&["genrsa", "2048"]);
        let path = write(dir.path(), "rsa.pem", &key);
        (dir, path)
    });
    path
}

/// Builds a CSR with the x509-cert types: `subject`, the given SAN entries (none
/// means no extension), signed by the shared P-256 key with `signature_oid`.
fn custom_csr(subject: &str, names: Option<Vec<GeneralName>>, signature_oid: &str) -> Vec<u8> {
    let key = p256_key();
    let subject = Name::from_str(subject).unwrap();
    let mut attributes = SetOfVec::new();
    if let Some(names) = names {
        let extension: Extension = (false, &SubjectAltName(names))
            .to_extension(&subject, &[])
            .unwrap();
        let request = ExtensionReq(vec![extension]);
        attributes
            .insert(Attribute::try_from(request).unwrap())
            .unwrap();
    }
    let info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: SubjectPublicKeyInfoOwned::from_der(&key.public_key_der()).unwrap(),
        attributes,
    };
    let signature = key
        .sign(SigningAlgorithm::Sha256WithEcdsa, &info.to_der().unwrap())
        .unwrap();
    let request = CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned {
            oid: der::oid::ObjectIdentifier::new_unwrap(signature_oid),
            parameters: None,
        },
        signature: BitString::from_bytes(&signature).unwrap(),
    };
    request.to_der().unwrap()
}

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

fn dns(name: &str) -> GeneralName {
    GeneralName::DnsName(Ia5String::new(name).unwrap())
}

fn assert_malformed(input: &[u8], expected_fragment: &str) {
    let error = CsrInfo::parse(input).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedCsr, "{}", error.message());
    assert!(
        error.message().contains(expected_fragment),
        "message {:?} must contain {expected_fragment:?}",
        error.message()
    );
}

#[test]
fn csr_reads_pem_and_der() {
    let csr = p256_csr("pem.example");
    let from_pem = CsrInfo::parse(csr.as_bytes()).unwrap();
    let from_der = CsrInfo::parse(&csr_der(&csr)).unwrap();
    assert_eq!(from_pem, from_der);
    assert_eq!(from_pem.subject, "CN=pem.example");
    assert_eq!(
        from_pem.subject_alt_names,
        vec!["DNS:pem.example".to_string()]
    );
    assert_eq!(from_pem.key_description, "EC P-256");
    assert!(!from_pem.subject_is_empty);
}

#[test]
fn csr_reads_new_certificate_request_label() {
    let der = csr_der(&p256_csr("new.example"));
    let info = CsrInfo::parse(pem("NEW CERTIFICATE REQUEST", &der).as_bytes()).unwrap();
    assert_eq!(info.subject, "CN=new.example");
}

#[test]
fn csr_reads_crlf_pem() {
    let csr = p256_csr("crlf.example").replace('\n', "\r\n");
    assert!(CsrInfo::parse(csr.as_bytes()).is_ok());
}

#[test]
fn csr_reads_pem_after_text() {
    let csr = format!(
        "Certificate Request for app.example\n{}",
        p256_csr("text.example")
    );
    let info = CsrInfo::parse(csr.as_bytes()).unwrap();
    assert_eq!(info.subject, "CN=text.example");
}

#[test]
fn csr_rejects_other_pem_label() {
    let der = csr_der(&p256_csr("label.example"));
    assert_malformed(pem("CERTIFICATE", &der).as_bytes(), "\"CERTIFICATE\"");
}

#[test]
fn csr_rejects_garbage() {
    assert_malformed(b"not a csr", "not a valid PKCS#10");
    assert_malformed(b"", "CSR is empty");
}

#[test]
fn csr_rejects_oversize() {
    let mut input = p256_csr("big.example").into_bytes();
    input.resize(MAX_CSR_BYTES + 1, b'\n');
    assert_malformed(&input, "32768-byte maximum");
}

#[test]
fn csr_rejects_trailing_bytes() {
    let mut der = csr_der(&p256_csr("trailing.example"));
    der.extend_from_slice(&[0, 0]);
    assert_malformed(&der, "2 bytes after the request");
}

#[test]
fn csr_rejects_tampered_signature() {
    for csr in [p256_csr("tampered.example"), rsa_2048_csr().to_string()] {
        let mut der = csr_der(&csr);
        let last = der.len() - 1;
        der[last] ^= 0x01;
        assert_malformed(&der, "signature does not verify");
    }
}

#[test]
fn csr_rejects_tampered_subject() {
    let mut der = csr_der(&p256_csr("aaaa.example"));
    let position = der.windows(4).position(|w| w == b"aaaa").unwrap();
    der[position] = b'b';
    assert_malformed(&der, "signature does not verify");
}

#[test]
fn csr_rejects_rsa_1024() {
    let csr = openssl_csr(CsrKey::Rsa(1024), "/CN=weak.example", &[], &[]);
    assert_malformed(
        csr.as_bytes(),
        "RSA 1024-bit key is too weak; use RSA 2048 or larger, or EC P-256",
    );
}

#[test]
fn csr_rejects_secp256k1() {
    let csr = openssl_csr(CsrKey::Ec("secp256k1"), "/CN=k1.example", &[], &[]);
    assert_malformed(csr.as_bytes(), "1.3.132.0.10");
}

#[test]
fn csr_rejects_rsa_pss_signature() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("pss.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        rsa_key_path(),
        "-subj",
        "/CN=pss.example",
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-out",
        out.to_str().unwrap(),
    ]);
    let csr = std::fs::read(&out).unwrap();
    assert_malformed(&csr, "RSASSA-PSS (1.2.840.113549.1.1.10)");
}

#[test]
fn csr_rejects_unknown_signature_algorithm() {
    let der = custom_csr("CN=odd.example", None, "1.2.3.4.5");
    assert_malformed(&der, "1.2.3.4.5");
}

#[test]
fn csr_accepts_every_supported_key() {
    let cases = [
        (
            openssl_csr(CsrKey::Ec("P-384"), "/CN=a", &[], &["-sha384"]),
            "EC P-384",
        ),
        (
            openssl_csr(CsrKey::Ec("P-521"), "/CN=a", &[], &["-sha512"]),
            "EC P-521",
        ),
        (
            openssl_csr(CsrKey::Ec("P-256"), "/CN=a", &[], &["-sha512"]),
            "EC P-256",
        ),
        (
            openssl_csr(CsrKey::Ec("P-384"), "/CN=a", &[], &["-sha256"]),
            "EC P-384",
        ),
        (openssl_csr(CsrKey::Ed25519, "/CN=a", &[], &[]), "Ed25519"),
        (rsa_2048_csr().to_string(), "RSA 2048"),
    ];
    for (csr, description) in cases {
        let info = CsrInfo::parse(csr.as_bytes()).unwrap();
        assert_eq!(info.key_description, description);
    }
}

#[test]
fn csr_accepts_sha384_rsa_signature() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("sha384.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        rsa_key_path(),
        "-subj",
        "/CN=sha384.example",
        "-sha384",
        "-out",
        out.to_str().unwrap(),
    ]);
    let info = CsrInfo::parse(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(info.key_description, "RSA 2048");
}

#[test]
fn csr_rejects_no_subject_no_san() {
    let csr = openssl_csr(CsrKey::Ec("P-256"), "/", &[], &[]);
    assert_malformed(csr.as_bytes(), "neither a subject nor a subjectAltName");
}

#[test]
fn csr_accepts_no_subject_with_san() {
    let csr = openssl_csr(
        CsrKey::Ec("P-256"),
        "/",
        &["subjectAltName=DNS:app.example.internal"],
        &[],
    );
    let info = CsrInfo::parse(csr.as_bytes()).unwrap();
    assert!(info.subject_is_empty);
    assert_eq!(info.subject, "");
    assert_eq!(
        info.subject_alt_names,
        vec!["DNS:app.example.internal".to_string()]
    );
}

#[test]
fn csr_custom_builder_accepted() {
    // The builder itself must make CSRs the engine accepts, or the rejections below
    // prove nothing.
    let der = custom_csr("CN=ok.example", Some(vec![dns("ok.example")]), ECDSA_SHA256);
    let info = CsrInfo::parse(&der).unwrap();
    assert_eq!(info.subject_alt_names, vec!["DNS:ok.example".to_string()]);
}

#[test]
fn csr_rejects_empty_dns_san() {
    let der = custom_csr("CN=x", Some(vec![dns("")]), ECDSA_SHA256);
    assert_malformed(&der, "empty DNS SAN");
}

#[test]
fn csr_rejects_control_character_san() {
    let der = custom_csr("CN=x", Some(vec![dns("bad\u{7}.example")]), ECDSA_SHA256);
    assert_malformed(
        &der,
        "DNS SAN \"bad\\u{7}.example\" contains a control character",
    );
}

#[test]
fn csr_rejects_five_byte_ip_san() {
    let ip = GeneralName::IpAddress(OctetString::new([10, 0, 0, 1, 5]).unwrap());
    let der = custom_csr("CN=x", Some(vec![ip]), ECDSA_SHA256);
    assert_malformed(&der, "IP SAN is 5 bytes long");
}

#[test]
fn csr_rejects_empty_san_extension() {
    let der = custom_csr("CN=x", Some(Vec::new()), ECDSA_SHA256);
    let error = CsrInfo::parse(&der).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedCsr);
}

#[test]
fn csr_subject_rfc4514_escaped() {
    let csr = openssl_csr(
        CsrKey::Ec("P-256"),
        "/CN=a\\,b/O=x\\+y/OU=#tag;<x>",
        &[],
        &[],
    );
    let info = CsrInfo::parse(csr.as_bytes()).unwrap();
    assert_eq!(info.subject, "OU=\\#tag\\;\\<x\\>,O=x\\+y,CN=a\\,b");
}

#[test]
fn csr_describes_every_san_type() {
    let csr = openssl_csr(
        CsrKey::Ec("P-256"),
        "/CN=all.example",
        &[
            "subjectAltName=DNS:a.example,IP:10.0.0.1,IP:2001:db8::1,URI:spiffe://cluster.local/ns/a,email:ops@example.com",
        ],
        &[],
    );
    let info = CsrInfo::parse(csr.as_bytes()).unwrap();
    assert_eq!(
        info.subject_alt_names,
        vec![
            "DNS:a.example".to_string(),
            "IP:10.0.0.1".to_string(),
            "IP:2001:db8::1".to_string(),
            "URI:spiffe://cluster.local/ns/a".to_string(),
            "email:ops@example.com".to_string(),
        ]
    );
}

#[test]
fn csr_empty_input_rejected() {
    for input in [&b""[..], &b"  \n"[..]] {
        let error = CsrInfo::parse(input).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MalformedCsr);
        assert!(
            error.message().contains("CSR is empty"),
            "{}",
            error.message()
        );
    }
}
