//! The reconcile: read the CA's Secret and parent, [`decide`], then apply the
//! Secret write, one status patch and the Events.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, Recorder};
use serde_json::json;
use tracing::{Instrument, debug, info, info_span, warn};

use super::decide::{self, CaView, Decision, ParentInput, SecretWrite};
use super::error::{Error, Result};
use super::kind::{CaKind, CaObject, ca_secret_name};
use crate::api::{CaState, CaType, ClusterPrivateCA, ParentKind, PrivateCA};
use crate::controller::Context;
use crate::controller::ca_secret::{self, CA_SECRET_LABEL, CA_SECRET_LABEL_VALUE};

/// Field manager of every write the controller makes.
pub const FIELD_MANAGER: &str = "privateca-issuer";
/// First retry delay after a failed reconcile.
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// Maximum retry delay after repeated failures.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// State of the CA controller: the shared context, the Event recorder and the
/// retry counters.
pub struct CaContext {
    /// State shared with the other controller.
    pub shared: Arc<Context>,
    /// One recorder for all CAs, so a repeated Event is counted in a series.
    recorder: Recorder,
    backoff: Backoff,
}

impl CaContext {
    /// Wraps the shared context.
    pub fn new(shared: Arc<Context>) -> Self {
        let recorder = Recorder::new(shared.client.clone(), shared.reporter.clone());
        Self {
            shared,
            recorder,
            backoff: Backoff::default(),
        }
    }
}

/// Consecutive failures per CA, for exponential retry delays.
#[derive(Default)]
struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Counts a failure and returns the delay before the next try:
    /// [`BACKOFF_BASE`] doubled per earlier failure, at most [`BACKOFF_MAX`].
    fn next_delay(&self, key: &str) -> Duration {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = failures.entry(key.to_string()).or_insert(0);
        let exponent = (*count).min(16);
        *count = count.saturating_add(1);
        BACKOFF_BASE.saturating_mul(1 << exponent).min(BACKOFF_MAX)
    }

    fn reset(&self, key: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(key);
    }
}

/// Key of a CA in the retry counters and logs: `Kind/namespace/name`.
fn object_key<K: CaObject>(ca: &K) -> String {
    format!(
        "{}/{}/{}",
        K::KIND.as_str(),
        ca.namespace().unwrap_or_default(),
        ca.name_any()
    )
}

/// Reconciles one CA of either kind, inside a span that names it.
pub async fn reconcile<K: CaObject>(ca: Arc<K>, ctx: Arc<CaContext>) -> Result<Action> {
    let span = info_span!(
        "reconcile",
        kind = K::KIND.as_str(),
        namespace = ca.namespace().unwrap_or_default(),
        name = ca.name_any(),
        uid = ca.uid().unwrap_or_default(),
    );
    reconcile_in_span(ca, ctx).instrument(span).await
}

async fn reconcile_in_span<K: CaObject>(ca: Arc<K>, ctx: Arc<CaContext>) -> Result<Action> {
    let shared = &ctx.shared;
    let name = ca
        .meta()
        .name
        .clone()
        .ok_or(Error::MissingMetadata { field: "name" })?;
    let secret_namespace = ca
        .secret_namespace(&shared.cluster_resource_namespace)
        .ok_or(Error::MissingMetadata { field: "namespace" })?
        .to_string();
    let secret_name = ca_secret_name(ca.as_ref());

    let secrets: Api<Secret> = Api::namespaced(shared.client.clone(), &secret_namespace);
    let secret = get_secret(&secrets, &secret_namespace, &secret_name).await?;
    let parent = load_parent(ca.as_ref(), shared).await?;

    let view = CaView {
        kind: K::KIND,
        name: &name,
        generation: ca.meta().generation,
        spec: ca.ca_spec(),
        status: ca.ca_status(),
        secret_namespace: &secret_namespace,
        secret_name: &secret_name,
    };
    let decision = decide_or_retry(&view, secret.as_ref(), parent, shared)?;
    let Some(decision) = write_decided_secret(&secrets, &view, decision, shared).await? else {
        return Ok(Action::requeue(BACKOFF_BASE));
    };

    if ca.ca_status() != Some(&decision.status) {
        patch_status(ca.as_ref(), shared.client.clone(), &name, &decision).await?;
    }
    publish_events(ca.as_ref(), &ctx.recorder, &decision).await;
    record_metrics(ca.as_ref(), shared, &decision);
    ctx.backoff.reset(&object_key(ca.as_ref()));
    Ok(Action::requeue(decision.requeue_after))
}

