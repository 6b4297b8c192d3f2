//! `--format sarif`: SARIF 2.1.0 (OASIS), the format GitHub code scanning and most
//! CI dashboards ingest.
//!
//! One run. `tool.driver.rules` lists every rule of [`RuleId::ALL`] in SPEC.md's order
//! (so a result's `ruleIndex` is stable across commands), each with its description
//! and default level. A result carries the rule, level, message, the location where a
//! person fixes it (repository-relative, see [`super::repo_relative`]; `buildproof.toml`
//! when the finding has none, since GitHub refuses results without one), the finding's
//! fingerprint as `partialFingerprints["buildproof/v1"]` (so dashboards track the same
//! change across runs) and the component and details as properties. An accepted
//! finding is a `note` with an external suppression carrying the accept's reason.
//! SARIF requires nothing else; a test validates the output against the official
//! schema in `testdata/schemas/`.
//!
//! For code scanning, a result is placed where the pull request touched the code:
//! a `stale-artifact` at the changed input files ([`Finding::related`]), with the
//! config entry as a related location. Each rule carries a `fullDescription` (what it
//! means), `help` (its section of `docs/rules.md`, as Markdown: meaning, a real
//! example, how to fix, how to accept) and a `helpUri` to that section; the page is
//! compiled in, so the help always matches the binary.

use std::io::{self, Write as _};

use serde::ser::{SerializeMap as _, SerializeSeq as _};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::{Paths, Report};
use crate::model::RuleId;
use crate::model::finding::Finding;

/// The schema URI SARIF 2.1.0 files name (the OASIS errata 01 location).
const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Where a finding without a location is anchored (see [`result`]).
const FALLBACK_URI: &str = "buildproof.toml";

/// Where people read about the tool (the predicate type's domain, see `manifest.rs`).
const INFORMATION_URI: &str = "https://buildproof.dev";

/// `docs/rules.md`, one `## \`rule-id\`` section per rule.
const RULES_DOC: &str = include_str!("../../docs/rules.md");

/// Where `docs/rules.md` is published; a rule's section is its id as the anchor.
const RULES_URI: &str = "https://buildproof.dev/docs/rules.md";

/// A rule's section of `docs/rules.md`, without its heading.
pub(crate) fn rule_help(rule: RuleId) -> Option<&'static str> {
    let heading = format!("## `{}`\n", rule.as_str());
    let start = RULES_DOC.find(&heading)? + heading.len();
    let rest = &RULES_DOC[start..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
    Some(rest[..end].trim())
}

/// What a rule means: the first paragraph of its section that is not the level line.
pub(crate) fn rule_meaning(rule: RuleId) -> Option<String> {
    rule_help(rule)?
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with("**Level"))
        .map(|p| {
            p.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace('`', "")
        })
}

pub(super) fn render(report: &Report, paths: &Paths, out: &mut dyn io::Write) -> io::Result<()> {
    let rules: Vec<Value> = RuleId::ALL
        .iter()
        .map(|rule| {
            let mut r = json!({
                "id": rule.as_str(),
                "name": rule_name(*rule),
                "shortDescription": {"text": rule.description()},
                "fullDescription": {"text": rule_meaning(*rule).unwrap_or_else(|| rule.description().to_owned())},
                "helpUri": format!("{RULES_URI}#{}", rule.as_str()),
                "defaultConfiguration": {"level": rule.level().as_str()},
            });
            if let Some(help) = rule_help(*rule) {
                r["help"] = json!({"text": help, "markdown": help});
            }
            r
        })
        .collect();
    let mut run = json!({
        "tool": {"driver": {
            "name": "buildproof",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "informationUri": INFORMATION_URI,
            "rules": rules,
        }},
        "automationDetails": {"id": format!("buildproof/{}/", report.command)},
        "columnKind": "unicodeCodePoints",
    });
    // The releases compared and, for `diff` and `check`, every component's changes
    // in full, as the run's properties (SARIF's place for what a tool adds); the
    // changes stream out like the results.
    let releases: Option<Value> = (!report.releases.is_empty()).then(|| {
        Value::Object(
            report
                .releases
                .iter()
                .map(|r| {
                    (
                        r.role.to_owned(),
                        serde_json::to_value(r).unwrap_or_default(),
                    )
                })
                .collect(),
        )
    });
    if releases.is_some() || report.changes.is_some() {
        run["properties"] = json!({});
    }
    let properties = Properties {
        releases,
        changes: report.changes.as_deref(),
    };
    let sarif = Sarif {
        run,
        properties,
        results: Results { report, paths },
    };
    let mut writer = io::BufWriter::new(&mut *out);
    serde_json::to_writer_pretty(&mut writer, &sarif)?;
    writer.write_all(b"\n")?;
    writer.flush()
}

/// The log, keys sorted as a `Value` would sort them, with the results written one
/// at a time: 100,000 findings are never one tree in memory.
struct Sarif<'a> {
    /// The run without its results (and with an empty `properties` when it has some).
    run: Value,
    properties: Properties<'a>,
    results: Results<'a>,
}

