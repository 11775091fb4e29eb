//! Subject of a CA certificate, built from named fields.

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

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
    /// Accepted keys: CN, O, OU, C, ST, L. A backslash escapes the next character
    /// as in RFC 4514, so a comma inside a value is `\,` and a plus is `\+`.
    /// Keys are case-insensitive and each may appear once. Fails on an unknown key,
    /// an empty part or value, an unescaped `+` (multi-valued RDNs are not
    /// supported), a country that is not two letters, or an empty subject.
    pub fn parse(s: &str) -> Result<Self> {
        let mut subject = SubjectName::default();
        for part in split_unescaped_commas(s) {
            let part = part.trim();
            if part.is_empty() {
                return Err(Error::invalid_args(format!(
                    "subject {s:?} is invalid: it has an empty part between commas; {SUBJECT_FORM}"
                )));
            }
            let (key, value) = part.split_once('=').ok_or_else(|| {
                Error::invalid_args(format!(
                    "subject {s:?} is invalid: {part:?} is not KEY=value; {SUBJECT_FORM}"
                ))
            })?;
            let field = subject.field_mut(key.trim()).ok_or_else(|| {
                Error::invalid_args(format!(
                    "subject {s:?} is invalid: key {:?} is unknown; {SUBJECT_FORM}",
                    key.trim()
                ))
            })?;
            if field.is_some() {
                return Err(Error::invalid_args(format!(
                    "subject {s:?} is invalid: key {:?} appears twice; give each key once",
                    key.trim()
                )));
            }
            *field = Some(unescape(s, value.trim())?);
        }
        if let Some(country) = subject.country.as_mut() {
            *country = country.to_ascii_uppercase();
        }
        subject.validate()?;
        Ok(subject)
    }

    /// Checks that at least one field is set, that no field is empty or too long
    /// (RFC 5280 upper bounds), and that the country is two letters.
    pub fn validate(&self) -> Result<()> {
        let fields = self.fields();
        if fields.iter().all(|(_, _, value)| value.is_none()) {
            return Err(Error::invalid_args(format!(
                "subject is empty; set at least one of CN, O, OU, C, ST, L ({SUBJECT_FORM})"
            )));
        }
        for (key, max_len, value) in fields {
            let Some(value) = value else { continue };
            if value.trim().is_empty() {
                return Err(Error::invalid_args(format!(
                    "subject {key} is empty; give it a value or leave it out"
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(Error::invalid_args(format!(
                    "subject {key}={value:?} contains a control character; remove it"
                )));
            }
            if value.chars().count() > max_len {
                return Err(Error::invalid_args(format!(
                    "subject {key}={value:?} is longer than the {max_len}-character maximum"
                )));
            }
        }
        if let Some(country) = &self.country
            && (country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            return Err(Error::invalid_args(format!(
                "subject C={country:?} is invalid; use a two-letter ISO 3166 code such as US"
            )));
        }
        Ok(())
    }

    /// Returns the set fields as (attribute type, value) in the order they take in
    /// a Name: C, ST, L, O, OU, CN.
    pub(crate) fn attributes(&self) -> Vec<(AttributeKind, &str)> {
        let ordered = [
            (AttributeKind::Country, &self.country),
            (AttributeKind::State, &self.state),
            (AttributeKind::Locality, &self.locality),
            (AttributeKind::Organization, &self.organization),
            (AttributeKind::OrganizationalUnit, &self.organizational_unit),
            (AttributeKind::CommonName, &self.common_name),
        ];
        ordered
            .into_iter()
            .filter_map(|(kind, value)| value.as_deref().map(|v| (kind, v)))
            .collect()
    }

    /// (key, maximum length, value) for every field.
    fn fields(&self) -> [(&'static str, usize, &Option<String>); 6] {
        [
            ("CN", 64, &self.common_name),
            ("O", 64, &self.organization),
            ("OU", 64, &self.organizational_unit),
            ("C", 2, &self.country),
            ("ST", 128, &self.state),
            ("L", 128, &self.locality),
        ]
    }

    fn field_mut(&mut self, key: &str) -> Option<&mut Option<String>> {
        match key.to_ascii_uppercase().as_str() {
            "CN" => Some(&mut self.common_name),
            "O" => Some(&mut self.organization),
            "OU" => Some(&mut self.organizational_unit),
            "C" => Some(&mut self.country),
            "ST" => Some(&mut self.state),
            "L" => Some(&mut self.locality),
            _ => None,
        }
    }
}

/// A Name attribute type that [`SubjectName`] sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttributeKind {
    CommonName,
    Organization,
    OrganizationalUnit,
    Country,
    State,
    Locality,
}

const SUBJECT_FORM: &str = "write the subject as KEY=value pairs separated by commas, keys CN, O, OU, C, ST, L, \
     and a comma or plus inside a value as \\, or \\+";

/// Splits at commas that are not preceded by a backslash.
fn split_unescaped_commas(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// Resolves RFC 4514 escapes: a backslash followed by any character stands for
/// that character. Fails on a trailing backslash and on an unescaped `+`.
fn unescape(subject: &str, value: &str) -> Result<String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().ok_or_else(|| {
                    Error::invalid_args(format!(
                        "subject {subject:?} is invalid: value {value:?} ends in a lone backslash; \
                         write a backslash as \\\\"
                    ))
                })?;
                out.push(next);
            }
            '+' => {
                return Err(Error::invalid_args(format!(
                    "subject {subject:?} is invalid: value {value:?} has an unescaped +, which \
                     would start a multi-valued RDN; those are not supported, so write a plus \
                     inside a value as \\+"
                )));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}
