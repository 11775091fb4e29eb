//! Shutdown signalling: one trigger, any number of cloneable waiters.

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::watch;

/// The side that starts shutdown.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// A handle that waits for shutdown; clone it for every task.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// Creates a linked trigger and waiter.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { receiver })
}

impl ShutdownTrigger {
    /// Starts shutdown; every waiter resolves. Calling it again does nothing.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }
}

impl Shutdown {
    /// True once shutdown has started.
    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Returns a future that resolves once shutdown starts or the trigger is
    /// dropped. It is `Send + Sync + Clone`, as kube-runtime's graceful shutdown requires.
    pub fn wait(&self) -> Shared<BoxFuture<'static, ()>> {
        let mut receiver = self.receiver.clone();
        async move {
            // An error means the trigger is gone, which also ends the program.
            let _ = receiver.wait_for(|triggered| *triggered).await;
        }
        .boxed()
        .shared()
    }
}

/// Waits for SIGTERM or SIGINT and returns the signal's name.
pub async fn os_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = terminate.recv() => Ok("SIGTERM"),
            result = tokio::signal::ctrl_c() => result.map(|()| "SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map(|()| "SIGINT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_resolves_after_trigger() {
        let (trigger, shutdown) = channel();
        let waiter = shutdown.wait();
        assert!(!shutdown.is_triggered());
        trigger.trigger();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .unwrap_or_else(|_| panic!("shutdown waiter did not resolve"));
        assert!(shutdown.is_triggered());
    }
}
