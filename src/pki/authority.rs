//! A certificate authority: its key, its certificate and the chain above it.
//!
//! Covers creating a root, creating a subordinate's key and CSR, importing an
//! existing CA with ACM Private CA's checks, and issuing.

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use super::algorithm::{KeyAlgorithm, SigningAlgorithm};
use super::clock::Clock;
use super::error::Result;
use super::issue::{IssueRequest, IssuedCertificate};
use super::key::CaKey;
use super::serial::SerialNumber;
use super::subject::SubjectName;
use super::validity::Validity;

/// Facts about a CA certificate, read from the certificate itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaInfo {
    /// The subject in RFC 4514 form.
    pub subject: String,
    /// The serial number.
    pub serial: SerialNumber,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// The basicConstraints pathLenConstraint, if any.
    pub path_len: Option<u8>,
    /// True when the certificate is self-signed.
    pub is_root: bool,
    /// The subjectKeyIdentifier.
    pub key_identifier: Vec<u8>,
    /// The key algorithm of the CA key.
    pub key_algorithm: KeyAlgorithm,
}

/// A CA able to issue: key, certificate, and the chain above it.
#[derive(Debug)]
pub struct CertificateAuthority {
    key: CaKey,
    certificate: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    info: CaInfo,
}

impl CertificateAuthority {
    /// Creates a root CA: a fresh key and a self-signed `RootCACertificate/V1`
    /// certificate valid from `now - 60 min` for `validity`.
    pub fn create_root(
        subject: &SubjectName,
        key_algorithm: KeyAlgorithm,
        signing_algorithm: SigningAlgorithm,
        validity: Validity,
        clock: &dyn Clock,
    ) -> Result<Self> {
        let _ = (subject, key_algorithm, signing_algorithm, validity, clock);
        todo!()
    }

    /// Creates a root CA from an existing key (for example one restored from storage).
    pub fn create_root_with_key(
        key: CaKey,
        subject: &SubjectName,
        signing_algorithm: SigningAlgorithm,
        validity: Validity,
        clock: &dyn Clock,
    ) -> Result<Self> {
        let _ = (key, subject, signing_algorithm, validity, clock);
        todo!()
    }

    /// Builds the PEM CSR a subordinate CA sends to its parent, signed by `key`.
    pub fn subordinate_csr(
        key: &CaKey,
        subject: &SubjectName,
        signing_algorithm: SigningAlgorithm,
    ) -> Result<String> {
        let _ = (key, subject, signing_algorithm);
        todo!()
    }

    /// Imports a CA from PEM with ACM Private CA's checks: critical basicConstraints
    /// CA:TRUE, the key matches the certificate, and either the certificate is
    /// self-signed or `chain_pem` holds its issuers in order (each certificate signed
    /// by the next, root last).
    pub fn import(certificate_pem: &str, key: CaKey, chain_pem: Option<&str>) -> Result<Self> {
        let _ = (certificate_pem, key, chain_pem);
        todo!()
    }

    /// Issues a certificate. Checks the signing algorithm against the key, the
    /// template against this CA's pathLen, the CSR, and the validity against this
    /// CA's notAfter under the request's expiry policy. `short_lived` caps validity at
    /// 7 days.
    pub fn issue(
        &self,
        request: &IssueRequest<'_>,
        short_lived: bool,
        clock: &dyn Clock,
    ) -> Result<IssuedCertificate> {
        let _ = (request, short_lived, clock);
        todo!()
    }

    /// Facts read from the CA certificate.
    pub fn info(&self) -> &CaInfo {
        &self.info
    }

    /// The CA key.
    pub fn key(&self) -> &CaKey {
        &self.key
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        todo!()
    }

    /// The issuers above this CA, parent first, root last; empty for a root.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The issuers above this CA as PEM, parent first, root last; empty for a root.
    pub fn chain_pem(&self) -> String {
        todo!()
    }

    /// The root of this CA's chain (the CA certificate itself for a root).
    pub fn root(&self) -> &CertificateDer<'static> {
        self.chain.last().unwrap_or(&self.certificate)
    }
}
