//! Validity and notBefore of `issue-certificate`, in-process at fixed instants and
//! through the binary.

mod cli_support;

use std::path::Path;

use cli_support::{
    FixedClockExt, clock_at, execute_error, execute_json, field, openssl_csr, run_failure, text,
    validity_of,
};
use privateca_issuer::pki::FixedClock;

/// Creates an EC root in `ca_dir` at `clock` with `validity` and `usage_mode`.
fn create_root_at(clock: &FixedClock, ca_dir: &Path, validity: &str, usage_mode: &str) {
    execute_json(
        clock,
        &[
            "create-certificate-authority",
            "--ca-dir",
            text(ca_dir),
            "--type",
            "ROOT",
            "--key-algorithm",
            "EC_prime256v1",
            "--subject",
            "CN=Validity Root",
            "--validity",
            validity,
            "--usage-mode",
            usage_mode,
        ],
    );
}

/// Issues from `ca_dir` at `clock` with `extra` flags; returns the leaf PEM.
fn issue_at(clock: &FixedClock, ca_dir: &Path, csr: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "issue-certificate",
        "--ca-dir",
        text(ca_dir),
        "--csr",
        text(csr),
        "--signing-algorithm",
        "SHA256WITHECDSA",
    ];
    args.extend_from_slice(extra);
    let issued = execute_json(clock, &args);
    let got = execute_json(
        clock,
        &[
            "get-certificate",
            "--ca-dir",
            text(ca_dir),
            "--certificate-arn",
            field(&issued, "/CertificateArn"),
        ],
    );
    field(&got, "/Certificate").to_string()
}

#[test]
fn validity_zero_days_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    cli_support::create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "zero.example.internal");
    let failure = run_failure(&[
        "issue-certificate",
        "--ca-dir",
        text(&ca_dir),
        "--csr",
        text(&csr),
        "--signing-algorithm",
        "SHA256WITHECDSA",
        "--validity",
        "Value=0,Type=DAYS",
    ]);
    assert!(
        failure.stderr.starts_with("InvalidArgs: "),
        "{}",
        failure.stderr
    );
    assert!(
        failure.stderr.contains("Value=0,Type=DAYS"),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains("at least 1"), "{}", failure.stderr);
    assert_eq!(cli_support::record_count(&ca_dir), 0);
}

