//! Idempotency tokens of `issue-certificate`: one certificate per token and CA, with
//! no time window, and a token reused with other arguments is rejected.
//!
//! Callers hold the CA directory lock between [`CaDir::find_token`] and
//! [`CaDir::write_token_record`], so two processes with one token issue once.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::atomic_file::Overwrite;
use super::ca_dir::{CaDir, TOKENS_DIR, read_json, write_json};
use super::error::{Error, Result, invalid_args};

/// Maximum length of an idempotency token, in characters, as in ACM Private CA.
pub const MAX_TOKEN_CHARS: usize = 36;

/// Checks an idempotency token: 1 to 36 characters, each a tab, line feed, carriage
/// return or a character from U+0020 to U+00FF (the set ACM Private CA accepts).
pub fn check_token(token: &str) -> Result<&str> {
    let chars = token.chars().count();
    if chars == 0 {
        return Err(invalid_args(format!(
            "--idempotency-token is empty; use 1 to {MAX_TOKEN_CHARS} characters"
        )));
    }
    if chars > MAX_TOKEN_CHARS {
        return Err(invalid_args(format!(
            "--idempotency-token {token:?} has {chars} characters, over the \
             {MAX_TOKEN_CHARS}-character limit; use 1 to {MAX_TOKEN_CHARS} characters"
        )));
    }
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}');
    if let Some(bad) = token.chars().find(|c| !allowed(*c)) {
        return Err(invalid_args(format!(
            "--idempotency-token {token:?} contains {bad:?}; use printable characters \
             from U+0020 to U+00FF"
        )));
    }
    Ok(token)
}

/// The arguments of an `issue-certificate` call that a token binds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueArguments {
    /// SHA-256 of the CSR bytes as given, lowercase hex.
    pub csr_sha256: String,
    /// Signing algorithm name.
    pub signing_algorithm: String,
    /// Validity in `Value=N,Type=T` form.
    pub validity: String,
    /// `--validity-not-before` in `Value=N,Type=T` form, if given.
    pub validity_not_before: Option<String>,
    /// Template name.
    pub template: String,
}

impl IssueArguments {
    /// SHA-256 over the arguments' JSON encoding, lowercase hex.
    pub fn fingerprint(&self) -> String {
        // Serializing a struct of strings cannot fail; the fallback keeps the
        // fingerprint total without a panic path.
        let encoded = serde_json::to_vec(self).unwrap_or_default();
        sha256_hex(&encoded)
    }

    /// Names the arguments that differ from `earlier`, such as `signing algorithm`.
    pub fn differences(&self, earlier: &IssueArguments) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.csr_sha256 != earlier.csr_sha256 {
            names.push("CSR");
        }
        if self.signing_algorithm != earlier.signing_algorithm {
            names.push("signing algorithm");
        }
        if self.validity != earlier.validity {
            names.push("validity");
        }
        if self.validity_not_before != earlier.validity_not_before {
            names.push("validity not-before");
        }
        if self.template != earlier.template {
            names.push("template");
        }
        names
    }
}

/// A used token, stored in `tokens/<sha256 of token>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    /// SHA-256 of the token, lowercase hex; the token itself is not stored.
    pub token_sha256: String,
    /// SHA-256 of the bound arguments, see [`IssueArguments::fingerprint`].
    pub fingerprint: String,
    /// The bound arguments, to name what differs on a conflicting reuse.
    pub arguments: IssueArguments,
    /// The certificate issued for the token.
    pub certificate_arn: String,
    /// When the token was first used, RFC 3339 UTC.
    pub created_at: String,
}

impl TokenRecord {
    /// Returns the certificate ARN when `arguments` match the bound ones, and an
    /// `InvalidArgs` error naming the differing arguments otherwise.
    pub fn replay(&self, token: &str, arguments: &IssueArguments) -> Result<String> {
        if self.fingerprint == arguments.fingerprint() {
            return Ok(self.certificate_arn.clone());
        }
        let differences = arguments.differences(&self.arguments);
        let named = if differences.is_empty() {
            "arguments".to_string()
        } else {
            differences.join(", ")
        };
        Err(invalid_args(format!(
            "idempotency token {token:?} was already used with different arguments \
             (different {named}) for {}; repeat the original arguments or use a new token",
            self.certificate_arn
        )))
    }
}

