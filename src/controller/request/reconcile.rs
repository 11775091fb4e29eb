//! Applies the decisions to one CertificateRequest: reads the CA, signs once per
//! request UID, and writes the status.
//!
//! Write order for a new certificate: GET the issuance record, sign, CREATE the
//! record, then merge-patch the request's status. See [`super::record`] for why
//! this order gives each request UID at most one certificate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use tracing::{Instrument, debug, info, warn};

use crate::api::{CertificateRequest, CertificateRequestStatus, ClusterPrivateCA, PrivateCA};
use crate::controller::Context;

use super::ca::{AuthorityCache, load_authority, lookup_ca};
use super::decide::{self, CaView, Gate, IssuerTarget};
use super::error::{
    self, Error, REASON_DENIED, REASON_FAILED, REASON_ISSUED, REASON_PENDING, Resolution, Result,
};
use super::events::{self, Severity};
use super::issuance::{create_record, read_record};
use super::record::{self, IssuanceRecord};

/// Field manager of every write this controller makes.
pub const FIELD_MANAGER: &str = "privateca-issuer";
/// Label value of this controller in the reconcile-error metric.
const CONTROLLER_LABEL: &str = "certificaterequest";

/// State shared by every reconcile of the request controller.
pub struct State {
    /// The shared controller context: client, clock, metrics, reporter.
    pub ctx: Arc<Context>,
    /// Cache of PrivateCAs, fed by a watcher.
    pub private_cas: Store<PrivateCA>,
    /// Cache of ClusterPrivateCAs, fed by a watcher.
    pub cluster_cas: Store<ClusterPrivateCA>,
    /// Loaded CAs by Secret UID, reused while the Secret's resourceVersion is unchanged.
    pub(super) authorities: AuthorityCache,
    /// Consecutive retries per request UID, for exponential backoff.
    attempts: Mutex<HashMap<String, u32>>,
}