#[test]
fn end_date_2049_sets_not_after() {
    let clock = clock_at("2026-12-04T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root_at(&clock, &ca_dir, "Value=30,Type=YEARS", "GENERAL_PURPOSE");
    let csr = openssl_csr(dir.path(), "leaf", "end-date.example.internal");
    let leaf = issue_at(
        &clock,
        &ca_dir,
        &csr,
        &["--validity", "Value=491231235959,Type=END_DATE"],
    );
    let (_, not_after) = validity_of(&leaf);
    assert_eq!(not_after, clock_at("2049-12-31T23:59:59Z").unix());
}

#[test]
fn end_date_past_ca_expiry_rejected() {
    let clock = clock_at("2026-12-04T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root_at(&clock, &ca_dir, "Value=10,Type=YEARS", "GENERAL_PURPOSE");
    let csr = openssl_csr(dir.path(), "leaf", "end-date.example.internal");
    let error = execute_error(
        &clock,
        &[
            "issue-certificate",
            "--ca-dir",
            text(&ca_dir),
            "--csr",
            text(&csr),
            "--signing-algorithm",
            "SHA256WITHECDSA",
            "--validity",
            "Value=491231235959,Type=END_DATE",
        ],
    );
    assert_eq!(error.code(), "Validation", "{error}");
    assert!(error.to_string().contains("2049-12-31"), "{error}");
    assert_eq!(cli_support::record_count(&ca_dir), 0);
}

#[test]
fn months_from_jan_31_end_in_february() {
    for (issued, expected) in [
        ("2027-01-31T10:20:30Z", "2027-02-28T10:20:30Z"),
        ("2028-01-31T10:20:30Z", "2028-02-29T10:20:30Z"),
    ] {
        let clock = clock_at(issued);
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_dir = dir.path().join("root");
        create_root_at(&clock, &ca_dir, "Value=5,Type=YEARS", "GENERAL_PURPOSE");
        let csr = openssl_csr(dir.path(), "leaf", "months.example.internal");
        let leaf = issue_at(
            &clock,
            &ca_dir,
            &csr,
            &["--validity", "Value=1,Type=MONTHS"],
        );
        let (_, not_after) = validity_of(&leaf);
        assert_eq!(not_after, clock_at(expected).unix(), "issued {issued}");
    }
}

#[test]
fn not_before_defaults_to_one_hour_back() {
    let clock = FixedClock(
        time::OffsetDateTime::from_unix_timestamp_nanos(1_796_400_000_750_000_000)
            .expect("instant"),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root_at(&clock, &ca_dir, "Value=2,Type=YEARS", "GENERAL_PURPOSE");
    let csr = openssl_csr(dir.path(), "leaf", "backdate.example.internal");
    let leaf = issue_at(&clock, &ca_dir, &csr, &["--validity", "Value=10,Type=DAYS"]);
    let (not_before, not_after) = validity_of(&leaf);
    assert_eq!(not_before, 1_796_400_000 - 3600);
    assert_eq!(not_after, 1_796_400_000 + 10 * 86_400);
}

#[test]
fn validity_not_before_absolute_applies() {
    let clock = clock_at("2026-12-04T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root_at(&clock, &ca_dir, "Value=2,Type=YEARS", "GENERAL_PURPOSE");
    let csr = openssl_csr(dir.path(), "leaf", "not-before.example.internal");
    let not_before = clock.unix() + 86_400;
    let leaf = issue_at(
        &clock,
        &ca_dir,
        &csr,
        &[
            "--validity",
            "Value=30,Type=DAYS",
            "--validity-not-before",
            &format!("Value={not_before},Type=ABSOLUTE"),
        ],
    );
    assert_eq!(validity_of(&leaf).0, not_before);
}

#[test]
fn validity_not_before_relative_rejected() {
    let clock = clock_at("2026-12-04T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root_at(&clock, &ca_dir, "Value=2,Type=YEARS", "GENERAL_PURPOSE");
    let csr = openssl_csr(dir.path(), "leaf", "not-before.example.internal");
    let error = execute_error(
        &clock,
        &[
            "issue-certificate",
            "--ca-dir",
            text(&ca_dir),
            "--csr",
            text(&csr),
            "--signing-algorithm",
            "SHA256WITHECDSA",
            "--validity",
            "Value=30,Type=DAYS",
            "--validity-not-before",
            "Value=1,Type=DAYS",
        ],
    );
    assert_eq!(error.code(), "InvalidArgs", "{error}");
    assert!(error.to_string().contains("ABSOLUTE"), "{error}");
}

#[test]
fn short_lived_ca_caps_at_seven_days() {
    let clock = clock_at("2026-12-04T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root_at(
        &clock,
        &ca_dir,
        "Value=1,Type=YEARS",
        "SHORT_LIVED_CERTIFICATE",
    );
    let csr = openssl_csr(dir.path(), "leaf", "short.example.internal");

    // The 7 days count from issuance, so the 60-minute backdate does not shorten them.
    let leaf = issue_at(&clock, &ca_dir, &csr, &["--validity", "Value=7,Type=DAYS"]);
    assert_eq!(
        validity_of(&leaf),
        (clock.unix() - 3600, clock.unix() + 7 * 86_400)
    );
    let now = format!("Value={},Type=ABSOLUTE", clock.unix());
    let leaf = issue_at(
        &clock,
        &ca_dir,
        &csr,
        &[
            "--validity",
            "Value=7,Type=DAYS",
            "--validity-not-before",
            &now,
        ],
    );
    assert_eq!(
        validity_of(&leaf),
        (clock.unix(), clock.unix() + 7 * 86_400)
    );

    for validity in ["Value=8,Type=DAYS", "Value=1,Type=MONTHS"] {
        let error = execute_error(
            &clock,
            &[
                "issue-certificate",
                "--ca-dir",
                text(&ca_dir),
                "--csr",
                text(&csr),
                "--signing-algorithm",
                "SHA256WITHECDSA",
                "--validity",
                validity,
            ],
        );
        assert_eq!(error.code(), "Validation", "{error}");
        assert!(error.to_string().contains("7 days"), "{error}");
    }
    assert_eq!(cli_support::record_count(&ca_dir), 2);
}

#[test]
fn expired_ca_refuses_to_issue() {
    let created = clock_at("2026-12-04T12:00:00Z");
    let later = clock_at("2026-12-07T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root_at(&created, &ca_dir, "Value=1,Type=DAYS", "GENERAL_PURPOSE");
    let csr = openssl_csr(dir.path(), "leaf", "expired.example.internal");
    let error = execute_error(
        &later,
        &[
            "issue-certificate",
            "--ca-dir",
            text(&ca_dir),
            "--csr",
            text(&csr),
            "--signing-algorithm",
            "SHA256WITHECDSA",
            "--validity",
            "Value=1,Type=DAYS",
        ],
    );
    assert_eq!(error.code(), "InvalidState", "{error}");
    assert!(error.to_string().contains("EXPIRED"), "{error}");
    let described = execute_json(
        &later,
        &["describe-certificate-authority", "--ca-dir", text(&ca_dir)],
    );
    assert_eq!(field(&described, "/CertificateAuthority/Status"), "EXPIRED");
}

#[test]
fn subordinate_outliving_parent_rejected() {
    let clock = clock_at("2026-12-04T12:00:00Z");
    let dir = tempfile::tempdir().expect("temp dir");
    let root_dir = dir.path().join("root");
    let sub_dir = dir.path().join("sub");
    create_root_at(&clock, &root_dir, "Value=1,Type=YEARS", "GENERAL_PURPOSE");
    let error = execute_error(
        &clock,
        &[
            "create-certificate-authority",
            "--ca-dir",
            text(&sub_dir),
            "--type",
            "SUBORDINATE",
            "--key-algorithm",
            "EC_prime256v1",
            "--subject",
            "CN=Too Long",
            "--validity",
            "Value=2,Type=YEARS",
            "--parent-ca-dir",
            text(&root_dir),
        ],
    );
    assert_eq!(error.code(), "Validation", "{error}");
    assert!(!sub_dir.join("ca.json").exists(), "no CA is left behind");
    assert!(!sub_dir.exists(), "a rejected CA leaves no directory");
}
