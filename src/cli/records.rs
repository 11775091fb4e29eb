//! Records of issued certificates (`certificates/<serial>.json`).

use serde::{Deserialize, Serialize};

use super::atomic_file::Overwrite;
use super::ca_dir::{CERTIFICATES_DIR, CaDir, read_json, write_json};
use super::error::{Error, Result};

/// One issued certificate, as stored in `certificates/<serial>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRecord {
    /// The certificate ARN.
    pub certificate_arn: String,
    /// Serial number, lowercase hex without separators.
    pub serial: String,
    /// Subject of the issued certificate, RFC 4514.
    pub subject: String,
    /// notBefore, RFC 3339 UTC.
    pub not_before: String,
    /// notAfter, RFC 3339 UTC.
    pub not_after: String,
    /// Issuance time, RFC 3339 UTC.
    pub issued_at: String,
    /// Template name, such as `EndEntityCertificate/V1`.
    pub template: String,
    /// Signing algorithm, such as `SHA256WITHRSA`.
    pub signing_algorithm: String,
    /// SHA-256 of the CSR bytes as given, lowercase hex.
    pub csr_sha256: String,
    /// The certificate, PEM.
    pub certificate: String,
    /// Intermediates then root, PEM.
    pub certificate_chain: String,
}

impl CaDir {
    /// Stores the record of a new certificate; an existing record is never replaced.
    pub fn write_certificate_record(&self, record: &CertificateRecord) -> Result<()> {
        let dir = self.file(CERTIFICATES_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|error| Error::io("create directory", &dir, error))?;
        let path = dir.join(format!("{}.json", record.serial));
        write_json(&path, record, Overwrite::Never)
    }

    /// Reads the record of the certificate with serial `serial_hex`, if there is one.
    ///
    /// `serial_hex` must already be checked to be hex, so it cannot name a path outside
    /// the directory.
    pub fn read_certificate_record(&self, serial_hex: &str) -> Result<Option<CertificateRecord>> {
        let path = self
            .file(CERTIFICATES_DIR)
            .join(format!("{serial_hex}.json"));
        read_json(&path)
    }

    /// Counts the stored certificate records.
    pub fn count_certificate_records(&self) -> Result<usize> {
        let dir = self.file(CERTIFICATES_DIR);
        let entries =
            std::fs::read_dir(&dir).map_err(|error| Error::io("list directory", &dir, error))?;
        let mut count = 0;
        for entry in entries {
            let entry = entry.map_err(|error| Error::io("list directory", &dir, error))?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".json") {
                count += 1;
            }
        }
        Ok(count)
    }
}
