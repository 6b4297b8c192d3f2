//! Reports: the one place findings become text, JSON, SARIF, JUnit, Markdown or GitHub
//! workflow commands. Every reporting command builds a [`Report`] and hands it to
//! [`render`]; each format lives in its own file and sees only the `Report`.

mod github;
pub mod image;
mod json;
mod junit;
mod markdown;
mod sarif;
mod text;

use std::io;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::RuleId;
use crate::model::finding::{Finding, Level};

/// The schema id of `--format json` reports.
pub const REPORT_SCHEMA: &str = "buildproof.report/v1";

/// An output format for reporting commands (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
    Github,
}

/// Counts by level, as in SPEC.md's report schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

/// Everything a format needs to print one command's verdict.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The command that produced it (`check`, `diff`, `image inspect`, …), for titles.
    pub command: String,
    /// What was examined: component names, or image references as given. JUnit
    /// makes one test suite per subject and Markdown one table row.
    pub subjects: Vec<String>,
    /// The rules that were evaluated; JUnit makes one test case per subject and rule.
    pub checks: Vec<RuleId>,
    /// The findings, in the order [`Report::new`] sorted them.
    pub findings: Vec<Finding>,
    /// Facts the command found besides findings (an image's digests and startup
    /// fields). JSON puts each key at the top level; text and Markdown print them
    /// before the findings, one `key: value` line each.
    pub facts: Map<String, Value>,
    /// The rules whose error-level findings fail the run; `None` means every rule.
    /// `snapshot` fails only on `startup-broken` (SPEC.md), and its verdict line must
    /// agree with its exit code.
    pub fails_on: Option<Vec<RuleId>>,
}

impl Summary {
    /// `1 error, 2 warnings, 0 notes`.
    #[must_use]
    pub fn counts(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{}, {}, {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.notes, "note")
        )
    }
}

impl Report {
    /// A report whose findings are sorted: errors first, then by component, rule
    /// and message, so output is deterministic.
    #[must_use]
    pub fn new(
        command: &str,
        subjects: Vec<String>,
        checks: Vec<RuleId>,
        mut findings: Vec<Finding>,
    ) -> Self {
        findings.sort_by(|a, b| {
            b.level
                .cmp(&a.level)
                .then_with(|| a.component.cmp(&b.component))
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.message.cmp(&b.message))
        });
        Self {
            command: command.to_owned(),
            subjects,
            checks,
            findings,
            facts: Map::new(),
            fails_on: None,
        }
    }

    #[must_use]
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.findings {
            match f.level {
                Level::Error => s.errors += 1,
                Level::Warning => s.warnings += 1,
                Level::Note => s.notes += 1,
            }
        }
        s
    }

    /// SPEC.md's exit code for a judged run: 1 with an error-level finding of a rule
    /// that fails this command, else 0.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        u8::from(self.findings.iter().any(|f| {
            f.level == Level::Error
                && self
                    .fails_on
                    .as_ref()
                    .is_none_or(|rules| rules.contains(&f.rule))
        }))
    }

    /// The findings about one subject.
    pub fn findings_for<'a>(&'a self, subject: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.component == subject)
    }
}

/// Renders `report` in `format`. `color` asks the text format for ANSI colour; the
/// caller decides it (a terminal, and `NO_COLOR` unset).
pub fn render(
    report: &Report,
    format: Format,
    color: bool,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, color, out),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Junit => junit::render(report, out),
        Format::Markdown => markdown::render(report, out),
        Format::Github => github::render(report, out),
    }
}

/// A location's file as CI systems want it (SARIF `artifactLocation.uri`, GitHub's
/// `file=`): relative to the repository root — the nearest ancestor of the current
/// directory holding `.git`, else the current directory — and `/`-separated. A file
/// outside that root is returned as it was recorded.
pub(crate) fn repo_relative(file: &str) -> String {
    let Ok(cwd) = std::env::current_dir() else {
        return file.to_owned();
    };
    let root = cwd
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(&cwd);
    let path = std::path::Path::new(file);
    // Lexically, without touching the file system: `a/../b` is `b`.
    let mut absolute = std::path::PathBuf::new();
    for part in cwd.join(path).components() {
        match part {
            std::path::Component::ParentDir => {
                absolute.pop();
            }
            std::path::Component::CurDir => {}
            other => absolute.push(other),
        }
    }
    match absolute.strip_prefix(root) {
        Ok(rel) => {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            parts.join("/")
        }
        Err(_) => file.to_owned(),
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn the_verdict_follows_the_rules_that_fail_the_command() {
        let finding = Finding::new(RuleId::StoreMismatch, "app", "altered".into(), &[]);
        let mut report = Report::new("snapshot", vec!["app".into()], Vec::new(), vec![finding]);
        assert_eq!(report.exit_code(), 1);
        report.fails_on = Some(vec![RuleId::StartupBroken]);
        assert_eq!(report.exit_code(), 0);
        let mut text = Vec::new();
        render(&report, Format::Text, false, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("buildproof snapshot: errors above do not fail `snapshot`"),
            "{text}"
        );
    }
}