/// The run's `properties`: the releases, and the changes written one at a time.
struct Properties<'a> {
    releases: Option<Value>,
    changes: Option<&'a [crate::model::changes::ComponentChanges]>,
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(changes) = self.changes {
            map.serialize_entry("changes", &super::json::Sorted(changes))?;
        }
        if let Some(releases) = &self.releases {
            map.serialize_entry("releases", releases)?;
        }
        map.end()
    }
}

struct Results<'a> {
    report: &'a Report,
    paths: &'a Paths,
}

struct Run<'a> {
    run: &'a Value,
    properties: &'a Properties<'a>,
    results: &'a Results<'a>,
}

impl Serialize for Sarif<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("$schema", SARIF_SCHEMA)?;
        map.serialize_entry(
            "runs",
            &[Run {
                run: &self.run,
                properties: &self.properties,
                results: &self.results,
            }],
        )?;
        map.serialize_entry("version", "2.1.0")?;
        map.end()
    }
}

impl Serialize for Run<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.run.as_object().cloned().unwrap_or_default();
        // Keys in sorted order, as a `Value` would write them: `results` sorts
        // between `properties` and `tool`.
        let mut map = serializer.serialize_map(Some(fields.len() + 1))?;
        let mut written = false;
        for (key, value) in &fields {
            if !written && key.as_str() > "results" {
                map.serialize_entry("results", self.results)?;
                written = true;
            }
            if key == "properties" {
                map.serialize_entry(key, self.properties)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        if !written {
            map.serialize_entry("results", self.results)?;
        }
        map.end()
    }
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.report.findings.len()))?;
        for f in &self.report.findings {
            seq.serialize_element(&result(f, self.paths))?;
        }
        seq.end()
    }
}

fn result(f: &Finding, paths: &Paths) -> Value {
    let rule_index = RuleId::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
    let mut text = f.message.clone();
    if let Some(help) = f.help.as_deref() {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let mut properties = Map::new();
    properties.insert("component".into(), Value::from(f.component.clone()));
    let details: Map<String, Value> = f
        .flat_details()
        .into_iter()
        .filter(|(k, _)| k.as_str() != "location")
        .collect();
    if !details.is_empty() {
        properties.insert("details".into(), Value::Object(details));
    }
    let mut result = Map::new();
    result.insert("ruleId".into(), Value::from(f.rule.as_str()));
    result.insert("ruleIndex".into(), Value::from(rule_index));
    result.insert("level".into(), Value::from(f.level.as_str()));
    result.insert("message".into(), json!({"text": text}));
    let physical = |loc: &crate::model::finding::Location| {
        let mut physical = Map::new();
        physical.insert(
            "artifactLocation".into(),
            json!({"uri": uri(&super::repo_relative(&loc.file, paths))}),
        );
        if let Some(line) = loc.line.filter(|l| *l >= 1) {
            physical.insert("region".into(), json!({"startLine": line}));
        }
        json!({"physicalLocation": Value::Object(physical)})
    };
    if !f.related.is_empty() {
        // Where the pull request touched the code; the config entry (or Dockerfile
        // line) the finding is fixed or accepted at becomes a related location.
        let locations: Vec<Value> = f.related.iter().map(&physical).collect();
        result.insert("locations".into(), Value::Array(locations));
        if let Some(loc) = &f.location {
            let mut related = physical(loc);
            related["id"] = json!(0);
            related["message"] = json!({"text": "where to fix or accept it"});
            result.insert("relatedLocations".into(), json!([related]));
        }
    }
    let location = match f.location.clone() {
        Some(loc) => physical(&loc),
        // GitHub code scanning refuses the whole file when one result has no
        // location ("locationFromSarifResult: expected at least one location"), so a
        // finding without one (no config was found) is anchored at the config file a
        // person would edit to fix or accept it, and says so.
        None => json!({
            "physicalLocation": {"artifactLocation": {"uri": FALLBACK_URI}},
            "message": {"text": "no file location: reported for the whole project"},
        }),
    };
    if !result.contains_key("locations") {
        result.insert("locations".into(), json!([location]));
    }
    result.insert(
        "partialFingerprints".into(),
        json!({"buildproof/v1": f.fingerprint.to_string()}),
    );
    if let Some(reason) = f.accepted_reason() {
        result.insert(
            "suppressions".into(),
            json!([{"kind": "external", "justification": reason}]),
        );
    }
    result.insert("properties".into(), Value::Object(properties));
    Value::Object(result)
}

/// `stale-artifact` → `StaleArtifact`: SARIF's `name` is an identifier-like name.
fn rule_name(rule: RuleId) -> String {
    rule.as_str()
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

/// A path as a URI reference: relative paths stay relative (resolved by SARIF
/// consumers against the repository root), absolute ones become `file://` URIs;
/// characters a URI cannot hold are percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@' => out.push(char::from(byte)),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_or_file_and_encoded() {
        assert_eq!(uri("web/Dockerfile"), "web/Dockerfile");
        assert_eq!(uri("a b/c%d#e"), "a%20b/c%25d%23e");
        assert_eq!(uri("/abs/x.toml"), "file:///abs/x.toml");
        assert_eq!(uri("dir:x"), "dir%3Ax");
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(rule_name(RuleId::StaleArtifact), "StaleArtifact");
        assert_eq!(rule_name(RuleId::NotDeployed), "NotDeployed");
    }
}
