//! Issuance validity: the CA's notAfter, short-lived mode, and the request's times.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails on the first unexpected error"
)]

mod pki_support;

use std::sync::OnceLock;

use pki_support::*;
use privateca_issuer::pki::{
    CaKey, CertificateAuthority, ErrorKind, ExpiryPolicy, FixedClock, IssueRequest, KeyAlgorithm,
    SigningAlgorithm, SubjectName, Template, Validity, ValidityType,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Returns a P-256 root created at `test_now()` that lives 30 days.
fn short_root() -> &'static CertificateAuthority {
    static ROOT: OnceLock<CertificateAuthority> = OnceLock::new();
    ROOT.get_or_init(|| {
        CertificateAuthority::create_root(
            &SubjectName::parse("CN=Short Root").unwrap(),
            KeyAlgorithm::EcPrime256v1,
            SigningAlgorithm::Sha256WithEcdsa,
            Validity {
                value: 30,
                kind: ValidityType::Days,
            },
            &FixedClock(test_now()),
        )
        .unwrap()
    })
}

fn csr() -> &'static str {
    static CSR: OnceLock<String> = OnceLock::new();
    CSR.get_or_init(|| p256_csr("validity.example"))
}

fn window(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    policy: ExpiryPolicy,
) -> IssueRequest<'static> {
    IssueRequest {
        csr: csr().as_bytes(),
        template: Template::EndEntity,
        signing_algorithm: SigningAlgorithm::Sha256WithEcdsa,
        not_before,
        not_after,
        expiry_policy: policy,
    }
}

fn certificate_times(der: &[u8]) -> (OffsetDateTime, OffsetDateTime) {
    let (_, certificate) = X509Certificate::from_der(der).unwrap();
    (
        certificate.validity().not_before.to_datetime(),
        certificate.validity().not_after.to_datetime(),
    )
}

#[test]
fn issue_uses_requested_times() {
    // notAfter - notBefore is exactly the requested duration.
    let clock = FixedClock(test_now());
    let not_before = test_now() - Duration::minutes(1);
    let not_after = not_before + Duration::hours(1);
    let issued = p256_root()
        .issue(
            &window(not_before, not_after, ExpiryPolicy::Cap),
            false,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_before, not_before);
    assert_eq!(issued.not_after, not_after);
    assert!(issued.capped.is_none());
    assert_eq!(
        certificate_times(&issued.certificate),
        (not_before, not_after)
    );
}

#[test]
fn issue_truncates_to_seconds() {
    let clock = FixedClock(test_now());
    let not_before = test_now() + Duration::milliseconds(900);
    let not_after = test_now() + Duration::days(2) + Duration::milliseconds(700);
    let issued = p256_root()
        .issue(
            &window(not_before, not_after, ExpiryPolicy::Reject),
            false,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_before, test_now());
    assert_eq!(issued.not_after, test_now() + Duration::days(2));
}

#[test]
fn ca_expiry_rejected() {
    let clock = FixedClock(test_now());
    let ca = short_root();
    let not_after = test_now() + Duration::hours(8760);
    let error = ca
        .issue(
            &window(test_now(), not_after, ExpiryPolicy::Reject),
            false,
            &clock,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation);
    assert!(
        error.message().contains("2027-06-15T12:00:00Z"),
        "{}",
        error.message()
    );
    assert!(
        error.message().contains("2026-07-15T12:00:00Z"),
        "{}",
        error.message()
    );
}

#[test]
fn ca_expiry_capped() {
    // A CA with 30 days left and an 8760h request ends at the CA's notAfter.
    let clock = FixedClock(test_now());
    let ca = short_root();
    let not_after = test_now() + Duration::hours(8760);
    let issued = ca
        .issue(
            &window(test_now(), not_after, ExpiryPolicy::Cap),
            false,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_after, ca.info().not_after);
    let cap = issued.capped.unwrap();
    assert_eq!(cap.requested, not_after);
    assert_eq!(cap.issued, ca.info().not_after);
    assert_eq!(cap.reason, "the CA's notAfter");
    assert_eq!(
        certificate_times(&issued.certificate).1,
        ca.info().not_after
    );
}

