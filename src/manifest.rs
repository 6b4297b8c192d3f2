//! The versioned manifest schema, `buildproof.manifest/v1`: what a snapshot recorded
//! of every component. Reading checks the schema id first, so a manifest of another
//! version is refused with a message rather than misread. Writing is deterministic:
//! components and files are sorted and the only timestamp is the top-level `created`.
//!
//! ```json
//! {
//!   "schema": "buildproof.manifest/v1",
//!   "created": "2026-11-22T01:00:00Z",
//!   "generator": "buildproof 0.1.0",
//!   "components": {
//!     "goinstance": {
//!       "inputs": { "digest": "sha256:…", "unmatched": [],
//!                   "files": [ { "path": "goinstance/main.go", "kind": "file",
//!                                "size": 120, "digest": "sha256:…" } ] },
//!       "outputs": [ { "path": "result-goinstance", "kind": "directory",
//!                      "digest": "sha256:…", "size": 4200, "nar_hash": "sha256-…",
//!                      "store_path": "/nix/store/…-goinstance", "files": [ … ] } ]
//!     }
//!   }
//! }
//! ```
//! `image`, `dockerfile`, `nix` and `deploy` appear in a component when its config
//! declares them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::dockerfile::DockerfileRecord;
use crate::image::ImageRecord;
use crate::nix::NixRecord;

/// The schema id this version of buildproof reads and writes.
pub const SCHEMA: &str = "buildproof.manifest/v1";

/// A manifest: every component of one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: String,
    /// When the snapshot was taken (RFC 3339, UTC). The only timestamp in a manifest.
    pub created: String,
    /// The tool and version that wrote it.
    pub generator: String,
    pub components: BTreeMap<String, ComponentRecord>,
}

/// What one component was built from and what it produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentRecord {
    pub inputs: InputsRecord,
    #[serde(default)]
    pub outputs: Vec<OutputRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<DockerfileRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nix: Option<NixRecord>,
    /// The container name to match in running state (`deploy` in the config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<String>,
}

/// A component's inputs: the digest over all file records, and the records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsRecord {
    pub digest: Digest,
    pub files: Vec<FileRecord>,
    /// Input patterns that matched no file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<String>,
}

/// One file: path (relative, `/`-separated), kind, size and SHA-256. A symlink's size
/// and digest are those of its target text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    pub path: String,
    pub kind: FileKind,
    pub size: u64,
    pub digest: Digest,
}

/// The kinds of node buildproof records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Executable,
    Symlink,
    Directory,
}

impl FileKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Executable => "executable",
            FileKind::Symlink => "symlink",
            FileKind::Directory => "directory",
        }
    }
}

/// One declared output. `digest` is the artifact's identity: a file's SHA-256, or
/// for a directory or store path the SHA-256 of its NAR serialisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputRecord {
    /// As declared in the config.
    pub path: String,
    /// What was hashed (for a `result` link into the store: what the store path is).
    pub kind: FileKind,
    pub digest: Digest,
    /// A file's size, or the NAR size of a directory or store path.
    pub size: u64,
    /// The NAR hash in SRI form, as `nix hash path` prints it (directories and store paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nar_hash: Option<String>,
    /// The store path a top-level symlink into `/nix/store` pointed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_path: Option<String>,
    /// Per-file records of a directory or store path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRecord>,
}

/// A manifest that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest `{}`: {source}", .path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not a buildproof manifest: {reason}", .path.display())]
    Malformed {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("`{}` has schema `{found}`; this buildproof reads `{SCHEMA}` (upgrade buildproof, or re-create the manifest with this version)", .path.display())]
    Version {
        path: std::path::PathBuf,
        found: String,
    },
}

impl Manifest {
    /// An empty manifest stamped now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            schema: SCHEMA.to_owned(),
            created: jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            generator: concat!("buildproof ", env!("CARGO_PKG_VERSION")).to_owned(),
            components: BTreeMap::new(),
        }
    }

    /// Reads a manifest file, checking the schema id before anything else.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&bytes, path)
    }

    /// Parses manifest JSON; `path` names it in errors. Also accepts an in-toto
    /// Statement whose predicate is a manifest.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, ManifestError> {
        let malformed = |reason: String| ManifestError::Malformed {
            path: path.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| malformed(format!("invalid JSON: {e}")))?;
        let value = match value.get("predicate") {
            Some(predicate) if value.get("_type").is_some() => predicate.clone(),
            _ => value,
        };
        match value.get("schema").and_then(serde_json::Value::as_str) {
            None => return Err(malformed("no `schema` field".to_owned())),
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(ManifestError::Version {
                    path: path.to_owned(),
                    found: other.to_owned(),
                });
            }
        }
        serde_json::from_value(value).map_err(|e| malformed(e.to_string()))
    }

    /// Pretty JSON with sorted keys and a trailing newline.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        // Through `Value` (a BTreeMap without serde_json's `preserve_order`), so every
        // object's keys come out sorted whatever the struct field order.
        let value = serde_json::to_value(self)?;
        let mut out = serde_json::to_vec_pretty(&value)?;
        out.push(b'\n');
        Ok(out)
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Self::new()
    }
}

/// An in-toto Statement v1 (<https://in-toto.io/Statement/v1>) whose subjects are the
/// manifest's outputs and whose predicate is the manifest itself.
pub fn in_toto(manifest: &Manifest) -> serde_json::Result<Vec<u8>> {
    let mut subjects = Vec::new();
    for (name, c) in &manifest.components {
        for o in &c.outputs {
            subjects.push(serde_json::json!({
                "name": format!("{name}/{}", o.path),
                "digest": {"sha256": o.digest.hex()},
            }));
        }
        if let Some(image) = &c.image {
            subjects.push(serde_json::json!({
                "name": format!("{name}/image"),
                "digest": {"sha256": image.manifest_digest.hex()},
            }));
        }
    }
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://buildproof.dev/manifest/v1",
        "predicate": manifest,
    });
    let mut out = serde_json::to_vec_pretty(&statement)?;
    out.push(b'\n');
    Ok(out)
}
