//! Issuing a certificate from a CSR: the `IssueCertificate` operation.

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use super::algorithm::SigningAlgorithm;
use super::serial::SerialNumber;
use super::template::Template;

/// What to do when the requested notAfter is later than the CA's own notAfter,
/// or longer than a short-lived CA allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryPolicy {
    /// Fail with a `Validation` error, as ACM Private CA does (the CLI).
    Reject,
    /// Shorten notAfter to the limit and report it in [`IssuedCertificate::capped`] (the controller).
    Cap,
}

/// One `IssueCertificate` call.
#[derive(Debug, Clone)]
pub struct IssueRequest<'a> {
    /// The CSR, PEM or DER.
    pub csr: &'a [u8],
    /// The template that fixes the extensions.
    pub template: Template,
    /// The signature algorithm; its family must match the CA key.
    pub signing_algorithm: SigningAlgorithm,
    /// notBefore of the new certificate.
    pub not_before: OffsetDateTime,
    /// notAfter of the new certificate, before any cap.
    pub not_after: OffsetDateTime,
    /// How a notAfter past the CA's limits is handled.
    pub expiry_policy: ExpiryPolicy,
}

/// Why and by how much notAfter was shortened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAfterCap {
    /// notAfter as requested.
    pub requested: OffsetDateTime,
    /// notAfter as issued.
    pub issued: OffsetDateTime,
    /// The limit that applied, for example "the CA's notAfter" or "the 7-day limit of a short-lived CA".
    pub reason: String,
}

/// A signed certificate with the chain needed to use it.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The new certificate.
    pub certificate: CertificateDer<'static>,
    /// Intermediates from the issuing CA up to, but not including, the root.
    /// Empty when a root signed the certificate.
    pub intermediates: Vec<CertificateDer<'static>>,
    /// The root of the chain.
    pub root: CertificateDer<'static>,
    /// The serial number.
    pub serial: SerialNumber,
    /// notBefore as issued.
    pub not_before: OffsetDateTime,
    /// notAfter as issued.
    pub not_after: OffsetDateTime,
    /// The template used.
    pub template: Template,
    /// Set when notAfter was shortened under [`ExpiryPolicy::Cap`].
    pub capped: Option<NotAfterCap>,
}

impl IssuedCertificate {
    /// The certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        todo!()
    }

    /// The certificate followed by the intermediates, PEM with LF line endings and no
    /// duplicates: the value of cert-manager's `status.certificate` and `tls.crt`.
    pub fn leaf_and_intermediates_pem(&self) -> String {
        todo!()
    }

    /// The intermediates followed by the root, PEM: the `CertificateChain` that ACM
    /// Private CA's GetCertificate returns.
    pub fn certificate_chain_pem(&self) -> String {
        todo!()
    }

    /// The root, PEM: cert-manager's `status.ca` and `ca.crt`.
    pub fn root_pem(&self) -> String {
        todo!()
    }
}
