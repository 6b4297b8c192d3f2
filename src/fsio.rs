//! File helpers every reader shares: opening regular files without following a link
//! or blocking on a FIFO, whole-file reads, special-file names, and the text form of
//! raw path bytes. The ground floor beside `digest`: it imports nothing of the crate.
//!
//! The open flags come from `libc`, so they are right on every system the flake
//! builds for (`O_NOFOLLOW` is 0o400000 on x86-64 Linux but 0o100000 on aarch64
//! Linux, where 0o400000 is `O_LARGEFILE`; `O_NONBLOCK` is 0o4 on macOS).

use std::fs::{self, File, FileType};
use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Opens a file that `lstat` said is regular, without following a symlink and
/// without blocking, and checks it is still the same regular file: a FIFO swapped
/// in between the two calls is refused rather than read.
pub fn open_regular(path: &Path, meta: &fs::Metadata) -> io::Result<File> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let now = file.metadata()?;
    if !now.file_type().is_file() || now.ino() != meta.ino() || now.dev() != meta.dev() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the file was replaced while it was being read",
        ));
    }
    Ok(file)
}

/// Opens `path` (following symlinks) only if it is a regular file. The open does not
/// block, so a FIFO planted where a file is expected (an image blob, an archive) is
/// refused instead of hanging the run.
pub fn open_file(path: &Path) -> io::Result<File> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let ft = file.metadata()?.file_type();
    if !ft.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is a {}, not a regular file", special_kind(&ft)),
        ));
    }
    Ok(file)
}

/// Reads a whole regular file of at most `limit` bytes (a config, manifest or running
/// state), refusing anything else without blocking on it (see [`open_file`]) and
/// anything longer before reading it (`InvalidData`, saying the size and the limit).
pub fn read_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_file(path)?;
    let size = file.metadata()?.len();
    let too_large = |size: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is {size} bytes, more than the {limit} bytes allowed"),
        )
    };
    if size > limit {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    io::Read::read_to_end(&mut io::Read::take(file, limit + 1), &mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// A person's name for a file type that is not a file, directory or symlink.
#[must_use]
pub fn special_kind(ft: &FileType) -> &'static str {
    if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// `root/rel`, but plain `rel` when the root is `.`, so messages show paths as the
/// user would type them (`src/main.go`, not `./src/main.go`).
#[must_use]
pub fn join(root: &Path, rel: &Path) -> PathBuf {
    if root == Path::new(".") {
        rel.to_owned()
    } else {
        root.join(rel)
    }
}

/// The text form of a raw relative path (see the module doc for non-UTF-8 names).
#[must_use]
pub fn display_path(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) if !s.contains('\\') => s.to_owned(),
        _ => {
            let mut out = String::new();
            for chunk in raw.utf8_chunks() {
                for c in chunk.valid().chars() {
                    if c == '\\' {
                        out.push_str("\\\\");
                    } else {
                        out.push(c);
                    }
                }
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_names_are_escaped_losslessly() {
        assert_eq!(display_path(b"plain/name.txt"), "plain/name.txt");
        assert_eq!(display_path(b"caf\xe9\\x"), "caf\\xe9\\\\x");
        // A UTF-8 name that merely looks like an escape stays distinct.
        assert_eq!(display_path(b"a\\xff"), "a\\\\xff");
        assert_eq!(display_path(b"a\xff"), "a\\xff");
    }
}
