//! Hashing the selected files: in parallel, each once however many components share
//! it, reusing the stat cache's digests where a file's stat is unchanged, and never
//! recording a file that changed while it was read.
//!
//! Per file: one `lstat` (the only system call for a file the cache vouches for),
//! then `open` by name in its directory ([`RootedDir`]) without following links,
//! reads of exactly the size `lstat` gave, one `fstat`, `close`. Without a stat
//! cache, the walk does not state regular files ([`Stating::Links`]): the `lstat`
//! is then an `fstat` of the opened file, which costs no look-up by name. The
//! `fstat` after reading must equal the stat before it
//! (device, inode, mode, size, mtime and ctime with nanoseconds, see [`Stat`]):
//! otherwise the bytes read may mix old and new content (a file rewritten in place at
//! the same size while it is hashed), so the file is read once more, and if it
//! changes again the run stops with exit 2 naming it. Reads are bounded by the size,
//! so a file that grows, or a device swapped in, cannot hold the run.
//!
//! Stats alone miss one case: a `write` updates the times when it starts and copies
//! its bytes after, so a read that overlaps the copy of a single write sees the same
//! stat before and after and still mixes old and new bytes. A file whose ctime is
//! less than [`RECENT`](crate::fsio::RECENT) old is therefore read twice and kept only if both reads agree
//! (a just-finished build's files; nothing else pays for it).
//!
//! Files of more than one read ([`PAIRED`]) are left by the first pass and hashed
//! after it two at a time on a core, their SHA-256 blocks taking turns
//! ([`hash_pair`]): one stream leaves the core's SHA units waiting between rounds,
//! a second fills the wait (a quarter less CPU on large files). The pair reader
//! keeps the rules above: it reads to the stated size, and a file that is not the
//! same afterwards, or was changed moments ago, is read again alone by the common
//! path, which decides.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::TreeError;
use super::cache::StatCache;
use super::select::Stating;
use crate::digest::{CHUNK, Digest, Hasher, Lane, update_both};
use crate::fsio::{RootedDir, Stat, Time, join, open_no_follow, open_no_follow_at, recent_cutoff};
use crate::model::manifest::FileKind;
use crate::progress::Progress;

/// What hashing one file yields; its path is kept by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashed {
    pub kind: FileKind,
    /// A file's size, or a symlink's target length.
    pub size: u64,
    /// A file's SHA-256, or that of a symlink's target text.
    pub digest: Digest,
}

impl Hashed {
    /// A regular file stated as `stat`, with the digest of its content.
    fn file(stat: &Stat, digest: Digest) -> Self {
        let kind = if stat.mode & 0o100 != 0 {
            FileKind::Executable
        } else {
            FileKind::File
        };
        Hashed {
            kind,
            size: stat.size,
            digest,
        }
    }

    /// A placeholder, never in a finished list.
    const NONE: Hashed = Hashed {
        kind: FileKind::File,
        size: 0,
        digest: Digest::from_bytes([0; 32]),
    };
}

/// What one [`hash_paths`] did, for `--stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HashStats {
    /// Files (and symlinks) recorded.
    pub files: u64,
    /// Of those, taken from the stat cache without reading.
    pub cached: u64,
    /// Of those, read and hashed.
    pub hashed: u64,
    /// Content bytes read to hash them.
    pub bytes: u64,
}

/// A file that could not be hashed: which one (an index into the paths) and why.
#[derive(Debug)]
pub struct HashError {
    pub index: usize,
    pub error: TreeError,
}

/// What [`hash_paths`] returns: a record per path, in the paths' order.
#[derive(Debug, Default)]
pub struct HashOutcome {
    pub hashed: Vec<Hashed>,
    pub stats: HashStats,
    /// Why the cache was not used or not written, for the user.
    pub notes: Vec<String>,
}

