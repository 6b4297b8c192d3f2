//! NAR serialisation of a filesystem path, hashed as it streams: the NAR hash that
//! `nix hash path` prints, plus a record per file so a diff can name what changed.
//!
//! The grammar is in [`wire`]. The walk never follows a symlink (a symlink is a NAR
//! node of its own) and reads each file once. Hashing is pipelined: the walking
//! thread reads file bytes straight into fixed-size buffers (and feeds each file's
//! own digest when records are wanted), a second thread runs the NAR's SHA-256 over
//! the filled buffers, so I/O and hashing overlap; memory stays bounded by a few
//! buffers plus the per-file records. Anything that is not a regular file, directory or
//! symlink (FIFO, socket, device) is an error, as it is for Nix; such a file is never
//! opened, so a FIFO cannot hang the run.
//!
//! A file must not change while it is read: its `fstat` after reading must equal its
//! `lstat` before (inode, mode, size, mtime and ctime with nanoseconds, as git's
//! index compares them), and a file changed in the last second (whose last `write`
//! may still be copying bytes) is read a second time and must hash the same.
//! Otherwise the whole path is hashed once more, and a second change is exit 2
//! naming the file, never a digest of a mixture of old and new bytes.

pub mod wire;

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::digest::{CHUNK, Digest, Hasher};
use crate::fsio::{Stat, Time, display_path, recent_cutoff};
use crate::model::manifest::{FileKind, FileRecord};
use crate::progress::Progress;

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
    #[error("cannot read `{}`", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot hash `{}`: it is a {kind}; a NAR holds only regular files, directories and symlinks", .path.display())]
    Unsupported { path: PathBuf, kind: &'static str },
    #[error("`{}` changed while it was being hashed; run buildproof after the build has finished", .path.display())]
    Changed { path: PathBuf },
}

/// The NAR hash of `path`, with per-file records.
pub fn hash_path(path: &Path) -> Result<NarHash, NarError> {
    hash_path_with(path, &Progress::new())
}

/// [`hash_path`], counting the files and bytes it reads into `progress`.
pub fn hash_path_with(path: &Path, progress: &Progress) -> Result<NarHash, NarError> {
    retrying(|| {
        let mut files = Vec::new();
        let (digest, size) = pipelined(path, Some(&mut files), progress)?;
        Ok(NarHash {
            digest,
            size,
            files,
        })
    })
}

/// The NAR hash and size of `path` only, without per-file records: what
/// `buildproof nar-hash` prints. Half the hashing work of [`hash_path`].
pub fn digest_path(path: &Path) -> Result<(Digest, u64), NarError> {
    retrying(|| pipelined(path, None, &Progress::new()))
}

/// Runs `hash` again once if a file changed while it was read (a NAR is one stream,
/// so the whole path is read again); a second change is the error.
fn retrying<T>(hash: impl Fn() -> Result<T, NarError>) -> Result<T, NarError> {
    match hash() {
        Err(NarError::Changed { .. }) => hash(),
        other => other,
    }
}

