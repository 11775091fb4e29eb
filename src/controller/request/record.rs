//! The issuance record: a Secret per request UID that makes signing idempotent.
//!
//! Before signing, the controller reads the record by name. After signing it
//! creates the record (create only, never update), and only then writes the
//! request's status. A crash, a status conflict or a second replica therefore
//! finds the record and reuses its certificate, so one request UID never gets two
//! certificates. The record is owned by the request, so garbage collection deletes
//! it with the request.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::api::CertificateRequest;

/// Prefix of every record name.
pub const RECORD_PREFIX: &str = "privateca-issuer-";
/// Label with the UID of the request that a record belongs to.
pub const LABEL_REQUEST_UID: &str = "privateca.issuer.dev/request-uid";
/// Annotation with the serial number, lowercase hex.
pub const ANNOTATION_SERIAL: &str = "privateca.issuer.dev/serial";
/// Annotation with the template name.
pub const ANNOTATION_TEMPLATE: &str = "privateca.issuer.dev/issued-template";
/// Annotation with the CA, `PrivateCA/<namespace>/<name>` or `ClusterPrivateCA/<name>`.
pub const ANNOTATION_CA: &str = "privateca.issuer.dev/ca";
/// Annotation with the SHA-256 of the request's `spec.request` bytes, lowercase hex.
pub const ANNOTATION_CSR_SHA256: &str = "privateca.issuer.dev/csr-sha256";
/// Annotation with notAfter as issued, RFC 3339.
pub const ANNOTATION_NOT_AFTER: &str = "privateca.issuer.dev/not-after";
/// Annotation with notAfter as requested, RFC 3339; only set when the CA capped it.
pub const ANNOTATION_REQUESTED_NOT_AFTER: &str = "privateca.issuer.dev/requested-not-after";
/// Annotation with the limit that capped notAfter; only set when the CA capped it.
pub const ANNOTATION_CAP_REASON: &str = "privateca.issuer.dev/cap-reason";
/// Secret type of a record.
pub const RECORD_TYPE: &str = "privateca.issuer.dev/issuance-record";
/// Data key of the certificate followed by its intermediates, PEM.
pub const CHAIN_KEY: &str = "tls.crt";
/// Data key of the root certificate, PEM.
pub const ROOT_KEY: &str = "ca.crt";

/// Maximum length of a Kubernetes label value and of a DNS label.
const MAX_LABEL: usize = 63;

/// One issued certificate as stored in the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceRecord {
    /// The certificate followed by its intermediates, PEM with LF line endings.
    pub chain_pem: String,
    /// The root certificate, PEM.
    pub root_pem: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// Template name.
    pub template: String,
    /// The issuing CA, `PrivateCA/<namespace>/<name>` or `ClusterPrivateCA/<name>`.
    pub ca: String,
    /// SHA-256 of the CSR bytes, lowercase hex.
    pub csr_sha256: String,
    /// notAfter as issued, RFC 3339.
    pub not_after: String,
    /// notAfter as requested when the CA capped it, RFC 3339.
    pub requested_not_after: Option<String>,
    /// The limit that capped notAfter, such as the CA's notAfter.
    pub cap_reason: Option<String>,
}

/// True when `uid` can be used as is in a name and a label value:
/// lowercase letters, digits and `-`, starting and ending with a letter or digit.
fn uid_is_plain(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 36
        && uid
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !uid.starts_with('-')
        && !uid.ends_with('-')
}

/// Lowercase hex of the SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Derives the part of names and labels that comes from a UID: the UID itself when
/// it is a plain lowercase UUID-like string, else 40 hex characters of its SHA-256.
fn uid_token(uid: &str) -> String {
    if uid_is_plain(uid) {
        uid.to_string()
    } else {
        sha256_hex(uid.as_bytes())[..40].to_string()
    }
}

/// Name of the record of the request with `uid`: `privateca-issuer-<uid>`, at most
/// 57 characters and a valid DNS subdomain whatever the request's name.
pub fn record_name(uid: &str) -> String {
    format!("{RECORD_PREFIX}{}", uid_token(uid))
}

/// Value of the request-uid label: a valid label value of at most 63 characters.
pub fn uid_label_value(uid: &str) -> String {
    let token = uid_token(uid);
    debug_assert!(token.len() <= MAX_LABEL);
    token
}

/// Formats an instant as RFC 3339 in UTC, whole seconds.
pub fn rfc3339(instant: OffsetDateTime) -> String {
    k8s_openapi::jiff::Timestamp::from_second(instant.unix_timestamp())
        .map(|timestamp| timestamp.to_string())
        .unwrap_or_else(|_| instant.unix_timestamp().to_string())
}

