//! What a manifest records of a Dockerfile: the final stage, its startup
//! instructions with their lines, and the declared inputs the build cannot see.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::image::StartupField;

/// The longest value shown and recorded as it is, in bytes.
pub const MAX_SHOWN: usize = 1024;

/// How many characters of a longer value are kept.
const SHOWN_PREFIX: usize = 200;

/// A value as records and findings show it: itself up to [`MAX_SHOWN`] bytes, else its
/// first 200 characters, its length and its digest
/// (`aaaa… (524288 bytes, sha256:…)`). Two values show the same exactly when they
/// are equal (up to a SHA-256 collision), so comparing shown values compares the full
/// ones. A shown value is itself short, so showing it again changes nothing.
#[must_use]
pub fn shortened(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_SHOWN {
        return Cow::Borrowed(value);
    }
    let end = value
        .char_indices()
        .nth(SHOWN_PREFIX)
        .map_or(value.len(), |(i, _)| i);
    Cow::Owned(format!(
        "{}\u{2026} ({} bytes, {})",
        &value[..end],
        value.len(),
        crate::digest::Digest::of(value.as_bytes())
    ))
}

/// What a manifest records of a component's Dockerfile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerfileRecord {
    /// The Dockerfile, relative to the config directory (or as given on the command line).
    pub path: String,
    /// The final stage.
    pub stage: StageRecord,
    /// The final stage's startup configuration.
    pub startup: Startup,
    /// Declared inputs that cannot reach the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<ExcludedInput>,
}

/// The final stage: its name, what it is `FROM`, and the external image its chain of
/// stages starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `FROM` argument after substitution: an image or an earlier stage's name.
    pub base: String,
    /// The line of its `FROM`.
    pub line: u32,
    /// The external image the stage inherits its configuration from (`None` when the
    /// chain starts from `scratch`). A startup field the Dockerfile does not set is
    /// then the base image's, which the Dockerfile does not show: unknown here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_image: Option<String>,
}

/// One value and the Dockerfile line that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub value: String,
    pub line: u32,
}

/// The startup configuration of a stage. `ENTRYPOINT`/`CMD`/`SHELL` values are JSON
/// arrays as Docker stores them; an absent field was not set by the Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Startup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopsignal: Option<Field>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Field>,
}

impl Startup {
    /// The fields `startup-changed` compares ([`StartupField::STARTUP`]), with their
    /// instruction names.
    #[must_use]
    pub fn compared(&self) -> [(&'static str, Option<&Field>); 7] {
        StartupField::STARTUP.map(|f| (f.instruction(), self.field(f)))
    }

    /// The instruction that set one startup field, when the Dockerfile set it.
    #[must_use]
    pub fn field(&self, field: StartupField) -> Option<&Field> {
        match field {
            StartupField::Entrypoint => self.entrypoint.as_ref(),
            StartupField::Cmd => self.cmd.as_ref(),
            StartupField::User => self.user.as_ref(),
            StartupField::WorkingDir => self.workdir.as_ref(),
            StartupField::Shell => self.shell.as_ref(),
            StartupField::Healthcheck => self.healthcheck.as_ref(),
            StartupField::StopSignal => self.stopsignal.as_ref(),
            // Recorded per variable, port and volume, each with its own line.
            StartupField::Env | StartupField::ExposedPorts | StartupField::Volumes => None,
        }
    }
}

/// A declared input the build cannot see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludedInput {
    /// The input, relative to the config directory.
    pub path: String,
    pub reason: ExcludeReason,
    /// The `.dockerignore` pattern that excluded it, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The ignore file (relative to the config directory) and the pattern's line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// Why an input cannot reach the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExcludeReason {
    /// A `.dockerignore` pattern excludes it.
    Dockerignore,
    /// It lies outside the build context (the Dockerfile's directory).
    OutsideContext,
}