/// Hashes every file of `paths` (raw, relative to `root`, ascending bytewise) whose
/// `lstat`s are `stats` (index for index, taken as `stating` says), with `cache`
/// when given: the cache and the file-system time taken before those `lstat`s
/// ([`StatCache::now`]).
pub fn hash_paths(
    root: &Path,
    paths: &[Box<[u8]>],
    mut stats: Vec<Stat>,
    stating: Stating,
    cache: Option<(&StatCache, Time)>,
    progress: &Progress,
) -> Result<HashOutcome, Box<HashError>> {
    let mut notes = Vec::new();
    // The cache and the paths are both in path order: one merge, nothing held.
    let mut reader = None;
    if let Some((c, _)) = cache.filter(|_| stating == Stating::Every) {
        match c.open() {
            Ok(r) => reader = r,
            Err(note) => notes.push(note),
        }
    }
    // `Option<Hashed>` is as large as `Hashed` (the kind has room for `None`), so
    // the final list below reuses this allocation.
    let mut results: Vec<Option<Hashed>> = match reader.as_mut() {
        Some(r) => paths
            .iter()
            .zip(&stats)
            .map(|(p, stat)| r.lookup(p, stat))
            .collect(),
        None => vec![None; paths.len()],
    };
    let cached = results.iter().filter(|r| r.is_some()).count() as u64;

    let to_read: u64 = results
        .iter()
        .zip(&stats)
        .filter(|(r, _)| r.is_none())
        .map(|(_, s)| s.size)
        .sum();
    progress.phase("hashing inputs", paths.len() as u64 - cached, to_read);
    let recent = recent_cutoff();
    let bytes = AtomicU64::new(0);
    results
        .par_iter_mut()
        .zip(stats.par_iter_mut())
        .enumerate()
        .filter(|(_, (r, _))| r.is_none())
        .try_for_each_init(
            // A job hashes a run of files in path order: many in a row from one
            // directory, opened by name in it.
            || {
                let tally = Tally::new(progress, Some(&bytes));
                (RootedDir::new(root), tally)
            },
            |(dir, tally), (index, (result, stat))| {
                let rel = &paths[index];
                let mut reach = ByName { dir, rel };
                // Made only for a message.
                let path = || join(root, Path::new(std::ffi::OsStr::from_bytes(rel)));
                let before = match stating {
                    Stating::Every => Known::Stat(*stat),
                    Stating::Links if Type::of(stat) == Type::File => Known::RegularFile,
                    Stating::Links => Known::Stat(*stat),
                };
                match hash_or_defer(&path, before, recent, tally, &mut reach, Some(PAIRED))
                    .map_err(|error| Box::new(HashError { index, error }))?
                {
                    Done::Hashed(hashed, after) => {
                        *result = Some(hashed);
                        *stat = after;
                        tally.file();
                    }
                    // Left `None`, for the pairs below.
                    Done::Deferred(before) => *stat = before,
                }
                Ok::<(), Box<HashError>>(())
            },
        )?;
    // The large files, two at a time on a core: the largest pairs first, so the
    // cores end together.
    let mut large: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].is_none())
        .collect();
    large.sort_by_key(|&i| std::cmp::Reverse(stats[i].size));
    let job = Job {
        root,
        paths,
        stats: &stats,
        stating,
        recent,
    };
    let pairs: Vec<Vec<(usize, Hashed, Stat)>> = large
        .par_chunks(2)
        .map_init(
            || {
                let tally = Tally::new(progress, Some(&bytes));
                (RootedDir::new(root), tally)
            },
            |(dir, tally), pair| hash_pair(&job, pair, dir, tally),
        )
        .collect::<Result<_, _>>()?;
    for (index, hashed, stat) in pairs.into_iter().flatten() {
        results[index] = Some(hashed);
        stats[index] = stat;
    }
    let hashed: Vec<Hashed> = results
        .into_iter()
        .map(|r| r.unwrap_or(Hashed::NONE))
        .collect();
    let outcome_stats = HashStats {
        files: paths.len() as u64,
        cached,
        hashed: paths.len() as u64 - cached,
        bytes: bytes.into_inner(),
    };

    if let Some((c, since)) = cache {
        // Rewrite only when it would say something new.
        let unchanged = reader
            .as_ref()
            .is_some_and(|r| r.used == r.count && cached == paths.len() as u64);
        if !unchanged {
            if let Err(e) = c.write(paths, &stats, &hashed, since) {
                notes.push(format!(
                    "cannot write the stat cache: {}; the next run hashes every input again",
                    chain(&e)
                ));
            }
        }
    }
    drop(stats);
    Ok(HashOutcome {
        hashed,
        stats: outcome_stats,
        notes,
    })
}

