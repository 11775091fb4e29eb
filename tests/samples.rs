//! Every file in config/samples parsed into its Rust type, checked against the
//! generated CRD rules, and cross-checked: each issuer reference names a sample CA.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::networking::v1::Ingress;
use kube::ResourceExt;
use kube_cel::Validator;
use privateca_issuer::api::{CaType, ClusterPrivateCA, PrivateCA};
use privateca_issuer::crdgen;
use serde_json::Value;

const SAMPLES_DIR: &str = "config/samples";
const API_VERSION: &str = "privateca.issuer.dev/v1alpha1";

struct Sample {
    file: String,
    text: String,
    value: Value,
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES_DIR)
}

/// Reads every sample except the kustomization, sorted by file name.
fn samples() -> Vec<Sample> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .expect("read config/samples")
        .map(|entry| entry.expect("list config/samples").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .filter(|path| !path.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let file = path
                .file_name()
                .map(|name| name.to_string_lossy().to_string())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path).expect("read a sample");
            let value: Value = serde_yaml::from_str(&text)
                .unwrap_or_else(|error| panic!("{file} is not one YAML object: {error}"));
            Sample { file, text, value }
        })
        .collect()
}

fn samples_of_kind(kind: &str) -> Vec<Sample> {
    samples()
        .into_iter()
        .filter(|sample| sample.value["kind"] == kind)
        .collect()
}

/// Asserts that every field of `written` is in `parsed` with the same value, so a
/// misspelt or unknown field, which serde would skip, fails the test.
fn assert_fields_kept(file: &str, path: &str, written: &Value, parsed: &Value) {
    match (written, parsed) {
        (Value::Object(written), Value::Object(parsed)) => {
            for (key, value) in written {
                let field = format!("{path}.{key}");
                let parsed_value = parsed
                    .get(key)
                    .unwrap_or_else(|| panic!("{file}: {field} is not a field of the type"));
                assert_fields_kept(file, &field, value, parsed_value);
            }
        }
        _ => assert_eq!(written, parsed, "{file}: {path} changed when parsed"),
    }
}

