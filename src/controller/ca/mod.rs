//! The CA lifecycle controller for PrivateCA and ClusterPrivateCA.
//!
//! [`decide`] computes the next state from the CA, its Secret and its parent;
//! [`reconcile`] reads those, applies the decision and publishes Events. Both
//! kinds share the code through [`kind::CaObject`].

pub mod decide;
pub mod error;
pub mod kind;
pub mod reconcile;

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use tracing::{debug, info, warn};

pub use error::{Error, Result};
pub use kind::{CaKind, CaObject};
pub use reconcile::{CaContext, FIELD_MANAGER, error_policy, reconcile};

use crate::api::{ClusterPrivateCA, ParentKind, PrivateCA};
use crate::controller::Context;
use crate::controller::ca_secret::CA_SECRET_LABEL;
use crate::health::Health;
use crate::shutdown::Shutdown;

/// Runs the PrivateCA and ClusterPrivateCA controllers until `shutdown`, then
/// lets in-flight reconciles finish. Marks `health` synced once both caches
/// hold a full list.
pub async fn run(ctx: Arc<Context>, shutdown: Shutdown, health: Health) -> anyhow::Result<()> {
    let ca_ctx = Arc::new(CaContext::new(ctx.clone()));
    let namespaced = namespaced_controller(&ctx).graceful_shutdown_on(shutdown.wait());
    let cluster = cluster_controller(&ctx).graceful_shutdown_on(shutdown.wait());
    let stores = (namespaced.store(), cluster.store());
    let synced = async move {
        let namespaced_ready = stores.0.wait_until_ready().await;
        let cluster_ready = stores.1.wait_until_ready().await;
        if namespaced_ready.is_ok() && cluster_ready.is_ok() {
            info!("CA controller caches synced");
            health.mark_synced();
        }
    };
    info!("CA controllers starting");
    let namespaced = namespaced
        .run(
            reconcile::<PrivateCA>,
            error_policy::<PrivateCA>,
            ca_ctx.clone(),
        )
        .for_each(|result| async move { log_result(CaKind::PrivateCA, result) });
    let cluster = cluster
        .run(
            reconcile::<ClusterPrivateCA>,
            error_policy::<ClusterPrivateCA>,
            ca_ctx,
        )
        .for_each(|result| async move { log_result(CaKind::ClusterPrivateCA, result) });
    futures::join!(namespaced, cluster, synced);
    info!("CA controllers stopped");
    Ok(())
}

/// Logs what the controller stream reports; reconcile errors were already logged
/// by [`error_policy`].
fn log_result<K, E, W>(
    kind: CaKind,
    result: std::result::Result<
        (ObjectRef<K>, kube::runtime::controller::Action),
        kube::runtime::controller::Error<E, W>,
    >,
) where
    K: kube::Resource,
    E: std::error::Error,
    W: std::error::Error,
{
    match result {
        Ok((object, _)) => debug!(kind = kind.as_str(), object = %object, "reconciled"),
        Err(kube::runtime::controller::Error::ReconcilerFailed(_, _)) => {}
        Err(error) => warn!(kind = kind.as_str(), error = %error, "CA controller stream error"),
    }
}

/// Builds the watch config for CA Secrets: only those with [`CA_SECRET_LABEL`].
fn secret_watch() -> watcher::Config {
    watcher::Config::default().labels(CA_SECRET_LABEL)
}