/// Makes the decided Secret write. When a create loses to another writer, the
/// decision is made again on the winner's Secret. Returns `None` when that
/// Secret needs more than a label, so the caller retries.
async fn write_decided_secret(
    secrets: &Api<Secret>,
    view: &CaView<'_>,
    mut decision: Decision,
    shared: &Context,
) -> Result<Option<Decision>> {
    let (namespace, name) = (view.secret_namespace, view.secret_name);
    let Some(write) = decision.secret.take() else {
        return Ok(Some(decision));
    };
    if write_secret(secrets, namespace, name, write).await? {
        return Ok(Some(decision));
    }

    let winner = get_secret(secrets, namespace, name).await?;
    let mut decision = decide_or_retry(view, winner.as_ref(), ParentInput::NotNamed, shared)?;
    match decision.secret.take() {
        None => Ok(Some(decision)),
        Some(SecretWrite::Label) => {
            write_secret(secrets, namespace, name, SecretWrite::Label).await?;
            Ok(Some(decision))
        }
        Some(_) => Ok(None),
    }
}

/// Runs [`decide::decide`], mapping an engine failure to a retryable error.
fn decide_or_retry(
    view: &CaView<'_>,
    secret: Option<&Secret>,
    parent: ParentInput,
    shared: &Context,
) -> Result<Decision> {
    decide::decide(view, secret, parent, shared.clock.as_ref()).map_err(|source| Error::Engine {
        action: format!("deciding the state of {} {}", view.kind.as_str(), view.name),
        source,
    })
}

/// Logs and counts a failed reconcile and returns its retry delay.
pub fn error_policy<K: CaObject>(ca: Arc<K>, error: &Error, ctx: Arc<CaContext>) -> Action {
    let key = object_key(ca.as_ref());
    let delay = ctx.backoff.next_delay(&key);
    warn!(
        kind = K::KIND.as_str(),
        namespace = ca.namespace().unwrap_or_default(),
        name = ca.name_any(),
        uid = ca.uid().unwrap_or_default(),
        error = %error,
        cause = error_chain(error),
        retry_in_secs = delay.as_secs(),
        "CA reconcile failed"
    );
    ctx.shared
        .metrics
        .reconcile_errors
        .with_label_values(&["ca", error.metric_label()])
        .inc();
    Action::requeue(delay)
}

/// Joins the sources of an error, outermost first, with `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    causes.join(": ")
}

async fn get_secret(api: &Api<Secret>, namespace: &str, name: &str) -> Result<Option<Secret>> {
    api.get_opt(name)
        .await
        .map_err(|source| Error::kube(format!("get Secret {namespace}/{name}"), source))
}

/// Applies a Secret write. Returns false when a Create found the Secret already there.
async fn write_secret(
    api: &Api<Secret>,
    namespace: &str,
    name: &str,
    write: SecretWrite,
) -> Result<bool> {
    let labels = json!({ CA_SECRET_LABEL: CA_SECRET_LABEL_VALUE });
    let patch = match write {
        SecretWrite::Create(secret) => {
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.to_string()),
                ..Default::default()
            };
            return match api.create(&params, secret.as_ref()).await {
                Ok(_) => {
                    info!(namespace, name, "created CA Secret");
                    Ok(true)
                }
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    debug!(namespace, name, "CA Secret already exists");
                    Ok(false)
                }
                Err(source) => Err(Error::kube(
                    format!("create Secret {namespace}/{name}"),
                    source,
                )),
            };
        }
        SecretWrite::Update(data) => {
            let data: BTreeMap<String, ByteString> = data
                .into_iter()
                .map(|(key, value)| (key, ByteString(value.into_bytes())))
                .collect();
            json!({ "metadata": { "labels": labels }, "data": data })
        }
        SecretWrite::Label => json!({ "metadata": { "labels": labels } }),
    };
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    api.patch(name, &params, &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::kube(format!("patch Secret {namespace}/{name}"), source))?;
    info!(namespace, name, "updated CA Secret");
    Ok(true)
}

/// Writes the whole status with server-side apply, so fields left out (the CSR,
/// the failure reason) are removed.
async fn patch_status<K: CaObject>(
    ca: &K,
    client: kube::Client,
    name: &str,
    decision: &Decision,
) -> Result<()> {
    let api = K::api(client, ca.namespace().as_deref());
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": decision.status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(name, &params, &Patch::Apply(&body))
        .await
        .map_err(|source| {
            Error::kube(
                format!("patch status of {} {name}", K::KIND.as_str()),
                source,
            )
        })?;
    Ok(())
}

/// Publishes the decided Events. A failed publish is logged and otherwise
/// ignored, because the status already records the state.
async fn publish_events<K: CaObject>(ca: &K, recorder: &Recorder, decision: &Decision) {
    let reference = ca.object_ref(&());
    for event in &decision.events {
        info!(reason = event.reason, note = %event.note, "CA event");
        let published = recorder
            .publish(
                &Event {
                    type_: event.type_,
                    reason: event.reason.to_string(),
                    note: Some(event.note.clone()),
                    action: "Reconcile".to_string(),
                    secondary: None,
                },
                &reference,
            )
            .await;
        if let Err(error) = published {
            warn!(
                kind = K::KIND.as_str(),
                namespace = ca.namespace().unwrap_or_default(),
                name = ca.name_any(),
                uid = ca.uid().unwrap_or_default(),
                reason = event.reason,
                error = %error,
                "publishing CA Event failed"
            );
        }
    }
}

