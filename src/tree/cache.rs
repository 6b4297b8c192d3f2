//! The stat cache: digests of input files from earlier runs, reused while a file's
//! `stat` says it has not changed, so a re-run over an unchanged tree reads no file
//! content (as `git status` reads none).
//!
//! **When a cached digest is trusted** — git's index rules, with its racy-clean
//! check made stricter:
//! - the path's `lstat` now equals the one recorded: device, inode, mode, size, and
//!   mtime and ctime with nanoseconds ([`Stat`]). Rewriting a file changes its mtime
//!   and ctime; restoring the mtime (`touch -d`) still changes the ctime.
//! - *racy clean*: a file changed in the same clock tick as it was read could keep
//!   its stat while its content moved on. So an entry is written only if the file's
//!   mtime and ctime are older than the moment the run began to stat files (read
//!   from the file-system clock: the mtime of a file created in the cache directory
//!   then); anything touched since is hashed again next time. Reading, an entry is
//!   also refused when its mtime is not older than the cache file's own (git's rule).
//!
//! **Where**: one file per project under `$XDG_CACHE_HOME/buildproof/stat/` (the
//! caller picks the directory), named by the SHA-256 of the project root's canonical
//! path, which is also recorded inside and checked. Never inside the manifest.
//!
//! **Damage**: the file ends with the SHA-256 of everything before it, checked in a
//! first pass before any entry is used; a truncated, corrupted or foreign file is
//! ignored with a note, never trusted. It is replaced atomically (temporary file,
//! then rename) without `fsync`: after a crash the checksum refuses what is there.
//!
//! **Memory**: entries are sorted by raw path, as the selection is, so reading is a
//! merge of two sorted streams: the cache is never held in memory.
//!
//! Format (integers little-endian): `MAGIC`; root length (u32) and bytes; the run's
//! start time (i64 seconds, u32 nanoseconds); entry count (u64); per entry: path
//! length (u32) and bytes, dev, ino (u64), mode (u32), size (u64), mtime, ctime (i64
//! seconds, u32 nanoseconds each), kind (u8: 0 file, 1 executable, 2 symlink) and
//! digest (32 bytes); then the SHA-256 of all of the above.
//!
//! Network file systems whose server clock runs behind this machine's can make a file
//! changed after a run look older than that run: use `--no-cache` there.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, Write};
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};

use super::Hashed;
use crate::digest::{Digest, Hasher};
use crate::fsio::{Stat, Time};
use crate::model::manifest::FileKind;
use crate::output::{Durability, write_atomically_with};

const MAGIC: &[u8] = b"buildproof stat cache v1\n";
/// Longest path an entry may hold (Linux's PATH_MAX); longer means damage.
const MAX_PATH: u32 = 4096;

/// One project's stat cache file.
#[derive(Debug, Clone)]
pub struct StatCache {
    file: PathBuf,
    root: Vec<u8>,
}

/// A cache that exists and passed its checksum, read in path order.
pub struct Reader {
    input: BufReader<File>,
    remaining: u64,
    /// The cache file's own mtime and the start of the run that wrote it.
    written: Time,
    since: Time,
    /// The next entry not yet passed by the lookups, when `have`.
    entry: Entry,
    have: bool,
    /// The path of the entry before it (entries must ascend).
    previous: Vec<u8>,
    /// Entries looked up and found (to tell whether the file needs rewriting).
    pub used: u64,
    /// Entries in the file.
    pub count: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    path: Vec<u8>,
    stat: Stat,
    kind: FileKind,
    digest: Digest,
}

impl StatCache {
    /// The cache file of the project at `root`, in `dir`.
    pub fn for_project(dir: &Path, root: &Path) -> io::Result<Self> {
        let root = fs::canonicalize(root)?.into_os_string().into_vec();
        let name = format!("{}.bin", &Digest::of(&root).hex()[..32]);
        Ok(Self {
            file: dir.join(name),
            root,
        })
    }

    /// Where the cache lives.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Whether a cache file is there to read (damaged or not): without one, the walk
    /// need not state files for it.
    #[must_use]
    pub fn exists(&self) -> bool {
        fs::symlink_metadata(&self.file).is_ok()
    }

