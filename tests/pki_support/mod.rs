//! Helpers shared by the engine tests: openssl CLI runs, CAs built once per test
//! binary, and issuing with a fixed clock.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use privateca_issuer::pki::{
    CertificateAuthority, ExpiryPolicy, FixedClock, IssueRequest, IssuedCertificate, KeyAlgorithm,
    Result, SigningAlgorithm, SubjectName, Template, Validity, ValidityType,
};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};

/// Runs openssl and returns its output, whatever the exit status.
pub fn openssl_output(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI must be installed")
}

/// Runs openssl, fails the test on a non-zero exit, and returns stdout.
pub fn openssl(args: &[&str]) -> String {
    let output = openssl_output(args);
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("openssl output is UTF-8")
}

/// A CSR key type openssl can make.
#[derive(Debug, Clone, Copy)]
pub enum CsrKey {
    Rsa(u32),
    Ec(&'static str),
    Ed25519,
}

/// Makes a CSR with `openssl req`. `subject` is openssl's `/K=V/...` form ("/" for an
/// empty subject); each `addext` is passed as `-addext`.
pub fn openssl_csr(key: CsrKey, subject: &str, addext: &[&str], extra: &[&str]) -> String {
    let dir = TempDir::new().expect("temp dir");
    let key_path = dir.path().join("key.pem");
    let key_path = key_path.to_str().expect("UTF-8 path");
    let rsa_bits;
    let mut args: Vec<&str> = vec![
        "req", "-new", "-nodes", "-keyout", key_path, "-subj", subject,
    ];
    match key {
        CsrKey::Rsa(bits) => {
            rsa_bits = format!("rsa:{bits}");
            args.extend(["-newkey", &rsa_bits]);
        }
        CsrKey::Ec(curve) => {
            args.extend(["-newkey", "ec", "-pkeyopt"]);
            args.push(match curve {
                "P-256" => "ec_paramgen_curve:P-256",
                "P-384" => "ec_paramgen_curve:P-384",
                "P-521" => "ec_paramgen_curve:P-521",
                _ => "ec_paramgen_curve:secp256k1",
            });
        }
        CsrKey::Ed25519 => args.extend(["-newkey", "ed25519"]),
    }
    for extension in addext {
        args.extend(["-addext", extension]);
    }
    args.extend(extra);
    openssl(&args)
}

/// Returns one RSA 2048 CSR per test binary, because RSA key generation is slow.
pub fn rsa_2048_csr() -> &'static str {
    static CSR: OnceLock<String> = OnceLock::new();
    CSR.get_or_init(|| {
        openssl_csr(
            CsrKey::Rsa(2048),
            "/CN=rsa.example",
            &["subjectAltName=DNS:rsa.example"],
            &[],
        )
    })
}

/// Makes a P-256 CSR with a CN and one DNS SAN, both `name`.
pub fn p256_csr(name: &str) -> String {
    openssl_csr(
        CsrKey::Ec("P-256"),
        &format!("/CN={name}"),
        &[&format!("subjectAltName=DNS:{name}")],
        &[],
    )
}

/// Returns the instant the fixed-clock tests run at.
pub fn test_now() -> OffsetDateTime {
    time::macros::datetime!(2026-06-15 12:00:00 UTC)
}

/// Creates a root CA at `test_now()` that lives 10 years.
pub fn root(key: KeyAlgorithm, signing: SigningAlgorithm) -> CertificateAuthority {
    let subject = SubjectName::parse(&format!("CN=Test Root {key} {signing},O=Example,C=US"))
        .expect("valid subject");
    CertificateAuthority::create_root(
        &subject,
        key,
        signing,
        Validity {
            value: 10,
            kind: ValidityType::Years,
        },
        &FixedClock(test_now()),
    )
    .expect("root CA")
}

/// Returns one P-256 root per test binary.
pub fn p256_root() -> &'static CertificateAuthority {
    static ROOT: OnceLock<CertificateAuthority> = OnceLock::new();
    ROOT.get_or_init(|| {
        root(
            KeyAlgorithm::EcPrime256v1,
            SigningAlgorithm::Sha256WithEcdsa,
        )
    })
}

/// Returns one RSA 2048 root per test binary.
pub fn rsa_root() -> &'static CertificateAuthority {
    static ROOT: OnceLock<CertificateAuthority> = OnceLock::new();
    ROOT.get_or_init(|| root(KeyAlgorithm::Rsa2048, SigningAlgorithm::Sha256WithRsa))
}

/// Builds an issue request from an hour before `test_now()` to 30 days after it,
/// rejecting a notAfter past the CA's.
pub fn request<'a>(
    csr: &'a [u8],
    template: Template,
    signing: SigningAlgorithm,
) -> IssueRequest<'a> {
    IssueRequest {
        csr,
        template,
        signing_algorithm: signing,
        not_before: test_now() - Duration::minutes(60),
        not_after: test_now() + Duration::days(30),
        expiry_policy: ExpiryPolicy::Reject,
    }
}

/// Issues from `csr` with `template` and the CA key's default signing algorithm.
pub fn issue(
    ca: &CertificateAuthority,
    csr: &str,
    template: Template,
) -> Result<IssuedCertificate> {
    let signing = ca.info().key_algorithm.default_signing_algorithm();
    ca.issue(
        &request(csr.as_bytes(), template, signing),
        false,
        &FixedClock(test_now()),
    )
}

/// Writes `contents` to `name` in `dir` and returns the path as a string.
pub fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path.to_str().expect("UTF-8 path").to_string()
}

/// Runs `openssl verify` at `test_now()` with `root_pem` trusted and `untrusted_pem`
/// as intermediates; returns the output so callers can assert success or failure.
pub fn openssl_verify(root_pem: &str, untrusted_pem: &str, leaf_pem: &str) -> Output {
    let dir = TempDir::new().expect("temp dir");
    let root = write(dir.path(), "root.pem", root_pem);
    let leaf = write(dir.path(), "leaf.pem", leaf_pem);
    let attime = (test_now() + Duration::days(1))
        .unix_timestamp()
        .to_string();
    let mut args = vec!["verify", "-attime", &attime, "-CAfile", &root];
    let untrusted;
    if !untrusted_pem.is_empty() {
        untrusted = write(dir.path(), "untrusted.pem", untrusted_pem);
        args.extend(["-untrusted", &untrusted]);
    }
    args.push(&leaf);
    openssl_output(&args)
}

/// Asserts that `openssl verify` accepts the chain.
pub fn assert_openssl_verifies(root_pem: &str, untrusted_pem: &str, leaf_pem: &str) {
    let output = openssl_verify(root_pem, untrusted_pem, leaf_pem);
    assert!(
        output.status.success(),
        "openssl verify failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `openssl x509 -noout -text` of a PEM certificate.
pub fn openssl_text(certificate_pem: &str) -> String {
    let dir = TempDir::new().expect("temp dir");
    let path = write(dir.path(), "cert.pem", certificate_pem);
    openssl(&["x509", "-noout", "-text", "-in", &path])
}
