//! Hashing one declared output: a file by its SHA-256, a directory by its NAR hash
//! with per-file records. A declared output that is a symlink (a Nix `result` link,
//! `current -> releases/42`) is followed once, so what it names is what gets hashed;
//! for a link into `/nix/store` the store path is recorded too. Symlinks inside an
//! output directory are never followed: the NAR holds them as links.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::TreeError;
use crate::model::manifest::{FileKind, OutputRecord};
use crate::progress::Progress;

/// The Nix store directory; links into it are followed once.
pub const STORE_DIR: &str = "/nix/store";

/// Hashes the output declared as `declared`, at `path`.
pub fn hash_output(
    path: &Path,
    declared: &str,
    progress: &Progress,
) -> Result<OutputRecord, TreeError> {
    let io_err = |source| TreeError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TreeError::MissingOutput {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(io_err(e)),
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).map_err(io_err)?;
        if let Some(store_path) = store_path_of(&target) {
            // Follow once: hash what the link names, not the link.
            if fs::symlink_metadata(&target).is_err() {
                return Err(TreeError::DanglingOutput {
                    path: path.to_owned(),
                    target,
                });
            }
            let mut record = hash_node(&target, declared, progress)?;
            record.store_path = Some(store_path.display().to_string());
            return Ok(record);
        }
        if !path.exists() {
            // A dangling link is an output that is not there (yet).
            return Err(TreeError::DanglingOutput {
                path: path.to_owned(),
                target,
            });
        }
        // Any other top-level link (`result -> build/out`) is followed once too: the
        // artifact is what it names, and a link that still names the same place is
        // no evidence the build produced anything.
        let resolved = match path.parent() {
            Some(dir) if target.is_relative() => dir.join(&target),
            _ => target,
        };
        return hash_node(&resolved, declared, progress);
    }
    hash_node(path, declared, progress)
}

/// Hashes a file by content, anything else by NAR.
fn hash_node(path: &Path, declared: &str, progress: &Progress) -> Result<OutputRecord, TreeError> {
    let meta = fs::symlink_metadata(path).map_err(|source| TreeError::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.file_type().is_file() {
        let rec = super::hash_file(path, declared.as_bytes())?;
        return Ok(OutputRecord {
            path: declared.to_owned(),
            kind: rec.kind,
            digest: rec.digest,
            size: rec.size,
            nar_hash: None,
            store_path: None,
            files: Vec::new(),
        });
    }
    let nar = crate::nar::hash_path_with(path, progress)?;
    let kind = if meta.file_type().is_dir() {
        FileKind::Directory
    } else {
        FileKind::Symlink
    };
    Ok(OutputRecord {
        path: declared.to_owned(),
        kind,
        digest: nar.digest,
        size: nar.size,
        nar_hash: Some(nar.digest.sri()),
        store_path: None,
        files: nar.files,
    })
}

/// The store path (`/nix/store/<hash>-<name>`) that `target` lies in, if any.
#[must_use]
pub fn store_path_of(target: &Path) -> Option<PathBuf> {
    let rest = target.strip_prefix(STORE_DIR).ok()?;
    match rest.components().next()? {
        Component::Normal(name) => Some(Path::new(STORE_DIR).join(name)),
        _ => None,
    }
}
