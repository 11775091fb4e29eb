//! `PrivateCA` (namespaced) and `ClusterPrivateCA` (cluster-scoped): certificate
//! authorities that behave like ACM Private CA's, with one shared spec.

use std::ops::Deref;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::pki::{KeyAlgorithm, SigningAlgorithm, Validity};

/// Desired state of a CA, shared by `PrivateCA` and `ClusterPrivateCA`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "privateca.issuer.dev",
    version = "v1alpha1",
    kind = "PrivateCA",
    namespaced,
    status = "CaStatus",
    shortname = "pca",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Not After","type":"string","jsonPath":".status.notAfter"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "(has(self.type) && self.type == 'Subordinate') || !has(self.parentRef)",
        "message": "parentRef is only valid with type Subordinate; set type: Subordinate or remove parentRef",
    },
    {
        "rule": "(has(self.type) && self.type == 'Subordinate') || !has(self.pathLength)",
        "message": "pathLength is only valid with type Subordinate; set type: Subordinate or remove pathLength",
    },
]))]
pub struct CaSpec {
    /// Root or Subordinate.
    #[serde(default, rename = "type")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self == oldSelf", "message": "type is immutable; create a new CA instead"},
    ]))]
    pub type_: CaType,
    /// Algorithm and size of the CA key.
    #[serde(default = "default_key_algorithm")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self == oldSelf", "message": "keyAlgorithm is immutable; create a new CA instead"},
    ]))]
    pub key_algorithm: KeyAlgorithm,
    /// Signature algorithm; defaults from the key (SHA-256 for RSA and P-256,
    /// SHA-384 for P-384, SHA-512 for P-521).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_algorithm: Option<SigningAlgorithm>,
    /// Subject of the CA certificate; at least one field.
    pub subject: CaSubject,
    /// Lifetime of the CA certificate; 10 YEARS for a root, 5 YEARS for a subordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<Validity>,
    /// Secret that holds the CA (`tls.crt`, `tls.key`, `ca.crt`, `chain.crt`);
    /// defaults to `<name>-ca`. A Root that sets this field imports the CA from
    /// that Secret and waits until the Secret exists, and the controller never
    /// generates a key for it. A Root without this field imports `<name>-ca`
    /// when it exists and generates the CA into it otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub secret_name: Option<String>,
    /// Parent CA in the cluster that signs this subordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_ref: Option<ParentRef>,
    /// pathLenConstraint of a subordinate, 0 to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3))]
    pub path_length: Option<u8>,
    /// GeneralPurpose, or ShortLivedCertificate (at most 7 days per certificate).
    #[serde(default)]
    pub usage_mode: UsageMode,
    /// When true the CA issues nothing.
    #[serde(default)]
    pub disabled: bool,
    /// Template for requests that do not choose one; `EndEntityCertificate/V1` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_template: Option<String>,
    /// Templates that requests may choose, by name or ARN; the end-entity templates
    /// by default. CA templates must be listed to be allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_templates: Option<Vec<String>>,
    /// How far notBefore is set before issuance, as a Go duration; `1m` by default,
    /// at most `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 32),
        pattern(r"^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$"),
        extend("x-kubernetes-validations" = [
            {
                "rule": "duration(self) <= duration('1h')",
                "message": "notBeforeBackdate must be at most 1h",
            },
        ]),
    )]
    pub not_before_backdate: Option<String>,
}

fn default_key_algorithm() -> KeyAlgorithm {
    KeyAlgorithm::EcPrime256v1
}

/// Spec of a `ClusterPrivateCA`: the same fields as a `PrivateCA`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "privateca.issuer.dev",
    version = "v1alpha1",
    kind = "ClusterPrivateCA",
    status = "CaStatus",
    shortname = "cpca",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Not After","type":"string","jsonPath":".status.notAfter"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
pub struct ClusterPrivateCASpec {
    /// The shared CA fields.
    #[serde(flatten)]
    pub ca: CaSpec,
}

impl Deref for ClusterPrivateCASpec {
    type Target = CaSpec;

    fn deref(&self) -> &CaSpec {
        &self.ca
    }
}

/// Root or Subordinate.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CaType {
    /// Self-signed with `RootCACertificate/V1`.
    #[default]
    Root,
    /// Signed by a parent CA with `SubordinateCACertificate_PathLenN/V1`.
    Subordinate,
}

/// Lifetime limit that a CA applies to the certificates it issues.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum UsageMode {
    /// No limit beyond the CA's own notAfter.
    #[default]
    GeneralPurpose,
    /// Certificates live at most 7 days.
    ShortLivedCertificate,
}

/// Subject fields of a CA certificate.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.commonName) || has(self.organization) || has(self.organizationalUnit) || has(self.country) || has(self.state) || has(self.locality)",
        "message": "subject must set at least one of commonName, organization, organizationalUnit, country, state, locality",
    },
]))]
pub struct CaSubject {
    /// CN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub common_name: Option<String>,
    /// O.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub organization: Option<String>,
    /// OU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub organizational_unit: Option<String>,
    /// C, two letters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z]{2}$"))]
    pub country: Option<String>,
    /// ST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub state: Option<String>,
    /// L.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub locality: Option<String>,
}

/// Reference to the parent CA that signs a subordinate.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct ParentRef {
    /// PrivateCA (same namespace only) or ClusterPrivateCA.
    pub kind: ParentKind,
    /// Name of the parent.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Kind of a parent CA.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ParentKind {
    /// A PrivateCA in the same namespace.
    PrivateCA,
    /// A ClusterPrivateCA.
    ClusterPrivateCA,
}

/// Lifecycle state of a CA, as in ACM Private CA.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CaState {
    /// The controller is creating the key or certificate.
    Creating,
    /// A subordinate waits for a certificate signed outside the cluster.
    PendingCertificate,
    /// The CA issues.
    Active,
    /// `spec.disabled` is true.
    Disabled,
    /// The CA certificate's notAfter has passed.
    Expired,
    /// The CA cannot be used, and `failureReason` gives the cause.
    Failed,
}

/// Observed state of a CA.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaStatus {
    /// Lifecycle state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CaState>,
    /// Conditions; `Ready` is True only while Active.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The metadata.generation this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Serial number of the CA certificate, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Subject of the CA certificate, RFC 4514.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// notBefore of the CA certificate, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// notAfter of the CA certificate, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// The PEM CSR to sign elsewhere, only while PendingCertificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr: Option<String>,
    /// Cause of the Failed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}
