//! Issuing a certificate from a CSR: the `IssueCertificate` operation.

use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use super::algorithm::SigningAlgorithm;
use super::authority::{CaInfo, CertificateAuthority};
use super::certificate::{CertificateContent, certificates_pem, pem_encode, sign_certificate};
use super::clock::Clock;
use super::csr::CsrInfo;
use super::error::{Error, ErrorKind, Result};
use super::extensions::{self, ExtensionInputs};
use super::serial::SerialNumber;
use super::template::Template;
use super::validity::{rfc3339, truncate_to_seconds};

/// Handling of a requested notAfter that is later than the CA's own notAfter, or
/// longer than a short-lived CA allows.
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
    /// Handling of a notAfter past the CA's limits.
    pub expiry_policy: ExpiryPolicy,
}

/// The reason for, and the size of, a shortened notAfter.
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
        pem_encode("CERTIFICATE", &self.certificate)
    }

    /// The certificate followed by the intermediates, PEM with LF line endings and no
    /// duplicates: the value of cert-manager's `status.certificate` and `tls.crt`.
    pub fn leaf_and_intermediates_pem(&self) -> String {
        certificates_pem(std::iter::once(&self.certificate).chain(&self.intermediates))
    }

    /// The intermediates followed by the root, PEM: the `CertificateChain` that ACM
    /// Private CA's GetCertificate returns.
    pub fn certificate_chain_pem(&self) -> String {
        certificates_pem(self.intermediates.iter().chain(std::iter::once(&self.root)))
    }

    /// The root, PEM: cert-manager's `status.ca` and `ca.crt`.
    pub fn root_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.root)
    }
}

/// Maximum validity a CA in short-lived mode issues.
pub const SHORT_LIVED_MAX: Duration = Duration::days(7);

/// Issues a certificate from a CSR for `authority`; the body of
/// [`CertificateAuthority::issue`].
pub(crate) fn issue(
    authority: &CertificateAuthority,
    request: &IssueRequest<'_>,
    short_lived: bool,
    clock: &dyn Clock,
) -> Result<IssuedCertificate> {
    let info = authority.info();
    request
        .signing_algorithm
        .check_key(authority.key().algorithm())?;
    check_not_expired(info, clock)?;
    request.template.check_issuable(info.path_len)?;
    let csr = CsrInfo::parse(request.csr)?;
    let window = resolve_validity(request, info, short_lived, clock.now())?;

    let extension_inputs = ExtensionInputs {
        subject_public_key_info: &csr.public_key_der,
        authority_key_identifier: Some(&info.key_identifier),
        subject_alt_names: csr.subject_alt_names_der.as_deref(),
        subject_is_empty: csr.subject_is_empty,
    };
    let serial = SerialNumber::try_random()?;
    let content = CertificateContent {
        serial: &serial,
        issuer: authority.subject_der(),
        subject: &csr.subject_der,
        subject_public_key_info: &csr.public_key_der,
        not_before: window.not_before,
        not_after: window.not_after,
        extensions: extensions::build(request.template, &extension_inputs)?,
    };
    let certificate = sign_certificate(content, authority.key(), request.signing_algorithm)?;

    let (intermediates, root) = chain_of_issued(authority);
    Ok(IssuedCertificate {
        certificate,
        intermediates,
        root,
        serial,
        not_before: window.not_before,
        not_after: window.not_after,
        template: request.template,
        capped: window.capped,
    })
}

fn check_not_expired(ca: &CaInfo, clock: &dyn Clock) -> Result<()> {
    if clock.now() <= ca.not_after {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidState,
        format!(
            "CA certificate {} expired at {}; renew or replace the CA",
            ca.subject,
            rfc3339(ca.not_after)
        ),
    ))
}

/// Returns the intermediates (the issuing CA first, the root left out) and the root
/// of a certificate that `authority` issues.
fn chain_of_issued(
    authority: &CertificateAuthority,
) -> (Vec<CertificateDer<'static>>, CertificateDer<'static>) {
    match authority.chain().split_last() {
        None => (Vec::new(), authority.certificate().clone()),
        Some((root, above)) => {
            let mut intermediates = vec![authority.certificate().clone()];
            intermediates.extend(above.iter().cloned());
            (intermediates, root.clone())
        }
    }
}