#[test]
fn short_lived_rejected() {
    let clock = FixedClock(test_now());
    let error = p256_root()
        .issue(
            &window(
                test_now(),
                test_now() + Duration::days(8),
                ExpiryPolicy::Reject,
            ),
            true,
            &clock,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation);
    assert!(error.message().contains("7 days"), "{}", error.message());
}

#[test]
fn short_lived_capped() {
    let clock = FixedClock(test_now());
    let issued = p256_root()
        .issue(
            &window(
                test_now(),
                test_now() + Duration::days(90),
                ExpiryPolicy::Cap,
            ),
            true,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_after, test_now() + Duration::days(7));
    assert_eq!(
        issued.capped.unwrap().reason,
        "the 7-day limit of a short-lived CA"
    );
}

#[test]
fn short_lived_exactly_seven_days() {
    let clock = FixedClock(test_now());
    let issued = p256_root()
        .issue(
            &window(
                test_now(),
                test_now() + Duration::days(7),
                ExpiryPolicy::Reject,
            ),
            true,
            &clock,
        )
        .unwrap();
    assert!(issued.capped.is_none());
}

#[test]
fn short_lived_backdate_not_counted() {
    // notBefore one hour back: the 7 days still count from issuance.
    let clock = FixedClock(test_now() + Duration::hours(1));
    let issued = p256_root()
        .issue(
            &window(
                test_now(),
                test_now() + Duration::hours(1) + Duration::days(7),
                ExpiryPolicy::Reject,
            ),
            true,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_before, test_now());
    assert!(issued.capped.is_none());
}

#[test]
fn not_after_in_past_rejected() {
    // notAfter 30 minutes ago, after a notBefore 60 minutes ago.
    let clock = FixedClock(test_now() + Duration::hours(1));
    let error = p256_root()
        .issue(
            &window(
                test_now(),
                test_now() + Duration::minutes(30),
                ExpiryPolicy::Reject,
            ),
            false,
            &clock,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation);
    assert!(
        error.message().contains("expired on arrival"),
        "{}",
        error.message()
    );
}

#[test]
fn earlier_cap_wins() {
    // Short-lived CA whose own notAfter is 3 days away: the CA's notAfter applies.
    let clock = FixedClock(test_now() + Duration::days(27));
    let ca = short_root();
    let start = test_now() + Duration::days(27);
    let issued = ca
        .issue(
            &window(start, start + Duration::days(30), ExpiryPolicy::Cap),
            true,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_after, ca.info().not_after);
    assert_eq!(issued.capped.unwrap().reason, "the CA's notAfter");
}

#[test]
fn not_after_before_not_before_rejected() {
    let clock = FixedClock(test_now());
    for end in [test_now(), test_now() - Duration::hours(1)] {
        let error = p256_root()
            .issue(&window(test_now(), end, ExpiryPolicy::Cap), false, &clock)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert!(
            error.message().contains("is not after notBefore"),
            "{}",
            error.message()
        );
    }
}

#[test]
fn not_before_clamped_to_ca() {
    let clock = FixedClock(test_now());
    let ca = p256_root();
    let issued = ca
        .issue(
            &window(
                test_now() - Duration::days(30),
                test_now() + Duration::days(1),
                ExpiryPolicy::Reject,
            ),
            false,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_before, ca.info().not_before);
}

#[test]
fn expired_ca_rejected() {
    let ca = short_root();
    let clock = FixedClock(ca.info().not_after + Duration::seconds(1));
    let start = clock.0;
    let error = ca
        .issue(
            &window(start, start + Duration::days(1), ExpiryPolicy::Cap),
            false,
            &clock,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidState);
    assert!(
        error.message().contains("expired at 2026-07-15T12:00:00Z"),
        "{}",
        error.message()
    );
}

