//! CA key algorithms and signing algorithms, named as ACM Private CA names them.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// Algorithm and size of a CA's private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum KeyAlgorithm {
    /// RSA with a 2048-bit modulus.
    #[serde(rename = "RSA_2048")]
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    #[serde(rename = "RSA_3072")]
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    #[serde(rename = "RSA_4096")]
    Rsa4096,
    /// ECDSA on NIST P-256.
    #[serde(rename = "EC_prime256v1")]
    EcPrime256v1,
    /// ECDSA on NIST P-384.
    #[serde(rename = "EC_secp384r1")]
    EcSecp384r1,
    /// ECDSA on NIST P-521.
    #[serde(rename = "EC_secp521r1")]
    EcSecp521r1,
}

/// Signature algorithm a CA signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "SHA256WITHRSA")]
    Sha256WithRsa,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[serde(rename = "SHA384WITHRSA")]
    Sha384WithRsa,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    #[serde(rename = "SHA512WITHRSA")]
    Sha512WithRsa,
    /// ECDSA with SHA-256.
    #[serde(rename = "SHA256WITHECDSA")]
    Sha256WithEcdsa,
    /// ECDSA with SHA-384.
    #[serde(rename = "SHA384WITHECDSA")]
    Sha384WithEcdsa,
    /// ECDSA with SHA-512.
    #[serde(rename = "SHA512WITHECDSA")]
    Sha512WithEcdsa,
}

impl KeyAlgorithm {
    /// Every key algorithm, in the order ACM Private CA lists them.
    pub const ALL: [KeyAlgorithm; 6] = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcPrime256v1,
        KeyAlgorithm::EcSecp384r1,
        KeyAlgorithm::EcSecp521r1,
    ];

    /// The ACM Private CA name, for example `EC_prime256v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "RSA_2048",
            KeyAlgorithm::Rsa3072 => "RSA_3072",
            KeyAlgorithm::Rsa4096 => "RSA_4096",
            KeyAlgorithm::EcPrime256v1 => "EC_prime256v1",
            KeyAlgorithm::EcSecp384r1 => "EC_secp384r1",
            KeyAlgorithm::EcSecp521r1 => "EC_secp521r1",
        }
    }

    /// True for the RSA key algorithms.
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
        )
    }

    /// The signing algorithm used when none is given: SHA-256 for RSA and P-256,
    /// SHA-384 for P-384, SHA-512 for P-521.
    pub fn default_signing_algorithm(self) -> SigningAlgorithm {
        match self {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                SigningAlgorithm::Sha256WithRsa
            }
            KeyAlgorithm::EcPrime256v1 => SigningAlgorithm::Sha256WithEcdsa,
            KeyAlgorithm::EcSecp384r1 => SigningAlgorithm::Sha384WithEcdsa,
            KeyAlgorithm::EcSecp521r1 => SigningAlgorithm::Sha512WithEcdsa,
        }
    }
}

impl SigningAlgorithm {
    /// Every signing algorithm.
    pub const ALL: [SigningAlgorithm; 6] = [
        SigningAlgorithm::Sha256WithRsa,
        SigningAlgorithm::Sha384WithRsa,
        SigningAlgorithm::Sha512WithRsa,
        SigningAlgorithm::Sha256WithEcdsa,
        SigningAlgorithm::Sha384WithEcdsa,
        SigningAlgorithm::Sha512WithEcdsa,
    ];

    /// The ACM Private CA name, for example `SHA256WITHECDSA`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Sha256WithRsa => "SHA256WITHRSA",
            SigningAlgorithm::Sha384WithRsa => "SHA384WITHRSA",
            SigningAlgorithm::Sha512WithRsa => "SHA512WITHRSA",
            SigningAlgorithm::Sha256WithEcdsa => "SHA256WITHECDSA",
            SigningAlgorithm::Sha384WithEcdsa => "SHA384WITHECDSA",
            SigningAlgorithm::Sha512WithEcdsa => "SHA512WITHECDSA",
        }
    }

    /// True for the RSA signing algorithms.
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            SigningAlgorithm::Sha256WithRsa
                | SigningAlgorithm::Sha384WithRsa
                | SigningAlgorithm::Sha512WithRsa
        )
    }

    /// Checks that this algorithm belongs to the key's family (RSA with RSA, ECDSA with EC).
    pub fn check_key(self, key: KeyAlgorithm) -> Result<()> {
        if self.is_rsa() == key.is_rsa() {
            return Ok(());
        }
        Err(Error::invalid_args(format!(
            "signing algorithm {self} does not match CA key {key}; use {}",
            key.default_signing_algorithm()
        )))
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        KeyAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = KeyAlgorithm::ALL.iter().map(|a| a.as_str()).collect();
                Error::invalid_args(format!(
                    "unknown key algorithm {s:?}; use one of {}",
                    names.join(", ")
                ))
            })
    }
}

impl FromStr for SigningAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        SigningAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = SigningAlgorithm::ALL.iter().map(|a| a.as_str()).collect();
                Error::invalid_args(format!(
                    "unknown signing algorithm {s:?}; use one of {}",
                    names.join(", ")
                ))
            })
    }
}
