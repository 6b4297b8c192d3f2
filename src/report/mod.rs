//! Reports: the one place findings become text, JSON, SARIF, JUnit, Markdown, GitHub
//! workflow commands, GitLab Code Quality or HTML. Every reporting command builds a
//! [`Report`] and hands it to [`render`]; each format lives in its own file and sees
//! only the `Report` and the [`RenderOptions`] the caller decided.
//!
//! Every format renders in time linear in the report's size: per-subject counts and
//! findings come from one grouping pass ([`Report::by_subject`]), never from a search
//! of every finding per subject (100,000 subjects must not cost minutes).

mod github;
mod gitlab;
mod html;
pub mod image;
mod json;
mod junit;
mod markdown;
mod sarif;
mod text;

use std::collections::HashMap;
use std::io;

use serde::Serialize;
use serde_json::Value;

use crate::model::RuleId;
use crate::model::changes::ComponentChanges;
use crate::model::finding::{Finding, Level};
use crate::model::manifest::{GitRecord, Manifest};

/// The schema id of `--format json` reports.
pub const REPORT_SCHEMA: &str = "buildproof.report/v1";

/// An output format for reporting commands (`--format`; `cli.rs` maps the flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
    Github,
    Gitlab,
    Html,
}

impl Format {
    /// Every format, as `--format` lists them.
    pub const ALL: [Format; 8] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Markdown,
        Format::Github,
        Format::Gitlab,
        Format::Html,
    ];

    /// The name users type.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Github => "github",
            Format::Gitlab => "gitlab",
            Format::Html => "html",
        }
    }
}

/// `--fail-on`: the lowest level whose findings make the exit code 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailOn {
    /// Error-level findings fail the run (the default).
    #[default]
    Error,
    /// Warnings fail it too.
    Warning,
    /// Nothing fails it: exit 0 whenever the run could be judged.
    Never,
}

impl FailOn {
    /// The lowest failing level, or `None` for `never`.
    #[must_use]
    pub const fn level(self) -> Option<Level> {
        match self {
            FailOn::Error => Some(Level::Error),
            FailOn::Warning => Some(Level::Warning),
            FailOn::Never => None,
        }
    }
}

/// Counts by level, as in SPEC.md's report schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

/// Facts a command found besides findings, in the order the command gives them (an
/// image diff lists `old` before `new`). JSON puts each at the top level, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts(Vec<(String, Value)>);

impl Facts {
    /// Sets `key`, in place when it is already there, else at the end.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<(String, Value)> for Facts {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, Value)> for Facts {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut facts = Facts::default();
        facts.extend(iter);
        facts
    }
}

/// One release a report is about (a manifest's provenance), for the header:
/// `v2.3.1 (a1b2c3d) → v2.4.0 (e4f5a6b)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// `base`, `new`, `built` or `running`.
    #[serde(skip)]
    pub role: &'static str,
    /// The manifest as named on the command line, or `this build`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitRecord>,
    pub generator: String,
    pub created: String,
}

impl Release {
    /// The provenance `manifest` records, under `role`, named `name`.
    #[must_use]
    pub fn of(role: &'static str, name: &str, manifest: &Manifest) -> Self {
        Self {
            role,
            name: name.to_owned(),
            label: manifest.label.clone(),
            git: manifest.git.clone(),
            generator: manifest.generator.clone(),
            created: manifest.created.clone(),
        }
    }

    /// `v2.4.0 (e4f5a6b)`, `v2.4.0 (e4f5a6b, dirty)`, `release.json (e4f5a6b)`, or
    /// just the label or name when no commit was recorded.
    #[must_use]
    pub fn describe(&self) -> String {
        let name = self.label.as_deref().unwrap_or(&self.name);
        match &self.git {
            Some(git) if git.dirty => format!("{name} ({}, dirty)", git.short()),
            Some(git) => format!("{name} ({})", git.short()),
            None => name.to_owned(),
        }
    }
}

