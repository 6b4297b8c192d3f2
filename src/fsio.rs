//! File helpers every reader shares: opening regular files without following a link
//! or blocking on a FIFO (by path, or by name in an open directory, [`RootedDir`]),
//! whole-file reads, the stat fields that tell whether a file
//! changed ([`Stat`]), special-file names, and the text form of raw path bytes. The
//! ground floor beside `digest`: it imports nothing of the crate.
//!
//! The open flags come from `libc`, so they are right on every system the flake
//! builds for (`O_NOFOLLOW` is 0o400000 on x86-64 Linux but 0o100000 on aarch64
//! Linux, where 0o400000 is `O_LARGEFILE`; `O_NONBLOCK` is 0o4 on macOS).

use std::ffi::OsStr;
use std::fs::{self, File, FileType};
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
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

/// Opens `path` for reading without following a symlink and without blocking, and
/// without checking what it is: for a caller that has `lstat`ed it and compares its
/// own [`Stat`] after reading (a file swapped in between shows there).
pub fn open_no_follow(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// [`open_no_follow`] of `name` in the open directory `dir`: one name looked up,
/// not a whole path walked.
pub fn open_no_follow_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

/// The directory of the last path looked up, kept open (`O_PATH`), for raw paths
/// relative to one root as a selection lists them: a caller that visits files in
/// path order opens or stats each by name in it, and the kernel looks up one name
/// instead of walking the whole path again (a third of the cost of an `lstat` by
/// path on a tree of small files). The directory part is found and compared as
/// bytes, so no `Path` is built or parsed per file. Owned by one walking thread or
/// one hashing job and dropped with it, so a directory is never reused from an
/// earlier run.
#[derive(Debug)]
pub struct RootedDir<'r> {
    root: &'r Path,
    /// The directory kept open, relative to the root, and its descriptor.
    open: Option<(Vec<u8>, OwnedFd)>,
}

impl<'r> RootedDir<'r> {
    #[must_use]
    pub fn new(root: &'r Path) -> Self {
        Self { root, open: None }
    }

    /// The directory of `rel` (opened unless it is the one kept) and `rel`'s final
    /// name in it.
    pub fn split<'p>(&mut self, rel: &'p [u8]) -> io::Result<(BorrowedFd<'_>, &'p OsStr)> {
        let (dir, name) = match rel.iter().rposition(|&b| b == b'/') {
            Some(slash) => (&rel[..slash], &rel[slash + 1..]),
            None => (&b""[..], rel),
        };
        let kept = match self.open.take() {
            Some((kept, fd)) if kept[..] == *dir => (kept, fd),
            _ => {
                use rustix::fs::{Mode, OFlags};
                let fd = rustix::fs::open(
                    self.root.join(OsStr::from_bytes(dir)),
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                (dir.to_vec(), fd)
            }
        };
        let fd: &OwnedFd = &self.open.insert(kept).1;
        Ok((fd.as_fd(), OsStr::from_bytes(name)))
    }

    /// The `lstat` of `rel`, by name in its directory.
    pub fn lstat(&mut self, rel: &[u8]) -> io::Result<Stat> {
        let (dir, name) = self.split(rel)?;
        let st = rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(Stat::of_raw(&st))
    }
}

/// The `stat` fields git's index compares to tell whether a file changed since it
/// was last read: device and inode (the same file, not a replacement), mode, size,
/// and modification and status-change times with nanoseconds. Writing a file changes
/// its mtime and ctime; setting the mtime back (`touch -d`) still changes the ctime.
/// On Linux 6.13 and later, a change right after a `stat` gets a fine-grained
/// timestamp, so two reads of the same coarse clock tick still differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub size: u64,
    pub mtime: Time,
    pub ctime: Time,
}

impl Stat {
    /// From `fstatat` (`rustix`), which the walk uses; equal to [`Stat::of`] of the
    /// same file.
    #[must_use]
    // The field types differ between architectures (`c_ulong`, `u64`, `c_long`).
    #[allow(clippy::useless_conversion)]
    pub fn of_raw(st: &rustix::fs::Stat) -> Self {
        Self {
            dev: device(u64::try_from(st.st_dev).unwrap_or(0)),
            ino: u64::try_from(st.st_ino).unwrap_or(0),
            mode: st.st_mode,
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime: Time {
                sec: i64::try_from(st.st_mtime).unwrap_or(0),
                nsec: u32::try_from(st.st_mtime_nsec).unwrap_or(0),
            },
            ctime: Time {
                sec: i64::try_from(st.st_ctime).unwrap_or(0),
                nsec: u32::try_from(st.st_ctime_nsec).unwrap_or(0),
            },
        }
    }
}

