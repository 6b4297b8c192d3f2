//! The versioned manifest schema, `buildproof.manifest/v1`: what a snapshot recorded
//! of every component. [`Manifest::from_slice`] checks the schema id first, so a
//! manifest of another version is refused with a message rather than misread (reading
//! the file, and unwrapping an in-toto statement, is `load.rs`'s). Writing is
//! deterministic: components and files are sorted and the only timestamp is the
//! top-level `created`.
//!
//! ```json
//! {
//!   "schema": "buildproof.manifest/v1",
//!   "created": "2026-11-22T01:00:00Z",
//!   "generator": "buildproof 0.1.0",
//!   "label": "v2.4.0",
//!   "git": { "commit": "e4f5a6b…", "dirty": false },
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
//! declares them; `label` (from `--label`) and `git` (the commit of the config's work
//! tree, `git.rs`) when there is one. Both are optional, so manifests written before
//! them still read. `schemas/manifest.schema.json` publishes the layout.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::dockerfile::DockerfileRecord;
use super::image::ImageRecord;
use super::nix::NixRecord;
use crate::digest::Digest;

/// The schema id this version of buildproof reads and writes.
pub const SCHEMA: &str = "buildproof.manifest/v1";

/// A manifest: every component of one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: String,
    /// When the snapshot was taken (RFC 3339, UTC). The only timestamp in a manifest.
    pub created: String,
    /// The tool and version that wrote it (`buildproof 0.1.0`).
    pub generator: String,
    /// The release name given with `--label` (e.g. `v2.4.0`). Optional: manifests
    /// written before provenance was recorded have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The git commit of the config's work tree, when the config lies in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitRecord>,
    pub components: BTreeMap<String, ComponentRecord>,
}

/// Where a snapshot's sources came from: the work tree's `HEAD` and whether the tree
/// differed from it (tracked files modified, or untracked files that are not ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitRecord {
    /// The full commit id (40 hex digits; 64 in a SHA-256 repository).
    pub commit: String,
    pub dirty: bool,
}

impl GitRecord {
    /// The commit as people abbreviate it: its first seven digits.
    #[must_use]
    pub fn short(&self) -> &str {
        &self.commit[..self.commit.len().min(7)]
    }
}

/// Whether `label` may name a release: 1 to 128 characters, none of them a control
/// character. Labels reach report headers and CI logs.
#[must_use]
pub fn valid_label(label: &str) -> bool {
    (1..=128).contains(&label.chars().count())
        && !label.chars().any(char::is_control)
        && !label.trim().is_empty()
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
    #[error("cannot read manifest `{}`", .path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not a buildproof manifest: {reason}", .path.display())]
    Malformed {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error(
        "`{}` is {size} bytes, more than the {limit} bytes a manifest may have; raise the limit with `BUILDPROOF_MAX_MANIFEST_BYTES` if it is genuine",
        .path.display()
    )]
    TooLarge {
        path: std::path::PathBuf,
        size: u64,
        limit: u64,
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
            label: None,
            git: None,
            components: BTreeMap::new(),
        }
    }

    /// A manifest from its JSON text (in-toto envelopes already unwrapped); `path`
    /// names it in errors. The schema id is checked before anything else is read,
    /// then the text is parsed straight into these types (no generic JSON tree, so a
    /// large manifest costs little more memory than its records).
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(default)]
            schema: Option<serde_json::Value>,
        }
        let malformed = |reason: String| ManifestError::Malformed {
            path: path.to_owned(),
            reason,
        };
        let probe: Probe = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        match probe.schema.as_ref().and_then(serde_json::Value::as_str) {
            None => return Err(malformed("no `schema` field".to_owned())),
            Some(SCHEMA) => {}
            Some(report) if report.starts_with("buildproof.report/") => {
                return Err(malformed(
                    "it is a buildproof report (`--format json`), not a manifest; pass the file `snapshot -o` or `check --write-manifest` wrote".to_owned(),
                ));
            }
            Some(other) => {
                return Err(ManifestError::Version {
                    path: path.to_owned(),
                    found: other.to_owned(),
                });
            }
        }
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        manifest.validate(path)?;
        Ok(manifest)
    }

    /// What the types alone do not hold a manifest to: component names, the label and
    /// the git commit id. `path` names the file in the error.
    pub fn validate(&self, path: &Path) -> Result<(), ManifestError> {
        let malformed = |reason: String| ManifestError::Malformed {
            path: path.to_owned(),
            reason,
        };
        let manifest = self;
        // Names reach reports and CI logs: hold them to the config's rule.
        if let Some(bad) = manifest.components.keys().find(|n| !valid_name(n)) {
            return Err(malformed(format!(
                "component name {bad:?} is invalid (names match [a-z0-9][a-z0-9._-]*)"
            )));
        }
        if let Some(label) = manifest.label.as_deref().filter(|l| !valid_label(l)) {
            return Err(malformed(format!(
                "label {label:?} is invalid (1 to 128 characters, no control characters)"
            )));
        }
        if let Some(git) = &manifest.git {
            let hex = git
                .commit
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
            if !(hex && matches!(git.commit.len(), 40 | 64)) {
                return Err(malformed(format!(
                    "git commit {:?} is not a commit id (40 or 64 lower-case hex digits)",
                    git.commit
                )));
            }
        }
        Ok(())
    }

    /// Pretty JSON with sorted keys and a trailing newline, in memory; large
    /// manifests are better streamed with [`Manifest::write_json`].
    pub fn to_json(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_json(&mut out)?;
        Ok(out)
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `name` is a valid component name: `[a-z0-9][a-z0-9._-]*`. Names reach
/// reports, file names and CI logs, so the config and every manifest read hold them
/// to this.
#[must_use]
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}