/// An error and its causes on one line, `outer: inner`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// What `lstat` said a path is, from its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    File,
    Symlink,
    Special(&'static str),
}

impl Type {
    fn of(stat: &Stat) -> Self {
        match stat.mode & libc::S_IFMT {
            libc::S_IFREG => Type::File,
            libc::S_IFLNK => Type::Symlink,
            mode => Type::Special(crate::fsio::special_kind_of_mode(mode)),
        }
    }
}

/// A hashing job's count of files and bytes, added to the shared counters in
/// batches: two cores adding to one counter for every file make its cache line
/// travel between them for every file.
struct Tally<'a> {
    progress: &'a Progress,
    /// Content bytes read in all, for `--stats`.
    total: Option<&'a AtomicU64>,
    files: u64,
    bytes: u64,
}

impl<'a> Tally<'a> {
    /// Counts gathered before they are added.
    const FILES: u64 = 256;
    const BYTES: u64 = 4 << 20;

    fn new(progress: &'a Progress, total: Option<&'a AtomicU64>) -> Self {
        Self {
            progress,
            total,
            files: 0,
            bytes: 0,
        }
    }

    fn file(&mut self) {
        self.files += 1;
        if self.files >= Self::FILES {
            self.flush();
        }
    }

    fn bytes(&mut self, n: u64) {
        self.bytes += n;
        if self.bytes >= Self::BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.progress.add(self.files, self.bytes);
        if let Some(total) = self.total {
            total.fetch_add(self.bytes, Ordering::Relaxed);
        }
        self.files = 0;
        self.bytes = 0;
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// What is known of a path before it is read.
#[derive(Debug, Clone, Copy)]
enum Known {
    /// Its `lstat`.
    Stat(Stat),
    /// A regular file, by its directory entry: stated once opened.
    RegularFile,
}

/// How a file is reached: by its path, or by name in its open directory.
trait Reach {
    /// Opens it for reading without following a symlink.
    fn open(&mut self) -> io::Result<File>;
    /// A symlink's target.
    fn read_link(&mut self) -> io::Result<Vec<u8>>;
    /// Its `lstat`.
    fn lstat(&mut self) -> io::Result<Stat>;
}

struct ByPath<'a>(&'a Path);

impl Reach for ByPath<'_> {
    fn open(&mut self) -> io::Result<File> {
        open_no_follow(self.0)
    }

    fn read_link(&mut self) -> io::Result<Vec<u8>> {
        use std::os::unix::ffi::OsStringExt as _;
        Ok(std::fs::read_link(self.0)?.into_os_string().into_vec())
    }

    fn lstat(&mut self) -> io::Result<Stat> {
        Ok(Stat::of(&std::fs::symlink_metadata(self.0)?))
    }
}

/// A selected path, relative to the hashing job's root.
struct ByName<'a, 'r> {
    dir: &'a mut RootedDir<'r>,
    rel: &'a [u8],
}

impl Reach for ByName<'_, '_> {
    fn open(&mut self) -> io::Result<File> {
        let (dir, name) = self.dir.split(self.rel)?;
        open_no_follow_at(dir, name)
    }

    fn read_link(&mut self) -> io::Result<Vec<u8>> {
        let (dir, name) = self.dir.split(self.rel)?;
        Ok(rustix::fs::readlinkat(dir, name, Vec::new())?.into_bytes())
    }

    fn lstat(&mut self) -> io::Result<Stat> {
        self.dir.lstat(self.rel)
    }
}

/// Hashes one path known as `known`, reached by `reach`; returns its record and
/// the stat it was read under, and counts the bytes read in `tally`. `path` makes
/// its name for an error.
fn hash_one(
    path: &dyn Fn() -> PathBuf,
    known: Known,
    recent: Time,
    tally: &mut Tally<'_>,
    reach: &mut dyn Reach,
) -> Result<(Hashed, Stat), TreeError> {
    match hash_or_defer(path, known, recent, tally, reach, None)? {
        Done::Hashed(hashed, stat) => Ok((hashed, stat)),
        // Not asked to defer anything.
        Done::Deferred(_) => Err(TreeError::Changed { path: path() }),
    }
}

