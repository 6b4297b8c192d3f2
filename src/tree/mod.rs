//! Source trees and outputs: selecting a component's input files, hashing them in
//! parallel, and hashing its declared outputs.
//!
//! - Selection ([`select`]) walks the config directory once per component with
//!   ripgrep's `ignore` walker: `.gitignore` (and `.git/info/exclude`) apply inside a
//!   git work tree only, as for git; the user's global excludes do not (they differ
//!   between machines); hidden files are included; symlinks are never followed.
//!   Directories that no pattern can reach are not entered.
//! - Globs are `globset` globs where `*` stays within a directory and `**` crosses
//!   directories; a pattern that names a directory selects everything below it.
//! - Input records ([`hash_inputs`]) are computed in parallel with rayon, each file
//!   streamed in chunks. FIFOs, sockets and devices are errors named by kind and are
//!   never opened, so a FIFO cannot hang the run.
//! - Non-UTF-8 names: digests always cover the raw name bytes; the `path` written in
//!   a record shows each byte that is not part of valid UTF-8 as `\xNN` and every
//!   backslash as `\\`, so the text is lossless (two names never share a text) and
//!   readable.

mod output;

pub use output::{hash_output, store_path_of};

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use rayon::prelude::*;

use crate::digest::{Digest, Hasher};
use crate::fsio::{display_path, join, open_regular, special_kind};
use crate::model::manifest::{FileKind, FileRecord, InputsRecord};

/// Why inputs or outputs could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("invalid glob `{pattern}`")]
    Glob {
        pattern: String,
        source: globset::Error,
    },
    #[error("cannot read `{}`", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot walk `{}`: {message}", .path.display())]
    Walk { path: PathBuf, message: String },
    #[error("input `{}` is a {kind}; inputs must be regular files or symlinks (add it to `exclude`)", .path.display())]
    Special { path: PathBuf, kind: &'static str },
    #[error("`{}` changed while it was being hashed; run buildproof after the build has finished", .path.display())]
    Changed { path: PathBuf },
    #[error(transparent)]
    Nar(#[from] crate::nar::NarError),
    #[error("output `{}` does not exist; run the build first", .path.display())]
    MissingOutput { path: PathBuf },
    #[error("output `{}` is a link to `{}`, which does not exist (garbage-collected, or never built); run the build first", .path.display(), .target.display())]
    DanglingOutput { path: PathBuf, target: PathBuf },
}

/// The files a component's patterns select, relative to the root.
#[derive(Debug, Default)]
pub struct Selection {
    /// Raw relative paths (`/`-separated bytes), sorted bytewise.
    pub files: Vec<Vec<u8>>,
    /// Patterns that matched no file.
    pub unmatched: Vec<String>,
}

fn glob(pattern: &str) -> Result<Glob, TreeError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|source| TreeError::Glob {
            pattern: pattern.to_owned(),
            source,
        })
}

/// Glob metacharacters; a pattern without any names one path exactly.
const GLOB_CHARS: [char; 5] = ['*', '?', '[', '{', '\\'];

/// Compiled patterns, and for each glob in the set the pattern it came from.
struct Patterns {
    set: GlobSet,
    origin: Vec<usize>,
}

/// Compiles patterns. A pattern that names a path exactly (`web`, `go.mod`) also
/// selects everything below it when it is a directory; a glob does not (`src/*`
/// selects the entries of `src`, not the trees below them: `*` stays in a directory).
fn pattern_set(patterns: &[String]) -> Result<Patterns, TreeError> {
    let mut b = GlobSetBuilder::new();
    let mut origin = Vec::new();
    for (i, p) in patterns.iter().enumerate() {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        b.add(glob(p)?);
        origin.push(i);
        if !p.contains(GLOB_CHARS) {
            b.add(glob(&format!("{p}/**"))?);
            origin.push(i);
        }
    }
    let set = b.build().map_err(|source| TreeError::Glob {
        pattern: patterns.join(", "),
        source,
    })?;
    Ok(Patterns { set, origin })
}

