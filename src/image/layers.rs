//! The one-pass layer reader and the merged filesystem.
//!
//! Each layer blob is read exactly once: the compressed bytes are counted and hashed
//! (the blob digest), decompressed (gzip via flate2/zlib-rs, zstd, or none), the
//! decompressed bytes hashed (the diff_id), and the tar entries indexed — all in the
//! same stream. Nothing is extracted: the merged view keeps, per path, the metadata
//! (kind, mode, owner, size), optionally the content digest, and for regular files
//! only what startup verification needs (a `#!` line, or the ELF loader and libraries
//! parsed from a bounded prefix). `/etc/passwd` and `/etc/group` are the exception:
//! small, and kept whole, since users are resolved from them — as are small files
//! that read like them (what `/etc/passwd` may link to), within a per-layer budget;
//! and so are the dynamic loader's configuration: `/etc/ld.so.cache`,
//! `/etc/ld.so.conf` and the files of `/etc/ld.so.conf.d`, musl's
//! `/etc/ld-musl-*.path` ([`kept_whole`]).
//! Kept bytes follow their node: removed by whiteouts, opaque dirs and replacements.
//!
//! Every node remembers the layer (numbered from 1, in the manifest's order) that
//! last wrote it, and a file or symlink that a later layer removed (a whiteout, an
//! opaque directory, a directory written over it) is remembered in
//! [`MergedFs::removed`] with the layer that removed it, so a finding can say "which
//! is not in the image (removed in layer 3)".
//!
//! OCI whiteouts (image-spec `layer.md`):
//! - `dir/.wh.name` removes `dir/name` (and everything under it) of lower layers;
//! - `dir/.wh..wh..opq` makes `dir` opaque: every lower-layer child is removed.
//!   Whiteouts apply to lower layers only, so a layer's whiteouts are applied before
//!   its own entries, whatever their order in the tar.
//!
//! Hardlinks become a copy of their target's metadata (same layer or lower). Entry
//! names are normalised (`./`, duplicate `/`, a leading `/` applies under the root);
//! a name whose `..` climbs above the root is never applied — it is recorded in
//! [`MergedFs::rejected`] and reported. A
//! decompressed stream more than [`BOMB_RATIO`] (gzip) or [`ZSTD_BOMB_RATIO`] (zstd)
//! times its compressed size, or larger than [`MAX_LAYER_BYTES`], is refused.
//!
//! Memory is bounded whatever the input: tar extension records by
//! [`tar_stream`](super::tar_stream), names and link targets by [`PATH_MAX`] (longer
//! ones are rejected entries: no runtime can create them), and the whole index of an
//! image by a [`Budget`] that every path, implied parent directory, kept byte and
//! rejection message is charged to. Without it, one entry 2,000 directories deep
//! would cost quadratic memory (each parent is a key holding its full path).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use serde::Serialize;

use super::elf::{self, ElfInfo};
use super::gunzip::{CrcCheck, Gunzip, MemberEnd, MemberEnds};
use super::tar_stream::{Buffered, EntryKind, Source, TarReader};
use crate::blob::{Expected, Mismatch, Tally, Tallying, Verifier};
use crate::digest::{Digest, Hasher, Lane, update_both};

/// No gzip stream inflates more than ~1032:1 (deflate's ceiling): past this ratio
/// (plus a small allowance) reading stops.
pub const BOMB_RATIO: u64 = 1100;
/// zstd legitimately inflates zero-filled files more than 10000:1; its format caps
/// the ratio near 32768:1 (a 128 KiB RLE block in 4 bytes).
pub const ZSTD_BOMB_RATIO: u64 = 40_000;
/// Whatever the codec, a layer never decompresses to more than this (64 GiB).
pub const MAX_LAYER_BYTES: u64 = 64 << 30;
const BOMB_ALLOWANCE: u64 = 1024 * 1024;
/// Files kept whole for user lookup (at most [`KEPT_MAX`] of each).
const KEPT_FILES: [&str; 2] = ["/etc/passwd", "/etc/group"];
const KEPT_MAX: usize = 1024 * 1024;
/// The loader's cache is kept whole up to this size (real ones: 7 KiB for a minimal
/// Debian, a few hundred KiB for a desktop); a larger one is not kept, and the loader
/// configuration is then unknown rather than misread.
const LD_CACHE_MAX: usize = 16 << 20;
/// `ld.so.conf` files and musl's path file, kept whole up to this size each.
const LD_CONF_MAX: usize = 64 * 1024;
/// Other files kept when they read like a user database (what `/etc/passwd` may be a
/// symlink or hardlink to): at most this big each, and this much per layer.
const CANDIDATE_MAX: usize = 64 * 1024;
const CANDIDATE_BUDGET: usize = 4 * 1024 * 1024;
/// Longest `#!` line kept.
const SHEBANG_MAX: usize = 256;
/// Linux's limit on a path given to a system call, terminating NUL included: an
/// entry whose name or link target is this long cannot be created by any runtime.
pub const PATH_MAX: usize = 4096;
/// Most index memory one image may use, in the units of [`Budget`]: about 7 million
/// paths of typical length, ten times the largest real images.
pub const MAX_INDEX_BYTES: u64 = 2 << 30;
/// What one path costs beyond its name: the node, the map's share, the key's header.
const NODE_COST: u64 = 256;
/// Rejected entries described one by one, per layer; the rest are counted.
const REJECTED_LISTED: usize = 100;

/// The index memory an image's layers may still use, shared by the layers read in
/// parallel and charged again as they are applied. Charges are never given back, so
/// what is charged bounds what is held.
#[derive(Debug)]
pub struct Budget {
    index: AtomicU64,
    sparse: AtomicU64,
}

/// Most bytes the sparse files of one image may claim in all, holes included. A few
/// bytes of a sparse map can claim terabytes of holes, which would be read (and
/// hashed) as zeros for minutes; real layers hold sparse files rarely, and small
/// (Go's tar writer, which Docker and BuildKit use, never writes one).
pub const MAX_SPARSE_BYTES: u64 = 16 << 30;

impl Budget {
    #[must_use]
    pub fn new(bytes: u64) -> Self {
        Self {
            index: AtomicU64::new(bytes),
            sparse: AtomicU64::new(MAX_SPARSE_BYTES),
        }
    }

    /// Charges a sparse file's full size against [`MAX_SPARSE_BYTES`].
    fn charge_sparse(&self, bytes: u64, name: &str) -> io::Result<()> {
        self.sparse
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .map(|_| ())
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "sparse file `{name}` claims {bytes} bytes, more than the {} GiB the sparse files of one image may hold; refusing (the layer is hostile or corrupt)",
                        MAX_SPARSE_BYTES >> 30
                    ),
                )
            })
    }

    fn charge(&self, bytes: u64) -> io::Result<()> {
        match self
            .index
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            }) {
            Ok(_) => Ok(()),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the image's file index would need more than {} MiB of memory; \
                     refusing (real images need a small fraction of that: the layers \
                     are hostile or corrupt)",
                    MAX_INDEX_BYTES >> 20
                ),
            )),
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new(MAX_INDEX_BYTES)
    }
}

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// What a regular file starts with, as far as `exec` cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    Elf(ElfInfo),
    /// The `#!` line without `#!`.
    Script(String),
    Other,
}

/// One path of the merged filesystem.
#[derive(Debug, Clone)]
pub struct Node {
    /// The layer that last wrote this path, counted from 1 (0: not from a layer).
    pub layer: u32,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Symlink target text.
    pub target: Option<String>,
    /// Content digest, when asked for.
    pub digest: Option<Digest>,
    pub head: Head,
}

impl Node {
    /// A parent directory no entry of `layer` names, implied by a path below it:
    /// `0755 0:0`, as runtimes create it.
    fn implied_dir(layer: u32) -> Self {
        Self {
            layer,
            kind: Kind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 0,
            target: None,
            digest: None,
            head: Head::Other,
        }
    }
}