/// What [`hash_or_defer`] did with a path.
enum Done {
    Hashed(Hashed, Stat),
    /// A regular file of at least the size given, left to be hashed with another
    /// ([`hash_pair`]); its stat.
    Deferred(Stat),
}

/// [`hash_one`], but a regular file of at least `defer` bytes is left unread.
fn hash_or_defer(
    path: &dyn Fn() -> PathBuf,
    known: Known,
    recent: Time,
    tally: &mut Tally<'_>,
    reach: &mut dyn Reach,
    defer: Option<u64>,
) -> Result<Done, TreeError> {
    let io_err = |source| TreeError::Io {
        path: path(),
        source,
    };
    let mut known = known;
    for attempt in 0..2 {
        if attempt > 0 {
            // Changed while read: look again, and read once more.
            known = Known::Stat(reach.lstat().map_err(io_err)?);
        }
        let (before, file) = match known {
            Known::Stat(stat) => (stat, None),
            Known::RegularFile => match reach.open() {
                Ok(file) => {
                    let stat = rustix::fs::fstat(&file).map_err(|e| io_err(e.into()))?;
                    (Stat::of_raw(&stat), Some(file))
                }
                // Replaced by a symlink since the walk: look again.
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => continue,
                Err(e) => return Err(io_err(e)),
            },
        };
        match Type::of(&before) {
            Type::Special(kind) => {
                return Err(TreeError::Special { path: path(), kind });
            }
            Type::Symlink => {
                let target = reach.read_link().map_err(io_err)?;
                let t = &target[..];
                let hashed = Hashed {
                    kind: FileKind::Symlink,
                    size: t.len() as u64,
                    digest: Digest::of(t),
                };
                return Ok(Done::Hashed(hashed, before));
            }
            Type::File => {
                if attempt == 0 && defer.is_some_and(|min| before.size >= min) {
                    return Ok(Done::Deferred(before));
                }
                // The file opened already, or opened now; `None` if it has become
                // a symlink since it was stated.
                let mut read = |file: Option<File>| -> io::Result<Option<Digest>> {
                    let file = match file {
                        Some(file) => file,
                        None => match reach.open() {
                            Ok(file) => file,
                            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
                            Err(e) => return Err(e),
                        },
                    };
                    read_unchanged(file, &before, tally)
                };
                let mut digest = read(file).map_err(io_err)?;
                if digest.is_some() && before.ctime >= recent {
                    // Changed moments ago: a write may still be copying its bytes.
                    let again = read(None).map_err(io_err)?;
                    if again != digest {
                        digest = None;
                    }
                }
                if let Some(digest) = digest {
                    return Ok(Done::Hashed(Hashed::file(&before, digest), before));
                }
            }
        }
    }
    Err(TreeError::Changed { path: path() })
}

/// Reads and hashes the opened regular file that was stated as `before`; `None` if
/// it is not the same unchanged file afterwards.
fn read_unchanged(
    mut file: File,
    before: &Stat,
    tally: &mut Tally<'_>,
) -> io::Result<Option<Digest>> {
    thread_local! {
        // One buffer per thread, not per file: zeroing a fresh buffer for each of
        // 60,000 small files costs more than hashing them.
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; CHUNK]);
    }
    let mut hasher = Hasher::new();
    let complete = BUF.with_borrow_mut(|buf| -> io::Result<bool> {
        // Exactly the size `lstat` gave: growth shows in the `fstat` below, and a
        // device swapped in cannot keep the read going.
        let mut left = before.size;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let n = match file.read(&mut buf[..want]) {
                Ok(0) => return Ok(false),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            tally.bytes(n as u64);
            left -= n as u64;
        }
        Ok(true)
    })?;
    let after = Stat::of_raw(&rustix::fs::fstat(&file)?);
    Ok((complete && after == *before).then(|| hasher.finish()))
}

/// Regular files at least this large (more than one read) are hashed two at a
/// time on one core ([`hash_pair`]); smaller ones are read and hashed where the
/// walk meets them. Measured on the benchmark's small tree (55,800 files), 64 KiB
/// and 32 KiB did equally well, 128 KiB a little worse: below one read, opening a
/// file a second time costs about what the pairing saves.
const PAIRED: u64 = CHUNK as u64;

