//! The checks ACM Private CA applies to an imported CA certificate, its key and its
//! chain, and reading [`CaInfo`] from the certificate.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::CaInfo;
use crate::pki::algorithm::KeyAlgorithm;
use crate::pki::error::{Error, Result};
use crate::pki::extensions::key_identifier;
use crate::pki::key::CaKey;
use crate::pki::names::rfc4514;
use crate::pki::serial::SerialNumber;
use crate::pki::signature::{self, VerifyError};

/// Parses a CA certificate and checks that it is a CA: basicConstraints present,
/// critical and CA:TRUE, and keyUsage, when present, with keyCertSign. `label` names
/// the certificate in errors, such as "chain certificate 2".
pub(super) fn parse_ca_certificate<'a>(der: &'a [u8], label: &str) -> Result<X509Certificate<'a>> {
    let (rest, certificate) = X509Certificate::from_der(der).map_err(|e| {
        Error::malformed_certificate(format!("{label} is not a valid X.509 certificate: {e}"))
    })?;
    if !rest.is_empty() {
        return Err(Error::malformed_certificate(format!(
            "{label} has {} bytes after the certificate; give the certificate alone",
            rest.len()
        )));
    }
    let subject = rfc4514(certificate.subject());
    let basic_constraints = certificate.basic_constraints().map_err(|e| {
        Error::malformed_certificate(format!(
            "{label} {subject} has an invalid basicConstraints extension: {e}"
        ))
    })?;
    match basic_constraints {
        None => {
            return Err(Error::malformed_certificate(format!(
                "{label} {subject} has no basicConstraints extension, so it is not a CA \
                 certificate; import a CA certificate with critical basicConstraints CA:TRUE"
            )));
        }
        Some(constraints) if !constraints.value.ca => {
            return Err(Error::malformed_certificate(format!(
                "{label} {subject} is not a CA certificate (basicConstraints CA:FALSE); import \
                 the CA certificate, not a leaf"
            )));
        }
        Some(constraints) if !constraints.critical => {
            return Err(Error::malformed_certificate(format!(
                "{label} {subject} has a non-critical basicConstraints extension; a CA \
                 certificate must mark basicConstraints CA:TRUE critical"
            )));
        }
        Some(_) => {}
    }
    let key_usage = certificate.key_usage().map_err(|e| {
        Error::malformed_certificate(format!("{label} {subject} has an invalid keyUsage: {e}"))
    })?;
    if key_usage.is_some_and(|usage| !usage.value.key_cert_sign()) {
        return Err(Error::malformed_certificate(format!(
            "{label} {subject} has a keyUsage without keyCertSign, so it cannot sign \
             certificates; import a CA certificate that allows keyCertSign"
        )));
    }
    Ok(certificate)
}

/// Checks that `key` is the private half of the certificate's public key.
pub(super) fn check_key_matches(certificate: &X509Certificate<'_>, key: &CaKey) -> Result<()> {
    let key_spki_der = key.public_key_der();
    let (_, key_spki) = SubjectPublicKeyInfo::from_der(&key_spki_der)
        .map_err(|e| Error::internal(format!("CA public key cannot be parsed: {e}")))?;
    let certificate_spki = certificate.public_key();
    let same_algorithm = certificate_spki.algorithm.algorithm == key_spki.algorithm.algorithm;
    let same_key = certificate_spki.subject_public_key.data == key_spki.subject_public_key.data;
    if same_algorithm && same_key {
        return Ok(());
    }
    Err(Error::malformed_certificate(format!(
        "CA private key ({}) does not match the public key of CA certificate {}; import the \
         key that belongs to the certificate",
        key.algorithm(),
        rfc4514(certificate.subject())
    )))
}

