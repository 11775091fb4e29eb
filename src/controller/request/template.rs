//! Choosing the certificate template for a request.
//!
//! The `privateca.issuer.dev/template` annotation wins when the CA allows it.
//! Otherwise `isCA` and `usages` pick the one template whose extensions match
//! them. A request that no template expresses fails, so it never gets a
//! different certificate than it requested.

use std::collections::BTreeSet;
use std::fmt;

use crate::api::{CaSpec, CertificateRequest, TEMPLATE_ANNOTATION};
use crate::pki::Template;

use super::error::{Error, Result};

/// Templates a CA allows when `spec.allowedTemplates` is not set: the end-entity ones.
pub const DEFAULT_ALLOWED: [Template; 5] = [
    Template::EndEntity,
    Template::EndEntityServerAuth,
    Template::EndEntityClientAuth,
    Template::CodeSigning,
    Template::OcspSigning,
];

/// Usages that every template grants, so they never change the choice.
/// `signing` is cert-manager's older name for digital signature.
const IMPLIED_USAGES: [&str; 3] = ["digital signature", "key encipherment", "signing"];

/// Usages that the CA templates grant on top of the implied ones.
const CA_USAGES: [&str; 2] = ["cert sign", "crl sign"];

/// Input that chose the template, named in the Event and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The `privateca.issuer.dev/template` annotation.
    Annotation,
    /// `spec.isCA`.
    IsCa,
    /// `spec.usages`.
    Usages,
    /// The CA's `spec.defaultTemplate`, because the request names no usage.
    CaDefault,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Annotation => "the template annotation",
            Source::IsCa => "isCA",
            Source::Usages => "the requested usages",
            Source::CaDefault => "the CA's default template",
        })
    }
}

/// A chosen template and the input that chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// The template to issue with.
    pub template: Template,
    /// The input that chose it.
    pub source: Source,
}

/// Parses the CA's `spec.allowedTemplates`, or returns the defaults when unset.
///
/// An unknown name is a CA configuration error, so the request waits as Pending
/// until the CA is fixed.
pub fn allowed_templates(ca_name: &str, spec: &CaSpec) -> Result<Vec<Template>> {
    let Some(names) = spec.allowed_templates.as_ref() else {
        return Ok(DEFAULT_ALLOWED.to_vec());
    };
    names
        .iter()
        .map(|name| {
            name.parse::<Template>().map_err(|error| {
                Error::Pending(format!(
                    "CA {ca_name} has an invalid spec.allowedTemplates entry: {error}"
                ))
            })
        })
        .collect()
}

/// Chooses the template for `request` from a CA with `spec`, whose own
/// certificate has the pathLenConstraint `ca_path_len` (None means unlimited).
pub fn select(
    request: &CertificateRequest,
    ca_name: &str,
    spec: &CaSpec,
    ca_path_len: Option<u8>,
) -> Result<Selection> {
    let allowed = allowed_templates(ca_name, spec)?;
    let annotation = request
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(TEMPLATE_ANNOTATION));
    if let Some(value) = annotation {
        let template = from_annotation(value, ca_name, &allowed)?;
        check_path_len(template, ca_name, ca_path_len)?;
        return Ok(Selection {
            template,
            source: Source::Annotation,
        });
    }

    let usages = requested_usages(request);
    if request.spec.is_ca == Some(true) {
        return select_ca(&usages, ca_name, &allowed, ca_path_len);
    }
    let Some(template) = end_entity_template(&usages)? else {
        let template = default_template(ca_name, spec)?;
        return Ok(Selection {
            template,
            source: Source::CaDefault,
        });
    };
    if !allowed.contains(&template) {
        return Err(not_allowed(template, ca_name, &allowed));
    }
    Ok(Selection {
        template,
        source: Source::Usages,
    })
}

/// Parses the CA's `spec.defaultTemplate`, `EndEntityCertificate/V1` when unset.
fn default_template(ca_name: &str, spec: &CaSpec) -> Result<Template> {
    match spec.default_template.as_deref() {
        None | Some("") => Ok(Template::EndEntity),
        Some(name) => name.parse().map_err(|error| {
            Error::Pending(format!(
                "CA {ca_name} has an invalid spec.defaultTemplate: {error}"
            ))
        }),
    }
}

