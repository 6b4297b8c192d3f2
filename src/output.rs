//! Writing result files atomically (a temporary file in the same
//! directory, then a rename), so a failed run never leaves a half-written file.
//!
//! Atomic replacement is for regular files. A target that exists and is not one — a
//! device such as `/dev/null`, a FIFO, `/dev/stdout` — is written in place, never
//! replaced. A symlink is followed, so the file it names is replaced and the link
//! stays. A new file gets the usual mode (0666 less the umask); a replaced file
//! keeps its mode.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// An output file that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write `{}`: it is a directory", .path.display())]
    Directory { path: PathBuf },
    #[error("cannot write `{}`", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot create a temporary file in `{}`", .dir.display())]
    Temporary { dir: PathBuf, source: io::Error },
}

/// Writes `bytes` to `path` atomically: the file either holds all of them or keeps
/// what it held before.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_atomically_with(path, Durability::Synced, |w| w.write_all(bytes))
}

/// Whether an atomic write waits for the data to reach the disk before the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync` first: after a crash the file is the old one or the whole new one.
    Synced,
    /// No `fsync`: for files that are checked when read (a crash may leave an empty
    /// or partial file under the name, which its reader must refuse), such as caches.
    Unsynced,
}

/// Writes what `write` produces to `path` atomically, streaming: nothing is held in
/// memory, and the file either holds everything `write` wrote or keeps what it held
/// before (an error from `write` leaves the old file).
pub fn write_atomically_with(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let write_err = |source| OutputError::Write {
        path: path.to_owned(),
        source,
    };
    let existing = fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        if existing.as_ref().is_some_and(fs::Metadata::is_dir) {
            return Err(OutputError::Directory {
                path: path.to_owned(),
            });
        }
        // A device, FIFO or terminal: write in place, never replace it.
        let f = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(write_err)?;
        let mut w = io::BufWriter::with_capacity(BUF, f);
        write(&mut w).and_then(|()| w.flush()).map_err(write_err)?;
        return Ok(());
    }
    // Replace the file a symlink names, not the link.
    let target: PathBuf = if existing.is_some() {
        fs::canonicalize(path).map_err(write_err)?
    } else {
        path.to_owned()
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mode = existing.map_or(0o666, |m| m.permissions().mode() & 0o7777);
    let tmp = tempfile::Builder::new()
        .prefix(".buildproof-")
        // Applied at creation, so a new file gets 0666 less the umask, as with `>`.
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|source| OutputError::Temporary {
            dir: dir.to_owned(),
            source,
        })?;
    let mut w = io::BufWriter::with_capacity(BUF, tmp);
    write(&mut w).and_then(|()| w.flush()).map_err(write_err)?;
    let tmp = w.into_inner().map_err(|e| write_err(e.into_error()))?;
    if durability == Durability::Synced {
        tmp.as_file().sync_all().map_err(write_err)?;
    }
    if mode != 0o666 {
        // Replacing an existing file keeps its mode.
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(write_err)?;
    }
    tmp.persist(&target).map_err(|e| write_err(e.error))?;
    Ok(())
}

/// Write buffer of streamed outputs: large enough that a manifest of a million files
/// is written in few system calls.
const BUF: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_get_the_umask_mode_and_replaced_files_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        write_atomically(&new, b"one").unwrap();
        let mode = fs::metadata(&new).unwrap().permissions().mode() & 0o777;
        // 0666 less whatever umask the test runs under: never the temp file's 0600.
        assert_eq!(mode & 0o600, 0o600);
        assert_ne!(mode, 0o600, "temp-file mode leaked");

        fs::set_permissions(&new, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&new, b"two").unwrap();
        assert_eq!(fs::read(&new).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&new).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn symlinks_are_followed_and_devices_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");

        write_atomically(Path::new("/dev/null"), b"discarded").unwrap();
        assert!(!fs::metadata("/dev/null").unwrap().is_file());
    }
}
