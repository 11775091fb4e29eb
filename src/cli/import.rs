//! `get-certificate-authority-csr` and `import-certificate-authority-certificate`:
//! the two steps that activate a subordinate CA signed outside this directory.

use std::path::PathBuf;

use serde::Serialize;

use super::atomic_file::{Overwrite, PUBLIC_MODE, write_atomic};
use super::ca_dir::{CERTIFICATE_FILE, CHAIN_FILE, CSR_FILE, CaDir};
use super::error::{Error, Result, invalid_state};
use super::input::read_pem_input;
use super::metadata::CaStatus;
use crate::pki::CertificateAuthority;

/// The `--ca-dir` flag alone, for commands that take nothing else.
#[derive(Debug, Clone, clap::Args)]
pub struct CaDirArgs {
    /// Directory of the CA.
    #[arg(long, value_name = "DIR")]
    pub ca_dir: PathBuf,
    /// Optional, as in the AWS CLI: must be the ARN of the CA in --ca-dir.
    #[arg(long, value_name = "ARN")]
    pub certificate_authority_arn: Option<String>,
}

/// Flags of `import-certificate-authority-certificate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportCertificateAuthorityCertificateArgs {
    /// Directory of the PENDING_CERTIFICATE CA.
    #[arg(long, value_name = "DIR")]
    pub ca_dir: PathBuf,
    /// Optional, as in the AWS CLI: must be the ARN of the CA in --ca-dir.
    #[arg(long, value_name = "ARN")]
    pub certificate_authority_arn: Option<String>,
    /// The signed CA certificate, PEM, as fileb://PATH, file://PATH or a plain path.
    #[arg(long, value_name = "FILE")]
    pub certificate: String,
    /// The issuers above it, PEM, parent first and root last; required unless the certificate is self-signed.
    #[arg(long, value_name = "FILE")]
    pub certificate_chain: Option<String>,
}

/// Output of `get-certificate-authority-csr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCertificateAuthorityCsrOutput {
    /// The CSR, PEM.
    pub csr: String,
}

/// Returns the CSR of a pending subordinate CA.
pub fn get_certificate_authority_csr(args: &CaDirArgs) -> Result<GetCertificateAuthorityCsrOutput> {
    let dir = CaDir::new(&args.ca_dir);
    let metadata = dir.read_metadata()?;
    metadata.check_arn(args.certificate_authority_arn.as_deref(), dir.path())?;
    if metadata.status != CaStatus::PendingCertificate {
        return Err(invalid_state(format!(
            "CA {} is {}; a CSR exists only while a subordinate CA is PENDING_CERTIFICATE",
            metadata.arn(),
            metadata.status.as_str()
        )));
    }
    Ok(GetCertificateAuthorityCsrOutput {
        csr: dir.read_text(CSR_FILE)?,
    })
}

/// Imports the signed certificate of a pending CA, checks it with the engine, and
/// makes the CA `ACTIVE`. Prints nothing, like the AWS CLI.
pub fn import_certificate_authority_certificate(
    args: &ImportCertificateAuthorityCertificateArgs,
) -> Result<()> {
    let certificate = read_pem_input("--certificate", &args.certificate)?;
    let chain = args
        .certificate_chain
        .as_deref()
        .map(|argument| read_pem_input("--certificate-chain", argument))
        .transpose()?
        .filter(|chain| !chain.trim().is_empty());

    let dir = CaDir::new(&args.ca_dir);
    dir.read_metadata()?;
    let _lock = dir.lock()?;
    let mut metadata = dir.read_metadata()?;
    metadata.check_arn(args.certificate_authority_arn.as_deref(), dir.path())?;
    if metadata.status != CaStatus::PendingCertificate {
        return Err(invalid_state(format!(
            "CA {} is {}; only a PENDING_CERTIFICATE CA takes an imported certificate",
            metadata.arn(),
            metadata.status.as_str()
        )));
    }
    // The engine checks CA:TRUE, the key match and the chain's signatures.
    let authority = CertificateAuthority::import(&certificate, dir.read_key()?, chain.as_deref())?;

    if !authority.chain().is_empty() {
        write_atomic(
            &dir.file(CHAIN_FILE),
            authority.chain_pem().as_bytes(),
            PUBLIC_MODE,
            Overwrite::Replace,
        )?;
    }
    write_atomic(
        &dir.file(CERTIFICATE_FILE),
        authority.certificate_pem().as_bytes(),
        PUBLIC_MODE,
        Overwrite::Replace,
    )?;
    metadata.status = CaStatus::Active;
    dir.write_metadata(&metadata)?;
    // The CSR is kept only while pending. The CA is ACTIVE at this point, so a CSR
    // that is already gone is not an error.
    let csr_path = dir.file(CSR_FILE);
    match std::fs::remove_file(&csr_path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io("remove", &csr_path, error))
        }
        _ => Ok(()),
    }
}