/// Writes the NAR serialisation of `path` to `out` (what `nix-store --dump` prints).
/// Returns the number of bytes written.
pub fn dump(path: &Path, out: &mut dyn Write) -> Result<u64, NarError> {
    let mut sink = WriteSink {
        out,
        size: 0,
        error: None,
        scratch: vec![0u8; CHUNK],
    };
    let progress = Progress::new();
    let mut walker = Walker {
        out: &mut sink,
        files: None,
        recent: recent_cutoff(),
        progress: &progress,
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

/// Size of the buffers passed from the walking thread to the hashing thread. Many
/// small files and their NAR framing share one buffer, so the hand-over cost (a
/// channel send and, when a thread waits, a futex wake) is per megabyte, not per
/// file. On a 1 GiB file, 1 MiB measured fastest of 64 KiB to 4 MiB.
const PIPE_BUF: usize = 1024 * 1024;
/// Buffers in flight between the threads: enough to ride out a slow `open` or
/// directory read without starving the hasher, while memory stays bounded (at most
/// `PIPE_DEPTH + 2` buffers exist, 6 MiB).
const PIPE_DEPTH: usize = 4;

/// Serialises `path` on this thread and SHA-256s the NAR on another, so reading
/// (syscalls, page-cache copies, per-file digests) overlaps with hashing: the NAR
/// hash is one sequential SHA-256, and this keeps it busy. `nix hash path` does both
/// on one thread, which is why it is slower on the same tree.
fn pipelined(
    path: &Path,
    files: Option<&mut Vec<FileRecord>>,
    progress: &Progress,
) -> Result<(Digest, u64), NarError> {
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel::<(Box<[u8]>, usize)>(PIPE_DEPTH);
        let (empty_tx, empty_rx) = mpsc::channel::<Box<[u8]>>();
        let hasher = std::thread::Builder::new()
            .name("nar-hash".to_owned())
            .spawn_scoped(scope, move || {
                let mut hasher = Hasher::new();
                for (buf, len) in full_rx {
                    hasher.update_from_other_thread(&buf[..len]);
                    // The walker may have finished already; then the buffer is dropped.
                    let _ = empty_tx.send(buf);
                }
                hasher.finish()
            })
            .map_err(|source| NarError::Io {
                path: path.to_owned(),
                source,
            })?;
        let mut sink = PipeSink {
            buf: vec![0u8; PIPE_BUF].into_boxed_slice(),
            used: 0,
            size: 0,
            full: full_tx,
            empty: empty_rx,
        };
        let result = Walker {
            out: &mut sink,
            files,
            recent: recent_cutoff(),
            progress,
        }
        .archive(path);
        sink.flush();
        let size = sink.size;
        // Closing the channel ends the hashing thread's loop.
        drop(sink);
        let digest = hasher.join().map_err(|_| NarError::Io {
            path: path.to_owned(),
            source: io::Error::other("the hashing thread failed"),
        })?;
        result.map(|()| (digest, size))
    })
}

/// Where NAR bytes go.
trait Sink {
    fn put(&mut self, bytes: &[u8]);

    /// Reads the next piece of `file`, at most `max` bytes, into the NAR and shows
    /// it to `each`; returns how many bytes were read, 0 at end of file.
    fn read_from(
        &mut self,
        file: &mut File,
        max: u64,
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<usize>;
}

/// Feeds the hashing thread of [`pipelined`]. File bytes are read straight into the
/// buffer that is handed over, so nothing is copied on the way.
struct PipeSink {
    buf: Box<[u8]>,
    used: usize,
    size: u64,
    full: mpsc::SyncSender<(Box<[u8]>, usize)>,
    empty: mpsc::Receiver<Box<[u8]>>,
}

impl PipeSink {
    fn flush(&mut self) {
        if self.used == 0 {
            return;
        }
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| vec![0u8; PIPE_BUF].into_boxed_slice());
        let full = std::mem::replace(&mut self.buf, next);
        // Fails only if the hashing thread is gone, which `join` then reports.
        let _ = self.full.send((full, self.used));
        self.used = 0;
    }
}

impl Sink for PipeSink {
    fn put(&mut self, mut bytes: &[u8]) {
        self.size += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.used == self.buf.len() {
                self.flush();
            }
            let n = bytes.len().min(self.buf.len() - self.used);
            self.buf[self.used..self.used + n].copy_from_slice(&bytes[..n]);
            self.used += n;
            bytes = &bytes[n..];
        }
    }

    fn read_from(
        &mut self,
        file: &mut File,
        max: u64,
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<usize> {
        // Below this much room, hand the buffer over rather than issue a tiny read.
        const MIN_READ: usize = 64 * 1024;
        let room = self.buf.len() - self.used;
        if room < MIN_READ && (room as u64) < max {
            self.flush();
        }
        let end = self
            .buf
            .len()
            .min(self.used + usize::try_from(max).unwrap_or(usize::MAX));
        let n = read_retrying(file, &mut self.buf[self.used..end])?;
        each(&self.buf[self.used..self.used + n]);
        self.used += n;
        self.size += n as u64;
        Ok(n)
    }
}

struct WriteSink<'a> {
    out: &'a mut dyn Write,
    size: u64,
    error: Option<io::Error>,
    scratch: Vec<u8>,
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

    fn read_from(
        &mut self,
        file: &mut File,
        max: u64,
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<usize> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let end = scratch
            .len()
            .min(usize::try_from(max).unwrap_or(usize::MAX));
        let n = read_retrying(file, &mut scratch[..end]);
        if let Ok(n) = n {
            each(&scratch[..n]);
            self.put(&scratch[..n]);
        }
        self.scratch = scratch;
        n
    }
}

