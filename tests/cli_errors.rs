//! Rejected inputs of the local CA commands: each fails with one `Code: message` line
//! that names the bad value.

mod cli_support;

use std::path::Path;

use cli_support::{
    create_root, field, openssl, openssl_csr, record_count, run_failure, run_json, text, write_file,
};

fn issue<'a>(ca_dir: &'a Path, csr: &'a str, algorithm: &'a str) -> Vec<&'a str> {
    vec![
        "issue-certificate",
        "--ca-dir",
        text(ca_dir),
        "--csr",
        csr,
        "--signing-algorithm",
        algorithm,
        "--validity",
        "Value=30,Type=DAYS",
    ]
}

#[test]
fn signing_algorithm_mismatch_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("rsa");
    create_root(&ca_dir, "RSA_2048", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "rsa.example.internal");
    let failure = run_failure(&issue(&ca_dir, text(&csr), "SHA256WITHECDSA"));
    assert_eq!(
        failure.stderr.trim_end(),
        "InvalidArgs: signing algorithm SHA256WITHECDSA does not match CA key RSA_2048; use SHA256WITHRSA"
    );
    // The matching family issues, for an EC CSR too.
    run_json(&issue(&ca_dir, text(&csr), "SHA256WITHRSA"));
}

#[test]
fn unknown_signing_algorithm_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "x.example.internal");
    let failure = run_failure(&issue(&ca_dir, text(&csr), "SHA1WITHRSA"));
    assert!(
        failure.stderr.starts_with("InvalidArgs: "),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains("SHA1WITHRSA"), "{}", failure.stderr);
}

#[test]
fn unknown_template_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "x.example.internal");
    let mut args = issue(&ca_dir, text(&csr), "SHA256WITHECDSA");
    args.extend([
        "--template-arn",
        "arn:aws:acm-pca:::template/NoSuchTemplate/V1",
    ]);
    let failure = run_failure(&args);
    assert!(
        failure.stderr.starts_with("InvalidArgs: "),
        "{}",
        failure.stderr
    );
    assert!(
        failure.stderr.contains("NoSuchTemplate/V1"),
        "{}",
        failure.stderr
    );
    assert!(
        failure.stderr.contains("EndEntityCertificate/V1"),
        "{}",
        failure.stderr
    );
    assert_eq!(record_count(&ca_dir), 0);
}

#[test]
fn missing_csr_file_names_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let absent = dir.path().join("absent.csr");
    let argument = format!("fileb://{}", text(&absent));
    let failure = run_failure(&issue(&ca_dir, &argument, "SHA256WITHECDSA"));
    assert!(
        failure.stderr.starts_with("InvalidArgs: "),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains(text(&absent)), "{}", failure.stderr);
}

#[test]
fn malformed_csr_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let garbage = write_file(
        dir.path(),
        "garbage.csr",
        "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----\n",
    );
    let failure = run_failure(&issue(&ca_dir, text(&garbage), "SHA256WITHECDSA"));
    assert!(
        failure.stderr.starts_with("MalformedCSR: "),
        "{}",
        failure.stderr
    );
    assert_eq!(record_count(&ca_dir), 0);
}

#[test]
fn der_csr_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let pem = openssl_csr(dir.path(), "leaf", "der.example.internal");
    let der = dir.path().join("leaf.der");
    openssl(&[
        "req",
        "-in",
        text(&pem),
        "-outform",
        "DER",
        "-out",
        text(&der),
    ]);
    let argument = format!("fileb://{}", text(&der));
    let issued = run_json(&issue(&ca_dir, &argument, "SHA256WITHECDSA"));
    let got = run_json(&[
        "get-certificate",
        "--ca-dir",
        text(&ca_dir),
        "--certificate-arn",
        field(&issued, "/CertificateArn"),
    ]);
    let leaf = write_file(dir.path(), "leaf.pem", field(&got, "/Certificate"));
    let subject = openssl(&["x509", "-in", text(&leaf), "-noout", "-subject"]);
    assert!(subject.contains("CN = der.example.internal"), "{subject}");
}

