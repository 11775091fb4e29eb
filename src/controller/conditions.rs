//! The `Ready` condition shared by the CA kinds and its transition rules.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use time::OffsetDateTime;

/// Type of the condition that is True only while a resource can be used.
pub const READY: &str = "Ready";

/// Converts an instant to the Kubernetes `Time` type, truncated to seconds. An
/// instant outside the range of `Time` becomes the Unix epoch.
pub fn to_time(instant: OffsetDateTime) -> Time {
    let seconds = instant.unix_timestamp();
    Time(Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// Builds the `Ready` condition. `lastTransitionTime` is carried over from
/// `previous` unless the condition's status changed, so a reconcile that finds
/// nothing new writes the same condition again.
pub fn ready_condition(
    previous: &[Condition],
    ready: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: OffsetDateTime,
) -> Condition {
    let status = if ready { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|condition| condition.type_ == READY && condition.status == status)
        .map(|condition| condition.last_transition_time.clone())
        .unwrap_or_else(|| to_time(now));
    Condition {
        type_: READY.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation: generation,
        last_transition_time,
    }
}

/// Returns the `Ready` condition of a condition list, if present.
pub fn find_ready(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|condition| condition.type_ == READY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn ready_keeps_transition_time_when_status_unchanged() {
        let first = ready_condition(&[], true, "CAActive", "ok", Some(1), at(100));
        let second = ready_condition(
            std::slice::from_ref(&first),
            true,
            "CAActive",
            "ok",
            Some(2),
            at(200),
        );
        assert_eq!(second.last_transition_time, first.last_transition_time);
        assert_eq!(second.observed_generation, Some(2));
    }

    #[test]
    fn ready_moves_transition_time_when_status_flips() {
        let first = ready_condition(&[], true, "CAActive", "ok", Some(1), at(100));
        let second = ready_condition(
            std::slice::from_ref(&first),
            false,
            "CADisabled",
            "off",
            Some(1),
            at(200),
        );
        assert_eq!(second.last_transition_time, to_time(at(200)));
        assert_eq!(second.status, "False");
    }
}
