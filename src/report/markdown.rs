//! `--format markdown`: GitHub-flavoured Markdown for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY`: a headline with the verdict, the command's facts, a table
//! of the subjects (components or images) with their status, then the findings.
//! Locations are repository-relative, as in SARIF (see [`super::repo_relative`]).
//!
//! GitHub refuses a comment over 65,536 characters (a step summary over 1 MiB), and a
//! refused comment shows nothing at all, so the whole report is kept within
//! [`BUDGET`] bytes (bytes are never fewer than characters or UTF-16 units, so this
//! holds however the limit is counted). What matters most goes in first:
//!
//! 1. the verdict, the facts and the table (its rows cut at [`TABLE_BUDGET`], those
//!    with findings kept first);
//! 2. each finding's headline (level, rule, component, message, where, help,
//!    fingerprint), errors first as the report sorts them, while they fit;
//! 3. then each shown finding's collapsed `<details>` block, cut at
//!    [`DETAILS_LIMIT`] characters, in the same order, until one no longer fits.
//!
//! A closing line counts what was left out and points at `--format json` or `sarif`,
//! which always carry every finding in full.

use std::fmt::Write as _;
use std::io;

use serde_json::Value;

use super::{Paths, Report};
use crate::model::finding::{Finding, Level};

/// Bytes the whole report may take: under GitHub's 65,536-character limit, with room
/// to spare for a heading a workflow puts around it.
const BUDGET: usize = 60_000;
/// Bytes the component table may take before rows are left out.
const TABLE_BUDGET: usize = 20_000;
/// Characters of one finding's details JSON.
const DETAILS_LIMIT: usize = 1500;
/// Bytes kept free for the closing line that says what was left out.
const TRAILER_ROOM: usize = 400;

pub(super) fn render(report: &Report, paths: &Paths, out: &mut dyn io::Write) -> io::Result<()> {
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

    table(report, &mut md);

    if !report.findings.is_empty() {
        md.push_str("### Findings\n\n");
        let rendered: Vec<(String, String)> =
            report.findings.iter().map(|f| finding(f, paths)).collect();
        let mut room = BUDGET.saturating_sub(md.len() + TRAILER_ROOM);
        // Headlines first, in report order, while they fit; then details the same way.
        let mut shown = 0;
        for (head, _) in &rendered {
            if head.len() + 1 > room {
                break;
            }
            room -= head.len() + 1;
            shown += 1;
        }
        let mut detailed = 0;
        for (_, details) in &rendered[..shown] {
            if details.len() > room {
                break;
            }
            room -= details.len();
            detailed += 1;
        }
        for (i, (head, details)) in rendered[..shown].iter().enumerate() {
            md.push_str(head);
            if i < detailed {
                md.push_str(details);
            }
            md.push('\n');
        }
        let without_details = rendered[detailed..shown]
            .iter()
            .filter(|(_, details)| !details.is_empty())
            .count();
        let left_out = rendered.len() - shown;
        let total = rendered.len();
        let what = match (left_out, without_details) {
            (0, 0) => None,
            (l, 0) => Some(format!("{l} of {total} findings are left out")),
            (0, d) => Some(format!("{d} findings are shown without their details")),
            (l, d) => Some(format!(
                "{l} of {total} findings are left out, and {d} are shown without their details,"
            )),
        };
        if let Some(what) = what {
            let _ = writeln!(
                md,
                "… {what} to keep this report under GitHub's 65,536-character limit; run with `--format json` or `--format sarif` for all of them in full."
            );
        }
    }
    out.write_all(md.as_bytes())
}