/// A device number as (major, minor) in one value: `statx` and `stat` encode the
/// number differently for large majors, and both sources must compare equal.
fn device(dev: u64) -> u64 {
    (u64::from(rustix::fs::major(dev)) << 32) | u64::from(rustix::fs::minor(dev))
}

/// A file time: seconds and nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Time {
    pub sec: i64,
    pub nsec: u32,
}

impl Stat {
    #[must_use]
    pub fn of(meta: &fs::Metadata) -> Self {
        Self {
            dev: device(meta.dev()),
            ino: meta.ino(),
            mode: meta.mode(),
            size: meta.size(),
            mtime: Time {
                sec: meta.mtime(),
                nsec: u32::try_from(meta.mtime_nsec()).unwrap_or(0),
            },
            ctime: Time {
                sec: meta.ctime(),
                nsec: u32::try_from(meta.ctime_nsec()).unwrap_or(0),
            },
        }
    }

    /// Only a type, from a directory entry (`d_type`), for a file not stated: `mode`
    /// holds its type bits, every other field is 0.
    #[must_use]
    pub fn of_type(t: FileType) -> Self {
        Self {
            mode: type_bits(t),
            ..Self::default()
        }
    }
}

/// The `S_IFMT` bits of a file type (0 for a type this does not know).
fn type_bits(t: FileType) -> u32 {
    if t.is_file() {
        libc::S_IFREG
    } else if t.is_symlink() {
        libc::S_IFLNK
    } else if t.is_dir() {
        libc::S_IFDIR
    } else if t.is_fifo() {
        libc::S_IFIFO
    } else if t.is_socket() {
        libc::S_IFSOCK
    } else if t.is_char_device() {
        libc::S_IFCHR
    } else if t.is_block_device() {
        libc::S_IFBLK
    } else {
        0
    }
}

/// A file whose ctime is less than this old may still be in the middle of a
/// `write`: its times are set when the write starts, its bytes copied after, so a
/// read overlapping the copy sees an unchanged stat and mixed content. Readers that
/// must not record such a mixture read these files twice and compare.
pub const RECENT: std::time::Duration = std::time::Duration::from_secs(1);

/// Now less [`RECENT`]: files whose ctime is at or after this were changed recently.
#[must_use]
pub fn recent_cutoff() -> Time {
    let t = std::time::SystemTime::now()
        .checked_sub(RECENT)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    Time {
        sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
        nsec: t.subsec_nanos(),
    }
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
    special_kind_of_mode(type_bits(*ft))
}

/// [`special_kind`] from the file-type bits of a `stat` mode (`S_IFMT`).
#[must_use]
pub fn special_kind_of_mode(mode: u32) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFIFO => "FIFO",
        libc::S_IFSOCK => "socket",
        libc::S_IFCHR => "character device",
        libc::S_IFBLK => "block device",
        libc::S_IFDIR => "directory",
        _ => "special file",
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

    /// The walk's `fstatat` and the hashing's `fstat` must agree on an unchanged
    /// file, or every file would look changed while read.
    #[test]
    fn both_stat_sources_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"content").unwrap();
        let std_stat = Stat::of(&fs::symlink_metadata(&path).unwrap());
        let raw = rustix::fs::statat(
            rustix::fs::CWD,
            &path,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
        assert_eq!(Stat::of_raw(&raw), std_stat);
        let fstat = Stat::of(&File::open(&path).unwrap().metadata().unwrap());
        assert_eq!(fstat, std_stat);
    }

    #[test]
    fn non_utf8_names_are_escaped_losslessly() {
        assert_eq!(display_path(b"plain/name.txt"), "plain/name.txt");
        assert_eq!(display_path(b"caf\xe9\\x"), "caf\\xe9\\\\x");
        // A UTF-8 name that merely looks like an escape stays distinct.
        assert_eq!(display_path(b"a\\xff"), "a\\\\xff");
        assert_eq!(display_path(b"a\xff"), "a\\xff");
    }
}