#[test]
fn get_certificate_other_ca_not_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    create_root(&first, "EC_prime256v1", "Value=1,Type=YEARS");
    create_root(&second, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "x.example.internal");
    let issued = run_json(&issue(&first, text(&csr), "SHA256WITHECDSA"));
    let arn = field(&issued, "/CertificateArn");
    let failure = run_failure(&[
        "get-certificate",
        "--ca-dir",
        text(&second),
        "--certificate-arn",
        arn,
    ]);
    assert!(
        failure.stderr.starts_with("ResourceNotFound: "),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains(arn), "{}", failure.stderr);
}

#[test]
fn get_certificate_unknown_serial_not_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    let ca_arn = create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    let arn = format!("{ca_arn}/certificate/0123abcd");
    let failure = run_failure(&[
        "get-certificate",
        "--ca-dir",
        text(&ca_dir),
        "--certificate-arn",
        &arn,
    ]);
    assert!(
        failure.stderr.starts_with("ResourceNotFound: "),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains("0123abcd"), "{}", failure.stderr);
}

#[test]
fn get_certificate_malformed_arn_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    let ca_arn = create_root(&ca_dir, "EC_prime256v1", "Value=1,Type=YEARS");
    for arn in [
        "not-an-arn".to_string(),
        ca_arn.clone(),
        format!("{ca_arn}/certificate/../../ca.key.pem"),
    ] {
        let failure = run_failure(&[
            "get-certificate",
            "--ca-dir",
            text(&ca_dir),
            "--certificate-arn",
            &arn,
        ]);
        assert!(
            failure.stderr.starts_with("InvalidArgs: "),
            "{}",
            failure.stderr
        );
        assert!(
            failure.stderr.contains("arn:aws:acm-pca:local:000000000000:certificate-authority/<ca id>/certificate/<serial in lowercase hex>"),
            "{}",
            failure.stderr
        );
    }
}

/// Arguments that create a subordinate CA in `ca_dir`, signed by `parent` with `path_length`.
/// Arguments that create a subordinate of `parent`; its validity shrinks with
/// `path_length`, so a child created a second after its parent never outlives it.
fn create_subordinate_args(ca_dir: &Path, parent: &Path, path_length: &str) -> Vec<String> {
    let validity = match path_length {
        "2" | "3" => "Value=5,Type=YEARS",
        "1" => "Value=3,Type=YEARS",
        _ => "Value=1,Type=YEARS",
    };
    [
        "create-certificate-authority",
        "--ca-dir",
        text(ca_dir),
        "--type",
        "SUBORDINATE",
        "--key-algorithm",
        "EC_prime256v1",
        "--subject",
        "CN=Sub",
        "--validity",
        validity,
        "--parent-ca-dir",
        text(parent),
        "--path-length",
        path_length,
    ]
    .map(String::from)
    .to_vec()
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn path_length_beyond_parent_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    let sub = dir.path().join("sub");
    let deeper = dir.path().join("deeper");
    let deepest = dir.path().join("deepest");
    create_root(&root, "EC_prime256v1", "Value=10,Type=YEARS");

    // pathLen 1 under the root leaves room for one more CA, with pathLen 0.
    run_json(&as_strs(&create_subordinate_args(&sub, &root, "1")));
    run_json(&as_strs(&create_subordinate_args(&deeper, &sub, "0")));

    // A CA under a pathLen 0 CA is one level too deep.
    let failure = run_failure(&as_strs(&create_subordinate_args(&deepest, &deeper, "0")));
    assert!(
        failure.stderr.starts_with("InvalidArgs: "),
        "{}",
        failure.stderr
    );
    assert!(
        failure
            .stderr
            .contains("SubordinateCACertificate_PathLen0/V1"),
        "{}",
        failure.stderr
    );
    assert!(!deepest.join("ca.json").exists());
}

#[test]
fn path_length_over_three_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    create_root(&root, "EC_prime256v1", "Value=10,Type=YEARS");
    let sub = dir.path().join("sub");
    let failure = run_failure(&[
        "create-certificate-authority",
        "--ca-dir",
        text(&sub),
        "--type",
        "SUBORDINATE",
        "--key-algorithm",
        "EC_prime256v1",
        "--subject",
        "CN=Sub",
        "--validity",
        "Value=1,Type=YEARS",
        "--parent-ca-dir",
        text(&root),
        "--path-length",
        "4",
    ]);
    assert!(
        failure.stderr.starts_with("InvalidArgs: --path-length 4"),
        "{}",
        failure.stderr
    );
}

