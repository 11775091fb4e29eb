//! Issuances per second on one core: parse and verify the CSR, build the
//! certificate, sign it. Also times the CSR check and the CA signature alone, so the
//! rest of the pipeline can be read off the difference.
//!
//! Run with `cargo bench --bench issue`.

#![allow(clippy::unwrap_used, reason = "a benchmark aborts on any setup error")]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use privateca_issuer::pki::{
    CertificateAuthority, CsrInfo, ExpiryPolicy, FixedClock, IssueRequest, KeyAlgorithm,
    SigningAlgorithm, SubjectName, Template, Validity, ValidityType,
};
use time::OffsetDateTime;

/// A case: the CA key, its signing algorithm, and the CSR key rcgen makes.
struct Case {
    name: &'static str,
    ca_key: KeyAlgorithm,
    signing: SigningAlgorithm,
    csr_key: fn() -> rcgen::KeyPair,
}

const CASES: [Case; 2] = [
    Case {
        name: "p256",
        ca_key: KeyAlgorithm::EcPrime256v1,
        signing: SigningAlgorithm::Sha256WithEcdsa,
        csr_key: || rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
    },
    Case {
        name: "rsa2048",
        ca_key: KeyAlgorithm::Rsa2048,
        signing: SigningAlgorithm::Sha256WithRsa,
        csr_key: || {
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .unwrap()
        },
    },
];

/// Makes a CSR like cert-manager's: a CN and two DNS SANs.
fn csr_pem(case: &Case) -> String {
    let key = (case.csr_key)();
    let mut params = rcgen::CertificateParams::new(vec![
        "bench.example".to_string(),
        "www.bench.example".to_string(),
    ])
    .unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "bench.example");
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn root(case: &Case, now: OffsetDateTime) -> CertificateAuthority {
    CertificateAuthority::create_root(
        &SubjectName::parse("CN=Bench Root").unwrap(),
        case.ca_key,
        case.signing,
        Validity {
            value: 10,
            kind: ValidityType::Years,
        },
        &FixedClock(now),
    )
    .unwrap()
}

fn bench_issue(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let clock = FixedClock(now);
    for case in &CASES {
        let ca = root(case, now);
        let csr = csr_pem(case);
        let request = IssueRequest {
            csr: csr.as_bytes(),
            template: Template::EndEntity,
            signing_algorithm: case.signing,
            not_before: now - time::Duration::minutes(1),
            not_after: now + time::Duration::days(90),
            expiry_policy: ExpiryPolicy::Reject,
        };
        let tbs_sized_message = vec![0x5a_u8; 600];

        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Elements(1));
        group.measurement_time(Duration::from_secs(10));
        group.bench_function("issue", |b| {
            b.iter(|| ca.issue(black_box(&request), false, &clock).unwrap())
        });
        group.bench_function("csr_parse_verify", |b| {
            b.iter(|| CsrInfo::parse(black_box(csr.as_bytes())).unwrap())
        });
        group.bench_function("ca_sign", |b| {
            b.iter(|| {
                ca.key()
                    .sign(case.signing, black_box(&tbs_sized_message))
                    .unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_issue);
criterion_main!(benches);