/// What a job of [`hash_pair`] needs from [`hash_paths`].
struct Job<'a> {
    root: &'a Path,
    paths: &'a [Box<[u8]>],
    /// The walk's `lstat`s (with [`Stating::Every`]), or the `fstat`s of the
    /// files left for pairs.
    stats: &'a [Stat],
    stating: Stating,
    recent: Time,
}

/// Hashes the files `pair` (one or two indexes of large regular files) on this
/// core, their blocks taking turns ([`crate::digest::update_both`]: SHA-256 leaves
/// a core's SHA units idle between rounds, which a second stream fills).
///
/// Only the plain case is done here: each file opened by name, stated, read to the
/// size it was stated with, and stated again unchanged. Anything else (a file
/// changed, replaced, unreadable, or changed moments ago) is left to [`hash_one`],
/// which reads it again alone and decides, as for any file.
fn hash_pair(
    job: &Job<'_>,
    pair: &[usize],
    dir: &mut RootedDir<'_>,
    tally: &mut Tally<'_>,
) -> Result<Vec<(usize, Hashed, Stat)>, Box<HashError>> {
    let mut sides: Vec<Option<Side>> = pair
        .iter()
        .map(|&index| {
            let file = ByName {
                dir: &mut *dir,
                rel: &job.paths[index],
            }
            .open()
            .ok()?;
            let before = Stat::of_raw(&rustix::fs::fstat(&file).ok()?);
            let plain = Type::of(&before) == Type::File
                && before.ctime < job.recent
                && (job.stating != Stating::Every || before == job.stats[index]);
            plain.then(|| Side {
                file,
                before,
                left: before.size,
                lane: Lane::new(),
                complete: true,
            })
        })
        .collect();
    read_in_turns(&mut sides, tally);
    let mut out = Vec::with_capacity(pair.len());
    for (&index, side) in pair.iter().zip(sides) {
        if let Some((digest, before)) = side.and_then(Side::finish) {
            tally.file();
            out.push((index, Hashed::file(&before, digest), before));
            continue;
        }
        let rel = &job.paths[index];
        let path = || join(job.root, Path::new(std::ffi::OsStr::from_bytes(rel)));
        let known = match job.stating {
            Stating::Every => Known::Stat(job.stats[index]),
            Stating::Links => Known::RegularFile,
        };
        let mut reach = ByName {
            dir: &mut *dir,
            rel,
        };
        let (hashed, after) = hash_one(&path, known, job.recent, tally, &mut reach)
            .map_err(|error| Box::new(HashError { index, error }))?;
        tally.file();
        out.push((index, hashed, after));
    }
    Ok(out)
}

/// A file of a pair being read.
struct Side {
    file: File,
    before: Stat,
    /// Bytes still to read of the size it was stated with.
    left: u64,
    lane: Lane,
    /// No read ended early or failed.
    complete: bool,
}

