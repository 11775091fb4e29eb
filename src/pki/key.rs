//! CA private keys: generation, PEM import and export, and signing.
//!
//! Signing uses aws-lc-rs wherever it has the curve and hash pair: RSA PKCS#1 v1.5
//! with SHA-256/384/512, P-256 with SHA-256, P-384 with SHA-384, and P-521 with
//! SHA-256/384/512. aws-lc-rs has no signer for P-256 with SHA-384/512 or P-384 with
//! SHA-256/512, so those sign the SHA-2 digest with the `p256`/`p384` crates' ECDSA
//! prehash signer (RFC 6979 nonces).

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA256_ASN1_SIGNING,
    ECDSA_P521_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, KeyPair, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512,
    RsaEncoding,
};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::DecodePrivateKey;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::algorithm::{KeyAlgorithm, SigningAlgorithm};
use super::error::{Error, Result};

mod load;

use load::{rsa_size_error, unsupported_pkcs8};

/// A CA's private key. Its `Debug` output never shows key material.
pub struct CaKey {
    algorithm: KeyAlgorithm,
    pkcs8_der: Vec<u8>,
    public_key_der: Vec<u8>,
    signer: Signer,
}

/// The parsed key, kept so that each signature skips PKCS#8 parsing.
enum Signer {
    Rsa(RsaKeyPair),
    P256 {
        sha256: EcdsaKeyPair,
        prehash: p256::ecdsa::SigningKey,
    },
    P384 {
        sha384: EcdsaKeyPair,
        prehash: p384::ecdsa::SigningKey,
    },
    P521 {
        sha256: EcdsaKeyPair,
        sha384: EcdsaKeyPair,
        sha512: EcdsaKeyPair,
    },
}

const SUPPORTED_KEYS: &str = "use RSA 2048, 3072 or 4096, or EC P-256, P-384 or P-521";

