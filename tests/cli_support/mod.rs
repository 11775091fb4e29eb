//! Helpers shared by the command-line tests: running the binary, running commands
//! in-process at a fixed instant, and making CSRs and checks with the openssl CLI.

#![allow(
    dead_code,
    reason = "each test crate uses a different subset of the helpers"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use privateca_issuer::cli::{self, Cli};
use privateca_issuer::pki::FixedClock;
use serde_json::Value;
use time::OffsetDateTime;

/// The binary under test.
pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_privateca-issuer"))
}

/// Runs the binary with `args`.
pub fn run(args: &[&str]) -> Output {
    binary().args(args).output().expect("run privateca-issuer")
}

/// Runs the binary, asserts success, and parses stdout as JSON.
pub fn run_json(args: &[&str]) -> Value {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

/// A failed run: exit code and stderr.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code.
    pub code: Option<i32>,
    /// Standard error, as text.
    pub stderr: String,
}

/// Runs the binary and asserts that it fails with exit code 1 and one stderr line.
pub fn run_failure(args: &[&str]) -> Failure {
    let output = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{args:?} succeeded");
    assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "stderr is not one line: {stderr}"
    );
    assert!(output.stdout.is_empty(), "stdout of a failure is not empty");
    Failure {
        code: output.status.code(),
        stderr,
    }
}

/// A clock stopped at `rfc3339`, such as `2027-01-31T10:20:30Z`.
pub fn clock_at(rfc3339: &str) -> FixedClock {
    FixedClock(instant(rfc3339))
}

/// Parses an RFC 3339 instant.
pub fn instant(rfc3339: &str) -> OffsetDateTime {
    let timestamp: jiff::Timestamp = rfc3339.parse().expect("RFC 3339 instant");
    OffsetDateTime::from_unix_timestamp(timestamp.as_second()).expect("instant in range")
}

/// Runs a command in-process with `clock`; `args` excludes the program name.
pub fn execute_at(clock: &FixedClock, args: &[&str]) -> cli::Result<String> {
    let cli = Cli::try_parse_from(std::iter::once("privateca-issuer").chain(args.iter().copied()))
        .expect("arguments parse");
    cli::execute(cli.command, clock)
}

/// Runs a command in-process, asserts success and parses its JSON output.
pub fn execute_json(clock: &FixedClock, args: &[&str]) -> Value {
    let output = execute_at(clock, args).unwrap_or_else(|error| panic!("{args:?} failed: {error}"));
    serde_json::from_str(&output).expect("output is JSON")
}

/// Runs a command in-process and returns its error.
pub fn execute_error(clock: &FixedClock, args: &[&str]) -> cli::Error {
    match execute_at(clock, args) {
        Ok(output) => panic!("{args:?} succeeded: {output}"),
        Err(error) => error,
    }
}

/// The string at `pointer` of a JSON value.
pub fn field<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {value}"))
}

/// `path` as &str.
pub fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Runs openssl and asserts success; returns stdout.
pub fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Makes a P-256 key and a PEM CSR for `CN=<cn>` with a DNS SAN of the same name
/// in `dir`; returns the CSR path.
pub fn openssl_csr(dir: &Path, name: &str, cn: &str) -> PathBuf {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        text(&key),
        "-out",
        text(&csr),
        "-subj",
        &format!("/CN={cn}"),
        "-addext",
        &format!("subjectAltName=DNS:{cn}"),
    ]);
    csr
}

/// Creates a ROOT CA in `ca_dir` with the binary; returns its ARN.
pub fn create_root(ca_dir: &Path, key_algorithm: &str, validity: &str) -> String {
    let output = run_json(&[
        "create-certificate-authority",
        "--ca-dir",
        text(ca_dir),
        "--type",
        "ROOT",
        "--key-algorithm",
        key_algorithm,
        "--subject",
        "CN=Example Root,O=Example",
        "--validity",
        validity,
    ]);
    field(&output, "/CertificateAuthorityArn").to_string()
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write file");
    path
}

/// Runs `openssl verify -CAfile root -untrusted chain leaf` and asserts it passes.
pub fn assert_verifies(root: &Path, chain: &Path, leaf: &Path) {
    let output = Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            text(root),
            "-untrusted",
            text(chain),
            text(leaf),
        ])
        .output()
        .expect("run openssl verify");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "openssl verify failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(": OK"), "{stdout}");
}

/// Parses the first PEM certificate of `pem` and returns (notBefore, notAfter) in Unix seconds.
pub fn validity_of(pem: &str) -> (i64, i64) {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("PEM certificate");
    let certificate = block.parse_x509().expect("X.509 certificate");
    let validity = certificate.validity();
    (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    )
}

/// Counts the files in `ca_dir/certificates`.
pub fn record_count(ca_dir: &Path) -> usize {
    std::fs::read_dir(ca_dir.join("certificates"))
        .expect("list certificates")
        .count()
}

/// Unix seconds of a fixed clock.
pub trait FixedClockExt {
    /// The clock's instant in Unix seconds.
    fn unix(&self) -> i64;
}

impl FixedClockExt for FixedClock {
    fn unix(&self) -> i64 {
        self.0.unix_timestamp()
    }
}
