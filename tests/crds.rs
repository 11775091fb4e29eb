//! The committed CRD YAML against the generator, and the CEL rules of the
//! generated schemas run by kube-cel's client-side validator.
//!
//! Regenerate every committed copy with `UPDATE_CRDS=1 cargo test --test crds`.

use std::path::{Path, PathBuf};

use kube_cel::{ErrorKind, Validator};
use privateca_issuer::crdgen;
use serde_json::{Value, json};

const CRDS_FILE: &str = "crds/privateca.issuer.dev.yaml";
const KUSTOMIZE_CRDS_FILE: &str = "config/crd/privateca.issuer.dev.yaml";
const CHART_CRDS_DIR: &str = "charts/privateca-issuer/templates/crds";

/// Lines the chart adds to each generated CRD document: the `crds.enabled` gate,
/// the chart labels, and the `crds.keep` annotation.
const CHART_GATE_OPEN: &[&str] = &[
    "{{- if .Values.crds.enabled }}",
    "{{- /* Generated from the Rust types; regenerate with UPDATE_CRDS=1 cargo test --test crds */}}",
];
const CHART_METADATA_LINES: &[&str] = &[
    "  labels:",
    "    {{- include \"privateca-issuer.labels\" . | nindent 4 }}",
    "  {{- if .Values.crds.keep }}",
    "  annotations:",
    "    helm.sh/resource-policy: keep",
    "  {{- end }}",
];
const CHART_GATE_CLOSE: &str = "{{- end }}";

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn updating() -> bool {
    std::env::var("UPDATE_CRDS").is_ok_and(|value| value == "1")
}

/// Splits multi-document YAML into its documents, each starting with `---`,
/// and drops the comment lines before the first document.
fn documents(yaml: &str) -> Vec<String> {
    let mut documents: Vec<String> = Vec::new();
    for line in yaml.lines() {
        if line == "---" {
            documents.push(String::new());
        }
        if let Some(document) = documents.last_mut() {
            document.push_str(line);
            document.push('\n');
        }
    }
    documents
}

fn crd_name(document: &str) -> String {
    let value: serde_yaml::Value = serde_yaml::from_str(document).expect("generated YAML parses");
    value["metadata"]["name"]
        .as_str()
        .expect("a CRD has metadata.name")
        .to_string()
}

/// Builds the chart template for one generated CRD document.
fn chart_template(document: &str) -> String {
    let mut out = String::new();
    for line in CHART_GATE_OPEN {
        out.push_str(line);
        out.push('\n');
    }
    let mut in_metadata = false;
    for line in document.lines() {
        out.push_str(line);
        out.push('\n');
        if line == "metadata:" {
            in_metadata = true;
        } else if in_metadata && line.starts_with("  name: ") {
            for inserted in CHART_METADATA_LINES {
                out.push_str(inserted);
                out.push('\n');
            }
            in_metadata = false;
        }
    }
    out.push_str(CHART_GATE_CLOSE);
    out.push('\n');
    out
}

/// Removes the chart's gate, label and annotation lines from a template.
fn strip_chart_lines(template: &str) -> String {
    let mut out = String::new();
    for line in template.lines() {
        let added = CHART_GATE_OPEN.contains(&line)
            || CHART_METADATA_LINES.contains(&line)
            || line == CHART_GATE_CLOSE;
        if !added {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn chart_file(document: &str) -> PathBuf {
    repo_path(CHART_CRDS_DIR).join(format!("{}.yaml", crd_name(document)))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; create it with UPDATE_CRDS=1 cargo test --test crds",
            path.display()
        )
    })
}

#[test]
fn committed_crds_match_generator() {
    let generated = crdgen::crds_yaml();
    let path = repo_path(CRDS_FILE);
    if updating() {
        std::fs::write(&path, &generated).expect("write the CRD file");
    }
    let committed = read(&path);
    assert!(
        committed == generated,
        "{CRDS_FILE} differs from the generated CRDs; regenerate it with \
         `cargo run -- crds > {CRDS_FILE}` (or UPDATE_CRDS=1 cargo test --test crds, \
         which also rewrites the copies in config/ and the chart)"
    );
}

#[test]
fn kustomize_crds_match_generator() {
    let generated = crdgen::crds_yaml();
    let path = repo_path(KUSTOMIZE_CRDS_FILE);
    if updating() {
        std::fs::write(&path, &generated).expect("write the kustomize CRD copy");
    }
    let committed = read(&path);
    assert!(
        committed == generated,
        "{KUSTOMIZE_CRDS_FILE} differs from the generated CRDs; regenerate it with \
         UPDATE_CRDS=1 cargo test --test crds"
    );
}

