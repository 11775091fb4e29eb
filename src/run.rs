//! The `run` command: both controllers, metrics, health probes and leader election.

/// Flags of `privateca-issuer run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {}

/// Runs the controllers until SIGTERM.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("not built yet")
}