/// Checks the chain above `certificate`: each certificate signed by the next, the
/// last one self-signed, and `certificate` itself self-signed when `chain` is empty.
pub(super) fn check_chain(
    certificate: &X509Certificate<'_>,
    chain: &[rustls_pki_types::CertificateDer<'static>],
) -> Result<()> {
    if chain.is_empty() {
        return check_signed_by(certificate, certificate).map_err(|reason| {
            Error::malformed_certificate(format!(
                "CA certificate {} is not a self-signed root ({reason}); import it with its \
                 chain, the issuing CA first and the root last",
                rfc4514(certificate.subject())
            ))
        });
    }
    let issuers = chain
        .iter()
        .enumerate()
        .map(|(index, der)| parse_ca_certificate(der, &format!("chain certificate {}", index + 1)))
        .collect::<Result<Vec<_>>>()?;

    let mut child = certificate;
    let mut child_label = "the CA certificate".to_string();
    for (index, issuer) in issuers.iter().enumerate() {
        check_signed_by(child, issuer).map_err(|reason| {
            Error::malformed_certificate(format!(
                "chain certificate {} ({}) did not sign {child_label} ({}, issuer {}): {reason}; \
                 order the chain parent first, root last",
                index + 1,
                rfc4514(issuer.subject()),
                rfc4514(child.subject()),
                rfc4514(child.issuer())
            ))
        })?;
        child = issuer;
        child_label = format!("chain certificate {}", index + 1);
    }
    check_signed_by(child, child).map_err(|reason| {
        Error::malformed_certificate(format!(
            "the last chain certificate ({}) is not a self-signed root ({reason}); end the \
             chain with the root CA certificate",
            rfc4514(child.subject())
        ))
    })
}

/// Checks that `issuer`'s key signed `certificate`, or returns the reason it did not.
fn check_signed_by(
    certificate: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> std::result::Result<(), String> {
    let signature_oid = certificate.signature_algorithm.algorithm.to_id_string();
    let verified = signature::verify(
        &signature_oid,
        issuer.public_key(),
        certificate.tbs_certificate.as_ref(),
        &certificate.signature_value.data,
    );
    match verified {
        Ok(()) => Ok(()),
        Err(VerifyError::BadSignature) => Err("the signature does not verify".to_string()),
        Err(VerifyError::Unsupported(description)) => {
            Err(format!("{description} is not supported"))
        }
    }
}

/// Reads [`CaInfo`] from a checked CA certificate.
pub(super) fn read_info(
    certificate: &X509Certificate<'_>,
    key_algorithm: KeyAlgorithm,
    is_root: bool,
) -> Result<CaInfo> {
    let path_len = certificate
        .basic_constraints()
        .ok()
        .flatten()
        .and_then(|constraints| constraints.value.path_len_constraint)
        .map(|len| u8::try_from(len).unwrap_or(u8::MAX));
    Ok(CaInfo {
        subject: rfc4514(certificate.subject()),
        serial: SerialNumber::from_bytes(certificate.raw_serial()),
        not_before: certificate.validity().not_before.to_datetime(),
        not_after: certificate.validity().not_after.to_datetime(),
        path_len,
        is_root,
        key_identifier: subject_key_identifier(certificate)?,
        key_algorithm,
    })
}

/// The subjectKeyIdentifier extension value, or the RFC 5280 method 1 identifier of
/// the certificate's key when the extension is absent.
fn subject_key_identifier(certificate: &X509Certificate<'_>) -> Result<Vec<u8>> {
    let extension = certificate
        .get_extension_unique(&OID_X509_EXT_SUBJECT_KEY_IDENTIFIER)
        .map_err(|e| {
            Error::malformed_certificate(format!(
                "CA certificate {} has an invalid subjectKeyIdentifier: {e}",
                rfc4514(certificate.subject())
            ))
        })?;
    if let Some(extension) = extension
        && let ParsedExtension::SubjectKeyIdentifier(identifier) = extension.parsed_extension()
    {
        return Ok(identifier.0.to_vec());
    }
    key_identifier(certificate.public_key().raw)
}