    /// The file-system clock now: the mtime of a file created in the cache
    /// directory (which is made if missing). Files changed from now on get an mtime
    /// and ctime at least this.
    pub fn now(&self) -> io::Result<Time> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let probe = tempfile::tempfile_in(dir)?;
        Ok(Stat::of(&probe.metadata()?).mtime)
    }

    /// Opens the cache for reading. `Ok(None)` when there is none yet; `Err` is a
    /// note saying why an existing file is not used.
    pub fn open(&self) -> Result<Option<Reader>, String> {
        let mut file = match File::open(&self.file) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.note(&format!("it cannot be read ({e})"))),
        };
        let result = (|| -> io::Result<Option<Reader>> {
            let meta = file.metadata()?;
            let len = meta.len();
            if !checksum_ok(&mut file, len)? {
                return Ok(None);
            }
            file.rewind()?;
            let mut input = BufReader::with_capacity(128 * 1024, file);
            let mut magic = [0u8; MAGIC.len()];
            input.read_exact(&mut magic)?;
            let root_len = read_u32(&mut input)?;
            if magic != MAGIC || root_len > MAX_PATH {
                return Ok(None);
            }
            let mut root = vec![0u8; root_len as usize];
            input.read_exact(&mut root)?;
            if root != self.root {
                return Ok(None);
            }
            let since = read_time(&mut input)?;
            let count = read_u64(&mut input)?;
            Ok(Some(Reader {
                input,
                remaining: count,
                written: Stat::of(&meta).mtime,
                since,
                entry: Entry {
                    path: Vec::new(),
                    stat: Stat::default(),
                    kind: FileKind::File,
                    digest: Digest::from_bytes([0; 32]),
                },
                have: false,
                previous: Vec::new(),
                used: 0,
                count,
            }))
        })();
        match result {
            Ok(Some(reader)) => Ok(Some(reader)),
            Ok(None) | Err(_) => Err(self.note("it is damaged or truncated")),
        }
    }

    fn note(&self, why: &str) -> String {
        format!(
            "ignoring the stat cache `{}`: {why}; every input is hashed (and the cache rewritten)",
            self.file.display()
        )
    }

    /// Replaces the cache with an entry per path (ascending raw paths, their
    /// stats and records, index for index). Entries changed at or after `since`
    /// (the [`now`](Self::now) of this run's start) are left out: they are racy.
    pub fn write(
        &self,
        paths: &[Box<[u8]>],
        stats: &[Stat],
        hashed: &[Hashed],
        since: Time,
    ) -> Result<(), crate::output::OutputError> {
        if let Some(dir) = self.file.parent() {
            fs::create_dir_all(dir).map_err(|source| crate::output::OutputError::Temporary {
                dir: dir.to_owned(),
                source,
            })?;
        }
        let keep = |(stat, hashed): (&Stat, &Hashed)| {
            stat.mtime < since && stat.ctime < since && kind_code(hashed.kind).is_some()
        };
        // The count comes before the entries: one pass to count, one to write.
        let count = stats.iter().zip(hashed).filter(|e| keep(*e)).count() as u64;
        write_atomically_with(&self.file, Durability::Unsynced, |w| {
            let mut out = Checksummed {
                inner: w,
                hasher: Hasher::new(),
            };
            out.write_all(MAGIC)?;
            out.write_all(&u32::try_from(self.root.len()).unwrap_or(0).to_le_bytes())?;
            out.write_all(&self.root)?;
            write_time(&mut out, since)?;
            out.write_all(&count.to_le_bytes())?;
            let mut buf = Vec::with_capacity(256);
            for ((path, stat), hashed) in paths.iter().zip(stats).zip(hashed) {
                if !keep((stat, hashed)) {
                    continue;
                }
                buf.clear();
                buf.extend_from_slice(&u32::try_from(path.len()).unwrap_or(0).to_le_bytes());
                buf.extend_from_slice(path);
                buf.extend_from_slice(&stat.dev.to_le_bytes());
                buf.extend_from_slice(&stat.ino.to_le_bytes());
                buf.extend_from_slice(&stat.mode.to_le_bytes());
                buf.extend_from_slice(&stat.size.to_le_bytes());
                for t in [stat.mtime, stat.ctime] {
                    buf.extend_from_slice(&t.sec.to_le_bytes());
                    buf.extend_from_slice(&t.nsec.to_le_bytes());
                }
                buf.push(kind_code(hashed.kind).unwrap_or(0));
                buf.extend_from_slice(hashed.digest.as_bytes());
                out.write_all(&buf)?;
            }
            let sum = out.hasher.finish();
            out.inner.write_all(sum.as_bytes())
        })
    }
}