impl Side {
    /// Reads the next piece into `buf`; its length (0 once done).
    fn read(&mut self, buf: &mut [u8]) -> usize {
        if !self.complete || self.left == 0 {
            return 0;
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        loop {
            match self.file.read(&mut buf[..want]) {
                Ok(n) if n > 0 => {
                    self.left -= n as u64;
                    return n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Shorter than stated, or unreadable: for `hash_one` to decide.
                _ => {
                    self.complete = false;
                    return 0;
                }
            }
        }
    }

    /// The digest and the stat it was read under, if every byte stated was read
    /// and the file is unchanged.
    fn finish(self) -> Option<(Digest, Stat)> {
        let after = Stat::of_raw(&rustix::fs::fstat(&self.file).ok()?);
        (self.complete && self.left == 0 && after == self.before)
            .then(|| (self.lane.finish(), self.before))
    }
}

/// Reads the sides' files in turns, a piece of each, and hashes the pieces in turns.
fn read_in_turns(sides: &mut [Option<Side>], tally: &mut Tally<'_>) {
    thread_local! {
        static BUFS: std::cell::RefCell<[Vec<u8>; 2]> =
            std::cell::RefCell::new([vec![0u8; CHUNK], vec![0u8; CHUNK]]);
    }
    BUFS.with_borrow_mut(|[buf_a, buf_b]| {
        let mut spare = (Lane::new(), Lane::new());
        loop {
            let (mut a, mut b) = match sides {
                [a, b] => (a.as_mut(), b.as_mut()),
                [a] => (a.as_mut(), None),
                _ => return,
            };
            let na = a.as_mut().map_or(0, |side| side.read(buf_a));
            let nb = b.as_mut().map_or(0, |side| side.read(buf_b));
            if na == 0 && nb == 0 {
                return;
            }
            tally.bytes((na + nb) as u64);
            let lane_a = a.map_or(&mut spare.0, |s| &mut s.lane);
            let lane_b = b.map_or(&mut spare.1, |s| &mut s.lane);
            update_both(lane_a, &buf_a[..na], lane_b, &buf_b[..nb]);
        }
    });
}

/// One file's record outside a selection (an output file, a Nix source): hashed the
/// same way, without a cache. `rel` names it in the record.
pub fn hash_file(path: &Path, rel: &[u8]) -> Result<crate::model::FileRecord, TreeError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| TreeError::Io {
        path: PathBuf::from(path),
        source,
    })?;
    let progress = Progress::new();
    let (h, _) = hash_one(
        &|| path.to_owned(),
        Known::Stat(Stat::of(&meta)),
        recent_cutoff(),
        &mut Tally::new(&progress, None),
        &mut ByPath(path),
    )?;
    Ok(crate::model::FileRecord {
        path: crate::fsio::display_path(rel),
        kind: h.kind,
        size: h.size,
        digest: h.digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::tests::noise;
    use std::fs;

    /// Files large enough to be left for pairs (an odd number of them, of sizes
    /// that end in different blocks) get the digests of their own contents, with
    /// the walk's `lstat`s and without, and so do the small ones hashed as they
    /// come. Written moments ago, the large ones are read alone, twice (see
    /// `pairs_read_in_turns_get_their_own_digests` for the pairs themselves).
    #[test]
    fn files_hashed_in_pairs_get_their_own_digests() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [
            0,
            100,
            PAIRED as usize - 1,
            PAIRED as usize,
            PAIRED as usize + 1,
            200_000,
            (1 << 20) + 3,
            3 << 20,
            70_001,
        ];
        let mut contents = Vec::new();
        let mut paths: Vec<Box<[u8]>> = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let bytes = noise(7 + i as u64, size);
            let name = format!("f{i}");
            fs::write(dir.path().join(&name), &bytes).unwrap();
            paths.push(name.into_bytes().into_boxed_slice());
            contents.push(bytes);
        }
        // Old enough not to be read twice as a file written moments ago.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for name in &paths {
            let f = fs::File::options()
                .write(true)
                .open(dir.path().join(std::str::from_utf8(name).unwrap()))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        let progress = Progress::new();
        for stating in [Stating::Every, Stating::Links] {
            let stats: Vec<Stat> = paths
                .iter()
                .map(|p| {
                    let meta =
                        fs::symlink_metadata(dir.path().join(std::str::from_utf8(p).unwrap()))
                            .unwrap();
                    match stating {
                        Stating::Every => Stat::of(&meta),
                        Stating::Links => Stat::of_type(meta.file_type()),
                    }
                })
                .collect();
            let out = hash_paths(dir.path(), &paths, stats, stating, None, &progress).unwrap();
            for (i, hashed) in out.hashed.iter().enumerate() {
                assert_eq!(hashed.digest, Digest::of(&contents[i]), "{stating:?}: f{i}");
                assert_eq!(hashed.size, sizes[i] as u64, "{stating:?}: f{i}");
            }
            assert_eq!(out.stats.hashed, sizes.len() as u64);
        }
    }