/// Builds the `Validation` error for a notAfter past `limit` under
/// [`ExpiryPolicy::Reject`]: the CA's notAfter, or the short-lived limit.
fn limit_exceeded(
    short_lived_limit: bool,
    not_before: OffsetDateTime,
    requested_not_after: OffsetDateTime,
    limit: OffsetDateTime,
) -> Error {
    let message = if short_lived_limit {
        format!(
            "validity from {} to {} is longer than the 7 days a short-lived CA issues; request \
             notAfter {} or earlier",
            rfc3339(not_before),
            rfc3339(requested_not_after),
            rfc3339(limit)
        )
    } else {
        format!(
            "notAfter {} is later than the CA's notAfter {}; request a validity that ends by \
             then, or renew the CA",
            rfc3339(requested_not_after),
            rfc3339(limit)
        )
    };
    Error::validation(message)
}

/// notBefore and notAfter as they will be issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidityWindow {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub capped: Option<NotAfterCap>,
}

/// Applies the CA's limits to the requested validity.
///
/// Both times are truncated to whole seconds. A notBefore earlier than the CA's
/// notBefore is raised to it. A notAfter later than the CA's notAfter, or more than
/// [`SHORT_LIVED_MAX`] after issuance for a short-lived CA, is rejected or capped at
/// the earlier limit, by the request's [`ExpiryPolicy`]. The short-lived limit counts
/// from `issued_at`, or from notBefore when that is later, so a backdated notBefore
/// does not shorten a 7-day certificate.
pub(crate) fn resolve_validity(
    request: &IssueRequest<'_>,
    ca: &CaInfo,
    short_lived: bool,
    issued_at: OffsetDateTime,
) -> Result<ValidityWindow> {
    let requested_not_after = truncate_to_seconds(request.not_after);
    let not_before = truncate_to_seconds(request.not_before).max(ca.not_before);
    if requested_not_after <= not_before {
        return Err(Error::validation(format!(
            "notAfter {} is not after notBefore {}; request a validity that ends after it starts",
            rfc3339(requested_not_after),
            rfc3339(not_before)
        )));
    }

    let issued_at = truncate_to_seconds(issued_at);
    if requested_not_after <= issued_at {
        return Err(Error::validation(format!(
            "notAfter {} is not after the time of issuance {}, so the certificate would be \
             expired on arrival; request a validity that ends in the future",
            rfc3339(requested_not_after),
            rfc3339(issued_at)
        )));
    }

    // checked_add: a notBefore within 7 days of the year 9999 has no short-lived end,
    // and the CA's notAfter (at most 9999) is the limit then.
    let short_lived_end = not_before
        .max(issued_at)
        .checked_add(SHORT_LIVED_MAX)
        .filter(|end| short_lived && *end < ca.not_after);
    let short_lived_applies = short_lived_end.is_some();
    let limit = if let Some(end) = short_lived_end {
        (end, "the 7-day limit of a short-lived CA")
    } else {
        (ca.not_after, "the CA's notAfter")
    };
    if requested_not_after <= limit.0 {
        return Ok(ValidityWindow {
            not_before,
            not_after: requested_not_after,
            capped: None,
        });
    }

    if request.expiry_policy == ExpiryPolicy::Reject {
        return Err(limit_exceeded(
            short_lived_applies,
            not_before,
            requested_not_after,
            limit.0,
        ));
    }
    if limit.0 <= not_before {
        return Err(Error::validation(format!(
            "the CA's notAfter {} is not after notBefore {}, so no validity is left to issue; \
             renew the CA",
            rfc3339(ca.not_after),
            rfc3339(not_before)
        )));
    }
    Ok(ValidityWindow {
        not_before,
        not_after: limit.0,
        capped: Some(NotAfterCap {
            requested: requested_not_after,
            issued: limit.0,
            reason: limit.1.to_string(),
        }),
    })
}