/// The merged view of all layers so far: absolute normalised paths (`/bin/sh`) to
/// nodes; `/` itself is implicit.
#[derive(Debug, Default)]
pub struct MergedFs {
    pub nodes: BTreeMap<String, Node>,
    /// Whole contents of `/etc/passwd`, `/etc/group` and the loader's configuration
    /// (see [`kept_whole`]).
    pub kept: BTreeMap<String, Vec<u8>>,
    /// Entries that were not applied, with why (`..`, absolute names, dangling hardlinks).
    pub rejected: Vec<String>,
    /// How many layers have been applied.
    pub layers: u32,
    /// Files and symlinks of lower layers that a later layer removed and nothing
    /// wrote again, with the layer (from 1) that removed them.
    pub removed: BTreeMap<String, u32>,
}

/// Whether the file at `path` is kept whole, and up to what size: the user
/// databases, and the dynamic loader's cache and configuration.
#[must_use]
pub fn kept_whole(path: &str) -> Option<usize> {
    if KEPT_FILES.contains(&path) {
        return Some(KEPT_MAX);
    }
    if path == "/etc/ld.so.cache" {
        return Some(LD_CACHE_MAX);
    }
    let conf = path == "/etc/ld.so.conf"
        || path
            .strip_prefix("/etc/ld.so.conf.d/")
            .is_some_and(|name| !name.contains('/'))
        || path
            .strip_prefix("/etc/ld-musl-")
            .is_some_and(|rest| rest.ends_with(".path") && !rest.contains('/'));
    conf.then_some(LD_CONF_MAX)
}

/// Options for reading layers.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Hash every regular file's content: the image's identity and the file-level
    /// diff need it. Off only where neither is wanted (fuzzing the merger).
    pub file_digests: bool,
    /// Hash the diff_id and the compressed bytes on threads of their own, so cores
    /// that would otherwise idle do it while one decompresses (see [`read_layer`]).
    /// Off when every core is already reading a layer: then hashing where the bytes
    /// are costs less than threads competing for the cores.
    pub hash_thread: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            file_digests: true,
            hash_thread: true,
        }
    }
}

/// Why a layer could not be read.
#[derive(Debug)]
pub enum LayerError {
    /// The blob or its decompressed stream is not what the descriptors say.
    Mismatch {
        what: &'static str,
        mismatch: Mismatch,
    },
    /// Unreadable: truncated, corrupt, unknown media type, bomb.
    Io(io::Error),
}

impl From<io::Error> for LayerError {
    fn from(e: io::Error) -> Self {
        LayerError::Io(e)
    }
}

/// Decompressed-stream reader: counts what it yields and enforces [`BOMB_RATIO`]
/// against the compressed tally (the diff_id is hashed by [`Piped`]).
struct Inflated<R> {
    inner: R,
    count: u64,
    compressed: Rc<RefCell<Tally>>,
    ratio: u64,
}

/// The most a layer may decompress to, given its compressed size so far.
fn inflate_limit(ratio: u64, compressed: u64) -> u64 {
    compressed
        .saturating_mul(ratio)
        .saturating_add(BOMB_ALLOWANCE)
        .min(MAX_LAYER_BYTES)
}

impl<R: Read> Read for Inflated<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        let limit = inflate_limit(self.ratio, self.compressed.borrow().count);
        if self.count > limit {
            let why = if limit == MAX_LAYER_BYTES {
                format!("more than {} GiB", MAX_LAYER_BYTES >> 30)
            } else {
                format!("more than {} times its size", self.ratio)
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("decompresses to {why}; refusing a decompression bomb"),
            ));
        }
        Ok(n)
    }
}

/// A reader of the layer's tar stream; a gzip layer reports its members' ends into
/// `ends` (see [`Gunzip`]).
fn decoder<'a, R: Read + 'a>(
    media_type: &str,
    inner: R,
    ends: &MemberEnds,
) -> io::Result<Box<dyn Read + 'a>> {
    let base = media_type
        .strip_prefix("application/vnd.oci.image.layer.v1.")
        .or_else(|| media_type.strip_prefix("application/vnd.oci.image.layer.nondistributable.v1."))
        .map(str::to_owned)
        .or_else(|| match media_type {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
                Some("tar+gzip".into())
            }
            "application/vnd.docker.image.rootfs.diff.tar" => Some("tar".into()),
            _ => None,
        });
    match base.as_deref() {
        Some("tar") => Ok(Box::new(inner)),
        Some("tar+gzip") => Ok(Box::new(Gunzip::new(
            BufReader::with_capacity(crate::digest::CHUNK, inner),
            Rc::clone(ends),
        ))),
        Some("tar+zstd") => Ok(Box::new(zstd::Decoder::new(inner)?)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown layer media type `{media_type}`"),
        )),
    }
}

/// Reads one layer blob in a single pass and applies it to `fs`, with a budget of
/// its own (tests; an image's layers share one, see [`super::load`]).
#[cfg(test)]
pub(crate) fn apply_layer(
    fs: &mut MergedFs,
    blob: impl Read,
    media_type: &str,
    blob_size: u64,
    expected: Option<&Expected>,
    diff_id: Digest,
    opts: Options,
) -> Result<(), LayerError> {
    let budget = Budget::default();
    read_layer(
        blob,
        media_type,
        blob_size,
        expected,
        Some(diff_id),
        opts,
        &budget,
    )?
    .apply(fs, &budget)?;
    Ok(())
}

