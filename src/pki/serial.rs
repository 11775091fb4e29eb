//! Certificate serial numbers: 128 random bits, positive.

use std::fmt;

/// A certificate serial number as unsigned big-endian bytes without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialNumber(Vec<u8>);

impl SerialNumber {
    /// Draws 128 random bits from the system CSPRNG; never zero.
    pub fn random() -> Self {
        todo!("random serial")
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
