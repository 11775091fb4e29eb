//! The interface over the two CA kinds, so one reconcile serves both.

use std::fmt::Debug;

use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{CaSpec, CaStatus, ClusterPrivateCA, ParentKind, PrivateCA};

/// Kind of a CA object: namespaced or cluster-scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKind {
    /// A namespaced `PrivateCA`.
    PrivateCA,
    /// A cluster-scoped `ClusterPrivateCA`.
    ClusterPrivateCA,
}

impl CaKind {
    /// Returns the Kubernetes kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaKind::PrivateCA => "PrivateCA",
            CaKind::ClusterPrivateCA => "ClusterPrivateCA",
        }
    }
}

impl From<ParentKind> for CaKind {
    fn from(kind: ParentKind) -> Self {
        match kind {
            ParentKind::PrivateCA => CaKind::PrivateCA,
            ParentKind::ClusterPrivateCA => CaKind::ClusterPrivateCA,
        }
    }
}

/// A CA object of either kind.
pub trait CaObject:
    Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Serialize + Send + Sync + 'static
{
    /// The kind of this type.
    const KIND: CaKind;

    /// Returns the shared spec.
    fn ca_spec(&self) -> &CaSpec;

    /// Returns the status, if the controller wrote one.
    fn ca_status(&self) -> Option<&CaStatus>;

    /// Builds the API for objects of this kind in `namespace`, or in all
    /// namespaces when it is `None`. Cluster-scoped kinds ignore it.
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;

    /// Returns the namespace of the object's Secret.
    fn secret_namespace<'a>(&'a self, cluster_resource_namespace: &'a str) -> Option<&'a str>;
}

impl CaObject for PrivateCA {
    const KIND: CaKind = CaKind::PrivateCA;

    fn ca_spec(&self) -> &CaSpec {
        &self.spec
    }

    fn ca_status(&self) -> Option<&CaStatus> {
        self.status.as_ref()
    }

    fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
        match namespace {
            Some(namespace) => Api::namespaced(client, namespace),
            None => Api::all(client),
        }
    }

    fn secret_namespace<'a>(&'a self, _cluster_resource_namespace: &'a str) -> Option<&'a str> {
        self.metadata.namespace.as_deref()
    }
}

impl CaObject for ClusterPrivateCA {
    const KIND: CaKind = CaKind::ClusterPrivateCA;

    fn ca_spec(&self) -> &CaSpec {
        &self.spec.ca
    }

    fn ca_status(&self) -> Option<&CaStatus> {
        self.status.as_ref()
    }

    fn api(client: Client, _namespace: Option<&str>) -> Api<Self> {
        Api::all(client)
    }

    fn secret_namespace<'a>(&'a self, cluster_resource_namespace: &'a str) -> Option<&'a str> {
        Some(cluster_resource_namespace)
    }
}

/// Returns the name of the Secret of `ca`.
pub fn ca_secret_name<K: CaObject>(ca: &K) -> String {
    crate::controller::ca_secret::secret_name(&ca.name_any(), ca.ca_spec().secret_name.as_deref())
}