/// Bytes of an entry after its path.
const FIXED: usize = 8 + 8 + 4 + 8 + 12 + 12 + 1 + 32;

impl Reader {
    /// The cached record of `path` if its entry may be trusted for a file whose
    /// `lstat` is `stat`. Paths must be asked for in ascending byte order.
    pub fn lookup(&mut self, path: &[u8], stat: &Stat) -> Option<Hashed> {
        loop {
            if !self.have && !self.advance() {
                return None;
            }
            let entry = &self.entry;
            match entry.path.as_slice().cmp(path) {
                std::cmp::Ordering::Less => self.have = false,
                std::cmp::Ordering::Greater => return None,
                std::cmp::Ordering::Equal => {
                    self.have = false;
                    let trusted = entry.stat == *stat
                        && entry.stat.mtime < self.written
                        && entry.stat.mtime < self.since
                        && entry.stat.ctime < self.since;
                    if !trusted {
                        return None;
                    }
                    self.used += 1;
                    return Some(Hashed {
                        kind: entry.kind,
                        size: entry.stat.size,
                        digest: entry.digest,
                    });
                }
            }
        }
    }

    /// Reads the next entry into `self.entry` (its buffers reused); false at the
    /// end. Entries out of order, or damaged, end the reading.
    fn advance(&mut self) -> bool {
        if self.remaining == 0 {
            return false;
        }
        self.remaining -= 1;
        std::mem::swap(&mut self.previous, &mut self.entry.path);
        if self.parse_entry().is_err()
            || (self.count - self.remaining > 1 && self.entry.path <= self.previous)
        {
            self.remaining = 0;
            return false;
        }
        self.have = true;
        true
    }

    fn parse_entry(&mut self) -> io::Result<()> {
        let r = &mut self.input;
        let len = read_u32(r)?;
        if len > MAX_PATH {
            return Err(io::ErrorKind::InvalidData.into());
        }
        let e = &mut self.entry;
        e.path.resize(len as usize, 0);
        r.read_exact(&mut e.path)?;
        let mut b = [0u8; FIXED];
        r.read_exact(&mut b)?;
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        let time_at = |i: usize| Time {
            sec: i64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default()),
            nsec: u32_at(i + 8),
        };
        e.stat = Stat {
            dev: u64_at(0),
            ino: u64_at(8),
            mode: u32_at(16),
            size: u64_at(20),
            mtime: time_at(28),
            ctime: time_at(40),
        };
        e.kind = match b[52] {
            0 => FileKind::File,
            1 => FileKind::Executable,
            2 => FileKind::Symlink,
            _ => return Err(io::ErrorKind::InvalidData.into()),
        };
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&b[53..85]);
        e.digest = Digest::from_bytes(digest);
        Ok(())
    }
}

fn kind_code(kind: FileKind) -> Option<u8> {
    match kind {
        FileKind::File => Some(0),
        FileKind::Executable => Some(1),
        FileKind::Symlink => Some(2),
        FileKind::Directory => None,
    }
}

/// Whether the file's last 32 bytes are the SHA-256 of the rest.
fn checksum_ok(file: &mut File, len: u64) -> io::Result<bool> {
    let body = match len.checked_sub(32) {
        Some(b) if b >= MAGIC.len() as u64 => b,
        _ => return Ok(false),
    };
    let mut hasher = Hasher::new();
    let mut limited = (&mut *file).take(body);
    let mut buf = vec![0u8; 128 * 1024];
    let mut seen = 0u64;
    loop {
        let n = limited.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        seen += n as u64;
    }
    let mut sum = [0u8; 32];
    if seen != body || file.read_exact(&mut sum).is_err() {
        return Ok(false);
    }
    Ok(hasher.finish() == Digest::from_bytes(sum))
}

