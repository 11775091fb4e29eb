//! Certificate signing requests: parsing, signature verification and content checks.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::error::{Error, Result};
use super::names::{describe_general_name, rfc4514};
use super::signature::{
    self, CURVES, EC_PUBLIC_KEY, ED25519_OID, RSA_ENCRYPTION, RSASSA_PSS, VerifyError,
};

/// Largest CSR accepted, in bytes, PEM or DER.
pub const MAX_CSR_BYTES: usize = 32 * 1024;

/// Smallest RSA modulus accepted in a CSR, in bits.
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted in a CSR, in bits: the limit of aws-lc-rs verification.
const MAX_RSA_BITS: usize = 8192;

/// The DER tag of a SEQUENCE, the first byte of a DER CSR.
const DER_SEQUENCE: u8 = 0x30;
/// Start of a PEM block.
const PEM_HEADER: &[u8] = b"-----BEGIN";

/// OID of the subjectAltName extension.
const SUBJECT_ALT_NAME: &str = "2.5.29.17";

const SUPPORTED_KEYS: &str = "use RSA 2048 or larger, EC P-256, P-384 or P-521, or Ed25519";

/// The fields of a verified CSR that issuance uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrInfo {
    /// The DER of the CSR itself.
    pub der: Vec<u8>,
    /// The subject Name, DER, exactly as in the CSR.
    pub subject_der: Vec<u8>,
    /// True when the subject has no attributes.
    pub subject_is_empty: bool,
    /// The subject in RFC 4514 form, for messages and status.
    pub subject: String,
    /// The SubjectPublicKeyInfo, DER, exactly as in the CSR.
    pub public_key_der: Vec<u8>,
    /// The subjectAltName extension value (GeneralNames DER) from the CSR, if any.
    pub subject_alt_names_der: Option<Vec<u8>>,
    /// The SANs for messages, such as `DNS:app.example`.
    pub subject_alt_names: Vec<String>,
    /// The public key for messages, such as `EC P-384` or `RSA 2048`.
    pub key_description: String,
}

impl CsrInfo {
    /// Parses a PEM `CERTIFICATE REQUEST` (or `NEW CERTIFICATE REQUEST`) or DER CSR of
    /// at most [`MAX_CSR_BYTES`], verifies its self-signature and applies the content
    /// checks: a supported key, a subject or a subjectAltName, and well-formed SAN
    /// entries. Every failure is [`ErrorKind::MalformedCsr`](super::ErrorKind::MalformedCsr).
    pub fn parse(input: &[u8]) -> Result<Self> {
        if input.len() > MAX_CSR_BYTES {
            return Err(Error::malformed_csr(format!(
                "CSR is {} bytes, larger than the {MAX_CSR_BYTES}-byte maximum",
                input.len()
            )));
        }
        let der = decode_input(input)?;
        let (rest, csr) = X509CertificationRequest::from_der(&der).map_err(|e| {
            Error::malformed_csr(format!("CSR is not a valid PKCS#10 request: {e}"))
        })?;
        if !rest.is_empty() {
            return Err(Error::malformed_csr(format!(
                "CSR has {} bytes after the request; send the request alone",
                rest.len()
            )));
        }
        let request = &csr.certification_request_info;
        let key_description = check_public_key(&request.subject_pki)?;
        verify_self_signature(&csr)?;

        let subject_is_empty = request.subject.iter_attributes().next().is_none();
        let (subject_alt_names_der, subject_alt_names) = subject_alt_names(&csr)?;
        if subject_is_empty && subject_alt_names_der.is_none() {
            return Err(Error::malformed_csr(
                "CSR has neither a subject nor a subjectAltName; add a CN or at least one \
                 DNS, IP, URI or email SAN",
            ));
        }
        Ok(CsrInfo {
            subject_der: request.subject.as_raw().to_vec(),
            subject_is_empty,
            subject: rfc4514(&request.subject),
            public_key_der: request.subject_pki.raw.to_vec(),
            subject_alt_names_der,
            subject_alt_names,
            key_description,
            der: csr.as_raw().to_vec(),
        })
    }
}

/// Returns the CSR DER from PEM or DER input. Input that starts with a DER SEQUENCE
/// tag is DER. Otherwise input that contains a PEM header is PEM, and text around the
/// PEM block (such as `openssl req -text` output) is skipped.
fn decode_input(input: &[u8]) -> Result<Vec<u8>> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::malformed_csr(
            "CSR is empty; send a PEM CERTIFICATE REQUEST or its DER",
        ));
    }
    let is_der = input.first() == Some(&DER_SEQUENCE);
    let is_pem = !is_der && input.windows(PEM_HEADER.len()).any(|w| w == PEM_HEADER);
    if !is_pem {
        return Ok(input.to_vec());
    }
    let block = pem::parse(input)
        .map_err(|e| Error::malformed_csr(format!("CSR PEM cannot be read: {e}")))?;
    match block.tag() {
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Ok(block.into_contents()),
        other => Err(Error::malformed_csr(format!(
            "PEM block is {other:?}, not a CERTIFICATE REQUEST; send the CSR"
        ))),
    }
}