/// Reads one layer blob in a single pass into its [`LayerChanges`]: the blob is
/// verified against `expected` (when known) and `blob_size`, the decompressed stream
/// against `diff_id`. Layers are independent until applied, so they can be read in
/// parallel and applied in order.
///
/// The work of one layer is spread over three threads, for two cores: this one
/// reads and inflates (the slowest step for gzip, and one that cannot be split),
/// handing the compressed bytes to a hashing thread
/// ([`HashThread`](crate::digest_thread::HashThread)); the inflated bytes go out
/// in buffers to a thread that reads the tar entries ([`Piped`]) and hashes each
/// file's content and the diff_id in turns where they lie in those buffers
/// ([`Turns`]). One gzip layer is read in about the time inflating takes. Without
/// `hash_thread` (every core already reads a layer), the compressed bytes are
/// hashed here. Without file digests, the diff_id has a thread of its own (with
/// `hash_thread`) or is hashed by the entry reader alone.
///
/// `diff_id` is `None` where the config is not known yet (a docker-archive streamed
/// from an engine, whose `manifest.json` comes last): the caller then checks
/// [`LayerChanges::diff_id`] against it once it is.
pub fn read_layer(
    blob: impl Read,
    media_type: &str,
    blob_size: u64,
    expected: Option<&Expected>,
    diff_id: Option<Digest>,
    opts: Options,
    budget: &Budget,
) -> Result<LayerChanges, LayerError> {
    // Inflating gzip is the slowest step and cannot be split: its thread hands the
    // compressed digest to another (zstd and plain tar are read faster than hashed
    // on any thread, so they keep it).
    let gzip = media_type.ends_with("gzip");
    let (tallying, tally) = if opts.hash_thread && gzip {
        Tallying::hashing_on_a_thread(blob, blob_size)
    } else {
        Tallying::new(blob, blob_size)
    };
    let raw = Rc::new(RefCell::new(tallying));
    let shared = SharedRead(Rc::clone(&raw));
    let member_ends = MemberEnds::default();
    let decoded = decoder(media_type, shared, &member_ends)?;
    let mut inflated = Inflated {
        inner: decoded,
        count: 0,
        compressed: Rc::clone(&tally),
        ratio: if media_type.ends_with("+zstd") {
            ZSTD_BOMB_RATIO
        } else {
            BOMB_RATIO
        },
    };
    let (outcome, actual) = std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<Shared>>(PIPE_DEPTH);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
        // With file contents to hash, the entry reader hashes them and the diff_id
        // in turns, where they lie in the shared buffers ([`Turns`]). Without, the
        // diff_id is hashed on a thread of its own when asked (`hash_thread`), from
        // the very buffers the entry reader reads (shared, not copied), or else by
        // the entry reader as it takes each buffer.
        let diff = (opts.hash_thread && !opts.file_digests)
            .then(|| {
                let (diff_tx, diff_rx) = mpsc::sync_channel::<Shared>(PIPE_DEPTH);
                let empty = empty_tx.clone();
                std::thread::Builder::new()
                    .name("diff-id".to_owned())
                    .spawn_scoped(scope, move || {
                        let mut hasher = Hasher::new();
                        let mut crc = gzip.then(CrcCheck::new);
                        let mut failed = None;
                        for (buf, ends) in diff_rx {
                            hasher.update_from_other_thread(&buf);
                            if let Some(check) = crc.as_mut() {
                                if let Err(e) = check.feed(&ends, &buf) {
                                    // Taking the rest, so the inflater never waits.
                                    failed = Some(e);
                                    crc = None;
                                }
                            }
                            recycle(buf, &empty);
                        }
                        failed.map_or_else(|| Ok(hasher.finish()), Err)
                    })
                    .ok()
                    .map(|handle| (diff_tx, handle))
            })
            .flatten();
        let piped_hashes = diff.is_none();
        let entries = std::thread::Builder::new()
            .name("layer-entries".to_owned())
            .spawn_scoped(scope, move || {
                let turns = opts
                    .file_digests
                    .then(|| Rc::new(RefCell::new(Turns::default())));
                let mut piped = Piped {
                    full: full_rx,
                    empty: empty_tx,
                    buf: None,
                    pos: 0,
                    hasher: (piped_hashes && turns.is_none()).then(Hasher::new),
                    crc: (piped_hashes && gzip).then(CrcCheck::new),
                    turns: turns.clone(),
                };
                let changes = {
                    let mut archive = TarReader::new(Buffered(&mut piped));
                    let mut changes = LayerChanges::default();
                    read_entries(&mut archive, &mut changes, turns.as_deref(), budget)
                        .map(|()| changes)
                };
                // Drain what follows the tar's end marker: the digests cover every byte.
                let changes = changes.and_then(|c| {
                    io::copy(&mut piped, &mut io::sink())?;
                    Ok(c)
                });
                drop(piped.turns.take());
                let mut diff_id = piped.hasher.map(Hasher::finish);
                let changes = match turns.map(Rc::try_unwrap) {
                    Some(Ok(turns)) => {
                        let (diff, digests) = turns.into_inner().finish();
                        diff_id = Some(diff);
                        changes.map(|mut c| {
                            c.fill_digests(&digests);
                            c
                        })
                    }
                    // Still shared only if reading failed, which `changes` says.
                    Some(Err(_)) | None => changes,
                };
                (changes, diff_id)
            });
        let entries = match entries {
            Ok(handle) => handle,
            Err(e) => return (Err(e), None),
        };
        // Inflate into buffers until the end of the stream, or until the other
        // thread stops taking them (it failed, and says why).
        let mut failed = None;
        loop {
            // A buffer both readers are done with, or a new one.
            let mut buf = empty_rx.try_recv().unwrap_or_default();
            buf.resize(PIPE_BUF, 0);
            let mut len = 0;
            while len < buf.len() {
                match inflated.read(&mut buf[len..]) {
                    Ok(0) => break,
                    Ok(n) => len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = failed.take() {
                let _ = full_tx.send(Err(e));
                break;
            }
            // Members whose trailers were read by now: for whoever checks CRCs.
            let ends = std::mem::take(&mut *member_ends.borrow_mut());
            if len == 0 && ends.is_empty() {
                break;
            }
            buf.truncate(len);
            let buf = Arc::new(buf);
            let piped_ends = match &diff {
                Some((diff_tx, _)) => {
                    // Ends only when its sender is dropped, below: this send is taken.
                    let _ = diff_tx.send((Arc::clone(&buf), ends));
                    Vec::new()
                }
                None => ends,
            };
            if full_tx.send(Ok((buf, piped_ends))).is_err() || len == 0 {
                break;
            }
        }
        drop(full_tx);
        let diff_id = diff.map(|(diff_tx, handle)| {
            drop(diff_tx);
            handle.join()
        });
        // Drain the blob past the compressed stream's end: its digest covers it all.
        let drained = io::copy(&mut SharedRead(Rc::clone(&raw)), &mut io::sink());
        let failed_thread = |what: &str| Err(io::Error::other(format!("the thread {what} failed")));
        match (entries.join(), diff_id) {
            (Ok((Ok(changes), piped)), diff_id) => match (piped, diff_id) {
                (Some(actual), _) | (None, Some(Ok(Ok(actual)))) => {
                    (drained.map(|_| changes), Some(actual))
                }
                (None, Some(Ok(Err(e)))) => (Err(e), None),
                _ => (failed_thread("hashing the layer (its diff_id)"), None),
            },
            (Ok((Err(e), _)), _) => (Err(e), None),
            (Err(_), _) => (failed_thread("reading the layer's entries"), None),
        }
    });
    let check_blob = |tally: &Rc<RefCell<Tally>>| -> Result<(), LayerError> {
        if let Some(expected) = expected {
            Verifier {
                tally: Rc::clone(tally),
                expected: expected.clone(),
            }
            .finish()
            .map_err(|mismatch| LayerError::Mismatch {
                what: "blob",
                mismatch,
            })?;
        }
        Ok(())
    };
    match outcome {
        Err(e) => {
            // A tampered blob reads as corrupt; say it is tampered when it is.
            let _ = io::copy(&mut SharedRead(Rc::clone(&raw)), &mut io::sink());
            check_blob(&tally)?;
            Err(LayerError::Io(e))
        }
        Ok(mut changes) => {
            check_blob(&tally)?;
            if tally.borrow().count != blob_size {
                return Err(LayerError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "blob is {} bytes, its descriptor declares {blob_size}",
                        tally.borrow().count
                    ),
                )));
            }
            let actual = actual.unwrap_or(Digest::from_bytes([0; 32]));
            if let Some(diff_id) = diff_id.filter(|d| *d != actual) {
                return Err(LayerError::Mismatch {
                    what: "uncompressed layer (diff_id)",
                    mismatch: Mismatch {
                        expected: Expected {
                            digest: diff_id,
                            size: inflated.count,
                        },
                        actual_digest: actual,
                        actual_size: inflated.count,
                    },
                });
            }
            changes.diff_id = Some(actual);
            changes.uncompressed = inflated.count;
            Ok(changes)
        }
    }
}

/// Size of the buffers of decompressed bytes handed from the inflating thread to the
/// one reading entries, and how many may be in flight (memory: up to 17 MiB per
/// layer). Sixteen rather than four ride out the stretches where the entry reader
/// is slower (many small files) without stalling the inflater: 2 % faster on the
/// benchmark image, for 11 MiB more at the peak.
const PIPE_BUF: usize = 1024 * 1024;
const PIPE_DEPTH: usize = 16;

/// The decompressed stream as the entry-reading thread sees it: buffers from the
/// inflating thread, each hashed (the diff_id) as it arrives and handed back empty
/// once read. An error of the inflating thread arrives in place of a buffer.
struct Piped {
    full: mpsc::Receiver<io::Result<Shared>>,
    empty: mpsc::Sender<Vec<u8>>,
    buf: Option<Arc<Vec<u8>>>,
    pos: usize,
    /// The diff_id, when no thread of its own computes it.
    hasher: Option<Hasher>,
    /// A gzip layer's CRCs, when no thread of its own checks them.
    crc: Option<CrcCheck>,
    /// The diff_id and contents hashed in turns: told of each buffer taken and left.
    turns: Option<Rc<RefCell<Turns>>>,
}

/// A buffer of inflated bytes shared by its readers, with the gzip members that
/// ended by the time it was filled.
type Shared = (Arc<Vec<u8>>, Vec<MemberEnd>);

/// Hands a buffer back to the inflating thread once the last of its readers is
/// done with it (the other may still hold it; then it is freed by whichever drops
/// it last, and the inflater makes a new one).
fn recycle(buf: Arc<Vec<u8>>, empty: &mpsc::Sender<Vec<u8>>) {
    if let Ok(buf) = Arc::try_unwrap(buf) {
        // The inflating thread may have finished already; then it is dropped.
        let _ = empty.send(buf);
    }
}

