//! Idempotency tokens and concurrent `issue-certificate` processes on one CA directory.

mod cli_support;

use std::path::Path;
use std::process::Child;

use cli_support::{
    binary, clock_at, create_root, execute_error, execute_json, field, openssl_csr, record_count,
    run_failure, text,
};

fn issue_args<'a>(ca_dir: &'a Path, csr: &'a Path, validity: &'a str) -> Vec<&'a str> {
    vec![
        "issue-certificate",
        "--ca-dir",
        text(ca_dir),
        "--csr",
        text(csr),
        "--signing-algorithm",
        "SHA256WITHECDSA",
        "--validity",
        validity,
    ]
}

fn spawn_issue(ca_dir: &Path, csr: &Path, token: &str) -> Child {
    binary()
        .args(issue_args(ca_dir, csr, "Value=30,Type=DAYS"))
        .args(["--idempotency-token", token])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn privateca-issuer")
}

/// Waits for every child and returns the certificate ARN each printed.
fn collect_arns(children: Vec<Child>) -> Vec<String> {
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("wait for privateca-issuer");
            assert!(
                output.status.success(),
                "concurrent issue failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
            field(&json, "/CertificateArn").to_string()
        })
        .collect()
}

/// Asserts that every record under `ca_dir/sub` parses as JSON and no temporary file is left.
fn assert_records_intact(ca_dir: &Path, sub: &str) {
    for entry in std::fs::read_dir(ca_dir.join(sub)).expect("list records") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(name.ends_with(".json"), "unexpected file {name}");
        let bytes = std::fs::read(&path).expect("read record");
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&bytes);
        assert!(parsed.is_ok(), "{name} is not JSON");
    }
}

#[test]
fn token_of_37_characters_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "token.example.internal");
    let token = "t".repeat(37);
    let mut args = issue_args(&ca_dir, &csr, "Value=30,Type=DAYS");
    args.extend(["--idempotency-token", token.as_str()]);
    let failure = run_failure(&args);
    assert!(
        failure.stderr.starts_with("InvalidArgs: "),
        "{}",
        failure.stderr
    );
    assert!(
        failure.stderr.contains("36-character limit"),
        "{}",
        failure.stderr
    );
    assert_eq!(record_count(&ca_dir), 0);
}

#[test]
fn same_token_same_arguments_same_arn() {
    let clock = clock_at("2026-12-04T12:00:00Z");
    let later = clock_at("2026-12-05T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=30,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "token.example.internal");
    let mut args = issue_args(&ca_dir, &csr, "Value=30,Type=DAYS");
    args.extend(["--idempotency-token", "deploy-42"]);

    let first = execute_json(&clock, &args);
    let second = execute_json(&clock, &args);
    // No time window: a day later the token still returns the same certificate.
    let third = execute_json(&later, &args);
    assert_eq!(
        field(&first, "/CertificateArn"),
        field(&second, "/CertificateArn")
    );
    assert_eq!(
        field(&first, "/CertificateArn"),
        field(&third, "/CertificateArn")
    );
    assert_eq!(record_count(&ca_dir), 1);

    // The same arguments written differently are the same arguments.
    let mut spelled = issue_args(&ca_dir, &csr, "Value=30,Type=\"DAYS\"");
    spelled.extend([
        "--idempotency-token",
        "deploy-42",
        "--template-arn",
        "arn:aws:acm-pca:::template/EndEntityCertificate/V1",
    ]);
    let fourth = execute_json(&clock, &spelled);
    assert_eq!(
        field(&first, "/CertificateArn"),
        field(&fourth, "/CertificateArn")
    );
    assert_eq!(record_count(&ca_dir), 1);
}

#[test]
fn same_token_different_arguments_rejected() {
    let clock = clock_at("2026-12-04T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=30,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "token.example.internal");
    let other_csr = openssl_csr(dir.path(), "other", "other.example.internal");

    let mut args = issue_args(&ca_dir, &csr, "Value=30,Type=DAYS");
    args.extend(["--idempotency-token", "deploy-43"]);
    execute_json(&clock, &args);

    let mut longer = issue_args(&ca_dir, &csr, "Value=31,Type=DAYS");
    longer.extend(["--idempotency-token", "deploy-43"]);
    let error = execute_error(&clock, &longer);
    assert_eq!(error.code(), "InvalidArgs", "{error}");
    assert!(error.to_string().contains("different arguments"), "{error}");
    assert!(error.to_string().contains("validity"), "{error}");

    let mut other = issue_args(&ca_dir, &other_csr, "Value=30,Type=DAYS");
    other.extend(["--idempotency-token", "deploy-43"]);
    let error = execute_error(&clock, &other);
    assert!(error.to_string().contains("CSR"), "{error}");

    let mut template = issue_args(&ca_dir, &csr, "Value=30,Type=DAYS");
    template.extend([
        "--idempotency-token",
        "deploy-43",
        "--template-arn",
        "EndEntityServerAuthCertificate/V1",
    ]);
    let error = execute_error(&clock, &template);
    assert!(error.to_string().contains("template"), "{error}");
    assert_eq!(record_count(&ca_dir), 1);
}

#[test]
fn concurrent_distinct_tokens_all_issue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "concurrent.example.internal");
    let children: Vec<Child> = (0..6)
        .map(|i| spawn_issue(&ca_dir, &csr, &format!("token-{i}")))
        .collect();
    let mut arns = collect_arns(children);
    arns.sort();
    arns.dedup();
    assert_eq!(arns.len(), 6, "{arns:?}");
    assert_eq!(record_count(&ca_dir), 6);
    assert_eq!(
        std::fs::read_dir(ca_dir.join("tokens"))
            .expect("tokens")
            .count(),
        6
    );
    assert_records_intact(&ca_dir, "certificates");
    assert_records_intact(&ca_dir, "tokens");
}

#[test]
fn concurrent_same_token_one_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "concurrent.example.internal");
    let children: Vec<Child> = (0..6)
        .map(|_| spawn_issue(&ca_dir, &csr, "shared-token"))
        .collect();
    let arns = collect_arns(children);
    assert!(arns.iter().all(|arn| arn == &arns[0]), "{arns:?}");
    assert_eq!(record_count(&ca_dir), 1);
    assert_records_intact(&ca_dir, "certificates");
    assert_records_intact(&ca_dir, "tokens");
}

#[test]
fn concurrent_without_tokens_all_issue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "concurrent.example.internal");
    let children: Vec<Child> = (0..4)
        .map(|_| {
            binary()
                .args(issue_args(&ca_dir, &csr, "Value=30,Type=DAYS"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn privateca-issuer")
        })
        .collect();
    let mut arns = collect_arns(children);
    arns.sort();
    arns.dedup();
    assert_eq!(arns.len(), 4);
    assert_eq!(record_count(&ca_dir), 4);
    assert_records_intact(&ca_dir, "certificates");
}
