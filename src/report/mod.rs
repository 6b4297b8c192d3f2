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

/// An output format for reporting commands (`--format`; `cli.rs` maps the flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
    Github,
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
    fn the_verdict_follows_the_rules_that_fail_the_command() {
        let finding = Finding::new(RuleId::StoreMismatch, "app", "altered".into(), &[]);
        let mut report = Report::new("snapshot", vec!["app".into()], Vec::new(), vec![finding]);
        assert_eq!(report.exit_code(), 1);
        report.fails_on = Some(vec![RuleId::StartupBroken]);
        assert_eq!(report.exit_code(), 0);
        let mut text = Vec::new();
        render(&report, Format::Text, &RenderOptions::default(), &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("buildproof snapshot: errors above do not fail `snapshot`"),
            "{text}"
        );
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