impl BufRead for Piped {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        loop {
            if self.buf.as_ref().is_some_and(|b| self.pos < b.len()) {
                break;
            }
            if let Some(done) = self.buf.take() {
                if let Some(turns) = &self.turns {
                    turns.borrow_mut().leave();
                }
                recycle(done, &self.empty);
            }
            match self.full.recv() {
                Ok(Ok((buf, ends))) => {
                    if let Some(h) = &mut self.hasher {
                        h.update_from_other_thread(&buf);
                    }
                    if let Some(turns) = &self.turns {
                        turns.borrow_mut().enter(Arc::clone(&buf));
                    }
                    if let Some(check) = &mut self.crc {
                        check.feed(&ends, &buf)?;
                    }
                    self.buf = Some(buf);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The inflating thread is done: end of stream.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(self.buf.as_deref().map_or(&[], |b| &b[self.pos..]))
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

impl Read for Piped {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = out.len().min(avail.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// A layer's diff_id and its files' contents hashed on the entry reader's thread,
/// their SHA-256 blocks taking turns ([`update_both`]: one stream leaves a core's
/// SHA units waiting between rounds, a second fills the wait). The contents are
/// most of the stream's bytes again: for each piece of content, the diff_id takes
/// as many of the stream's next bytes alongside it, and the rest of a buffer
/// (headers, padding) alone when the reader leaves it.
#[derive(Default)]
struct Turns {
    diff: Lane,
    /// The buffer the reader is in, and how much of it the diff_id has taken.
    buf: Option<Arc<Vec<u8>>>,
    taken: usize,
    /// The file being read, and the digests of those ended.
    content: Lane,
    digests: Vec<Digest>,
}

impl Turns {
    /// The reader takes the stream's next buffer.
    fn enter(&mut self, buf: Arc<Vec<u8>>) {
        self.leave();
        self.buf = Some(buf);
    }

    /// The reader is done with the buffer: the diff_id takes what it has not.
    fn leave(&mut self) {
        if let Some(buf) = self.buf.take() {
            self.diff.update(&buf[self.taken..]);
        }
        self.taken = 0;
    }

    /// Content of the current file, lying in the current buffer.
    fn push(&mut self, data: &[u8]) {
        let stream = self.buf.as_deref().map_or(&[][..], |b| &b[self.taken..]);
        let n = stream.len().min(data.len());
        update_both(&mut self.diff, &stream[..n], &mut self.content, data);
        self.taken += n;
    }

    /// Ends the current file; its number (0, 1, … in the order of ends).
    fn end_file(&mut self) -> usize {
        let done = std::mem::take(&mut self.content).finish();
        self.digests.push(done);
        self.digests.len() - 1
    }

    /// The diff_id, and each file's content digest in the order they ended.
    fn finish(mut self) -> (Digest, Vec<Digest>) {
        self.leave();
        (self.diff.finish(), self.digests)
    }
}

/// A `Read` over a shared reader, so the caller can drain it after the decoder is done.
struct SharedRead<R>(Rc<RefCell<R>>);

impl<R: Read> Read for SharedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// One layer's effect, collected before it is applied.
#[derive(Debug, Default, Clone)]
pub struct LayerChanges {
    /// The SHA-256 of the uncompressed layer, as read (set once it is read in full).
    pub diff_id: Option<Digest>,
    /// Its size, uncompressed.
    pub uncompressed: u64,
    /// Regular files (and same-layer hardlinks to them) whose content digest the
    /// hasher thread is still computing: path to file number.
    pending: BTreeMap<String, usize>,
    whiteouts: Vec<String>,
    opaque: Vec<String>,
    entries: BTreeMap<String, Node>,
    kept: BTreeMap<String, Vec<u8>>,
    /// Hardlinks to files of lower layers: (path, normalised target, name as written).
    links: Vec<(String, String, String)>,
    rejected: Vec<String>,
    /// Rejected entries beyond those listed.
    unlisted: u64,
}

impl LayerChanges {
    /// Gives the regular files read from this layer their content digests, in the
    /// order the content hasher ended them.
    fn fill_digests(&mut self, digests: &[Digest]) {
        // Both maps are in path order: one merge, not a look-up per file (those
        // were most of the end of a layer read, alone on one core).
        let mut pending = std::mem::take(&mut self.pending).into_iter().peekable();
        for (path, node) in &mut self.entries {
            while pending.next_if(|(p, _)| p < path).is_some() {}
            if let Some((_, n)) = pending.next_if(|(p, _)| p == path) {
                if let Some(d) = digests.get(n) {
                    node.digest = Some(*d);
                }
            }
        }
    }

    /// Applies this layer over `fs` (the merged lower layers), charging the parent
    /// directories it implies to `budget`.
    pub fn apply(self, fs: &mut MergedFs, budget: &Budget) -> io::Result<()> {
        self.apply_with(fs, budget, true)
    }

    /// [`apply`](Self::apply) entry by entry, even over an empty filesystem: the
    /// reference its shortcut for a first layer must agree with (the unit tests and
    /// the `layer_merge` fuzz target compare them).
    #[doc(hidden)]
    pub fn apply_entry_by_entry(self, fs: &mut MergedFs, budget: &Budget) -> io::Result<()> {
        self.apply_with(fs, budget, false)
    }

    fn apply_with(mut self, fs: &mut MergedFs, budget: &Budget, shortcut: bool) -> io::Result<()> {
        fs.layers += 1;
        let layer = fs.layers;
        fs.rejected.append(&mut self.rejected);
        if self.unlisted > 0 {
            fs.rejected.push(format!(
                "… and {} more entries of this layer not applied",
                self.unlisted
            ));
        }
        for (path, target, name) in std::mem::take(&mut self.links) {
            match fs.nodes.get(&target) {
                Some(node) => {
                    // Same inode: the kept bytes of the target are the link's too.
                    if let Some(bytes) = fs.kept.get(&target) {
                        self.kept.insert(path.clone(), bytes.clone());
                    }
                    self.entries.insert(path, node.clone());
                }
                None => fs.rejected.push(format!(
                    "hardlink `{name}` not applied: its target `{target}` is not in the image"
                )),
            }
        }
        // Over nothing (the first layer), an entry has nothing under it to remove:
        // what this layer adds under a path sorts after that path, so it is added
        // later.
        let over_nothing = fs.nodes.is_empty();
        if shortcut
            && over_nothing
            && fs.removed.is_empty()
            && fs.kept.is_empty()
            && self.opaque.is_empty()
            && self.whiteouts.is_empty()
        {
            // Nothing to remove or replace: the layer's own map becomes the merged
            // one (rebuilding it entry by entry was a tenth of a one-layer read).
            return self.apply_over_nothing(fs, budget);
        }
        let mut removed = Removed {
            fs,
            layer,
            budget,
            prefix: String::new(),
            removals: 0,
        };
        for dir in &self.opaque {
            removed.under(dir)?;
        }
        for path in &self.whiteouts {
            removed.path(path)?;
            removed.under(path)?;
            removed.fs.kept.remove(path);
        }
        // The directory whose ancestors (and itself) are known to exist, while
        // nothing was removed since: entries come sorted, so most share it.
        let mut parents_known = (String::new(), usize::MAX);
        for (path, mut node) in self.entries {
            if node.kind != Kind::Dir && !over_nothing {
                removed.under(&path)?;
            }
            let parent = &path[..path.rfind('/').unwrap_or(0)];
            let known = parents_known.1 == removed.removals
                && (parents_known.0 == parent
                    || parents_known
                        .0
                        .strip_prefix(parent)
                        .is_some_and(|rest| rest.starts_with('/')));
            let fs = &mut *removed.fs;
            if !known {
                ensure_parents(&mut fs.nodes, &path, budget, layer)?;
                parents_known = (parent.to_owned(), removed.removals);
            }
            if node.kind == Kind::File && !self.kept.contains_key(&path) {
                fs.kept.remove(&path);
            }
            fs.removed.remove(&path);
            node.layer = layer;
            fs.nodes.insert(path, node);
        }
        let fs = removed.fs;
        fs.kept.extend(self.kept);
        // Opaque dirs, parent whiteouts and non-file replacements remove nodes: their
        // kept bytes go with them, so a deleted `/etc/passwd` is never consulted.
        let nodes = &fs.nodes;
        fs.kept
            .retain(|path, _| nodes.get(path).is_some_and(|n| n.kind == Kind::File));
        Ok(())
    }
}

impl LayerChanges {
    /// [`apply`](Self::apply) over an empty filesystem with nothing removed: the
    /// entries, with the parent directories they imply, as they are.
    fn apply_over_nothing(self, fs: &mut MergedFs, budget: &Budget) -> io::Result<()> {
        let layer = fs.layers;
        let mut nodes = self.entries;
        for node in nodes.values_mut() {
            node.layer = layer;
        }
        // One path per directory holding entries (they come sorted, so a
        // directory's entries are in a row): its parents are those of the rest.
        let mut last_parent = "";
        let firsts: Vec<String> = nodes
            .keys()
            .filter(|path| {
                let parent = &path[..path.rfind('/').unwrap_or(0)];
                let first = parent != last_parent;
                last_parent = parent;
                first
            })
            .cloned()
            .collect();
        for path in &firsts {
            ensure_parents(&mut nodes, path, budget, layer)?;
        }
        fs.nodes = nodes;
        fs.kept = self.kept;
        // As in `apply`: kept bytes only of paths that are files.
        let nodes = &fs.nodes;
        fs.kept
            .retain(|path, _| nodes.get(path).is_some_and(|n| n.kind == Kind::File));
        Ok(())
    }
}

/// Removes nodes while one layer is applied, remembering the files and symlinks it
/// removes in [`MergedFs::removed`] (each charged to the budget).
struct Removed<'a> {
    fs: &'a mut MergedFs,
    layer: u32,
    budget: &'a Budget,
    /// `dir/` of the last [`under`](Self::under), reused.
    prefix: String,
    /// Nodes removed so far.
    removals: usize,
}

impl Removed<'_> {
    /// Removes `path` itself.
    fn path(&mut self, path: &str) -> io::Result<()> {
        if let Some(node) = self.fs.nodes.remove(path) {
            self.note(path.to_owned(), &node)?;
        }
        Ok(())
    }

    /// Removes everything under `dir`.
    fn under(&mut self, dir: &str) -> io::Result<()> {
        self.prefix.clear();
        self.prefix.push_str(dir);
        if dir != "/" {
            self.prefix.push('/');
        }
        let prefix = self.prefix.as_str();
        let mut below = self
            .fs
            .nodes
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .peekable();
        // Most paths have nothing below them: no list to make.
        if below.peek().is_none() {
            return Ok(());
        }
        let doomed: Vec<String> = below.map(|(k, _)| k.clone()).collect();
        for k in doomed {
            if let Some(node) = self.fs.nodes.remove(&k) {
                self.note(k, &node)?;
            }
        }
        Ok(())
    }

    fn note(&mut self, path: String, node: &Node) -> io::Result<()> {
        self.removals += 1;
        if node.kind != Kind::Dir {
            self.budget.charge(path.len() as u64 + 64)?;
            self.fs.removed.insert(path, self.layer);
        }
        Ok(())
    }
}

fn ensure_parents(
    nodes: &mut BTreeMap<String, Node>,
    path: &str,
    budget: &Budget,
    layer: u32,
) -> io::Result<()> {
    let mut end = 0;
    while let Some(i) = path[end + 1..].find('/') {
        end += 1 + i;
        let parent = &path[..end];
        if !nodes.contains_key(parent) {
            budget.charge(parent.len() as u64 + NODE_COST)?;
            nodes.insert(parent.to_owned(), Node::implied_dir(layer));
        }
    }
    Ok(())
}

/// Normalises a tar entry name to `/a/b`; `Err` says why it is refused.
/// Absolute names (`/bin/busybox`) apply under the root, as runtimes apply them; a
/// `..` that would climb above the root is refused.
pub fn normalize(name: &str) -> Result<String, &'static str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("`..` above the image root");
                }
            }
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Shortens a hostile name for a message: at most 120 characters, then its length.
fn shown(name: &str) -> String {
    if name.chars().count() <= 120 {
        return name.to_owned();
    }
    let head: String = name.chars().take(120).collect();
    format!("{head}… ({} bytes)", name.len())
}

/// Records an entry that is not applied, charging its message to `budget`; past
/// [`REJECTED_LISTED`] per layer they are only counted.
fn reject(changes: &mut LayerChanges, budget: &Budget, why: String) -> io::Result<()> {
    if changes.rejected.len() < REJECTED_LISTED {
        budget.charge(why.len() as u64 + NODE_COST)?;
        changes.rejected.push(why);
    } else {
        changes.unlisted += 1;
    }
    Ok(())
}

/// Reads every entry of one layer's tar stream into `changes`: names checked and
/// normalised, whiteouts noted, hardlinks resolved within the layer, regular files
/// read once (content digest, ELF and shebang head, kept bytes).
fn read_entries<S: Source>(
    archive: &mut TarReader<S>,
    changes: &mut LayerChanges,
    content: Option<&RefCell<Turns>>,
    budget: &Budget,
) -> io::Result<()> {
    let mut buf = vec![0u8; crate::digest::CHUNK];
    // One prefix buffer for every file of the layer: no allocation per file.
    let mut prefix: Vec<u8> = Vec::new();
    let mut kept_total = 0usize;
    while let Some(entry) = archive.next_entry()? {
        let name = String::from_utf8_lossy(&entry.path).into_owned();
        let Some(path) = entry_path(&entry, &name, changes, budget)? else {
            continue;
        };
        budget.charge(path.len() as u64 + NODE_COST)?;
        if is_whiteout(&path, changes) {
            continue;
        }
        // A later entry of the same name replaces an earlier one, kept bytes and
        // content digest too.
        changes.kept.remove(&path);
        changes.pending.remove(&path);
        let mut node = Node {
            layer: 0,
            kind: Kind::Other,
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            size: 0,
            target: None,
            digest: None,
            head: Head::Other,
        };
        match entry.kind {
            EntryKind::Dir => node.kind = Kind::Dir,
            EntryKind::Other(_) => {}
            EntryKind::Symlink => {
                let target = String::from_utf8_lossy(&entry.link).into_owned();
                node.kind = Kind::Symlink;
                node.size = target.len() as u64;
                node.digest = Some(Digest::of(target.as_bytes()));
                node.target = Some(target);
            }
            EntryKind::HardLink => match hardlink(&entry, &path, name, changes, budget)? {
                Some(target) => node = target,
                None => continue,
            },
            EntryKind::File => {
                node.kind = Kind::File;
                node.size = entry.size;
                if !entry.contiguous {
                    budget.charge_sparse(entry.size, &name)?;
                }
                let mut scan =
                    FileScan::new(&path, entry.size, kept_total, std::mem::take(&mut prefix));
                loop {
                    let n = archive
                        .with_data(&mut buf, &mut |data| {
                            if let Some(c) = content {
                                c.borrow_mut().push(data);
                            }
                            scan.feed(data);
                        })
                        .map_err(|e| io::Error::new(e.kind(), format!("entry `{name}`: {e}")))?;
                    if n == 0 {
                        break;
                    }
                }
                if let Some(c) = content {
                    changes
                        .pending
                        .insert(path.clone(), c.borrow_mut().end_file());
                }
                node.head = scan.head();
                let (kept, reused) = scan.finish();
                prefix = reused;
                if let Some(kept) = kept {
                    budget.charge(kept.len() as u64)?;
                    kept_total += kept.len();
                    changes.kept.insert(path.clone(), kept);
                }
            }
        }
        changes.entries.insert(path, node);
    }
    Ok(())
}

/// The normalised absolute path of an entry, or `None` when it is `/` itself or is
/// rejected (a name or link beyond `PATH_MAX`, a name escaping the root; noted in
/// `changes`).
fn entry_path(
    entry: &super::tar_stream::Entry,
    name: &str,
    changes: &mut LayerChanges,
    budget: &Budget,
) -> io::Result<Option<String>> {
    if entry.path.len() >= PATH_MAX || entry.link.len() >= PATH_MAX {
        let what = if entry.path.len() >= PATH_MAX {
            format!("its name is {} bytes", entry.path.len())
        } else {
            format!("its link target is {} bytes", entry.link.len())
        };
        reject(
            changes,
            budget,
            format!(
                "entry `{}` not applied: {what}, beyond PATH_MAX ({PATH_MAX}); no runtime can create it",
                shown(name)
            ),
        )?;
        return Ok(None);
    }
    match normalize(name) {
        Ok(p) if p == "/" => Ok(None),
        Ok(p) => Ok(Some(p)),
        Err(why) => {
            reject(
                changes,
                budget,
                format!("entry `{name}` not applied: {why} (it would escape the image root)"),
            )?;
            Ok(None)
        }
    }
}

/// Notes an opaque-directory marker or a whiteout in `changes`; whether `path` was one.
fn is_whiteout(path: &str, changes: &mut LayerChanges) -> bool {
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    let dir = if dir.is_empty() { "/" } else { dir };
    if base == ".wh..wh..opq" {
        changes.opaque.push(dir.to_owned());
        return true;
    }
    let Some(hidden) = base.strip_prefix(".wh.") else {
        return false;
    };
    changes.whiteouts.push(if dir == "/" {
        format!("/{hidden}")
    } else {
        format!("{dir}/{hidden}")
    });
    true
}

/// The node a hardlink stands for when its target is earlier in this layer (same
/// inode: content, metadata, kept bytes and pending digest). `None` when it is
/// resolved later (a file of a lower layer, at apply time) or rejected.
fn hardlink(
    entry: &super::tar_stream::Entry,
    path: &str,
    name: String,
    changes: &mut LayerChanges,
    budget: &Budget,
) -> io::Result<Option<Node>> {
    let link = String::from_utf8_lossy(&entry.link).into_owned();
    let t = match normalize(&link) {
        Ok(t) => t,
        Err(why) => {
            reject(
                changes,
                budget,
                format!("hardlink `{name}` not applied: its target `{link}` has {why}"),
            )?;
            return Ok(None);
        }
    };
    let Some(target) = changes.entries.get(&t) else {
        budget.charge((t.len() + name.len()) as u64)?;
        changes.links.push((path.to_owned(), t, name));
        return Ok(None);
    };
    let node = target.clone();
    if let Some(&n) = changes.pending.get(&t) {
        changes.pending.insert(path.to_owned(), n);
    }
    if let Some(bytes) = changes.kept.get(&t) {
        let bytes = bytes.clone();
        budget.charge(bytes.len() as u64)?;
        changes.kept.insert(path.to_owned(), bytes);
    }
    Ok(Some(node))
}

/// What one pass over a regular file's bytes collects: its first bytes (an ELF
/// header and program headers, or a shebang line), an ELF's dynamic section and the
/// strings it may name wherever they lie, and the whole file when it is kept
/// (`/etc/passwd`, the loader's configuration, small files that may be either).
struct FileScan {
    size: u64,
    /// Kept whole when named, or when it reads like a user database.
    named: bool,
    user_db: bool,
    keep: bool,
    cap: usize,
    kept: Vec<u8>,
    prefix: Vec<u8>,
    /// The dynamic section's (offset, length) once the program headers are read.
    dynamic: Option<(u64, u64)>,
    dyn_buf: Vec<u8>,
    /// Strings up to the end of the first segment, caught as they pass.
    sniff: Option<(u64, elf::Sniffer)>,
    pos: u64,
}

impl FileScan {
    /// `prefix` is a buffer to reuse (its contents are dropped).
    fn new(path: &str, size: u64, kept_total: usize, mut prefix: Vec<u8>) -> Self {
        prefix.clear();
        let whole = kept_whole(path);
        let named = whole.is_some();
        // A small file may be what `/etc/passwd` links to: buffered, kept only when
        // it reads like a passwd/group database.
        let keep = named || (size <= CANDIDATE_MAX as u64 && kept_total < CANDIDATE_BUDGET);
        Self {
            size,
            named,
            user_db: KEPT_FILES.contains(&path),
            keep,
            cap: whole.unwrap_or(KEPT_MAX),
            kept: Vec::new(),
            prefix,
            dynamic: None,
            dyn_buf: Vec::new(),
            sniff: None,
            pos: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let n = chunk.len();
        // Keep a prefix only of files that may be ELF (decided on the first bytes).
        if self.prefix.len() < elf::PREFIX {
            let mut probe = [0u8; 4];
            let mut seen = 0;
            for (slot, b) in probe.iter_mut().zip(self.prefix.iter().chain(chunk)) {
                *slot = *b;
                seen += 1;
            }
            let cap = if b"\x7fELF".starts_with(&probe[..seen]) {
                elf::PREFIX
            } else {
                SHEBANG_MAX + 2
            };
            let room = cap.saturating_sub(self.prefix.len());
            self.prefix.extend_from_slice(&chunk[..n.min(room)]);
        }
        if self.dynamic.is_none()
            && self.prefix.len() >= 4096.min(elf::PREFIX)
            && elf::is_elf(&self.prefix)
        {
            self.dynamic = Some(elf::dynamic_range(&self.prefix).unwrap_or((0, 0)));
        }
        if self.sniff.is_none()
            && self.prefix.len() == elf::PREFIX
            && self.size > elf::PREFIX as u64
            && elf::is_elf(&self.prefix)
        {
            let end = elf::strings_end(&self.prefix).unwrap_or(0);
            self.sniff = Some((end, elf::Sniffer::new(elf::PREFIX as u64, &self.prefix)));
        }
        let pos = self.pos;
        if let Some((end, sniffer)) = self.sniff.as_mut() {
            let lo = pos.max(elf::PREFIX as u64);
            let hi = (pos + n as u64).min(*end);
            if lo < hi {
                sniffer.feed(lo, &chunk[(lo - pos) as usize..(hi - pos) as usize]);
            }
        }
        if let Some((start, len)) = self.dynamic.filter(|&(_, len)| len > 0) {
            let end = start.saturating_add(len);
            let lo = start.max(pos);
            let hi = end.min(pos + n as u64);
            if lo < hi && start >= elf::PREFIX as u64 {
                let (a, b) = ((lo - pos) as usize, (hi - pos) as usize);
                self.dyn_buf.extend_from_slice(&chunk[a..b]);
            }
        }
        self.pos += n as u64;
        if self.keep && self.kept.len() < self.cap {
            let take = n.min(self.cap - self.kept.len());
            self.kept.extend_from_slice(&chunk[..take]);
        }
    }

    /// What the file's first bytes say it is.
    fn head(&self) -> Head {
        let strings = self.sniff.as_ref().map(|(_, s)| &s.strings);
        match self.dynamic {
            Some((start, _)) if !self.dyn_buf.is_empty() => {
                elf::parse_streamed(&self.prefix, (start, &self.dyn_buf), strings)
                    .map_or(Head::Other, Head::Elf)
            }
            _ if elf::is_elf(&self.prefix) => {
                elf::parse_streamed(&self.prefix, (0, &[]), strings).map_or(Head::Other, Head::Elf)
            }
            _ => head_of(&self.prefix),
        }
    }

    /// The bytes to keep, if any, and the prefix buffer for the next file. The
    /// loader's files are kept only whole: a truncated cache would be misread, a
    /// missing one is merely unknown.
    fn finish(self) -> (Option<Vec<u8>>, Vec<u8>) {
        let whole_enough = self.user_db || self.kept.len() as u64 == self.size;
        let keep = (self.named && whole_enough) || (self.keep && looks_like_user_db(&self.kept));
        (keep.then_some(self.kept), self.prefix)
    }
}

/// Whether `bytes` read like `/etc/passwd` or `/etc/group`: every non-comment line
/// has at least three `:` fields, the third numeric, and there is such a line.
fn looks_like_user_db(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .peekable();
    lines.peek().is_some()
        && lines.all(|l| {
            let f: Vec<&str> = l.split(':').collect();
            f.len() >= 3 && !f[0].is_empty() && f[2].parse::<u64>().is_ok()
        })
}

fn head_of(prefix: &[u8]) -> Head {
    if elf::is_elf(prefix) {
        return elf::parse(prefix).map_or(Head::Other, Head::Elf);
    }
    if let Some(rest) = prefix.strip_prefix(b"#!") {
        let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = &line[..line.len().min(SHEBANG_MAX)];
        return Head::Script(
            String::from_utf8_lossy(line)
                .trim_matches([' ', '\t'])
                .to_owned(),
        );
    }
    Head::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data, mode) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            b.append_data(&mut h, name, &data[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// Appends an entry of `kind` (mode 0700) to a test tar.
    fn append(
        b: &mut tar::Builder<Vec<u8>>,
        name: &str,
        kind: tar::EntryType,
        data: &[u8],
        link: Option<&str>,
    ) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(0o700);
        h.set_size(data.len() as u64);
        if let Some(l) = link {
            h.set_link_name(l).unwrap();
        }
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    }

    /// A gzip layer whose trailer's CRC-32 is wrong is refused, whichever thread
    /// checks it, though its bytes (and so its diff_id) are right: a runtime
    /// unpacking it would refuse it too. The same layer with its CRC intact reads.
    #[test]
    fn a_gzip_layer_with_a_wrong_crc_is_refused() {
        use std::io::Write as _;
        let tar = tar_of(&[("app/run", &[7u8; 300_000][..], 0o755)]);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar).unwrap();
        let good = e.finish().unwrap();
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 7] ^= 0x10;
        // Each thread that can check the CRCs: the entry reader (hashing contents
        // or not), and the diff_id's own thread (without contents to hash).
        for (hash_thread, file_digests) in
            [(true, true), (false, true), (true, false), (false, false)]
        {
            let opts = Options {
                hash_thread,
                file_digests,
            };
            let read = |blob: &[u8]| {
                read_layer(
                    blob,
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                    blob.len() as u64,
                    None,
                    Some(Digest::of(&tar)),
                    opts,
                    &Budget::default(),
                )
            };
            let case = format!("hash_thread {hash_thread}, file_digests {file_digests}");
            assert!(read(&good).is_ok(), "{case}");
            let e = read(&bad).expect_err("a wrong CRC-32 is refused");
            let text = format!("{e:?}");
            assert!(text.contains("CRC-32"), "{case}: {text}");
        }
    }

