//! Signature AlgorithmIdentifiers for signing, and signature verification of CSRs and
//! CA certificates.
//!
//! Verification maps the signature OID and the signer's key (and curve) to an
//! aws-lc-rs algorithm. x509-parser's own `verify_signature` is not used because it
//! has no P-521 and no ecdsa-with-SHA512.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA384_ASN1, ECDSA_P256_SHA512_ASN1, ECDSA_P384_SHA256_ASN1,
    ECDSA_P384_SHA384_ASN1, ECDSA_P384_SHA512_ASN1, ECDSA_P521_SHA256_ASN1, ECDSA_P521_SHA384_ASN1,
    ECDSA_P521_SHA512_ASN1, ED25519, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
    UnparsedPublicKey, VerificationAlgorithm,
};
use der::asn1::Any;
use der::oid::ObjectIdentifier;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::algorithm::SigningAlgorithm;

/// rsaEncryption, the key algorithm of RSA SubjectPublicKeyInfo.
pub(crate) const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
/// id-RSASSA-PSS, as a signature or key algorithm.
pub(crate) const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
/// id-ecPublicKey.
pub(crate) const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// id-Ed25519, as a key and a signature algorithm.
pub(crate) const ED25519_OID: &str = "1.3.101.112";
/// The named curves the engine accepts, as (OID, name).
pub(crate) const CURVES: [(&str, &str); 3] = [
    ("1.2.840.10045.3.1.7", "P-256"),
    ("1.3.132.0.34", "P-384"),
    ("1.3.132.0.35", "P-521"),
];

/// Signature algorithms by OID, with the name used in messages.
const SIGNATURE_NAMES: [(&str, &str); 9] = [
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    (RSASSA_PSS, "RSASSA-PSS"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    (ED25519_OID, "Ed25519"),
];

/// Reason a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VerifyError {
    /// The signature algorithm, or its pairing with the key, is not supported; the
    /// text names the algorithm and OID.
    Unsupported(String),
    /// The signature does not verify with the key.
    BadSignature,
}

/// Returns the AlgorithmIdentifier written into certificates and CSRs: sha*WithRSAEncryption
/// with NULL parameters, ecdsa-with-SHA* with absent parameters (RFC 4055, RFC 5758).
pub(crate) fn algorithm_identifier(algorithm: SigningAlgorithm) -> AlgorithmIdentifierOwned {
    let (oid, parameters) = match algorithm {
        SigningAlgorithm::Sha256WithRsa => ("1.2.840.113549.1.1.11", Some(Any::null())),
        SigningAlgorithm::Sha384WithRsa => ("1.2.840.113549.1.1.12", Some(Any::null())),
        SigningAlgorithm::Sha512WithRsa => ("1.2.840.113549.1.1.13", Some(Any::null())),
        SigningAlgorithm::Sha256WithEcdsa => ("1.2.840.10045.4.3.2", None),
        SigningAlgorithm::Sha384WithEcdsa => ("1.2.840.10045.4.3.3", None),
        SigningAlgorithm::Sha512WithEcdsa => ("1.2.840.10045.4.3.4", None),
    };
    AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap(oid),
        parameters,
    }
}

/// Names a signature algorithm OID for messages, such as `RSASSA-PSS (1.2.840.113549.1.1.10)`.
pub(crate) fn describe_signature_algorithm(oid: &str) -> String {
    match SIGNATURE_NAMES.iter().find(|(known, _)| *known == oid) {
        Some((_, name)) => format!("{name} ({oid})"),
        None => format!("with OID {oid}"),
    }
}

/// Returns the curve name of an EC SubjectPublicKeyInfo, or None for another key type or
/// curve.
pub(crate) fn curve_name(spki: &SubjectPublicKeyInfo<'_>) -> Option<&'static str> {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()?
        .as_oid()
        .ok()?
        .to_id_string();
    CURVES
        .iter()
        .find(|(oid, _)| *oid == curve)
        .map(|(_, name)| *name)
}

/// Verifies `signature` over `message` made with the signature algorithm
/// `signature_oid` by the holder of `signer`.
pub(crate) fn verify(
    signature_oid: &str,
    signer: &SubjectPublicKeyInfo<'_>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let algorithm = verification_algorithm(signature_oid, signer)?;
    UnparsedPublicKey::new(algorithm, &signer.subject_public_key.data)
        .verify(message, signature)
        .map_err(|_| VerifyError::BadSignature)
}

fn verification_algorithm(
    signature_oid: &str,
    signer: &SubjectPublicKeyInfo<'_>,
) -> Result<&'static dyn VerificationAlgorithm, VerifyError> {
    let key_oid = signer.algorithm.algorithm.to_id_string();
    let unsupported = || {
        VerifyError::Unsupported(format!(
            "signature algorithm {} with a key of type {key_oid}",
            describe_signature_algorithm(signature_oid)
        ))
    };
    let algorithm: &'static dyn VerificationAlgorithm = match key_oid.as_str() {
        RSA_ENCRYPTION => match signature_oid {
            "1.2.840.113549.1.1.5" => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            "1.2.840.113549.1.1.11" => &RSA_PKCS1_2048_8192_SHA256,
            "1.2.840.113549.1.1.12" => &RSA_PKCS1_2048_8192_SHA384,
            "1.2.840.113549.1.1.13" => &RSA_PKCS1_2048_8192_SHA512,
            _ => return Err(unsupported()),
        },
        EC_PUBLIC_KEY => match (curve_name(signer), signature_oid) {
            (Some("P-256"), "1.2.840.10045.4.3.2") => &ECDSA_P256_SHA256_ASN1,
            (Some("P-256"), "1.2.840.10045.4.3.3") => &ECDSA_P256_SHA384_ASN1,
            (Some("P-256"), "1.2.840.10045.4.3.4") => &ECDSA_P256_SHA512_ASN1,
            (Some("P-384"), "1.2.840.10045.4.3.2") => &ECDSA_P384_SHA256_ASN1,
            (Some("P-384"), "1.2.840.10045.4.3.3") => &ECDSA_P384_SHA384_ASN1,
            (Some("P-384"), "1.2.840.10045.4.3.4") => &ECDSA_P384_SHA512_ASN1,
            (Some("P-521"), "1.2.840.10045.4.3.2") => &ECDSA_P521_SHA256_ASN1,
            (Some("P-521"), "1.2.840.10045.4.3.3") => &ECDSA_P521_SHA384_ASN1,
            (Some("P-521"), "1.2.840.10045.4.3.4") => &ECDSA_P521_SHA512_ASN1,
            _ => return Err(unsupported()),
        },
        ED25519_OID if signature_oid == ED25519_OID => &ED25519,
        _ => return Err(unsupported()),
    };
    Ok(algorithm)
}
