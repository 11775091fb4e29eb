//! Liveness and readiness: `/healthz` and `/readyz` on the health probe address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

/// Readiness inputs, shared by the runtime and the probe server.
#[derive(Debug, Clone, Default)]
pub struct Health {
    state: Arc<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    synced: AtomicBool,
    standby: AtomicBool,
    shutting_down: AtomicBool,
}

impl Health {
    /// Records that the controllers' caches hold a full list.
    pub fn mark_synced(&self) {
        self.state.synced.store(true, Ordering::SeqCst);
    }

    /// Records whether this replica waits for the leader lease.
    pub fn set_standby(&self, standby: bool) {
        self.state.standby.store(standby, Ordering::SeqCst);
    }

    /// Records that shutdown started; readiness turns false for good.
    pub fn mark_shutting_down(&self) {
        self.state.shutting_down.store(true, Ordering::SeqCst);
    }

    /// True when the replica is not shutting down and either its caches are
    /// synced or it is a standby waiting for the lease. A standby counts as ready
    /// so that a rolling update can proceed while the old leader holds the lease.
    pub fn is_ready(&self) -> bool {
        let state = &self.state;
        !state.shutting_down.load(Ordering::SeqCst)
            && (state.synced.load(Ordering::SeqCst) || state.standby.load(Ordering::SeqCst))
    }
}

/// Routes `/healthz` (200 while the process serves) and `/readyz`.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route(
            "/readyz",
            get(move || {
                let ready = health.is_ready();
                async move {
                    if ready {
                        (StatusCode::OK, "ok")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
                    }
                }
            }),
        )
}

/// Parses a bind address; `:8080` means every interface, port 8080, which is
/// `[::]:8080` so that IPv6-only pods are served too (see [`bind`]).
pub fn parse_bind_address(flag: &str, value: &str) -> anyhow::Result<SocketAddr> {
    let full = if value.starts_with(':') {
        format!("[::]{value}")
    } else {
        value.to_string()
    };
    full.parse().map_err(|error| {
        anyhow::anyhow!("{flag} {value:?} is not a valid address ({error}); use HOST:PORT or :PORT")
    })
}

/// Binds a listener on `address`. An unspecified IPv6 address also accepts IPv4
/// on Linux; where the host has no IPv6 at all, it falls back to `0.0.0.0`.
pub async fn bind(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => Ok(listener),
        Err(error) if address.ip() == std::net::Ipv6Addr::UNSPECIFIED => {
            let fallback = SocketAddr::from(([0, 0, 0, 0], address.port()));
            tokio::net::TcpListener::bind(fallback)
                .await
                .map_err(|_| error)
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_needs_sync_or_standby() {
        let health = Health::default();
        assert!(!health.is_ready());
        health.set_standby(true);
        assert!(health.is_ready());
        health.set_standby(false);
        health.mark_synced();
        assert!(health.is_ready());
        health.mark_shutting_down();
        assert!(!health.is_ready());
    }

    #[test]
    fn bind_address_accepts_port_only() {
        let address = parse_bind_address("--metrics-bind-address", ":8080");
        assert_eq!(address.ok(), "[::]:8080".parse().ok());
        assert!(parse_bind_address("--metrics-bind-address", "8080").is_err());
    }

    /// Sends one HTTP/1.1 GET to `router` on a loopback port and returns the
    /// status line and body.
    pub(crate) async fn get(router: Router, path: &str) -> (String, String) {
        use std::io::{Read, Write};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|error| panic!("binding loopback failed: {error}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("local address: {error}"));
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        // tokio's io-util feature is off, so the client side uses blocking std I/O.
        let response = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address)
                .unwrap_or_else(|error| panic!("connecting failed: {error}"));
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(1)))
                .unwrap_or_else(|error| panic!("setting timeout failed: {error}"));
            stream
                .write_all(request.as_bytes())
                .unwrap_or_else(|error| panic!("writing request failed: {error}"));
            let mut response = String::new();
            stream
                .read_to_string(&mut response)
                .unwrap_or_else(|error| panic!("reading response failed: {error}"));
            response
        })
        .await
        .unwrap_or_else(|error| panic!("client task failed: {error}"));
        server.abort();
        let status = response.lines().next().unwrap_or_default().to_string();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default();
        (status, body)
    }

    #[tokio::test]
    async fn readyz_follows_health() {
        let health = Health::default();
        let (status, _) = get(router(health.clone()), "/readyz").await;
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
        health.mark_synced();
        let (status, _) = get(router(health.clone()), "/readyz").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        let (status, _) = get(router(health), "/healthz").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
    }

    #[tokio::test]
    async fn metrics_endpoint_serves_ca_gauges() {
        let metrics = crate::metrics::Metrics::new()
            .unwrap_or_else(|error| panic!("registering metrics failed: {error}"));
        metrics
            .ca_ready
            .with_label_values(&["PrivateCA", "default", "root"])
            .set(1);
        let (status, body) = get(crate::metrics::router(metrics), "/metrics").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            body.contains(r#"privateca_issuer_ca_ready{ca_kind="PrivateCA",ca_name="root",ca_namespace="default"} 1"#),
            "{body}"
        );
    }

    #[tokio::test]
    async fn bind_reports_port_in_use() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let address = taken.local_addr().expect("local address");
        assert!(bind(address).await.is_err());
    }
}