    /// A first layer is taken as the merged filesystem in one move; the result is
    /// the same as applying it entry by entry: implied parents (once each, also
    /// under a file), explicit directories keeping their mode, kept files, links.
    #[test]
    fn a_first_layer_merges_as_entry_by_entry() {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, kind: tar::EntryType, data: &[u8], link: Option<&str>| {
            append(&mut b, name, kind, data, link);
        };
        add("usr/lib/x/a.so", tar::EntryType::Regular, b"a", None);
        add("usr/lib/x/b.so", tar::EntryType::Regular, b"b", None);
        add("usr/lib/y/c", tar::EntryType::Regular, b"c", None);
        add("usr/bin/", tar::EntryType::Directory, b"", None);
        add("usr/bin/sh", tar::EntryType::Symlink, b"", Some("dash"));
        add(
            "etc/passwd",
            tar::EntryType::Regular,
            b"root:x:0:0::/root:/bin/sh\n",
            None,
        );
        add("f", tar::EntryType::Regular, b"file", None);
        add("f/under", tar::EntryType::Regular, b"u", None);
        add("hard", tar::EntryType::Link, b"", Some("usr/lib/y/c"));
        add("lost", tar::EntryType::Link, b"", Some("nowhere"));
        let tar = b.into_inner().unwrap();
        let read = || {
            read_layer(
                &tar[..],
                "application/vnd.oci.image.layer.v1.tar",
                tar.len() as u64,
                None,
                Some(Digest::of(&tar)),
                Options::default(),
                &Budget::default(),
            )
            .unwrap()
        };
        let (mut fast, mut slow) = (MergedFs::default(), MergedFs::default());
        read().apply(&mut fast, &Budget::default()).unwrap();
        read()
            .apply_entry_by_entry(&mut slow, &Budget::default())
            .unwrap();
        assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
        assert!(fast.nodes.contains_key("/usr/lib/x"));
        assert!(fast.kept.contains_key("/etc/passwd"));
    }

