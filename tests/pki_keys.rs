//! CA keys: generation, PEM forms made by openssl, signing with every signing
//! algorithm of the key's family.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails on the first unexpected error"
)]

use std::process::Command;
use std::sync::OnceLock;

use aws_lc_rs::signature::{self as aws, UnparsedPublicKey, VerificationAlgorithm};
use privateca_issuer::pki::{CaKey, ErrorKind, KeyAlgorithm, SigningAlgorithm};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Returns one generated key per algorithm for the whole test binary, because RSA
/// 4096 generation is slow.
fn key(algorithm: KeyAlgorithm) -> &'static CaKey {
    static KEYS: OnceLock<Vec<CaKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        KeyAlgorithm::ALL
            .iter()
            .map(|a| CaKey::generate(*a).unwrap())
            .collect()
    });
    let index = KeyAlgorithm::ALL
        .iter()
        .position(|a| *a == algorithm)
        .unwrap();
    &keys[index]
}

fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn verification_algorithm(
    key: KeyAlgorithm,
    signing: SigningAlgorithm,
) -> &'static dyn VerificationAlgorithm {
    use KeyAlgorithm as K;
    use SigningAlgorithm as S;
    match (key, signing) {
        (_, S::Sha256WithRsa) => &aws::RSA_PKCS1_2048_8192_SHA256,
        (_, S::Sha384WithRsa) => &aws::RSA_PKCS1_2048_8192_SHA384,
        (_, S::Sha512WithRsa) => &aws::RSA_PKCS1_2048_8192_SHA512,
        (K::EcPrime256v1, S::Sha256WithEcdsa) => &aws::ECDSA_P256_SHA256_ASN1,
        (K::EcPrime256v1, S::Sha384WithEcdsa) => &aws::ECDSA_P256_SHA384_ASN1,
        (K::EcPrime256v1, S::Sha512WithEcdsa) => &aws::ECDSA_P256_SHA512_ASN1,
        (K::EcSecp384r1, S::Sha256WithEcdsa) => &aws::ECDSA_P384_SHA256_ASN1,
        (K::EcSecp384r1, S::Sha384WithEcdsa) => &aws::ECDSA_P384_SHA384_ASN1,
        (K::EcSecp384r1, S::Sha512WithEcdsa) => &aws::ECDSA_P384_SHA512_ASN1,
        (_, S::Sha256WithEcdsa) => &aws::ECDSA_P521_SHA256_ASN1,
        (_, S::Sha384WithEcdsa) => &aws::ECDSA_P521_SHA384_ASN1,
        (_, S::Sha512WithEcdsa) => &aws::ECDSA_P521_SHA512_ASN1,
    }
}

#[test]
fn generate_every_algorithm() {
    for algorithm in KeyAlgorithm::ALL {
        assert_eq!(key(algorithm).algorithm(), algorithm);
    }
}

#[test]
fn sign_every_family_pair() {
    let message = b"tbsCertificate bytes";
    for key_algorithm in KeyAlgorithm::ALL {
        let key = key(key_algorithm);
        let spki_der = key.public_key_der();
        let (_, spki) = SubjectPublicKeyInfo::from_der(&spki_der).unwrap();
        for signing in SigningAlgorithm::ALL {
            if signing.is_rsa() != key_algorithm.is_rsa() {
                continue;
            }
            let signature = key.sign(signing, message).unwrap();
            let verifier = UnparsedPublicKey::new(
                verification_algorithm(key_algorithm, signing),
                &spki.subject_public_key.data,
            );
            let verified = verifier.verify(message, &signature);
            assert!(
                verified.is_ok(),
                "{key_algorithm} with {signing} does not verify"
            );
        }
    }
}

#[test]
fn sign_rejects_family_mismatch() {
    let error = key(KeyAlgorithm::EcPrime256v1)
        .sign(SigningAlgorithm::Sha256WithRsa, b"x")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
    assert!(error.message().contains("SHA256WITHRSA"));
    assert!(error.message().contains("EC_prime256v1"));
}

#[test]
fn pkcs8_pem_round_trip() {
    for algorithm in [KeyAlgorithm::Rsa2048, KeyAlgorithm::EcSecp521r1] {
        let original = key(algorithm);
        let pem = original.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(!pem.contains('\r'));
        let loaded = CaKey::from_pem(&pem).unwrap();
        assert_eq!(loaded.algorithm(), algorithm);
        assert_eq!(loaded.public_key_der(), original.public_key_der());
    }
}

#[test]
fn from_pem_reads_openssl_forms() {
    let cases = [
        (
            openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
            ]),
            KeyAlgorithm::EcSecp384r1,
        ),
        (
            openssl(&["ecparam", "-genkey", "-name", "prime256v1"]),
            KeyAlgorithm::EcPrime256v1,
        ),
        (
            openssl(&["ecparam", "-genkey", "-name", "secp521r1", "-noout"]),
            KeyAlgorithm::EcSecp521r1,
        ),
        (
            openssl(&["genrsa", "-traditional", "3072"]),
            KeyAlgorithm::Rsa3072,
        ),
        (openssl(&["genrsa", "2048"]), KeyAlgorithm::Rsa2048),
    ];
    for (pem, expected) in cases {
        let key = CaKey::from_pem(&pem).unwrap();
        assert_eq!(key.algorithm(), expected, "key from PEM:\n{pem}");
        let signing = expected.default_signing_algorithm();
        assert!(key.sign(signing, b"m").is_ok());
    }
}

#[test]
fn from_pem_rejects_rsa_1024() {
    let pem = openssl(&["genrsa", "1024"]);
    let error = CaKey::from_pem(&pem).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedCertificate);
    assert!(
        error.message().contains("RSA 1024-bit"),
        "{}",
        error.message()
    );
}

#[test]
fn from_pem_rejects_ed25519() {
    let pem = openssl(&["genpkey", "-algorithm", "ED25519"]);
    let error = CaKey::from_pem(&pem).unwrap_err();
    assert!(error.message().contains("Ed25519"), "{}", error.message());
}

#[test]
fn from_pem_rejects_secp256k1() {
    let pem = openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:secp256k1",
    ]);
    let error = CaKey::from_pem(&pem).unwrap_err();
    assert!(
        error.message().contains("1.3.132.0.10"),
        "{}",
        error.message()
    );
}

#[test]
fn from_pem_rejects_non_key() {
    let error = CaKey::from_pem("no PEM here").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedCertificate);
}

#[test]
fn debug_hides_key_material() {
    let key = key(KeyAlgorithm::EcPrime256v1);
    let debug = format!("{key:?}");
    let pem = key.to_pkcs8_pem();
    let body_line = pem.lines().nth(1).unwrap();
    assert!(debug.contains("EcPrime256v1"));
    assert!(!debug.contains(body_line));
    assert!(!debug.contains("pkcs8"));
}
