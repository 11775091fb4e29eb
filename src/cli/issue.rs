//! `issue-certificate`: ACM Private CA's IssueCertificate on a local CA directory.

use std::path::PathBuf;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::arn::certificate_arn;
use super::ca_dir::CaDir;
use super::error::{Result, invalid_args};
use super::idempotency::{IssueArguments, TokenRecord, check_token, sha256_hex};
use super::input::read_input;
use super::metadata::CaMetadata;
use super::records::CertificateRecord;
use super::timestamp::{format_rfc3339, whole_seconds};
use crate::pki::{
    CertificateAuthority, Clock, ExpiryPolicy, IssueRequest, IssuedCertificate, SigningAlgorithm,
    Template, Validity, ValidityType,
};

/// How far notBefore is set before the issuance time when no notBefore is given.
pub const NOT_BEFORE_BACKDATE: Duration = Duration::minutes(60);

/// Flags of `issue-certificate`.
#[derive(Debug, Clone, clap::Args)]
pub struct IssueCertificateArgs {
    /// Directory of the issuing CA.
    #[arg(long, value_name = "DIR")]
    pub ca_dir: PathBuf,
    /// Optional, as in the AWS CLI: must be the ARN of the CA in --ca-dir.
    #[arg(long, value_name = "ARN")]
    pub certificate_authority_arn: Option<String>,
    /// The CSR, PEM or DER, as fileb://PATH, file://PATH or a plain path.
    #[arg(long, value_name = "FILE")]
    pub csr: String,
    /// Signature algorithm; its family must match the CA key, such as SHA256WITHRSA.
    #[arg(long, value_name = "ALGORITHM")]
    pub signing_algorithm: String,
    /// Validity, such as Value=365,Type=DAYS (types DAYS, MONTHS, YEARS, ABSOLUTE, END_DATE).
    #[arg(long, value_name = "Value=N,Type=T")]
    pub validity: String,
    /// Template name or ARN; EndEntityCertificate/V1 when not given.
    #[arg(long, value_name = "ARN_OR_NAME")]
    pub template_arn: Option<String>,
    /// Explicit notBefore, Type ABSOLUTE (Unix seconds) or END_DATE; otherwise 60 minutes before now.
    #[arg(long, value_name = "Value=N,Type=T")]
    pub validity_not_before: Option<String>,
    /// 1 to 36 characters; a repeated call with the same token and arguments returns the same certificate.
    #[arg(long, value_name = "TOKEN")]
    pub idempotency_token: Option<String>,
}

/// Output of `issue-certificate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IssueCertificateOutput {
    /// ARN of the issued certificate.
    pub certificate_arn: String,
}

/// Parameters of one issuance by a loaded CA, after argument parsing.
#[derive(Debug, Clone)]
pub struct Issuance<'a> {
    /// The CSR bytes, PEM or DER.
    pub csr: &'a [u8],
    /// The template.
    pub template: Template,
    /// The signing algorithm.
    pub signing_algorithm: SigningAlgorithm,
    /// The validity, which gives notAfter.
    pub validity: Validity,
    /// An explicit notBefore instant, else issuance time minus [`NOT_BEFORE_BACKDATE`].
    pub not_before: Option<OffsetDateTime>,
}

/// Flags of `issue-certificate` after parsing, before any file is read.
struct ParsedFlags<'a> {
    token: Option<&'a str>,
    signing_algorithm: SigningAlgorithm,
    validity: Validity,
    not_before: Option<(Validity, OffsetDateTime)>,
    template: Template,
}

/// Issues a certificate from `args.csr`, or returns the earlier one for a repeated
/// idempotency token.
pub fn issue_certificate(
    args: &IssueCertificateArgs,
    clock: &dyn Clock,
) -> Result<IssueCertificateOutput> {
    let flags = parse_flags(args)?;
    let csr = read_input("--csr", &args.csr)?;

    let dir = CaDir::new(&args.ca_dir);
    dir.read_metadata()?;
    // Held until return, so issuance in this CA is serialized and the token check
    // and the token record's write are one step.
    let _lock = dir.lock()?;
    let (metadata, authority) = dir.load_active(clock)?;
    metadata.check_arn(args.certificate_authority_arn.as_deref(), dir.path())?;
    flags.signing_algorithm.check_key(metadata.key_algorithm)?;

    let arguments = IssueArguments {
        csr_sha256: sha256_hex(&csr),
        signing_algorithm: flags.signing_algorithm.as_str().to_string(),
        validity: flags.validity.to_string(),
        validity_not_before: flags.not_before.map(|(validity, _)| validity.to_string()),
        template: flags.template.name().to_string(),
    };
    if let Some(token) = flags.token
        && let Some(record) = dir.find_token(token)?
    {
        let certificate_arn = record.replay(token, &arguments)?;
        return Ok(IssueCertificateOutput { certificate_arn });
    }

    let issuance = Issuance {
        csr: &csr,
        template: flags.template,
        signing_algorithm: flags.signing_algorithm,
        validity: flags.validity,
        not_before: flags.not_before.map(|(_, instant)| instant),
    };
    let (_, record) = issue_and_record(&dir, &metadata, &authority, &issuance, clock)?;
    if let Some(token) = flags.token {
        let token_record = TokenRecord {
            token_sha256: sha256_hex(token.as_bytes()),
            fingerprint: arguments.fingerprint(),
            arguments,
            certificate_arn: record.certificate_arn.clone(),
            created_at: format_rfc3339(clock.now()),
        };
        dir.write_token_record(token, &token_record)?;
    }
    Ok(IssueCertificateOutput {
        certificate_arn: record.certificate_arn,
    })
}

