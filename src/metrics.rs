//! Prometheus metrics of the controller.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Every metric the controller exports, registered in one registry.
#[derive(Clone)]
pub struct Metrics {
    /// The registry served on the metrics endpoint.
    pub registry: Registry,
    /// Certificates issued, by CA kind, namespace, name and template.
    pub certificates_issued: IntCounterVec,
    /// Time to parse, verify and sign one certificate, by CA kind.
    pub signing_duration: HistogramVec,
    /// Final outcome of each handled CertificateRequest: issued, failed, denied, pending.
    pub request_outcomes: IntCounterVec,
    /// Reconcile errors, by controller and error kind.
    pub reconcile_errors: IntCounterVec,
    /// notAfter of each CA certificate, Unix seconds.
    pub ca_not_after: IntGaugeVec,
    /// 1 while a CA is Ready, else 0.
    pub ca_ready: IntGaugeVec,
}

impl Metrics {
    /// Creates the metrics and registers them in a new registry.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let ca_labels = ["ca_kind", "ca_namespace", "ca_name"];
        let certificates_issued = IntCounterVec::new(
            Opts::new(
                "privateca_issuer_certificates_issued_total",
                "Certificates issued.",
            ),
            &["ca_kind", "ca_namespace", "ca_name", "template"],
        )?;
        let signing_duration = HistogramVec::new(
            HistogramOpts::new(
                "privateca_issuer_signing_duration_seconds",
                "Time to verify a CSR and sign its certificate.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["ca_kind"],
        )?;
        let request_outcomes = IntCounterVec::new(
            Opts::new(
                "privateca_issuer_request_outcomes_total",
                "CertificateRequests handled, by outcome.",
            ),
            &["outcome"],
        )?;
        let reconcile_errors = IntCounterVec::new(
            Opts::new(
                "privateca_issuer_reconcile_errors_total",
                "Reconcile errors.",
            ),
            &["controller", "error"],
        )?;
        let ca_not_after = IntGaugeVec::new(
            Opts::new(
                "privateca_issuer_ca_not_after_timestamp_seconds",
                "notAfter of the CA certificate, Unix seconds.",
            ),
            &ca_labels,
        )?;
        let ca_ready = IntGaugeVec::new(
            Opts::new(
                "privateca_issuer_ca_ready",
                "1 while the CA is Ready, else 0.",
            ),
            &ca_labels,
        )?;
        registry.register(Box::new(certificates_issued.clone()))?;
        registry.register(Box::new(signing_duration.clone()))?;
        registry.register(Box::new(request_outcomes.clone()))?;
        registry.register(Box::new(reconcile_errors.clone()))?;
        registry.register(Box::new(ca_not_after.clone()))?;
        registry.register(Box::new(ca_ready.clone()))?;
        Ok(Self {
            registry,
            certificates_issued,
            signing_duration,
            request_outcomes,
            reconcile_errors,
            ca_not_after,
            ca_ready,
        })
    }
}

/// Routes `/metrics`: every metric of `metrics` in the Prometheus text format.
pub fn router(metrics: Metrics) -> axum::Router {
    use axum::http::{StatusCode, header};
    use prometheus::{Encoder, TextEncoder};

    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let families = metrics.registry.gather();
            async move {
                let encoder = TextEncoder::new();
                let mut body = Vec::new();
                match encoder.encode(&families, &mut body) {
                    Ok(()) => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, encoder.format_type().to_string())],
                        body,
                    ),
                    Err(error) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        [(header::CONTENT_TYPE, "text/plain".to_string())],
                        format!("encoding metrics failed: {error}").into_bytes(),
                    ),
                }
            }
        }),
    )
}
