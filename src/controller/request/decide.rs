//! Pure decisions about a CertificateRequest: whether it is ours, whether it may
//! be signed, with what template and validity, and what its status becomes.
//!
//! Nothing here calls the API or reads the clock; the caller passes `now`, so every
//! branch is testable with a fixed instant.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use time::{Duration, OffsetDateTime};

use crate::api::{
    CaSpec, CaState, CaStatus, CertificateRequest, CertificateRequestCondition, GROUP, UsageMode,
};
use crate::pki::{CaInfo, SigningAlgorithm};

use super::error::{Error, REASON_DENIED, REASON_FAILED, REASON_PENDING, Result};
use super::template::{self, Selection};

/// Lifetime of a certificate whose request sets no `spec.duration`: 90 days.
pub const DEFAULT_DURATION: Duration = Duration::hours(2160);
/// notBefore backdate of a CA that sets no `spec.notBeforeBackdate`.
pub const DEFAULT_BACKDATE: Duration = Duration::minutes(1);
/// Largest notBefore backdate a CA may set.
pub const MAX_BACKDATE: Duration = Duration::hours(1);

/// Condition type set by cert-manager's approver.
pub const CONDITION_APPROVED: &str = "Approved";
/// Condition type set by cert-manager's approver on denial.
pub const CONDITION_DENIED: &str = "Denied";
/// Condition type this controller owns.
pub const CONDITION_READY: &str = "Ready";
/// Condition type cert-manager sets on a request it will never pass to an issuer.
pub const CONDITION_INVALID_REQUEST: &str = "InvalidRequest";

/// The two CA kinds a request can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuerKind {
    /// A `PrivateCA` in the request's namespace.
    PrivateCa,
    /// A `ClusterPrivateCA`.
    ClusterPrivateCa,
}

impl IssuerKind {
    /// Returns the Kubernetes kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerKind::PrivateCa => "PrivateCA",
            IssuerKind::ClusterPrivateCa => "ClusterPrivateCA",
        }
    }
}

/// The CA a request names, resolved from its issuerRef.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssuerTarget {
    /// PrivateCA or ClusterPrivateCA.
    pub kind: IssuerKind,
    /// The request's namespace for a PrivateCA; None for a ClusterPrivateCA.
    pub namespace: Option<String>,
    /// Name of the CA.
    pub name: String,
}

impl std::fmt::Display for IssuerTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {namespace}/{}", self.kind.as_str(), self.name),
            None => write!(f, "{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// Resolves the issuerRef of `request`. Returns None when the request belongs to
/// another issuer: a group other than `privateca.issuer.dev` (an empty group
/// means cert-manager.io) or a kind other than PrivateCA or ClusterPrivateCA.
/// An empty kind means PrivateCA.
pub fn issuer_target(request: &CertificateRequest) -> Option<IssuerTarget> {
    let issuer = &request.spec.issuer_ref;
    if issuer.group.as_deref() != Some(GROUP) {
        return None;
    }
    let kind = match issuer.kind.as_deref() {
        None | Some("") | Some("PrivateCA") => IssuerKind::PrivateCa,
        Some("ClusterPrivateCA") => IssuerKind::ClusterPrivateCa,
        Some(_) => return None,
    };
    let namespace = match kind {
        IssuerKind::PrivateCa => Some(request.metadata.namespace.clone().unwrap_or_default()),
        IssuerKind::ClusterPrivateCa => None,
    };
    Some(IssuerTarget {
        kind,
        namespace,
        name: issuer.name.clone(),
    })
}

/// Whether a request of ours needs work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Nothing to do; the reason is logged at debug.
    Skip(&'static str),
    /// Not approved yet; the approval's status update triggers the next reconcile.
    AwaitApproval,
    /// Denied by an approver: mark Ready=False reason Denied.
    Deny,
    /// Approved and not yet finished: sign it.
    Proceed,
}

/// Finds the condition of `type_` on a request.
pub fn condition<'a>(
    request: &'a CertificateRequest,
    type_: &str,
) -> Option<&'a CertificateRequestCondition> {
    request
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|condition| condition.type_ == type_)
}

fn condition_is(request: &CertificateRequest, type_: &str, status: &str) -> bool {
    condition(request, type_).is_some_and(|condition| condition.status == status)
}

