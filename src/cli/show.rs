//! Read-only commands: `get-certificate`, `get-certificate-authority-certificate`
//! and `describe-certificate-authority`.

use std::path::PathBuf;

use serde::Serialize;

use super::arn::parse_certificate_arn;
use super::ca_dir::{CERTIFICATE_FILE, CHAIN_FILE, CaDir};
use super::error::{Result, invalid_state, not_found};
use super::import::CaDirArgs;
use super::metadata::CaStatus;
use super::timestamp::format_rfc3339;
use crate::pki::{Clock, SubjectName};

/// Flags of `get-certificate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GetCertificateArgs {
    /// Directory of the issuing CA.
    #[arg(long, value_name = "DIR")]
    pub ca_dir: PathBuf,
    /// Optional, as in the AWS CLI: must be the ARN of the CA in --ca-dir.
    #[arg(long, value_name = "ARN")]
    pub certificate_authority_arn: Option<String>,
    /// ARN that issue-certificate returned.
    #[arg(long, value_name = "ARN")]
    pub certificate_arn: String,
}

/// A certificate and the chain above it, as GetCertificate returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateOutput {
    /// The certificate, PEM.
    pub certificate: String,
    /// The issuers above it, issuing CA first, root last; absent for a root CA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<String>,
}

/// Returns an issued certificate and its chain.
pub fn get_certificate(args: &GetCertificateArgs) -> Result<CertificateOutput> {
    let arn = parse_certificate_arn(&args.certificate_arn)?;
    let dir = CaDir::new(&args.ca_dir);
    let metadata = dir.read_metadata()?;
    metadata.check_arn(args.certificate_authority_arn.as_deref(), dir.path())?;
    if arn.ca_id != metadata.id {
        return Err(not_found(format!(
            "certificate {} belongs to another CA; the CA in {} is {}",
            args.certificate_arn,
            args.ca_dir.display(),
            metadata.arn()
        )));
    }
    let record = dir
        .read_certificate_record(&arn.serial_hex)?
        .ok_or_else(|| {
            not_found(format!(
                "certificate {} not found: CA {} issued no certificate with serial {}",
                args.certificate_arn,
                metadata.arn(),
                arn.serial_hex
            ))
        })?;
    Ok(CertificateOutput {
        certificate: record.certificate,
        certificate_chain: Some(record.certificate_chain),
    })
}

/// Returns the CA certificate and, for a subordinate, the chain above it.
pub fn get_certificate_authority_certificate(args: &CaDirArgs) -> Result<CertificateOutput> {
    let dir = CaDir::new(&args.ca_dir);
    let metadata = dir.read_metadata()?;
    metadata.check_arn(args.certificate_authority_arn.as_deref(), dir.path())?;
    if metadata.status != CaStatus::Active {
        return Err(invalid_state(format!(
            "CA {} is {} and has no certificate yet; import one with \
             import-certificate-authority-certificate",
            metadata.arn(),
            metadata.status.as_str()
        )));
    }
    let chain = dir
        .read_optional_text(CHAIN_FILE)?
        .filter(|chain| !chain.trim().is_empty());
    Ok(CertificateOutput {
        certificate: dir.read_text(CERTIFICATE_FILE)?,
        certificate_chain: chain,
    })
}

/// Output of `describe-certificate-authority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCertificateAuthorityOutput {
    /// The CA.
    pub certificate_authority: CertificateAuthorityDescription,
}

/// A CA as DescribeCertificateAuthority shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateAuthorityDescription {
    /// The CA ARN.
    pub arn: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// ROOT or SUBORDINATE.
    pub r#type: String,
    /// PENDING_CERTIFICATE, ACTIVE or EXPIRED.
    pub status: String,
    /// Serial of the CA certificate, lowercase hex; absent while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// notBefore of the CA certificate, RFC 3339 UTC; absent while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// notAfter of the CA certificate, RFC 3339 UTC; absent while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Key, signing algorithm and subject.
    pub certificate_authority_configuration: CertificateAuthorityConfiguration,
    /// GENERAL_PURPOSE or SHORT_LIVED_CERTIFICATE.
    pub usage_mode: String,
}

/// Key algorithm, signing algorithm and subject of a CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateAuthorityConfiguration {
    /// Such as EC_prime256v1.
    pub key_algorithm: String,
    /// Such as SHA256WITHECDSA.
    pub signing_algorithm: String,
    /// The subject fields.
    pub subject: Asn1Subject,
}

/// Subject fields named as ACM Private CA's ASN1Subject names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Asn1Subject {
    /// C.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// O.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// OU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    /// ST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// L.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// CN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
}

impl From<SubjectName> for Asn1Subject {
    fn from(subject: SubjectName) -> Self {
        Asn1Subject {
            country: subject.country,
            organization: subject.organization,
            organizational_unit: subject.organizational_unit,
            state: subject.state,
            locality: subject.locality,
            common_name: subject.common_name,
        }
    }
}

/// Describes the CA; its status is EXPIRED once its certificate's notAfter has passed.
pub fn describe_certificate_authority(
    args: &CaDirArgs,
    clock: &dyn Clock,
) -> Result<DescribeCertificateAuthorityOutput> {
    let dir = CaDir::new(&args.ca_dir);
    let metadata = dir.read_metadata()?;
    metadata.check_arn(args.certificate_authority_arn.as_deref(), dir.path())?;
    let mut description = CertificateAuthorityDescription {
        arn: metadata.arn(),
        created_at: metadata.created_at.clone(),
        r#type: metadata.ca_type.as_str().to_string(),
        status: metadata.status.as_str().to_string(),
        serial: None,
        not_before: None,
        not_after: None,
        certificate_authority_configuration: CertificateAuthorityConfiguration {
            key_algorithm: metadata.key_algorithm.as_str().to_string(),
            signing_algorithm: metadata.signing_algorithm.as_str().to_string(),
            subject: SubjectName::parse(&metadata.subject)?.into(),
        },
        usage_mode: metadata.usage_mode.as_str().to_string(),
    };
    if metadata.status == CaStatus::Active {
        let authority = dir.load_authority()?;
        let info = authority.info();
        description.serial = Some(info.serial.to_hex());
        description.not_before = Some(format_rfc3339(info.not_before));
        description.not_after = Some(format_rfc3339(info.not_after));
        if info.not_after <= clock.now() {
            description.status = "EXPIRED".to_string();
        }
    }
    Ok(DescribeCertificateAuthorityOutput {
        certificate_authority: description,
    })
}