/// The directory a pattern is confined to: its leading components up to the first
/// one with a glob character (`goinstance/cmd` for `goinstance/cmd/**/*.go`, the whole
/// pattern when it has none, empty when it starts with a glob).
fn literal_prefix(pattern: &str) -> String {
    pattern
        .trim_start_matches("./")
        .trim_end_matches('/')
        .split('/')
        .take_while(|c| !c.contains(GLOB_CHARS))
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a walk must enter directory `dir` to reach files under `prefix`: `dir` is
/// the prefix, one of its ancestors, or below it.
fn may_reach(prefix: &[u8], dir: &[u8]) -> bool {
    let below = |outer: &[u8], inner: &[u8]| {
        inner.starts_with(outer) && (inner.len() == outer.len() || inner[outer.len()] == b'/')
    };
    prefix.is_empty() || below(dir, prefix) || below(prefix, dir)
}

/// Selects the files under `root` that `include` matches and `exclude` does not.
pub fn select(root: &Path, include: &[String], exclude: &[String]) -> Result<Selection, TreeError> {
    let includes = pattern_set(include)?;
    let excludes = pattern_set(exclude)?;
    let prefixes: Vec<String> = include.iter().map(|p| literal_prefix(p)).collect();
    let mut matched = vec![false; include.len()];
    let mut files = Vec::new();

    let root_owned = root.to_owned();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .git_global(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(true)
        .parents(true)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.as_bytes().cmp(b.as_bytes()))
        .filter_entry(move |entry| {
            if entry.depth() == 0 {
                return true;
            }
            if entry.file_name() == ".git" {
                return false;
            }
            if !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            // Enter a directory only if some pattern can reach inside it.
            let rel = entry
                .path()
                .strip_prefix(&root_owned)
                .unwrap_or(entry.path());
            let rel = rel.as_os_str().as_bytes();
            prefixes.iter().any(|p| may_reach(p.as_bytes(), rel))
        })
        .build();

    for entry in walker {
        let entry = entry.map_err(|e| walk_error(root, &e))?;
        if entry.depth() == 0 || entry.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .as_os_str()
            .as_bytes()
            .to_vec();
        let candidate =
            globset::Candidate::new(entry.path().strip_prefix(root).unwrap_or(entry.path()));
        let hits = includes.set.matches_candidate(&candidate);
        if hits.is_empty() {
            continue;
        }
        for h in hits {
            matched[includes.origin[h]] = true;
        }
        if excludes.set.is_match_candidate(&candidate) {
            continue;
        }
        files.push(rel);
    }
    // Git never ignores a tracked file, and neither does buildproof: a generated file
    // committed despite `*.pb.go` in .gitignore is an input like any other.
    for rel in tracked_but_ignored(root) {
        let path = join(root, Path::new(std::ffi::OsStr::from_bytes(&rel)));
        if fs::symlink_metadata(&path).is_err() || files.contains(&rel) {
            continue;
        }
        let candidate = globset::Candidate::new(Path::new(std::ffi::OsStr::from_bytes(&rel)));
        let hits = includes.set.matches_candidate(&candidate);
        if hits.is_empty() {
            continue;
        }
        for h in hits {
            matched[includes.origin[h]] = true;
        }
        if !excludes.set.is_match_candidate(&candidate) {
            files.push(rel);
        }
    }
    files.sort();
    files.dedup();
    let unmatched = include
        .iter()
        .zip(matched)
        .filter(|(_, m)| !m)
        .map(|(p, _)| p.clone())
        .collect();
    Ok(Selection { files, unmatched })
}

/// Files under `root` that git tracks although a `.gitignore` pattern matches them
/// (`git ls-files --cached --ignored --exclude-standard`), as raw paths relative to
/// `root`. Empty outside a git work tree, or when git is not installed (then ignore
/// rules alone decide, which can only drop such files, never add strangers).
fn tracked_but_ignored(root: &Path) -> Vec<Vec<u8>> {
    let in_work_tree = root
        .canonicalize()
        .is_ok_and(|abs| abs.ancestors().any(|dir| dir.join(".git").exists()));
    if !in_work_tree {
        return Vec::new();
    }
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--ignored",
            "--exclude-standard",
            "--",
            ".",
        ])
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(o) if o.status.success() => o
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
        _ => Vec::new(),
    }
}

