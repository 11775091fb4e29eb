//! `create-certificate-authority`: a root CA, a subordinate signed by a local parent,
//! or a subordinate pending a certificate signed elsewhere.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::atomic_file::{Overwrite, PRIVATE_MODE, PUBLIC_MODE, write_atomic};
use super::ca_dir::{CERTIFICATE_FILE, CHAIN_FILE, CSR_FILE, CaDir, KEY_FILE};
use super::error::{Error, Result, invalid_args};
use super::issue::{Issuance, issue_and_record, parse_validity};
use super::metadata::{CaMetadata, CaStatus, CaType, UsageMode, new_ca_id};
use super::timestamp::format_rfc3339;
use crate::pki::{
    CaKey, CertificateAuthority, Clock, KeyAlgorithm, SubjectName, Template, Validity,
};

/// Largest pathLen a subordinate template sets.
pub const MAX_PATH_LENGTH: u8 = 3;

/// Flags of `create-certificate-authority`.
#[derive(Debug, Clone, clap::Args)]
pub struct CreateCertificateAuthorityArgs {
    /// Directory for the new CA; created when missing, and must not hold a CA.
    #[arg(long, value_name = "DIR")]
    pub ca_dir: PathBuf,
    /// ROOT (self-signed) or SUBORDINATE (signed by --parent-ca-dir, or pending a certificate).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub ca_type: CaType,
    /// Key algorithm: RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, EC_secp384r1 or EC_secp521r1.
    #[arg(long, value_name = "ALGORITHM")]
    pub key_algorithm: String,
    /// Signing algorithm of the CA; the key's default (such as SHA256WITHECDSA) when not given.
    #[arg(long, value_name = "ALGORITHM")]
    pub signing_algorithm: Option<String>,
    /// Subject, such as 'CN=Example Root,O=Example' (keys CN, O, OU, C, ST, L).
    #[arg(long, value_name = "SUBJECT")]
    pub subject: String,
    /// Validity of the CA certificate, such as Value=10,Type=YEARS; required unless the CA is pending.
    #[arg(long, value_name = "Value=N,Type=T")]
    pub validity: Option<String>,
    /// Directory of an ACTIVE parent CA that signs this SUBORDINATE CA at once.
    #[arg(long, value_name = "DIR")]
    pub parent_ca_dir: Option<PathBuf>,
    /// pathLen of a subordinate signed by --parent-ca-dir, 0 to 3 (default 0).
    #[arg(long, value_name = "N")]
    pub path_length: Option<u8>,
    /// GENERAL_PURPOSE, or SHORT_LIVED_CERTIFICATE for certificates of at most 7 days.
    #[arg(long, value_enum, default_value_t = UsageMode::GeneralPurpose, value_name = "MODE")]
    pub usage_mode: UsageMode,
}

/// Output of `create-certificate-authority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCertificateAuthorityOutput {
    /// ARN of the new CA.
    pub certificate_authority_arn: String,
}

/// Source of the new CA's certificate.
#[derive(Clone, Copy)]
enum Plan<'a> {
    Root {
        validity: Validity,
    },
    SignedByParent {
        validity: Validity,
        parent: &'a Path,
        path_len: u8,
    },
    Pending,
}

/// Creates a CA in `args.ca_dir`.
pub fn create_certificate_authority(
    args: &CreateCertificateAuthorityArgs,
    clock: &dyn Clock,
) -> Result<CreateCertificateAuthorityOutput> {
    let key_algorithm: KeyAlgorithm = args.key_algorithm.parse()?;
    let signing_algorithm = match &args.signing_algorithm {
        Some(name) => name.parse()?,
        None => key_algorithm.default_signing_algorithm(),
    };
    signing_algorithm.check_key(key_algorithm)?;
    let subject = SubjectName::parse(&args.subject)?;
    let plan = plan(args)?;

    let dir = CaDir::new(&args.ca_dir);
    if let Plan::SignedByParent { parent, .. } = plan {
        CaDir::new(parent).read_metadata()?;
    }
    // Checked again under the lock below; this early check keeps a parent from
    // signing for a directory that already holds a CA.
    dir.check_no_ca()?;

    // Build the key and certificate before touching the directory, so a rejected
    // validity or pathLen leaves nothing behind.
    let material = match plan {
        Plan::Root { validity } => {
            let authority = CertificateAuthority::create_root(
                &subject,
                key_algorithm,
                signing_algorithm,
                validity,
                clock,
            )?;
            let certificate = authority.certificate_pem();
            Material::Active {
                key: authority.into_key(),
                certificate,
                chain: None,
            }
        }
        Plan::SignedByParent {
            validity,
            parent,
            path_len,
        } => {
            let key = CaKey::generate(key_algorithm)?;
            let csr = CertificateAuthority::subordinate_csr(&key, &subject, signing_algorithm)?;
            let (certificate, chain) = sign_by_parent(parent, &csr, validity, path_len, clock)?;
            // Re-import with the engine's checks before anything is stored.
            let authority = CertificateAuthority::import(&certificate, key, Some(&chain))?;
            Material::Active {
                key: authority.into_key(),
                certificate,
                chain: Some(chain),
            }
        }
        Plan::Pending => {
            let key = CaKey::generate(key_algorithm)?;
            let csr = CertificateAuthority::subordinate_csr(&key, &subject, signing_algorithm)?;
            Material::Pending { key, csr }
        }
    };

    dir.create_layout()?;
    if let Plan::SignedByParent { parent, .. } = plan {
        check_distinct(dir.path(), parent)?;
    }
    let _lock = dir.lock()?;
    dir.check_no_ca()?;

    let mut metadata = CaMetadata {
        id: new_ca_id()?,
        ca_type: args.ca_type,
        status: CaStatus::Active,
        key_algorithm,
        signing_algorithm,
        usage_mode: args.usage_mode,
        subject: args.subject.clone(),
        created_at: format_rfc3339(clock.now()),
    };
    match material {
        Material::Active {
            key,
            certificate,
            chain,
        } => {
            write_key(&dir, &key)?;
            if let Some(chain) = chain {
                write_public(&dir, CHAIN_FILE, &chain)?;
            }
            write_public(&dir, CERTIFICATE_FILE, &certificate)?;
        }
        Material::Pending { key, csr } => {
            write_key(&dir, &key)?;
            write_public(&dir, CSR_FILE, &csr)?;
            metadata.status = CaStatus::PendingCertificate;
        }
    }
    dir.write_metadata(&metadata)?;
    Ok(CreateCertificateAuthorityOutput {
        certificate_authority_arn: metadata.arn(),
    })
}

