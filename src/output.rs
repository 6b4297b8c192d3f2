//! Writing result files atomically (a temporary file in the same
//! directory, then a rename), so a failed run never leaves a half-written file.
//!
//! Atomic replacement is for regular files. A target that exists and is not one is
//! written in place, never replaced, if it is a character device (`/dev/null`, a
//! terminal) or a FIFO that a process reads (`-o >(gzip > r.gz)`); a FIFO nobody
//! reads is refused at once instead of blocking the run forever, and so are
//! sockets, block devices and directories. A symlink is followed, so the file it
//! names is replaced and the link stays. A new file gets the usual mode (0666 less
//! the umask); a replaced file keeps its mode.
//!
//! A temporary file being written is registered until it is renamed or removed, so
//! a signal that ends the run (`SIGINT`, `SIGTERM`, `SIGHUP`) can remove it first:
//! [`remove_partial_files`], called by the binary's signal handler. `SIGXFSZ` is
//! caught rather than fatal, so a file-size limit fails the write (exit 2, the
//! temporary file dropped) instead of killing the process mid-file.
//!
//! [`check_distinct`] refuses a run whose output would land on one of its own
//! inputs or on another output, compared as files (device and inode), not as
//! spellings: `./m.json` and `m.json`, or a symlink and its target, are one file.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files being written now.
static PARTIAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary file still being written. Called from the signal handler
/// thread before the process exits on `SIGINT`/`SIGTERM`/`SIGHUP`.
pub fn remove_partial_files() {
    let paths = match PARTIAL.lock() {
        Ok(mut p) => std::mem::take(&mut *p),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    for p in paths {
        let _ = fs::remove_file(p);
    }
}

/// Registers `path` for [`remove_partial_files`] while the guard lives.
struct Partial(PathBuf);

impl Partial {
    fn new(path: &Path) -> Self {
        if let Ok(mut p) = PARTIAL.lock() {
            p.push(path.to_owned());
        }
        Self(path.to_owned())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Ok(mut p) = PARTIAL.lock() {
            p.retain(|x| x != &self.0);
        }
    }
}

/// An output file that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write `{}`: it is a directory", .path.display())]
    Directory { path: PathBuf },
    #[error("cannot write `{}`", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot create a temporary file in `{}`", .dir.display())]
    Temporary { dir: PathBuf, source: io::Error },
    #[error("cannot write `{}`: it is a FIFO that no process reads (it would block forever)", .path.display())]
    UnreadFifo { path: PathBuf },
    #[error("cannot write `{}`: it is a {kind}; write to a regular file, a FIFO that is read, or a character device", .path.display())]
    Special { path: PathBuf, kind: &'static str },
    #[error("`{}` exists; it is never overwritten: move it away, or print to stdout instead", .path.display())]
    Exists { path: PathBuf },
    #[error("{first} and {second} both name `{}`, one file; give them different files", .path.display())]
    SameFile {
        first: String,
        second: String,
        path: PathBuf,
    },
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
    if let Some(meta) = existing.as_ref().filter(|m| !m.is_file()) {
        let f = open_in_place(path, meta)?;
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
    let _partial = Partial::new(tmp.path());
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

/// Writes `bytes` to a new file at `path`, atomically, and never over anything that
/// exists there (a file, a link, a FIFO): the file appears whole or not at all.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let write_err = |source| OutputError::Write {
        path: path.to_owned(),
        source,
    };
    if fs::symlink_metadata(path).is_ok() {
        return Err(OutputError::Exists {
            path: path.to_owned(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".buildproof-")
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|source| OutputError::Temporary {
            dir: dir.to_owned(),
            source,
        })?;
    let _partial = Partial::new(tmp.path());
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(write_err)?;
    // `link`-based: fails if something appeared at `path` since the check above.
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            OutputError::Exists {
                path: path.to_owned(),
            }
        } else {
            write_err(e.error)
        }
    })?;
    Ok(())
}

/// Opens an existing target that is not a regular file, to write it in place: a
/// character device as it is; a FIFO only if a process reads it (opened
/// non-blocking, which fails at once with `ENXIO` when none does, then switched back
/// to blocking writes); anything else refused.
fn open_in_place(path: &Path, meta: &fs::Metadata) -> Result<fs::File, OutputError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let write_err = |source| OutputError::Write {
        path: path.to_owned(),
        source,
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err(OutputError::Directory {
            path: path.to_owned(),
        });
    }
    if ft.is_char_device() {
        return fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(write_err);
    }
    if !ft.is_fifo() {
        return Err(OutputError::Special {
            path: path.to_owned(),
            kind: crate::fsio::special_kind(&ft),
        });
    }
    let f = match fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(OutputError::UnreadFifo {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(write_err(e)),
    };
    let flags = rustix::fs::fcntl_getfl(&f).map_err(|e| write_err(e.into()))?;
    rustix::fs::fcntl_setfl(&f, flags - rustix::fs::OFlags::NONBLOCK)
        .map_err(|e| write_err(e.into()))?;
    Ok(f)
}

/// What a file is, for telling whether two names are one file: device and inode
/// when it exists; otherwise its canonical directory and its name.
#[derive(Debug, PartialEq, Eq)]
enum FileKey {
    Inode(u64, u64),
    Path(PathBuf),
}

fn key(path: &Path) -> Option<FileKey> {
    if let Ok(m) = fs::metadata(path) {
        return Some(FileKey::Inode(m.dev(), m.ino()));
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(FileKey::Path(fs::canonicalize(dir).ok()?.join(name)))
}

/// Refuses outputs that name the same file as another output, or as a file the run
/// reads. Each entry is a description for the message (`` `--output` ``, `the config`)
/// and its path. Character devices (`/dev/null`, `/dev/stdout` on a terminal) may be
/// named more than once.
pub fn check_distinct(
    outputs: &[(&str, &Path)],
    reads: &[(&str, &Path)],
) -> Result<(), OutputError> {
    let device = |p: &Path| fs::metadata(p).is_ok_and(|m| m.file_type().is_char_device());
    let keyed = |list: &[(&str, &Path)]| -> Vec<(String, PathBuf, FileKey)> {
        list.iter()
            .filter(|(_, p)| !device(p))
            .filter_map(|(what, p)| key(p).map(|k| ((*what).to_owned(), p.to_path_buf(), k)))
            .collect()
    };
    let outs = keyed(outputs);
    let ins = keyed(reads);
    for (i, (what, path, k)) in outs.iter().enumerate() {
        let clash = outs[..i]
            .iter()
            .chain(ins.iter())
            .find(|(_, _, other)| other == k);
        if let Some((other, _, _)) = clash {
            return Err(OutputError::SameFile {
                first: other.clone(),
                second: what.clone(),
                path: path.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // What the signal handler calls: every temporary file still registered goes.
    #[test]
    fn partial_files_are_removed_on_demand() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(".buildproof-x");
        fs::write(&tmp, "half").unwrap();
        let guard = Partial::new(&tmp);
        remove_partial_files();
        assert!(!tmp.exists());
        drop(guard);
        // A finished write unregisters itself: nothing of it is removed later.
        let done = dir.path().join("done.json");
        write_atomically(&done, b"all").unwrap();
        remove_partial_files();
        assert_eq!(fs::read(&done).unwrap(), b"all");
    }

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