    /// Each regular file gets the digest of its own content, and a same-layer hard
    /// link that of its target, whatever the order of the tar's entries and
    /// whatever lies between the files in path order (directories, symlinks).
    #[test]
    fn content_digests_land_on_their_files() {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, kind: tar::EntryType, data: &[u8], link: Option<&str>| {
            append(&mut b, name, kind, data, link);
        };
        // Not in path order, and with names around the files that are not files.
        let mut files: Vec<(String, Vec<u8>)> = (0..50)
            .map(|i| {
                (
                    format!("d{}/f{:02}", i % 7, 49 - i),
                    vec![b'a' + (i % 26) as u8; i * 37],
                )
            })
            .collect();
        // And files across the buffers handed between threads, whose digests and
        // the diff_id are hashed in turns.
        for (i, size) in [PIPE_BUF - 700, 2 * PIPE_BUF + 333, 65_537]
            .into_iter()
            .enumerate()
        {
            let data = crate::digest::tests::noise(3 + i as u64, size);
            files.insert(10 * i + 5, (format!("big/{i}"), data));
        }
        for (i, (name, data)) in files.iter().enumerate() {
            add(name, tar::EntryType::Regular, data, None);
            add(
                &format!("{name}.lnk"),
                tar::EntryType::Symlink,
                b"",
                Some("x"),
            );
            if i % 10 == 0 {
                add(&format!("{name}.d/"), tar::EntryType::Directory, b"", None);
            }
        }
        add("z/hard", tar::EntryType::Link, b"", Some(&files[3].0));
        let tar = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        for (blob, media_type) in [
            (&tar, "application/vnd.oci.image.layer.v1.tar"),
            (&gz, "application/vnd.oci.image.layer.v1.tar+gzip"),
        ] {
            for hash_thread in [true, false] {
                let opts = Options {
                    hash_thread,
                    ..Options::default()
                };
                // The diff_id is checked: a wrong one is an error.
                let changes = read_layer(
                    &blob[..],
                    media_type,
                    blob.len() as u64,
                    None,
                    Some(Digest::of(&tar)),
                    opts,
                    &Budget::default(),
                )
                .unwrap();
                assert_eq!(changes.diff_id, Some(Digest::of(&tar)));
                let mut fs = MergedFs::default();
                changes.apply(&mut fs, &Budget::default()).unwrap();
                for (name, data) in &files {
                    let node = &fs.nodes[&format!("/{name}")];
                    assert_eq!(node.digest, Some(Digest::of(data)), "{name}");
                }
                assert_eq!(fs.nodes["/z/hard"].digest, Some(Digest::of(&files[3].1)));
            }
        }
    }