impl IssuanceRecord {
    /// Builds the record Secret in the request's namespace, owned by the request.
    /// Returns None when the request has no name or UID (never for a stored object).
    pub fn to_secret(&self, request: &CertificateRequest) -> Option<Secret> {
        let uid = request.metadata.uid.as_deref()?;
        let name = request.metadata.name.as_deref()?;
        let owner = OwnerReference {
            api_version: "cert-manager.io/v1".to_string(),
            kind: "CertificateRequest".to_string(),
            name: name.to_string(),
            uid: uid.to_string(),
            controller: Some(false),
            block_owner_deletion: Some(false),
        };
        let mut annotations = BTreeMap::from([
            (ANNOTATION_SERIAL.to_string(), self.serial.clone()),
            (ANNOTATION_TEMPLATE.to_string(), self.template.clone()),
            (ANNOTATION_CA.to_string(), self.ca.clone()),
            (ANNOTATION_CSR_SHA256.to_string(), self.csr_sha256.clone()),
            (ANNOTATION_NOT_AFTER.to_string(), self.not_after.clone()),
        ]);
        if let Some(requested) = &self.requested_not_after {
            annotations.insert(
                ANNOTATION_REQUESTED_NOT_AFTER.to_string(),
                requested.clone(),
            );
        }
        if let Some(reason) = &self.cap_reason {
            annotations.insert(ANNOTATION_CAP_REASON.to_string(), reason.clone());
        }
        let data = BTreeMap::from([
            (
                CHAIN_KEY.to_string(),
                ByteString(self.chain_pem.as_bytes().to_vec()),
            ),
            (
                ROOT_KEY.to_string(),
                ByteString(self.root_pem.as_bytes().to_vec()),
            ),
        ]);
        Some(Secret {
            metadata: ObjectMeta {
                name: Some(record_name(uid)),
                namespace: request.metadata.namespace.clone(),
                labels: Some(BTreeMap::from([(
                    LABEL_REQUEST_UID.to_string(),
                    uid_label_value(uid),
                )])),
                annotations: Some(annotations),
                owner_references: Some(vec![owner]),
                ..ObjectMeta::default()
            },
            type_: Some(RECORD_TYPE.to_string()),
            data: Some(data),
            ..Secret::default()
        })
    }

    /// Reads a record Secret. Fails with a message naming the missing field when
    /// the Secret is not a complete record.
    pub fn from_secret(secret: &Secret) -> Result<Self, String> {
        let empty = BTreeMap::new();
        let annotations = secret.metadata.annotations.as_ref().unwrap_or(&empty);
        let annotation = |key: &str| {
            annotations
                .get(key)
                .cloned()
                .ok_or_else(|| format!("annotation {key} is missing"))
        };
        let no_data = BTreeMap::new();
        let data = secret.data.as_ref().unwrap_or(&no_data);
        let pem = |key: &str| {
            data.get(key)
                .and_then(|value| String::from_utf8(value.0.clone()).ok())
                .filter(|value| !value.is_empty())
                .ok_or_else(|| format!("data {key} is missing or not UTF-8"))
        };
        Ok(IssuanceRecord {
            chain_pem: pem(CHAIN_KEY)?,
            root_pem: pem(ROOT_KEY)?,
            serial: annotation(ANNOTATION_SERIAL)?,
            template: annotation(ANNOTATION_TEMPLATE)?,
            ca: annotation(ANNOTATION_CA)?,
            csr_sha256: annotation(ANNOTATION_CSR_SHA256)?,
            not_after: annotation(ANNOTATION_NOT_AFTER)?,
            requested_not_after: annotations.get(ANNOTATION_REQUESTED_NOT_AFTER).cloned(),
            cap_reason: annotations.get(ANNOTATION_CAP_REASON).cloned(),
        })
    }
}

/// True when the record Secret's request-uid label names the request with `uid`.
pub fn belongs_to(secret: &Secret, uid: &str) -> bool {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(LABEL_REQUEST_UID))
        .is_some_and(|value| *value == uid_label_value(uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_name_uses_plain_uid() {
        let uid = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(record_name(uid), format!("privateca-issuer-{uid}"));
        assert_eq!(uid_label_value(uid), uid);
    }

    #[test]
    fn record_name_hashes_odd_uid() {
        let uid = "Not/A_Plain.UID".repeat(30);
        let name = record_name(&uid);
        assert!(name.len() <= 63, "{name}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
        assert!(uid_label_value(&uid).len() <= 63);
    }
}
