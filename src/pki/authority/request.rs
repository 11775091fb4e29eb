//! The PKCS#10 CSR of a subordinate CA, built with the `x509-cert` types.
//!
//! rcgen's `serialize_request` is not used: it derives both the SubjectPublicKeyInfo
//! algorithm and the signature algorithm from one rcgen `SignatureAlgorithm`, and
//! rcgen has none for P-256 with SHA-384/512 or P-384 with SHA-256/512.

use der::asn1::{Any, BitString, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::oid::db::rfc4519::{C, CN, L, O, OU, ST};
use der::{Decode, Encode};
use x509_cert::attr::{Attribute, AttributeTypeAndValue};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::pki::algorithm::SigningAlgorithm;
use crate::pki::certificate::pem_encode;
use crate::pki::error::{Error, Result};
use crate::pki::key::CaKey;
use crate::pki::signature::algorithm_identifier;
use crate::pki::subject::{AttributeKind, SubjectName};

/// Builds, signs and PEM-encodes the CSR.
pub(super) fn subordinate_csr(
    key: &CaKey,
    subject: &SubjectName,
    signing_algorithm: SigningAlgorithm,
) -> Result<String> {
    let failed =
        |e: der::Error| Error::internal(format!("subordinate CA CSR cannot be encoded: {e}"));
    let name = x509_name(subject)?;
    let public_key = SubjectPublicKeyInfoOwned::from_der(&key.public_key_der()).map_err(failed)?;
    let requested = requested_extensions(&name).map_err(failed)?;
    let mut attributes = SetOfVec::new();
    attributes
        .insert(Attribute::try_from(requested).map_err(failed)?)
        .map_err(failed)?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: name,
        public_key,
        attributes,
    };
    let info_der = info.to_der().map_err(failed)?;
    let signature = key.sign(signing_algorithm, &info_der)?;
    let request = CertReq {
        info,
        algorithm: algorithm_identifier(signing_algorithm),
        signature: BitString::from_bytes(&signature).map_err(failed)?,
    };
    Ok(pem_encode(
        "CERTIFICATE REQUEST",
        &request.to_der().map_err(failed)?,
    ))
}

/// basicConstraints CA:TRUE and keyUsage digitalSignature, keyCertSign and cRLSign,
/// both critical.
fn requested_extensions(subject: &Name) -> der::Result<ExtensionReq> {
    let basic_constraints = BasicConstraints {
        ca: true,
        path_len_constraint: None,
    };
    let key_usage =
        KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign);
    let extensions: Vec<Extension> = vec![
        (true, &basic_constraints).to_extension(subject, &[])?,
        (true, &key_usage).to_extension(subject, &[])?,
    ];
    Ok(ExtensionReq(extensions))
}

/// Converts the subject to an X.501 Name, one attribute per RDN in the order C, ST, L, O, OU,
/// CN: C as PrintableString (RFC 5280 requires it), the rest as UTF8String.
fn x509_name(subject: &SubjectName) -> Result<Name> {
    let failed = |e: der::Error| Error::invalid_args(format!("subject cannot be encoded: {e}"));
    let mut sequence = RdnSequence::default();
    for (kind, value) in subject.attributes() {
        let (oid, encoded) = match kind {
            AttributeKind::Country => (
                C,
                Any::encode_from(&PrintableStringRef::new(value).map_err(failed)?),
            ),
            AttributeKind::State => (ST, utf8(value)),
            AttributeKind::Locality => (L, utf8(value)),
            AttributeKind::Organization => (O, utf8(value)),
            AttributeKind::OrganizationalUnit => (OU, utf8(value)),
            AttributeKind::CommonName => (CN, utf8(value)),
        };
        let attribute = AttributeTypeAndValue {
            oid,
            value: encoded.map_err(failed)?,
        };
        sequence.push(RelativeDistinguishedName::try_from(vec![attribute]).map_err(failed)?);
    }
    Name::from_der(&sequence.to_der().map_err(failed)?).map_err(failed)
}

fn utf8(value: &str) -> der::Result<Any> {
    Any::encode_from(&Utf8StringRef::new(value)?)
}
