//! Names and subjectAltNames as text for messages, status and audit records.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use x509_parser::extensions::GeneralName;
use x509_parser::x509::X509Name;

/// Short names of the attribute types RFC 4514 lists, plus emailAddress.
const ATTRIBUTE_NAMES: [(&str, &str); 10] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
];

/// Formats a Name as RFC 4514 text: the last RDN first, RDNs joined by `,`, the
/// members of a multi-valued RDN joined by `+`. An empty Name is an empty string.
pub(crate) fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            let members: Vec<String> = rdn
                .iter()
                .map(|attribute| {
                    let oid = attribute.attr_type().to_id_string();
                    let key = ATTRIBUTE_NAMES
                        .iter()
                        .find(|(known, _)| *known == oid)
                        .map(|(_, short)| (*short).to_string())
                        .unwrap_or(oid);
                    let value = match attribute.as_str() {
                        Ok(text) => escape_value(text),
                        Err(_) => format!("#{}", hex(attribute.attr_value().data)),
                    };
                    format!("{key}={value}")
                })
                .collect();
            members.join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// Escapes an attribute value as RFC 4514, section 2.4 requires.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (index, c) in value.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '#' if index == 0 => out.push_str("\\#"),
            ' ' if index == 0 || index == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buffer = [0u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    let _ = write!(out, "\\{byte:02x}");
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Describes a subjectAltName entry, such as `DNS:app.example` or `IP:10.0.0.1`.
pub(crate) fn describe_general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(dns) => format!("DNS:{dns}"),
        GeneralName::RFC822Name(email) => format!("email:{email}"),
        GeneralName::URI(uri) => format!("URI:{uri}"),
        GeneralName::IPAddress(bytes) => match ip_address(bytes) {
            Some(ip) => format!("IP:{ip}"),
            None => format!("IP:#{}", hex(bytes)),
        },
        GeneralName::DirectoryName(name) => format!("DirName:{}", rfc4514(name)),
        GeneralName::RegisteredID(oid) => format!("RID:{}", oid.to_id_string()),
        GeneralName::OtherName(oid, _) => format!("othername:{}", oid.to_id_string()),
        GeneralName::X400Address(_) => "X400Address".to_string(),
        GeneralName::EDIPartyName(_) => "EDIPartyName".to_string(),
        GeneralName::Invalid(tag, bytes) => format!("tag {}:#{}", tag.0, hex(bytes)),
    }
}

/// Reads an iPAddress SAN value: 4 bytes IPv4, 16 bytes IPv6.
pub(crate) fn ip_address(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