fn from_annotation(value: &str, ca_name: &str, allowed: &[Template]) -> Result<Template> {
    let template: Template = value.trim().parse().map_err(|error| {
        Error::Permanent(format!(
            "annotation {TEMPLATE_ANNOTATION} is invalid: {error}"
        ))
    })?;
    if !allowed.contains(&template) {
        return Err(not_allowed(template, ca_name, allowed));
    }
    Ok(template)
}

fn not_allowed(template: Template, ca_name: &str, allowed: &[Template]) -> Error {
    let names: Vec<&str> = allowed.iter().map(|t| t.name()).collect();
    Error::Permanent(format!(
        "template {template} is not allowed by CA {ca_name}; it allows {}. \
         Add {template} to the CA's spec.allowedTemplates or request another template",
        names.join(", ")
    ))
}

/// Collects the requested usages in lower case, without duplicates.
fn requested_usages(request: &CertificateRequest) -> BTreeSet<String> {
    request
        .spec
        .usages
        .iter()
        .flatten()
        .map(|usage| usage.trim().to_ascii_lowercase())
        .collect()
}

fn select_ca(
    usages: &BTreeSet<String>,
    ca_name: &str,
    allowed: &[Template],
    ca_path_len: Option<u8>,
) -> Result<Selection> {
    let unexpressible: Vec<&str> = usages
        .iter()
        .map(String::as_str)
        .filter(|usage| !IMPLIED_USAGES.contains(usage) && !CA_USAGES.contains(usage))
        .collect();
    if !unexpressible.is_empty() {
        return Err(Error::Permanent(format!(
            "usages {} cannot be granted to a CA certificate: \
             the SubordinateCACertificate_PathLen*/V1 templates grant only digital signature, \
             cert sign and crl sign. Remove them or set isCA to false",
            unexpressible.join(", ")
        )));
    }
    let template = Template::SubordinateCa { path_len: 0 };
    if !allowed.contains(&template) {
        return Err(Error::Permanent(format!(
            "CA {ca_name} does not allow issuing CA certificates; \
             add {template} to spec.allowedTemplates"
        )));
    }
    check_path_len(template, ca_name, ca_path_len)?;
    Ok(Selection {
        template,
        source: Source::IsCa,
    })
}

/// Checks that a subordinate CA template fits under the issuing CA's pathLen.
fn check_path_len(template: Template, ca_name: &str, ca_path_len: Option<u8>) -> Result<()> {
    let Template::SubordinateCa { path_len } = template else {
        if template == Template::RootCa {
            return Err(Error::Permanent(format!(
                "template {template} makes a self-signed root and cannot be issued from CA {ca_name}; \
                 use a SubordinateCACertificate_PathLen*/V1 template"
            )));
        }
        return Ok(());
    };
    match ca_path_len {
        Some(limit) if path_len >= limit => Err(Error::Permanent(format!(
            "CA {ca_name} has pathLenConstraint {limit}, so it cannot issue {template}; \
             request a template with a smaller path length or issue from a CA higher in the chain"
        ))),
        _ => Ok(()),
    }
}

/// Maps end-entity usages to the one template that grants exactly them.
/// Returns None when the request names no usage beyond the implied ones.
fn end_entity_template(usages: &BTreeSet<String>) -> Result<Option<Template>> {
    let extended: BTreeSet<&str> = usages
        .iter()
        .map(String::as_str)
        .filter(|usage| !IMPLIED_USAGES.contains(usage))
        .collect();
    let template = match extended.iter().copied().collect::<Vec<_>>().as_slice() {
        [] => return Ok(None),
        ["server auth"] => Template::EndEntityServerAuth,
        ["client auth"] => Template::EndEntityClientAuth,
        ["client auth", "server auth"] => Template::EndEntity,
        ["code signing"] => Template::CodeSigning,
        ["ocsp signing"] => Template::OcspSigning,
        _ => return Err(unexpressible(&extended)),
    };
    Ok(Some(template))
}

fn unexpressible(extended: &BTreeSet<&str>) -> Error {
    let listed: Vec<&str> = extended.iter().copied().collect();
    Error::Permanent(format!(
        "no template grants the usages [{}]. The templates grant: \
         EndEntityCertificate/V1 server auth + client auth, \
         EndEntityServerAuthCertificate/V1 server auth, \
         EndEntityClientAuthCertificate/V1 client auth, \
         CodeSigningCertificate/V1 code signing, \
         OCSPSigningCertificate/V1 ocsp signing; \
         digital signature and key encipherment may accompany any of them. \
         Request one of these sets, or split the request",
        listed.join(", ")
    ))
}
