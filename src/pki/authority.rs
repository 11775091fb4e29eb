//! A certificate authority: its key, its certificate and the chain above it.
//!
//! Covers creating a root, creating a subordinate's key and CSR, importing an
//! existing CA with ACM Private CA's checks, and issuing.

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use super::algorithm::{KeyAlgorithm, SigningAlgorithm};
use super::certificate::{certificates_pem, parse_certificates_pem, pem_encode};
use super::clock::Clock;
use super::error::{Error, Result};
use super::issue::{IssueRequest, IssuedCertificate};
use super::key::CaKey;
use super::serial::SerialNumber;
use super::subject::SubjectName;
use super::validity::{Validity, rfc3339, truncate_to_seconds};

mod import;
mod request;
mod root;

/// How far a root's notBefore lies before its creation, to absorb clock skew.
const ROOT_BACKDATE: time::Duration = time::Duration::minutes(60);

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
    /// The subject Name of the CA certificate, DER: the issuer of what it signs.
    subject_der: Vec<u8>,
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
        signing_algorithm.check_key(key_algorithm)?;
        subject.validate()?;
        let key = CaKey::generate(key_algorithm)?;
        Self::create_root_with_key(key, subject, signing_algorithm, validity, clock)
    }

    /// Creates a root CA from an existing key (for example one restored from storage).
    ///
    /// notAfter comes from [`Validity::not_after`] at the clock's time and must lie
    /// in the future; notBefore is 60 minutes before that time.
    pub fn create_root_with_key(
        key: CaKey,
        subject: &SubjectName,
        signing_algorithm: SigningAlgorithm,
        validity: Validity,
        clock: &dyn Clock,
    ) -> Result<Self> {
        signing_algorithm.check_key(key.algorithm())?;
        subject.validate()?;
        let now = truncate_to_seconds(clock.now());
        let not_after = validity.not_after(now)?;
        if not_after <= now {
            return Err(Error::invalid_args(format!(
                "validity {validity} ends at {}, which is not after the current time {}; \
                 choose a validity that ends in the future",
                rfc3339(not_after),
                rfc3339(now)
            )));
        }
        let not_before = now.checked_sub(ROOT_BACKDATE).ok_or_else(|| {
            Error::invalid_args(format!("clock time {} is out of range", rfc3339(now)))
        })?;
        let certificate =
            root::self_signed(&key, subject, signing_algorithm, not_before, not_after)?;
        Self::from_parts(key, certificate, Vec::new())
    }

    /// Builds the PEM CSR a subordinate CA sends to its parent, signed by `key`.
    ///
    /// The CSR requests basicConstraints CA:TRUE and keyUsage keyCertSign and cRLSign.
    /// A parent using a `SubordinateCACertificate_PathLen*` template replaces them
    /// with the template's own.
    pub fn subordinate_csr(
        key: &CaKey,
        subject: &SubjectName,
        signing_algorithm: SigningAlgorithm,
    ) -> Result<String> {
        signing_algorithm.check_key(key.algorithm())?;
        subject.validate()?;
        request::subordinate_csr(key, subject, signing_algorithm)
    }

    /// Imports a CA from PEM with ACM Private CA's checks: critical basicConstraints
    /// CA:TRUE, the key matches the certificate, and either the certificate is
    /// self-signed or `chain_pem` contains its issuers in order (each certificate signed
    /// by the next, root last).
    ///
    /// Certificates after the first one in `certificate_pem` are read as the start
    /// of the chain, so a `tls.crt` holding the CA certificate and its issuers also
    /// imports. Exact duplicates are dropped. Every failure is
    /// [`ErrorKind::MalformedCertificate`](super::ErrorKind::MalformedCertificate).
    pub fn import(certificate_pem: &str, key: CaKey, chain_pem: Option<&str>) -> Result<Self> {
        let mut certificates = parse_certificates_pem(certificate_pem, "CA certificate")?;
        let certificate = certificates.remove(0);
        let mut chain: Vec<CertificateDer<'static>> = Vec::new();
        let extra = match chain_pem.filter(|pem| !pem.trim().is_empty()) {
            Some(pem) => parse_certificates_pem(pem, "CA chain")?,
            None => Vec::new(),
        };
        for issuer in certificates.into_iter().chain(extra) {
            if issuer != certificate && !chain.contains(&issuer) {
                chain.push(issuer);
            }
        }
        Self::from_parts(key, certificate, chain)
    }

    /// Issues a certificate. Checks the signing algorithm against the key, the
    /// template against this CA's pathLen, the CSR, and the validity against this
    /// CA's notAfter under the request's expiry policy. `short_lived` caps validity at
    /// 7 days.
    ///
    /// A notBefore earlier than this CA's notBefore is raised to the CA's notBefore.
    /// Fails with `InvalidState` once the clock is past the CA's notAfter.
    pub fn issue(
        &self,
        request: &IssueRequest<'_>,
        short_lived: bool,
        clock: &dyn Clock,
    ) -> Result<IssuedCertificate> {
        super::issue::issue(self, request, short_lived, clock)
    }

    /// Facts read from the CA certificate.
    pub fn info(&self) -> &CaInfo {
        &self.info
    }

    /// Consumes the CA and returns its key, for storing it.
    pub fn into_key(self) -> CaKey {
        self.key
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
        pem_encode("CERTIFICATE", &self.certificate)
    }

    /// The issuers above this CA, parent first, root last; empty for a root.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The issuers above this CA as PEM, parent first, root last; empty for a root.
    pub fn chain_pem(&self) -> String {
        certificates_pem(&self.chain)
    }

    /// The root of this CA's chain (the CA certificate itself for a root).
    pub fn root(&self) -> &CertificateDer<'static> {
        self.chain.last().unwrap_or(&self.certificate)
    }

    /// The subject Name of the CA certificate, DER.
    pub(crate) fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// Checks a CA certificate, its key and its chain, and reads [`CaInfo`].
    fn from_parts(
        key: CaKey,
        certificate: CertificateDer<'static>,
        chain: Vec<CertificateDer<'static>>,
    ) -> Result<Self> {
        let parsed = import::parse_ca_certificate(&certificate, "CA certificate")?;
        import::check_key_matches(&parsed, &key)?;
        import::check_chain(&parsed, &chain)?;
        let info = import::read_info(&parsed, key.algorithm(), chain.is_empty())?;
        let subject_der = parsed.subject().as_raw().to_vec();
        Ok(Self {
            key,
            certificate,
            chain,
            info,
            subject_der,
        })
    }
}
