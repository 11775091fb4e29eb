//! Decide and sign 10,000 CertificateRequests without an API server.
//!
//! Run with `cargo bench --bench requests`. Prints the CPU time per request (from
//! /proc/self/schedstat, single thread) and the peak resident memory (VmHWM from
//! /proc/self/status) after caching the requests and after signing them. Without
//! `--bench` (as under `cargo test --all-targets`) it runs 50 requests as a smoke test.

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::ByteString;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher;
use time::OffsetDateTime;

use privateca_issuer::api::{CertificateRequest, CertificateRequestStatus, PrivateCA};
use privateca_issuer::controller::request::decide::{self, CaView, Gate, IssuerKind};
use privateca_issuer::controller::request::{issuance, strip_for_cache};
use privateca_issuer::metrics::Metrics;
use privateca_issuer::pki::{
    CertificateAuthority, FixedClock, KeyAlgorithm, SigningAlgorithm, SubjectName, Validity,
    ValidityType,
};

const FULL_RUN: usize = 10_000;
const SMOKE_RUN: usize = 50;
/// Distinct CSRs reused across the requests; key generation is not what is measured.
const CSR_POOL: usize = 64;

fn main() {
    let count = if std::env::args().any(|arg| arg == "--bench") {
        FULL_RUN
    } else {
        SMOKE_RUN
    };
    let now = OffsetDateTime::now_utc();
    let clock = FixedClock(now);
    let metrics = Metrics::new().expect("metrics register");

    let subject = SubjectName {
        common_name: Some("Bench Root".to_string()),
        ..SubjectName::default()
    };
    let validity = Validity {
        value: 10,
        kind: ValidityType::Years,
    };
    let authority = CertificateAuthority::create_root(
        &subject,
        KeyAlgorithm::EcPrime256v1,
        SigningAlgorithm::Sha256WithEcdsa,
        validity,
        &clock,
    )
    .expect("root CA is created");

    let ca: PrivateCA = serde_yaml::from_str(
        "apiVersion: privateca.issuer.dev/v1alpha1\n\
         kind: PrivateCA\n\
         metadata: {name: main, namespace: apps, generation: 1}\n\
         spec: {subject: {commonName: Bench Root}}\n\
         status: {state: Active, observedGeneration: 1}\n",
    )
    .expect("CA parses");
    let (cas, mut ca_writer) = reflector::store::<PrivateCA>();
    ca_writer.apply_watcher_event(&watcher::Event::Apply(ca));

    let csrs: Vec<String> = (0..CSR_POOL).map(csr).collect();
    let (requests, mut request_writer) = reflector::store::<CertificateRequest>();
    for index in 0..count {
        let mut request = request(index, &csrs[index % CSR_POOL]);
        strip_for_cache(&mut request);
        request_writer.apply_watcher_event(&watcher::Event::Apply(request));
    }
    let cached_hwm = vm_hwm_kib();

    let cpu_start = cpu_nanos();
    let wall_start = Instant::now();
    let mut issued = 0usize;
    for object in requests.state() {
        if sign_one(&object, &cas, &authority, &clock, &metrics) {
            issued += 1;
        }
    }
    let wall = wall_start.elapsed();
    let cpu = cpu_nanos().map(|end| end.saturating_sub(cpu_start.unwrap_or(end)));
    assert_eq!(issued, count, "every request is signed");

    println!("requests: {count}");
    match cpu {
        Some(cpu) => println!(
            "cpu time per request: {:.1} us",
            cpu as f64 / 1000.0 / count as f64
        ),
        None => println!("cpu time per request: unavailable (no /proc/self/schedstat)"),
    }
    println!(
        "wall time per request: {:.1} us",
        wall.as_secs_f64() * 1e6 / count as f64
    );
    println!(
        "peak RSS after caching requests (VmHWM): {} KiB",
        cached_hwm.unwrap_or(0)
    );
    println!(
        "peak RSS after signing (VmHWM): {} KiB",
        vm_hwm_kib().unwrap_or(0)
    );
}

/// Runs everything a reconcile does for one request except the API calls.
fn sign_one(
    request: &Arc<CertificateRequest>,
    cas: &reflector::Store<PrivateCA>,
    authority: &CertificateAuthority,
    clock: &FixedClock,
    metrics: &Metrics,
) -> bool {
    let Some(target) = decide::issuer_target(request) else {
        return false;
    };
    if decide::gate(request) != Gate::Proceed {
        return false;
    }
    let key = ObjectRef::<PrivateCA>::new(&target.name)
        .within(target.namespace.as_deref().unwrap_or_default());
    let Some(ca) = cas.get(&key) else {
        return false;
    };
    let view = CaView {
        kind: IssuerKind::PrivateCa,
        namespace: ca.metadata.namespace.as_deref(),
        name: ca.metadata.name.as_deref().unwrap_or_default(),
        uid: ca.metadata.uid.as_deref(),
        spec: &ca.spec,
        status: ca.status.as_ref(),
        generation: ca.metadata.generation,
    };
    if decide::ca_ready(&view).is_err() {
        return false;
    }
    let Ok(plan) = decide::plan_issue(request, &view, authority.info(), clock.0) else {
        return false;
    };
    let Ok((_, record)) = issuance::sign(request, &view, authority, &plan, clock, metrics) else {
        return false;
    };
    let secret = record.to_secret(request);
    let status = CertificateRequestStatus {
        conditions: decide::ready_update(request, "True", "Issued", "issued", clock.0),
        certificate: Some(ByteString(record.chain_pem.into_bytes())),
        ca: Some(ByteString(record.root_pem.into_bytes())),
        failure_time: None,
    };
    let patch = serde_json::to_vec(&status)
        .map(|bytes| bytes.len())
        .unwrap_or(0);
    secret.is_some() && patch > 0
}

fn csr(index: usize) -> String {
    let key = rcgen::KeyPair::generate().expect("key generates");
    let mut params =
        rcgen::CertificateParams::new(vec![format!("app-{index}.apps.svc")]).expect("params build");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .serialize_request(&key)
        .expect("CSR signs")
        .pem()
        .expect("CSR encodes")
}

fn request(index: usize, csr: &str) -> CertificateRequest {
    let yaml = format!(
        "apiVersion: cert-manager.io/v1\n\
         kind: CertificateRequest\n\
         metadata:\n  name: app-{index}\n  namespace: apps\n  uid: 00000000-0000-4000-8000-{index:012}\n  \
         generation: 1\n  resourceVersion: \"{index}\"\n\
         spec:\n  request: \"\"\n  duration: 2160h\n  usages: [digital signature, key encipherment, server auth]\n  \
         issuerRef: {{group: privateca.issuer.dev, kind: PrivateCA, name: main}}\n\
         status:\n  conditions:\n  - {{type: Approved, status: \"True\", reason: cert-manager.io}}\n"
    );
    let mut request: CertificateRequest = serde_yaml::from_str(&yaml).expect("request parses");
    request.spec.request = ByteString(csr.as_bytes().to_vec());
    request
}

/// CPU time of this thread in nanoseconds, from /proc/self/schedstat.
fn cpu_nanos() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Peak resident set size in KiB, from VmHWM in /proc/self/status.
fn vm_hwm_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
