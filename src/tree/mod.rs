//! Source trees and outputs: selecting every component's input files, hashing them in
//! parallel, and hashing declared outputs.
//!
//! - Selection ([`select_all`], in `select.rs`) walks the config directory once for
//!   all components with ripgrep's `ignore` walker and routes each file to the
//!   components whose globs match it: `.gitignore` (and `.git/info/exclude`) apply
//!   inside a git work tree only, as for git, and never to a tracked file; the user's
//!   global excludes do not (they differ between machines); hidden files are
//!   included; symlinks are never followed. Directories that no pattern can reach are
//!   not entered.
//! - Globs are `globset` globs where `*` stays within a directory and `**` crosses
//!   directories; a pattern that names a directory selects everything below it.
//! - Hashing ([`hash_paths`], in `hash.rs`) runs in parallel with rayon, each file
//!   once however many components select it, streamed in chunks and checked not to
//!   have changed while read; the stat cache (`cache.rs`) lets a re-run skip files
//!   whose stat is unchanged. FIFOs, sockets and devices are errors named by kind and
//!   are never opened, so a FIFO cannot hang the run.
//! - Non-UTF-8 names: digests always cover the raw name bytes; the `path` written in
//!   a record shows each byte that is not part of valid UTF-8 as `\xNN` and every
//!   backslash as `\\`, so the text is lossless (two names never share a text) and
//!   readable.

mod cache;
mod hash;
mod output;
mod select;

pub use cache::StatCache;
pub use hash::{HashError, HashOutcome, HashStats, Hashed, hash_file, hash_paths};
pub use output::{hash_output, store_path_of};
pub use select::{
    ComponentSelection, Patterns, SelectError, Selections, Stating, git_walker, select_all,
};

use std::io;
use std::path::PathBuf;

use rayon::prelude::*;

use crate::digest::{Digest, Hasher};
use crate::fsio::display_path;
use crate::model::manifest::{FileRecord, InputsRecord};

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

/// Builds the input records of each component from one selection and its hashes.
/// Each path's text is made once: a path only one component selects moves into its
/// record instead of being copied, so paths are not held twice. Calls `each` with a
/// component's index and record, in the selection's order.
///
/// Texts and digest lines are made on every core, a window of files at a time, and
/// the lines hashed in order: on one core, reading 60,000 paths scattered over the
/// heap was a third of a snapshot's single-threaded end.
pub fn inputs_records(
    selections: Selections,
    hashed: &[Hashed],
    mut each: impl FnMut(usize, InputsRecord),
) {
    /// Files per window, and per parallel piece of one.
    const WINDOW: usize = 8192;
    const PIECE: usize = 2048;
    let Selections {
        mut paths,
        components,
        ..
    } = selections;
    // How many components still need each path.
    let mut owners = vec![0u32; paths.len()];
    for c in &components {
        for &i in &c.files {
            owners[i as usize] += 1;
        }
    }
    let mut taken: Vec<Option<Box<[u8]>>> = Vec::with_capacity(WINDOW);
    for (index, c) in components.into_iter().enumerate() {
        let mut digest = InputsDigest::new();
        let mut files = Vec::with_capacity(c.files.len());
        for window in c.files.chunks(WINDOW) {
            // The paths this component is the last to need are moved out first
            // (cheap, and no longer shared), the others are copied below.
            taken.clear();
            taken.extend(window.iter().map(|&i| {
                let i = i as usize;
                owners[i] -= 1;
                (owners[i] == 0).then(|| std::mem::take(&mut paths[i]))
            }));
            let paths = &paths;
            let pieces: Vec<(Vec<u8>, Vec<FileRecord>)> = window
                .par_chunks(PIECE)
                .zip(taken.par_chunks_mut(PIECE))
                .map(|(indices, taken)| {
                    let mut lines = Vec::with_capacity(indices.len() * 160);
                    let mut records = Vec::with_capacity(indices.len());
                    for (&i, moved) in indices.iter().zip(taken) {
                        let i = i as usize;
                        let h = &hashed[i];
                        let raw = moved.as_deref().unwrap_or(&paths[i]);
                        digest_line(&mut lines, raw, h.kind.as_str(), h.size, &h.digest);
                        let path = match moved.take() {
                            Some(raw) => into_text(raw),
                            None => display_path(&paths[i]),
                        };
                        records.push(FileRecord {
                            path,
                            kind: h.kind,
                            size: h.size,
                            digest: h.digest,
                        });
                    }
                    (lines, records)
                })
                .collect();
            for (lines, records) in pieces {
                digest.hasher.update(&lines);
                files.extend(records);
            }
        }
        each(
            index,
            InputsRecord {
                digest: digest.finish(),
                files,
                unmatched: c.unmatched,
            },
        );
    }
}

