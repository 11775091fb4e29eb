//! Subject of a CA certificate, built from named fields.

use serde::{Deserialize, Serialize};

/// Subject fields of a CA certificate. At least one must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectName {
    /// CN.
    pub common_name: Option<String>,
    /// O.
    pub organization: Option<String>,
    /// OU.
    pub organizational_unit: Option<String>,
    /// C, two letters.
    pub country: Option<String>,
    /// ST.
    pub state: Option<String>,
    /// L.
    pub locality: Option<String>,
}

impl SubjectName {
    /// Parses an OpenSSL-style list such as `CN=Example Root,O=Example,C=US`.
    ///
    /// Accepted keys: CN, O, OU, C, ST, L. A comma inside a value is written `\,`.
    pub fn parse(s: &str) -> super::Result<Self> {
        let _ = s;
        todo!("subject parser")
    }
}
