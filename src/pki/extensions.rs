//! The X.509 extensions of an issued certificate, encoded with the `x509-cert` types.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use der::Encode;
use der::asn1::OctetString;
use der::oid::AssociatedOid;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::spki::SubjectPublicKeyInfoRef;

use super::error::{Error, Result};
use super::template::Template;

/// Inputs of an issued certificate's extensions besides the template.
pub(crate) struct ExtensionInputs<'a> {
    /// The subject's SubjectPublicKeyInfo, DER.
    pub subject_public_key_info: &'a [u8],
    /// The issuing CA's subjectKeyIdentifier; None for a self-signed certificate.
    pub authority_key_identifier: Option<&'a [u8]>,
    /// The CSR's subjectAltName extension value (GeneralNames DER), copied unchanged.
    pub subject_alt_names: Option<&'a [u8]>,
    /// True when the subject Name is empty, which makes the SAN critical (RFC 5280, 4.2.1.6).
    pub subject_is_empty: bool,
}

/// Builds the extensions of a certificate issued with `template`, in this order:
/// basicConstraints, keyUsage, extendedKeyUsage, subjectKeyIdentifier,
/// authorityKeyIdentifier, subjectAltName.
///
/// keyEncipherment is left out for an Ed25519 subject key: RFC 8410, section 5,
/// forbids it there, and Ed25519 cannot encrypt. EC keys keep it, as ACM Private CA
/// sets it for them.
pub(crate) fn build(template: Template, inputs: &ExtensionInputs<'_>) -> Result<Vec<Extension>> {
    let profile = template.profile();
    let mut key_usage = profile.key_usage;
    if is_ed25519(inputs.subject_public_key_info) {
        key_usage -= KeyUsages::KeyEncipherment;
    }
    let mut extensions = vec![
        encode(
            profile.basic_constraints_critical,
            &profile.basic_constraints,
        )?,
        encode(true, &KeyUsage(key_usage))?,
    ];
    if let Some((purposes, critical)) = profile.extended_key_usage {
        extensions.push(encode(critical, &ExtendedKeyUsage(purposes))?);
    }

    let key_identifier = key_identifier(inputs.subject_public_key_info)?;
    extensions.push(encode(
        false,
        &SubjectKeyIdentifier(octets(&key_identifier)?),
    )?);

    if let Some(authority) = inputs.authority_key_identifier {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(octets(authority)?),
            ..Default::default()
        };
        extensions.push(encode(false, &aki)?);
    }

    if let Some(names) = inputs.subject_alt_names {
        extensions.push(Extension {
            extn_id: SubjectAltName::OID,
            critical: inputs.subject_is_empty,
            extn_value: octets(names)?,
        });
    }
    Ok(extensions)
}

/// Computes a key identifier with RFC 5280 method 1: the SHA-1 hash of the
/// subjectPublicKey BIT STRING value, without tag, length and unused-bits count.
pub(crate) fn key_identifier(subject_public_key_info: &[u8]) -> Result<Vec<u8>> {
    let spki = SubjectPublicKeyInfoRef::try_from(subject_public_key_info)
        .map_err(|e| Error::internal(format!("SubjectPublicKeyInfo cannot be decoded: {e}")))?;
    let key_bits = spki.subject_public_key.raw_bytes();
    Ok(digest(&SHA1_FOR_LEGACY_USE_ONLY, key_bits)
        .as_ref()
        .to_vec())
}

/// True when the SubjectPublicKeyInfo contains an Ed25519 key (OID 1.3.101.112).
fn is_ed25519(subject_public_key_info: &[u8]) -> bool {
    const ED25519: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.3.101.112");
    SubjectPublicKeyInfoRef::try_from(subject_public_key_info)
        .is_ok_and(|spki| spki.algorithm.oid == ED25519)
}

fn encode<T: AssociatedOid + Encode>(critical: bool, value: &T) -> Result<Extension> {
    let der = value
        .to_der()
        .map_err(|e| Error::internal(format!("extension {} cannot be encoded: {e}", T::OID)))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: octets(&der)?,
    })
}

fn octets(bytes: &[u8]) -> Result<OctetString> {
    OctetString::new(bytes)
        .map_err(|e| Error::internal(format!("OCTET STRING cannot be encoded: {e}")))
}
