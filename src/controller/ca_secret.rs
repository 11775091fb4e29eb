//! The Secret that stores a CA: its keys, its location, and loading it into the engine.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use crate::pki::{self, CaKey, CertificateAuthority};

/// Data key of the CA certificate, PEM.
pub const CERTIFICATE_KEY: &str = "tls.crt";
/// Data key of the CA private key, PKCS#8 PEM.
pub const PRIVATE_KEY_KEY: &str = "tls.key";
/// Data key of the root certificate of the CA's chain, PEM.
pub const ROOT_KEY: &str = "ca.crt";
/// Data key of the issuers above the CA, parent first, root last, PEM; empty for a root.
pub const CHAIN_KEY: &str = "chain.crt";
/// Label the controller puts on every CA Secret, so it watches only those.
pub const CA_SECRET_LABEL: &str = "privateca.issuer.dev/ca-secret";

/// Name of a CA's Secret: `spec.secretName`, or `<ca name>-ca`.
pub fn secret_name(ca_name: &str, spec_secret_name: Option<&str>) -> String {
    match spec_secret_name {
        Some(name) if is_explicit(Some(name)) => name.to_string(),
        _ => default_secret_name(ca_name),
    }
}

/// Name of a CA's Secret when `spec.secretName` is unset: `<ca name>-ca`.
pub fn default_secret_name(ca_name: &str) -> String {
    format!("{ca_name}-ca")
}

/// True when `spec.secretName` names a Secret. An empty name counts as unset,
/// as in [`secret_name`].
pub fn is_explicit(spec_secret_name: Option<&str>) -> bool {
    spec_secret_name.is_some_and(|name| !name.is_empty())
}

/// Reads one PEM entry of a Secret as UTF-8.
pub fn data_str<'a>(
    data: &'a BTreeMap<String, k8s_openapi::ByteString>,
    key: &str,
) -> Option<&'a str> {
    data.get(key)
        .and_then(|value| std::str::from_utf8(&value.0).ok())
}

/// Loads a CA from its Secret with the engine's import checks. Fails with
/// `MalformedCertificate` when `tls.crt` or `tls.key` is missing or unusable.
pub fn load_authority(secret: &Secret) -> pki::Result<CertificateAuthority> {
    let empty = BTreeMap::new();
    let data = secret.data.as_ref().unwrap_or(&empty);
    let name = secret.metadata.name.as_deref().unwrap_or_default();
    let certificate = data_str(data, CERTIFICATE_KEY).ok_or_else(|| {
        pki::Error::malformed_certificate(format!(
            "Secret {name} has no PEM {CERTIFICATE_KEY}; write the CA certificate there"
        ))
    })?;
    let key = data_str(data, PRIVATE_KEY_KEY).ok_or_else(|| {
        pki::Error::malformed_certificate(format!(
            "Secret {name} has no PEM {PRIVATE_KEY_KEY}; write the CA private key there"
        ))
    })?;
    // A CA signed directly by a root may ship the root only as `ca.crt`; it is
    // then the whole chain. For a root, `ca.crt` repeats `tls.crt` and is no chain.
    let chain = data_str(data, CHAIN_KEY)
        .filter(|chain| !chain.trim().is_empty())
        .or_else(|| {
            data_str(data, ROOT_KEY)
                .filter(|root| !root.trim().is_empty() && root.trim() != certificate.trim())
        });
    CertificateAuthority::import(certificate, CaKey::from_pem(key)?, chain)
}

/// Data key of the CSR of a subordinate CA that waits for a certificate signed
/// outside the cluster, PEM.
pub const CSR_KEY: &str = "tls.csr";
/// Value of [`CA_SECRET_LABEL`] on the Secrets the controller writes.
pub const CA_SECRET_LABEL_VALUE: &str = "true";
/// Type of every CA Secret the controller creates.
pub const SECRET_TYPE_TLS: &str = "kubernetes.io/tls";

/// Cause of a failed import of a Secret as a CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// Stable reason for conditions and Events: `InvalidKey`, `KeyMismatch` or
    /// `InvalidCertificate`.
    pub reason: &'static str,
    /// Description of the problem and its fix.
    pub message: String,
}

/// Returns a PEM entry of the Secret when it is present and not blank.
pub fn non_empty<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    let data = secret.data.as_ref()?;
    data_str(data, key).filter(|value| !value.trim().is_empty())
}

/// True when the Secret carries [`CA_SECRET_LABEL`].
pub fn is_labelled(secret: &Secret) -> bool {
    secret
        .metadata
        .labels
        .as_ref()
        .is_some_and(|labels| labels.contains_key(CA_SECRET_LABEL))
}

/// Builds a labelled `kubernetes.io/tls` CA Secret with the given PEM entries.
pub fn new_ca_secret(namespace: &str, name: &str, data: BTreeMap<String, String>) -> Secret {
    let labels = BTreeMap::from([(
        CA_SECRET_LABEL.to_string(),
        CA_SECRET_LABEL_VALUE.to_string(),
    )]);
    Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            ..Default::default()
        },
        type_: Some(SECRET_TYPE_TLS.to_string()),
        data: Some(
            data.into_iter()
                .map(|(key, value)| (key, k8s_openapi::ByteString(value.into_bytes())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Imports the CA in `secret` like [`load_authority`], and names the cause of a
/// failure: a key that cannot be read, a certificate whose public key is not the
/// key's, or a certificate or chain that fails the engine's checks.
pub fn import_authority(secret: &Secret) -> Result<CertificateAuthority, ImportFailure> {
    let name = secret.metadata.name.as_deref().unwrap_or_default();
    let key_pem = non_empty(secret, PRIVATE_KEY_KEY).ok_or_else(|| ImportFailure {
        reason: "InvalidKey",
        message: format!("Secret {name} has no {PRIVATE_KEY_KEY}; write the CA private key there"),
    })?;
    let key = CaKey::from_pem(key_pem).map_err(|error| ImportFailure {
        reason: "InvalidKey",
        message: format!("{PRIVATE_KEY_KEY} of Secret {name} is unusable: {error}"),
    })?;
    let public_key = key.public_key_der();
    match load_authority(secret) {
        Ok(authority) => Ok(authority),
        Err(error) => {
            let mismatch = non_empty(secret, CERTIFICATE_KEY)
                .and_then(certificate_public_key)
                .is_some_and(|certificate_key| certificate_key != public_key);
            if mismatch {
                Err(ImportFailure {
                    reason: "KeyMismatch",
                    message: format!(
                        "the public key of {CERTIFICATE_KEY} in Secret {name} does not match \
                         {PRIVATE_KEY_KEY}; write the certificate issued for this key"
                    ),
                })
            } else {
                Err(ImportFailure {
                    reason: "InvalidCertificate",
                    message: format!("Secret {name} does not hold a usable CA: {error}"),
                })
            }
        }
    }
}

/// Extracts the DER SubjectPublicKeyInfo of the first certificate in `pem`.
fn certificate_public_key(pem: &str) -> Option<Vec<u8>> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let certificate = block.parse_x509().ok()?;
    Some(certificate.public_key().raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_name_explicit_or_default() {
        assert_eq!(secret_name("root", Some("corp-root")), "corp-root");
        assert_eq!(secret_name("root", None), "root-ca");
        assert_eq!(secret_name("root", Some("")), "root-ca");
        assert!(is_explicit(Some("corp-root")));
        assert!(!is_explicit(None));
        assert!(!is_explicit(Some("")));
    }
}