#[test]
fn chart_crds_match_generator() {
    let generated = documents(&crdgen::crds_yaml());
    assert_eq!(generated.len(), 2, "crds_yaml() returns two documents");
    if updating() {
        std::fs::create_dir_all(repo_path(CHART_CRDS_DIR)).expect("create the chart CRD folder");
        for document in &generated {
            std::fs::write(chart_file(document), chart_template(document))
                .expect("write a chart CRD template");
        }
    }
    for document in &generated {
        let path = chart_file(document);
        let template = read(&path);
        assert!(
            template.starts_with(&CHART_GATE_OPEN.join("\n")),
            "{} must open with the crds.enabled gate",
            path.display()
        );
        for line in CHART_METADATA_LINES {
            assert!(
                template.lines().any(|candidate| candidate == *line),
                "{} lacks the line {line:?}",
                path.display()
            );
        }
        assert!(
            strip_chart_lines(&template) == *document,
            "{} differs from the generated CRD; regenerate it with \
             UPDATE_CRDS=1 cargo test --test crds",
            path.display()
        );
    }
}

#[test]
fn chart_has_no_other_crd_files() {
    let expected: Vec<String> = documents(&crdgen::crds_yaml())
        .iter()
        .map(|document| format!("{}.yaml", crd_name(document)))
        .collect();
    let entries = std::fs::read_dir(repo_path(CHART_CRDS_DIR)).expect("read the chart CRD folder");
    for entry in entries {
        let name = entry.expect("list the chart CRD folder").file_name();
        let name = name.to_string_lossy().to_string();
        assert!(
            expected.contains(&name),
            "{CHART_CRDS_DIR}/{name} is not a generated CRD; delete it"
        );
    }
}

#[test]
fn helm_crds_folder_absent() {
    // Helm installs files in a chart's crds/ folder once and never upgrades them.
    assert!(!repo_path("charts/privateca-issuer/crds").exists());
}

// CEL rules, run by kube-cel against the generated schema with defaults applied.

fn schema(kind: &str) -> Value {
    let crd = crdgen::crds()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)
        .expect("crdgen generates the kind");
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|schema| schema.open_api_v3_schema.as_ref())
        .expect("the CRD has a schema");
    serde_json::to_value(schema).expect("a schema serializes to JSON")
}

fn object(kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "privateca.issuer.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "example", "namespace": "default"},
        "spec": spec,
    })
}

/// Returns the messages of the failed rules; empty when the object is valid.
fn violations(kind: &str, spec: Value, old_spec: Option<Value>) -> Vec<String> {
    let new = object(kind, spec);
    let old = old_spec.map(|spec| object(kind, spec));
    match Validator::new().validate(&schema(kind), &new, old.as_ref()) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|error| {
                assert_eq!(
                    error.kind,
                    ErrorKind::ValidationFailure,
                    "rule {} did not evaluate: {error}",
                    error.rule
                );
                error.message.clone()
            })
            .collect(),
    }
}

fn root() -> Value {
    json!({"subject": {"commonName": "Example Root CA"}})
}

fn subordinate() -> Value {
    json!({
        "type": "Subordinate",
        "subject": {"commonName": "Example Issuing CA"},
        "parentRef": {"kind": "PrivateCA", "name": "root"},
        "pathLength": 0,
    })
}

#[test]
fn root_spec_valid() {
    assert_eq!(violations("PrivateCA", root(), None), Vec::<String>::new());
}

#[test]
fn subordinate_spec_valid() {
    assert_eq!(
        violations("PrivateCA", subordinate(), None),
        Vec::<String>::new()
    );
}

#[test]
fn root_with_parent_ref_rejected() {
    let mut spec = root();
    spec["parentRef"] = json!({"kind": "PrivateCA", "name": "root"});
    let messages = violations("PrivateCA", spec, None);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("parentRef"), "{messages:?}");
}

#[test]
fn root_with_path_length_rejected() {
    let mut spec = root();
    spec["pathLength"] = json!(1);
    let messages = violations("PrivateCA", spec, None);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("pathLength"), "{messages:?}");
}

#[test]
fn explicit_root_with_parent_ref_rejected() {
    let mut spec = root();
    spec["type"] = json!("Root");
    spec["parentRef"] = json!({"kind": "ClusterPrivateCA", "name": "root"});
    assert_eq!(violations("PrivateCA", spec, None).len(), 1);
}

#[test]
fn subordinate_without_parent_valid() {
    let mut spec = subordinate();
    spec.as_object_mut().expect("an object").remove("parentRef");
    assert_eq!(violations("PrivateCA", spec, None), Vec::<String>::new());
}

