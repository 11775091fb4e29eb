//! ACM Private CA certificate templates and the extensions each one fixes.

use std::fmt;
use std::str::FromStr;

use der::flagset::FlagSet;
use der::oid::ObjectIdentifier;
use der::oid::db::rfc5280::{
    ID_KP_CLIENT_AUTH, ID_KP_CODE_SIGNING, ID_KP_OCSP_SIGNING, ID_KP_SERVER_AUTH,
};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsages};

use super::error::{Error, Result};

/// A base certificate template. Only the Subject and subjectAltName come from the
/// CSR; every other extension is the template's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Template {
    /// `EndEntityCertificate/V1`, the default: serverAuth and clientAuth.
    #[default]
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

    /// Checks that a CA whose basicConstraints pathLen is `issuer_path_len` may issue
    /// from a CSR with this template.
    ///
    /// `RootCACertificate/V1` only makes self-signed roots. A CA with pathLen p issues
    /// `SubordinateCACertificate_PathLen{n}/V1` only for n < p; a CA without pathLen
    /// has no limit.
    pub fn check_issuable(self, issuer_path_len: Option<u8>) -> Result<()> {
        match self {
            Template::RootCa => Err(Error::invalid_args(format!(
                "template {self} only makes self-signed root certificates and cannot issue \
                 from a CSR; use a SubordinateCACertificate_PathLen<N>/V1 template for a CA \
                 certificate"
            ))),
            Template::SubordinateCa { path_len } if path_len > 3 => {
                Err(Error::invalid_args(format!(
                    "subordinate CA pathLen {path_len} has no template; use \
                     SubordinateCACertificate_PathLen0/V1 to SubordinateCACertificate_PathLen3/V1"
                )))
            }
            Template::SubordinateCa { path_len } => match issuer_path_len {
                Some(0) => Err(Error::invalid_args(format!(
                    "template {self} issues a CA certificate, but the issuing CA has pathLen 0 \
                     and may not issue CA certificates; issue the subordinate from a CA with a \
                     larger pathLen"
                ))),
                Some(limit) if path_len >= limit => Err(Error::invalid_args(format!(
                    "template {self} is deeper than the issuing CA allows: its pathLen is \
                     {limit}, so use SubordinateCACertificate_PathLen{}/V1 or lower",
                    limit - 1
                ))),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Returns the extensions this template fixes, apart from the key identifiers and
    /// the SAN.
    pub(crate) fn profile(self) -> Profile {
        let end_entity_usage = KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment;
        let ca_usage = KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign;
        let end_entity =
            |key_usage: FlagSet<KeyUsages>, purposes: Vec<ObjectIdentifier>, critical| Profile {
                basic_constraints: BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                basic_constraints_critical: false,
                key_usage,
                extended_key_usage: Some((purposes, critical)),
            };
        let ca = |path_len_constraint| Profile {
            basic_constraints: BasicConstraints {
                ca: true,
                path_len_constraint,
            },
            basic_constraints_critical: true,
            key_usage: ca_usage,
            extended_key_usage: None,
        };
        match self {
            Template::EndEntity => end_entity(
                end_entity_usage,
                vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH],
                false,
            ),
            Template::EndEntityServerAuth => {
                end_entity(end_entity_usage, vec![ID_KP_SERVER_AUTH], false)
            }
            Template::EndEntityClientAuth => {
                end_entity(end_entity_usage, vec![ID_KP_CLIENT_AUTH], false)
            }
            Template::CodeSigning => end_entity(
                KeyUsages::DigitalSignature.into(),
                vec![ID_KP_CODE_SIGNING],
                true,
            ),
            Template::OcspSigning => end_entity(
                KeyUsages::DigitalSignature.into(),
                vec![ID_KP_OCSP_SIGNING],
                true,
            ),
            Template::SubordinateCa { path_len } => ca(Some(path_len)),
            Template::RootCa => ca(None),
        }
    }
}

/// The extensions a template fixes: the rows of the ACM Private CA template table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    /// basicConstraints.
    pub basic_constraints: BasicConstraints,
    /// True when basicConstraints is critical (CA certificates only).
    pub basic_constraints_critical: bool,
    /// keyUsage, always critical.
    pub key_usage: FlagSet<KeyUsages>,
    /// extendedKeyUsage purposes and criticality; None for CA certificates.
    pub extended_key_usage: Option<(Vec<ObjectIdentifier>, bool)>,
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
