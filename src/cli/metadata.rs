//! The metadata of a local CA, stored in `ca.json`, and the ACM Private CA names it uses.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::arn;
use super::error::{Error, Result, not_found};
use crate::pki::{KeyAlgorithm, SigningAlgorithm};

/// Type of a CA, as ACM Private CA names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaType {
    /// A self-signed CA.
    #[value(name = "ROOT")]
    Root,
    /// A CA signed by another CA.
    #[value(name = "SUBORDINATE")]
    Subordinate,
}

/// Stored status of a CA. `EXPIRED` is not stored: it is derived from notAfter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaStatus {
    /// Waiting for its certificate to be imported.
    PendingCertificate,
    /// Able to issue.
    Active,
}

/// Usage mode of a CA, as ACM Private CA names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UsageMode {
    /// No limit on certificate validity beyond the CA's own notAfter.
    #[value(name = "GENERAL_PURPOSE")]
    GeneralPurpose,
    /// Certificates valid for at most 7 days.
    #[value(name = "SHORT_LIVED_CERTIFICATE")]
    ShortLivedCertificate,
}

impl CaType {
    /// Returns the ACM Private CA name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaType::Root => "ROOT",
            CaType::Subordinate => "SUBORDINATE",
        }
    }
}

impl CaStatus {
    /// Returns the ACM Private CA name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaStatus::PendingCertificate => "PENDING_CERTIFICATE",
            CaStatus::Active => "ACTIVE",
        }
    }
}

impl UsageMode {
    /// Returns the ACM Private CA name.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageMode::GeneralPurpose => "GENERAL_PURPOSE",
            UsageMode::ShortLivedCertificate => "SHORT_LIVED_CERTIFICATE",
        }
    }

    /// True when certificates are capped at 7 days.
    pub fn is_short_lived(self) -> bool {
        self == UsageMode::ShortLivedCertificate
    }
}

/// Content of `ca.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaMetadata {
    /// UUID-like id, the last part of the CA ARN.
    pub id: String,
    /// ROOT or SUBORDINATE.
    #[serde(rename = "type")]
    pub ca_type: CaType,
    /// PENDING_CERTIFICATE or ACTIVE.
    pub status: CaStatus,
    /// Algorithm of `ca.key.pem`.
    pub key_algorithm: KeyAlgorithm,
    /// Algorithm the CA signs its own CSR with, and its parent signs it with when a
    /// subordinate is created from this CA.
    pub signing_algorithm: SigningAlgorithm,
    /// GENERAL_PURPOSE or SHORT_LIVED_CERTIFICATE.
    pub usage_mode: UsageMode,
    /// Subject as given at creation, such as `CN=Example Root,O=Example`.
    pub subject: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
}

impl CaMetadata {
    /// Returns the CA ARN.
    pub fn arn(&self) -> String {
        arn::ca_arn(&self.id)
    }

    /// Checks `--certificate-authority-arn`, when given, against this CA's ARN.
    pub fn check_arn(&self, expected: Option<&str>, dir: &Path) -> Result<()> {
        match expected {
            Some(expected) if expected != self.arn() => Err(not_found(format!(
                "CA {expected} not found: {} contains CA {}; pass the --ca-dir of {expected} \
                 or drop --certificate-authority-arn",
                dir.display(),
                self.arn()
            ))),
            _ => Ok(()),
        }
    }
}

/// Generates a CA id in the UUID version 4 format from 16 random bytes.
pub fn new_ca_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        Error::Request(crate::pki::Error::internal(
            "the system random number generator failed while generating a CA id",
        ))
    })?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ca_dir::{CaDir, METADATA_FILE};

    #[test]
    fn new_ca_id_is_uuid_v4_form() {
        let id = new_ca_id().expect("random id");
        assert_eq!(id.len(), 36);
        assert!(arn::is_ca_id(&id), "{id}");
        assert_eq!(&id[14..15], "4");
        assert_ne!(new_ca_id().expect("random id"), id);
    }

    #[test]
    fn metadata_round_trips_with_aws_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_dir = CaDir::new(dir.path());
        let metadata = CaMetadata {
            id: "0f3c9a1e-5b2d-4c7e-9a10-3e6f8b2d4c11".to_string(),
            ca_type: CaType::Subordinate,
            status: CaStatus::PendingCertificate,
            key_algorithm: KeyAlgorithm::EcPrime256v1,
            signing_algorithm: SigningAlgorithm::Sha256WithEcdsa,
            usage_mode: UsageMode::ShortLivedCertificate,
            subject: "CN=Sub".to_string(),
            created_at: "2026-01-31T12:00:00Z".to_string(),
        };
        ca_dir.write_metadata(&metadata).expect("write");
        let text = std::fs::read_to_string(ca_dir.file(METADATA_FILE)).expect("read");
        assert!(text.contains("\"type\": \"SUBORDINATE\""), "{text}");
        assert!(
            text.contains("\"status\": \"PENDING_CERTIFICATE\""),
            "{text}"
        );
        assert!(
            text.contains("\"keyAlgorithm\": \"EC_prime256v1\""),
            "{text}"
        );
        assert!(
            text.contains("\"usageMode\": \"SHORT_LIVED_CERTIFICATE\""),
            "{text}"
        );
        assert_eq!(ca_dir.read_metadata().expect("read back"), metadata);
    }
}
