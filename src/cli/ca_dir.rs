//! The local CA directory: its files, its metadata and its lock.
//!
//! A CA directory contains:
//!
//! | path | content |
//! | --- | --- |
//! | `ca.json` | metadata: id, type, status, key and signing algorithm, usage mode, subject, creation time |
//! | `ca.key.pem` | the CA private key, PKCS#8 PEM, mode 0600 from the moment it is created |
//! | `ca.crt.pem` | the CA certificate, once the CA is `ACTIVE` |
//! | `chain.pem` | the issuers above the CA, parent first, root last; absent for a root |
//! | `ca.csr.pem` | the CSR of a subordinate CA, only while it is `PENDING_CERTIFICATE` |
//! | `certificates/<serial>.json` | one record per issued certificate, named by its lowercase hex serial |
//! | `tokens/<sha256 of token>.json` | one record per idempotency token: the argument fingerprint and the certificate ARN |
//! | `lock` | empty file; writers hold an exclusive `flock` on it |
//!
//! Every file is written atomically (temporary file in the same directory, fsync,
//! rename), so a crash leaves either the old content or the new. `ca.json` is
//! written last when a CA is created: a directory without it contains no usable CA.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::atomic_file::{Overwrite, PUBLIC_MODE, write_atomic};
use super::error::{Error, Result, invalid_state, not_found};
use super::metadata::{CaMetadata, CaStatus};
use super::timestamp::format_rfc3339;
use crate::pki::{CaKey, CertificateAuthority, Clock};

/// Metadata file name.
pub const METADATA_FILE: &str = "ca.json";
/// CA private key file name.
pub const KEY_FILE: &str = "ca.key.pem";
/// CA certificate file name.
pub const CERTIFICATE_FILE: &str = "ca.crt.pem";
/// Chain file name: issuers above the CA, parent first, root last.
pub const CHAIN_FILE: &str = "chain.pem";
/// CSR file name of a pending subordinate CA.
pub const CSR_FILE: &str = "ca.csr.pem";
/// Directory of issued-certificate records.
pub const CERTIFICATES_DIR: &str = "certificates";
/// Directory of idempotency-token records.
pub const TOKENS_DIR: &str = "tokens";
/// Lock file name.
pub const LOCK_FILE: &str = "lock";

/// A CA directory on disk.
#[derive(Debug, Clone)]
pub struct CaDir {
    path: PathBuf,
}