fn crd_schema(kind: &str) -> Value {
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

fn assert_valid_for_crd(sample: &Sample) {
    let kind = sample.value["kind"].as_str().unwrap_or_default();
    let result = Validator::new().validate(&crd_schema(kind), &sample.value, None);
    if let Err(errors) = result {
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("{} breaks the CRD rules: {messages:?}", sample.file);
    }
}

fn names_of(kind: &str) -> BTreeSet<String> {
    samples_of_kind(kind)
        .iter()
        .map(|sample| {
            sample.value["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn every_sample_has_known_kind() {
    let known = ["PrivateCA", "ClusterPrivateCA", "Certificate", "Ingress"];
    let all = samples();
    assert!(!all.is_empty(), "{SAMPLES_DIR} has no samples");
    for sample in all {
        let kind = sample.value["kind"].as_str().unwrap_or_default();
        assert!(
            known.contains(&kind),
            "{}: unexpected kind {kind:?}",
            sample.file
        );
        assert!(
            sample.text.starts_with('#'),
            "{}: open the sample with a comment that says what it shows",
            sample.file
        );
    }
}

#[test]
fn kustomization_lists_every_sample() {
    let text = std::fs::read_to_string(samples_dir().join("kustomization.yaml"))
        .expect("read config/samples/kustomization.yaml");
    let kustomization: Value = serde_yaml::from_str(&text).expect("kustomization parses");
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .expect("resources is a list")
        .iter()
        .filter_map(|resource| resource.as_str().map(str::to_string))
        .collect();
    let files: BTreeSet<String> = samples().into_iter().map(|sample| sample.file).collect();
    assert_eq!(listed, files);
}

#[test]
fn private_ca_samples_parse() {
    let samples = samples_of_kind("PrivateCA");
    assert!(
        samples.len() >= 3,
        "root, subordinate and external subordinate"
    );
    for sample in samples {
        let ca: PrivateCA = serde_json::from_value(sample.value.clone())
            .unwrap_or_else(|error| panic!("{}: {error}", sample.file));
        assert_eq!(sample.value["apiVersion"], API_VERSION, "{}", sample.file);
        assert!(
            ca.namespace().is_none(),
            "{}: samples take the namespace from kubectl",
            sample.file
        );
        let parsed = serde_json::to_value(&ca).expect("a PrivateCA serializes");
        assert_fields_kept(&sample.file, "", &sample.value, &parsed);
        assert_valid_for_crd(&sample);
    }
}

#[test]
fn cluster_private_ca_samples_parse() {
    let samples = samples_of_kind("ClusterPrivateCA");
    assert!(!samples.is_empty());
    for sample in samples {
        let ca: ClusterPrivateCA = serde_json::from_value(sample.value.clone())
            .unwrap_or_else(|error| panic!("{}: {error}", sample.file));
        assert_eq!(sample.value["apiVersion"], API_VERSION, "{}", sample.file);
        let parsed = serde_json::to_value(&ca).expect("a ClusterPrivateCA serializes");
        assert_fields_kept(&sample.file, "", &sample.value, &parsed);
        assert_valid_for_crd(&sample);
    }
}

#[test]
fn subordinate_samples_cover_both_signers() {
    let cas: Vec<PrivateCA> = samples_of_kind("PrivateCA")
        .into_iter()
        .map(|sample| serde_json::from_value(sample.value).expect("a PrivateCA sample parses"))
        .collect();
    let roots = names_of("PrivateCA");

    let in_cluster: Vec<&PrivateCA> = cas
        .iter()
        .filter(|ca| ca.spec.type_ == CaType::Subordinate && ca.spec.parent_ref.is_some())
        .collect();
    assert!(
        !in_cluster.is_empty(),
        "a subordinate signed by a parent in the cluster"
    );
    for ca in in_cluster {
        let parent = ca.spec.parent_ref.as_ref().expect("filtered on parentRef");
        assert!(
            roots.contains(&parent.name),
            "{} names a missing parent",
            ca.name_any()
        );
    }

    let external = cas
        .iter()
        .any(|ca| ca.spec.type_ == CaType::Subordinate && ca.spec.parent_ref.is_none());
    assert!(
        external,
        "a subordinate that waits for an external signature"
    );
}

#[test]
fn certificate_samples_reference_sample_cas() {
    let samples = samples_of_kind("Certificate");
    let mut kinds = BTreeSet::new();
    for sample in samples {
        assert_eq!(
            sample.value["apiVersion"], "cert-manager.io/v1",
            "{}",
            sample.file
        );
        let issuer = &sample.value["spec"]["issuerRef"];
        assert_eq!(issuer["group"], "privateca.issuer.dev", "{}", sample.file);
        let kind = issuer["kind"].as_str().unwrap_or_default();
        let name = issuer["name"].as_str().unwrap_or_default();
        assert!(
            names_of(kind).contains(name),
            "{}: issuerRef names {kind} {name:?}, which no sample defines",
            sample.file
        );
        assert!(
            sample.value["spec"]["secretName"].is_string(),
            "{}",
            sample.file
        );
        kinds.insert(kind.to_string());
    }
    let expected: BTreeSet<String> = ["ClusterPrivateCA", "PrivateCA"].map(String::from).into();
    assert_eq!(kinds, expected, "one Certificate per CA kind");
}

#[test]
fn ingress_sample_annotations() {
    let samples = samples_of_kind("Ingress");
    assert_eq!(samples.len(), 1);
    for sample in samples {
        let ingress: Ingress = serde_json::from_value(sample.value.clone())
            .unwrap_or_else(|error| panic!("{}: {error}", sample.file));
        let annotations = ingress.annotations();
        let annotation = |key: &str| annotations.get(key).cloned().unwrap_or_default();
        assert_eq!(
            annotation("cert-manager.io/issuer-group"),
            "privateca.issuer.dev"
        );
        let kind = annotation("cert-manager.io/issuer-kind");
        let name = annotation("cert-manager.io/issuer");
        assert!(
            names_of(&kind).contains(&name),
            "the Ingress names {kind} {name:?}"
        );

        let tls = ingress
            .spec
            .as_ref()
            .and_then(|spec| spec.tls.as_ref())
            .expect("the Ingress has a tls section");
        assert!(tls.iter().all(|entry| entry.secret_name.is_some()));
    }
}
