//! The binary end to end: CA creation, issuance and chains checked with `openssl verify`.

mod cli_support;

use cli_support::{
    assert_verifies, create_root, field, openssl, openssl_csr, run, run_failure, run_json, text,
    write_file,
};

/// Issues a leaf from `ca_dir` with `--csr fileb://...` and returns get-certificate's output.
fn issue_and_get(
    ca_dir: &std::path::Path,
    csr: &std::path::Path,
    algorithm: &str,
) -> serde_json::Value {
    let issued = run_json(&[
        "issue-certificate",
        "--ca-dir",
        text(ca_dir),
        "--csr",
        &format!("fileb://{}", text(csr)),
        "--signing-algorithm",
        algorithm,
        "--validity",
        "Value=365,Type=\"DAYS\"",
    ]);
    let arn = field(&issued, "/CertificateArn").to_string();
    run_json(&[
        "get-certificate",
        "--ca-dir",
        text(ca_dir),
        "--certificate-arn",
        &arn,
    ])
}

#[test]
fn root_leaf_chain_verifies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    let ca_arn = create_root(&ca_dir, "EC_prime256v1", "Value=10,Type=YEARS");
    assert!(
        ca_arn.starts_with("arn:aws:acm-pca:local:000000000000:certificate-authority/"),
        "{ca_arn}"
    );

    let csr = openssl_csr(dir.path(), "leaf", "app.example.internal");
    let issued = run_json(&[
        "issue-certificate",
        "--ca-dir",
        text(&ca_dir),
        "--csr",
        &format!("fileb://{}", text(&csr)),
        "--signing-algorithm",
        "SHA256WITHECDSA",
        "--validity",
        "Value=365,Type=DAYS",
    ]);
    let certificate_arn = field(&issued, "/CertificateArn");
    assert!(
        certificate_arn.starts_with(&format!("{ca_arn}/certificate/")),
        "{certificate_arn}"
    );
    let serial = certificate_arn.rsplit('/').next().expect("serial");
    assert!(
        serial
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{serial}"
    );

    let got = run_json(&[
        "get-certificate",
        "--ca-dir",
        text(&ca_dir),
        "--certificate-arn",
        certificate_arn,
    ]);
    let leaf = write_file(dir.path(), "leaf.pem", field(&got, "/Certificate"));
    let chain = write_file(dir.path(), "chain.pem", field(&got, "/CertificateChain"));
    let ca = run_json(&[
        "get-certificate-authority-certificate",
        "--ca-dir",
        text(&ca_dir),
    ]);
    assert!(
        ca.get("CertificateChain").is_none(),
        "a root has no chain: {ca}"
    );
    let root = write_file(dir.path(), "root.pem", field(&ca, "/Certificate"));
    assert_eq!(
        field(&got, "/CertificateChain").trim(),
        field(&ca, "/Certificate").trim()
    );
    assert_verifies(&root, &chain, &leaf);

    // The serial in the ARN is the certificate's serial.
    let openssl_serial = openssl(&["x509", "-in", text(&leaf), "-noout", "-serial"]);
    let openssl_serial = openssl_serial
        .trim()
        .trim_start_matches("serial=")
        .to_lowercase();
    assert_eq!(
        openssl_serial.trim_start_matches('0'),
        serial.trim_start_matches('0')
    );
}

