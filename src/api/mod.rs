//! Kubernetes API types: this project's CA kinds and cert-manager's CertificateRequest.

pub mod certificate_request;
pub mod private_ca;

pub use certificate_request::{
    CertificateRequest, CertificateRequestCondition, CertificateRequestSpec,
    CertificateRequestStatus, IssuerRef,
};
pub use private_ca::{
    CaSpec, CaState, CaStatus, CaSubject, CaType, ClusterPrivateCA, ParentKind, ParentRef,
    PrivateCA, UsageMode,
};

/// API group of this project's kinds.
pub const GROUP: &str = "privateca.issuer.dev";
/// API version of this project's kinds.
pub const VERSION: &str = "v1alpha1";
/// Annotation on a CertificateRequest that selects a template by name or ARN.
pub const TEMPLATE_ANNOTATION: &str = "privateca.issuer.dev/template";