fn walk_error(root: &Path, e: &ignore::Error) -> TreeError {
    // `ignore` wraps the path in its message; keep the innermost path if present.
    let path = match e {
        ignore::Error::WithPath { path, .. } => path.clone(),
        _ => root.to_owned(),
    };
    TreeError::Walk {
        path,
        message: e.to_string(),
    }
}

/// Hashes the selected files in parallel and computes the component input digest.
pub fn hash_inputs(root: &Path, selection: &Selection) -> Result<InputsRecord, TreeError> {
    let records: Vec<(Vec<u8>, FileRecord)> = selection
        .files
        .par_iter()
        .map(|rel| {
            let path = join(root, Path::new(std::ffi::OsStr::from_bytes(rel)));
            hash_file(&path, rel).map(|r| (rel.clone(), r))
        })
        .collect::<Result<_, _>>()?;
    let digest = inputs_digest(records.iter().map(|(raw, r)| (raw.as_slice(), r)));
    Ok(InputsRecord {
        digest,
        files: records.into_iter().map(|(_, r)| r).collect(),
        unmatched: selection.unmatched.clone(),
    })
}

/// The component input digest: SHA-256 over one line per record, in byte order of
/// the raw path, `<raw path bytes> NUL <kind> NUL <size> NUL <hex digest> LF`.
pub fn inputs_digest<'a>(records: impl Iterator<Item = (&'a [u8], &'a FileRecord)>) -> Digest {
    let mut h = Hasher::new();
    for (raw, r) in records {
        h.update(raw);
        h.update(b"\0");
        h.update(r.kind.as_str().as_bytes());
        h.update(format!("\0{}\0{}\n", r.size, r.digest.hex()).as_bytes());
    }
    h.finish()
}

/// One file's record; `rel` is its raw relative path.
pub fn hash_file(path: &Path, rel: &[u8]) -> Result<FileRecord, TreeError> {
    let io_err = |source| TreeError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = fs::symlink_metadata(path).map_err(io_err)?;
    let ft = meta.file_type();
    let (kind, size, digest) = if ft.is_symlink() {
        let target = fs::read_link(path).map_err(io_err)?;
        let t = target.as_os_str().as_bytes();
        (FileKind::Symlink, t.len() as u64, Digest::of(t))
    } else if ft.is_file() {
        let file = open_regular(path, &meta).map_err(io_err)?;
        let (digest, read) = Digest::of_reader(file).map_err(io_err)?;
        if read != meta.len() {
            return Err(TreeError::Changed {
                path: path.to_owned(),
            });
        }
        let kind = if meta.permissions().mode() & 0o100 != 0 {
            FileKind::Executable
        } else {
            FileKind::File
        };
        (kind, read, digest)
    } else {
        return Err(TreeError::Special {
            path: path.to_owned(),
            kind: special_kind(&ft),
        });
    };
    Ok(FileRecord {
        path: display_path(rel),
        kind,
        size,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("goinstance/**"), "goinstance");
        assert_eq!(literal_prefix("go.mod"), "go.mod");
        assert!(may_reach(b"a/b", b"a"));
        assert!(may_reach(b"a/b", b"a/b"));
        assert!(may_reach(b"a/b", b"a/b/c"));
        assert!(!may_reach(b"a/b", b"a/bc"));
        assert!(!may_reach(b"go.mod", b"web"));
        assert_eq!(literal_prefix("a/b/*.go"), "a/b");
        assert_eq!(literal_prefix("**/x"), "");
        assert_eq!(literal_prefix("./web/src/**"), "web/src");
    }
}