/// Checks the CSR's key type and size and returns its description, such as `RSA 2048`.
fn check_public_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<String> {
    let key_oid = spki.algorithm.algorithm.to_id_string();
    match key_oid.as_str() {
        RSA_ENCRYPTION => {
            let bits = rsa_modulus_bits(spki)
                .ok_or_else(|| Error::malformed_csr("CSR RSA public key cannot be parsed"))?;
            if bits < MIN_RSA_BITS {
                return Err(Error::malformed_csr(format!(
                    "RSA {bits}-bit key is too weak; use RSA {MIN_RSA_BITS} or larger, or EC P-256"
                )));
            }
            if bits > MAX_RSA_BITS {
                return Err(Error::malformed_csr(format!(
                    "RSA {bits}-bit key is larger than the {MAX_RSA_BITS}-bit maximum; use RSA \
                     2048 to {MAX_RSA_BITS}, or EC P-256"
                )));
            }
            Ok(format!("RSA {bits}"))
        }
        EC_PUBLIC_KEY => match signature::curve_name(spki) {
            Some(curve) => Ok(format!("EC {curve}")),
            None => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|oid| oid.to_id_string())
                    .unwrap_or_else(|| "with explicit parameters".to_string());
                let names: Vec<&str> = CURVES.iter().map(|(_, name)| *name).collect();
                Err(Error::malformed_csr(format!(
                    "EC key on curve {curve} is not supported; use EC {} or RSA 2048 or larger",
                    names.join(", ")
                )))
            }
        },
        ED25519_OID => Ok("Ed25519".to_string()),
        other => {
            let name = match other {
                "1.3.101.113" => "Ed448",
                "1.2.840.10040.4.1" => "DSA",
                RSASSA_PSS => "RSASSA-PSS",
                _ => "unknown",
            };
            Err(Error::malformed_csr(format!(
                "{name} key ({other}) is not supported; {SUPPORTED_KEYS}"
            )))
        }
    }
}

/// Returns the RSA modulus size in bits, leading zero bytes and bits excluded.
fn rsa_modulus_bits(spki: &SubjectPublicKeyInfo<'_>) -> Option<usize> {
    let x509_parser::public_key::PublicKey::RSA(rsa) = spki.parsed().ok()? else {
        return None;
    };
    let start = rsa.modulus.iter().position(|b| *b != 0)?;
    let modulus = &rsa.modulus[start..];
    Some(modulus.len() * 8 - modulus[0].leading_zeros() as usize)
}

fn verify_self_signature(csr: &X509CertificationRequest<'_>) -> Result<()> {
    let request = &csr.certification_request_info;
    let signature_oid = csr.signature_algorithm.algorithm.to_id_string();
    let verified = signature::verify(
        &signature_oid,
        &request.subject_pki,
        request.raw,
        &csr.signature_value.data,
    );
    match verified {
        Ok(()) => Ok(()),
        Err(VerifyError::Unsupported(description)) => Err(Error::malformed_csr(format!(
            "CSR {description} is not supported; sign the CSR with PKCS#1 v1.5 RSA \
             (sha256WithRSAEncryption), ECDSA with SHA-2, or Ed25519"
        ))),
        Err(VerifyError::BadSignature) => Err(Error::malformed_csr(
            "CSR signature does not verify with the CSR's public key; the CSR was altered \
             after signing or is corrupt, so create it again",
        )),
    }
}

/// Returns the subjectAltName extension value and its entries as text, after
/// checking every entry.
fn subject_alt_names(csr: &X509CertificationRequest<'_>) -> Result<(Option<Vec<u8>>, Vec<String>)> {
    let mut found = None;
    for attribute in csr.certification_request_info.iter_attributes() {
        let ParsedCriAttribute::ExtensionRequest(request) = attribute.parsed_attribute() else {
            continue;
        };
        for extension in &request.extensions {
            if extension.oid.to_id_string() != SUBJECT_ALT_NAME {
                continue;
            }
            if found.is_some() {
                return Err(Error::malformed_csr(
                    "CSR requests the subjectAltName extension twice; merge the SANs into one",
                ));
            }
            found = Some(extension);
        }
    }
    let Some(extension) = found else {
        return Ok((None, Vec::new()));
    };
    let ParsedExtension::SubjectAlternativeName(san) = extension.parsed_extension() else {
        return Err(Error::malformed_csr(
            "CSR subjectAltName extension cannot be parsed; create the CSR again",
        ));
    };
    if san.general_names.is_empty() {
        return Err(Error::malformed_csr(
            "CSR subjectAltName extension has no entries; add a SAN or leave the extension out",
        ));
    }
    let mut descriptions = Vec::with_capacity(san.general_names.len());
    for name in &san.general_names {
        check_general_name(name)?;
        descriptions.push(describe_general_name(name));
    }
    Ok((Some(extension.value.to_vec()), descriptions))
}

/// Rejects an empty SAN entry, one with a control character, an IP of a length
/// other than 4 or 16 bytes, and one that is not valid for its type.
fn check_general_name(name: &GeneralName<'_>) -> Result<()> {
    let text = match name {
        GeneralName::DNSName(text) => Some(("DNS", *text)),
        GeneralName::RFC822Name(text) => Some(("email", *text)),
        GeneralName::URI(text) => Some(("URI", *text)),
        _ => None,
    };
    if let Some((kind, value)) = text {
        if value.is_empty() {
            return Err(Error::malformed_csr(format!(
                "CSR has an empty {kind} SAN; remove it or give it a value"
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(Error::malformed_csr(format!(
                "CSR {kind} SAN {value:?} contains a control character; remove it"
            )));
        }
    }
    match name {
        GeneralName::IPAddress(bytes) if bytes.len() != 4 && bytes.len() != 16 => {
            Err(Error::malformed_csr(format!(
                "CSR IP SAN is {} bytes long; an IP SAN must be 4 bytes (IPv4) or 16 bytes (IPv6)",
                bytes.len()
            )))
        }
        GeneralName::Invalid(_, _) => Err(Error::malformed_csr(format!(
            "CSR SAN {} is not valid for its type, for example not ASCII; fix the entry",
            describe_general_name(name)
        ))),
        _ => Ok(()),
    }
}
