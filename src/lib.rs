//! privateca-issuer: a cert-manager external issuer backed by an in-cluster
//! private CA with the issuing semantics of ACM Private CA.

pub mod api;
pub mod cli;
pub mod controller;
pub mod crdgen;
pub mod health;
pub mod leader;
pub mod metrics;
pub mod pki;
pub mod rbac;
pub mod run;
pub mod shutdown;
pub mod telemetry;