/// Reads the regular file `lstat` described as `before` once more, outside the NAR:
/// its digest, or `None` if it is no longer the same unchanged file.
fn reread(path: &Path, before: &Stat) -> io::Result<Option<Digest>> {
    let mut file = match crate::fsio::open_no_follow(path) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
        Err(e) => return Err(e),
    };
    let (digest, read) = Digest::of_reader((&mut file).take(before.size))?;
    let after = Stat::of(&file.metadata()?);
    Ok((read == before.size && after == *before).then_some(digest))
}

fn read_retrying(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
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

/// A node's name in its open parent directory, and the parent's depth below the root.
#[derive(Clone, Copy)]
struct At<'a> {
    dir: BorrowedFd<'a>,
    name: &'a OsStr,
    depth: usize,
}

/// Directories kept open at once, at most: one per level of the walk.
const MAX_OPEN_DEPTH: usize = 128;

struct Walker<'a, S: Sink> {
    out: &'a mut S,
    files: Option<&'a mut Vec<FileRecord>>,
    /// Files whose ctime is at or after this are read twice (see the module doc).
    recent: Time,
    progress: &'a Progress,
}

impl<S: Sink> Walker<'_, S> {
    fn emit(&mut self, f: impl FnOnce(&mut Tokens)) {
        let mut t = Tokens(Vec::with_capacity(128));
        f(&mut t);
        self.out.put(&t.0);
    }

    fn archive(&mut self, path: &Path) -> Result<(), NarError> {
        self.emit(wire::archive_start);
        self.node(path, None, &mut Vec::new())
    }

    /// Serialises the node at `path`; `rel` is its path below the root, as bytes.
    /// `at` is the node's name in its open parent directory, where there is one:
    /// each call then looks up one name instead of walking the whole path again
    /// (with `lstat` and `open` by path, the kernel's path walk was a fifth of the
    /// reading thread's time on a tree of small files).
    fn node(&mut self, path: &Path, at: Option<At<'_>>, rel: &mut Vec<u8>) -> Result<(), NarError> {
        let io_err = |source| NarError::Io {
            path: path.to_owned(),
            source,
        };
        let before = match at {
            Some(at) => rustix::fs::statat(at.dir, at.name, AtFlags::SYMLINK_NOFOLLOW)
                .map(|st| Stat::of_raw(&st))
                .map_err(io::Error::from),
            None => fs::symlink_metadata(path).map(|m| Stat::of(&m)),
        }
        .map_err(io_err)?;
        match before.mode & libc::S_IFMT {
            libc::S_IFLNK => {
                let target = match at {
                    Some(at) => rustix::fs::readlinkat(at.dir, at.name, Vec::new())
                        .map(|t| t.into_bytes())
                        .map_err(io::Error::from),
                    None => fs::read_link(path).map(|t| t.into_os_string().into_vec()),
                }
                .map_err(io_err)?;
                self.emit(|t| wire::symlink(t, &target));
                self.record(
                    rel,
                    FileKind::Symlink,
                    target.len() as u64,
                    Digest::of(&target),
                );
            }
            libc::S_IFREG => self.regular(path, at, &before, rel)?,
            libc::S_IFDIR => self.directory(path, at, rel)?,
            mode => {
                return Err(NarError::Unsupported {
                    path: path.to_owned(),
                    kind: crate::fsio::special_kind_of_mode(mode),
                });
            }
        }
        Ok(())
    }

    /// Serialises the directory at `path`: its entries in byte order of their names.
    fn directory(
        &mut self,
        path: &Path,
        at: Option<At<'_>>,
        rel: &mut Vec<u8>,
    ) -> Result<(), NarError> {
        let io_err = |source| NarError::Io {
            path: path.to_owned(),
            source,
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match at {
            Some(at) => rustix::fs::openat(at.dir, at.name, flags, Mode::empty()),
            None => rustix::fs::open(path, flags, Mode::empty()),
        }
        .map_err(|e| io_err(e.into()))?;
        let mut dir = rustix::fs::Dir::new(fd).map_err(|e| io_err(e.into()))?;
        let mut names: Vec<OsString> = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| io_err(e.into()))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_owned());
            }
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        // Entries are looked up by name in this directory while it stays open, down
        // to a depth that keeps the open directories far below the limit on open
        // files; deeper, by their paths.
        let depth = at.map_or(0, |at| at.depth + 1);
        let dir_fd = dir.fd().map_err(|e| io_err(e.into()))?;
        self.emit(wire::directory_start);
        for name in names {
            let name_bytes = name.as_bytes();
            self.emit(|t| wire::entry_start(t, name_bytes));
            let len = rel.len();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name_bytes);
            let child = (depth < MAX_OPEN_DEPTH).then_some(At {
                dir: dir_fd,
                name: &name,
                depth,
            });
            self.node(&path.join(&name), child, rel)?;
            rel.truncate(len);
            self.emit(wire::entry_end);
        }
        self.emit(wire::directory_end);
        Ok(())
    }

    fn regular(
        &mut self,
        path: &Path,
        at: Option<At<'_>>,
        before: &Stat,
        rel: &[u8],
    ) -> Result<(), NarError> {
        let io_err = |source| NarError::Io {
            path: path.to_owned(),
            source,
        };
        let changed = || NarError::Changed {
            path: path.to_owned(),
        };
        let before = *before;
        let executable = before.mode & 0o100 != 0;
        let opened = match at {
            Some(at) => crate::fsio::open_no_follow_at(at.dir, at.name),
            None => crate::fsio::open_no_follow(path),
        };
        let mut file = match opened {
            Ok(f) => f,
            // Replaced by a symlink since the `lstat`.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(changed()),
            Err(e) => return Err(io_err(e)),
        };
        let len = before.size;
        // Changed moments ago: a `write` may still be copying its bytes, so the file
        // is read again below and must hash the same.
        let recent = before.ctime >= self.recent;
        self.emit(|t| wire::regular_start(t, executable, len));
        let mut file_hasher = (self.files.is_some() || recent).then(Hasher::new);
        let mut read = 0u64;
        while read < len {
            // Never past the recorded length: a file that grew must not overrun the
            // NAR's length field, and a device swapped in cannot hold the run.
            let n = self
                .out
                .read_from(&mut file, len - read, &mut |chunk| {
                    if let Some(h) = file_hasher.as_mut() {
                        h.update(chunk);
                    }
                })
                .map_err(io_err)?;
            if n == 0 {
                return Err(changed());
            }
            read += n as u64;
            self.progress.add(0, n as u64);
        }
        if Stat::of(&file.metadata().map_err(io_err)?) != before {
            return Err(changed());
        }
        let digest = file_hasher.map(Hasher::finish);
        if recent {
            let again = reread(path, &before).map_err(io_err)?;
            if again != digest {
                return Err(changed());
            }
        }
        self.emit(|t| wire::regular_end(t, len));
        self.progress.add(1, 0);
        if let Some(digest) = digest {
            let kind = if executable {
                FileKind::Executable
            } else {
                FileKind::File
            };
            self.record(rel, kind, len, digest);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// A tree whose NAR crosses many pipe buffers, in many small pieces and one large.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        for i in 0..300u32 {
            let len = (i as usize * 7919) % 20_000;
            let content: Vec<u8> = (0..len).map(|j| (j as u32 ^ i) as u8).collect();
            fs::write(root.join(format!("a/f{i:03}")), content).unwrap();
        }
        let big: Vec<u8> = (0..(PIPE_BUF * 2 + 12_345))
            .map(|j| (j % 253) as u8)
            .collect();
        fs::write(root.join("a/b/big"), big).unwrap();
        fs::write(root.join("a/b/run"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("a/b/run"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("../f001", root.join("a/b/link")).unwrap();
        dir
    }

    #[test]
    fn pipelined_hash_equals_hash_of_dump() {
        let dir = tree();
        let mut bytes = Vec::new();
        let dumped = dump(dir.path(), &mut bytes).unwrap();
        assert_eq!(dumped, bytes.len() as u64);
        let with_records = hash_path(dir.path()).unwrap();
        let (digest, size) = digest_path(dir.path()).unwrap();
        assert_eq!(with_records.digest, Digest::of(&bytes));
        assert_eq!(digest, with_records.digest);
        assert_eq!(size, dumped);
        assert_eq!(with_records.size, dumped);
        assert_eq!(with_records.files.len(), 303);
        let big = with_records
            .files
            .iter()
            .find(|f| f.path == "a/b/big")
            .unwrap();
        let content = fs::read(dir.path().join("a/b/big")).unwrap();
        assert_eq!(big.digest, Digest::of(&content));
        let run = with_records
            .files
            .iter()
            .find(|f| f.path == "a/b/run")
            .unwrap();
        assert_eq!(run.kind, FileKind::Executable);
    }

    /// A file inside an output directory rewritten in place at the same size (in
    /// 1 MiB `write`s) while the directory is hashed: the NAR hash is that of a tree
    /// the file really was part of between two writes, or the run says the file
    /// changed; never a hash of bytes of two moments mixed in one read.
    #[test]
    fn a_file_rewritten_while_hashed_never_gives_a_torn_nar_hash() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        fs::create_dir_all(&root).unwrap();
        let path = root.join("big");
        let len = 8 * 1024 * 1024;
        let old = vec![b'a'; len];
        let new = vec![b'b'; len];
        fs::write(root.join("small"), b"x").unwrap();
        let mut held = Vec::new();
        for k in 0..=len >> 20 {
            for (x, y) in [(&old, &new), (&new, &old)] {
                let mut v = x[..k << 20].to_vec();
                v.extend_from_slice(&y[k << 20..]);
                fs::write(&path, &v).unwrap();
                held.push(digest_path(&root).unwrap().0);
            }
        }
        fs::write(&path, &old).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (mut torn, mut changed) = (0, 0);
        std::thread::scope(|s| {
            s.spawn(|| {
                use std::io::Seek;
                let mut f = fs::OpenOptions::new().write(true).open(&path).unwrap();
                let mut flip = false;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    flip = !flip;
                    let content = if flip { &new } else { &old };
                    f.rewind().unwrap();
                    for piece in content.chunks(1 << 20) {
                        f.write_all(piece).unwrap();
                    }
                }
            });
            for _ in 0..10 {
                match hash_path(&root) {
                    Ok(h) if held.contains(&h.digest) => {}
                    Ok(_) => torn += 1,
                    Err(NarError::Changed { .. }) => changed += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(torn, 0, "torn NAR hashes ({changed} runs said changed)");
    }

    /// Below [`MAX_OPEN_DEPTH`] entries are looked up by name in their open parent,
    /// deeper by path: both give the NAR the grammar spells out, and a deep tree
    /// holds no more than that many directories open.
    #[test]
    fn a_tree_deeper_than_the_open_directories_hashes_as_spelled_out() {
        let dir = tempfile::tempdir().unwrap();
        let depth = MAX_OPEN_DEPTH + 20;
        let mut deepest = dir.path().to_owned();
        for _ in 0..depth {
            deepest.push("d");
        }
        fs::create_dir_all(&deepest).unwrap();
        fs::write(deepest.join("f"), b"bottom").unwrap();
        std::os::unix::fs::symlink("f", deepest.join("l")).unwrap();

        let mut want: Vec<u8> = Vec::new();
        wire::archive_start(&mut want);
        for _ in 0..depth {
            wire::directory_start(&mut want);
            wire::entry_start(&mut want, b"d");
        }
        wire::directory_start(&mut want);
        wire::entry_start(&mut want, b"f");
        wire::regular_start(&mut want, false, 6);
        want.extend_from_slice(b"bottom");
        wire::regular_end(&mut want, 6);
        wire::entry_end(&mut want);
        wire::entry_start(&mut want, b"l");
        wire::symlink(&mut want, b"f");
        wire::entry_end(&mut want);
        wire::directory_end(&mut want);
        for _ in 0..depth {
            wire::entry_end(&mut want);
            wire::directory_end(&mut want);
        }

        let (digest, size) = digest_path(dir.path()).unwrap();
        assert_eq!(size, want.len() as u64);
        assert_eq!(digest, Digest::of(&want));
        let with_records = hash_path(dir.path()).unwrap();
        assert_eq!(with_records.digest, digest);
        let f = &with_records.files[0];
        assert_eq!(f.path, format!("{}f", "d/".repeat(depth)));
        assert_eq!(f.digest, Digest::of(b"bottom"));
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let e = digest_path(&missing).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
