//! Logging setup: tracing-subscriber with an `RUST_LOG` filter, as text or JSON.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Output format of the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    #[default]
    Text,
}

/// Installs the global subscriber. The filter comes from `RUST_LOG`, `info` when
/// unset. Fails when `RUST_LOG` is invalid or a subscriber is already installed.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .map_err(|error| anyhow::anyhow!("RUST_LOG {directives:?} is invalid: {error}"))?,
        _ => EnvFilter::new("info"),
    };
    // Colour codes only on a terminal: log collectors store them verbatim.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let installed = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.map_err(|error| anyhow::anyhow!("installing the log subscriber failed: {error}"))
}
