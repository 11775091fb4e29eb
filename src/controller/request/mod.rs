//! The controller that signs cert-manager CertificateRequests.

use std::future::Future;
use std::sync::Arc;

use crate::controller::Context;

/// Runs the CertificateRequest controller until `shutdown` resolves.
// TODO: placeholder so the runtime compiles; the request controller replaces it.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let _ = ctx;
    shutdown.await;
    Ok(())
}
