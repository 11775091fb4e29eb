//! Leader election with a coordination.k8s.io Lease, so only one replica writes.

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Name of the Lease the replicas compete for.
pub const LEASE_NAME: &str = "privateca-issuer";
/// Seconds a lease stays valid after its last renewal.
pub const LEASE_DURATION_SECONDS: u64 = 30;
/// Seconds before expiry at which the holder renews.
pub const LEASE_GRACE_SECONDS: u64 = 10;

/// Errors of leader election.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lease manager could not be set up or failed.
    #[error("leader election with Lease {namespace}/{name} failed")]
    Lease {
        /// Namespace of the Lease.
        namespace: String,
        /// Name of the Lease.
        name: String,
        /// The lease manager error.
        #[source]
        source: kube_lease_manager::LeaseManagerError,
    },
    /// The lease task ended without a result.
    #[error("the leader election task stopped unexpectedly")]
    Task(#[source] tokio::task::JoinError),
    /// The lease task stopped before this replica became leader.
    #[error("the leader election task stopped before the lease was acquired")]
    Stopped,
}

/// A held leader lease, renewed in the background until released.
pub struct Leadership {
    namespace: String,
    receiver: watch::Receiver<bool>,
    task: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
}

/// Waits until this replica holds the Lease `namespace/LEASE_NAME`.
pub async fn acquire(
    client: kube::Client,
    namespace: &str,
    identity: &str,
) -> Result<Leadership, Error> {
    let lease_error = |source| Error::Lease {
        namespace: namespace.to_string(),
        name: LEASE_NAME.to_string(),
        source,
    };
    let manager = LeaseManagerBuilder::new(client, LEASE_NAME)
        .with_namespace(namespace)
        .with_identity(identity)
        .with_duration(LEASE_DURATION_SECONDS)
        .with_grace(LEASE_GRACE_SECONDS)
        .build()
        .await
        .map_err(lease_error)?;
    let (mut receiver, task) = manager.watch().await;
    info!(
        namespace,
        lease = LEASE_NAME,
        identity,
        "waiting for the leader lease"
    );
    if receiver.wait_for(|leader| *leader).await.is_err() {
        return Err(match task.await {
            Ok(Ok(_)) => Error::Stopped,
            Ok(Err(source)) => lease_error(source),
            Err(join) => Error::Task(join),
        });
    }
    info!(
        namespace,
        lease = LEASE_NAME,
        identity,
        "acquired the leader lease"
    );
    Ok(Leadership {
        namespace: namespace.to_string(),
        receiver,
        task,
    })
}

impl Leadership {
    /// Resolves when this replica no longer holds the lease.
    pub async fn lost(&mut self) {
        // An error means the renewing task ended, which also loses the lease.
        let _ = self.receiver.wait_for(|leader| !*leader).await;
    }

    /// Releases the lease so another replica can take over at once.
    pub async fn release(self) -> Result<(), Error> {
        let Leadership {
            namespace,
            receiver,
            task,
        } = self;
        // Closing the channel makes the task release the lease and return.
        drop(receiver);
        match task.await {
            Ok(Ok(_)) => {
                info!(namespace, lease = LEASE_NAME, "released the leader lease");
                Ok(())
            }
            Ok(Err(source)) => {
                warn!(namespace, lease = LEASE_NAME, error = %source, "releasing the leader lease failed");
                Err(Error::Lease {
                    namespace,
                    name: LEASE_NAME.to_string(),
                    source,
                })
            }
            Err(join) => Err(Error::Task(join)),
        }
    }
}

/// Returns this replica's identity: `POD_NAME`, else the host name, else the
/// controller name with the process id.
pub fn identity() -> String {
    let non_empty = |value: String| {
        let value = value.trim().to_string();
        (!value.is_empty()).then_some(value)
    };
    std::env::var("POD_NAME")
        .ok()
        .and_then(non_empty)
        .or_else(|| std::env::var("HOSTNAME").ok().and_then(non_empty))
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .and_then(non_empty)
        })
        .unwrap_or_else(|| format!("{LEASE_NAME}-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use http::{Method, Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};

    use super::*;

    type Stored = Arc<Mutex<Option<Value>>>;

    fn stored_holder(lease: &Stored) -> Value {
        let lease = lease
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        lease
            .as_ref()
            .map(|lease| lease["spec"]["holderIdentity"].clone())
            .unwrap_or(Value::Null)
    }

    /// Serves one Lease from memory: GET, POST, and PATCH that merges `spec`.
    async fn fake_lease_api(
        mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
        lease: Stored,
    ) {
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            assert!(
                parts
                    .uri
                    .path()
                    .starts_with("/apis/coordination.k8s.io/v1/namespaces/issuer-system/leases"),
                "{}",
                parts.uri
            );
            let bytes = body.collect_bytes().await.unwrap_or_default();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let mut stored = lease
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let (code, response) = match (parts.method, stored.as_mut()) {
                (Method::GET, Some(current)) => (200, current.clone()),
                (Method::GET, None) => (
                    404,
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                           "reason": "NotFound", "code": 404, "message": "not found"}),
                ),
                (Method::POST, _) => {
                    let mut created = body;
                    created["metadata"]["namespace"] = json!("issuer-system");
                    created["metadata"]["resourceVersion"] = json!("1");
                    *stored = Some(created.clone());
                    (201, created)
                }
                (Method::PATCH, Some(current)) => {
                    if let Some(spec) = body["spec"].as_object() {
                        for (key, value) in spec {
                            current["spec"][key] = value.clone();
                        }
                    }
                    (200, current.clone())
                }
                (method, _) => panic!("unexpected {method} {}", parts.uri),
            };
            drop(stored);
            let response = Response::builder()
                .status(code)
                .body(Body::from(
                    serde_json::to_vec(&response).unwrap_or_default(),
                ))
                .unwrap_or_else(|error| panic!("response builds: {error}"));
            send.send_response(response);
        }
    }

    #[tokio::test]
    async fn acquire_then_release_clears_holder() {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let lease: Stored = Arc::default();
        let server = tokio::spawn(fake_lease_api(handle, lease.clone()));
        let client = kube::Client::new(service, "default");

        let acquired = tokio::time::timeout(
            Duration::from_secs(2),
            acquire(client, "issuer-system", "pod-a"),
        )
        .await;
        let leadership = match acquired {
            Ok(Ok(leadership)) => leadership,
            Ok(Err(error)) => panic!("acquire failed: {error}"),
            Err(_) => panic!("acquire did not finish within 2 s"),
        };
        assert_eq!(stored_holder(&lease), json!("pod-a"));

        let released = tokio::time::timeout(Duration::from_secs(2), leadership.release()).await;
        assert!(matches!(released, Ok(Ok(()))), "{released:?}");
        assert_eq!(stored_holder(&lease), Value::Null);
        server.abort();
    }
}
