//! Tests of the pure decisions: issuer resolution, gating, CA readiness, template
//! choice, validity and status updates, all at a fixed instant.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::api::{CaSpec, CaStatus, CertificateRequest, CertificateRequestCondition, PrivateCA};
use crate::pki::{
    CaInfo, Clock, FixedClock, KeyAlgorithm, SerialNumber, SigningAlgorithm, Template,
};

use super::decide::{self, CaView, Gate, IssuerKind};
use super::error::{Error, REASON_PENDING};
use super::template::{self, Source};
use super::{needs_work, strip_for_cache};

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00.750 UTC);

fn clock() -> FixedClock {
    FixedClock(NOW)
}

/// Builds an approved request for PrivateCA `main` in namespace `apps`.
fn request() -> CertificateRequest {
    serde_yaml::from_str(
        r#"
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata:
  name: web
  namespace: apps
  uid: 6d1f3c52-4f7e-4a4b-9a8e-1f2d3c4b5a69
  generation: 3
  resourceVersion: "42"
spec:
  request: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K
  issuerRef:
    group: privateca.issuer.dev
    kind: PrivateCA
    name: main
status:
  conditions:
  - type: Approved
    status: "True"
    reason: cert-manager.io
    message: Certificate request has been approved by cert-manager.io
"#,
    )
    .expect("fixture parses")
}

fn with_conditions(
    mut request: CertificateRequest,
    conditions: &[(&str, &str, Option<&str>)],
) -> CertificateRequest {
    let status = request.status.get_or_insert_with(Default::default);
    status.conditions = conditions
        .iter()
        .map(|(type_, status, reason)| CertificateRequestCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            ..CertificateRequestCondition::default()
        })
        .collect();
    request
}

fn with_usages(mut request: CertificateRequest, usages: &[&str]) -> CertificateRequest {
    request.spec.usages = Some(usages.iter().map(|u| u.to_string()).collect());
    request
}

fn with_annotation(mut request: CertificateRequest, value: &str) -> CertificateRequest {
    request
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            crate::api::TEMPLATE_ANNOTATION.to_string(),
            value.to_string(),
        );
    request
}

/// Builds an Active PrivateCA `main` in `apps` whose status is up to date.
fn private_ca(extra_spec: &str) -> PrivateCA {
    let yaml = format!(
        r#"
apiVersion: privateca.issuer.dev/v1alpha1
kind: PrivateCA
metadata:
  name: main
  namespace: apps
  uid: 0a0a0a0a-0000-4000-8000-000000000001
  generation: 2
spec:
  subject:
    commonName: Apps Root
{extra_spec}
status:
  state: Active
  observedGeneration: 2
"#
    );
    serde_yaml::from_str(&yaml).expect("CA fixture parses")
}

fn view(ca: &PrivateCA) -> CaView<'_> {
    CaView {
        kind: IssuerKind::PrivateCa,
        namespace: ca.metadata.namespace.as_deref(),
        name: ca.metadata.name.as_deref().unwrap_or_default(),
        uid: ca.metadata.uid.as_deref(),
        spec: &ca.spec,
        status: ca.status.as_ref(),
        generation: ca.metadata.generation,
    }
}

fn info(key_algorithm: KeyAlgorithm, path_len: Option<u8>) -> CaInfo {
    CaInfo {
        subject: "CN=Apps Root".to_string(),
        serial: SerialNumber::from_bytes(&[0x01, 0x02]),
        not_before: NOW - Duration::days(10),
        not_after: NOW + Duration::days(3650),
        path_len,
        is_root: true,
        key_identifier: vec![1, 2, 3],
        key_algorithm,
    }
}

fn spec(extra: &str) -> CaSpec {
    private_ca(extra).spec
}

fn selected(
    request: &CertificateRequest,
    extra_spec: &str,
    path_len: Option<u8>,
) -> Result<template::Selection, Error> {
    template::select(request, "PrivateCA apps/main", &spec(extra_spec), path_len)
}

