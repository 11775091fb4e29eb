//! Errors of the CA controller. Problems with a CA's own spec or Secret are not
//! errors here: they end in the `Failed` state. These are the ones worth a retry.

/// Result alias for the CA controller.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A reconcile that could not finish and is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("{action} failed")]
    Kube {
        /// Operation that failed, such as `get Secret default/root-ca`.
        action: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The engine failed for a reason that is not the input's fault.
    #[error("{action} failed")]
    Engine {
        /// Operation that failed, such as `create root key`.
        action: String,
        /// The engine error.
        #[source]
        source: crate::pki::Error,
    },
    /// The object lacks a field the API server always sets.
    #[error("object has no metadata.{field}")]
    MissingMetadata {
        /// The missing field, such as `name`.
        field: &'static str,
    },
    /// Serializing the status patch failed.
    #[error("serializing the status of {name} failed")]
    Serialize {
        /// The CA name.
        name: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Short label of the error class, used as the `error` label of the
    /// reconcile error metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube { .. } => "kube",
            Error::Engine { .. } => "engine",
            Error::MissingMetadata { .. } => "metadata",
            Error::Serialize { .. } => "serialize",
        }
    }

    /// Wraps a client error with what the controller was doing.
    pub fn kube(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            action: action.into(),
            source,
        }
    }
}
