//! ACM Private CA certificate templates and the extensions each one fixes.

use std::fmt;
use std::str::FromStr;

use super::error::{Error, Result};

/// A base certificate template. Only the Subject and subjectAltName come from the
/// CSR; every other extension is the template's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    /// `EndEntityCertificate/V1`, the default: serverAuth and clientAuth.
    EndEntity,
    /// `EndEntityServerAuthCertificate/V1`.
    EndEntityServerAuth,
    /// `EndEntityClientAuthCertificate/V1`.
    EndEntityClientAuth,
    /// `CodeSigningCertificate/V1`.
    CodeSigning,
    /// `OCSPSigningCertificate/V1`.
    OcspSigning,
    /// `SubordinateCACertificate_PathLen{N}/V1`, N from 0 to 3.
    SubordinateCa {
        /// The pathLenConstraint written into basicConstraints.
        path_len: u8,
    },
    /// `RootCACertificate/V1`.
    RootCa,
}

/// Prefix of a template ARN, `arn:aws:acm-pca:::template/<Name>`.
pub const TEMPLATE_ARN_PREFIX: &str = "arn:aws:acm-pca:::template/";

impl Template {
    /// Every template, in the order of the ACM Private CA documentation.
    pub const ALL: [Template; 10] = [
        Template::EndEntity,
        Template::EndEntityServerAuth,
        Template::EndEntityClientAuth,
        Template::CodeSigning,
        Template::OcspSigning,
        Template::SubordinateCa { path_len: 0 },
        Template::SubordinateCa { path_len: 1 },
        Template::SubordinateCa { path_len: 2 },
        Template::SubordinateCa { path_len: 3 },
        Template::RootCa,
    ];

    /// The template name, for example `EndEntityCertificate/V1`.
    pub fn name(self) -> &'static str {
        match self {
            Template::EndEntity => "EndEntityCertificate/V1",
            Template::EndEntityServerAuth => "EndEntityServerAuthCertificate/V1",
            Template::EndEntityClientAuth => "EndEntityClientAuthCertificate/V1",
            Template::CodeSigning => "CodeSigningCertificate/V1",
            Template::OcspSigning => "OCSPSigningCertificate/V1",
            Template::SubordinateCa { path_len: 0 } => "SubordinateCACertificate_PathLen0/V1",
            Template::SubordinateCa { path_len: 1 } => "SubordinateCACertificate_PathLen1/V1",
            Template::SubordinateCa { path_len: 2 } => "SubordinateCACertificate_PathLen2/V1",
            Template::SubordinateCa { .. } => "SubordinateCACertificate_PathLen3/V1",
            Template::RootCa => "RootCACertificate/V1",
        }
    }

    /// The template ARN, `arn:aws:acm-pca:::template/<Name>`.
    pub fn arn(self) -> String {
        format!("{TEMPLATE_ARN_PREFIX}{}", self.name())
    }

    /// True for the templates that issue CA certificates.
    pub fn is_ca(self) -> bool {
        matches!(self, Template::SubordinateCa { .. } | Template::RootCa)
    }
}

impl Default for Template {
    fn default() -> Self {
        Template::EndEntity
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Template {
    type Err = Error;

    /// Parses a bare template name or a template ARN; an unknown name is an error.
    fn from_str(s: &str) -> Result<Self> {
        let name = s.strip_prefix(TEMPLATE_ARN_PREFIX).unwrap_or(s);
        Template::ALL.into_iter().find(|t| t.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Template::ALL.iter().map(|t| t.name()).collect();
            Error::invalid_args(format!(
                "unknown template {s:?}; use one of {} (bare or as {TEMPLATE_ARN_PREFIX}<Name>)",
                names.join(", ")
            ))
        })
    }
}