impl State {
    /// Creates the state around the two CA caches.
    pub fn new(
        ctx: Arc<Context>,
        private_cas: Store<PrivateCA>,
        cluster_cas: Store<ClusterPrivateCA>,
    ) -> Self {
        State {
            ctx,
            private_cas,
            cluster_cas,
            authorities: AuthorityCache::default(),
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the next retry delay for `uid` and counts the attempt.
    pub fn next_backoff(&self, uid: &str) -> Duration {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        let attempt = attempts.entry(uid.to_string()).or_insert(0);
        let delay = error::backoff(*attempt);
        *attempt = attempt.saturating_add(1);
        delay
    }

    /// Forgets the retry count of `uid` once its request is finished.
    pub fn reset_backoff(&self, uid: &str) {
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uid);
    }
}

/// Identity of the request being reconciled, for logs.
struct Ids {
    namespace: String,
    name: String,
    uid: String,
}

impl Ids {
    fn of(request: &CertificateRequest) -> Self {
        Ids {
            namespace: request.metadata.namespace.clone().unwrap_or_default(),
            name: request.metadata.name.clone().unwrap_or_default(),
            uid: request.metadata.uid.clone().unwrap_or_default(),
        }
    }
}

/// Reconciles one CertificateRequest. Returns an error only when writing the
/// outcome failed; [`error_policy`] then retries with backoff.
pub async fn reconcile(request: Arc<CertificateRequest>, state: Arc<State>) -> Result<Action> {
    let ids = Ids::of(&request);
    let span = tracing::info_span!(
        "certificaterequest",
        namespace = %ids.namespace,
        name = %ids.name,
        uid = %ids.uid
    );
    reconcile_inner(&request, &state, &ids)
        .instrument(span)
        .await
}

async fn reconcile_inner(request: &CertificateRequest, state: &State, ids: &Ids) -> Result<Action> {
    let Some(target) = decide::issuer_target(request) else {
        debug!(
            issuer = ?request.spec.issuer_ref,
            "Ignoring request: issuerRef names another issuer"
        );
        return Ok(Action::await_change());
    };
    match decide::gate(request) {
        Gate::Skip(reason) => {
            debug!(reason, "Ignoring request");
            return Ok(Action::await_change());
        }
        Gate::AwaitApproval => {
            debug!("Waiting for the request to be approved");
            return Ok(Action::await_change());
        }
        Gate::Deny => return deny(request, state, ids).await,
        Gate::Proceed => {}
    }
    match issue(request, &target, state, ids).await {
        Ok(()) => {
            state.reset_backoff(&ids.uid);
            Ok(Action::await_change())
        }
        Err(error) => resolve(request, error, state, ids).await,
    }
}

/// Decides what to do after a failed reconcile that did not write a status.
pub fn error_policy(request: Arc<CertificateRequest>, error: &Error, state: Arc<State>) -> Action {
    let ids = Ids::of(&request);
    let delay = state.next_backoff(&ids.uid);
    warn!(
        namespace = %ids.namespace,
        name = %ids.name,
        uid = %ids.uid,
        %error,
        retry_in_seconds = delay.as_secs(),
        "Failed to record the outcome of a CertificateRequest; retrying"
    );
    state
        .ctx
        .metrics
        .reconcile_errors
        .with_label_values(&[CONTROLLER_LABEL, error.metric_label()])
        .inc();
    Action::requeue(delay)
}

/// Applies an error's resolution: a Pending condition and a retry, or a Failed
/// condition and no retry. This is the only place errors turn into status.
async fn resolve(
    request: &CertificateRequest,
    error: Error,
    state: &State,
    ids: &Ids,
) -> Result<Action> {
    let metrics = &state.ctx.metrics;
    metrics
        .reconcile_errors
        .with_label_values(&[CONTROLLER_LABEL, error.metric_label()])
        .inc();
    let now = state.ctx.clock.now();
    match error.resolution() {
        Resolution::Retry { message } => {
            let delay = state.next_backoff(&ids.uid);
            if !decide::pending_changes(request, &message) {
                debug!(%error, retry_in_seconds = delay.as_secs(), "Still pending");
                return Ok(Action::requeue(delay));
            }
            warn!(%error, retry_in_seconds = delay.as_secs(), "CertificateRequest is pending");
            let conditions = decide::ready_update(request, "False", REASON_PENDING, &message, now);
            let status = CertificateRequestStatus {
                conditions,
                ..CertificateRequestStatus::default()
            };
            if write_status(request, &status, state).await? {
                metrics
                    .request_outcomes
                    .with_label_values(&["pending"])
                    .inc();
            } else {
                // The request is gone, so nothing will retry it.
                state.reset_backoff(&ids.uid);
            }
            Ok(Action::requeue(delay))
        }
        Resolution::Fail { message } => {
            warn!(%error, "CertificateRequest failed permanently");
            let conditions = decide::ready_update(request, "False", REASON_FAILED, &message, now);
            let status = CertificateRequestStatus {
                conditions,
                failure_time: Some(decide::kube_time(now)),
                ..CertificateRequestStatus::default()
            };
            if write_status(request, &status, state).await? {
                metrics
                    .request_outcomes
                    .with_label_values(&["failed"])
                    .inc();
                events::publish(
                    &state.ctx,
                    request,
                    Severity::Warning,
                    events::REASON_FAILED,
                    &message,
                )
                .await;
            }
            state.reset_backoff(&ids.uid);
            Ok(Action::await_change())
        }
    }
}

async fn deny(request: &CertificateRequest, state: &State, ids: &Ids) -> Result<Action> {
    let now = state.ctx.clock.now();
    let message = decide::denied_message(request);
    let conditions = decide::ready_update(request, "False", REASON_DENIED, &message, now);
    let status = CertificateRequestStatus {
        conditions,
        failure_time: Some(decide::kube_time(now)),
        ..CertificateRequestStatus::default()
    };
    if write_status(request, &status, state).await? {
        info!("CertificateRequest denied; not signing it");
        state
            .ctx
            .metrics
            .request_outcomes
            .with_label_values(&["denied"])
            .inc();
        events::publish(
            &state.ctx,
            request,
            Severity::Warning,
            events::REASON_DENIED,
            &message,
        )
        .await;
    }
    state.reset_backoff(&ids.uid);
    Ok(Action::await_change())
}

/// Merge-patches the request's status with `status`, guarded by the cached
/// resourceVersion so a concurrent change returns a conflict instead of being
/// overwritten. Returns false when the request no longer exists.
async fn write_status(
    request: &CertificateRequest,
    status: &CertificateRequestStatus,
    state: &State,
) -> Result<bool> {
    let namespace = request.metadata.namespace.as_deref().unwrap_or_default();
    let name = request.metadata.name.as_deref().unwrap_or_default();
    let api: Api<CertificateRequest> = Api::namespaced(state.ctx.client.clone(), namespace);
    let patch = serde_json::json!({
        "metadata": { "resourceVersion": request.metadata.resource_version },
        "status": status,
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    match api.patch_status(name, &params, &Patch::Merge(&patch)).await {
        Ok(_) => Ok(true),
        Err(error) if error::is_status(&error, 404) => {
            debug!("CertificateRequest was deleted; nothing to update");
            Ok(false)
        }
        Err(error) => Err(Error::api(
            format!("update status of CertificateRequest {namespace}/{name}"),
            error,
        )),
    }
}

/// Finds or makes the certificate of `request` and writes it to the status.
async fn issue(
    request: &CertificateRequest,
    target: &IssuerTarget,
    state: &State,
    ids: &Ids,
) -> Result<()> {
    let ca_object = lookup_ca(target, state).await?;
    let ca = ca_object.view();
    decide::ca_ready(&ca)?;
    let authority = load_authority(&ca, state).await?;
    let now = state.ctx.clock.now();
    let plan = decide::plan_issue(request, &ca, authority.info(), now)?;
    debug!(
        template = plan.selection.template.name(),
        chosen_by = %plan.selection.source,
        not_after = %record::rfc3339(plan.not_after),
        "Planned issuance"
    );

    let csr_sha256 = record::sha256_hex(&request.spec.request.0);
    let secrets: Api<Secret> = Api::namespaced(state.ctx.client.clone(), &ids.namespace);
    let record_name = record::record_name(&ids.uid);
    let (record, signed_here) =
        match read_record(&secrets, &record_name, request, &csr_sha256).await? {
            Some(existing) => {
                debug!(serial = %existing.serial, "Reusing the certificate in the issuance record");
                (existing, false)
            }
            None => {
                create_record(
                    request,
                    &ca,
                    &authority,
                    &plan,
                    state,
                    &secrets,
                    &record_name,
                    &csr_sha256,
                )
                .await?
            }
        };

    let status = CertificateRequestStatus {
        conditions: decide::ready_update(
            request,
            "True",
            REASON_ISSUED,
            &issued_message(&record),
            now,
        ),
        certificate: Some(ByteString(record.chain_pem.clone().into_bytes())),
        ca: Some(ByteString(record.root_pem.clone().into_bytes())),
        failure_time: None,
    };
    if !write_status(request, &status, state).await? {
        return Ok(());
    }
    report_issued(request, &ca, &record, signed_here, state).await;
    Ok(())
}

fn issued_message(record: &IssuanceRecord) -> String {
    format!(
        "Certificate issued by {} with template {}, serial {}, valid until {}",
        record.ca, record.template, record.serial, record.not_after
    )
}

/// Logs, counts and announces a certificate written to a request's status.
async fn report_issued(
    request: &CertificateRequest,
    ca: &CaView<'_>,
    record: &IssuanceRecord,
    signed_here: bool,
    state: &State,
) {
    let metrics = &state.ctx.metrics;
    info!(
        serial = %record.serial,
        template = %record.template,
        ca = %record.ca,
        not_after = %record.not_after,
        reused_record = !signed_here,
        "Certificate issued"
    );
    if signed_here {
        metrics
            .certificates_issued
            .with_label_values(&[
                ca.kind.as_str(),
                ca.namespace.unwrap_or_default(),
                ca.name,
                record.template.as_str(),
            ])
            .inc();
    }
    metrics
        .request_outcomes
        .with_label_values(&["issued"])
        .inc();
    let note = format!(
        "Issued serial {} with template {} from {}, valid until {}",
        record.serial, record.template, record.ca, record.not_after
    );
    events::publish(
        &state.ctx,
        request,
        Severity::Normal,
        events::REASON_ISSUED,
        &note,
    )
    .await;
    if let Some(requested) = &record.requested_not_after {
        let limit = record
            .cap_reason
            .clone()
            .unwrap_or_else(|| format!("the limits of {}", ca.display()));
        let note = format!(
            "notAfter capped from the requested {requested} to {} by {limit}",
            record.not_after
        );
        warn!(requested_not_after = %requested, not_after = %record.not_after, "Certificate lifetime capped");
        events::publish(
            &state.ctx,
            request,
            Severity::Warning,
            events::REASON_CAPPED,
            &note,
        )
        .await;
    }
}
