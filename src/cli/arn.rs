//! ARNs of local CAs and of the certificates they issue, in ACM Private CA's form.

use super::error::{Result, invalid_args};

/// Prefix of every local CA ARN; the CA id follows it.
pub const CA_ARN_PREFIX: &str = "arn:aws:acm-pca:local:000000000000:certificate-authority/";

/// Separator between a CA ARN and a certificate's serial number.
const CERTIFICATE_SEGMENT: &str = "/certificate/";

/// Formats the ARN of the CA with id `ca_id`.
pub fn ca_arn(ca_id: &str) -> String {
    format!("{CA_ARN_PREFIX}{ca_id}")
}

/// Formats the ARN of the certificate with serial `serial_hex` (lowercase hex) issued by CA `ca_id`.
pub fn certificate_arn(ca_id: &str, serial_hex: &str) -> String {
    format!("{}{CERTIFICATE_SEGMENT}{serial_hex}", ca_arn(ca_id))
}

/// The parts of a certificate ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateArn {
    /// Id of the issuing CA.
    pub ca_id: String,
    /// Serial number, lowercase hex without separators.
    pub serial_hex: String,
}

/// Parses `arn:aws:acm-pca:local:000000000000:certificate-authority/<id>/certificate/<serial>`.
///
/// The serial must be lowercase hex of at most 40 digits (20 bytes, the RFC 5280 maximum),
/// so it is safe as a file name.
pub fn parse_certificate_arn(arn: &str) -> Result<CertificateArn> {
    let malformed = || {
        invalid_args(format!(
            "malformed certificate ARN {arn:?}; expected \
             {CA_ARN_PREFIX}<ca id>{CERTIFICATE_SEGMENT}<serial in lowercase hex>"
        ))
    };
    let rest = arn.strip_prefix(CA_ARN_PREFIX).ok_or_else(malformed)?;
    let (ca_id, serial_hex) = rest.split_once(CERTIFICATE_SEGMENT).ok_or_else(malformed)?;
    if !is_ca_id(ca_id) || !is_serial_hex(serial_hex) {
        return Err(malformed());
    }
    Ok(CertificateArn {
        ca_id: ca_id.to_string(),
        serial_hex: serial_hex.to_string(),
    })
}

/// True for a CA id as this tool generates it: lowercase hex digits and dashes.
pub fn is_ca_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
}

fn is_serial_hex(serial: &str) -> bool {
    !serial.is_empty()
        && serial.len() <= 40
        && serial
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA_ID: &str = "0f3c9a1e-5b2d-4c7e-9a10-3e6f8b2d4c11";

    #[test]
    fn certificate_arn_round_trips() {
        let arn = certificate_arn(CA_ID, "7a01ff");
        let parsed = parse_certificate_arn(&arn);
        assert_eq!(
            parsed.ok(),
            Some(CertificateArn {
                ca_id: CA_ID.to_string(),
                serial_hex: "7a01ff".to_string(),
            })
        );
    }

    #[test]
    fn certificate_arn_malformed_names_expected_form() {
        let inputs = [
            "",
            "7a01ff",
            "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x/certificate/7a",
            &ca_arn(CA_ID),
            &format!("{}/certificate/", ca_arn(CA_ID)),
            &format!("{}/certificate/7A01FF", ca_arn(CA_ID)),
            &format!("{}/certificate/../../ca.key", ca_arn(CA_ID)),
            &format!("{}/certificate/{}", ca_arn(CA_ID), "a".repeat(41)),
        ];
        for input in inputs {
            let Err(error) = parse_certificate_arn(input) else {
                panic!("{input:?} was accepted");
            };
            let message = error.to_string();
            assert!(message.starts_with("InvalidArgs: "), "{message}");
            assert!(
                message.contains("/certificate/<serial in lowercase hex>"),
                "{message}"
            );
        }
    }
}