    fn apply(fs: &mut MergedFs, tar: &[u8]) {
        apply_layer(
            fs,
            tar,
            "application/vnd.oci.image.layer.v1.tar",
            tar.len() as u64,
            Some(&Expected {
                digest: Digest::of(tar),
                size: tar.len() as u64,
            }),
            Digest::of(tar),
            Options::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    }

    #[test]
    fn whiteouts_and_opaque_dirs() {
        let mut fs = MergedFs::default();
        apply(
            &mut fs,
            &tar_of(&[
                ("a/x", b"1", 0o644),
                ("a/y", b"2", 0o644),
                ("b/z", b"3", 0o644),
            ]),
        );
        apply(
            &mut fs,
            &tar_of(&[
                ("a/.wh..wh..opq", b"", 0),
                ("a/new", b"4", 0o644),
                ("b/.wh.z", b"", 0),
            ]),
        );
        let paths: Vec<&str> = fs.nodes.keys().map(String::as_str).collect();
        assert_eq!(paths, ["/a", "/a/new", "/b"]);
    }

    /// Yields at most 1..=7 bytes per read, cycling, like a slow pipe.
    struct ShortReads<'a>(&'a [u8], usize);

    impl Read for ShortReads<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 = self.1 % 7 + 1;
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_give_the_same_result() {
        let mut elf_bytes = b"\x7fELF\x02\x01\x01".to_vec();
        elf_bytes.resize(5000, 0);
        let tar = tar_of(&[
            ("bin/tool", &elf_bytes, 0o755),
            ("app/run", b"#!/bin/sh -e\necho\n", 0o755),
            ("etc/passwd", b"root:x:0:0::/:/bin/sh\n", 0o644),
        ]);
        let read = |short: bool| {
            let mut fs = MergedFs::default();
            let expected = Expected {
                digest: Digest::of(&tar),
                size: tar.len() as u64,
            };
            let media = "application/vnd.oci.image.layer.v1.tar";
            let opts = Options::default();
            let size = tar.len() as u64;
            let res = if short {
                apply_layer(
                    &mut fs,
                    ShortReads(&tar, 0),
                    media,
                    size,
                    Some(&expected),
                    expected.digest,
                    opts,
                )
            } else {
                apply_layer(
                    &mut fs,
                    &tar[..],
                    media,
                    size,
                    Some(&expected),
                    expected.digest,
                    opts,
                )
            };
            res.unwrap_or_else(|e| panic!("{e:?}"));
            fs
        };
        let (a, b) = (read(false), read(true));
        assert!(matches!(b.nodes["/bin/tool"].head, Head::Elf(_)));
        assert_eq!(b.nodes["/app/run"].head, Head::Script("/bin/sh -e".into()));
        assert_eq!(a.kept, b.kept);
        for (path, n) in &a.nodes {
            assert_eq!(n.head, b.nodes[path].head, "{path}");
            assert_eq!(n.digest, b.nodes[path].digest, "{path}");
        }
    }

