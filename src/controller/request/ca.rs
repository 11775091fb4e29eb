//! The CA a request names: lookup in the watch caches and loading of its Secret.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::{ClusterPrivateCA, PrivateCA};
use crate::controller::ca_secret;
use crate::pki::CertificateAuthority;

use super::decide::{self, CaView, IssuerKind, IssuerTarget};
use super::error::{Error, Result};
use super::reconcile::State;

/// Loaded CAs by Secret UID, reused while the Secret's resourceVersion is unchanged.
#[derive(Default)]
pub struct AuthorityCache(Mutex<HashMap<String, CachedAuthority>>);

struct CachedAuthority {
    resource_version: String,
    authority: Arc<CertificateAuthority>,
}

impl AuthorityCache {
    /// Returns the CA loaded from the Secret with `uid` at `resource_version`, if cached.
    fn get(&self, uid: &str, resource_version: &str) -> Option<Arc<CertificateAuthority>> {
        if resource_version.is_empty() {
            return None;
        }
        let cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(uid)
            .filter(|cached| cached.resource_version == resource_version)
            .map(|cached| Arc::clone(&cached.authority))
    }

    /// Stores the CA loaded from the Secret with `uid` at `resource_version`.
    fn insert(&self, uid: String, resource_version: String, authority: Arc<CertificateAuthority>) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert(
            uid,
            CachedAuthority {
                resource_version,
                authority,
            },
        );
    }
}

/// The CA object a request names, as read from the cache.
pub(super) enum CaObject {
    Namespaced(Arc<PrivateCA>),
    Cluster(Arc<ClusterPrivateCA>),
}

impl CaObject {
    pub(super) fn view(&self) -> CaView<'_> {
        match self {
            CaObject::Namespaced(ca) => CaView {
                kind: IssuerKind::PrivateCa,
                namespace: ca.metadata.namespace.as_deref(),
                name: ca.metadata.name.as_deref().unwrap_or_default(),
                uid: ca.metadata.uid.as_deref(),
                spec: &ca.spec,
                status: ca.status.as_ref(),
                generation: ca.metadata.generation,
            },
            CaObject::Cluster(ca) => CaView {
                kind: IssuerKind::ClusterPrivateCa,
                namespace: None,
                name: ca.metadata.name.as_deref().unwrap_or_default(),
                uid: ca.metadata.uid.as_deref(),
                spec: &ca.spec.ca,
                status: ca.status.as_ref(),
                generation: ca.metadata.generation,
            },
        }
    }
}

/// Maximum wait for a CA cache to finish its initial list before a reconcile
/// reports the request as Pending instead.
const CACHE_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits until a CA cache has listed every object once.
async fn wait_for_cache<K>(store: &Store<K>, kind: &str) -> Result<()>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let not_ready = || {
        Error::Pending(format!(
            "the {kind} cache has not finished its initial list; \
             check that the controller may list and watch {kind} objects"
        ))
    };
    match tokio::time::timeout(CACHE_READY_TIMEOUT, store.wait_until_ready()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(not_ready()),
    }
}

/// Looks the CA up in the caches. A PrivateCA is found only in the request's
/// namespace, and a missing PrivateCA never falls back to a ClusterPrivateCA.
pub(super) async fn lookup_ca(target: &IssuerTarget, state: &State) -> Result<CaObject> {
    let found = match target.kind {
        IssuerKind::PrivateCa => {
            wait_for_cache(&state.private_cas, "PrivateCA").await?;
            let namespace = target.namespace.as_deref().unwrap_or_default();
            let key = ObjectRef::<PrivateCA>::new(&target.name).within(namespace);
            state.private_cas.get(&key).map(CaObject::Namespaced)
        }
        IssuerKind::ClusterPrivateCa => {
            wait_for_cache(&state.cluster_cas, "ClusterPrivateCA").await?;
            let key = ObjectRef::<ClusterPrivateCA>::new(&target.name);
            state.cluster_cas.get(&key).map(CaObject::Cluster)
        }
    };
    found.ok_or_else(|| decide::issuer_not_found(target))
}

/// Reads the CA Secret with GET and loads it, reusing the parsed CA while the
/// Secret's resourceVersion is unchanged.
pub(super) async fn load_authority(
    ca: &CaView<'_>,
    state: &State,
) -> Result<Arc<CertificateAuthority>> {
    let namespace = match ca.namespace {
        Some(namespace) => namespace.to_string(),
        None => state.ctx.cluster_resource_namespace.clone(),
    };
    let name = ca_secret::secret_name(ca.name, ca.spec.secret_name.as_deref());
    let secrets: Api<Secret> = Api::namespaced(state.ctx.client.clone(), &namespace);
    let secret = secrets
        .get_opt(&name)
        .await
        .map_err(|error| Error::api(format!("get Secret {namespace}/{name}"), error))?
        .ok_or_else(|| {
            Error::Pending(format!(
                "Secret {namespace}/{name} of {} not found; the request is signed once the CA \
                 controller or you create it with tls.crt and tls.key",
                ca.display()
            ))
        })?;
    let uid = secret.metadata.uid.clone().unwrap_or_default();
    let resource_version = secret.metadata.resource_version.clone().unwrap_or_default();
    if let Some(authority) = state.authorities.get(&uid, &resource_version) {
        return Ok(authority);
    }
    let authority = ca_secret::load_authority(&secret).map_err(|error| {
        Error::Pending(format!(
            "Secret {namespace}/{name} of {} does not hold a usable CA: {error}",
            ca.display()
        ))
    })?;
    let authority = Arc::new(authority);
    state
        .authorities
        .insert(uid, resource_version, Arc::clone(&authority));
    Ok(authority)
}
