//! Every Kubernetes API call the controllers make, as RBAC needs it.
//!
//! The Helm chart grants exactly these calls, and its test fails when a rendered
//! rule grants a verb or resource that no entry here justifies, or misses one.

/// Location of a call's objects, which decides the kind of role that grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Any namespace or cluster-scoped objects: granted by a ClusterRole.
    Cluster,
    /// Only the controller's own namespace: granted by a namespaced Role.
    OwnNamespace,
}

/// One group of API calls with the same reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiCall {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// Resource, with `/subresource` where the call targets one.
    pub resource: &'static str,
    /// Verbs, as RBAC names them.
    pub verbs: &'static [&'static str],
    /// Kind of role that grants the call.
    pub scope: Scope,
    /// Reason the controller makes the call.
    pub reason: &'static str,
}

/// Every API call the controllers make.
pub const API_CALLS: &[ApiCall] = &[
    ApiCall {
        group: "cert-manager.io",
        resource: "certificaterequests",
        verbs: &["get", "list", "watch"],
        scope: Scope::Cluster,
        reason: "watch CertificateRequests that name a PrivateCA or ClusterPrivateCA",
    },
    ApiCall {
        group: "cert-manager.io",
        resource: "certificaterequests/status",
        verbs: &["patch"],
        scope: Scope::Cluster,
        reason: "write the Ready condition, the certificate and the CA of a request",
    },
    ApiCall {
        group: "privateca.issuer.dev",
        resource: "privatecas",
        verbs: &["get", "list", "watch"],
        scope: Scope::Cluster,
        reason: "watch PrivateCAs in every namespace",
    },
    ApiCall {
        group: "privateca.issuer.dev",
        resource: "clusterprivatecas",
        verbs: &["get", "list", "watch"],
        scope: Scope::Cluster,
        reason: "watch ClusterPrivateCAs",
    },
    ApiCall {
        group: "privateca.issuer.dev",
        resource: "privatecas/status",
        verbs: &["patch"],
        scope: Scope::Cluster,
        reason: "write the state, conditions and certificate details of a PrivateCA",
    },
    ApiCall {
        group: "privateca.issuer.dev",
        resource: "clusterprivatecas/status",
        verbs: &["patch"],
        scope: Scope::Cluster,
        reason: "write the state, conditions and certificate details of a ClusterPrivateCA",
    },
    ApiCall {
        group: "",
        resource: "secrets",
        verbs: &["get"],
        scope: Scope::Cluster,
        reason: "read CA Secrets and issuance records by name",
    },
    ApiCall {
        group: "",
        resource: "secrets",
        verbs: &["list", "watch"],
        scope: Scope::Cluster,
        reason: "watch CA Secrets, selected by label; RBAC cannot restrict a rule by label, \
                 so the grant covers every Secret",
    },
    // NOTE: an issuance record owned by its CertificateRequest must not set
    // blockOwnerDeletion: clusters with the OwnerReferencesPermissionEnforcement
    // admission plugin then also require update on certificaterequests/finalizers,
    // which this list does not grant.
    ApiCall {
        group: "",
        resource: "secrets",
        verbs: &["create"],
        scope: Scope::Cluster,
        reason: "create new CA Secrets and issuance records",
    },
    ApiCall {
        group: "",
        resource: "secrets",
        verbs: &["patch"],
        scope: Scope::Cluster,
        reason: "label an imported CA Secret and store a subordinate's key and CSR",
    },
    ApiCall {
        group: "events.k8s.io",
        resource: "events",
        verbs: &["create", "patch"],
        scope: Scope::Cluster,
        reason: "record Events on requests and CAs; kube's Recorder patches a repeated Event",
    },
    ApiCall {
        group: "coordination.k8s.io",
        resource: "leases",
        verbs: &["get", "create", "patch"],
        scope: Scope::OwnNamespace,
        reason: "leader election; kube-lease-manager reads, creates and patches one Lease",
    },
];

/// Signer names of this issuer's CA kinds, as cert-manager's approver checks them
/// (`<resource>.<group>/<namespace>.<name>` for PrivateCA, `<resource>.<group>/<name>`
/// for ClusterPrivateCA).
pub const SIGNER_NAMES: &[&str] = &[
    "privatecas.privateca.issuer.dev/*",
    "clusterprivatecas.privateca.issuer.dev/*",
];

/// Returns true when `API_CALLS` grants `verb` on `resource` in `group` at `scope`.
pub fn allows(group: &str, resource: &str, verb: &str, scope: Scope) -> bool {
    API_CALLS.iter().any(|call| {
        call.group == group
            && call.resource == resource
            && call.scope == scope
            && call.verbs.contains(&verb)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_deleted_or_updated() {
        for verb in ["delete", "deletecollection", "update", "*"] {
            assert!(!allows("", "secrets", verb, Scope::Cluster), "{verb}");
            assert!(!allows("", "secrets", verb, Scope::OwnNamespace), "{verb}");
        }
    }

    #[test]
    fn leases_only_own_namespace() {
        for verb in ["get", "create", "patch"] {
            assert!(allows(
                "coordination.k8s.io",
                "leases",
                verb,
                Scope::OwnNamespace
            ));
            assert!(!allows(
                "coordination.k8s.io",
                "leases",
                verb,
                Scope::Cluster
            ));
        }
    }

    #[test]
    fn every_call_has_reason() {
        for call in API_CALLS {
            assert!(!call.reason.is_empty(), "{call:?}");
            assert!(!call.verbs.is_empty(), "{call:?}");
        }
    }
}