#[test]
fn root_without_validity_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_dir = dir.path().join("root");
    let failure = run_failure(&[
        "create-certificate-authority",
        "--ca-dir",
        text(&ca_dir),
        "--type",
        "ROOT",
        "--key-algorithm",
        "EC_prime256v1",
        "--subject",
        "CN=Root",
    ]);
    assert!(
        failure
            .stderr
            .starts_with("InvalidArgs: --validity is required"),
        "{}",
        failure.stderr
    );
}

#[test]
fn import_foreign_certificate_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    let other = dir.path().join("other");
    let sub = dir.path().join("sub");
    create_root(&root, "EC_prime256v1", "Value=10,Type=YEARS");
    create_root(&other, "EC_prime256v1", "Value=10,Type=YEARS");
    run_json(&[
        "create-certificate-authority",
        "--ca-dir",
        text(&sub),
        "--type",
        "SUBORDINATE",
        "--key-algorithm",
        "EC_prime256v1",
        "--subject",
        "CN=Pending",
    ]);

    // The other root's certificate does not belong to the pending CA's key.
    let other_ca = run_json(&[
        "get-certificate-authority-certificate",
        "--ca-dir",
        text(&other),
    ]);
    let foreign = write_file(dir.path(), "foreign.pem", field(&other_ca, "/Certificate"));
    let failure = run_failure(&[
        "import-certificate-authority-certificate",
        "--ca-dir",
        text(&sub),
        "--certificate",
        &format!("fileb://{}", text(&foreign)),
    ]);
    assert!(
        failure.stderr.starts_with("MalformedCertificate: "),
        "{}",
        failure.stderr
    );

    let described = run_json(&["describe-certificate-authority", "--ca-dir", text(&sub)]);
    assert_eq!(
        field(&described, "/CertificateAuthority/Status"),
        "PENDING_CERTIFICATE"
    );
}

#[test]
fn certificate_authority_arn_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let first_arn = create_root(&first, "EC_prime256v1", "Value=1,Type=YEARS");
    let second_arn = create_root(&second, "EC_prime256v1", "Value=1,Type=YEARS");
    let csr = openssl_csr(dir.path(), "leaf", "arn.example.internal");

    // The ARN of the CA in --ca-dir is accepted, as scripts for the AWS CLI pass it.
    let mut matching = issue(&first, text(&csr), "SHA256WITHECDSA");
    matching.extend(["--certificate-authority-arn", first_arn.as_str()]);
    run_json(&matching);

    let mut other = issue(&first, text(&csr), "SHA256WITHECDSA");
    other.extend(["--certificate-authority-arn", second_arn.as_str()]);
    let failure = run_failure(&other);
    assert!(
        failure.stderr.starts_with("ResourceNotFound: "),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains(&second_arn), "{}", failure.stderr);
    assert!(failure.stderr.contains(&first_arn), "{}", failure.stderr);
    assert_eq!(record_count(&first), 1);

    let described = run_failure(&[
        "describe-certificate-authority",
        "--ca-dir",
        text(&second),
        "--certificate-authority-arn",
        &first_arn,
    ]);
    assert!(
        described.stderr.starts_with("ResourceNotFound: "),
        "{}",
        described.stderr
    );
}

#[test]
fn damaged_key_file_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    create_root(&root, "EC_prime256v1", "Value=10,Type=YEARS");
    std::fs::write(root.join("ca.key.pem"), "not a key\n").expect("overwrite the key");
    let csr = openssl_csr(dir.path(), "leaf", "leaf.example.internal");
    let failure = run_failure(&[
        "issue-certificate",
        "--ca-dir",
        text(&root),
        "--csr",
        text(&csr),
        "--signing-algorithm",
        "SHA256WITHECDSA",
        "--validity",
        "Value=30,Type=DAYS",
    ]);
    assert!(
        failure.stderr.starts_with("InvalidState: "),
        "{}",
        failure.stderr
    );
    assert!(failure.stderr.contains("ca.key.pem"), "{}", failure.stderr);
    assert!(failure.stderr.contains("restore"), "{}", failure.stderr);
}
