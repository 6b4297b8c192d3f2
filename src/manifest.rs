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
        let bytes = crate::tree::read_file(path).map_err(|source| ManifestError::Read {
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
        let value = unwrap_statement(value).map_err(malformed)?;
        match value.get("schema").and_then(serde_json::Value::as_str) {
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
        let manifest: Self = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
        // Names reach reports and CI logs: hold them to the config's rule.
        if let Some(bad) = manifest
            .components
            .keys()
            .find(|n| !crate::config::valid_name(n))
        {
            return Err(malformed(format!(
                "component name {bad:?} is invalid (names match [a-z0-9][a-z0-9._-]*)"
            )));
        }
        Ok(manifest)
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

/// The in-toto Statement type this version writes and reads.
pub const IN_TOTO_STATEMENT: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a statement whose predicate is a buildproof manifest.
pub const PREDICATE_TYPE: &str = "https://buildproof.dev/manifest/v1";
/// DSSE's payload type for in-toto statements.
const DSSE_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The manifest inside an attestation, or `value` itself when it is not one. Accepts
/// an in-toto Statement (v1, or the v0.1 that older tooling writes) whose predicate
/// type is [`PREDICATE_TYPE`]; a DSSE envelope carrying one (`cosign attest`,
/// `in-toto-run` and most signers write these); and a Sigstore bundle's
/// `dsseEnvelope` (GitHub's `actions/attest`). Signatures are not checked here:
/// verify them with the signer's tooling (`cosign verify-attestation`, `gh
/// attestation verify`) before trusting the content.
fn unwrap_statement(value: serde_json::Value) -> Result<serde_json::Value, String> {
    use base64::Engine as _;
    use serde_json::Value;

    let value = match value.get("dsseEnvelope") {
        Some(envelope) => envelope.clone(),
        None => value,
    };
    if let Some(payload_type) = value.get("payloadType") {
        if payload_type.as_str() != Some(DSSE_PAYLOAD_TYPE) {
            return Err(format!(
                "a DSSE envelope of payload type {payload_type}, not `{DSSE_PAYLOAD_TYPE}`"
            ));
        }
        let payload = value
            .get("payload")
            .and_then(Value::as_str)
            .ok_or("a DSSE envelope without a `payload`")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|e| format!("a DSSE envelope whose payload is not base64: {e}"))?;
        let inner: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("a DSSE envelope whose payload is not JSON: {e}"))?;
        if inner.get("payloadType").is_some() || inner.get("dsseEnvelope").is_some() {
            return Err("a DSSE envelope nested in another".to_owned());
        }
        return unwrap_statement(inner);
    }
    let Some(statement_type) = value.get("_type") else {
        return Ok(value);
    };
    let statement_type = statement_type.as_str().unwrap_or_default();
    if !statement_type.starts_with("https://in-toto.io/Statement/") {
        return Err(format!(
            "`_type` is `{statement_type}`, not an in-toto statement (`{IN_TOTO_STATEMENT}`)"
        ));
    }
    let predicate_type = value
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if predicate_type != PREDICATE_TYPE {
        return Err(format!(
            "an in-toto statement of predicate type `{predicate_type}`; buildproof reads `{PREDICATE_TYPE}` (a statement written by `buildproof snapshot --format in-toto`)"
        ));
    }
    value
        .get("predicate")
        .cloned()
        .ok_or_else(|| "an in-toto statement without a `predicate`".to_owned())
}

/// An in-toto Statement v1 (<https://in-toto.io/Statement/v1>, the attestation
/// framework's `spec/v1/statement.md`) whose predicate is the manifest, so existing
/// tooling can sign (`cosign attest-blob --type …`, DSSE) and store it.
///
/// Subjects are the artifacts, each with a name unique in the statement and a
/// `sha256` digest:
/// - an output: `<component>/<path>`, the SHA-256 of the file; for a directory or
///   store path, of its NAR serialisation (`nix hash path --base16`, or
///   `nix-store --dump PATH | sha256sum`), the only well-known serialisation of a tree;
/// - an image: its repository (`registry.example.com/web`, what attestation
///   tooling keys images by) or `<component>/image` when the image records no name,
///   with the manifest digest (what registries and `cosign` address it by).
pub fn in_toto(manifest: &Manifest) -> serde_json::Result<Vec<u8>> {
    let mut subjects = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut push = |name: String, digest: &Digest| {
        // `name` SHOULD be unique within `subject`; a repeat gets a numbered suffix.
        let mut unique = name.clone();
        let mut n = 1;
        while !names.insert(unique.clone()) {
            n += 1;
            unique = format!("{name}#{n}");
        }
        subjects.push(serde_json::json!({"name": unique, "digest": {"sha256": digest.hex()}}));
    };
    for (name, c) in &manifest.components {
        for o in &c.outputs {
            push(format!("{name}/{}", o.path), &o.digest);
        }
        if let Some(image) = &c.image {
            // A recorded name may be a bare tag (`latest`): that names no repository.
            let repository = image
                .names
                .iter()
                .find_map(|n| crate::deploy::recorded_repository(n));
            push(
                repository.unwrap_or_else(|| format!("{name}/image")),
                &image.manifest_digest,
            );
        }
    }
    let statement = serde_json::json!({
        "_type": IN_TOTO_STATEMENT,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": manifest,
    });
    let mut out = serde_json::to_vec_pretty(&statement)?;
    out.push(b'\n');
    Ok(out)
}