/// Parses every flag that needs no file, so a bad value fails before any I/O.
fn parse_flags(args: &IssueCertificateArgs) -> Result<ParsedFlags<'_>> {
    let token = args
        .idempotency_token
        .as_deref()
        .map(check_token)
        .transpose()?;
    let not_before = args
        .validity_not_before
        .as_deref()
        .map(parse_not_before)
        .transpose()?;
    let template = match &args.template_arn {
        Some(name) => name.parse()?,
        None => Template::default(),
    };
    Ok(ParsedFlags {
        token,
        signing_algorithm: args.signing_algorithm.parse()?,
        validity: parse_validity("--validity", &args.validity)?,
        not_before,
        template,
    })
}

/// Issues with ACM semantics (reject a notAfter past the CA's, 7-day cap for a
/// short-lived CA) and stores the certificate record. The caller holds the lock.
pub fn issue_and_record(
    dir: &CaDir,
    metadata: &CaMetadata,
    authority: &CertificateAuthority,
    issuance: &Issuance<'_>,
    clock: &dyn Clock,
) -> Result<(IssuedCertificate, CertificateRecord)> {
    let now = whole_seconds(clock.now());
    let not_after = issuance.validity.not_after(now)?;
    let not_before = issuance.not_before.unwrap_or(now - NOT_BEFORE_BACKDATE);
    if not_before >= not_after {
        return Err(invalid_args(format!(
            "notBefore {} is not before notAfter {}; move --validity-not-before earlier \
             or --validity later",
            format_rfc3339(not_before),
            format_rfc3339(not_after)
        )));
    }
    let request = IssueRequest {
        csr: issuance.csr,
        template: issuance.template,
        signing_algorithm: issuance.signing_algorithm,
        not_before,
        not_after,
        expiry_policy: ExpiryPolicy::Reject,
    };
    let issued = authority.issue(&request, metadata.usage_mode.is_short_lived(), clock)?;
    let serial = issued.serial.to_hex();
    let record = CertificateRecord {
        certificate_arn: certificate_arn(&metadata.id, &serial),
        subject: subject_of(&issued),
        serial,
        not_before: format_rfc3339(issued.not_before),
        not_after: format_rfc3339(issued.not_after),
        issued_at: format_rfc3339(now),
        template: issued.template.name().to_string(),
        signing_algorithm: issuance.signing_algorithm.as_str().to_string(),
        csr_sha256: sha256_hex(issuance.csr),
        certificate: issued.certificate_pem(),
        certificate_chain: issued.certificate_chain_pem(),
    };
    dir.write_certificate_record(&record)?;
    Ok((issued, record))
}

/// Parses a `Value=N,Type=T` validity. The engine's message already names the validity,
/// so only options other than `--validity` are named in front of it.
pub fn parse_validity(option: &str, value: &str) -> Result<Validity> {
    value.parse().map_err(|error: crate::pki::Error| {
        if option == "--validity" {
            error.into()
        } else {
            invalid_args(format!("{option}: {}", error.message()))
        }
    })
}

/// Parses `--validity-not-before`, which must name an instant (ABSOLUTE or END_DATE).
fn parse_not_before(value: &str) -> Result<(Validity, OffsetDateTime)> {
    let validity = parse_validity("--validity-not-before", value)?;
    if !matches!(
        validity.kind,
        ValidityType::Absolute | ValidityType::EndDate
    ) {
        return Err(invalid_args(format!(
            "--validity-not-before {value:?} has Type={}; use Type=ABSOLUTE (Unix seconds) \
             or Type=END_DATE (YYYYMMDDHHMMSS)",
            validity.kind
        )));
    }
    // For ABSOLUTE and END_DATE the result is the named instant, independent of the base.
    let instant = validity.not_after(OffsetDateTime::UNIX_EPOCH)?;
    Ok((validity, instant))
}

/// Subject of an issued certificate in RFC 4514 form, read back with x509-parser.
fn subject_of(issued: &IssuedCertificate) -> String {
    match x509_parser::parse_x509_certificate(issued.certificate.as_ref()) {
        Ok((_, certificate)) => certificate.subject().to_string(),
        Err(_) => String::new(),
    }
}
