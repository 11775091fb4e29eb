//! Generation of the CustomResourceDefinition YAML from the Rust types.
//!
//! kube derives most of the schema. The functions here add what the derive cannot
//! express: they copy the spec schema of `PrivateCA` into `ClusterPrivateCA`, so the
//! two cannot drift, and add rules for types outside `crate::api`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, ValidationRule,
};
use kube::CustomResourceExt;

use crate::api::{ClusterPrivateCA, PrivateCA};

/// First line of the generated YAML.
pub const HEADER: &str =
    "# Generated from the Rust types by `privateca-issuer crds`; do not edit by hand.\n";

/// Renders the CRDs of PrivateCA and ClusterPrivateCA as one multi-document YAML string.
pub fn crds_yaml() -> String {
    let mut out = String::from(HEADER);
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd).expect("a CRD always serializes to YAML"));
    }
    out
}

/// Generates the CRDs of PrivateCA and ClusterPrivateCA, in that order, with the schema
/// fixes applied.
pub fn crds() -> [CustomResourceDefinition; 2] {
    let mut namespaced = PrivateCA::crd();
    let mut cluster = ClusterPrivateCA::crd();

    let namespaced_root = root_schema(&mut namespaced);
    namespaced_root.description = Some(
        "PrivateCA is a certificate authority in one namespace that signs cert-manager \
         CertificateRequests from that namespace."
            .to_string(),
    );
    let namespaced_spec = property(namespaced_root, "spec");
    set_validity_minimum(namespaced_spec);
    let spec = namespaced_spec.clone();

    let cluster_root = root_schema(&mut cluster);
    cluster_root.description = Some(
        "ClusterPrivateCA is a cluster-scoped certificate authority that signs cert-manager \
         CertificateRequests from every namespace; its Secret lives in the controller's \
         cluster resource namespace."
            .to_string(),
    );
    // The derive describes the flattened wrapper, not CaSpec; the copy makes the two
    // spec schemas identical apart from the rule added below.
    let cluster_spec = property(cluster_root, "spec");
    *cluster_spec = spec;
    add_rule(
        property(cluster_spec, "parentRef"),
        "self.kind == 'ClusterPrivateCA'",
        "the parent of a ClusterPrivateCA must be a ClusterPrivateCA",
    );

    [namespaced, cluster]
}

/// Sets `validity.value >= 1`: every validity type counts from 1 (days, months,
/// years, or a Unix time or date after 1970).
fn set_validity_minimum(spec: &mut JSONSchemaProps) {
    let value = property(property(spec, "validity"), "value");
    value.minimum = Some(1.0);
}

fn root_schema(crd: &mut CustomResourceDefinition) -> &mut JSONSchemaProps {
    crd.spec
        .versions
        .first_mut()
        .and_then(|version| version.schema.as_mut())
        .and_then(|schema| schema.open_api_v3_schema.as_mut())
        .expect("kube derives one version with a schema")
}

fn property<'a>(schema: &'a mut JSONSchemaProps, name: &str) -> &'a mut JSONSchemaProps {
    schema
        .properties
        .as_mut()
        .and_then(|properties| properties.get_mut(name))
        .unwrap_or_else(|| panic!("the derived schema has no property {name}"))
}

fn add_rule(schema: &mut JSONSchemaProps, rule: &str, message: &str) {
    schema
        .x_kubernetes_validations
        .get_or_insert_with(Vec::new)
        .push(ValidationRule {
            rule: rule.to_string(),
            message: Some(message.to_string()),
            ..ValidationRule::default()
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_schema(crd: &CustomResourceDefinition) -> JSONSchemaProps {
        let mut crd = crd.clone();
        property(root_schema(&mut crd), "spec").clone()
    }

    fn rules(schema: &JSONSchemaProps) -> Vec<String> {
        schema
            .x_kubernetes_validations
            .iter()
            .flatten()
            .map(|rule| rule.rule.clone())
            .collect()
    }

    #[test]
    fn cluster_spec_equals_namespaced_spec() {
        let [namespaced, cluster] = crds();
        let namespaced_spec = spec_schema(&namespaced);
        let mut cluster_spec = spec_schema(&cluster);

        let parent = property(&mut cluster_spec, "parentRef");
        let cluster_only = JSONSchemaProps {
            x_kubernetes_validations: parent.x_kubernetes_validations.take(),
            ..JSONSchemaProps::default()
        };
        assert_eq!(rules(&cluster_only), ["self.kind == 'ClusterPrivateCA'"]);
        assert_eq!(cluster_spec, namespaced_spec);
    }

    #[test]
    fn derived_cluster_spec_has_same_properties() {
        // crds() replaces the derived ClusterPrivateCA spec schema; this checks that the
        // flatten derive itself still produces every CaSpec field with the same schema.
        let mut namespaced = PrivateCA::crd();
        let mut cluster = ClusterPrivateCA::crd();
        let namespaced_spec = property(root_schema(&mut namespaced), "spec").clone();
        let cluster_spec = property(root_schema(&mut cluster), "spec").clone();
        assert_eq!(cluster_spec.properties, namespaced_spec.properties);
        assert_eq!(cluster_spec.required, namespaced_spec.required);
        assert_eq!(
            cluster_spec.x_kubernetes_validations,
            namespaced_spec.x_kubernetes_validations
        );
    }

    #[test]
    fn schema_ranges_and_rules() {
        let [mut namespaced, _] = crds();
        let spec = property(root_schema(&mut namespaced), "spec");
        assert_eq!(property(spec, "pathLength").minimum, Some(0.0));
        assert_eq!(property(spec, "pathLength").maximum, Some(3.0));
        let validity_value = property(property(spec, "validity"), "value");
        assert_eq!(validity_value.minimum, Some(1.0));
        assert_eq!(rules(property(spec, "keyAlgorithm")), ["self == oldSelf"]);
        assert_eq!(rules(property(spec, "type")), ["self == oldSelf"]);
        assert_eq!(
            rules(property(spec, "notBeforeBackdate")),
            ["duration(self) <= duration('1h')"]
        );
        assert_eq!(rules(property(spec, "subject")).len(), 1);
        assert_eq!(rules(spec).len(), 2);
    }

    #[test]
    fn status_and_columns_present() {
        for crd in crds() {
            let version = &crd.spec.versions[0];
            let status = version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref());
            assert!(
                status.is_some(),
                "{} has a status subresource",
                crd.spec.names.kind
            );
            let columns: Vec<&str> = version
                .additional_printer_columns
                .iter()
                .flatten()
                .map(|column| column.name.as_str())
                .collect();
            assert_eq!(columns, ["Type", "State", "Ready", "Not After", "Age"]);
        }
        let [namespaced, cluster] = crds();
        assert_eq!(
            namespaced.spec.names.short_names,
            Some(vec!["pca".to_string()])
        );
        assert_eq!(
            cluster.spec.names.short_names,
            Some(vec!["cpca".to_string()])
        );
        assert_eq!(namespaced.spec.scope, "Namespaced");
        assert_eq!(cluster.spec.scope, "Cluster");
    }

    #[test]
    fn yaml_has_two_documents() {
        let yaml = crds_yaml();
        assert!(yaml.starts_with(HEADER));
        assert_eq!(yaml.matches("\n---\n").count(), 2);
    }
}
