//! Certificate serial numbers: 128 random bits, positive.

use std::fmt;

use super::error::{Error, Result};

/// A certificate serial number as unsigned big-endian bytes without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialNumber(Vec<u8>);

impl SerialNumber {
    /// Draws 128 random bits from the system CSPRNG (aws-lc-rs); never zero.
    ///
    /// Panics when the system CSPRNG fails, because no certificate can be issued
    /// safely then. The engine itself calls [`SerialNumber::try_random`].
    pub fn random() -> Self {
        Self::try_random().expect("the system CSPRNG must produce random bytes")
    }

    /// Draws 128 random bits from the system CSPRNG (aws-lc-rs); never zero.
    /// Fails only when the CSPRNG does.
    pub fn try_random() -> Result<Self> {
        let mut bytes = [0u8; 16];
        // A zero draw has probability 2^-128; the loop only keeps the promise exact.
        loop {
            aws_lc_rs::rand::fill(&mut bytes)
                .map_err(|_| Error::internal("the system random number generator failed"))?;
            let serial = SerialNumber::from_bytes(&bytes);
            if !serial.0.is_empty() {
                return Ok(serial);
            }
        }
    }

    /// Converts the serial to a certificate's DER INTEGER: positive, with a leading
    /// zero byte when the top bit is set (added by `der`).
    pub(crate) fn to_x509(&self) -> Result<x509_cert::serial_number::SerialNumber> {
        x509_cert::serial_number::SerialNumber::new(&self.0)
            .map_err(|e| Error::internal(format!("serial number {self} cannot be encoded: {e}")))
    }

    /// Wraps big-endian magnitude bytes; leading zero bytes are dropped.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        SerialNumber(bytes[start..].to_vec())
    }

    /// The magnitude bytes, big-endian, without leading zeros.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lowercase hex without separators, as used in certificate identifiers.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Lowercase hex with colons, as used in audit output.
    pub fn to_colon_hex(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|b| format!("{b:02x}")).collect();
        parts.join(":")
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