/// The text of a raw path, reusing its allocation when it is plain UTF-8.
fn into_text(raw: Box<[u8]>) -> String {
    match String::from_utf8(Vec::from(raw)) {
        Ok(s) if !s.contains('\\') => s,
        Ok(s) => display_path(s.as_bytes()),
        Err(e) => display_path(e.as_bytes()),
    }
}

/// The component input digest: SHA-256 over one line per record, in byte order of
/// the raw path, `<raw path bytes> NUL <kind> NUL <size> NUL <hex digest> LF`.
pub fn inputs_digest<'a>(records: impl Iterator<Item = (&'a [u8], &'a FileRecord)>) -> Digest {
    let mut d = InputsDigest::new();
    for (raw, r) in records {
        d.add(raw, r.kind.as_str(), r.size, &r.digest);
    }
    d.finish()
}

/// Appends one record's line of [`inputs_digest`].
fn digest_line(line: &mut Vec<u8>, raw: &[u8], kind: &str, size: u64, digest: &Digest) {
    line.extend_from_slice(raw);
    line.push(0);
    line.extend_from_slice(kind.as_bytes());
    line.push(0);
    crate::model::push_decimal(line, size);
    line.push(0);
    digest.write_hex(line);
    line.push(b'\n');
}

/// [`inputs_digest`] fed one record at a time.
struct InputsDigest {
    hasher: Hasher,
    line: Vec<u8>,
}

impl InputsDigest {
    fn new() -> Self {
        Self {
            hasher: Hasher::new(),
            line: Vec::with_capacity(256),
        }
    }

    fn add(&mut self, raw: &[u8], kind: &str, size: u64, digest: &Digest) {
        self.line.clear();
        digest_line(&mut self.line, raw, kind, size, digest);
        self.hasher.update(&self.line);
    }

    fn finish(self) -> Digest {
        self.hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::manifest::FileKind;

    /// Records built in parallel windows are those of a plain loop: each
    /// component's files in order with their texts (a shared path copied, a
    /// non-UTF-8 one escaped), and its digest that of [`inputs_digest`].
    #[test]
    fn records_in_windows_equal_a_plain_loop() {
        let n: u32 = 40_000;
        let paths: Vec<Box<[u8]>> = (0..n)
            .map(|i| {
                let mut p = format!("d{:02}/f{i:06}", i % 97).into_bytes();
                if i % 5_000 == 3 {
                    p.push(0xe9);
                }
                p.into_boxed_slice()
            })
            .collect();
        let mut paths = paths;
        paths.sort();
        let hashed: Vec<Hashed> = (0..n)
            .map(|i| Hashed {
                kind: if i % 3 == 0 {
                    FileKind::Executable
                } else {
                    FileKind::File
                },
                size: u64::from(i),
                digest: Digest::of(&i.to_le_bytes()),
            })
            .collect();
        // All files; every third one; the first few (shared with both).
        let parts: [Vec<u32>; 3] = [
            (0..n).collect(),
            (0..n).filter(|i| i % 3 == 1).collect(),
            (0..10).collect(),
        ];
        let selections = Selections {
            paths: paths.clone(),
            stats: Vec::new(),
            components: parts
                .iter()
                .map(|files| ComponentSelection {
                    files: files.clone(),
                    unmatched: Vec::new(),
                })
                .collect(),
            stating: Stating::Links,
        };
        let mut got = Vec::new();
        inputs_records(selections, &hashed, |i, r| got.push((i, r)));
        assert_eq!(got.len(), parts.len());
        for ((index, record), files) in got.iter().zip(&parts) {
            let expected: Vec<FileRecord> = files
                .iter()
                .map(|&i| FileRecord {
                    path: display_path(&paths[i as usize]),
                    kind: hashed[i as usize].kind,
                    size: hashed[i as usize].size,
                    digest: hashed[i as usize].digest,
                })
                .collect();
            assert!(
                record.files == expected,
                "component {index}: records differ"
            );
            let digest =
                inputs_digest(files.iter().map(|&i| &paths[i as usize][..]).zip(&expected));
            assert_eq!(record.digest, digest, "component {index}");
        }
    }
}