fn permanent_message(result: Result<template::Selection, Error>) -> String {
    match result {
        Err(Error::Permanent(message)) => message,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

// Issuer resolution.

#[test]
fn issuer_private_ca_in_request_namespace() {
    let target = decide::issuer_target(&request()).expect("ours");
    assert_eq!(target.kind, IssuerKind::PrivateCa);
    assert_eq!(target.namespace.as_deref(), Some("apps"));
    assert_eq!(target.name, "main");
}

#[test]
fn issuer_empty_kind_means_private_ca() {
    let mut request = request();
    request.spec.issuer_ref.kind = None;
    let target = decide::issuer_target(&request).expect("ours");
    assert_eq!(target.kind, IssuerKind::PrivateCa);
    request.spec.issuer_ref.kind = Some(String::new());
    assert_eq!(
        decide::issuer_target(&request).map(|t| t.kind),
        Some(IssuerKind::PrivateCa)
    );
}

#[test]
fn issuer_cluster_ca_has_no_namespace() {
    let mut request = request();
    request.spec.issuer_ref.kind = Some("ClusterPrivateCA".to_string());
    let target = decide::issuer_target(&request).expect("ours");
    assert_eq!(target.kind, IssuerKind::ClusterPrivateCa);
    assert_eq!(target.namespace, None);
}

#[test]
fn issuer_foreign_group_is_ignored() {
    let mut request = request();
    request.spec.issuer_ref.group = Some("cert-manager.io".to_string());
    assert_eq!(decide::issuer_target(&request), None);
    request.spec.issuer_ref.group = Some("awspca.cert-manager.io".to_string());
    assert_eq!(decide::issuer_target(&request), None);
}

#[test]
fn issuer_empty_group_is_ignored() {
    let mut request = request();
    request.spec.issuer_ref.group = None;
    assert_eq!(decide::issuer_target(&request), None);
    request.spec.issuer_ref.group = Some(String::new());
    assert_eq!(decide::issuer_target(&request), None);
}

#[test]
fn issuer_other_kind_is_ignored() {
    let mut request = request();
    request.spec.issuer_ref.kind = Some("Issuer".to_string());
    assert_eq!(decide::issuer_target(&request), None);
}

#[test]
fn issuer_not_found_message_names_namespace() {
    let target = decide::issuer_target(&request()).expect("ours");
    let message = decide::issuer_not_found(&target).to_string();
    assert_eq!(
        message,
        "PrivateCA apps/main not found in the request's namespace; create it or fix issuerRef"
    );
}

// Gating on the request's status.

#[test]
fn gate_approved_proceeds() {
    assert_eq!(decide::gate(&request()), Gate::Proceed);
}

#[test]
fn gate_unapproved_waits() {
    let request = with_conditions(request(), &[]);
    assert_eq!(decide::gate(&request), Gate::AwaitApproval);
    let request = with_conditions(request, &[("Approved", "False", None)]);
    assert_eq!(decide::gate(&request), Gate::AwaitApproval);
}

#[test]
fn gate_denied_without_approved_denies() {
    let request = with_conditions(request(), &[("Denied", "True", Some("policy"))]);
    assert_eq!(decide::gate(&request), Gate::Deny);
}

#[test]
fn gate_skips_ready_true() {
    let request = with_conditions(
        request(),
        &[
            ("Approved", "True", None),
            ("Ready", "True", Some("Issued")),
        ],
    );
    assert!(matches!(decide::gate(&request), Gate::Skip(_)));
}

#[test]
fn gate_skips_failed() {
    let request = with_conditions(
        request(),
        &[
            ("Approved", "True", None),
            ("Ready", "False", Some("Failed")),
        ],
    );
    assert!(matches!(decide::gate(&request), Gate::Skip(_)));
}

#[test]
fn gate_skips_already_denied() {
    let request = with_conditions(
        request(),
        &[("Denied", "True", None), ("Ready", "False", Some("Denied"))],
    );
    assert!(matches!(decide::gate(&request), Gate::Skip(_)));
}

#[test]
fn gate_skips_invalid_request() {
    let request = with_conditions(
        request(),
        &[("Approved", "True", None), ("InvalidRequest", "True", None)],
    );
    assert!(matches!(decide::gate(&request), Gate::Skip(_)));
}

#[test]
fn gate_skips_request_with_certificate() {
    let mut request = request();
    if let Some(status) = request.status.as_mut() {
        status.certificate = Some(k8s_openapi::ByteString(
            b"-----BEGIN CERTIFICATE-----".to_vec(),
        ));
    }
    assert!(matches!(decide::gate(&request), Gate::Skip(_)));
}

#[test]
fn gate_retries_pending() {
    let request = with_conditions(
        request(),
        &[
            ("Approved", "True", None),
            ("Ready", "False", Some("Pending")),
        ],
    );
    assert_eq!(decide::gate(&request), Gate::Proceed);
}

// CA readiness.

#[test]
fn ca_active_and_current_is_ready() {
    let ca = private_ca("");
    assert!(decide::ca_ready(&view(&ca)).is_ok());
}

#[test]
fn ca_not_active_is_pending_with_state() {
    let mut ca = private_ca("");
    if let Some(status) = ca.status.as_mut() {
        status.state = Some(crate::api::CaState::Creating);
    }
    let error = decide::ca_ready(&view(&ca)).expect_err("not ready");
    assert!(matches!(error, Error::Pending(_)));
    assert!(error.to_string().contains("Creating"), "{error}");
}

#[test]
fn ca_without_status_is_pending() {
    let mut ca = private_ca("");
    ca.status = None;
    let error = decide::ca_ready(&view(&ca)).expect_err("not ready");
    assert!(matches!(error, Error::Pending(_)));
}

#[test]
fn ca_stale_generation_is_pending() {
    let mut ca = private_ca("");
    ca.status = Some(CaStatus {
        state: Some(crate::api::CaState::Active),
        observed_generation: Some(1),
        ..CaStatus::default()
    });
    let error = decide::ca_ready(&view(&ca)).expect_err("stale");
    assert!(matches!(error, Error::Pending(_)));
    assert!(error.to_string().contains("generation 1"), "{error}");
}

// Go durations.

#[test]
fn go_duration_parses_units() {
    let cases = [
        ("2160h", Duration::hours(2160)),
        ("1h30m", Duration::minutes(90)),
        ("1.5h", Duration::minutes(90)),
        ("90s", Duration::seconds(90)),
        ("1h0m0s", Duration::hours(1)),
        ("500ms", Duration::milliseconds(500)),
        ("2us", Duration::microseconds(2)),
        ("+10m", Duration::minutes(10)),
        ("2160h0m0s", Duration::hours(2160)),
    ];
    for (input, expected) in cases {
        assert_eq!(decide::parse_go_duration(input), Ok(expected), "{input}");
    }
}

#[test]
fn go_duration_rejects_malformed() {
    for input in ["", "abc", "10", "-1h", "0s", "1d", "1.2.3h", "h", "1hh"] {
        assert!(
            decide::parse_go_duration(input).is_err(),
            "{input} should be rejected"
        );
    }
}

#[test]
fn duration_defaults_to_2160h() {
    assert_eq!(
        decide::requested_duration(&request()).ok(),
        Some(Duration::hours(2160))
    );
}

#[test]
fn duration_invalid_is_permanent_naming_value() {
    let mut request = request();
    request.spec.duration = Some("90 days".to_string());
    let error = decide::requested_duration(&request).expect_err("invalid");
    assert!(matches!(error, Error::Permanent(_)));
    assert!(error.to_string().contains("\"90 days\""), "{error}");
}

// Validity plan.

#[test]
fn plan_one_hour_is_exact() {
    let mut request = request();
    request.spec.duration = Some("1h".to_string());
    let ca = private_ca("");
    let plan = decide::plan_issue(
        &request,
        &view(&ca),
        &info(KeyAlgorithm::EcPrime256v1, None),
        clock().now(),
    )
    .expect("plan");
    assert_eq!(plan.not_after - plan.not_before, Duration::hours(1));
    assert_eq!(plan.not_before, datetime!(2026-03-01 11:59:00 UTC));
}

#[test]
fn plan_default_is_2160h() {
    let ca = private_ca("");
    let plan = decide::plan_issue(
        &request(),
        &view(&ca),
        &info(KeyAlgorithm::EcPrime256v1, None),
        NOW,
    )
    .expect("plan");
    assert_eq!(plan.not_after - plan.not_before, Duration::hours(2160));
}

#[test]
fn plan_uses_ca_backdate() {
    let ca = private_ca("  notBeforeBackdate: 5m");
    let plan = decide::plan_issue(
        &request(),
        &view(&ca),
        &info(KeyAlgorithm::EcPrime256v1, None),
        NOW,
    )
    .expect("plan");
    assert_eq!(plan.not_before, datetime!(2026-03-01 11:55:00 UTC));
}

#[test]
fn plan_young_ca_keeps_lifetime_exact() {
    let mut request = request();
    request.spec.duration = Some("1h".to_string());
    let ca = private_ca("");
    let mut young = info(KeyAlgorithm::EcPrime256v1, None);
    young.not_before = datetime!(2026-03-01 11:59:30 UTC);
    let plan = decide::plan_issue(&request, &view(&ca), &young, NOW).expect("plan");
    assert_eq!(plan.not_before, young.not_before);
    assert_eq!(plan.not_after - plan.not_before, Duration::hours(1));
}

#[test]
fn plan_rejects_backdate_over_one_hour() {
    let ca = private_ca("  notBeforeBackdate: 2h");
    let error = decide::plan_issue(
        &request(),
        &view(&ca),
        &info(KeyAlgorithm::EcPrime256v1, None),
        NOW,
    )
    .expect_err("too long");
    assert!(matches!(error, Error::Pending(_)));
    assert!(error.to_string().contains("1h"), "{error}");
}

#[test]
fn plan_signs_with_ca_key_family() {
    let ca = private_ca("  keyAlgorithm: RSA_2048");
    let plan = decide::plan_issue(
        &request(),
        &view(&ca),
        &info(KeyAlgorithm::Rsa2048, None),
        NOW,
    )
    .expect("plan");
    assert_eq!(plan.signing_algorithm, SigningAlgorithm::Sha256WithRsa);
}

#[test]
fn plan_marks_short_lived_ca() {
    let ca = private_ca("  usageMode: ShortLivedCertificate");
    let plan = decide::plan_issue(
        &request(),
        &view(&ca),
        &info(KeyAlgorithm::EcPrime256v1, None),
        NOW,
    )
    .expect("plan");
    assert!(plan.short_lived);
}

// Templates.

#[test]
fn template_annotation_by_name() {
    let request = with_annotation(request(), "EndEntityClientAuthCertificate/V1");
    let selection = selected(&request, "", None).expect("allowed");
    assert_eq!(selection.template, Template::EndEntityClientAuth);
    assert_eq!(selection.source, Source::Annotation);
}

#[test]
fn template_annotation_by_arn() {
    let request = with_annotation(
        request(),
        "arn:aws:acm-pca:::template/CodeSigningCertificate/V1",
    );
    let selection = selected(&request, "", None).expect("allowed");
    assert_eq!(selection.template, Template::CodeSigning);
}

#[test]
fn template_annotation_ca_template_needs_listing() {
    let request = with_annotation(request(), "SubordinateCACertificate_PathLen0/V1");
    let message = permanent_message(selected(&request, "", None));
    assert!(message.contains("not allowed"), "{message}");
    assert!(message.contains("spec.allowedTemplates"), "{message}");
    let listed = "  allowedTemplates: [SubordinateCACertificate_PathLen0/V1]";
    let selection = selected(&request, listed, None).expect("listed");
    assert_eq!(selection.template, Template::SubordinateCa { path_len: 0 });
}

#[test]
fn template_annotation_unknown_is_permanent() {
    let request = with_annotation(request(), "EndEntityCertificate/V9");
    let message = permanent_message(selected(&request, "", None));
    assert!(message.contains("EndEntityCertificate/V9"), "{message}");
}

#[test]
fn template_server_auth_alone() {
    let request = with_usages(request(), &["server auth"]);
    let selection = selected(&request, "", None).expect("expressible");
    assert_eq!(selection.template, Template::EndEntityServerAuth);
    assert_eq!(selection.source, Source::Usages);
}

#[test]
fn template_server_auth_ignores_key_usages() {
    let request = with_usages(
        request(),
        &["digital signature", "key encipherment", "server auth"],
    );
    let selection = selected(&request, "", None).expect("expressible");
    assert_eq!(selection.template, Template::EndEntityServerAuth);
}

#[test]
fn template_client_auth_alone() {
    let request = with_usages(request(), &["client auth"]);
    assert_eq!(
        selected(&request, "", None).map(|s| s.template).ok(),
        Some(Template::EndEntityClientAuth)
    );
}

#[test]
fn template_both_auths_any_order() {
    let first = with_usages(request(), &["client auth", "server auth"]);
    let second = with_usages(request(), &["server auth", "client auth"]);
    assert_eq!(
        selected(&first, "", None).map(|s| s.template).ok(),
        Some(Template::EndEntity)
    );
    assert_eq!(
        selected(&second, "", None).map(|s| s.template).ok(),
        Some(Template::EndEntity)
    );
}

#[test]
fn template_code_and_ocsp_signing() {
    let code = with_usages(request(), &["digital signature", "code signing"]);
    let ocsp = with_usages(request(), &["ocsp signing"]);
    assert_eq!(
        selected(&code, "", None).map(|s| s.template).ok(),
        Some(Template::CodeSigning)
    );
    assert_eq!(
        selected(&ocsp, "", None).map(|s| s.template).ok(),
        Some(Template::OcspSigning)
    );
}

#[test]
fn template_default_without_usages() {
    let selection = selected(&request(), "", None).expect("default");
    assert_eq!(selection.template, Template::EndEntity);
    assert_eq!(selection.source, Source::CaDefault);
    let key_only = with_usages(request(), &["digital signature", "key encipherment"]);
    assert_eq!(
        selected(&key_only, "", None).map(|s| s.template).ok(),
        Some(Template::EndEntity)
    );
}

#[test]
fn template_default_follows_ca() {
    let selection = selected(
        &request(),
        "  defaultTemplate: EndEntityServerAuthCertificate/V1",
        None,
    )
    .expect("default");
    assert_eq!(selection.template, Template::EndEntityServerAuth);
}

#[test]
fn template_unexpressible_usages_fail() {
    for usages in [
        vec!["email protection"],
        vec!["timestamping"],
        vec!["any"],
        vec!["server auth", "code signing"],
    ] {
        let request = with_usages(request(), &usages);
        let message = permanent_message(selected(&request, "", None));
        for usage in &usages {
            assert!(message.contains(usage), "{message} should name {usage}");
        }
        assert!(
            message.contains("EndEntityServerAuthCertificate/V1"),
            "{message}"
        );
    }
}

#[test]
fn template_usage_outside_allowed_list_fails() {
    let request = with_usages(request(), &["code signing"]);
    let message = permanent_message(selected(
        &request,
        "  allowedTemplates: [EndEntityCertificate/V1]",
        None,
    ));
    assert!(message.contains("CodeSigningCertificate/V1"), "{message}");
}

#[test]
fn template_is_ca_needs_allowed_ca_template() {
    let mut request = request();
    request.spec.is_ca = Some(true);
    let message = permanent_message(selected(&request, "", None));
    assert_eq!(
        message,
        "CA PrivateCA apps/main does not allow issuing CA certificates; \
         add SubordinateCACertificate_PathLen0/V1 to spec.allowedTemplates"
    );
}

#[test]
fn template_is_ca_with_allowed_template() {
    let mut request = with_usages(
        request(),
        &["digital signature", "key encipherment", "cert sign"],
    );
    request.spec.is_ca = Some(true);
    let listed =
        "  allowedTemplates: [EndEntityCertificate/V1, SubordinateCACertificate_PathLen0/V1]";
    let selection = selected(&request, listed, None).expect("allowed");
    assert_eq!(selection.template, Template::SubordinateCa { path_len: 0 });
    assert_eq!(selection.source, Source::IsCa);
}

#[test]
fn template_is_ca_respects_ca_path_len() {
    let mut request = request();
    request.spec.is_ca = Some(true);
    let listed = "  allowedTemplates: [SubordinateCACertificate_PathLen0/V1]";
    let message = permanent_message(selected(&request, listed, Some(0)));
    assert!(message.contains("pathLenConstraint 0"), "{message}");
    assert!(selected(&request, listed, Some(1)).is_ok());
}

#[test]
fn template_invalid_allowed_list_is_pending() {
    let result = selected(&request(), "  allowedTemplates: [NoSuchTemplate/V1]", None);
    assert!(matches!(result, Err(Error::Pending(_))), "{result:?}");
}

// Status updates.

#[test]
fn ready_update_keeps_other_conditions() {
    let conditions = decide::ready_update(&request(), "False", REASON_PENDING, "waiting", NOW);
    assert_eq!(conditions.len(), 2);
    assert_eq!(conditions[0].type_, "Approved");
    assert_eq!(conditions[0].reason.as_deref(), Some("cert-manager.io"));
    let ready = &conditions[1];
    assert_eq!(ready.type_, "Ready");
    assert_eq!(ready.status, "False");
    assert_eq!(ready.observed_generation, Some(3));
    assert_eq!(ready.last_transition_time, Some(decide::kube_time(NOW)));
}

#[test]
fn ready_update_keeps_transition_time_when_status_same() {
    let earlier = NOW - Duration::hours(1);
    let first = decide::ready_update(&request(), "False", REASON_PENDING, "waiting", earlier);
    let mut request = request();
    if let Some(status) = request.status.as_mut() {
        status.conditions = first;
    }
    let second = decide::ready_update(&request, "False", REASON_PENDING, "still waiting", NOW);
    assert_eq!(
        second[1].last_transition_time,
        Some(decide::kube_time(earlier))
    );
    let third = decide::ready_update(&request, "True", "Issued", "done", NOW);
    assert_eq!(third[1].last_transition_time, Some(decide::kube_time(NOW)));
}

#[test]
fn pending_written_only_on_change() {
    let conditions = decide::ready_update(&request(), "False", REASON_PENDING, "waiting", NOW);
    let mut request = request();
    assert!(decide::pending_changes(&request, "waiting"));
    if let Some(status) = request.status.as_mut() {
        status.conditions = conditions;
    }
    assert!(!decide::pending_changes(&request, "waiting"));
    assert!(decide::pending_changes(
        &request,
        "waiting for something else"
    ));
}

#[test]
fn denied_message_quotes_approver() {
    let mut request = with_conditions(request(), &[("Denied", "True", Some("policy"))]);
    if let Some(status) = request.status.as_mut() {
        status.conditions[0].message = Some("not in allow list".to_string());
    }
    assert!(decide::denied_message(&request).contains("not in allow list"));
}

// Cache stripping.

#[test]
fn strip_drops_certificate_bytes_but_keeps_marker() {
    let mut request = with_conditions(
        request(),
        &[
            ("Approved", "True", None),
            ("Ready", "True", Some("Issued")),
        ],
    );
    request.metadata.managed_fields = Some(vec![Default::default()]);
    if let Some(status) = request.status.as_mut() {
        status.certificate = Some(k8s_openapi::ByteString(vec![b'x'; 4096]));
        status.ca = Some(k8s_openapi::ByteString(vec![b'y'; 4096]));
    }
    strip_for_cache(&mut request);
    assert_eq!(request.metadata.managed_fields, None);
    let status = request.status.as_ref().expect("status kept");
    assert_eq!(status.certificate.as_ref().map(|c| c.0.len()), Some(0));
    assert_eq!(status.ca, None);
    assert!(request.spec.request.0.is_empty());
    assert!(matches!(decide::gate(&request), Gate::Skip(_)));
    assert!(!needs_work(&request));
}

#[test]
fn strip_keeps_csr_of_pending_request() {
    let mut request = request();
    let csr = request.spec.request.clone();
    strip_for_cache(&mut request);
    assert_eq!(request.spec.request, csr);
    assert!(needs_work(&request));
}

#[test]
fn strip_drops_csr_of_foreign_request() {
    let mut request = request();
    request.spec.issuer_ref.group = Some("cert-manager.io".to_string());
    strip_for_cache(&mut request);
    assert!(request.spec.request.0.is_empty());
    assert!(!needs_work(&request));
}

// Requeue on CA changes.

#[test]
fn ca_change_requeues_waiting_requests_only() {
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;

    let (store, mut writer) = reflector::store::<CertificateRequest>();
    let waiting = request();
    let mut issued = with_conditions(
        request(),
        &[
            ("Approved", "True", None),
            ("Ready", "True", Some("Issued")),
        ],
    );
    issued.metadata.name = Some("done".to_string());
    let mut other_ca = request();
    other_ca.metadata.name = Some("other".to_string());
    other_ca.spec.issuer_ref.name = "second".to_string();
    let mut other_namespace = request();
    other_namespace.metadata.namespace = Some("elsewhere".to_string());
    let mut cluster = request();
    cluster.metadata.name = Some("cluster".to_string());
    cluster.spec.issuer_ref.kind = Some("ClusterPrivateCA".to_string());
    for object in [waiting, issued, other_ca, other_namespace, cluster] {
        writer.apply_watcher_event(&Event::Apply(object));
    }

    let target = decide::IssuerTarget {
        kind: IssuerKind::PrivateCa,
        namespace: Some("apps".to_string()),
        name: "main".to_string(),
    };
    let refs = super::requests_waiting_on(&store, &target);
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0].name, "web");
    assert_eq!(refs[0].namespace.as_deref(), Some("apps"));

    let cluster_target = decide::IssuerTarget {
        kind: IssuerKind::ClusterPrivateCa,
        namespace: None,
        name: "main".to_string(),
    };
    let refs = super::requests_waiting_on(&store, &cluster_target);
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0].name, "cluster");
}