/// The header line of the releases a report compares: `A → B` for BASE and NEW,
/// else `built: A; running: B`.
#[must_use]
pub fn releases_line(releases: &[Release]) -> Option<String> {
    match releases {
        [] => None,
        [base, new] if base.role == "base" && new.role == "new" => {
            Some(format!("{} → {}", base.describe(), new.describe()))
        }
        many => Some(
            many.iter()
                .map(|r| format!("{}: {}", r.role, r.describe()))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
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
    pub facts: Facts,
    /// The same facts in full where `facts` summarises them for people (an image
    /// diff's every changed file): what JSON and HTML show. `None`: `facts` are full.
    pub facts_in_full: Option<Facts>,
    /// `--fail-on`: which levels make the exit code 1.
    pub fail_on: FailOn,
    /// The releases compared (BASE and NEW), or verified (BUILT, and RUNNING when it
    /// is a manifest): every format's header shows them.
    pub releases: Vec<Release>,
    /// `diff` and `check`: what changed in every component, whether or not a rule
    /// fired. `None` for the other commands (JSON then has no `changes` key).
    pub changes: Option<Vec<ComponentChanges>>,
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

/// The subjects of a report with the indices of their findings, in report order:
/// the listed subjects first, then any subject only a finding names.
pub(crate) struct BySubject<'a> {
    pub subjects: Vec<&'a str>,
    findings: HashMap<&'a str, Vec<usize>>,
}

impl<'a> BySubject<'a> {
    /// The findings about `subject`, in report order.
    pub fn findings(&self, subject: &str) -> &[usize] {
        self.findings.get(subject).map_or(&[], Vec::as_slice)
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
            ..Self::default()
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

    /// SPEC.md's exit code for a judged run: 1 with a finding at the `--fail-on`
    /// level or above, else 0.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        let Some(lowest) = self.fail_on.level() else {
            return 0;
        };
        u8::from(self.findings.iter().any(|f| f.level >= lowest))
    }

    /// `FAIL` or `ok`, as the exit code says.
    #[must_use]
    pub fn verdict_word(&self) -> &'static str {
        if self.exit_code() == 1 { "FAIL" } else { "ok" }
    }

    /// The one-line verdict every text-like format ends with, and what goes to stderr
    /// when the report goes to a file: `buildproof check: FAIL: 2 checked, 3 errors,
    /// 0 warnings, 0 notes`.
    #[must_use]
    pub fn verdict(&self) -> String {
        let mut line = format!(
            "buildproof {}: {}: {} checked, {}",
            self.command,
            self.verdict_word(),
            self.subjects.len(),
            self.summary().counts()
        );
        if let Some(note) = self.verdict_note() {
            line.push_str(" (");
            line.push_str(note);
            line.push(')');
        }
        line
    }

    /// Why an exit code of 0 stands beside findings that would fail by default.
    #[must_use]
    pub fn verdict_note(&self) -> Option<&'static str> {
        (self.exit_code() == 0 && self.summary().errors > 0).then_some("--fail-on never")
    }

    /// The findings about one subject.
    pub fn findings_for<'a>(&'a self, subject: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.component == subject)
    }

    /// Subjects and their findings in one pass (see [`BySubject`]).
    pub(crate) fn by_subject(&self) -> BySubject<'_> {
        let mut subjects: Vec<&str> = Vec::with_capacity(self.subjects.len());
        let mut findings: HashMap<&str, Vec<usize>> = HashMap::with_capacity(self.subjects.len());
        for s in &self.subjects {
            if !findings.contains_key(s.as_str()) {
                findings.insert(s, Vec::new());
                subjects.push(s);
            }
        }
        for (i, f) in self.findings.iter().enumerate() {
            let slot = findings.entry(f.component.as_str()).or_insert_with(|| {
                subjects.push(&f.component);
                Vec::new()
            });
            slot.push(i);
        }
        BySubject { subjects, findings }
    }
}

/// What rendering needs besides the report, decided by the caller: whether text may
/// use colour, and where locations are relative to.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// ANSI colour in the text format (`main.rs` decides: `--color`, `NO_COLOR`,
    /// `CLICOLOR_FORCE`, a terminal).
    pub color: bool,
    /// Where the user stands, and the repository root above it: locations are
    /// recorded relative to the former, CI systems want them relative to the latter.
    pub paths: Paths,
}

/// The current directory and the repository root (the nearest ancestor holding
/// `.git`, else the current directory itself). Empty paths leave locations as they
/// were recorded.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    pub cwd: std::path::PathBuf,
    pub repo_root: std::path::PathBuf,
}

impl Paths {
    /// Reads the current directory and finds the repository root above it.
    #[must_use]
    pub fn here() -> Self {
        let Ok(cwd) = std::env::current_dir() else {
            return Self::default();
        };
        let repo_root = cwd
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .unwrap_or(&cwd)
            .to_owned();
        Self { cwd, repo_root }
    }
}

/// Renders `report` in `format`.
pub fn render(
    report: &Report,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, options.color, out),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, &options.paths, out),
        Format::Junit => junit::render(report, &options.paths, out),
        Format::Markdown => markdown::render(report, &options.paths, out),
        Format::Github => github::render(report, &options.paths, out),
        Format::Gitlab => gitlab::render(report, &options.paths, out),
        Format::Html => html::render(report, &options.paths, out),
    }
}

