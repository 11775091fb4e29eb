//! Errors of the request controller, classified by how they are retried.
//!
//! Every failure ends up in one of three classes, and [`Error::resolution`] is the
//! only place that turns a class into a Ready condition and a retry decision.

use std::time::Duration;

use crate::pki;

/// Result alias for the request controller.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reason on the Ready condition while the request waits.
pub const REASON_PENDING: &str = "Pending";
/// Reason on the Ready condition once the request can never be signed.
pub const REASON_FAILED: &str = "Failed";
/// Reason on the Ready condition once the request is signed.
pub const REASON_ISSUED: &str = "Issued";
/// Reason on the Ready condition once an approver denied the request.
pub const REASON_DENIED: &str = "Denied";

/// First retry delay after a pending or transient error.
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// Largest retry delay after repeated pending or transient errors.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// A failure while handling one CertificateRequest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request waits on something outside it, such as a missing issuer or a
    /// CA that is not Active. It is retried with backoff and whenever the CA changes.
    #[error("{0}")]
    Pending(String),
    /// The request can never be signed as written; it is marked Failed and not retried.
    #[error("{0}")]
    Permanent(String),
    /// An API call failed; retried with backoff.
    #[error("{action} failed: {source}")]
    Transient {
        /// The failed operation, such as `create issuance record ns/name`.
        action: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Outcome of an error for the request: retry or fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Write Ready=False reason Pending with this message if it changed, then retry.
    Retry {
        /// Message of the Pending condition.
        message: String,
    },
    /// Write Ready=False reason Failed with this message and failureTime; never retry.
    Fail {
        /// Message of the Failed condition.
        message: String,
    },
}

impl Error {
    /// Wraps an API error with the action that failed.
    pub fn api(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Transient {
            action: action.into(),
            source,
        }
    }

    /// Classifies an engine error: problems with the request itself are permanent,
    /// CA state and internal failures are retried.
    pub fn from_engine(error: pki::Error) -> Self {
        match error.kind() {
            pki::ErrorKind::MalformedCsr
            | pki::ErrorKind::InvalidArgs
            | pki::ErrorKind::Validation => Error::Permanent(error.to_string()),
            _ => Error::Pending(error.to_string()),
        }
    }

    /// Maps this error to a Ready condition and a retry decision.
    pub fn resolution(&self) -> Resolution {
        match self {
            Error::Permanent(message) => Resolution::Fail {
                message: message.clone(),
            },
            Error::Pending(message) => Resolution::Retry {
                message: message.clone(),
            },
            Error::Transient { .. } => Resolution::Retry {
                message: format!("{self}; retrying"),
            },
        }
    }

    /// Short label of the error class for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Pending(_) => "pending",
            Error::Permanent(_) => "permanent",
            Error::Transient { .. } => "transient",
        }
    }
}

/// Returns the retry delay after `attempt` consecutive failures (0 for the first):
/// 5 s doubling up to 5 minutes.
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u64 << attempt.min(16);
    let delay = BACKOFF_BASE.saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX));
    delay.min(BACKOFF_MAX)
}

/// True when an API error is the HTTP status `code`.
pub fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff(0), Duration::from_secs(5));
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(5), Duration::from_secs(160));
        assert_eq!(backoff(6), BACKOFF_MAX);
        assert_eq!(backoff(40), BACKOFF_MAX);
    }

    #[test]
    fn engine_csr_errors_are_permanent() {
        let error = Error::from_engine(pki::Error::malformed_csr("RSA 1024 is too small"));
        assert!(matches!(error.resolution(), Resolution::Fail { .. }));
    }

    #[test]
    fn engine_state_errors_are_retried() {
        let error = Error::from_engine(pki::Error::new(pki::ErrorKind::InvalidState, "Disabled"));
        assert!(matches!(error.resolution(), Resolution::Retry { .. }));
    }
}