impl CaDir {
    /// Looks up the record of `token`.
    pub fn find_token(&self, token: &str) -> Result<Option<TokenRecord>> {
        read_json(&self.token_path(token))
    }

    /// Stores the record of a newly used token; never replaces one.
    pub fn write_token_record(&self, token: &str, record: &TokenRecord) -> Result<()> {
        let dir = self.file(TOKENS_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|error| Error::io("create directory", &dir, error))?;
        write_json(&self.token_path(token), record, Overwrite::Never)
    }

    fn token_path(&self, token: &str) -> std::path::PathBuf {
        self.file(TOKENS_DIR)
            .join(format!("{}.json", sha256_hex(token.as_bytes())))
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments() -> IssueArguments {
        IssueArguments {
            csr_sha256: sha256_hex(b"csr"),
            signing_algorithm: "SHA256WITHRSA".to_string(),
            validity: "Value=365,Type=DAYS".to_string(),
            validity_not_before: None,
            template: "EndEntityCertificate/V1".to_string(),
        }
    }

    #[test]
    fn check_token_limits_length() {
        assert!(check_token(&"a".repeat(36)).is_ok());
        assert!(check_token("a").is_ok());
        let Err(error) = check_token(&"a".repeat(37)) else {
            panic!("a 37-character token was accepted");
        };
        let message = error.to_string();
        assert!(message.starts_with("InvalidArgs: "), "{message}");
        assert!(message.contains("36-character limit"), "{message}");
        assert!(message.contains("37 characters"), "{message}");
    }

    #[test]
    fn check_token_rejects_empty_and_control() {
        assert!(check_token("").is_err());
        assert!(check_token("a\u{1}b").is_err());
        assert!(check_token("\u{0101}").is_err());
        assert!(check_token("tab\tok").is_ok());
    }

    #[test]
    fn check_token_counts_characters_not_bytes() {
        // 36 characters of U+00E9 are 72 bytes of UTF-8.
        assert!(check_token(&"\u{e9}".repeat(36)).is_ok());
    }

    #[test]
    fn replay_same_arguments_returns_arn() {
        let record = TokenRecord {
            token_sha256: sha256_hex(b"t"),
            fingerprint: arguments().fingerprint(),
            arguments: arguments(),
            certificate_arn: "arn:x".to_string(),
            created_at: "2026-01-31T12:00:00Z".to_string(),
        };
        assert_eq!(
            record.replay("t", &arguments()).ok(),
            Some("arn:x".to_string())
        );
    }

    #[test]
    fn replay_different_arguments_names_them() {
        let record = TokenRecord {
            token_sha256: sha256_hex(b"t"),
            fingerprint: arguments().fingerprint(),
            arguments: arguments(),
            certificate_arn: "arn:x".to_string(),
            created_at: "2026-01-31T12:00:00Z".to_string(),
        };
        let mut changed = arguments();
        changed.signing_algorithm = "SHA384WITHRSA".to_string();
        changed.template = "CodeSigningCertificate/V1".to_string();
        let Err(error) = record.replay("t", &changed) else {
            panic!("a token was replayed with other arguments");
        };
        let message = error.to_string();
        assert!(message.starts_with("InvalidArgs: "), "{message}");
        assert!(message.contains("different arguments"), "{message}");
        assert!(message.contains("signing algorithm, template"), "{message}");
    }

    #[test]
    fn token_record_round_trips() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_dir = CaDir::new(dir.path());
        assert_eq!(ca_dir.find_token("t").ok(), Some(None));
        let record = TokenRecord {
            token_sha256: sha256_hex(b"t"),
            fingerprint: arguments().fingerprint(),
            arguments: arguments(),
            certificate_arn: "arn:x".to_string(),
            created_at: "2026-01-31T12:00:00Z".to_string(),
        };
        ca_dir.write_token_record("t", &record).expect("write");
        assert_eq!(ca_dir.find_token("t").ok(), Some(Some(record.clone())));
        assert!(ca_dir.write_token_record("t", &record).is_err());
    }
}