/// Sets the readiness and notAfter gauges of the CA.
// NOTE: the gauges of a deleted CA stay until restart, because without a
// finalizer the controller is not notified of the deletion.
fn record_metrics<K: CaObject>(ca: &K, shared: &Context, decision: &Decision) {
    let namespace = ca.namespace().unwrap_or_default();
    let name = ca.name_any();
    let labels = [K::KIND.as_str(), namespace.as_str(), name.as_str()];
    shared
        .metrics
        .ca_ready
        .with_label_values(&labels)
        .set(i64::from(decision.is_ready()));
    if let Some(not_after) = decision.not_after {
        shared
            .metrics
            .ca_not_after
            .with_label_values(&labels)
            .set(not_after.unix_timestamp());
    }
}

/// Looks up the parent of a subordinate that has no certificate yet.
async fn load_parent<K: CaObject>(ca: &K, shared: &Context) -> Result<ParentInput> {
    let spec = ca.ca_spec();
    let created = ca
        .ca_status()
        .is_some_and(|status| status.serial_number.is_some());
    let Some(parent_ref) = spec.parent_ref.as_ref() else {
        return Ok(ParentInput::NotNamed);
    };
    if created || spec.type_ != CaType::Subordinate {
        return Ok(ParentInput::NotNamed);
    }
    match (parent_ref.kind, K::KIND) {
        (ParentKind::PrivateCA, CaKind::PrivateCA) => {
            let namespace = ca.namespace().unwrap_or_default();
            let api: Api<PrivateCA> = Api::namespaced(shared.client.clone(), &namespace);
            let parent = get_parent(&api, &parent_ref.name).await?;
            parent_input(parent.as_ref(), &namespace, shared).await
        }
        // Rejected by the spec check in `decide`.
        (ParentKind::PrivateCA, CaKind::ClusterPrivateCA) => Ok(ParentInput::NotNamed),
        (ParentKind::ClusterPrivateCA, _) => {
            let api: Api<ClusterPrivateCA> = Api::all(shared.client.clone());
            let parent = get_parent(&api, &parent_ref.name).await?;
            let namespace = shared.cluster_resource_namespace.clone();
            parent_input(parent.as_ref(), &namespace, shared).await
        }
    }
}

async fn get_parent<P: CaObject>(api: &Api<P>, name: &str) -> Result<Option<P>> {
    api.get_opt(name)
        .await
        .map_err(|source| Error::kube(format!("get parent {} {name}", P::KIND.as_str()), source))
}

/// Loads an Active parent's CA from its Secret.
async fn parent_input<P: CaObject>(
    parent: Option<&P>,
    secret_namespace: &str,
    shared: &Context,
) -> Result<ParentInput> {
    let Some(parent) = parent else {
        return Ok(ParentInput::NotFound);
    };
    let state = parent.ca_status().and_then(|status| status.state);
    if state != Some(CaState::Active) {
        let detail = match state {
            Some(state) => format!("it is {state:?}"),
            None => "it has no status yet".to_string(),
        };
        return Ok(ParentInput::NotReady { detail });
    }
    let secret_name = ca_secret_name(parent);
    let secrets: Api<Secret> = Api::namespaced(shared.client.clone(), secret_namespace);
    let Some(secret) = get_secret(&secrets, secret_namespace, &secret_name).await? else {
        return Ok(ParentInput::NotReady {
            detail: format!("its Secret {secret_namespace}/{secret_name} is missing"),
        });
    };
    match ca_secret::import_authority(&secret) {
        Ok(authority) => {
            let spec = parent.ca_spec();
            let signing_algorithm = spec
                .signing_algorithm
                .unwrap_or_else(|| authority.info().key_algorithm.default_signing_algorithm());
            Ok(ParentInput::Active {
                authority: Box::new(authority),
                signing_algorithm,
            })
        }
        Err(failure) => Ok(ParentInput::NotReady {
            detail: format!("its Secret cannot be loaded: {}", failure.message),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_cap() {
        let backoff = Backoff::default();
        let delays: Vec<u64> = (0..9).map(|_| backoff.next_delay("a").as_secs()).collect();
        assert_eq!(delays, vec![5, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn backoff_reset_starts_over() {
        let backoff = Backoff::default();
        backoff.next_delay("a");
        backoff.next_delay("a");
        backoff.reset("a");
        assert_eq!(backoff.next_delay("a"), BACKOFF_BASE);
        assert_eq!(backoff.next_delay("b"), BACKOFF_BASE);
    }
}