#[test]
fn empty_subject_rejected() {
    let mut spec = root();
    spec["subject"] = json!({});
    let messages = violations("PrivateCA", spec, None);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("subject"), "{messages:?}");
}

#[test]
fn subject_with_country_only_valid() {
    let mut spec = root();
    spec["subject"] = json!({"country": "DE"});
    assert_eq!(violations("PrivateCA", spec, None), Vec::<String>::new());
}

#[test]
fn key_algorithm_change_rejected() {
    let old = root();
    let mut new = root();
    new["keyAlgorithm"] = json!("RSA_2048");
    let messages = violations("PrivateCA", new, Some(old));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("keyAlgorithm"), "{messages:?}");
}

#[test]
fn key_algorithm_unchanged_valid() {
    let mut old = root();
    old["keyAlgorithm"] = json!("EC_secp384r1");
    let mut new = old.clone();
    new["subject"]["organization"] = json!("Example Org");
    assert_eq!(
        violations("PrivateCA", new, Some(old)),
        Vec::<String>::new()
    );
}

#[test]
fn type_change_rejected() {
    let old = root();
    let mut new = root();
    new["type"] = json!("Subordinate");
    let messages = violations("ClusterPrivateCA", new, Some(old));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("type is immutable"), "{messages:?}");
}

#[test]
fn backdate_within_hour_valid() {
    for backdate in ["0", "0s", "1m", "90s", "1h", "59m59s", "1.5m", "3600s"] {
        let mut spec = root();
        spec["notBeforeBackdate"] = json!(backdate);
        assert_eq!(
            violations("PrivateCA", spec, None),
            Vec::<String>::new(),
            "{backdate}"
        );
    }
}

#[test]
fn backdate_over_hour_rejected() {
    for backdate in ["61m", "1h1s", "2h", "3601s", "1h0m0.001s"] {
        let mut spec = root();
        spec["notBeforeBackdate"] = json!(backdate);
        let messages = violations("PrivateCA", spec, None);
        assert_eq!(messages.len(), 1, "{backdate}: {messages:?}");
        assert!(
            messages[0].contains("at most 1h"),
            "{backdate}: {messages:?}"
        );
    }
}

#[test]
fn cluster_parent_must_be_cluster() {
    let mut spec = subordinate();
    let messages = violations("ClusterPrivateCA", spec.clone(), None);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("ClusterPrivateCA"), "{messages:?}");

    spec["parentRef"]["kind"] = json!("ClusterPrivateCA");
    assert_eq!(
        violations("ClusterPrivateCA", spec, None),
        Vec::<String>::new()
    );
}

#[test]
fn namespaced_parent_may_be_cluster() {
    let mut spec = subordinate();
    spec["parentRef"]["kind"] = json!("ClusterPrivateCA");
    assert_eq!(violations("PrivateCA", spec, None), Vec::<String>::new());
}

// Patterns, checked with CEL's matches(), which uses an RE2-style engine as the
// API server does.

fn pattern(property: &str) -> String {
    let schema = schema("PrivateCA");
    schema["properties"]["spec"]["properties"][property]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("spec.{property} has a pattern"))
        .to_string()
}

fn matches(pattern: &str, value: &str) -> bool {
    let schema = json!({
        "type": "object",
        "properties": {"value": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": format!("self.value.matches({pattern:?})")}],
    });
    match Validator::new().validate(&schema, &json!({"value": value}), None) {
        Ok(()) => true,
        Err(errors) => {
            for error in errors.iter() {
                assert_eq!(error.kind, ErrorKind::ValidationFailure, "{error}");
            }
            false
        }
    }
}

#[test]
fn backdate_pattern_accepts_go_durations() {
    let pattern = pattern("notBeforeBackdate");
    for value in [
        "0", "1m", "1h", "30s", "1m30s", "1.5h", "500ms", "10us", "10µs", "5ns",
    ] {
        assert!(matches(&pattern, value), "{value} should match {pattern}");
    }
}

#[test]
fn backdate_pattern_rejects_other_strings() {
    let pattern = pattern("notBeforeBackdate");
    for value in ["", "1", "-1m", "1d", "m", "1 h", "PT1M", "1h ", "1H"] {
        assert!(
            !matches(&pattern, value),
            "{value:?} should not match {pattern}"
        );
    }
}

#[test]
fn secret_name_pattern_is_dns_subdomain() {
    let pattern = pattern("secretName");
    for value in ["ca", "root-ca", "root.ca.example", "a1"] {
        assert!(matches(&pattern, value), "{value} should match {pattern}");
    }
    for value in ["", "Root", "-ca", "ca-", "ca_key", "ca/key"] {
        assert!(
            !matches(&pattern, value),
            "{value:?} should not match {pattern}"
        );
    }
}