/// An exclusive lock on a CA directory, released when dropped (the file is closed).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl CaDir {
    /// Refers to the directory at `path` without touching the file system.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CaDir { path: path.into() }
    }

    /// Returns the directory path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of `name` inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Creates the directory and its subdirectories when missing, for a new CA.
    pub fn create_layout(&self) -> Result<()> {
        for dir in [
            self.path.clone(),
            self.file(CERTIFICATES_DIR),
            self.file(TOKENS_DIR),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|error| Error::io("create directory", &dir, error))?;
        }
        Ok(())
    }

    /// Takes the exclusive lock of the directory, waiting while another process holds it.
    pub fn lock(&self) -> Result<DirLock> {
        let path = self.file(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| Error::io("open lock file", &path, error))?;
        fs4::FileExt::lock(&file).map_err(|error| Error::io("lock", &path, error))?;
        Ok(DirLock { _file: file })
    }

    /// Fails with `InvalidState` when the directory already contains a CA or part of one.
    pub fn check_no_ca(&self) -> Result<()> {
        for name in [METADATA_FILE, KEY_FILE] {
            let path = self.file(name);
            if path.exists() {
                return Err(invalid_state(format!(
                    "{} already contains a CA ({} exists); use an empty directory, \
                     or remove this one to start over",
                    self.path.display(),
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// Reads `ca.json`; a missing file is `ResourceNotFound`.
    pub fn read_metadata(&self) -> Result<CaMetadata> {
        let path = self.file(METADATA_FILE);
        read_json(&path)?.ok_or_else(|| {
            not_found(format!(
                "no CA in {} ({} not found); create one with create-certificate-authority",
                self.path.display(),
                path.display()
            ))
        })
    }

    /// Writes `ca.json` atomically, replacing an earlier version.
    pub fn write_metadata(&self, metadata: &CaMetadata) -> Result<()> {
        write_json(&self.file(METADATA_FILE), metadata, Overwrite::Replace)
    }

    /// Reads a text file of the directory; a missing file is `InvalidState`.
    pub fn read_text(&self, name: &str) -> Result<String> {
        let path = self.file(name);
        std::fs::read_to_string(&path).map_err(|error| match error.kind() {
            IoErrorKind::NotFound => invalid_state(format!(
                "{} is missing from the CA directory {}; restore it from a backup",
                name,
                self.path.display()
            )),
            _ => Error::io("read", &path, error),
        })
    }

    /// Reads a text file of the directory, or `None` when it does not exist.
    pub fn read_optional_text(&self, name: &str) -> Result<Option<String>> {
        let path = self.file(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(error) if error.kind() == IoErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::io("read", &path, error)),
        }
    }

    /// Loads the CA key. An unreadable key is `InvalidState` naming the file, since
    /// only this tool writes it.
    pub fn read_key(&self) -> Result<CaKey> {
        let path = self.file(KEY_FILE);
        CaKey::from_pem(&self.read_text(KEY_FILE)?).map_err(|error| {
            invalid_state(format!(
                "{} is damaged ({}); restore it from a backup",
                path.display(),
                error.message()
            ))
        })
    }

    /// Loads the CA key, certificate and chain with the engine's import checks.
    pub fn load_authority(&self) -> Result<CertificateAuthority> {
        let certificate = self.read_text(CERTIFICATE_FILE)?;
        let chain = self
            .read_optional_text(CHAIN_FILE)?
            .filter(|chain| !chain.trim().is_empty());
        let key = self.read_key()?;
        CertificateAuthority::import(&certificate, key, chain.as_deref()).map_err(|error| {
            invalid_state(format!(
                "the CA in {} is damaged: {}; restore its files from a backup",
                self.path.display(),
                error.message()
            ))
        })
    }

    /// Loads a CA that may issue now: `ACTIVE` and not past its notAfter.
    pub fn load_active(&self, clock: &dyn Clock) -> Result<(CaMetadata, CertificateAuthority)> {
        let metadata = self.read_metadata()?;
        if metadata.status != CaStatus::Active {
            return Err(invalid_state(format!(
                "CA {} in {} is {}; import its certificate with \
                 import-certificate-authority-certificate first",
                metadata.arn(),
                self.path.display(),
                metadata.status.as_str()
            )));
        }
        let authority = self.load_authority()?;
        let not_after = authority.info().not_after;
        if not_after <= clock.now() {
            return Err(invalid_state(format!(
                "CA {} in {} is EXPIRED: its certificate's notAfter {} has passed; \
                 create a new CA",
                metadata.arn(),
                self.path.display(),
                format_rfc3339(not_after)
            )));
        }
        Ok((metadata, authority))
    }
}

/// Reads and parses a JSON file, or `None` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == IoErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io("read", path, error)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|error| {
        invalid_state(format!(
            "{} is not a valid record: {error}; restore it from a backup",
            path.display()
        ))
    })
}

/// Writes `value` as pretty JSON with a final newline, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T, overwrite: Overwrite) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|error| {
        Error::Request(crate::pki::Error::internal(format!(
            "failed to encode {} as JSON: {error}",
            path.display()
        )))
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes, PUBLIC_MODE, overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_metadata_missing_is_not_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let Err(error) = CaDir::new(dir.path()).read_metadata() else {
            panic!("an empty directory has metadata");
        };
        assert_eq!(error.code(), "ResourceNotFound");
        assert!(error.to_string().contains("create-certificate-authority"));
    }

    #[test]
    fn check_no_ca_rejects_existing_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_dir = CaDir::new(dir.path());
        assert!(ca_dir.check_no_ca().is_ok());
        std::fs::write(ca_dir.file(KEY_FILE), "key").expect("write");
        let Err(error) = ca_dir.check_no_ca() else {
            panic!("a directory with a key was taken as empty");
        };
        assert_eq!(error.code(), "InvalidState");
    }
}
