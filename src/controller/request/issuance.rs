//! Signing a request and storing the result in its issuance record.

use std::time::Instant;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use tracing::debug;

use crate::api::CertificateRequest;
use crate::metrics::Metrics;
use crate::pki::{CertificateAuthority, Clock, ExpiryPolicy, IssueRequest, IssuedCertificate};

use super::decide::{CaView, IssuePlan};
use super::error::{self, Error, Result};
use super::reconcile::{FIELD_MANAGER, State};
use super::record::{self, IssuanceRecord};

/// `PrivateCA/<namespace>/<name>` or `ClusterPrivateCA/<name>`, as stored in a record.
fn ca_record_id(ca: &CaView<'_>) -> String {
    match ca.namespace {
        Some(namespace) => format!("{}/{namespace}/{}", ca.kind.as_str(), ca.name),
        None => format!("{}/{}", ca.kind.as_str(), ca.name),
    }
}

/// Signs `request` under `plan` and returns the certificate and the record to store.
pub fn sign(
    request: &CertificateRequest,
    ca: &CaView<'_>,
    authority: &CertificateAuthority,
    plan: &IssuePlan,
    clock: &dyn Clock,
    metrics: &Metrics,
) -> Result<(IssuedCertificate, IssuanceRecord)> {
    let issue_request = IssueRequest {
        csr: &request.spec.request.0,
        template: plan.selection.template,
        signing_algorithm: plan.signing_algorithm,
        not_before: plan.not_before,
        not_after: plan.not_after,
        expiry_policy: ExpiryPolicy::Cap,
    };
    let started = Instant::now();
    let issued = authority
        .issue(&issue_request, plan.short_lived, clock)
        .map_err(Error::from_engine)?;
    metrics
        .signing_duration
        .with_label_values(&[ca.kind.as_str()])
        .observe(started.elapsed().as_secs_f64());
    let record = IssuanceRecord {
        chain_pem: issued.leaf_and_intermediates_pem(),
        root_pem: issued.root_pem(),
        serial: issued.serial.to_hex(),
        template: issued.template.name().to_string(),
        ca: ca_record_id(ca),
        csr_sha256: record::sha256_hex(&request.spec.request.0),
        not_after: record::rfc3339(issued.not_after),
        requested_not_after: issued
            .capped
            .as_ref()
            .map(|cap| record::rfc3339(cap.requested)),
        cap_reason: issued.capped.as_ref().map(|cap| cap.reason.clone()),
    };
    Ok((issued, record))
}

/// Reads the record of this request by name. Returns None when there is none,
/// and fails permanently when the Secret there is not this request's record for
/// this CSR, so a certificate is never handed to the wrong request.
pub(super) async fn read_record(
    secrets: &Api<Secret>,
    name: &str,
    request: &CertificateRequest,
    csr_sha256: &str,
) -> Result<Option<IssuanceRecord>> {
    let namespace = request.metadata.namespace.as_deref().unwrap_or_default();
    let uid = request.metadata.uid.as_deref().unwrap_or_default();
    let Some(secret) = secrets
        .get_opt(name)
        .await
        .map_err(|error| Error::api(format!("get issuance record {namespace}/{name}"), error))?
    else {
        return Ok(None);
    };
    if !record::belongs_to(&secret, uid) {
        return Err(Error::Permanent(format!(
            "Secret {namespace}/{name} exists but is not the issuance record of this request \
             (label {} does not match uid {uid}); delete or rename that Secret",
            record::LABEL_REQUEST_UID
        )));
    }
    let existing = IssuanceRecord::from_secret(&secret).map_err(|reason| {
        Error::Permanent(format!(
            "issuance record {namespace}/{name} is incomplete: {reason}; delete it so the request can be signed"
        ))
    })?;
    if existing.csr_sha256 != csr_sha256 {
        return Err(Error::Permanent(format!(
            "issuance record {namespace}/{name} was made for a CSR with SHA-256 {}, but this request's \
             CSR has SHA-256 {csr_sha256}; its certificate is not returned. Recreate the \
             CertificateRequest to get a new certificate",
            existing.csr_sha256
        )));
    }
    Ok(Some(existing))
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn create_record(
    request: &CertificateRequest,
    ca: &CaView<'_>,
    authority: &CertificateAuthority,
    plan: &IssuePlan,
    state: &State,
    secrets: &Api<Secret>,
    record_name: &str,
    csr_sha256: &str,
) -> Result<(IssuanceRecord, bool)> {
    let namespace = request.metadata.namespace.as_deref().unwrap_or_default();
    let ctx = &state.ctx;
    let (_, record) = sign(
        request,
        ca,
        authority,
        plan,
        ctx.clock.as_ref(),
        &ctx.metrics,
    )?;
    let secret = record
        .to_secret(request)
        .ok_or_else(|| Error::Permanent("the CertificateRequest has no name or uid".to_string()))?;
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PostParams::default()
    };
    match secrets.create(&params, &secret).await {
        Ok(_) => Ok((record, true)),
        Err(error) if error::is_status(&error, 409) => {
            debug!("Another worker created the issuance record first; using theirs");
            read_record(secrets, record_name, request, csr_sha256)
                .await?
                .map(|theirs| (theirs, false))
                .ok_or_else(|| {
                    Error::Pending(format!(
                        "issuance record {namespace}/{record_name} was created and deleted concurrently; retrying"
                    ))
                })
        }
        Err(error) => Err(Error::api(
            format!("create issuance record {namespace}/{record_name}"),
            error,
        )),
    }
}