/// The key and certificate (or CSR) of a new CA, built before anything is written.
enum Material {
    /// A CA that issues at once: a root, or a subordinate signed by a local parent.
    Active {
        key: CaKey,
        certificate: String,
        chain: Option<String>,
    },
    /// A subordinate that waits for a certificate signed elsewhere.
    Pending { key: CaKey, csr: String },
}

/// Checks the flag combination and decides how the CA gets its certificate.
fn plan(args: &CreateCertificateAuthorityArgs) -> Result<Plan<'_>> {
    let validity = args
        .validity
        .as_deref()
        .map(|value| parse_validity("--validity", value))
        .transpose()?;
    if let Some(path_len) = args.path_length
        && path_len > MAX_PATH_LENGTH
    {
        return Err(invalid_args(format!(
            "--path-length {path_len} is over the maximum {MAX_PATH_LENGTH}; \
             use 0 to {MAX_PATH_LENGTH}"
        )));
    }
    match (args.ca_type, &args.parent_ca_dir) {
        (CaType::Root, Some(parent)) => Err(invalid_args(format!(
            "--parent-ca-dir {} applies only to --type SUBORDINATE; a ROOT is self-signed",
            parent.display()
        ))),
        (CaType::Root, None) => {
            if args.path_length.is_some() {
                return Err(invalid_args(
                    "--path-length applies only to a SUBORDINATE signed by --parent-ca-dir; \
                     a ROOT has no pathLen",
                ));
            }
            let validity = validity.ok_or_else(|| {
                invalid_args("--validity is required for a ROOT CA, such as Value=10,Type=YEARS")
            })?;
            Ok(Plan::Root { validity })
        }
        (CaType::Subordinate, Some(parent)) => {
            let validity = validity.ok_or_else(|| {
                invalid_args(
                    "--validity is required with --parent-ca-dir, such as Value=5,Type=YEARS",
                )
            })?;
            Ok(Plan::SignedByParent {
                validity,
                parent,
                path_len: args.path_length.unwrap_or(0),
            })
        }
        (CaType::Subordinate, None) => {
            if args.validity.is_some() || args.path_length.is_some() {
                return Err(invalid_args(
                    "--validity and --path-length apply only with --parent-ca-dir; without it \
                     the CA waits for a certificate, and its signer chooses both",
                ));
            }
            Ok(Plan::Pending)
        }
    }
}

/// Has the parent CA in `parent` sign `csr` with `SubordinateCACertificate_PathLen{N}/V1`
/// under the parent's lock. Returns the certificate and the chain (parent first, root last).
fn sign_by_parent(
    parent: &Path,
    csr: &str,
    validity: Validity,
    path_len: u8,
    clock: &dyn Clock,
) -> Result<(String, String)> {
    let parent_dir = CaDir::new(parent);
    let _lock = parent_dir.lock()?;
    let (metadata, authority) = parent_dir.load_active(clock)?;
    let issuance = Issuance {
        csr: csr.as_bytes(),
        template: Template::SubordinateCa { path_len },
        signing_algorithm: metadata.signing_algorithm,
        validity,
        not_before: None,
    };
    let (issued, _) = issue_and_record(&parent_dir, &metadata, &authority, &issuance, clock)?;
    Ok((issued.certificate_pem(), issued.certificate_chain_pem()))
}

fn write_key(dir: &CaDir, key: &CaKey) -> Result<()> {
    let pem = key.to_pkcs8_pem();
    write_atomic(
        &dir.file(KEY_FILE),
        pem.as_bytes(),
        PRIVATE_MODE,
        Overwrite::Never,
    )
}

fn write_public(dir: &CaDir, name: &str, pem: &str) -> Result<()> {
    write_atomic(
        &dir.file(name),
        pem.as_bytes(),
        PUBLIC_MODE,
        Overwrite::Never,
    )
}

/// Fails when `parent` and `child` are one directory, which would deadlock on the lock.
fn check_distinct(child: &Path, parent: &Path) -> Result<()> {
    let canonical = |path: &Path| {
        path.canonicalize()
            .map_err(|error| Error::io("resolve", path, error))
    };
    if canonical(child)? == canonical(parent)? {
        return Err(invalid_args(format!(
            "--parent-ca-dir {} is the new CA's own directory; name the parent CA's directory",
            parent.display()
        )));
    }
    Ok(())
}
