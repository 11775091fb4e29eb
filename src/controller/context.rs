//! State shared by every reconcile.

use std::sync::Arc;

use kube::runtime::events::Reporter;

use crate::metrics::Metrics;
use crate::pki::Clock;

/// Shared state handed to each reconcile.
#[derive(Clone)]
pub struct Context {
    /// API client.
    pub client: kube::Client,
    /// Metrics registry.
    pub metrics: Metrics,
    /// Time source for validity and expiry decisions.
    pub clock: Arc<dyn Clock>,
    /// Namespace that contains the Secrets of ClusterPrivateCAs.
    pub cluster_resource_namespace: String,
    /// Identity used on Events.
    pub reporter: Reporter,
}
