//! `--format html`: one self-contained page a release manager opens in a browser. A
//! header with the releases compared, a summary with counts by level and a row per
//! component, the findings with where to fix them (Dockerfile or config line), the
//! command's facts (an image diff's startup fields side by side and its file list),
//! and, for `diff` and `check`, the changes of every component: inputs, outputs and
//! their files, the image (digests, startup fields side by side, labels, layers), the
//! Dockerfile's final stage and Nix, long lists folded in `<details>`.
//!
//! Self-contained by construction: inline CSS, no script, no font, image or link to
//! fetch, and a Content-Security-Policy (`default-src 'none'`) that forbids the
//! browser to load anything even if some text slipped through. Escaped by
//! construction: markup is written only from `&'static str` ([`Page::tag`]); every
//! value from a manifest, an image or the command line goes through [`Page::text`]
//! or [`Page::attr`], which escape `&`, `<`, `>`, `"` and `'`.
//!
//! The layout is one column up to 72rem wide: readable at 1280 px, and at a phone's
//! 390 px, where wide tables scroll inside their own box instead of widening the
//! page. Printing opens every `<details>` and keeps a finding on one page.
//! Linear in the size of the report.

use std::fmt::Write as _;
use std::io;

use serde_json::Value;

use super::{Paths, Report};
use crate::model::changes::{
    Change, ComponentChanges, Counts, DockerfileChanges, FieldChange, FileChange, ImageChanges,
    NixChanges, OutputChange, Pair, Status,
};
use crate::model::finding::{Finding, Level};

/// Lists at most this long are shown open; longer ones start folded.
const OPEN_LIST: usize = 12;