fn namespaced_controller(ctx: &Context) -> Controller<PrivateCA> {
    let client = ctx.client.clone();
    let controller = Controller::new(
        Api::<PrivateCA>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    let by_secret = store.clone();
    let by_namespaced_parent = store.clone();
    let by_cluster_parent = store;
    controller
        .watches(
            Api::<Secret>::all(client.clone()),
            secret_watch(),
            move |secret| cas_naming_secret(&by_secret, &secret),
        )
        .watches(
            Api::<PrivateCA>::all(client.clone()),
            watcher::Config::default(),
            move |parent| {
                let namespace = parent.namespace();
                children_of(
                    &by_namespaced_parent,
                    ParentKind::PrivateCA,
                    &parent.name_any(),
                    |child| child.namespace() == namespace,
                )
            },
        )
        .watches(
            Api::<ClusterPrivateCA>::all(client),
            watcher::Config::default(),
            move |parent| {
                children_of(
                    &by_cluster_parent,
                    ParentKind::ClusterPrivateCA,
                    &parent.name_any(),
                    |_| true,
                )
            },
        )
}

fn cluster_controller(ctx: &Context) -> Controller<ClusterPrivateCA> {
    let client = ctx.client.clone();
    let controller = Controller::new(
        Api::<ClusterPrivateCA>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    let by_secret = store.clone();
    let by_parent = store;
    let secrets = Api::<Secret>::namespaced(client.clone(), &ctx.cluster_resource_namespace);
    controller
        .watches(secrets, secret_watch(), move |secret| {
            cas_naming_secret(&by_secret, &secret)
        })
        .watches(
            Api::<ClusterPrivateCA>::all(client),
            watcher::Config::default(),
            move |parent| {
                children_of(
                    &by_parent,
                    ParentKind::ClusterPrivateCA,
                    &parent.name_any(),
                    |_| true,
                )
            },
        )
}

/// Finds the CAs in `store` whose Secret is `secret`. For a ClusterPrivateCA
/// the watch already limits Secrets to the cluster resource namespace.
fn cas_naming_secret<K: CaObject>(store: &Store<K>, secret: &Secret) -> Vec<ObjectRef<K>> {
    let name = secret.name_any();
    let namespace = secret.namespace();
    store
        .state()
        .into_iter()
        .filter(|ca| K::KIND == CaKind::ClusterPrivateCA || ca.namespace() == namespace)
        .filter(|ca| kind::ca_secret_name(ca.as_ref()) == name)
        .map(|ca| ObjectRef::from_obj(ca.as_ref()))
        .collect()
}

/// Finds the CAs in `store` whose parentRef names `parent_kind`/`parent_name`
/// and that pass `same_scope`.
fn children_of<K: CaObject>(
    store: &Store<K>,
    parent_kind: ParentKind,
    parent_name: &str,
    same_scope: impl Fn(&K) -> bool,
) -> Vec<ObjectRef<K>> {
    store
        .state()
        .into_iter()
        .filter(|child| {
            child
                .ca_spec()
                .parent_ref
                .as_ref()
                .is_some_and(|parent| parent.kind == parent_kind && parent.name == parent_name)
        })
        .filter(|child| same_scope(child.as_ref()))
        .map(|child| ObjectRef::from_obj(child.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::reflector;

    fn private_ca(namespace: &str, name: &str, extra_spec: &str) -> PrivateCA {
        let yaml = format!(
            "apiVersion: privateca.issuer.dev/v1alpha1\nkind: PrivateCA\n\
             metadata:\n  name: {name}\n  namespace: {namespace}\n\
             spec:\n  subject:\n    commonName: {name}\n{extra_spec}"
        );
        serde_yaml::from_str(&yaml).unwrap_or_else(|error| panic!("test YAML: {error}"))
    }

    fn store_of(cas: Vec<PrivateCA>) -> Store<PrivateCA> {
        let (store, mut writer) = reflector::store();
        for ca in cas {
            writer.apply_watcher_event(&watcher::Event::Apply(ca));
        }
        store
    }

    fn names(refs: Vec<ObjectRef<PrivateCA>>) -> Vec<String> {
        let mut names: Vec<String> = refs.into_iter().map(|r| r.name).collect();
        names.sort();
        names
    }

    fn secret(namespace: &str, name: &str) -> Secret {
        Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(namespace.to_string()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn secret_maps_to_cas_naming_it() {
        let store = store_of(vec![
            private_ca("a", "root", ""),
            private_ca("a", "custom", "  secretName: shared\n"),
            private_ca("b", "root", ""),
        ]);
        let found = cas_naming_secret(&store, &secret("a", "root-ca"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].namespace.as_deref(), Some("a"));
        assert_eq!(
            names(cas_naming_secret(&store, &secret("a", "shared"))),
            vec!["custom"]
        );
        assert!(cas_naming_secret(&store, &secret("c", "root-ca")).is_empty());
    }

    #[test]
    fn parent_maps_to_children() {
        let child = "  type: Subordinate\n  parentRef:\n    kind: PrivateCA\n    name: root\n";
        let cluster_child =
            "  type: Subordinate\n  parentRef:\n    kind: ClusterPrivateCA\n    name: root\n";
        let store = store_of(vec![
            private_ca("a", "root", ""),
            private_ca("a", "issuing", child),
            private_ca("b", "other", child),
            private_ca("a", "from-cluster", cluster_child),
        ]);
        let same_namespace = |ca: &PrivateCA| ca.namespace().as_deref() == Some("a");
        assert_eq!(
            names(children_of(
                &store,
                ParentKind::PrivateCA,
                "root",
                same_namespace
            )),
            vec!["issuing"]
        );
        assert_eq!(
            names(children_of(
                &store,
                ParentKind::ClusterPrivateCA,
                "root",
                |_| true
            )),
            vec!["from-cluster"]
        );
    }
}