#[test]
fn subordinate_with_parent_chain_verifies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root_dir = dir.path().join("root");
    let sub_dir = dir.path().join("sub");
    create_root(&root_dir, "EC_secp384r1", "Value=10,Type=YEARS");
    let created = run_json(&[
        "create-certificate-authority",
        "--ca-dir",
        text(&sub_dir),
        "--type",
        "SUBORDINATE",
        "--key-algorithm",
        "EC_prime256v1",
        "--subject",
        "CN=Example Issuing CA,O=Example",
        "--validity",
        "Value=5,Type=YEARS",
        "--parent-ca-dir",
        text(&root_dir),
    ]);
    let sub_arn = field(&created, "/CertificateAuthorityArn");
    let described = run_json(&["describe-certificate-authority", "--ca-dir", text(&sub_dir)]);
    assert_eq!(field(&described, "/CertificateAuthority/Arn"), sub_arn);
    assert_eq!(field(&described, "/CertificateAuthority/Status"), "ACTIVE");
    assert_eq!(
        field(&described, "/CertificateAuthority/Type"),
        "SUBORDINATE"
    );

    let sub_ca = run_json(&[
        "get-certificate-authority-certificate",
        "--ca-dir",
        text(&sub_dir),
    ]);
    let sub_pem = write_file(dir.path(), "sub.pem", field(&sub_ca, "/Certificate"));
    let sub_text = openssl(&["x509", "-in", text(&sub_pem), "-noout", "-text"]);
    assert!(sub_text.contains("CA:TRUE, pathlen:0"), "{sub_text}");
    let root_ca = run_json(&[
        "get-certificate-authority-certificate",
        "--ca-dir",
        text(&root_dir),
    ]);
    assert_eq!(
        field(&sub_ca, "/CertificateChain").trim(),
        field(&root_ca, "/Certificate").trim()
    );

    let csr = openssl_csr(dir.path(), "leaf", "svc.example.internal");
    let got = issue_and_get(&sub_dir, &csr, "SHA256WITHECDSA");
    let chain_text = field(&got, "/CertificateChain");
    assert_eq!(
        chain_text.matches("BEGIN CERTIFICATE").count(),
        2,
        "{chain_text}"
    );
    assert!(
        chain_text.starts_with(field(&sub_ca, "/Certificate").trim()),
        "chain starts with the issuing CA"
    );
    let leaf = write_file(dir.path(), "leaf.pem", field(&got, "/Certificate"));
    let chain = write_file(dir.path(), "chain.pem", chain_text);
    let root = write_file(dir.path(), "root.pem", field(&root_ca, "/Certificate"));
    assert_verifies(&root, &chain, &leaf);
}

#[test]
fn pending_subordinate_imported_then_issues() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root_dir = dir.path().join("root");
    let sub_dir = dir.path().join("sub");
    create_root(&root_dir, "EC_prime256v1", "Value=10,Type=YEARS");
    run_json(&[
        "create-certificate-authority",
        "--ca-dir",
        text(&sub_dir),
        "--type",
        "SUBORDINATE",
        "--key-algorithm",
        "EC_prime256v1",
        "--subject",
        "CN=Example Pending CA",
    ]);
    let described = run_json(&["describe-certificate-authority", "--ca-dir", text(&sub_dir)]);
    assert_eq!(
        field(&described, "/CertificateAuthority/Status"),
        "PENDING_CERTIFICATE"
    );
    assert!(
        described
            .pointer("/CertificateAuthority/NotAfter")
            .is_none(),
        "{described}"
    );

    // A pending CA refuses to issue and names its state.
    let leaf_csr = openssl_csr(dir.path(), "leaf", "late.example.internal");
    let refused = run_failure(&[
        "issue-certificate",
        "--ca-dir",
        text(&sub_dir),
        "--csr",
        text(&leaf_csr),
        "--signing-algorithm",
        "SHA256WITHECDSA",
        "--validity",
        "Value=30,Type=DAYS",
    ]);
    assert!(
        refused.stderr.starts_with("InvalidState: "),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("PENDING_CERTIFICATE"),
        "{}",
        refused.stderr
    );

    // Sign the CSR with the root through issue-certificate and a subordinate template.
    let csr = run_json(&["get-certificate-authority-csr", "--ca-dir", text(&sub_dir)]);
    let csr_path = write_file(dir.path(), "sub.csr", field(&csr, "/Csr"));
    let csr_text = openssl(&[
        "req",
        "-in",
        text(&csr_path),
        "-noout",
        "-verify",
        "-subject",
    ]);
    assert!(csr_text.contains("CN = Example Pending CA"), "{csr_text}");
    let signed = run_json(&[
        "issue-certificate",
        "--ca-dir",
        text(&root_dir),
        "--csr",
        &format!("fileb://{}", text(&csr_path)),
        "--signing-algorithm",
        "SHA256WITHECDSA",
        "--template-arn",
        "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1",
        "--validity",
        "Value=3,Type=YEARS",
    ]);
    let got = run_json(&[
        "get-certificate",
        "--ca-dir",
        text(&root_dir),
        "--certificate-arn",
        field(&signed, "/CertificateArn"),
    ]);
    let sub_pem = write_file(dir.path(), "sub.pem", field(&got, "/Certificate"));
    let sub_chain = write_file(
        dir.path(),
        "sub-chain.pem",
        field(&got, "/CertificateChain"),
    );

    let imported = run(&[
        "import-certificate-authority-certificate",
        "--ca-dir",
        text(&sub_dir),
        "--certificate",
        &format!("fileb://{}", text(&sub_pem)),
        "--certificate-chain",
        &format!("file://{}", text(&sub_chain)),
    ]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(
        !sub_dir.join("ca.csr.pem").exists(),
        "the CSR is removed once ACTIVE"
    );
    let described = run_json(&["describe-certificate-authority", "--ca-dir", text(&sub_dir)]);
    assert_eq!(field(&described, "/CertificateAuthority/Status"), "ACTIVE");

    // A second import is rejected: the CA is no longer pending.
    let again = run_failure(&[
        "import-certificate-authority-certificate",
        "--ca-dir",
        text(&sub_dir),
        "--certificate",
        text(&sub_pem),
        "--certificate-chain",
        text(&sub_chain),
    ]);
    assert!(
        again.stderr.starts_with("InvalidState: "),
        "{}",
        again.stderr
    );
    let no_csr = run_failure(&["get-certificate-authority-csr", "--ca-dir", text(&sub_dir)]);
    assert!(
        no_csr.stderr.starts_with("InvalidState: "),
        "{}",
        no_csr.stderr
    );
    assert!(no_csr.stderr.contains("ACTIVE"), "{}", no_csr.stderr);

    let got = issue_and_get(&sub_dir, &leaf_csr, "SHA256WITHECDSA");
    let root_ca = run_json(&[
        "get-certificate-authority-certificate",
        "--ca-dir",
        text(&root_dir),
    ]);
    let root = write_file(dir.path(), "root.pem", field(&root_ca, "/Certificate"));
    let leaf = write_file(dir.path(), "leaf.pem", field(&got, "/Certificate"));
    let chain = write_file(dir.path(), "chain.pem", field(&got, "/CertificateChain"));
    assert_verifies(&root, &chain, &leaf);
}