/// An accept's details (`{"reason": …, "expires": null}`) as people read them:
/// `expires` only when the accept has one.
pub(crate) fn without_unset_expiry(value: Value) -> Value {
    match value {
        Value::Object(mut map)
            if map.contains_key("reason") && map.get("expires") == Some(&Value::Null) =>
        {
            map.remove("expires");
            Value::Object(map)
        }
        other => other,
    }
}

/// A location's file as CI systems want it (SARIF `artifactLocation.uri`, GitHub's
/// `file=`): relative to the repository root and `/`-separated. A file outside that
/// root, or any file when `paths` is empty, is returned as it was recorded.
pub(crate) fn repo_relative(file: &str, paths: &Paths) -> String {
    if paths.cwd.as_os_str().is_empty() {
        return file.to_owned();
    }
    let (cwd, root) = (&paths.cwd, &paths.repo_root);
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

/// Text with what the GitHub Actions runner obeys inside a log defused: a line whose
/// first non-blank characters are `::` (a workflow command: `::add-mask::`,
/// `::error …::`, `::stop-commands::`) gets a backslash before them, and `##[`
/// anywhere in a line (the runner's older command syntax, found anywhere) becomes
/// `##\[`. Everything else is left as it is, colour codes included.
#[must_use]
pub fn defuse(text: &str) -> std::borrow::Cow<'_, str> {
    let risky = text.contains("##[") || text.lines().any(|l| l.trim_start().starts_with("::"));
    if !risky {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let body = line.trim_start();
        out.push_str(&line[..line.len() - body.len()]);
        if body.starts_with("::") {
            out.push('\\');
        }
        out.push_str(&body.replace("##[", "##\\["));
    }
    std::borrow::Cow::Owned(out)
}

/// Text made safe for a CI log: [`defuse`]d, and control characters other than
/// newline and tab shown escaped (`\u{1b}`, `\r`), so nothing a file name holds can
/// move the cursor or recolour a terminal.
#[must_use]
pub fn log_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let defused = defuse(text);
    if !defused
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return defused;
    }
    let mut out = String::with_capacity(defused.len() + 16);
    for c in defused.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn the_verdict_follows_fail_on() {
        let warning = Finding::new(RuleId::UnmatchedPattern, "app", "no file".into(), &[]);
        let error = Finding::new(RuleId::StoreMismatch, "app", "altered".into(), &[]);
        let mut report = Report::new("snapshot", vec!["app".into()], Vec::new(), vec![warning]);
        assert_eq!(report.exit_code(), 0);
        report.fail_on = FailOn::Warning;
        assert_eq!(report.exit_code(), 1);
        report.findings.push(error);
        report.fail_on = FailOn::Never;
        assert_eq!(report.exit_code(), 0);
        assert_eq!(
            report.verdict(),
            "buildproof snapshot: ok: 1 checked, 1 error, 1 warning, 0 notes (--fail-on never)"
        );
        report.fail_on = FailOn::Error;
        assert_eq!(report.exit_code(), 1);
        let mut text = Vec::new();
        render(&report, Format::Text, &RenderOptions::default(), &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.ends_with("buildproof snapshot: FAIL: 1 checked, 1 error, 1 warning, 0 notes\n"),
            "{text}"
        );
    }

    #[test]
    fn releases_read_as_a_header() {
        let mut a = Manifest::new();
        a.label = Some("v2.3.1".into());
        a.git = Some(GitRecord {
            commit: "a1b2c3d4".repeat(5),
            dirty: false,
        });
        let mut b = Manifest::new();
        b.label = Some("v2.4.0".into());
        b.git = Some(GitRecord {
            commit: "e4f5a6b7".repeat(5),
            dirty: true,
        });
        let c = Manifest::new();
        let line = releases_line(&[
            Release::of("base", "a.json", &a),
            Release::of("new", "b.json", &b),
        ]);
        assert_eq!(
            line.as_deref(),
            Some("v2.3.1 (a1b2c3d) → v2.4.0 (e4f5a6b, dirty)")
        );
        let line = releases_line(&[Release::of("built", "c.json", &c)]);
        assert_eq!(line.as_deref(), Some("built: c.json"));
    }

    #[test]
    fn log_safe_defuses_workflow_commands_and_escapes_controls() {
        let cases = [
            ("plain text", "plain text"),
            ("a\n::error title=X::y", "a\n\\::error title=X::y"),
            ("  ::warning::x", "  \\::warning::x"),
            ("x ##[error]y", "x ##\\[error]y"),
            (
                "bell\u{7} esc\u{1b}[31m cr\r",
                "bell\\u{7} esc\\u{1b}[31m cr\\r",
            ),
            ("tab\tkept", "tab\tkept"),
        ];
        for (input, want) in cases {
            assert_eq!(log_safe(input), want, "{input:?}");
        }
    }
}
