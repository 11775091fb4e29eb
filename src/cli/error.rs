//! Errors of the local CA commands and the exit codes they map to.

use std::io;
use std::path::{Path, PathBuf};

use crate::pki;

/// Result alias for the command line.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit code of a request error; clap exits with 2 on usage errors.
pub const EXIT_REQUEST_ERROR: u8 = 1;

/// A command failure, printed as one `Code: message` line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request error raised by the engine or by the command's own checks.
    #[error(transparent)]
    Request(#[from] pki::Error),
    /// Reading or writing a file of the CA directory failed. The OS error is part
    /// of the message because the command prints one line and no error chain.
    #[error("Internal: failed to {action} {}: {cause}", path.display())]
    Io {
        /// The failed action, such as `write` or `lock`.
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        cause: io::Error,
    },
    /// The `run` command failed: a bad flag, no API server, or a lost lease.
    #[error("run failed: {0:#}")]
    Run(anyhow::Error),
}

impl Error {
    /// Wraps an I/O error with the action and the path it concerns.
    pub fn io(action: &'static str, path: &Path, cause: io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            cause,
        }
    }

    /// Returns the `Code` printed before the message, such as `InvalidArgs`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Request(error) => error.kind().code(),
            Error::Io { .. } | Error::Run(_) => pki::ErrorKind::Internal.code(),
        }
    }

    /// Returns the engine error class, when this is a request error.
    pub fn kind(&self) -> Option<pki::ErrorKind> {
        match self {
            Error::Request(error) => Some(error.kind()),
            Error::Io { .. } | Error::Run(_) => None,
        }
    }

    /// Returns the process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        EXIT_REQUEST_ERROR
    }
}

/// Shorthand for an [`pki::ErrorKind::InvalidArgs`] request error.
pub(crate) fn invalid_args(message: impl Into<String>) -> Error {
    Error::Request(pki::Error::invalid_args(message))
}

/// Shorthand for an [`pki::ErrorKind::InvalidState`] request error.
pub(crate) fn invalid_state(message: impl Into<String>) -> Error {
    Error::Request(pki::Error::new(pki::ErrorKind::InvalidState, message))
}

/// Shorthand for a [`pki::ErrorKind::ResourceNotFound`] request error.
pub(crate) fn not_found(message: impl Into<String>) -> Error {
    Error::Request(pki::Error::new(pki::ErrorKind::ResourceNotFound, message))
}
