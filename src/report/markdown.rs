//! `--format markdown`: GitHub-flavoured Markdown for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY`: a headline with the verdict, the command's facts, a table
//! of the subjects (components or images) with their status, then the findings.
//! Locations are repository-relative, as in SARIF (see [`super::repo_relative`]).
//!
//! GitHub caps a comment at 65,536 characters and a step summary at 1 MiB, so at most
//! [`FINDING_LIMIT`] findings are written out (errors first, as the report sorts
//! them) and the rest are counted; each finding's details sit in a collapsed
//! `<details>` block, cut at [`DETAILS_LIMIT`] characters.

use std::fmt::Write as _;
use std::io;

use serde_json::Value;

use super::Report;
use crate::finding::{Finding, Level};

/// Findings written out in full; the rest are counted.
const FINDING_LIMIT: usize = 50;
/// Characters of one finding's details JSON.
const DETAILS_LIMIT: usize = 1500;

pub(super) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut md = String::new();
    let s = report.summary();
    let verdict = if s.errors > 0 { "❌ FAIL" } else { "✅ ok" };
    let _ = writeln!(
        md,
        "## buildproof {}: {verdict}\n\n{} checked, {}\n",
        cell(&report.command),
        report.subjects.len(),
        s.counts(),
    );

    if !report.facts.is_empty() {
        for (key, value) in &report.facts {
            let _ = writeln!(md, "- **{}**: {}", cell(key), code(&inline(value)));
        }
        md.push('\n');
    }

    let mut subjects: Vec<&str> = report.subjects.iter().map(String::as_str).collect();
    for f in &report.findings {
        if !subjects.contains(&f.component.as_str()) {
            subjects.push(&f.component);
        }
    }
    if !subjects.is_empty() {
        md.push_str("| component | status | errors | warnings | notes |\n");
        md.push_str("|---|---|---:|---:|---:|\n");
        for subject in subjects {
            let (mut e, mut w, mut n) = (0, 0, 0);
            for f in report.findings_for(subject) {
                match f.level {
                    Level::Error => e += 1,
                    Level::Warning => w += 1,
                    Level::Note => n += 1,
                }
            }
            let status = if e > 0 {
                "❌ error"
            } else if w > 0 {
                "⚠️ warning"
            } else {
                "✅ ok"
            };
            let _ = writeln!(md, "| {} | {status} | {e} | {w} | {n} |", code(subject));
        }
        md.push('\n');
    }

    if !report.findings.is_empty() {
        md.push_str("### Findings\n\n");
        for f in report.findings.iter().take(FINDING_LIMIT) {
            finding(&mut md, f);
        }
        if report.findings.len() > FINDING_LIMIT {
            let _ = writeln!(
                md,
                "… and {} more findings (see the full report with `--format text` or `json`).\n",
                report.findings.len() - FINDING_LIMIT
            );
        }
    }
    out.write_all(md.as_bytes())
}

fn finding(md: &mut String, f: &Finding) {
    let icon = match f.level {
        Level::Error => "❌",
        Level::Warning => "⚠️",
        Level::Note => "ℹ️",
    };
    let _ = writeln!(
        md,
        "- {icon} **{}** {} in {}: {}",
        f.level,
        code(f.rule.as_str()),
        code(&f.component),
        cell(&f.message)
    );
    if let Some(loc) = f.location() {
        let file = super::repo_relative(&loc.file);
        let place = match loc.line {
            Some(line) => format!("{file}:{line}"),
            None => file,
        };
        let _ = writeln!(md, "  - where: {}", code(&place));
    }
    if let Some(help) = f.help() {
        let _ = writeln!(md, "  - help: {}", cell(help));
    }
    let _ = writeln!(md, "  - fingerprint: {}", code(&f.fingerprint.to_string()));
    let details: serde_json::Map<String, Value> = f
        .details
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "location" | "help"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !details.is_empty() {
        let mut json = serde_json::to_string_pretty(&Value::Object(details)).unwrap_or_default();
        if json.chars().count() > DETAILS_LIMIT {
            json = json.chars().take(DETAILS_LIMIT).collect();
            json.push_str("\n…");
        }
        // A fence longer than any backtick run inside, so details cannot close it.
        let fence = "`".repeat(3.max(longest_run(&json, '`') + 1));
        let _ = writeln!(
            md,
            "\n  <details><summary>details</summary>\n\n  {fence}json\n{}\n  {fence}\n  </details>",
            indent(&json)
        );
    }
    md.push('\n');
}

/// Text for a table cell or a list line: one line, no table breaks, no raw HTML.
/// Inside the message's own `code spans` entities would show literally, so `<`, `>`
/// and `&` are escaped only outside them.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '|' => out.push_str("\\|"),
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            '&' if !in_code => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span that survives backticks and pipes in its content.
fn code(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if matches!(c, '\n' | '\r') { ' ' } else { c })
        .collect();
    // GitHub splits table rows at `|` even inside code spans.
    let one_line = one_line.replace('|', "\\|");
    let ticks = "`".repeat(longest_run(&one_line, '`') + 1);
    if one_line.starts_with('`') || one_line.ends_with('`') {
        format!("{ticks} {one_line} {ticks}")
    } else {
        format!("{ticks}{one_line}{ticks}")
    }
}

fn longest_run(text: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn inline(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_code_spans_survive_markup() {
        assert_eq!(cell("a|b<c>\nd"), "a\\|b&lt;c&gt; d");
        assert_eq!(cell("x<y `a<b` &"), "x&lt;y `a<b` &amp;");
        assert_eq!(code("x"), "`x`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }
}