    /// The reader of pairs: two files of different sizes read and hashed in turns,
    /// or one alone, get their own digests; a file cut short after it was stated
    /// gets none (it is left to `hash_one`).
    #[test]
    fn pairs_read_in_turns_get_their_own_digests() {
        let dir = tempfile::tempdir().unwrap();
        let contents: Vec<Vec<u8>> = [(3 << 20) + 5, 200_001, CHUNK + 64]
            .iter()
            .zip(11..)
            .map(|(&size, seed)| noise(seed, size))
            .collect();
        let path = |i: usize| dir.path().join(format!("f{i}"));
        for (i, c) in contents.iter().enumerate() {
            fs::write(path(i), c).unwrap();
        }
        let side = |i: usize| {
            let file = File::open(path(i)).unwrap();
            let before = Stat::of_raw(&rustix::fs::fstat(&file).unwrap());
            Some(Side {
                file,
                before,
                left: before.size,
                lane: Lane::new(),
                complete: true,
            })
        };
        let progress = Progress::new();
        let mut tally = Tally::new(&progress, None);
        let digests = |sides: Vec<Option<Side>>| -> Vec<Option<Digest>> {
            sides
                .into_iter()
                .map(|s| s.and_then(Side::finish).map(|(d, _)| d))
                .collect()
        };
        let want = |i: usize| Some(Digest::of(&contents[i]));
        for (i, j) in [(0, 1), (1, 0), (2, 0), (1, 2)] {
            let mut sides = vec![side(i), side(j)];
            read_in_turns(&mut sides, &mut tally);
            assert_eq!(digests(sides), [want(i), want(j)], "f{i} with f{j}");
        }
        let mut sides = vec![side(1)];
        read_in_turns(&mut sides, &mut tally);
        assert_eq!(digests(sides), [want(1)]);
        let mut sides = vec![None, side(2)];
        read_in_turns(&mut sides, &mut tally);
        assert_eq!(digests(sides), [None, want(2)]);

        let mut sides = vec![side(0), side(1)];
        fs::File::options()
            .write(true)
            .open(path(1))
            .unwrap()
            .set_len(1000)
            .unwrap();
        read_in_turns(&mut sides, &mut tally);
        assert_eq!(digests(sides), [want(0), None], "f1 cut short");
    }

    /// Contents a file rewritten in 1 MiB `write`s really holds between two writes:
    /// the first `k` MiB of one content and the rest of the other.
    fn states(a: &[u8], b: &[u8]) -> Vec<Digest> {
        let mut out = Vec::new();
        for k in 0..=a.len() >> 20 {
            for (x, y) in [(a, b), (b, a)] {
                let mut v = x[..k << 20].to_vec();
                v.extend_from_slice(&y[k << 20..]);
                out.push(Digest::of(&v));
            }
        }
        out
    }

    /// A file rewritten in place at the same size while it is read: every digest
    /// recorded is of content the file really held between two of the writer's
    /// `write`s (a writer paused between two writes leaves such a file), or the run
    /// stops naming the file; never bytes of two moments mixed in one read. Before
    /// the stat comparison, most runs recorded such a mixture. Checked with the
    /// walk's `lstat` before reading and with the `fstat` of the opened file.
    #[test]
    fn a_file_rewritten_while_hashed_is_never_recorded_torn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let len = 8 * 1024 * 1024;
        let old = vec![b'a'; len];
        let new = vec![b'b'; len];
        fs::write(&path, &old).unwrap();
        let held = states(&old, &new);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let mut torn = 0;
        let mut changed = 0;
        std::thread::scope(|s| {
            s.spawn(|| {
                use std::io::{Seek, Write};
                let mut f = fs::OpenOptions::new().write(true).open(&path).unwrap();
                let mut flip = false;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    flip = !flip;
                    let content = if flip { &new } else { &old };
                    f.rewind().unwrap();
                    // In pieces, as an editor or a build tool writes.
                    for piece in content.chunks(1 << 20) {
                        f.write_all(piece).unwrap();
                    }
                }
            });
            let progress = Progress::new();
            for round in 0..20 {
                // Half the rounds as the walk without a cache leaves a file: its
                // type known, stated once opened.
                let got = if round % 2 == 0 {
                    hash_file(&path, b"big").map(|r| r.digest)
                } else {
                    hash_one(
                        &|| path.clone(),
                        Known::RegularFile,
                        recent_cutoff(),
                        &mut Tally::new(&progress, None),
                        &mut ByPath(&path),
                    )
                    .map(|(h, _)| h.digest)
                };
                match got {
                    Ok(d) if held.contains(&d) => {}
                    Ok(_) => torn += 1,
                    Err(TreeError::Changed { .. }) => changed += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(
            torn, 0,
            "torn digests recorded ({changed} runs said changed)"
        );
    }
}
