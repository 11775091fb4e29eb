//! Loading CA keys from PEM and DER, and naming the keys that cannot be loaded.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING,
    EcdsaKeyPair, EcdsaSigningAlgorithm,
};
use der::asn1::UintRef;
use der::{Decode, Sequence};

use super::{CaKey, SUPPORTED_KEYS};
use crate::pki::error::{Error, Result};

/// OIDs of PKCS#8 key algorithms the engine names in messages but does not support.
const OTHER_KEY_ALGORITHMS: [(&str, &str); 4] = [
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
    ("1.2.840.10040.4.1", "DSA"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
];

impl CaKey {
    /// Loads a key from PEM: PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1
    /// `RSA PRIVATE KEY`. Fails when the key is none of the supported algorithms.
    ///
    /// Other PEM blocks before the key, such as `EC PARAMETERS`, are skipped.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let blocks = ::pem::parse_many(pem).map_err(|e| {
            Error::malformed_certificate(format!(
                "private key PEM cannot be read ({e}); give a PEM PRIVATE KEY block"
            ))
        })?;
        let labels: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
        for block in &blocks {
            match block.tag() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(block.contents()),
                "EC PRIVATE KEY" => return Self::from_sec1_der(block.contents()),
                "RSA PRIVATE KEY" => return Self::from_pkcs1_der(block.contents()),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(Error::malformed_certificate(
                        "private key is encrypted; decrypt it first, for example with \
                         `openssl pkcs8 -topk8 -nocrypt`",
                    ));
                }
                _ => {}
            }
        }
        Err(Error::malformed_certificate(format!(
            "no private key found in PEM (blocks: {}); give a PRIVATE KEY, EC PRIVATE KEY \
             or RSA PRIVATE KEY block",
            if labels.is_empty() {
                "none".to_string()
            } else {
                labels.join(", ")
            }
        )))
    }

    fn from_sec1_der(der: &[u8]) -> Result<Self> {
        let curves: [&'static EcdsaSigningAlgorithm; 3] = [
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &ECDSA_P384_SHA384_ASN1_SIGNING,
            &ECDSA_P521_SHA512_ASN1_SIGNING,
        ];
        for curve in curves {
            if let Ok(pair) = EcdsaKeyPair::from_private_key_der(curve, der) {
                let pkcs8 = pair
                    .to_pkcs8v1()
                    .map_err(|_| Error::internal("EC private key cannot be converted to PKCS#8"))?;
                return Self::from_pkcs8_der(pkcs8.as_ref());
            }
        }
        Err(Error::malformed_certificate(format!(
            "EC PRIVATE KEY is not a valid key on P-256, P-384 or P-521; {SUPPORTED_KEYS}"
        )))
    }

    fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        let rsa = RsaKeyPair::from_der(der).map_err(|_| match rsa_modulus_bits(der) {
            Some(bits) => rsa_size_error(bits),
            None => Error::malformed_certificate(format!(
                "RSA PRIVATE KEY is not a valid PKCS#1 RSA key; {SUPPORTED_KEYS}"
            )),
        })?;
        let pkcs8: Pkcs8V1Der<'static> = rsa
            .as_der()
            .map_err(|_| Error::internal("RSA private key cannot be converted to PKCS#8"))?;
        Self::from_rsa(rsa, pkcs8.as_ref())
    }
}

/// RSAPrivateKey (RFC 8017, A.1.2) without otherPrimeInfos, read only to name the
/// size of a key that aws-lc-rs rejected.
#[derive(Sequence)]
struct RsaPrivateKey<'a> {
    version: u8,
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
    private_exponent: UintRef<'a>,
    prime1: UintRef<'a>,
    prime2: UintRef<'a>,
    exponent1: UintRef<'a>,
    exponent2: UintRef<'a>,
    coefficient: UintRef<'a>,
}

/// Returns the modulus size in bits of a PKCS#1 RSAPrivateKey, or None when it
/// cannot be read.
fn rsa_modulus_bits(pkcs1_der: &[u8]) -> Option<usize> {
    let key = RsaPrivateKey::from_der(pkcs1_der).ok()?;
    let modulus = key.modulus.as_bytes();
    let first = modulus.first()?;
    Some(modulus.len() * 8 - first.leading_zeros() as usize)
}

pub(super) fn rsa_size_error(bits: usize) -> Error {
    Error::malformed_certificate(format!(
        "RSA {bits}-bit CA key is not supported; {SUPPORTED_KEYS}"
    ))
}

/// Builds the error for a PKCS#8 key that no supported parser accepted, naming its
/// algorithm (and curve) when the PKCS#8 structure can be read.
pub(super) fn unsupported_pkcs8(der: &[u8]) -> Error {
    let Ok(info) = p256::pkcs8::PrivateKeyInfoRef::try_from(der) else {
        return Error::malformed_certificate(format!(
            "PRIVATE KEY is not a valid PKCS#8 key; {SUPPORTED_KEYS}"
        ));
    };
    let oid = info.algorithm.oid.to_string();
    let name = OTHER_KEY_ALGORITHMS
        .iter()
        .find(|(known, _)| *known == oid)
        .map(|(_, name)| (*name).to_string());
    let description = match name {
        Some(name) => format!("{name} ({oid})"),
        None if oid == "1.2.840.10045.2.1" => {
            let curve = info
                .algorithm
                .parameters_oid()
                .map(|c| c.to_string())
                .unwrap_or_else(|_| "unnamed curve".to_string());
            format!("EC on curve {curve}, or a key that fails validation")
        }
        None if oid == "1.2.840.113549.1.1.1" => {
            match rsa_modulus_bits(info.private_key.as_bytes()) {
                Some(bits) => return rsa_size_error(bits),
                None => "RSA, which fails validation".to_string(),
            }
        }
        None => format!("algorithm {oid}"),
    };
    Error::malformed_certificate(format!(
        "CA private key ({description}) is not supported; {SUPPORTED_KEYS}"
    ))
}
