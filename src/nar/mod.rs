//! NAR serialisation of a filesystem path, hashed as it streams: the NAR hash that
//! `nix hash path` prints, plus a record per file so a diff can name what changed.
//!
//! The grammar is in [`wire`]. The walk never follows a symlink (a symlink is a NAR
//! node of its own), reads each file once in [`CHUNK`](crate::digest::CHUNK)-sized
//! pieces feeding both the NAR hash and the file's own digest, and holds only the
//! per-file records in memory. Anything that is not a regular file, directory or
//! symlink (FIFO, socket, device) is an error, as it is for Nix; such a file is never
//! opened, so a FIFO cannot hang the run.

pub mod wire;

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::digest::{CHUNK, Digest, Hasher};
use crate::manifest::{FileKind, FileRecord};
use crate::tree::{display_path, special_kind};

/// A NAR hash and what went into it.
#[derive(Debug, Clone)]
pub struct NarHash {
    /// SHA-256 of the NAR serialisation.
    pub digest: Digest,
    /// Length of the NAR serialisation in bytes (Nix's `narSize`).
    pub size: u64,
    /// One record per non-directory node, paths relative to the root (`/`-separated),
    /// in NAR order. Empty when the root is itself a file or symlink.
    pub files: Vec<FileRecord>,
}

/// Why a path could not be serialised.
#[derive(Debug, thiserror::Error)]
pub enum NarError {
    #[error("cannot read `{}`: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot hash `{}`: it is a {kind}; a NAR holds only regular files, directories and symlinks", .path.display())]
    Unsupported { path: PathBuf, kind: &'static str },
    #[error("`{}` changed while it was being hashed (expected {expected} bytes, read {read})", .path.display())]
    Changed {
        path: PathBuf,
        expected: u64,
        read: u64,
    },
}

/// The NAR hash of `path`, with per-file records.
pub fn hash_path(path: &Path) -> Result<NarHash, NarError> {
    let mut sink = HashSink {
        hasher: Hasher::new(),
        size: 0,
    };
    let mut files = Vec::new();
    let mut walker = Walker {
        out: &mut sink,
        files: Some(&mut files),
        buf: vec![0u8; CHUNK],
    };
    walker.archive(path)?;
    Ok(NarHash {
        digest: sink.hasher.finish(),
        size: sink.size,
        files,
    })
}

/// Writes the NAR serialisation of `path` to `out` (what `nix-store --dump` prints).
/// Returns the number of bytes written.
pub fn dump(path: &Path, out: &mut dyn Write) -> Result<u64, NarError> {
    let mut sink = WriteSink {
        out,
        size: 0,
        error: None,
    };
    let mut walker = Walker {
        out: &mut sink,
        files: None,
        buf: vec![0u8; CHUNK],
    };
    let result = walker.archive(path);
    if let Some(source) = sink.error.take() {
        return Err(NarError::Io {
            path: PathBuf::from("<output>"),
            source,
        });
    }
    result.map(|()| sink.size)
}

/// Where NAR bytes go.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

struct HashSink {
    hasher: Hasher,
    size: u64,
}

impl Sink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
    }
}

struct WriteSink<'a> {
    out: &'a mut dyn Write,
    size: u64,
    error: Option<io::Error>,
}

impl Sink for WriteSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            match self.out.write_all(bytes) {
                Ok(()) => self.size += bytes.len() as u64,
                Err(e) => self.error = Some(e),
            }
        }
    }
}

/// Adapts a sink to `Extend<u8>` so `wire` can frame tokens into it. Tokens are
/// short, so they are gathered in a small buffer and put in one call.
struct Tokens(Vec<u8>);

impl Extend<u8> for Tokens {
    fn extend<T: IntoIterator<Item = u8>>(&mut self, iter: T) {
        self.0.extend(iter);
    }
}

struct Walker<'a, S: Sink> {
    out: &'a mut S,
    files: Option<&'a mut Vec<FileRecord>>,
    buf: Vec<u8>,
}

impl<S: Sink> Walker<'_, S> {
    fn emit(&mut self, f: impl FnOnce(&mut Tokens)) {
        let mut t = Tokens(Vec::with_capacity(128));
        f(&mut t);
        self.out.put(&t.0);
    }

    fn archive(&mut self, path: &Path) -> Result<(), NarError> {
        self.emit(wire::archive_start);
        self.node(path, &mut Vec::new())
    }

    /// Serialises the node at `path`; `rel` is its path below the root, as bytes.
    fn node(&mut self, path: &Path, rel: &mut Vec<u8>) -> Result<(), NarError> {
        let io_err = |source| NarError::Io {
            path: path.to_owned(),
            source,
        };
        let meta = fs::symlink_metadata(path).map_err(io_err)?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = fs::read_link(path).map_err(io_err)?;
            let target = target.as_os_str().as_bytes();
            self.emit(|t| wire::symlink(t, target));
            self.record(
                rel,
                FileKind::Symlink,
                target.len() as u64,
                Digest::of(target),
            );
        } else if ft.is_file() {
            self.regular(path, &meta, rel)?;
        } else if ft.is_dir() {
            self.emit(wire::directory_start);
            let mut names: Vec<_> = fs::read_dir(path)
                .map_err(io_err)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .map_err(io_err)?;
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for name in names {
                let name_bytes = name.as_bytes();
                self.emit(|t| wire::entry_start(t, name_bytes));
                let len = rel.len();
                if !rel.is_empty() {
                    rel.push(b'/');
                }
                rel.extend_from_slice(name_bytes);
                self.node(&path.join(&name), rel)?;
                rel.truncate(len);
                self.emit(wire::entry_end);
            }
            self.emit(wire::directory_end);
        } else {
            return Err(NarError::Unsupported {
                path: path.to_owned(),
                kind: special_kind(&ft),
            });
        }
        Ok(())
    }

    fn regular(&mut self, path: &Path, meta: &fs::Metadata, rel: &[u8]) -> Result<(), NarError> {
        let io_err = |source| NarError::Io {
            path: path.to_owned(),
            source,
        };
        let executable = meta.permissions().mode() & 0o100 != 0;
        let file = crate::tree::open_regular(path, meta).map_err(io_err)?;
        let len = meta.len();
        self.emit(|t| wire::regular_start(t, executable, len));
        let mut file_hasher = self.files.is_some().then(Hasher::new);
        let read = stream(file, &mut self.buf, |chunk| {
            self.out.put(chunk);
            if let Some(h) = file_hasher.as_mut() {
                h.update(chunk);
            }
        })
        .map_err(io_err)?;
        if read != len {
            return Err(NarError::Changed {
                path: path.to_owned(),
                expected: len,
                read,
            });
        }
        self.emit(|t| wire::regular_end(t, len));
        if let Some(h) = file_hasher {
            let kind = if executable {
                FileKind::Executable
            } else {
                FileKind::File
            };
            self.record(rel, kind, len, h.finish());
        }
        Ok(())
    }

    fn record(&mut self, rel: &[u8], kind: FileKind, size: u64, digest: Digest) {
        if let Some(files) = self.files.as_mut() {
            if !rel.is_empty() {
                files.push(FileRecord {
                    path: display_path(rel),
                    kind,
                    size,
                    digest,
                });
            }
        }
    }
}

/// Reads `file` to its end in `buf`-sized chunks, handing each to `each`.
fn stream(mut file: File, buf: &mut [u8], mut each: impl FnMut(&[u8])) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        match file.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                each(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