/// Decides whether a request of ours needs work, from its status alone.
pub fn gate(request: &CertificateRequest) -> Gate {
    let status = request.status.as_ref();
    if status.is_some_and(|status| status.certificate.is_some()) {
        return Gate::Skip("status.certificate is already set");
    }
    if let Some(ready) = condition(request, CONDITION_READY) {
        if ready.status == "True" {
            return Gate::Skip("Ready is already True");
        }
        match ready.reason.as_deref() {
            Some(REASON_FAILED) => return Gate::Skip("Ready is False with reason Failed"),
            Some(REASON_DENIED) => return Gate::Skip("Ready is False with reason Denied"),
            _ => {}
        }
    }
    if condition_is(request, CONDITION_INVALID_REQUEST, "True") {
        return Gate::Skip("InvalidRequest is True");
    }
    if condition_is(request, CONDITION_DENIED, "True") {
        return Gate::Deny;
    }
    if condition_is(request, CONDITION_APPROVED, "True") {
        return Gate::Proceed;
    }
    Gate::AwaitApproval
}

/// Fields of a PrivateCA or ClusterPrivateCA that the request controller reads.
#[derive(Debug, Clone, Copy)]
pub struct CaView<'a> {
    /// PrivateCA or ClusterPrivateCA.
    pub kind: IssuerKind,
    /// Namespace of a PrivateCA; None for a ClusterPrivateCA.
    pub namespace: Option<&'a str>,
    /// Name of the CA.
    pub name: &'a str,
    /// UID of the CA object.
    pub uid: Option<&'a str>,
    /// The shared CA spec.
    pub spec: &'a CaSpec,
    /// The status the CA controller wrote.
    pub status: Option<&'a CaStatus>,
    /// metadata.generation of the CA.
    pub generation: Option<i64>,
}

impl CaView<'_> {
    /// `PrivateCA ns/name` or `ClusterPrivateCA name`, for messages.
    pub fn display(&self) -> String {
        match self.namespace {
            Some(namespace) => format!("{} {namespace}/{}", self.kind.as_str(), self.name),
            None => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// Returns the Pending error for a CA that does not exist.
pub fn issuer_not_found(target: &IssuerTarget) -> Error {
    match target.kind {
        IssuerKind::PrivateCa => Error::Pending(format!(
            "{target} not found in the request's namespace; create it or fix issuerRef"
        )),
        IssuerKind::ClusterPrivateCa => {
            Error::Pending(format!("{target} not found; create it or fix issuerRef"))
        }
    }
}

/// Checks that the CA issues: Active, and its status computed from its current spec.
pub fn ca_ready(ca: &CaView<'_>) -> Result<()> {
    let state = ca.status.and_then(|status| status.state);
    if state != Some(CaState::Active) {
        let state = state.map_or_else(|| "not reported yet".to_string(), |s| format!("{s:?}"));
        let reason = ca
            .status
            .and_then(|status| status.failure_reason.as_deref())
            .map(|reason| format!(" ({reason})"))
            .unwrap_or_default();
        return Err(Error::Pending(format!(
            "{} is not Active: state {state}{reason}; the request is signed once the CA is Active",
            ca.display()
        )));
    }
    let observed = ca.status.and_then(|status| status.observed_generation);
    if observed != ca.generation {
        return Err(Error::Pending(format!(
            "{} status is for generation {} but its spec is at generation {}; \
             waiting for the CA controller to catch up",
            ca.display(),
            observed.map_or_else(|| "none".to_string(), |g| g.to_string()),
            ca.generation
                .map_or_else(|| "none".to_string(), |g| g.to_string()),
        )));
    }
    Ok(())
}

/// Parses a Go duration such as `2160h`, `1h30m`, `1.5h` or cert-manager's
/// `2160h0m0s` with kube's Go-compatible parser. Fails for a zero, negative or
/// malformed value.
pub fn parse_go_duration(input: &str) -> std::result::Result<Duration, String> {
    let parsed: kube::core::Duration = input.parse().map_err(|error| format!("{error}"))?;
    if parsed.is_negative() {
        return Err("it is negative".to_string());
    }
    let unsigned = std::time::Duration::from(parsed);
    if unsigned.is_zero() {
        return Err("it is zero".to_string());
    }
    Duration::try_from(unsigned).map_err(|_| "it is too large".to_string())
}

/// Returns the requested lifetime, `spec.duration` or 2160h. A malformed value is a permanent error.
pub fn requested_duration(request: &CertificateRequest) -> Result<Duration> {
    match request.spec.duration.as_deref() {
        None | Some("") => Ok(DEFAULT_DURATION),
        Some(value) => parse_go_duration(value).map_err(|reason| {
            Error::Permanent(format!(
                "spec.duration {value:?} is not a valid duration: {reason}; \
                 use a Go duration such as 2160h or 1h30m"
            ))
        }),
    }
}

/// Returns the CA's notBefore backdate, `spec.notBeforeBackdate`: 1m by default, at most 1h.
pub fn backdate(ca: &CaView<'_>) -> Result<Duration> {
    let Some(value) = ca.spec.not_before_backdate.as_deref() else {
        return Ok(DEFAULT_BACKDATE);
    };
    let parsed = parse_go_duration(value).map_err(|reason| {
        Error::Pending(format!(
            "{} spec.notBeforeBackdate {value:?} is invalid: {reason}; use a Go duration of at most 1h",
            ca.display()
        ))
    })?;
    if parsed > MAX_BACKDATE {
        return Err(Error::Pending(format!(
            "{} spec.notBeforeBackdate {value:?} is longer than the maximum 1h; lower it",
            ca.display()
        )));
    }
    Ok(parsed)
}

/// Everything needed to sign a request, decided before any key is touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuePlan {
    /// The template and what chose it.
    pub selection: Selection,
    /// notBefore: now minus the CA's backdate but not before the CA's notBefore, whole seconds.
    pub not_before: OffsetDateTime,
    /// notAfter: notBefore plus the requested duration, before any cap.
    pub not_after: OffsetDateTime,
    /// The signing algorithm: the CA's, or its key's default.
    pub signing_algorithm: SigningAlgorithm,
    /// True for a CA in ShortLivedCertificate mode (at most 7 days).
    pub short_lived: bool,
}

/// Plans the signing of `request` by `ca`, whose certificate facts are `info`, at `now`.
pub fn plan_issue(
    request: &CertificateRequest,
    ca: &CaView<'_>,
    info: &CaInfo,
    now: OffsetDateTime,
) -> Result<IssuePlan> {
    let selection = template::select(request, &ca.display(), ca.spec, info.path_len)?;
    let duration = requested_duration(request)?;
    let backdate = backdate(ca)?;
    let now = now.replace_nanosecond(0).unwrap_or(now);
    // A certificate may not start before its CA, so a young CA moves notBefore
    // forward, and notAfter moves with it to keep the requested lifetime exact.
    let not_before = (now - backdate).max(info.not_before);
    let not_after = not_before
        .checked_add(duration)
        .ok_or_else(|| Error::Permanent(format!("spec.duration {duration} is too large")))?;
    let signing_algorithm = ca
        .spec
        .signing_algorithm
        .unwrap_or_else(|| info.key_algorithm.default_signing_algorithm());
    signing_algorithm
        .check_key(info.key_algorithm)
        .map_err(|error| Error::Pending(format!("{}: {error}", ca.display())))?;
    Ok(IssuePlan {
        selection,
        not_before,
        not_after,
        signing_algorithm,
        short_lived: ca.spec.usage_mode == UsageMode::ShortLivedCertificate,
    })
}

/// Converts an instant to a Kubernetes Time, whole seconds.
pub fn kube_time(instant: OffsetDateTime) -> Time {
    let seconds = instant.unix_timestamp();
    Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap_or_default())
}