#[test]
fn end_date_2049_issued() {
    // Value=491231235959,Type=END_DATE on a CA that lives past 2049.
    let clock = FixedClock(test_now());
    let key = CaKey::generate(KeyAlgorithm::EcPrime256v1).unwrap();
    let ca = CertificateAuthority::create_root_with_key(
        key,
        &SubjectName::parse("CN=Long Root").unwrap(),
        SigningAlgorithm::Sha256WithEcdsa,
        Validity {
            value: 30,
            kind: ValidityType::Years,
        },
        &clock,
    )
    .unwrap();

    let validity: Validity = "Value=491231235959,Type=END_DATE".parse().unwrap();
    let not_after = validity.not_after(test_now()).unwrap();
    let issued = ca
        .issue(
            &window(test_now(), not_after, ExpiryPolicy::Reject),
            false,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_after, datetime!(2049-12-31 23:59:59 UTC));
    assert_eq!(
        certificate_times(&issued.certificate).1,
        datetime!(2049-12-31 23:59:59 UTC)
    );

    // 2056 needs GeneralizedTime, which openssl must read back.
    assert_eq!(ca.info().not_after, datetime!(2056-06-15 12:00:00 UTC));
    let text = openssl_text(&ca.certificate_pem());
    assert!(
        text.contains("Not After : Jun 15 12:00:00 2056 GMT"),
        "{text}"
    );
    let text = openssl_text(&issued.certificate_pem());
    assert!(
        text.contains("Not After : Dec 31 23:59:59 2049 GMT"),
        "{text}"
    );
}

#[test]
fn end_date_past_ca_rejected() {
    // The same END_DATE on a CA that ends first: the CA-expiry error.
    let clock = FixedClock(test_now());
    let validity: Validity = "Value=491231235959,Type=END_DATE".parse().unwrap();
    let not_after = validity.not_after(test_now()).unwrap();
    let error = p256_root()
        .issue(
            &window(test_now(), not_after, ExpiryPolicy::Reject),
            false,
            &clock,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation);
    assert!(
        error.message().contains("2049-12-31T23:59:59Z"),
        "{}",
        error.message()
    );
}

#[test]
fn months_from_january_31() {
    // Value=1,Type=MONTHS issued on Jan 31 ends on the last day of February at
    // the same time of day.
    let clock = FixedClock(datetime!(2027-01-31 10:11:12 UTC));
    let validity: Validity = "Value=1,Type=MONTHS".parse().unwrap();
    let key = CaKey::generate(KeyAlgorithm::EcPrime256v1).unwrap();
    let ca = CertificateAuthority::create_root_with_key(
        key,
        &SubjectName::parse("CN=Month Root").unwrap(),
        SigningAlgorithm::Sha256WithEcdsa,
        validity,
        &clock,
    )
    .unwrap();
    assert_eq!(ca.info().not_after, datetime!(2027-02-28 10:11:12 UTC));
    assert_eq!(ca.info().not_before, datetime!(2027-01-31 09:11:12 UTC));

    let not_after = validity.not_after(clock.0).unwrap();
    let issued = ca
        .issue(
            &window(clock.0, not_after, ExpiryPolicy::Reject),
            false,
            &clock,
        )
        .unwrap();
    assert_eq!(issued.not_after, datetime!(2027-02-28 10:11:12 UTC));
}

#[test]
fn year_9999_request_rejected() {
    let clock = FixedClock(test_now());
    let start = datetime!(9999-12-30 00:00:00 UTC);
    let end = datetime!(9999-12-31 23:59:59 UTC);
    for policy in [ExpiryPolicy::Reject, ExpiryPolicy::Cap] {
        let error = p256_root()
            .issue(&window(start, end, policy), true, &clock)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Validation, "{policy:?}");
    }
}
