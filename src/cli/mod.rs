//! The command line: local CA commands mirroring `aws acm-pca`, `crds` and `run`.
//!
//! Each local CA command is a library function that takes its flags and a
//! [`Clock`], so tests call it in-process at a fixed instant; [`execute`]
//! dispatches a parsed command and renders its JSON output.

pub mod arn;
pub mod atomic_file;
pub mod ca_dir;
pub mod create;
pub mod error;
pub mod idempotency;
pub mod import;
pub mod input;
pub mod issue;
pub mod metadata;
pub mod records;
pub mod show;
pub mod timestamp;

use std::io::Write;

use clap::{Parser, Subcommand};
use serde::Serialize;

pub use error::{Error, Result};

use crate::pki::Clock;

/// `privateca-issuer`: a cert-manager external issuer, and a local CA tool with the
/// flags and JSON output of `aws acm-pca`.
#[derive(Debug, Parser)]
#[command(name = "privateca-issuer", version, about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// A command of `privateca-issuer`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Creates a root CA, or a subordinate CA signed by a local parent or pending a certificate.
    CreateCertificateAuthority(create::CreateCertificateAuthorityArgs),
    /// Prints the CSR of a PENDING_CERTIFICATE subordinate CA.
    GetCertificateAuthorityCsr(import::CaDirArgs),
    /// Imports the signed certificate of a pending CA and makes it ACTIVE.
    ImportCertificateAuthorityCertificate(import::ImportCertificateAuthorityCertificateArgs),
    /// Issues a certificate from a CSR.
    IssueCertificate(issue::IssueCertificateArgs),
    /// Prints an issued certificate and its chain.
    GetCertificate(show::GetCertificateArgs),
    /// Prints the CA certificate and the chain above it.
    GetCertificateAuthorityCertificate(import::CaDirArgs),
    /// Prints the CA's type, status, algorithms, subject, serial and validity.
    DescribeCertificateAuthority(import::CaDirArgs),
    /// Prints the CustomResourceDefinitions as YAML.
    Crds,
    /// Runs the controllers until SIGTERM.
    Run(crate::run::RunArgs),
}

/// Runs `command` and returns what it prints on stdout: pretty JSON for the CA
/// commands, YAML for `crds`, nothing for `run` and for an import.
pub fn execute(command: Command, clock: &dyn Clock) -> Result<String> {
    match command {
        Command::CreateCertificateAuthority(args) => {
            to_json(&create::create_certificate_authority(&args, clock)?)
        }
        Command::GetCertificateAuthorityCsr(args) => {
            to_json(&import::get_certificate_authority_csr(&args)?)
        }
        Command::ImportCertificateAuthorityCertificate(args) => {
            import::import_certificate_authority_certificate(&args)?;
            Ok(String::new())
        }
        Command::IssueCertificate(args) => to_json(&issue::issue_certificate(&args, clock)?),
        Command::GetCertificate(args) => to_json(&show::get_certificate(&args)?),
        Command::GetCertificateAuthorityCertificate(args) => {
            to_json(&show::get_certificate_authority_certificate(&args)?)
        }
        Command::DescribeCertificateAuthority(args) => {
            to_json(&show::describe_certificate_authority(&args, clock)?)
        }
        Command::Crds => Ok(crate::crdgen::crds_yaml()),
        Command::Run(args) => {
            run_controllers(args)?;
            Ok(String::new())
        }
    }
}

/// Writes a command's output to stdout.
pub fn write_stdout(output: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| Error::io("write", std::path::Path::new("stdout"), error))
}

/// Renders `value` as JSON with a 2-space indent and a final newline, like the AWS CLI.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value).map_err(|error| {
        Error::Request(crate::pki::Error::internal(format!(
            "failed to encode the output as JSON: {error}"
        )))
    })?;
    text.push('\n');
    Ok(text)
}

fn run_controllers(args: crate::run::RunArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            Error::Run(anyhow::Error::new(error).context("failed to start the tokio runtime"))
        })?;
    let result = runtime.block_on(crate::run::run(args));
    // Tasks still blocked on an unresponsive API server must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    result.map_err(Error::Run)
}
