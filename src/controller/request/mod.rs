//! The controller that signs cert-manager CertificateRequests whose issuerRef
//! names a PrivateCA or ClusterPrivateCA, following cert-manager's conventions
//! for external issuers.
//!
//! - [`decide`]: pure decisions (ours or not, approval, CA readiness, validity, status).
//! - [`template`]: which certificate template a request gets.
//! - [`record`]: the issuance record Secret that keeps signing idempotent per request UID.
//! - [`reconcile`]: applies the decisions with API calls.
//! - `ca`: finds the CA in the watch caches and loads its Secret.
//! - [`issuance`]: signs a request and stores the result in its issuance record.
//! - [`events`]: Kubernetes Events about requests.
//! - [`error`]: the error classes and the one mapping to a condition and a retry.
//!
//! Memory: requests are cached without managedFields, without the certificate and
//! CA bytes, and without the CSR of finished or foreign requests, because clusters
//! keep tens of thousands of old requests.

mod ca;
pub mod decide;
pub mod error;
pub mod events;
pub mod issuance;
pub mod reconcile;
pub mod record;
pub mod template;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, Stream, StreamExt, TryStreamExt, stream};
use k8s_openapi::ByteString;
use kube::api::Api;
use kube::runtime::controller::{self, Action};
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};

use serde::de::DeserializeOwned;

use crate::api::{CertificateRequest, ClusterPrivateCA, PrivateCA};
use crate::controller::Context;

pub use error::{Error, Result};
pub use reconcile::{State, error_policy, reconcile};

use decide::{Gate, IssuerKind, IssuerTarget};

/// Annotation that `kubectl apply` writes; large and never read here.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Maximum wait for running reconciles to finish after shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Runs the request controller until `shutdown` completes; pass
/// `std::future::pending()` to run until the process ends. After `shutdown`, no
/// new reconcile starts, and the function returns once the running ones finish or
/// [`SHUTDOWN_GRACE`] has passed.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shutdown = shutdown.boxed().shared();
    let client = ctx.client.clone();
    let (requests, request_writer) = reflector::store::<CertificateRequest>();
    let (private_cas, private_ca_writer) = reflector::store::<PrivateCA>();
    let (cluster_cas, cluster_ca_writer) = reflector::store::<ClusterPrivateCA>();

    let request_triggers = watcher(
        Api::<CertificateRequest>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .modify(strip_for_cache)
    .reflect(request_writer)
    .applied_objects()
    .try_filter_map(|request| async move {
        Ok(needs_work(&request).then(|| ObjectRef::from_obj(&request)))
    });

    let private_ca_triggers = ca_triggers(
        Api::<PrivateCA>::all(client.clone()),
        private_ca_writer,
        requests.clone(),
        |ca| IssuerTarget {
            kind: IssuerKind::PrivateCa,
            namespace: ca.metadata.namespace.clone(),
            name: ca.metadata.name.clone().unwrap_or_default(),
        },
    );
    let cluster_ca_triggers = ca_triggers(
        Api::<ClusterPrivateCA>::all(client.clone()),
        cluster_ca_writer,
        requests.clone(),
        |ca| IssuerTarget {
            kind: IssuerKind::ClusterPrivateCa,
            namespace: None,
            name: ca.metadata.name.clone().unwrap_or_default(),
        },
    );

    let queue = stream::select_all([
        request_triggers.boxed(),
        private_ca_triggers.boxed(),
        cluster_ca_triggers.boxed(),
    ])
    .take_until(shutdown.clone());

    let state = Arc::new(State::new(ctx, private_cas, cluster_cas));
    tracing::info!("Starting the CertificateRequest controller");
    let drain = controller::applier(
        |request, state| Box::pin(reconcile(request, state)),
        error_policy,
        state,
        requests,
        queue,
        controller::Config::default(),
    )
    .for_each(|result| async move {
        log_applier_result(result);
    });
    // The applier only ends once its request cache has listed once, so a
    // shutdown during a failing initial list needs this deadline to return.
    let deadline = async move {
        shutdown.await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        () = drain => tracing::info!("CertificateRequest controller stopped"),
        () = deadline => tracing::warn!(
            grace_seconds = SHUTDOWN_GRACE.as_secs(),
            "CertificateRequest controller did not drain within the grace period; stopping"
        ),
    }
    Ok(())
}

/// Watches one CA kind into `writer` and, for every CA added or changed, emits
/// the cached requests that wait on it, so they are signed once the CA is ready.
fn ca_triggers<K>(
    api: Api<K>,
    writer: Writer<K>,
    requests: Store<CertificateRequest>,
    target_of: fn(&K) -> IssuerTarget,
) -> impl Stream<Item = std::result::Result<ObjectRef<CertificateRequest>, watcher::Error>> + Send
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .map_ok(move |ca| {
            let waiting = requests_waiting_on(&requests, &target_of(&ca));
            stream::iter(waiting.into_iter().map(Ok))
        })
        .try_flatten()
}

type ApplierResult = std::result::Result<
    (ObjectRef<CertificateRequest>, Action),
    controller::Error<Error, watcher::Error>,
>;

fn log_applier_result(result: ApplierResult) {
    match result {
        Ok((object, _)) => tracing::trace!(%object, "Reconciled"),
        // The reconciler already logged its own errors once, at warn.
        Err(controller::Error::ReconcilerFailed(..)) => {}
        // A trigger for a request that was deleted meanwhile.
        Err(controller::Error::ObjectNotFound(object)) => {
            tracing::debug!(%object, "Skipping a request that is no longer cached");
        }
        Err(error) => tracing::warn!(%error, "CertificateRequest watch failed; retrying"),
    }
}

/// True when a cached request is ours and not finished, so a trigger should
/// reconcile it.
pub fn needs_work(request: &CertificateRequest) -> bool {
    decide::issuer_target(request).is_some()
        && matches!(decide::gate(request), Gate::Proceed | Gate::Deny)
}

/// Returns the cached requests that name `target` and still wait for a certificate.
///
/// This scans the cache: a CA changes rarely, and a scan of tens of thousands of
/// cached requests takes milliseconds.
pub fn requests_waiting_on(
    requests: &Store<CertificateRequest>,
    target: &IssuerTarget,
) -> Vec<ObjectRef<CertificateRequest>> {
    requests
        .state()
        .iter()
        .filter(|request| decide::issuer_target(request).as_ref() == Some(target))
        .filter(|request| decide::gate(request) == Gate::Proceed)
        .map(|request| ObjectRef::from_obj(request.as_ref()))
        .collect()
}

/// Drops what the controller never reads from a cached request: managedFields,
/// the last-applied annotation, the certificate and CA bytes, and the requester
/// fields. An empty certificate stays as the marker that one was issued. The CSR
/// is dropped too when the request is finished or belongs to another issuer.
pub fn strip_for_cache(request: &mut CertificateRequest) {
    request.metadata.managed_fields = None;
    if let Some(annotations) = request.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
    let ours = decide::issuer_target(request).is_some();
    let finished = matches!(decide::gate(request), Gate::Skip(_));
    if let Some(status) = request.status.as_mut() {
        if status.certificate.is_some() {
            status.certificate = Some(ByteString(Vec::new()));
        }
        status.ca = None;
    }
    if !ours || finished {
        request.spec.request = ByteString(Vec::new());
    }
    request.spec.username = None;
    request.spec.uid = None;
    request.spec.groups = None;
}

#[cfg(test)]
mod tests;
