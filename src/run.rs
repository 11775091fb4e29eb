//! The `run` command: both controllers, metrics, health probes and leader election.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use kube::runtime::events::Reporter;
use tracing::{error, info, warn};

use crate::controller::{self, Context};
use crate::health::{self, Health};
use crate::leader::{self, Leadership};
use crate::metrics::{self, Metrics};
use crate::pki::SystemClock;
use crate::shutdown::{self, Shutdown};
use crate::telemetry::{self, LogFormat};

/// Name the controller reports on Events and Leases.
pub const CONTROLLER_NAME: &str = "privateca-issuer";
/// How long in-flight reconciles may run after SIGTERM before the process exits
/// anyway. Kubernetes sends SIGKILL 30 s after SIGTERM by default, and the lease
/// must be released before that.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Flags of `privateca-issuer run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Run the controllers only while holding the leader Lease.
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the leader Lease; defaults to POD_NAMESPACE.
    #[arg(long, env = "LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Address of the /metrics endpoint, HOST:PORT or :PORT.
    #[arg(long, default_value = ":8080")]
    pub metrics_bind_address: String,
    /// Address of the /healthz and /readyz endpoints, HOST:PORT or :PORT.
    #[arg(long, default_value = ":8081")]
    pub health_probe_bind_address: String,
    /// Namespace of the Secrets of ClusterPrivateCAs; defaults to POD_NAMESPACE.
    #[arg(long)]
    pub cluster_resource_namespace: Option<String>,
    /// Log format; the level comes from RUST_LOG (default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Settings resolved from the flags and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Namespace of ClusterPrivateCA Secrets.
    pub cluster_resource_namespace: String,
    /// Namespace of the leader Lease, when leader election is on.
    pub leader_election_namespace: Option<String>,
    /// Address of the metrics server.
    pub metrics_address: SocketAddr,
    /// Address of the health probe server.
    pub health_address: SocketAddr,
}

impl RunArgs {
    /// Resolves the flags against `pod_namespace` (the POD_NAMESPACE variable).
    pub fn settings(&self, pod_namespace: Option<&str>) -> anyhow::Result<Settings> {
        let pod_namespace = pod_namespace.filter(|namespace| !namespace.trim().is_empty());
        let cluster_resource_namespace = self
            .cluster_resource_namespace
            .as_deref()
            .filter(|namespace| !namespace.trim().is_empty())
            .or(pod_namespace)
            .map(str::to_string)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--cluster-resource-namespace is not set and POD_NAMESPACE is empty; \
                     pass --cluster-resource-namespace=<namespace of ClusterPrivateCA Secrets>"
                )
            })?;
        let leader_election_namespace = if self.leader_elect {
            let namespace = self
                .leader_election_namespace
                .as_deref()
                .filter(|namespace| !namespace.trim().is_empty())
                .or(pod_namespace)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--leader-elect needs a namespace for the Lease; set POD_NAMESPACE or \
                         pass --leader-election-namespace"
                    )
                })?;
            Some(namespace.to_string())
        } else {
            None
        };
        Ok(Settings {
            cluster_resource_namespace,
            leader_election_namespace,
            metrics_address: health::parse_bind_address(
                "--metrics-bind-address",
                &self.metrics_bind_address,
            )?,
            health_address: health::parse_bind_address(
                "--health-probe-bind-address",
                &self.health_probe_bind_address,
            )?,
        })
    }
}

/// Runs the controllers until SIGTERM or SIGINT. Fails when the leader lease is
/// lost, so the pod restarts and competes for it again.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format)?;
    let pod_namespace = std::env::var("POD_NAMESPACE").ok();
    let settings = args.settings(pod_namespace.as_deref())?;
    let metrics = Metrics::new().context("registering metrics failed")?;
    let health = Health::default();
    // Bind first, so a port in use stops the process before any controller starts.
    let metrics_listener = bind_server("metrics", settings.metrics_address).await?;
    let health_listener = bind_server("health probes", settings.health_address).await?;
    let (servers_trigger, servers_stop) = shutdown::channel();
    let metrics_server = tokio::spawn(serve(
        "metrics",
        metrics_listener,
        metrics::router(metrics.clone()),
        servers_stop.clone(),
    ));
    let health_server = tokio::spawn(serve(
        "health probes",
        health_listener,
        health::router(health.clone()),
        servers_stop,
    ));

    let (trigger, shutdown) = shutdown::channel();
    let signal_health = health.clone();
    tokio::spawn(async move {
        match shutdown::os_signal().await {
            Ok(signal) => info!(signal, "shutting down"),
            Err(error) => error!(error = %error, "listening for signals failed; shutting down"),
        }
        signal_health.mark_shutting_down();
        trigger.trigger();
    });

    let result = run_controllers(&settings, metrics, health, shutdown).await;
    servers_trigger.trigger();
    for (name, server) in [
        ("metrics", metrics_server),
        ("health probes", health_server),
    ] {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(server = name, error = %format!("{error:#}"), "server failed"),
            Err(error) => warn!(server = name, error = %error, "server task failed"),
        }
    }
    match &result {
        Ok(()) => info!("stopped"),
        Err(error) => error!(error = %format!("{error:#}"), "stopped with an error"),
    }
    result
}