struct Checksummed<'a> {
    inner: &'a mut dyn Write,
    hasher: Hasher,
}

impl Write for Checksummed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_time(r: &mut impl Read) -> io::Result<Time> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    let sec = i64::from_le_bytes(b);
    Ok(Time {
        sec,
        nsec: read_u32(r)?,
    })
}

fn write_time(w: &mut impl Write, t: Time) -> io::Result<()> {
    w.write_all(&t.sec.to_le_bytes())?;
    w.write_all(&t.nsec.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(ino: u64, mtime: i64) -> Stat {
        Stat {
            dev: 1,
            ino,
            mode: 0o100_644,
            size: 3,
            mtime: Time {
                sec: mtime,
                nsec: 5,
            },
            ctime: Time {
                sec: mtime,
                nsec: 5,
            },
        }
    }

    fn hashed(content: &[u8]) -> Hashed {
        Hashed {
            kind: FileKind::File,
            size: content.len() as u64,
            digest: Digest::of(content),
        }
    }

    fn cache(dir: &Path) -> StatCache {
        StatCache::for_project(&dir.join("cache"), dir).unwrap()
    }

    #[test]
    fn unchanged_entries_are_trusted_and_racy_ones_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path());
        let since = Time { sec: 100, nsec: 0 };
        let (a, b, racy) = (stat(1, 50), stat(2, 60), stat(3, 100));
        let (ha, hb, hr) = (hashed(b"aaa"), hashed(b"bbb"), hashed(b"ccc"));
        c.write(
            &[b"a"[..].into(), b"b"[..].into(), b"c"[..].into()],
            &[a, b, racy],
            &[ha, hb, hr],
            since,
        )
        .unwrap();
        let mut r = c.open().unwrap().unwrap();
        assert_eq!(r.count, 2, "the racy entry is not written");
        assert_eq!(r.lookup(b"a", &a).map(|h| h.digest), Some(ha.digest));
        // Same size and mtime but another ctime: a rewrite whose mtime was restored.
        let mut b_rewritten = b;
        b_rewritten.ctime.nsec += 1;
        assert!(r.lookup(b"b", &b_rewritten).is_none());
        assert!(r.lookup(b"c", &racy).is_none());
        assert_eq!(r.used, 1);
    }

    #[test]
    fn lookups_skip_entries_of_files_no_longer_selected() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path());
        let s = stat(1, 10);
        let h = hashed(b"xyz");
        let names: Vec<Box<[u8]>> = (0..50)
            .map(|i| format!("f{i:02}").into_bytes().into())
            .collect();
        c.write(&names, &[s; 50], &[h; 50], Time { sec: 20, nsec: 0 })
            .unwrap();
        let mut r = c.open().unwrap().unwrap();
        assert!(r.lookup(b"f10", &s).is_some());
        assert!(r.lookup(b"f105", &s).is_none());
        assert!(r.lookup(b"f42", &s).is_some());
        assert!(r.lookup(b"zzz", &s).is_none());
    }

    #[test]
    fn a_damaged_or_truncated_cache_is_ignored_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path());
        let s = stat(1, 10);
        let h = hashed(b"xyz");
        c.write(&[b"a"[..].into()], &[s], &[h], Time { sec: 20, nsec: 0 })
            .unwrap();
        let good = fs::read(c.path()).unwrap();
        for damaged in [
            good[..good.len() - 1].to_vec(),
            good[..good.len() / 2].to_vec(),
            Vec::new(),
            {
                let mut d = good.clone();
                let i = d.len() - 40;
                d[i] ^= 1;
                d
            },
        ] {
            fs::write(c.path(), &damaged).unwrap();
            let note = c.open().err().expect("damage is noticed");
            assert!(note.contains("damaged or truncated"), "{note}");
        }
        fs::remove_file(c.path()).unwrap();
        assert!(c.open().unwrap().is_none(), "no cache is no note");
    }
}
