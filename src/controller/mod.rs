//! The two controllers (CAs, CertificateRequests) and what they share.

pub mod ca;
pub mod ca_secret;
pub mod conditions;
pub mod context;
pub mod request;

pub use context::Context;
