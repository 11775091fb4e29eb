//! File arguments given as `fileb://PATH`, `file://PATH` or a plain path, as the AWS CLI takes them.

use std::io::Read;
use std::path::Path;

use super::error::{Result, invalid_args};

/// Largest file argument read, in bytes. CSRs are capped lower by the engine; this
/// bound keeps a mistaken path (a disk image, a device) from being read whole.
pub const MAX_INPUT_BYTES: u64 = 1024 * 1024;

/// Strips `fileb://` or `file://` from a file argument, leaving the path.
pub fn input_path(argument: &str) -> &str {
    argument
        .strip_prefix("fileb://")
        .or_else(|| argument.strip_prefix("file://"))
        .unwrap_or(argument)
}

/// Reads the file named by `argument` for the option `option` (such as `--csr`).
///
/// A missing or unreadable file is an `InvalidArgs` error that names the option and the path.
pub fn read_input(option: &str, argument: &str) -> Result<Vec<u8>> {
    let path = input_path(argument);
    if path.is_empty() {
        return Err(invalid_args(format!(
            "{option} {argument:?} names no file; use fileb://PATH or a plain path"
        )));
    }
    let file = std::fs::File::open(Path::new(path)).map_err(|error| {
        invalid_args(format!(
            "{option}: cannot read {path}: {error}; check the path (fileb://PATH or a plain path)"
        ))
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| invalid_args(format!("{option}: cannot read {path}: {error}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(invalid_args(format!(
            "{option}: {path} is larger than {MAX_INPUT_BYTES} bytes; pass the PEM or DER file itself"
        )));
    }
    Ok(bytes)
}

/// Reads a PEM file argument as UTF-8 text.
pub fn read_pem_input(option: &str, argument: &str) -> Result<String> {
    let bytes = read_input(option, argument)?;
    String::from_utf8(bytes).map_err(|_| {
        invalid_args(format!(
            "{option}: {} is not PEM text (invalid UTF-8); convert it with `openssl x509 -outform PEM`",
            input_path(argument)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_path_strips_prefixes() {
        assert_eq!(input_path("fileb://a/b.csr"), "a/b.csr");
        assert_eq!(input_path("file:///tmp/b.csr"), "/tmp/b.csr");
        assert_eq!(input_path("b.csr"), "b.csr");
    }

    #[test]
    fn read_input_missing_file_names_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("absent.csr");
        let argument = format!("fileb://{}", path.display());
        let Err(error) = read_input("--csr", &argument) else {
            panic!("a missing file was read");
        };
        let message = error.to_string();
        assert!(message.starts_with("InvalidArgs: --csr"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
    }

    #[test]
    fn read_input_reads_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bytes.der");
        std::fs::write(&path, [0x30, 0x82, 0x00]).expect("write");
        let bytes = read_input("--csr", &format!("file://{}", path.display()));
        assert_eq!(bytes.ok(), Some(vec![0x30, 0x82, 0x00]));
    }
}
