//! Kubernetes Events about CertificateRequests.
//!
//! Events are best effort: a failure to publish one is logged and never fails
//! the reconcile. Event names are derived so they stay within the 253-character
//! limit of an object name even for the longest request names.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

use crate::api::CertificateRequest;
use crate::controller::Context;

/// Largest note the API accepts, in bytes.
const MAX_NOTE: usize = 1024;
/// Maximum length of an object name.
const MAX_NAME: usize = 253;

/// Severity of an Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something expected happened.
    Normal,
    /// Something needs attention.
    Warning,
}

/// Event reason when a certificate is issued.
pub const REASON_ISSUED: &str = "CertificateIssued";
/// Event reason when notAfter was shortened to fit the CA.
pub const REASON_CAPPED: &str = "CertificateLifetimeCapped";
/// Event reason when a request fails permanently.
pub const REASON_FAILED: &str = "CertificateRequestFailed";
/// Event reason when an approver denied the request.
pub const REASON_DENIED: &str = "CertificateRequestDenied";

/// Events published by this process, so two Events at the same instant get distinct names.
static PUBLISHED: AtomicU64 = AtomicU64::new(0);

/// Builds the name of an Event about `object_name`: the name, cut to fit, a dot,
/// the time in hex nanoseconds and a per-process sequence number in hex.
pub fn event_name(object_name: &str, now: OffsetDateTime) -> String {
    let sequence = PUBLISHED.fetch_add(1, Ordering::Relaxed);
    let suffix = format!(".{:x}{sequence:x}", now.unix_timestamp_nanos());
    let room = MAX_NAME.saturating_sub(suffix.len());
    let mut prefix = object_name;
    if prefix.len() > room {
        let mut end = room;
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        prefix = prefix[..end].trim_end_matches(['.', '-']);
    }
    format!("{prefix}{suffix}")
}

fn truncate_note(note: &str) -> String {
    if note.len() <= MAX_NOTE {
        return note.to_string();
    }
    let mut end = MAX_NOTE - 3;
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &note[..end])
}

/// Publishes an Event about `request`; logs and drops any API error.
pub async fn publish(
    ctx: &Context,
    request: &CertificateRequest,
    severity: Severity,
    reason: &str,
    note: &str,
) {
    let namespace = request.metadata.namespace.clone().unwrap_or_default();
    let name = request.metadata.name.clone().unwrap_or_default();
    let now = ctx.clock.now();
    let micro = k8s_openapi::jiff::Timestamp::from_microsecond(
        i64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or_default(),
    )
    .unwrap_or_default();
    let event = Event {
        metadata: ObjectMeta {
            name: Some(event_name(&name, now)),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        action: Some("Sign".to_string()),
        reason: Some(reason.to_string()),
        note: Some(truncate_note(note)),
        event_time: Some(MicroTime(micro)),
        regarding: Some(ObjectReference {
            api_version: Some("cert-manager.io/v1".to_string()),
            kind: Some("CertificateRequest".to_string()),
            name: Some(name.clone()),
            namespace: Some(namespace.clone()),
            uid: request.metadata.uid.clone(),
            resource_version: request.metadata.resource_version.clone(),
            ..ObjectReference::default()
        }),
        reporting_controller: Some(ctx.reporter.controller.clone()),
        reporting_instance: Some(
            ctx.reporter
                .instance
                .clone()
                .unwrap_or_else(|| ctx.reporter.controller.clone()),
        ),
        type_: Some(match severity {
            Severity::Normal => "Normal".to_string(),
            Severity::Warning => "Warning".to_string(),
        }),
        ..Event::default()
    };
    let events: Api<Event> = Api::namespaced(ctx.client.clone(), &namespace);
    if let Err(error) = events.create(&PostParams::default(), &event).await {
        tracing::warn!(
            namespace,
            name,
            uid = request.metadata.uid.as_deref().unwrap_or_default(),
            reason,
            %error,
            "Failed to publish Event"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_name_fits_longest_request_name() {
        let name = "a".repeat(253);
        let event = event_name(
            &name,
            OffsetDateTime::UNIX_EPOCH + time::Duration::days(20000),
        );
        assert!(event.len() <= MAX_NAME, "{}", event.len());
    }

    #[test]
    fn event_name_keeps_short_name() {
        let event = event_name(
            "web",
            OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1),
        );
        assert!(event.starts_with("web.3b9aca00"), "{event}");
    }

    #[test]
    fn event_names_differ_at_same_instant() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1);
        assert_ne!(event_name("web", now), event_name("web", now));
    }
}
