//! Findings: the values rules return. A finding is data (rule, level, component,
//! message, fingerprint, where to fix it, what to do, whether it was accepted, and
//! the details of what changed); an error that stops the run is not a finding.
//!
//! Location, help and acceptance are typed fields. They join `details` only when a
//! report is written ([`Finding::flat_details`]), because SPEC.md's report schema has
//! one `details` object: `details.location` as `{"file": …, "line": …}`,
//! `details.help`, and `details.accepted` / `details.accept_expired` with the reason
//! and expiry.

use std::fmt;

use serde::ser::SerializeStruct as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::Digest;
use crate::model::RuleId;

/// How serious a finding is. Ordered so that `Error` is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a person fixes a finding: a file relative to the config directory (or as
/// given on the command line) and a 1-based line when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
}

/// What an `[[accept]]` entry did to a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    /// Accepted: the finding is reported at level `note` with the reason.
    Accepted {
        reason: String,
        expires: Option<String>,
    },
    /// The accept's `expires` date has passed: the finding keeps its level.
    Expired { reason: String, expires: String },
}

/// One finding. Build it with [`Finding::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: RuleId,
    pub level: Level,
    pub component: String,
    pub message: String,
    pub fingerprint: Digest,
    /// Where a person fixes it.
    pub location: Option<Location>,
    /// The files the finding is about, where a pull request touched them: for
    /// `stale-artifact` the changed input files, for a script with CRLF line endings
    /// the script among the inputs. Relative like `location`. SARIF and GitLab put the
    /// finding there (code scanning shows it on the changed line); JSON leaves them
    /// out, since `details` already names the files.
    pub related: Vec<Location>,
    /// What to do about it, when the rule has more to say than the message.
    pub help: Option<String>,
    /// Set when an `[[accept]]` entry matched the fingerprint.
    pub acceptance: Option<Acceptance>,
    /// What changed: files, fields, digests. Keys are sorted when written.
    pub details: Map<String, Value>,
}

impl Finding {
    /// A finding at the rule's default level. `identity` is every value that makes
    /// this change *this* change (old and new digests, the changed field's values):
    /// the fingerprint is SHA-256 over rule, component and identity, so an
    /// `[[accept]]` pins exactly this change and stops applying when it differs.
    #[must_use]
    pub fn new(rule: RuleId, component: &str, message: String, identity: &[&str]) -> Self {
        let mut text = format!("{}\0{}", rule.as_str(), component);
        for part in identity {
            text.push('\0');
            text.push_str(part);
        }
        Self {
            rule,
            level: rule.level(),
            component: component.to_owned(),
            message,
            fingerprint: Digest::of(text.as_bytes()),
            location: None,
            related: Vec::new(),
            help: None,
            acceptance: None,
            details: Map::new(),
        }
    }

    /// Adds one detail (a serialisable value) under `key`.
    #[must_use]
    pub fn with_detail(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.details.insert(key.to_owned(), value);
        self
    }

    /// Records where a person fixes this finding.
    #[must_use]
    pub fn with_location(mut self, location: Option<Location>) -> Self {
        if location.is_some() {
            self.location = location;
        }
        self
    }

    /// Records the files the finding is about (see [`Finding::related`]).
    #[must_use]
    pub fn with_related(mut self, related: Vec<Location>) -> Self {
        self.related = related;
        self
    }

    /// Records what to do about it.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The details as the report schema has them: what changed, plus `location`,
    /// `help` and `accepted`/`accept_expired` from the typed fields.
    #[must_use]
    pub fn flat_details(&self) -> Map<String, Value> {
        let mut details = self.details.clone();
        if let Some(location) = &self.location {
            details.insert(
                "location".into(),
                serde_json::to_value(location).unwrap_or(Value::Null),
            );
        }
        if let Some(help) = &self.help {
            details.insert("help".into(), Value::from(help.clone()));
        }
        match &self.acceptance {
            Some(Acceptance::Accepted { reason, expires }) => {
                details.insert(
                    "accepted".into(),
                    serde_json::json!({"reason": reason, "expires": expires}),
                );
            }
            Some(Acceptance::Expired { reason, expires }) => {
                details.insert(
                    "accept_expired".into(),
                    serde_json::json!({"reason": reason, "expires": expires}),
                );
            }
            None => {}
        }
        details
    }

    /// The reason of the `[[accept]]` that applies, if one does.
    #[must_use]
    pub fn accepted_reason(&self) -> Option<&str> {
        match &self.acceptance {
            Some(Acceptance::Accepted { reason, .. }) => Some(reason),
            _ => None,
        }
    }
}

/// SPEC.md's report shape: `rule`, `level`, `component`, `message`, `fingerprint`,
/// `details` (with the typed fields flattened in).
impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Finding", 6)?;
        s.serialize_field("rule", &self.rule)?;
        s.serialize_field("level", &self.level)?;
        s.serialize_field("component", &self.component)?;
        s.serialize_field("message", &self.message)?;
        s.serialize_field("fingerprint", &self.fingerprint)?;
        s.serialize_field("details", &self.flat_details())?;
        s.end()
    }
}