/// The status table, one row per subject; rows with findings are kept first when the
/// table would outgrow [`TABLE_BUDGET`].
fn table(report: &Report, md: &mut String) {
    let mut subjects: Vec<&str> = report.subjects.iter().map(String::as_str).collect();
    for f in &report.findings {
        if !subjects.contains(&f.component.as_str()) {
            subjects.push(&f.component);
        }
    }
    if subjects.is_empty() {
        return;
    }
    let rows: Vec<(bool, String)> = subjects
        .iter()
        .map(|subject| {
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
            let quiet = e + w + n == 0;
            (
                quiet,
                format!("| {} | {status} | {e} | {w} | {n} |\n", code(subject)),
            )
        })
        .collect();
    md.push_str("| component | status | errors | warnings | notes |\n");
    md.push_str("|---|---|---:|---:|---:|\n");
    let total: usize = rows.iter().map(|(_, row)| row.len()).sum();
    if total <= TABLE_BUDGET {
        for (_, row) in &rows {
            md.push_str(row);
        }
    } else {
        let mut room = TABLE_BUDGET;
        let mut keep = vec![false; rows.len()];
        // Rows with findings, then quiet ones, each in the report's order.
        for quiet in [false, true] {
            for (i, (q, row)) in rows.iter().enumerate() {
                if *q == quiet && row.len() <= room {
                    room -= row.len();
                    keep[i] = true;
                }
            }
        }
        let mut left_out = (0, 0);
        for (i, (quiet, row)) in rows.iter().enumerate() {
            if keep[i] {
                md.push_str(row);
            } else {
                left_out.0 += 1;
                left_out.1 += usize::from(*quiet);
            }
        }
        let _ = writeln!(
            md,
            "\n… {} more components are not listed ({} of them with no findings).",
            left_out.0, left_out.1
        );
    }
    md.push('\n');
}

/// One finding: its headline lines, and its `<details>` block (empty when it has none).
fn finding(f: &Finding, paths: &Paths) -> (String, String) {
    let mut md = String::new();
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
    if let Some(loc) = f.location.clone() {
        let file = super::repo_relative(&loc.file, paths);
        let place = match loc.line {
            Some(line) => format!("{file}:{line}"),
            None => file,
        };
        let _ = writeln!(md, "  - where: {}", code(&place));
    }
    if let Some(help) = f.help.as_deref() {
        let _ = writeln!(md, "  - help: {}", cell(help));
    }
    let _ = writeln!(md, "  - fingerprint: {}", code(&f.fingerprint.to_string()));
    let details: serde_json::Map<String, Value> = f
        .flat_details()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "location" | "help"))
        .collect();
    let mut block = String::new();
    if !details.is_empty() {
        let mut json = serde_json::to_string_pretty(&Value::Object(details)).unwrap_or_default();
        if json.chars().count() > DETAILS_LIMIT {
            json = json.chars().take(DETAILS_LIMIT).collect();
            json.push_str("\n…");
        }
        // A fence longer than any backtick run inside, so details cannot close it.
        let fence = "`".repeat(3.max(longest_run(&json, '`') + 1));
        let _ = writeln!(
            block,
            "\n  <details><summary>details</summary>\n\n  {fence}json\n{}\n  {fence}\n  </details>",
            indent(&json)
        );
    }
    (md, block)
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

    #[test]
    fn a_table_too_long_keeps_the_rows_with_findings() {
        use crate::model::RuleId;
        let subjects: Vec<String> = (0..2000).map(|i| format!("component-{i:04}")).collect();
        let findings = ["component-1999", "component-0007"]
            .iter()
            .map(|c| Finding::new(RuleId::NotDeployed, c, "not running".into(), &[]))
            .collect();
        let report = Report::new("verify", subjects, vec![RuleId::NotDeployed], findings);
        let mut out = Vec::new();
        render(&report, &Paths::default(), &mut out).unwrap();
        let md = String::from_utf8(out).unwrap();
        assert!(md.len() <= BUDGET, "{}", md.len());
        assert!(md.contains("| `component-1999` | ❌ error | 1 | 0 | 0 |"));
        assert!(md.contains("| `component-0007` | ❌ error | 1 | 0 | 0 |"));
        assert!(md.contains("| `component-0000` | ✅ ok | 0 | 0 | 0 |"));
        let rows = md.matches("\n| `component-").count();
        assert!(rows < 2000);
        assert!(
            md.contains(&format!(
                "… {} more components are not listed ({} of them with no findings).",
                2000 - rows,
                2000 - rows
            )),
            "{md}"
        );
        // Both findings are still written out in full.
        assert_eq!(md.matches("**error** `not-deployed`").count(), 2);
        assert!(!md.contains("left out"));
    }
}
