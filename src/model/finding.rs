//! Findings: the values rules return. A finding is data (rule, level, component,
//! message, fingerprint, details); an error that stops the run is not a finding.
//!
//! The JSON shape is SPEC.md's report schema exactly: `rule`, `level`, `component`,
//! `message`, `fingerprint`, `details`. Where a person fixes the problem (a
//! Dockerfile line, the component's entry in `buildproof.toml`) travels in
//! `details.location` as `{"file": …, "line": …}`, and an accepted finding carries
//! `details.accepted` with the reason and expiry.

use std::fmt;

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

/// One finding. Build it with [`Finding::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    pub level: Level,
    pub component: String,
    pub message: String,
    pub fingerprint: Digest,
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
    pub fn with_location(self, location: Option<Location>) -> Self {
        match location {
            Some(loc) => self.with_detail("location", loc),
            None => self,
        }
    }

    /// The location recorded by [`Finding::with_location`], if any.
    #[must_use]
    pub fn location(&self) -> Option<Location> {
        self.details
            .get("location")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// What to do about it, when the rule said (`details.help`).
    #[must_use]
    pub fn help(&self) -> Option<&str> {
        self.details.get("help").and_then(Value::as_str)
    }
}
