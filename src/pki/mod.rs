//! Certificate authority engine with the issuing semantics of ACM Private CA's
//! `IssueCertificate`.
//!
//! This module tree has no Kubernetes types: the CLI and the controllers are thin
//! front ends over it. Time always comes from a [`Clock`] so tests can fix it.

pub mod algorithm;
pub mod authority;
mod certificate;
pub mod clock;
pub mod csr;
pub mod error;
mod extensions;
pub mod issue;
pub mod key;
mod names;
pub mod serial;
mod signature;
pub mod subject;
pub mod template;
pub mod validity;

pub use algorithm::{KeyAlgorithm, SigningAlgorithm};
pub use authority::{CaInfo, CertificateAuthority};
pub use clock::{Clock, FixedClock, SystemClock};
pub use csr::CsrInfo;
pub use error::{Error, ErrorKind, Result};
pub use issue::{ExpiryPolicy, IssueRequest, IssuedCertificate, NotAfterCap};
pub use key::CaKey;
pub use serial::SerialNumber;
pub use subject::SubjectName;
pub use template::Template;
pub use validity::{Validity, ValidityType};
