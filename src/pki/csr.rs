//! Certificate signing requests: parsing, signature verification and content checks.

use super::error::Result;

/// Largest CSR accepted, in bytes, PEM or DER.
pub const MAX_CSR_BYTES: usize = 32 * 1024;

/// What the engine takes from a verified CSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrInfo {
    /// The DER of the CSR itself.
    pub der: Vec<u8>,
    /// The subject Name, DER, exactly as in the CSR.
    pub subject_der: Vec<u8>,
    /// True when the subject has no attributes.
    pub subject_is_empty: bool,
    /// The subject in RFC 4514 form, for messages and status.
    pub subject: String,
    /// The SubjectPublicKeyInfo, DER, exactly as in the CSR.
    pub public_key_der: Vec<u8>,
    /// The subjectAltName extension value (GeneralNames DER) from the CSR, if any.
    pub subject_alt_names_der: Option<Vec<u8>>,
    /// The SANs for messages, such as `DNS:app.example`.
    pub subject_alt_names: Vec<String>,
    /// The public key for messages, such as `EC P-384` or `RSA 2048`.
    pub key_description: String,
}

impl CsrInfo {
    /// Parses a PEM `CERTIFICATE REQUEST` or DER CSR of at most [`MAX_CSR_BYTES`],
    /// verifies its self-signature and applies the content checks.
    pub fn parse(input: &[u8]) -> Result<Self> {
        let _ = input;
        todo!()
    }
}
