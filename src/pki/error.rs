//! Engine errors, classified like ACM Private CA's exceptions.

/// Result alias for the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Class of an engine error, named after the ACM Private CA exception it mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The CSR cannot be parsed, its signature does not verify, or it fails a content check.
    MalformedCsr,
    /// An argument is out of range or inconsistent with the CA (algorithm, template, token).
    InvalidArgs,
    /// The CA is not in a state that allows the operation.
    InvalidState,
    /// The request is well formed but violates a policy (for example validity past the CA's notAfter).
    Validation,
    /// A certificate or key given for import is unusable.
    MalformedCertificate,
    /// A named resource (certificate, CA) does not exist.
    ResourceNotFound,
    /// A cryptographic operation failed unexpectedly; not caused by the input.
    Internal,
}

impl ErrorKind {
    /// The ACM Private CA style code printed before the message, for example `MalformedCSR`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::MalformedCsr => "MalformedCSR",
            ErrorKind::InvalidArgs => "InvalidArgs",
            ErrorKind::InvalidState => "InvalidState",
            ErrorKind::Validation => "Validation",
            ErrorKind::MalformedCertificate => "MalformedCertificate",
            ErrorKind::ResourceNotFound => "ResourceNotFound",
            ErrorKind::Internal => "Internal",
        }
    }
}

/// An engine error: a class and a message that names the bad value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Creates an error of `kind` with a message that names the bad value and the fix.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Shorthand for [`ErrorKind::MalformedCsr`].
    pub fn malformed_csr(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::MalformedCsr, message)
    }

    /// Shorthand for [`ErrorKind::InvalidArgs`].
    pub fn invalid_args(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgs, message)
    }

    /// Shorthand for [`ErrorKind::Validation`].
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    /// Shorthand for [`ErrorKind::MalformedCertificate`].
    pub fn malformed_certificate(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::MalformedCertificate, message)
    }

    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the class prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}