#[test]
fn describe_shows_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    let arn = create_root(&ca_dir, "EC_prime256v1", "Value=10,Type=YEARS");

    let described = run_json(&["describe-certificate-authority", "--ca-dir", text(&ca_dir)]);
    let ca = described
        .get("CertificateAuthority")
        .expect("CertificateAuthority");
    assert_eq!(field(ca, "/Arn"), arn);
    assert_eq!(field(ca, "/Type"), "ROOT");
    assert_eq!(field(ca, "/Status"), "ACTIVE");
    assert_eq!(field(ca, "/UsageMode"), "GENERAL_PURPOSE");
    assert_eq!(
        field(ca, "/CertificateAuthorityConfiguration/KeyAlgorithm"),
        "EC_prime256v1"
    );
    assert_eq!(
        field(ca, "/CertificateAuthorityConfiguration/SigningAlgorithm"),
        "SHA256WITHECDSA"
    );
    assert_eq!(
        field(ca, "/CertificateAuthorityConfiguration/Subject/CommonName"),
        "Example Root"
    );
    assert_eq!(
        field(
            ca,
            "/CertificateAuthorityConfiguration/Subject/Organization"
        ),
        "Example"
    );
    assert!(!field(ca, "/Serial").is_empty());
    assert!(field(ca, "/NotBefore").ends_with('Z'));
    assert!(field(ca, "/NotAfter").ends_with('Z'));
}

#[test]
fn output_is_pretty_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let output = run(&["describe-certificate-authority", "--ca-dir", text(&ca_dir)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("{\n  \"CertificateAuthority\": {\n    \"Arn\": "),
        "{stdout}"
    );
    assert!(stdout.ends_with("}\n"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn key_file_mode_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let mode = std::fs::metadata(ca_dir.join("ca.key.pem"))
        .expect("stat key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(&ca_dir)
        .expect("list CA dir")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn create_into_existing_ca_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let key_before = std::fs::read(ca_dir.join("ca.key.pem")).expect("read key");
    let failure = run_failure(&[
        "create-certificate-authority",
        "--ca-dir",
        text(&ca_dir),
        "--type",
        "ROOT",
        "--key-algorithm",
        "EC_prime256v1",
        "--subject",
        "CN=Other Root",
        "--validity",
        "Value=1,Type=YEARS",
    ]);
    assert!(
        failure.stderr.starts_with("InvalidState: "),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains(text(&ca_dir)), "{}", failure.stderr);
    assert_eq!(
        std::fs::read(ca_dir.join("ca.key.pem")).expect("read key"),
        key_before
    );
}

#[test]
fn missing_flag_is_usage_error() {
    let output = run(&["issue-certificate", "--csr", "x.csr"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--ca-dir"), "{stderr}");
}

#[test]
fn missing_ca_dir_not_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let absent = dir.path().join("absent");
    let failure = run_failure(&["describe-certificate-authority", "--ca-dir", text(&absent)]);
    assert!(
        failure.stderr.starts_with("ResourceNotFound: "),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains(text(&absent)), "{}", failure.stderr);
    assert_eq!(failure.code, Some(1));
}

#[test]
fn crds_command_exits_zero() {
    let output = run(&["crds"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
