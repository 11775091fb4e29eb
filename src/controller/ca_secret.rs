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
        Some(name) if !name.is_empty() => name.to_string(),
        _ => format!("{ca_name}-ca"),
    }
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
    let chain = data_str(data, CHAIN_KEY).filter(|chain| !chain.trim().is_empty());
    CertificateAuthority::import(certificate, CaKey::from_pem(key)?, chain)
}
