//! CA private keys: generation, PEM import and export, and signing.

use std::fmt;

use super::algorithm::{KeyAlgorithm, SigningAlgorithm};
use super::error::Result;

/// A CA's private key. Its `Debug` output never shows key material.
pub struct CaKey {
    algorithm: KeyAlgorithm,
    pkcs8_der: Vec<u8>,
}

impl CaKey {
    /// Generates a fresh key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        let _ = algorithm;
        todo!()
    }

    /// Loads a key from PEM: PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1
    /// `RSA PRIVATE KEY`. Fails when the key is none of the supported algorithms.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let _ = pem;
        todo!()
    }

    /// The key as PKCS#8 PEM. Callers must never log it.
    pub fn to_pkcs8_pem(&self) -> String {
        todo!()
    }

    /// The key's algorithm and size.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DER SubjectPublicKeyInfo of the public half.
    pub fn public_key_der(&self) -> Vec<u8> {
        let _ = &self.pkcs8_der;
        todo!()
    }

    /// Signs `message` with `algorithm`; fails when the algorithm's family does not
    /// match the key.
    pub fn sign(&self, algorithm: SigningAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
        let _ = (algorithm, message);
        todo!()
    }
}

impl fmt::Debug for CaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}
