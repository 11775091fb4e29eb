//! Building and signing a TBSCertificate, and PEM encoding.
//!
//! Certificates issued from a CSR are built here with the `x509-cert`/`der` types
//! and not with rcgen, because rcgen's `DistinguishedName` keeps one value per
//! attribute type and so would drop the second O of a subject with two
//! organizations. The subject, issuer and SubjectPublicKeyInfo are carried as raw
//! DER (`Any`), because `der` re-sorts the members of a decoded SET OF, and
//! re-encoding a decoded Name could change the CSR's bytes.

use der::asn1::{Any, BitString};
use der::{DateTime, Decode, Encode, Sequence};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_cert::Version;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber as X509SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::{Time, Validity};

use super::algorithm::SigningAlgorithm;
use super::error::{Error, Result};
use super::key::CaKey;
use super::serial::SerialNumber;
use super::signature::algorithm_identifier;

/// TBSCertificate (RFC 5280, 4.1) without the unique identifiers, which conforming
/// CAs must not generate.
#[derive(Sequence)]
struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: Version,
    serial_number: X509SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Any,
    validity: Validity,
    subject: Any,
    subject_public_key_info: Any,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

/// Certificate (RFC 5280, 4.1) around an already encoded TBSCertificate.
#[derive(Sequence)]
struct SignedCertificate {
    tbs_certificate: Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// The content of a certificate to sign.
pub(crate) struct CertificateContent<'a> {
    /// The serial number.
    pub serial: &'a SerialNumber,
    /// The issuer Name, DER: the issuing CA certificate's subject bytes.
    pub issuer: &'a [u8],
    /// The subject Name, DER, copied unchanged.
    pub subject: &'a [u8],
    /// The SubjectPublicKeyInfo, DER, copied unchanged.
    pub subject_public_key_info: &'a [u8],
    /// notBefore, whole seconds.
    pub not_before: OffsetDateTime,
    /// notAfter, whole seconds.
    pub not_after: OffsetDateTime,
    /// The extensions, in order.
    pub extensions: Vec<Extension>,
}

/// Encodes `content` as a v3 TBSCertificate, signs it with `key` and returns the
/// certificate DER.
pub(crate) fn sign_certificate(
    content: CertificateContent<'_>,
    key: &CaKey,
    algorithm: SigningAlgorithm,
) -> Result<CertificateDer<'static>> {
    let encoding_failed =
        |e: der::Error| Error::internal(format!("certificate cannot be encoded: {e}"));
    let signature_algorithm = algorithm_identifier(algorithm);
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: content.serial.to_x509()?,
        signature: signature_algorithm.clone(),
        issuer: Any::from_der(content.issuer).map_err(encoding_failed)?,
        validity: Validity::new(
            x509_time(content.not_before)?,
            x509_time(content.not_after)?,
        ),
        subject: Any::from_der(content.subject).map_err(encoding_failed)?,
        subject_public_key_info: Any::from_der(content.subject_public_key_info)
            .map_err(encoding_failed)?,
        extensions: content.extensions,
    };
    let tbs_der = tbs.to_der().map_err(encoding_failed)?;
    let signature = key.sign(algorithm, &tbs_der)?;
    let certificate = SignedCertificate {
        tbs_certificate: Any::from_der(&tbs_der).map_err(encoding_failed)?,
        signature_algorithm,
        signature: BitString::from_bytes(&signature).map_err(encoding_failed)?,
    };
    let der = certificate.to_der().map_err(encoding_failed)?;
    Ok(CertificateDer::from(der))
}

/// Converts a UTC instant to an X.509 Time: UTCTime through 2049, GeneralizedTime
/// from 2050 (RFC 5280, 4.1.2.5).
fn x509_time(instant: OffsetDateTime) -> Result<Time> {
    let seconds = u64::try_from(instant.unix_timestamp()).map_err(|_| {
        Error::validation(format!(
            "time {instant} is before 1970 and cannot be written into a certificate"
        ))
    })?;
    let date_time = DateTime::from_unix_duration(std::time::Duration::from_secs(seconds))
        .map_err(|e| Error::validation(format!("time {instant} cannot be encoded: {e}")))?;
    Ok(Time::from(date_time))
}

/// Encodes DER as PEM with LF line endings and 64-character lines.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(label, der.to_vec()), config)
}

/// Encodes certificates as concatenated PEM, dropping exact duplicates.
pub(crate) fn certificates_pem<'a>(
    certificates: impl IntoIterator<Item = &'a CertificateDer<'static>>,
) -> String {
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut out = String::new();
    for certificate in certificates {
        if seen.contains(&certificate.as_ref()) {
            continue;
        }
        seen.push(certificate.as_ref());
        out.push_str(&pem_encode("CERTIFICATE", certificate));
    }
    out
}

/// Reads every `CERTIFICATE` block of `pem_text`. `label` names the input in errors,
/// such as "CA certificate". Fails on another block type and on an input without
/// certificates.
pub(crate) fn parse_certificates_pem(
    pem_text: &str,
    label: &str,
) -> Result<Vec<CertificateDer<'static>>> {
    let blocks = pem::parse_many(pem_text).map_err(|e| {
        Error::malformed_certificate(format!(
            "{label} PEM cannot be read ({e}); give PEM CERTIFICATE blocks"
        ))
    })?;
    let mut certificates = Vec::with_capacity(blocks.len());
    for block in blocks {
        if block.tag() != "CERTIFICATE" {
            return Err(Error::malformed_certificate(format!(
                "{label} contains a PEM {} block; give only CERTIFICATE blocks",
                block.tag()
            )));
        }
        certificates.push(CertificateDer::from(block.into_contents()));
    }
    if certificates.is_empty() {
        return Err(Error::malformed_certificate(format!(
            "{label} contains no PEM CERTIFICATE block"
        )));
    }
    Ok(certificates)
}