impl CaKey {
    /// Generates a fresh key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        let generated = match algorithm {
            KeyAlgorithm::Rsa2048 => rcgen_rsa(rcgen::RsaKeySize::_2048),
            KeyAlgorithm::Rsa3072 => rcgen_rsa(rcgen::RsaKeySize::_3072),
            KeyAlgorithm::Rsa4096 => rcgen_rsa(rcgen::RsaKeySize::_4096),
            KeyAlgorithm::EcPrime256v1 => {
                rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            }
            KeyAlgorithm::EcSecp384r1 => {
                rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)
            }
            KeyAlgorithm::EcSecp521r1 => {
                rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)
            }
        };
        let key_pair = generated
            .map_err(|e| Error::internal(format!("{algorithm} key generation failed: {e}")))?;
        let key = Self::from_pkcs8_der(key_pair.serialized_der())?;
        if key.algorithm != algorithm {
            return Err(Error::internal(format!(
                "generated a {} key where {algorithm} was requested",
                key.algorithm
            )));
        }
        Ok(key)
    }

    /// Loads a PKCS#8 DER key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        if let Ok(rsa) = RsaKeyPair::from_pkcs8(der) {
            return Self::from_rsa(rsa, der);
        }
        if let Ok(sha256) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der) {
            let prehash = p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| {
                Error::malformed_certificate(format!("EC P-256 private key is invalid: {e}"))
            })?;
            let public_key_der = ec_public_key(&sha256)?;
            return Ok(Self::new(
                KeyAlgorithm::EcPrime256v1,
                der,
                public_key_der,
                Signer::P256 { sha256, prehash },
            ));
        }
        if let Ok(sha384) = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, der) {
            let prehash = p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| {
                Error::malformed_certificate(format!("EC P-384 private key is invalid: {e}"))
            })?;
            let public_key_der = ec_public_key(&sha384)?;
            return Ok(Self::new(
                KeyAlgorithm::EcSecp384r1,
                der,
                public_key_der,
                Signer::P384 { sha384, prehash },
            ));
        }
        if let Ok(sha512) = EcdsaKeyPair::from_pkcs8(&ECDSA_P521_SHA512_ASN1_SIGNING, der) {
            let sha256 = p521_pair(&ECDSA_P521_SHA256_ASN1_SIGNING, der)?;
            let sha384 = p521_pair(&ECDSA_P521_SHA384_ASN1_SIGNING, der)?;
            let public_key_der = ec_public_key(&sha512)?;
            return Ok(Self::new(
                KeyAlgorithm::EcSecp521r1,
                der,
                public_key_der,
                Signer::P521 {
                    sha256,
                    sha384,
                    sha512,
                },
            ));
        }
        Err(unsupported_pkcs8(der))
    }

    /// The key as PKCS#8 PEM. Callers must never log it.
    pub fn to_pkcs8_pem(&self) -> String {
        super::certificate::pem_encode("PRIVATE KEY", &self.pkcs8_der)
    }

    /// The key's algorithm and size.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DER SubjectPublicKeyInfo of the public half.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.public_key_der.clone()
    }

    /// Signs `message` with `algorithm`; fails when the algorithm's family does not
    /// match the key.
    pub fn sign(&self, algorithm: SigningAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
        algorithm.check_key(self.algorithm)?;
        let failed = || Error::internal(format!("signing with {algorithm} failed"));
        let rng = SystemRandom::new();
        let ecdsa = |pair: &EcdsaKeyPair| {
            pair.sign(&rng, message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| failed())
        };
        match (&self.signer, algorithm) {
            (Signer::Rsa(pair), _) => {
                let padding: &'static dyn RsaEncoding = match algorithm {
                    SigningAlgorithm::Sha384WithRsa => &RSA_PKCS1_SHA384,
                    SigningAlgorithm::Sha512WithRsa => &RSA_PKCS1_SHA512,
                    _ => &RSA_PKCS1_SHA256,
                };
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut signature)
                    .map_err(|_| failed())?;
                Ok(signature)
            }
            (Signer::P256 { sha256, .. }, SigningAlgorithm::Sha256WithEcdsa) => ecdsa(sha256),
            (Signer::P256 { prehash, .. }, _) => {
                let digest = sha2_digest(algorithm, message);
                let signature: p256::ecdsa::Signature =
                    prehash.sign_prehash(&digest).map_err(|_| failed())?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
            (Signer::P384 { sha384, .. }, SigningAlgorithm::Sha384WithEcdsa) => ecdsa(sha384),
            (Signer::P384 { prehash, .. }, _) => {
                let digest = sha2_digest(algorithm, message);
                let signature: p384::ecdsa::Signature =
                    prehash.sign_prehash(&digest).map_err(|_| failed())?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
            (Signer::P521 { sha256, .. }, SigningAlgorithm::Sha256WithEcdsa) => ecdsa(sha256),
            (Signer::P521 { sha384, .. }, SigningAlgorithm::Sha384WithEcdsa) => ecdsa(sha384),
            (Signer::P521 { sha512, .. }, _) => ecdsa(sha512),
        }
    }

    fn new(
        algorithm: KeyAlgorithm,
        pkcs8_der: &[u8],
        public_key_der: Vec<u8>,
        signer: Signer,
    ) -> Self {
        Self {
            algorithm,
            pkcs8_der: pkcs8_der.to_vec(),
            public_key_der,
            signer,
        }
    }

    fn from_rsa(rsa: RsaKeyPair, pkcs8_der: &[u8]) -> Result<Self> {
        let bits = rsa.public_modulus_len() * 8;
        let algorithm = match bits {
            2048 => KeyAlgorithm::Rsa2048,
            3072 => KeyAlgorithm::Rsa3072,
            4096 => KeyAlgorithm::Rsa4096,
            _ => return Err(rsa_size_error(bits)),
        };
        let public_key_der = rsa
            .public_key()
            .as_der()
            .map_err(|_| Error::internal("RSA public key cannot be encoded"))?
            .as_ref()
            .to_vec();
        Ok(Self::new(
            algorithm,
            pkcs8_der,
            public_key_der,
            Signer::Rsa(rsa),
        ))
    }
}

impl fmt::Debug for CaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn rcgen_rsa(size: rcgen::RsaKeySize) -> std::result::Result<rcgen::KeyPair, rcgen::Error> {
    rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size)
}

fn p521_pair(algorithm: &'static EcdsaSigningAlgorithm, der: &[u8]) -> Result<EcdsaKeyPair> {
    EcdsaKeyPair::from_pkcs8(algorithm, der)
        .map_err(|_| Error::malformed_certificate("EC P-521 private key is invalid"))
}

fn ec_public_key(pair: &EcdsaKeyPair) -> Result<Vec<u8>> {
    let der = pair
        .public_key()
        .as_der()
        .map_err(|_| Error::internal("EC public key cannot be encoded"))?;
    Ok(der.as_ref().to_vec())
}

/// Hashes `message` with the SHA-2 function of an ECDSA signing algorithm.
fn sha2_digest(algorithm: SigningAlgorithm, message: &[u8]) -> Vec<u8> {
    match algorithm {
        SigningAlgorithm::Sha384WithEcdsa | SigningAlgorithm::Sha384WithRsa => {
            Sha384::digest(message).to_vec()
        }
        SigningAlgorithm::Sha512WithEcdsa | SigningAlgorithm::Sha512WithRsa => {
            Sha512::digest(message).to_vec()
        }
        SigningAlgorithm::Sha256WithEcdsa | SigningAlgorithm::Sha256WithRsa => {
            Sha256::digest(message).to_vec()
        }
    }
}
