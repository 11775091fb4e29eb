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
