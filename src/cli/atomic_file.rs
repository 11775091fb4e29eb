//! Atomic file writes: a temporary file in the target's directory, fsync, rename,
//! then fsync of the directory, so a reader sees the old file or the whole new one.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::error::{Error, Result};

/// Mode of files that anyone on the host may read: certificates and records.
pub const PUBLIC_MODE: u32 = 0o644;
/// Mode of the CA private key. The temporary file is created with it, so the key is
/// never readable by others, not even before the rename.
pub const PRIVATE_MODE: u32 = 0o600;

/// Whether an existing file at the target path may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace an existing file.
    Replace,
    /// Fail with `AlreadyExists` when the target exists.
    Never,
}

/// Writes `bytes` to `path` atomically with file mode `mode` (before the umask).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, overwrite: Overwrite) -> Result<()> {
    let dir = parent_dir(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    set_mode(&mut builder, mode);
    let mut temp = builder
        .tempfile_in(dir)
        .map_err(|error| Error::io("create a temporary file in", dir, error))?;
    temp.write_all(bytes)
        .map_err(|error| Error::io("write", temp.path(), error))?;
    temp.as_file()
        .sync_all()
        .map_err(|error| Error::io("fsync", temp.path(), error))?;
    let persisted = match overwrite {
        Overwrite::Replace => temp.persist(path),
        Overwrite::Never => temp.persist_noclobber(path),
    };
    persisted.map_err(|error| Error::io("write", path, error.error))?;
    sync_dir(dir)
}

/// Makes a rename or a new entry in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| Error::io("fsync directory", dir, error))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn set_mode(builder: &mut tempfile::Builder<'_, '_>, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    builder.permissions(std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_mode(builder: &mut tempfile::Builder<'_, '_>, mode: u32) {
    // NOTE: off Unix the file keeps the platform's default access rules, so the key
    // file is protected only by the directory's permissions.
    let _ = (builder, mode);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ca.json");
        write_atomic(&path, b"one", PUBLIC_MODE, Overwrite::Replace).expect("first write");
        write_atomic(&path, b"two", PUBLIC_MODE, Overwrite::Replace).expect("second write");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
    }

    #[test]
    fn write_atomic_never_keeps_existing_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ca.key.pem");
        write_atomic(&path, b"first", PRIVATE_MODE, Overwrite::Never).expect("first write");
        let second = write_atomic(&path, b"second", PRIVATE_MODE, Overwrite::Never);
        assert!(second.is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
    }

    #[test]
    fn write_atomic_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_atomic(&dir.path().join("a"), b"a", PUBLIC_MODE, Overwrite::Replace).expect("write");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a")]);
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_private_mode_is_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ca.key.pem");
        write_atomic(&path, b"key", PRIVATE_MODE, Overwrite::Never).expect("write");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