/// Builds the condition list with a new Ready condition. lastTransitionTime moves
/// only when the Ready status changes; every other condition is kept as it is.
pub fn ready_update(
    request: &CertificateRequest,
    status: &str,
    reason: &str,
    message: &str,
    now: OffsetDateTime,
) -> Vec<CertificateRequestCondition> {
    let existing = condition(request, CONDITION_READY);
    let last_transition_time = match existing {
        Some(ready) if ready.status == status && ready.last_transition_time.is_some() => {
            ready.last_transition_time.clone()
        }
        _ => Some(kube_time(now)),
    };
    let ready = CertificateRequestCondition {
        type_: CONDITION_READY.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_transition_time,
        observed_generation: request.metadata.generation,
    };
    let mut conditions: Vec<CertificateRequestCondition> = request
        .status
        .iter()
        .flat_map(|status| status.conditions.iter())
        .filter(|condition| condition.type_ != CONDITION_READY)
        .cloned()
        .collect();
    conditions.push(ready);
    conditions
}

/// True when writing Ready=False reason Pending with `message` changes the request.
pub fn pending_changes(request: &CertificateRequest, message: &str) -> bool {
    let Some(ready) = condition(request, CONDITION_READY) else {
        return true;
    };
    ready.status != "False"
        || ready.reason.as_deref() != Some(REASON_PENDING)
        || ready.message.as_deref() != Some(message)
        || ready.observed_generation != request.metadata.generation
}

/// Builds the message of the Denied condition, quoting the approver's message when given.
pub fn denied_message(request: &CertificateRequest) -> String {
    let approver = condition(request, CONDITION_DENIED).and_then(|c| c.message.as_deref());
    match approver {
        Some(message) if !message.is_empty() => {
            format!("The CertificateRequest was denied by an approver: {message}")
        }
        _ => "The CertificateRequest was denied by an approver".to_string(),
    }
}
