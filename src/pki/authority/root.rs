//! The self-signed `RootCACertificate/V1` certificate, built with rcgen.

use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, IsCa, Issuer,
    KeyIdMethod, KeyUsagePurpose, PublicKeyData, SignatureAlgorithm, SigningKey,
};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::pki::algorithm::SigningAlgorithm;
use crate::pki::error::{Error, Result};
use crate::pki::extensions::key_identifier;
use crate::pki::key::CaKey;
use crate::pki::serial::SerialNumber;
use crate::pki::subject::{AttributeKind, SubjectName};

/// Builds and signs a root certificate with the `RootCACertificate/V1` extensions.
///
/// These are a critical basicConstraints CA:TRUE without pathLen, a critical keyUsage
/// with digitalSignature, keyCertSign and cRLSign, and an RFC 5280 method 1
/// subjectKeyIdentifier. A root has no authorityKeyIdentifier.
pub(super) fn self_signed(
    key: &CaKey,
    subject: &SubjectName,
    signing_algorithm: SigningAlgorithm,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateDer<'static>> {
    let failed =
        |e: rcgen::Error| Error::internal(format!("root certificate cannot be built: {e}"));
    let spki_der = key.public_key_der();
    let serial = SerialNumber::try_random()?;

    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(subject)?;
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(serial.as_bytes()));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_identifier(&spki_der)?);
    params.use_authority_key_identifier_extension = false;

    // rcgen writes the subject's SubjectPublicKeyInfo from the PublicKeyData given to
    // `signed_by` and the signature AlgorithmIdentifier from the signer, so the
    // subject key is passed separately: no rcgen algorithm pairs P-256 with SHA-384.
    let signer = RcgenSigner::new(key, signing_algorithm, &spki_der)?;
    let subject_key = rcgen::SubjectPublicKeyInfo::from_der(&spki_der).map_err(failed)?;
    let issuer = Issuer::from_params(&params, &signer);
    let certificate = params.signed_by(&subject_key, &issuer).map_err(failed)?;
    Ok(certificate.der().clone())
}

/// Converts the subject to an rcgen Name: C as PrintableString (RFC 5280 requires it), the
/// other attributes as UTF8String.
fn distinguished_name(subject: &SubjectName) -> Result<DistinguishedName> {
    let mut name = DistinguishedName::new();
    for (kind, value) in subject.attributes() {
        let dn_type = match kind {
            AttributeKind::CommonName => DnType::CommonName,
            AttributeKind::Organization => DnType::OrganizationName,
            AttributeKind::OrganizationalUnit => DnType::OrganizationalUnitName,
            AttributeKind::Country => DnType::CountryName,
            AttributeKind::State => DnType::StateOrProvinceName,
            AttributeKind::Locality => DnType::LocalityName,
        };
        if kind == AttributeKind::Country {
            let country = PrintableString::try_from(value).map_err(|_| {
                Error::invalid_args(format!("subject C={value:?} is not a PrintableString"))
            })?;
            name.push(dn_type, DnValue::PrintableString(country));
        } else {
            name.push(dn_type, DnValue::Utf8String(value.to_string()));
        }
    }
    Ok(name)
}

/// A [`CaKey`] with a fixed signing algorithm, as rcgen's signer.
struct RcgenSigner<'a> {
    key: &'a CaKey,
    signing_algorithm: SigningAlgorithm,
    public_key_bits: Vec<u8>,
}

impl<'a> RcgenSigner<'a> {
    fn new(key: &'a CaKey, signing_algorithm: SigningAlgorithm, spki_der: &[u8]) -> Result<Self> {
        let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der)
            .map_err(|e| Error::internal(format!("CA public key cannot be parsed: {e}")))?;
        Ok(Self {
            key,
            signing_algorithm,
            public_key_bits: spki.subject_public_key.data.to_vec(),
        })
    }
}

impl PublicKeyData for RcgenSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key_bits
    }

    /// Returns the rcgen algorithm with the matching signature AlgorithmIdentifier.
    /// rcgen reads only its OID and parameters here, never its curve.
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self.signing_algorithm {
            SigningAlgorithm::Sha256WithRsa => &rcgen::PKCS_RSA_SHA256,
            SigningAlgorithm::Sha384WithRsa => &rcgen::PKCS_RSA_SHA384,
            SigningAlgorithm::Sha512WithRsa => &rcgen::PKCS_RSA_SHA512,
            SigningAlgorithm::Sha256WithEcdsa => &rcgen::PKCS_ECDSA_P256_SHA256,
            SigningAlgorithm::Sha384WithEcdsa => &rcgen::PKCS_ECDSA_P384_SHA384,
            SigningAlgorithm::Sha512WithEcdsa => &rcgen::PKCS_ECDSA_P521_SHA512,
        }
    }
}

impl SigningKey for RcgenSigner<'_> {
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        self.key
            .sign(self.signing_algorithm, message)
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}