    /// A 1.4 MB ELF64 library whose string table starts past the first MiB and whose
    /// dynamic section comes last, as a big library's do (libnode: `.dynstr` at 1.8 MB,
    /// its `DT_NEEDED` names 5 MB into the file, `.dynamic` at 47 MB). One needed name
    /// is the tail of a longer string, as linkers merge them.
    fn big_library() -> Vec<u8> {
        let strtab_at = 1_200_000usize;
        let strtab =
            b"\0_ZN4node8filler_symbolEv\0xlibz.so.1\0libuv.so.1\0$ORIGIN/../lib\0libnode.so.108\0"
                .to_vec();
        let off = |needle: &[u8]| {
            strtab
                .windows(needle.len())
                .position(|w| w == needle)
                .unwrap() as u64
        };
        let (z, uv, rp, so) = (
            off(b"libz"),
            off(b"libuv"),
            off(b"$ORIGIN"),
            off(b"libnode"),
        );
        let dyn_at = 1_400_000usize;
        let dynamic: [(u64, u64); 6] = [
            (1, z),
            (1, uv),
            (29, rp),
            (14, so),
            (5, strtab_at as u64),
            (0, 0),
        ];
        let total = dyn_at + dynamic.len() * 16;
        let mut f = vec![0u8; total];
        f[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        f[0x12..0x14].copy_from_slice(&62u16.to_le_bytes());
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        f[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        for (k, (kind, offset, size)) in [(1u32, 0u64, total as u64), (2, dyn_at as u64, 96)]
            .into_iter()
            .enumerate()
        {
            let at = 64 + k * 56;
            f[at..at + 4].copy_from_slice(&kind.to_le_bytes());
            f[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
            f[at + 16..at + 24].copy_from_slice(&offset.to_le_bytes());
            f[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
        }
        f[strtab_at..strtab_at + strtab.len()].copy_from_slice(&strtab);
        for (k, (tag, val)) in dynamic.iter().enumerate() {
            let at = dyn_at + k * 16;
            f[at..at + 8].copy_from_slice(&tag.to_le_bytes());
            f[at + 8..at + 16].copy_from_slice(&val.to_le_bytes());
        }
        f
    }

    #[test]
    fn libraries_named_past_the_prefix_are_caught_as_they_stream() {
        let tar = tar_of(&[("usr/lib/libnode.so.108", &big_library(), 0o644)]);
        for short in [false, true] {
            let mut fs = MergedFs::default();
            let media = "application/vnd.oci.image.layer.v1.tar";
            let d = Digest::of(&tar);
            let size = tar.len() as u64;
            let res = if short {
                apply_layer(
                    &mut fs,
                    ShortReads(&tar, 0),
                    media,
                    size,
                    None,
                    d,
                    Options::default(),
                )
            } else {
                apply_layer(&mut fs, &tar[..], media, size, None, d, Options::default())
            };
            res.unwrap_or_else(|e| panic!("{e:?}"));
            let Head::Elf(info) = &fs.nodes["/usr/lib/libnode.so.108"].head else {
                panic!("not ELF")
            };
            assert_eq!(
                info.needed.as_deref(),
                Some(&["libz.so.1".to_owned(), "libuv.so.1".to_owned()][..]),
                "short reads: {short}"
            );
            assert_eq!(info.runpath, ["$ORIGIN/../lib"]);
            assert_eq!(info.soname.as_deref(), Some("libnode.so.108"));
        }
    }

    #[test]
    fn the_budget_bounds_implied_parent_directories() {
        // Each entry 500 directories deep under its own top directory: ~170 KB of
        // parent keys apiece.
        let names: Vec<String> = (0..20)
            .map(|i| format!("x{i}/{}f", "dir/".repeat(500)))
            .collect();
        let entries: Vec<(&str, &[u8], u32)> = names
            .iter()
            .map(|n| (n.as_str(), &b"x"[..], 0o644))
            .collect();
        let tar = tar_of(&entries);
        let media = "application/vnd.oci.image.layer.v1.tar";
        let read = |budget: &Budget| {
            let mut fs = MergedFs::default();
            read_layer(
                &tar[..],
                media,
                tar.len() as u64,
                None,
                Some(Digest::of(&tar)),
                Options::default(),
                budget,
            )
            .map_err(|e| format!("{e:?}"))?
            .apply(&mut fs, budget)
            .map_err(|e| e.to_string())
            .map(|()| fs.nodes.len())
        };
        assert_eq!(read(&Budget::default()), Ok(20 * 502));
        let e = read(&Budget::new(1 << 20)).unwrap_err();
        assert!(e.contains("would need more than"), "{e}");
    }

    #[test]
    fn pax_global_headers_are_not_files() {
        // `git archive` starts every tarball with one.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XGlobalHeader);
        h.set_size(0);
        b.append_data(&mut h, "pax_global_header", &[][..]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "file", &b"x"[..]).unwrap();
        let mut fs = MergedFs::default();
        apply(&mut fs, &b.into_inner().unwrap());
        let paths: Vec<&str> = fs.nodes.keys().map(String::as_str).collect();
        assert_eq!(paths, ["/file"]);
    }

    #[test]
    fn normalize_refuses_escapes() {
        assert_eq!(normalize("./a//b/").unwrap(), "/a/b");
        assert!(normalize("../etc/passwd").is_err());
        assert!(normalize("a/../../x").is_err());
        assert_eq!(normalize("/etc/passwd").unwrap(), "/etc/passwd");
        assert_eq!(normalize("a/../b").unwrap(), "/b");
    }

    #[test]
    fn bomb_bound_per_codec() {
        // gzip never exceeds ~1032:1.
        assert_eq!(
            inflate_limit(BOMB_RATIO, 1 << 20),
            (1 << 20) * BOMB_RATIO + BOMB_ALLOWANCE
        );
        // 200 MiB of zeros in a ~20 KiB zstd frame is fine.
        assert!(inflate_limit(ZSTD_BOMB_RATIO, 20 * 1024) > 200 << 20);
        // Never past the absolute limit.
        assert_eq!(inflate_limit(ZSTD_BOMB_RATIO, 1 << 40), MAX_LAYER_BYTES);
    }
}
