//! File arguments that are not plain files: `-` for standard input, a pipe such as
//! the `/dev/fd/63` that process substitution (`<(git show HEAD:web/Dockerfile)`)
//! passes, and `git:REV:PATH`, read through `git show REV:./PATH`.
//!
//! Only a file named on the command line is read this way. A FIFO met while walking
//! inputs or reading an image is still refused (`fsio`): nobody asked for it. A pipe
//! named here was asked for, so it is read to its end, bounded like a file
//! (`limit`). It is opened without waiting for a writer, so a FIFO nobody writes is
//! read as empty and refused at once instead of hanging the run; a writer that
//! opens it only after buildproof has read it is too late.

use std::io::{self, Read as _};
use std::os::unix::fs::FileTypeExt as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once standard input has been taken, so `diff - -` is refused, not read empty.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// What a file argument names, when it is not a plain path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Special {
    /// `-`.
    Stdin,
    /// A FIFO or other pipe (process substitution).
    Pipe,
    /// `git:REV:PATH`.
    Git { rev: String, path: String },
}

/// What `arg` names, when it is `-`, a pipe, or `git:REV:PATH` that is not also an
/// existing file; `None` for an ordinary path (read the usual way).
#[must_use]
pub fn special(arg: &Path) -> Option<Special> {
    if arg.as_os_str() == "-" {
        return Some(Special::Stdin);
    }
    if let Ok(meta) = std::fs::metadata(arg) {
        return meta.file_type().is_fifo().then_some(Special::Pipe);
    }
    let text = arg.to_str()?;
    let rest = text.strip_prefix("git:")?;
    let (rev, path) = rest.split_once(':')?;
    if rev.is_empty() || path.is_empty() {
        return None;
    }
    Some(Special::Git {
        rev: rev.to_owned(),
        path: path.to_owned(),
    })
}

/// Reads a special argument whole, refusing more than `limit` bytes (`InvalidData`).
///
/// # Errors
/// Standard input taken twice; a pipe that cannot be read; `git show` failing
/// (with git's message); more than `limit` bytes.
pub fn read(arg: &Path, what: &Special, limit: u64) -> io::Result<Vec<u8>> {
    let bytes = match what {
        Special::Stdin => {
            if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "standard input can be read only once; name one of the files as `-` only",
                ));
            }
            bounded(io::stdin().lock(), limit)?
        }
        Special::Pipe => {
            let bytes = bounded(open_pipe(arg)?, limit)?;
            if bytes.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "it is a FIFO or pipe that gave no data (no process wrote to it)",
                ));
            }
            bytes
        }
        Special::Git { rev, path } => git_show(rev, path, limit)?,
    };
    Ok(bytes)
}

/// Reads a file argument whole: a special one as [`read`] does, any other path as a
/// regular file of at most `limit` bytes ([`crate::fsio::read_file`]).
///
/// # Errors
/// As [`read`] and [`crate::fsio::read_file`].
pub fn read_any(arg: &Path, limit: u64) -> io::Result<Vec<u8>> {
    match special(arg) {
        Some(what) => read(arg, &what, limit),
        None => crate::fsio::read_file(arg, limit),
    }
}

/// Opens a pipe for reading without waiting for a writer (a plain `open` of a FIFO
/// blocks until one appears, forever if none does), then reads it blocking: with a
/// writer (process substitution), reads wait for its data; with none, the first read
/// is the end of the file, at once.
fn open_pipe(arg: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(arg)?;
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - rustix::fs::OFlags::NONBLOCK)?;
    Ok(file)
}

fn bounded(reader: impl io::Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is more than the {limit} bytes allowed"),
        ));
    }
    Ok(bytes)
}

/// `git show REV:./PATH`: the file as committed at REV, the path relative to the
/// current directory as for any other argument.
fn git_show(rev: &str, path: &str, limit: u64) -> io::Result<Vec<u8>> {
    if rev.starts_with('-') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{rev}` is not a revision"),
        ));
    }
    let spec = if path.starts_with('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path after `git:REV:` must be relative to the current directory",
        ));
    } else {
        format!("{rev}:./{path}")
    };
    let out = Command::new("git")
        .args(["show", "--no-textconv", "--end-of-options"])
        .arg(&spec)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run `git`: {e}")))?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr);
        let message = message
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("git failed without a message");
        return Err(io::Error::other(format!("`git show {spec}`: {message}")));
    }
    if out.stdout.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is more than the {limit} bytes allowed"),
        ));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_told_apart() {
        assert_eq!(special(Path::new("-")), Some(Special::Stdin));
        assert_eq!(
            special(Path::new("git:origin/main:web/Dockerfile")),
            Some(Special::Git {
                rev: "origin/main".into(),
                path: "web/Dockerfile".into()
            })
        );
        assert_eq!(special(Path::new("git::x")), None);
        assert_eq!(special(Path::new("web/Dockerfile")), None);
        assert_eq!(special(Path::new("/dev/null")), None);
    }
}