const STYLE: &str = r#"
:root { --fg: #1d2329; --muted: #5b6570; --line: #d8dde3; --bg: #ffffff; --panel: #f5f7f9;
  --error: #b42318; --error-bg: #fdecea; --warning: #8a5a00; --warning-bg: #fff4d6;
  --note: #1d5fa8; --note-bg: #e8f1fb; --ok: #1f7a3a; --ok-bg: #e6f4ea; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1.25rem; }
header { padding-top: 1.5rem; padding-bottom: .5rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
h2 { font-size: 1.2rem; margin: 2rem 0 .75rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 0 0 .4rem; }
h4 { font-size: .95rem; margin: 1rem 0 .4rem; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
p { margin: .3rem 0; }
code, pre, .digest { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
code { overflow-wrap: anywhere; word-break: break-word; }
pre { margin: .4rem 0; padding: .6rem .75rem; background: var(--panel); border: 1px solid var(--line);
  border-radius: 6px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.releases { font-size: 1.1rem; margin: .25rem 0 .5rem; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: .05rem .55rem; border-radius: 999px; font-size: .8rem;
  font-weight: 600; border: 1px solid transparent; white-space: nowrap; }
.badge.fail, .badge.error, .badge.removed { color: var(--error); background: var(--error-bg); border-color: #f5c2bd; }
.badge.warning, .badge.modified, .badge.changed { color: var(--warning); background: var(--warning-bg); border-color: #f0d795; }
.badge.note, .badge.added { color: var(--note); background: var(--note-bg); border-color: #b9d3f0; }
.badge.ok, .badge.unchanged { color: var(--ok); background: var(--ok-bg); border-color: #b7dfc2; }
ul.counts { list-style: none; padding: 0; margin: .5rem 0 1rem; display: flex; flex-wrap: wrap; gap: .5rem; }
ul.counts li { padding: .4rem .8rem; border-radius: 8px; background: var(--panel); border: 1px solid var(--line); }
ul.counts li strong { font-size: 1.25rem; margin-right: .3rem; }
ul.counts li.error strong { color: var(--error); }
ul.counts li.warning strong { color: var(--warning); }
ul.counts li.note strong { color: var(--note); }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); font-size: .85rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.side td { width: 42%; }
table.side td.field { width: 16%; }
table.files td:first-child { width: 7rem; }
table.files td:nth-child(2) { width: 28%; }
tr.differs td { background: var(--warning-bg); }
article.finding { border: 1px solid var(--line); border-left: 4px solid var(--note); border-radius: 6px;
  padding: .75rem 1rem; margin: .75rem 0; background: var(--bg); break-inside: avoid; }
article.finding.error { border-left-color: var(--error); }
article.finding.warning { border-left-color: var(--warning); }
article.finding .where, article.finding .help, article.finding .fingerprint { color: var(--muted); }
article.finding .message { overflow-wrap: anywhere; }
section.component { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: .75rem 0; }
details { margin: .3rem 0; }
summary { cursor: pointer; color: var(--note); }
footer { color: var(--muted); font-size: .85rem; padding-top: 2rem; padding-bottom: 2rem; }
@media (max-width: 640px) {
  body { font-size: 14px; }
  header, main, footer { padding-left: .75rem; padding-right: .75rem; }
  th, td { padding: .25rem .3rem; }
  article.finding, section.component { padding: .6rem .7rem; }
  .releases-table th:nth-child(n+4), .releases-table td:nth-child(n+4) { display: none; }
}
@media print {
  body { font-size: 11pt; }
  header, main, footer { max-width: none; }
  details::details-content { content-visibility: visible; display: block; height: auto; }
  summary { list-style: none; color: var(--fg); }
  .scroll { overflow: visible; }
  section.component, article.finding { break-inside: avoid; }
}
"#;

/// An HTML page being written: markup only from `&'static str`, values only escaped.
struct Page {
    out: String,
}

impl Page {
    /// Markup: a tag, or any literal the page is built from. Never a value.
    fn tag(&mut self, markup: &'static str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// A value as text content.
    fn text(&mut self, value: &str) -> &mut Self {
        escape_into(value, &mut self.out);
        self
    }

    /// A number as text content.
    fn num(&mut self, n: usize) -> &mut Self {
        let _ = write!(self.out, "{n}");
        self
    }

    /// ` name="value"` inside a start tag, the value escaped.
    fn attr(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_into(value, &mut self.out);
        self.out.push('"');
        self
    }

    /// A message: text, with its `code spans` (backtick runs paired by length, as
    /// CommonMark pairs them) as `<code>`; an unpaired run stays literal text.
    fn rich(&mut self, value: &str) -> &mut Self {
        let mut rest = value;
        while let Some(start) = rest.find('`') {
            let run = rest[start..].bytes().take_while(|b| *b == b'`').count();
            let fence = &rest[start..start + run];
            let after = &rest[start + run..];
            // The next run of exactly `run` backticks closes the span.
            let mut close = None;
            let mut from = 0;
            while let Some(i) = after[from..].find(fence) {
                let at = from + i;
                let len = after[at..].bytes().take_while(|b| *b == b'`').count();
                if len == run {
                    close = Some(at);
                    break;
                }
                from = at + len;
            }
            match close {
                Some(end) => {
                    self.text(&rest[..start]).code(&after[..end]);
                    rest = &after[end + run..];
                }
                None => {
                    self.text(&rest[..start + run]);
                    rest = after;
                }
            }
        }
        self.text(rest)
    }

    /// `<code>value</code>`.
    fn code(&mut self, value: &str) -> &mut Self {
        self.tag("<code>").text(value).tag("</code>")
    }

    /// A badge naming a state (`error`, `changed`, …); `class` is one of ours.
    fn badge(&mut self, class: &'static str, text: &str) -> &mut Self {
        self.tag("<span class=\"badge ")
            .tag(class)
            .tag("\">")
            .text(text)
            .tag("</span>")
    }
}

fn escape_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Shown, never obeyed: a control character in a file name is data.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

const fn level_class(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "note",
    }
}

const fn change_class(change: Change) -> &'static str {
    match change {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Modified => "modified",
        Change::Unchanged => "unchanged",
    }
}

const fn status_class(status: Status) -> &'static str {
    match status {
        Status::Added => "added",
        Status::Removed => "removed",
        Status::Changed => "changed",
        Status::Unchanged => "unchanged",
    }
}

pub(super) fn render(report: &Report, _paths: &Paths, out: &mut dyn io::Write) -> io::Result<()> {
    let mut p = Page {
        out: String::with_capacity(16 * 1024),
    };
    let title = format!("buildproof {}: {}", report.command, report.verdict_word());
    p.tag("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .tag("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .tag("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
        .tag("<meta name=\"generator\"")
        .attr("content", concat!("buildproof ", env!("CARGO_PKG_VERSION")))
        .tag(">\n<title>")
        .text(&title)
        .tag("</title>\n<style>")
        .tag(STYLE)
        .tag("</style>\n</head>\n<body>\n");

    header(report, &mut p);
    p.tag("<main>\n");
    summary(report, &mut p);
    if !report.facts.is_empty() || report.facts_in_full.is_some() {
        facts(report, &mut p);
    }
    findings(report, &mut p);
    if let Some(changes) = &report.changes {
        changes_section(changes, &mut p);
    }
    p.tag("</main>\n<footer>Written by ")
        .text(concat!("buildproof ", env!("CARGO_PKG_VERSION")))
        .tag(". This page is self-contained: it loads nothing and runs no script.</footer>\n</body>\n</html>\n");
    out.write_all(p.out.as_bytes())
}

fn header(report: &Report, p: &mut Page) {
    let verdict = report.verdict_word();
    p.tag("<header id=\"header\">\n<h1>buildproof ")
        .text(&report.command)
        .tag(" ")
        .badge(if verdict == "FAIL" { "fail" } else { "ok" }, verdict)
        .tag("</h1>\n");
    if let Some(line) = super::releases_line(&report.releases) {
        p.tag("<p class=\"releases\" id=\"releases\">")
            .text(&line)
            .tag("</p>\n");
    }
    if !report.releases.is_empty() {
        p.tag("<div class=\"scroll\"><table class=\"releases-table\">\n<tr><th>release</th><th>label</th><th>git commit</th><th>written</th><th>by</th></tr>\n");
        for r in &report.releases {
            p.tag("<tr><td>")
                .text(r.role)
                .tag(": ")
                .code(&r.name)
                .tag("</td><td>")
                .text(r.label.as_deref().unwrap_or("—"))
                .tag("</td><td>");
            match &r.git {
                Some(g) => {
                    p.code(&g.commit);
                    if g.dirty {
                        p.tag(" ").badge("modified", "dirty");
                    }
                }
                None => {
                    p.tag("<span class=\"muted\">none recorded</span>");
                }
            }
            p.tag("</td><td>")
                .text(&r.created)
                .tag("</td><td>")
                .text(&r.generator)
                .tag("</td></tr>\n");
        }
        p.tag("</table></div>\n");
    }
    if let Some(note) = report.verdict_note() {
        p.tag("<p class=\"muted\">").text(note).tag("</p>\n");
    }
    p.tag("</header>\n");
}

fn summary(report: &Report, p: &mut Page) {
    let s = report.summary();
    p.tag("<section id=\"summary\">\n<h2>Summary</h2>\n<ul class=\"counts\">\n");
    for (class, n, word) in [
        ("error", s.errors, "errors"),
        ("warning", s.warnings, "warnings"),
        ("note", s.notes, "notes"),
    ] {
        p.tag("<li class=\"")
            .tag(class)
            .tag("\" id=\"count-")
            .tag(class)
            .tag("\"><strong>")
            .num(n)
            .tag("</strong>")
            .tag(word)
            .tag("</li>\n");
    }
    p.tag("<li><strong>")
        .num(report.subjects.len())
        .tag("</strong>checked</li>\n");
    if let Some(changes) = &report.changes {
        let changed = changes
            .iter()
            .filter(|c| c.status != Status::Unchanged)
            .count();
        p.tag("<li id=\"count-changed\"><strong>")
            .num(changed)
            .tag("</strong>changed</li>\n");
    }
    p.tag("</ul>\n");

    let grouped = report.by_subject();
    if !grouped.subjects.is_empty() {
        let status: std::collections::HashMap<&str, Status> = report
            .changes
            .iter()
            .flatten()
            .map(|c| (c.component.as_str(), c.status))
            .collect();
        p.tag("<div class=\"scroll\"><table class=\"subjects\">\n<tr><th>component</th><th>verdict</th><th class=\"num\">errors</th><th class=\"num\">warnings</th><th class=\"num\">notes</th>");
        if report.changes.is_some() {
            p.tag("<th>changes</th>");
        }
        p.tag("</tr>\n");
        for subject in &grouped.subjects {
            let (mut e, mut w, mut n) = (0, 0, 0);
            for &i in grouped.findings(subject) {
                match report.findings[i].level {
                    Level::Error => e += 1,
                    Level::Warning => w += 1,
                    Level::Note => n += 1,
                }
            }
            p.tag("<tr><td>").code(subject).tag("</td><td>");
            if e > 0 {
                p.badge("error", "error");
            } else if w > 0 {
                p.badge("warning", "warning");
            } else {
                p.badge("ok", "ok");
            }
            p.tag("</td><td class=\"num\">")
                .num(e)
                .tag("</td><td class=\"num\">")
                .num(w)
                .tag("</td><td class=\"num\">")
                .num(n)
                .tag("</td>");
            if report.changes.is_some() {
                p.tag("<td>");
                if let Some(st) = status.get(subject) {
                    p.badge(status_class(*st), st.as_str());
                }
                p.tag("</td>");
            }
            p.tag("</tr>\n");
        }
        p.tag("</table></div>\n");
    }
    p.tag("</section>\n");
}

fn facts(report: &Report, p: &mut Page) {
    let facts = report.facts_in_full.as_ref().unwrap_or(&report.facts);
    p.tag("<section id=\"facts\">\n<h2>Facts</h2>\n<div class=\"scroll\"><table class=\"side\">\n<tr><th>fact</th><th>old</th><th>new</th></tr>\n");
    let mut lists = Vec::new();
    for (key, value) in facts.iter() {
        match value {
            Value::Object(m) if m.contains_key("old") && m.contains_key("new") => {
                let differs = m.get("old") != m.get("new");
                p.tag(if differs {
                    "<tr class=\"differs\"><td class=\"field\">"
                } else {
                    "<tr><td class=\"field\">"
                })
                .code(key)
                .tag("</td><td>");
                value_cell(m.get("old").unwrap_or(&Value::Null), p);
                p.tag("</td><td>");
                value_cell(m.get("new").unwrap_or(&Value::Null), p);
                p.tag("</td></tr>\n");
            }
            Value::Array(items) if items.iter().any(Value::is_object) => lists.push((key, items)),
            other => {
                p.tag("<tr><td class=\"field\">")
                    .code(key)
                    .tag("</td><td colspan=\"2\">");
                value_cell(other, p);
                p.tag("</td></tr>\n");
            }
        }
    }
    p.tag("</table></div>\n");
    for (key, items) in lists {
        let files = items
            .iter()
            .all(|i| i.get("change").is_some() && i.get("path").is_some());
        p.tag("<h4>").text(key).tag("</h4>\n");
        details_open(items.len(), p);
        p.tag("<summary>")
            .num(items.len())
            .tag(" entries</summary>\n");
        if files {
            p.tag("<div class=\"scroll\"><table class=\"files\">\n<tr><th>change</th><th>path</th><th>old</th><th>new</th></tr>\n");
            for item in items {
                let change = item["change"].as_str().unwrap_or_default();
                p.tag("<tr><td>")
                    .badge(
                        match change {
                            "added" => "added",
                            "removed" => "removed",
                            _ => "modified",
                        },
                        change,
                    )
                    .tag("</td><td>")
                    .code(item["path"].as_str().unwrap_or_default())
                    .tag("</td><td>");
                file_state(item.get("old"), p);
                p.tag("</td><td>");
                file_state(item.get("new"), p);
                p.tag("</td></tr>\n");
            }
            p.tag("</table></div>\n");
        } else {
            p.tag("<pre>")
                .text(&serde_json::to_string_pretty(items).unwrap_or_default())
                .tag("</pre>\n");
        }
        p.tag("</details>\n");
    }
    p.tag("</section>\n");
}

/// One side of an image diff's file change: `file 120 bytes 0644 0:0 sha256:…`.
fn file_state(state: Option<&Value>, p: &mut Page) {
    let Some(Value::Object(s)) = state else {
        p.tag("<span class=\"muted\">—</span>");
        return;
    };
    let field = |k: &str| match s.get(k) {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let mut text = match s.get("target") {
        Some(Value::String(t)) => format!("symlink → {t}"),
        _ => format!("{} {} bytes", field("kind"), field("size")),
    };
    for k in ["mode", "owner"] {
        if s.contains_key(k) {
            text.push(' ');
            text.push_str(&field(k));
        }
    }
    p.text(&text);
    if let Some(Value::String(d)) = s.get("digest") {
        p.tag("<br>").code(d);
    }
}

/// A value in a table cell: strings as text, lists as lines, objects as JSON.
fn value_cell(value: &Value, p: &mut Page) {
    match value {
        Value::Null => {
            p.tag("<span class=\"muted\">unset</span>");
        }
        Value::String(s) => {
            p.code(s);
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            if items.len() > OPEN_LIST {
                p.tag("<details><summary>")
                    .num(items.len())
                    .tag(" entries</summary>");
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    p.tag("<br>");
                }
                match item {
                    Value::String(s) => p.code(s),
                    other => p.code(&other.to_string()),
                };
            }
            if items.len() > OPEN_LIST {
                p.tag("</details>");
            }
        }
        Value::Bool(_) | Value::Number(_) => {
            p.code(&value.to_string());
        }
        other => {
            p.tag("<pre>")
                .text(&serde_json::to_string_pretty(other).unwrap_or_default())
                .tag("</pre>");
        }
    }
}

fn details_open(len: usize, p: &mut Page) {
    p.tag(if len <= OPEN_LIST {
        "<details open>"
    } else {
        "<details>"
    });
}

fn findings(report: &Report, p: &mut Page) {
    p.tag("<section id=\"findings\">\n<h2>Findings <span class=\"muted\">(")
        .num(report.findings.len())
        .tag(")</span></h2>\n");
    if report.findings.is_empty() {
        p.tag("<p class=\"muted\">No findings.</p>\n");
    }
    for (i, f) in report.findings.iter().enumerate() {
        finding(i, f, p);
    }
    p.tag("</section>\n");
}

fn finding(i: usize, f: &Finding, p: &mut Page) {
    let class = level_class(f.level);
    p.tag("<article class=\"finding ")
        .tag(class)
        .tag("\"")
        .attr("id", &format!("finding-{}", i + 1))
        .attr("data-rule", f.rule.as_str())
        .tag(">\n<h3>")
        .badge(class, f.level.as_str())
        .tag(" ")
        .code(f.rule.as_str())
        .tag(" in ")
        .code(&f.component)
        .tag("</h3>\n<p class=\"message\">")
        .rich(&f.message)
        .tag("</p>\n");
    if let Some(loc) = &f.location {
        let place = match loc.line {
            Some(line) => format!("{}:{line}", loc.file),
            None => loc.file.clone(),
        };
        p.tag("<p class=\"where\">at ").code(&place).tag("</p>\n");
    }
    if let Some(help) = f.help.as_deref() {
        p.tag("<p class=\"help\">").rich(help).tag("</p>\n");
    }
    let details: Vec<(String, Value)> = f
        .flat_details()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "location" | "help"))
        .map(|(k, v)| (k, super::without_unset_expiry(v)))
        .collect();
    if !details.is_empty() {
        p.tag("<details><summary>details</summary>\n<div class=\"scroll\"><table>\n");
        for (k, v) in &details {
            p.tag("<tr><td class=\"field\">").code(k).tag("</td><td>");
            value_cell(v, p);
            p.tag("</td></tr>\n");
        }
        p.tag("</table></div>\n</details>\n");
    }
    p.tag("<p class=\"fingerprint\">fingerprint ")
        .code(&f.fingerprint.to_string())
        .tag("</p>\n</article>\n");
}

fn changes_section(changes: &[ComponentChanges], p: &mut Page) {
    let changed = changes
        .iter()
        .filter(|c| c.status != Status::Unchanged)
        .count();
    p.tag("<section id=\"changes\">\n<h2>Changes</h2>\n<p>")
        .num(changed)
        .tag(" of ")
        .num(changes.len())
        .tag(" components changed.</p>\n");
    let mut unchanged = Vec::new();
    for c in changes {
        if c.status == Status::Unchanged {
            unchanged.push(c.component.as_str());
            continue;
        }
        component(c, p);
    }
    if !unchanged.is_empty() {
        p.tag("<section class=\"component unchanged\" id=\"unchanged\">\n<h3>Unchanged ")
            .badge("unchanged", &unchanged.len().to_string())
            .tag("</h3>\n");
        details_open(unchanged.len(), p);
        p.tag("<summary>")
            .num(unchanged.len())
            .tag(" components with the same records on both sides</summary>\n<p>");
        for (i, name) in unchanged.iter().enumerate() {
            if i > 0 {
                p.tag(", ");
            }
            p.code(name);
        }
        p.tag("</p>\n</details>\n</section>\n");
    }
    p.tag("</section>\n");
}

fn component(c: &ComponentChanges, p: &mut Page) {
    p.tag("<section class=\"component ")
        .tag(status_class(c.status))
        .tag("\"")
        .attr("id", &format!("component-{}", c.component))
        .tag(">\n<h3>")
        .code(&c.component)
        .tag(" ")
        .badge(status_class(c.status), c.status.as_str())
        .tag("</h3>\n");
    if let Some(inputs) = &c.inputs {
        p.tag("<h4>Inputs</h4>\n<p>digest ");
        digest_pair(&inputs.digest, p);
        p.tag("</p>\n");
        files(&inputs.files, inputs.counts, "input files", p);
    }
    if !c.outputs.is_empty() {
        p.tag("<h4>Outputs</h4>\n");
        for o in &c.outputs {
            output(o, p);
        }
    }
    if let Some(i) = &c.image {
        image(i, p);
    }
    if let Some(d) = &c.dockerfile {
        dockerfile(d, p);
    }
    if let Some(n) = &c.nix {
        nix(n, p);
    }
    p.tag("</section>\n");
}

/// `old → new` digests, or `unchanged: d` when equal.
fn digest_pair(pair: &Pair<crate::digest::Digest>, p: &mut Page) {
    let show =
        |d: Option<&crate::digest::Digest>| d.map_or_else(|| "—".to_owned(), ToString::to_string);
    if pair.changed() {
        p.code(&show(pair.old.as_ref()))
            .tag(" → ")
            .code(&show(pair.new.as_ref()));
    } else {
        p.code(&show(pair.new.as_ref()));
    }
}

fn files(list: &[FileChange], counts: Counts, what: &'static str, p: &mut Page) {
    p.tag("<p>")
        .text(&counts.brief())
        .tag(" <span class=\"muted\">(")
        .num(counts.unchanged)
        .tag(" unchanged)</span></p>\n");
    if list.is_empty() {
        return;
    }
    details_open(list.len(), p);
    p.tag("<summary>")
        .num(list.len())
        .tag(" changed ")
        .tag(what)
        .tag("</summary>\n<div class=\"scroll\"><table class=\"files\">\n<tr><th>change</th><th>path</th><th>old</th><th>new</th></tr>\n");
    for f in list {
        p.tag("<tr><td>")
            .badge(change_class(f.change), f.change.as_str())
            .tag("</td><td>")
            .code(&f.path)
            .tag("</td><td>");
        file_side(f.old.as_ref(), p);
        p.tag("</td><td>");
        file_side(f.new.as_ref(), p);
        p.tag("</td></tr>\n");
    }
    p.tag("</table></div>\n</details>\n");
}

fn file_side(side: Option<&crate::model::changes::FileSide>, p: &mut Page) {
    match side {
        None => {
            p.tag("<span class=\"muted\">—</span>");
        }
        Some(s) => {
            p.text(&format!("{} {} bytes", s.kind.as_str(), s.size))
                .tag("<br>")
                .code(&s.digest.to_string());
        }
    }
}

fn output(o: &OutputChange, p: &mut Page) {
    p.tag("<p>")
        .code(&o.path)
        .tag(" ")
        .badge(change_class(o.change), o.change.as_str())
        .tag(" ");
    let digest = |s: Option<&crate::model::changes::OutputSide>| s.map(|s| s.digest);
    digest_pair(
        &Pair {
            old: digest(o.old.as_ref()),
            new: digest(o.new.as_ref()),
        },
        p,
    );
    let store =
        |s: Option<&crate::model::changes::OutputSide>| s.and_then(|s| s.store_path.clone());
    let (a, b) = (store(o.old.as_ref()), store(o.new.as_ref()));
    if a.is_some() || b.is_some() {
        p.tag("<br>store path ");
        if a == b {
            p.code(b.as_deref().unwrap_or_default());
        } else {
            p.code(a.as_deref().unwrap_or("—"))
                .tag(" → ")
                .code(b.as_deref().unwrap_or("—"));
        }
    }
    p.tag("</p>\n");
    if o.counts.changed() > 0 {
        files(&o.files, o.counts, "files inside", p);
    }
}

/// Fields side by side: one row each, old beside new, rows that differ marked.
fn side_by_side(fields: &[FieldChange], lines: bool, p: &mut Page) {
    p.tag("<div class=\"scroll\"><table class=\"side\">\n<tr><th>field</th><th>old</th><th>new</th></tr>\n");
    for f in fields {
        p.tag(if f.change == Change::Unchanged {
            "<tr><td class=\"field\">"
        } else {
            "<tr class=\"differs\"><td class=\"field\">"
        })
        .code(&f.field)
        .tag("</td><td>");
        value_cell(f.old.as_ref().unwrap_or(&Value::Null), p);
        if lines {
            if let Some(line) = f.old_line {
                p.tag(" <span class=\"muted\">line ")
                    .num(line as usize)
                    .tag("</span>");
            }
        }
        p.tag("</td><td>");
        value_cell(f.new.as_ref().unwrap_or(&Value::Null), p);
        if lines {
            if let Some(line) = f.new_line {
                p.tag(" <span class=\"muted\">line ")
                    .num(line as usize)
                    .tag("</span>");
            }
        }
        p.tag("</td></tr>\n");
    }
    p.tag("</table></div>\n");
}

fn image(i: &ImageChanges, p: &mut Page) {
    p.tag("<h4>Image</h4>\n<p>")
        .badge(change_class(i.change), i.change.as_str())
        .tag(" by content identity</p>\n");
    let digests = [
        ("manifest digest", &i.manifest_digest),
        ("identity", &i.identity),
        ("config digest", &i.config_digest),
    ];
    let mut rows: Vec<FieldChange> = digests
        .iter()
        .map(|(name, pair)| FieldChange {
            field: (*name).to_owned(),
            change: Change::of(pair.old.as_ref(), pair.new.as_ref()),
            old: pair.old.map(|d| Value::from(d.to_string())),
            new: pair.new.map(|d| Value::from(d.to_string())),
            old_line: None,
            new_line: None,
        })
        .collect();
    rows.push(FieldChange {
        field: "startup problems".to_owned(),
        change: Change::of(i.problems.old.as_ref(), i.problems.new.as_ref()),
        old: i.problems.old.map(Value::from),
        new: i.problems.new.map(Value::from),
        old_line: None,
        new_line: None,
    });
    rows.extend(i.startup.iter().cloned());
    side_by_side(&rows, false, p);
    if !i.labels.is_empty() {
        let changed = i
            .labels
            .iter()
            .filter(|l| l.change != Change::Unchanged)
            .count();
        p.tag("<details><summary>")
            .num(i.labels.len())
            .tag(" labels, ")
            .num(changed)
            .tag(" changed</summary>\n");
        let rows: Vec<FieldChange> = i
            .labels
            .iter()
            .map(|l| FieldChange {
                field: l.label.clone(),
                change: l.change,
                old: l.old.clone().map(Value::from),
                new: l.new.clone().map(Value::from),
                old_line: None,
                new_line: None,
            })
            .collect();
        side_by_side(&rows, false, p);
        p.tag("</details>\n");
    }
    if !i.layers.is_empty() {
        let changed = i
            .layers
            .iter()
            .filter(|l| l.change != Change::Unchanged)
            .count();
        p.tag("<details><summary>")
            .num(i.layers.len())
            .tag(" layers, ")
            .num(changed)
            .tag(" differ</summary>\n<div class=\"scroll\"><table class=\"side\">\n<tr><th>#</th><th>old diff_id</th><th>new diff_id</th></tr>\n");
        for (n, l) in i.layers.iter().enumerate() {
            p.tag(if l.change == Change::Unchanged {
                "<tr><td class=\"field\">"
            } else {
                "<tr class=\"differs\"><td class=\"field\">"
            })
            .num(n + 1)
            .tag("</td><td>");
            match &l.old {
                Some(s) => p.code(&s.diff_id.to_string()),
                None => p.tag("—"),
            };
            p.tag("</td><td>");
            match &l.new {
                Some(s) => p.code(&s.diff_id.to_string()),
                None => p.tag("—"),
            };
            p.tag("</td></tr>\n");
        }
        p.tag("</table></div>\n</details>\n");
    }
}

fn dockerfile(d: &DockerfileChanges, p: &mut Page) {
    p.tag("<h4>Dockerfile</h4>\n<p>")
        .code(
            d.path
                .new
                .as_deref()
                .or(d.path.old.as_deref())
                .unwrap_or_default(),
        )
        .tag(" ")
        .badge(change_class(d.change), d.change.as_str())
        .tag(" final stage <code>FROM</code> ");
    if d.base.changed() {
        p.code(d.base.old.as_deref().unwrap_or("—"))
            .tag(" → ")
            .code(d.base.new.as_deref().unwrap_or("—"));
    } else {
        p.code(d.base.new.as_deref().unwrap_or_default());
    }
    p.tag("</p>\n");
    if !d.startup.is_empty() {
        side_by_side(&d.startup, true, p);
    }
}

fn nix(n: &NixChanges, p: &mut Page) {
    p.tag("<h4>Nix</h4>\n");
    let mut rows = vec![FieldChange {
        field: "derivation".to_owned(),
        change: Change::of(n.derivation.old.as_ref(), n.derivation.new.as_ref()),
        old: n.derivation.old.clone().map(Value::from),
        new: n.derivation.new.clone().map(Value::from),
        old_line: None,
        new_line: None,
    }];
    rows.extend(n.out_paths.iter().map(|o| FieldChange {
        field: format!("out path `{}`", o.output),
        change: o.change,
        old: o.old.clone().map(Value::from),
        new: o.new.clone().map(Value::from),
        old_line: None,
        new_line: None,
    }));
    side_by_side(&rows, false, p);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names from files and images reach the page only as text: a file named like
    /// markup shows as its name.
    #[test]
    fn hostile_names_stay_text_in_the_whole_page() {
        use crate::digest::Digest;
        use crate::model::RuleId;
        use crate::model::changes::{FileSide, InputChanges};
        use crate::model::manifest::FileKind;
        let evil = "<img src=x onerror=alert(1)>\"'&.js";
        let finding = Finding::new(
            RuleId::StaleArtifact,
            "web",
            format!("inputs changed ({evil} (modified)) `{evil}`"),
            &[],
        )
        .with_detail("changed_inputs", [evil]);
        let mut report = Report::new("diff", vec!["web".into()], Vec::new(), vec![finding]);
        let side = FileSide {
            kind: FileKind::File,
            size: 1,
            digest: Digest::of(b"x"),
        };
        report.changes = Some(vec![ComponentChanges {
            component: "web".into(),
            status: Status::Changed,
            inputs: Some(InputChanges {
                digest: Pair {
                    old: Some(Digest::of(b"a")),
                    new: Some(Digest::of(b"b")),
                },
                counts: Counts {
                    modified: 1,
                    ..Counts::default()
                },
                files: vec![FileChange {
                    path: evil.into(),
                    change: Change::Modified,
                    old: Some(side.clone()),
                    new: Some(side),
                }],
            }),
            outputs: Vec::new(),
            image: None,
            dockerfile: None,
            nix: None,
        }]);
        let mut out = Vec::new();
        render(&report, &Paths::default(), &mut out).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("onerror=alert(1)>\""), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;.js"));
    }

    #[test]
    fn code_spans_in_messages_become_code() {
        let mut p = Page { out: String::new() };
        p.rich("a `x<y>` b ``c`d`` ` e");
        assert_eq!(p.out, "a <code>x&lt;y&gt;</code> b <code>c`d</code> ` e");
    }

    #[test]
    fn values_are_escaped_and_markup_is_static() {
        let mut p = Page { out: String::new() };
        p.tag("<p")
            .attr("title", "\"><script>x</script>")
            .tag(">")
            .text("<img src=x onerror=alert(1)> & 'q' \u{1b}[31m")
            .tag("</p>");
        assert_eq!(
            p.out,
            "<p title=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39; \\u{1b}[31m</p>"
        );
    }
}
