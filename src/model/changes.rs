//! What changed between two manifests, component by component, whether or not a rule
//! fired: the `changes` list of `diff` and `check` reports (SPEC.md, "Report"). It is
//! what a release manager reads: the files that changed among the inputs, each output
//! and the files inside it, the image (manifest, content identity, startup fields side
//! by side, labels, layers), the Dockerfile's final stage and the Nix derivation and
//! out paths. `rules/changes.rs` computes it from two manifests; `report/` renders it
//! (JSON and HTML in full, text and Markdown in brief).
//!
//! Every list is sorted (components and paths in byte order, startup fields in
//! [`StartupField::ALL`](super::image::StartupField::ALL) order, layers by position),
//! so a report is deterministic.

use serde::Serialize;
use serde_json::Value;

use super::manifest::FileKind;
use crate::digest::Digest;

/// How one component differs between BASE and NEW.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In NEW only.
    Added,
    /// In BASE only.
    Removed,
    /// Something recorded of it differs.
    Changed,
    /// Its records are the same on both sides.
    Unchanged,
}

impl Status {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
        }
    }
}

/// How one thing (a file, an output, an image, a field, a layer) differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Modified,
    Unchanged,
}

impl Change {
    /// `Added`, `Removed`, `Modified` or `Unchanged` from the two sides.
    #[must_use]
    pub fn of<T: PartialEq>(old: Option<&T>, new: Option<&T>) -> Self {
        match (old, new) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            (Some(a), Some(b)) if a != b => Change::Modified,
            _ => Change::Unchanged,
        }
    }

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Modified => "modified",
            Change::Unchanged => "unchanged",
        }
    }
}

/// One value on both sides; `None` where a side does not have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair<T> {
    pub old: Option<T>,
    pub new: Option<T>,
}

impl<T: PartialEq> Pair<T> {
    #[must_use]
    pub fn changed(&self) -> bool {
        self.old != self.new
    }
}

/// Everything that changed in one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentChanges {
    pub component: String,
    pub status: Status,
    /// The component's input files: both digests, counts and every changed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<InputChanges>,
    /// Every declared output on either side, changed or not, by path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageChanges>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<DockerfileChanges>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nix: Option<NixChanges>,
}

/// How many files were added, removed, modified, or stayed the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub unchanged: usize,
}

impl Counts {
    /// The files that differ.
    #[must_use]
    pub const fn changed(&self) -> usize {
        self.added + self.removed + self.modified
    }

    /// `1 modified, 2 added` (only the kinds that occur; `no change` for none).
    #[must_use]
    pub fn brief(&self) -> String {
        let parts: Vec<String> = [
            (self.modified, "modified"),
            (self.added, "added"),
            (self.removed, "removed"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            "no change".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// A component's inputs on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputChanges {
    /// The input digests (over every file record).
    pub digest: Pair<Digest>,
    pub counts: Counts,
    /// Every file that differs, by path.
    pub files: Vec<FileChange>,
}

/// One file's record on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSide {
    pub kind: FileKind,
    pub size: u64,
    pub digest: Digest,
}

/// One file that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    pub change: Change,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<FileSide>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<FileSide>,
}

/// One declared output on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputSide {
    pub kind: FileKind,
    /// Its identity: a file's SHA-256, a directory's or store path's NAR SHA-256.
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_path: Option<String>,
}

/// One declared output, changed or not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputChange {
    /// As declared in the config.
    pub path: String,
    /// By content: a new store path over identical bytes is `unchanged`.
    pub change: Change,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<OutputSide>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<OutputSide>,
    /// The files inside a directory or store path that differ (paths relative to it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileChange>,
    pub counts: Counts,
}

/// The component's image on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageChanges {
    /// By content identity (SPEC.md, "What counts as changed"): a new manifest over
    /// identical layers and config is `unchanged`.
    pub change: Change,
    pub manifest_digest: Pair<Digest>,
    pub identity: Pair<Digest>,
    pub config_digest: Pair<Digest>,
    /// Every startup field set on either side, in report order.
    pub startup: Vec<FieldChange>,
    /// Every label set on either side.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelChange>,
    /// The layers side by side, by position.
    pub layers: Vec<LayerChange>,
    /// How many startup problems static verification found on each side.
    pub problems: Pair<usize>,
}

/// One startup field on both sides; `None` = unset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// The image config key (`entrypoint`, `working_dir`, …) or, for a Dockerfile,
    /// the instruction (`ENTRYPOINT`, …).
    pub field: String,
    pub change: Change,
    pub old: Option<Value>,
    pub new: Option<Value>,
    /// The Dockerfile lines that set the values, for Dockerfile fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_line: Option<u32>,
}

/// One image label on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelChange {
    pub label: String,
    pub change: Change,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One layer position on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerChange {
    pub change: Change,
    pub old: Option<LayerSide>,
    pub new: Option<LayerSide>,
}

/// One layer: its uncompressed content's digest (what identifies it) and its blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerSide {
    pub diff_id: Digest,
    pub digest: Digest,
    pub size: u64,
}

/// The component's Dockerfile final stage on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DockerfileChanges {
    pub change: Change,
    pub path: Pair<String>,
    /// The final stage's `FROM`.
    pub base: Pair<String>,
    /// Every startup instruction (and `ENV` variable, as `ENV NAME`) set on either
    /// side, with its lines.
    pub startup: Vec<FieldChange>,
}

/// The component's Nix side on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NixChanges {
    pub change: Change,
    pub derivation: Pair<String>,
    /// Output name → out path, every output on either side.
    pub out_paths: Vec<OutPathChange>,
}

/// One Nix output's out path on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutPathChange {
    pub output: String,
    pub change: Change,
    pub old: Option<String>,
    pub new: Option<String>,
}
