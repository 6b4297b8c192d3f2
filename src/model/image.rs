//! What a manifest records of an image: digests, layers, the startup fields of its
//! config, and the problems static startup verification found.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::finding::Level;
use crate::digest::Digest;

/// Docker's default PATH when the config sets none (what `docker run` and runc use).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a manifest records of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRecord {
    pub manifest_digest: Digest,
    /// References the image itself records (docker-archive `RepoTags`, the OCI
    /// `org.opencontainers.image.ref.name` / `io.containerd.image.name` annotations),
    /// used by `verify` to match running containers by repository name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The image indexes (multi-platform lists) the manifest was reached through.
    /// A registry serves such an index for the tag, and Kubernetes then reports its
    /// digest as the `imageID`, so `verify` accepts these as the built image too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub index_digests: Vec<Digest>,
    /// The config blob's digest (the "image ID").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<Digest>,
    /// SHA-256 of the config without `created` and `history` (canonical JSON);
    /// the config lists the diff_ids, so this covers the layers' content too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_digest: Option<Digest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerRecord>,
    #[serde(default)]
    pub startup: Startup,
    /// Static startup verification: empty when the container would start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// Layer entries that were not applied (escaping names, dangling hardlinks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_entries: Vec<String>,
}

/// One layer: blob digest, uncompressed digest, blob size and media type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerRecord {
    pub digest: Digest,
    pub diff_id: Digest,
    pub size: u64,
    pub media_type: String,
}

/// How the container starts: the image config's startup fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Startup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
}

impl Startup {
    /// The fields `startup-changed` compares, as (name, value) pairs; `None` = unset.
    #[must_use]
    pub fn startup_fields(&self) -> Vec<(&'static str, Option<Value>)> {
        let v = |x: Option<Value>| x.filter(|v| !v.is_null());
        vec![
            (
                "entrypoint",
                v(self.entrypoint.as_ref().map(|x| Value::from(x.clone()))),
            ),
            ("cmd", v(self.cmd.as_ref().map(|x| Value::from(x.clone())))),
            (
                "user",
                v(self.user.clone().filter(|u| !u.is_empty()).map(Value::from)),
            ),
            (
                "working_dir",
                v(self
                    .working_dir
                    .clone()
                    .filter(|u| !u.is_empty())
                    .map(Value::from)),
            ),
            (
                "shell",
                v(self.shell.as_ref().map(|x| Value::from(x.clone()))),
            ),
            ("healthcheck", v(self.healthcheck.clone())),
            ("stop_signal", v(self.stop_signal.clone().map(Value::from))),
        ]
    }
}

impl ImageRecord {
    /// Whether a running image digest is this image: its manifest, or an index that
    /// leads to it.
    #[must_use]
    pub fn is_digest(&self, digest: &Digest) -> bool {
        self.manifest_digest == *digest || self.index_digests.contains(digest)
    }

    /// The image's identity for "did the artifact change": its layers' diff_ids and
    /// its config without creation times and history (SPEC.md, "What counts as changed").
    #[must_use]
    pub fn identity(&self) -> Digest {
        self.content_digest.unwrap_or(self.manifest_digest)
    }
}

/// One thing that would stop (error) or may stop (warning) the container starting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub level: Level,
    /// The path (or user) that failed.
    pub path: String,
    pub message: String,
    /// What to change so it starts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fix: String,
}