/// Waits for the lease when leader election is on, then runs both controllers.
async fn run_controllers(
    settings: &Settings,
    metrics: Metrics,
    health: Health,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API failed")?;
    let identity = leader::identity();
    let leadership = match &settings.leader_election_namespace {
        None => None,
        Some(namespace) => {
            health.set_standby(true);
            let acquired = tokio::select! {
                acquired = leader::acquire(client.clone(), namespace, &identity) => acquired,
                () = shutdown.wait() => return Ok(()),
            };
            health.set_standby(false);
            Some(acquired?)
        }
    };
    let ctx = Arc::new(Context {
        client,
        metrics,
        clock: Arc::new(SystemClock),
        cluster_resource_namespace: settings.cluster_resource_namespace.clone(),
        reporter: Reporter {
            controller: CONTROLLER_NAME.to_string(),
            instance: Some(identity),
        },
    });
    info!(
        cluster_resource_namespace = %ctx.cluster_resource_namespace,
        "controllers starting"
    );
    let controllers = async {
        let (ca, request) = futures::join!(
            controller::ca::run(ctx.clone(), shutdown.clone(), health.clone()),
            // The request controller's entry point; it stops on the same signal.
            // NOTE: /readyz waits only for the CA controllers' caches.
            controller::request::run(ctx.clone(), shutdown.wait()),
        );
        ca.context("CA controller failed")?;
        request.context("CertificateRequest controller failed")
    };
    let controllers = drain_within(controllers, shutdown.clone(), DRAIN_TIMEOUT);
    match leadership {
        None => controllers.await,
        Some(leadership) => run_as_leader(leadership, controllers, &health).await,
    }
}

/// Runs `controllers` to the end, but stops waiting for them `timeout` after
/// shutdown starts. kube-runtime's controllers do not finish a graceful shutdown
/// while their first list still fails (an API server that cannot be reached), so
/// without this bound SIGTERM would never end the process.
async fn drain_within(
    controllers: impl std::future::Future<Output = anyhow::Result<()>>,
    shutdown: Shutdown,
    timeout: std::time::Duration,
) -> anyhow::Result<()> {
    let deadline = async {
        shutdown.wait().await;
        tokio::time::sleep(timeout).await;
    };
    tokio::select! {
        result = controllers => result,
        () = deadline => {
            warn!(
                timeout_seconds = timeout.as_secs(),
                "in-flight work did not finish after the shutdown signal; exiting without it"
            );
            Ok(())
        }
    }
}

/// Runs `controllers` while the lease is held. Losing the lease stops them and
/// fails; a normal stop releases the lease.
async fn run_as_leader(
    mut leadership: Leadership,
    controllers: impl std::future::Future<Output = anyhow::Result<()>>,
    health: &Health,
) -> anyhow::Result<()> {
    let mut controllers = Box::pin(controllers);
    tokio::select! {
        result = &mut controllers => {
            leadership.release().await?;
            result
        }
        () = leadership.lost() => {
            error!("lost the leader lease; stopping the controllers");
            health.mark_shutting_down();
            // Another replica may already write: stop at once, without draining.
            drop(controllers);
            anyhow::bail!("lost the leader lease; exiting so the pod restarts")
        }
    }
}

/// Binds the listener of the server `name`, failing with the address in the message.
async fn bind_server(name: &str, address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    health::bind(address)
        .await
        .with_context(|| format!("binding the {name} server to {address} failed"))
}

/// Serves `router` on `listener` until `stop`.
async fn serve(
    name: &'static str,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: Shutdown,
) -> anyhow::Result<()> {
    let address = listener
        .local_addr()
        .with_context(|| format!("reading the address of the {name} server failed"))?;
    info!(server = name, %address, "server started");
    axum::serve(listener, router)
        .with_graceful_shutdown(stop.wait())
        .await
        .with_context(|| format!("the {name} server failed"))?;
    info!(server = name, "server stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RunArgs {
        RunArgs {
            leader_elect: false,
            leader_election_namespace: None,
            metrics_bind_address: ":8080".to_string(),
            health_probe_bind_address: ":8081".to_string(),
            cluster_resource_namespace: None,
            log_format: LogFormat::Text,
        }
    }

    #[test]
    fn settings_default_to_pod_namespace() {
        let settings = args().settings(Some("issuer-system"));
        let settings = settings.unwrap_or_else(|error| panic!("{error:#}"));
        assert_eq!(settings.cluster_resource_namespace, "issuer-system");
        assert_eq!(settings.leader_election_namespace, None);
    }

    #[test]
    fn settings_without_namespace_name_the_flag() {
        let error = args().settings(None).err().map(|error| error.to_string());
        assert!(error.is_some_and(|message| message.contains("--cluster-resource-namespace")));
    }

    #[test]
    fn settings_leader_elect_needs_namespace() {
        let mut args = args();
        args.leader_elect = true;
        args.cluster_resource_namespace = Some("certs".to_string());
        assert!(args.settings(None).is_err());
        args.leader_election_namespace = Some("leases".to_string());
        let settings = args.settings(None).ok();
        assert_eq!(
            settings.and_then(|settings| settings.leader_election_namespace),
            Some("leases".to_string())
        );
    }

    #[tokio::test]
    async fn drain_stops_waiting_after_timeout() {
        let (trigger, shutdown) = shutdown::channel();
        let stuck = std::future::pending::<anyhow::Result<()>>();
        let drained = tokio::spawn(drain_within(
            stuck,
            shutdown,
            std::time::Duration::from_millis(50),
        ));
        trigger.trigger();
        let result = tokio::time::timeout(std::time::Duration::from_secs(1), drained).await;
        assert!(result.is_ok(), "a stuck controller kept the process alive");
    }

    #[tokio::test]
    async fn drain_returns_controller_result() {
        let (_trigger, shutdown) = shutdown::channel();
        let failing = async { anyhow::bail!("controller failed") };
        let result = drain_within(failing, shutdown, std::time::Duration::from_secs(5)).await;
        assert!(result.is_err());
    }
}
