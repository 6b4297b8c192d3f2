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
//! 4. then, for `diff` and `check`, the changes in brief (one list item per changed
//!    component with counts and the first paths, the unchanged ones by name) while
//!    they fit.
//!
//! A closing line counts what was left out and points at `--format json` or `sarif`,
//! which always carry every finding in full.
//!
//! Escaping is by construction: text from files and images goes through [`cell`],
//! which parses backtick runs the way CommonMark pairs them (a run opens a code span
//! that only a run of the same length closes) and re-emits each code span with a
//! fence longer than any run inside it, and escapes everything outside code spans
//! (`<`, `>`, `&` and `|` as HTML entities, Markdown's own punctuation with a
//! backslash). A lone backtick is shown as `&#96;`, so no name can switch escaping off.
//! Rendering is linear in the report: counts per subject come from one pass.

use std::fmt::Write as _;
use std::io;

use serde_json::Value;

use super::{Paths, Report};
use crate::model::changes::{ComponentChanges, Status};
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
    let verdict = if report.exit_code() == 1 {
        "❌ FAIL"
    } else {
        "✅ ok"
    };
    let _ = writeln!(
        md,
        "## buildproof {}: {verdict}\n\n{} checked, {}{}\n",
        cell(&report.command),
        report.subjects.len(),
        s.counts(),
        report
            .verdict_note()
            .map_or_else(String::new, |n| format!(" ({})", cell(n))),
    );
    if let Some(line) = super::releases_line(&report.releases) {
        let _ = writeln!(md, "**releases**: {}\n", cell(&line));
    }

    if !report.facts.is_empty() {
        for (key, value) in report.facts.iter() {
            let _ = writeln!(md, "- **{}**: {}", cell(key), code(&inline(value)));
        }
        md.push('\n');
    }

    table(report, &mut md);

    let mut left = Vec::new();
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
        match (left_out, without_details) {
            (0, 0) => {}
            (l, 0) => left.push(format!("{l} of {total} findings are left out")),
            (0, d) => left.push(format!("{d} findings are shown without their details")),
            (l, d) => left.push(format!(
                "{l} of {total} findings are left out, and {d} are shown without their details,"
            )),
        }
    }
    if let Some(changes) = &report.changes {
        if let Some(what) = write_changes(changes, &mut md) {
            left.push(what);
        }
    }
    if !left.is_empty() {
        let _ = writeln!(
            md,
            "… {} to keep this report under GitHub's 65,536-character limit; run with `--format json` or `--format sarif` for all of them in full.",
            left.join("; ")
        );
    }
    out.write_all(md.as_bytes())
}

/// The changes in brief, while they fit the budget; what did not fit, in words.
fn write_changes(changes: &[ComponentChanges], md: &mut String) -> Option<String> {
    let changed = changes
        .iter()
        .filter(|c| c.status != Status::Unchanged)
        .count();
    let _ = writeln!(
        md,
        "### Changes\n\n{changed} of {} components changed.\n",
        changes.len()
    );
    let mut room = BUDGET.saturating_sub(md.len() + TRAILER_ROOM);
    let mut left_out = 0;
    let mut unchanged = Vec::new();
    for c in changes {
        if c.status == Status::Unchanged {
            unchanged.push(c.component.as_str());
            continue;
        }
        let mut item = format!("- {}: {}\n", code(&c.component), c.status.as_str());
        for line in super::text::brief(c).iter().skip(1) {
            let _ = writeln!(item, "  - {}", cell(line.trim()));
        }
        if item.len() > room {
            left_out += 1;
            continue;
        }
        room -= item.len();
        md.push_str(&item);
    }
    if !unchanged.is_empty() {
        let names: Vec<String> = unchanged.iter().take(10).map(|n| code(n)).collect();
        let more = unchanged.len().saturating_sub(10);
        let line = if more > 0 {
            format!("- unchanged: {} and {more} more\n", names.join(", "))
        } else {
            format!("- unchanged: {}\n", names.join(", "))
        };
        if line.len() <= room {
            md.push_str(&line);
        }
    }
    md.push('\n');
    (left_out > 0).then(|| format!("the changes of {left_out} components are left out"))
}

/// The status table, one row per subject; rows with findings are kept first when the
/// table would outgrow [`TABLE_BUDGET`].
fn table(report: &Report, md: &mut String) {
    let grouped = report.by_subject();
    if grouped.subjects.is_empty() {
        return;
    }
    let rows: Vec<(bool, String)> = grouped
        .subjects
        .iter()
        .map(|subject| {
            let (mut e, mut w, mut n) = (0, 0, 0);
            for &i in grouped.findings(subject) {
                match report.findings[i].level {
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
                format!(
                    "| {} | {status} | {e} | {w} | {n} |\n",
                    code_in_table(subject)
                ),
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
        .map(|(k, v)| (k, super::without_unset_expiry(v)))
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

/// Text for a list line or a table cell, escaped by construction (see the module
/// doc): one line; code spans as CommonMark pairs them, re-emitted with a safe fence;
/// everything else with `<`, `>`, `&`, `|` and lone backticks as HTML entities and
/// Markdown punctuation backslash-escaped.
fn cell(text: &str) -> String {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if matches!(c, '\n' | '\r') { ' ' } else { c })
        .collect();
    // Backtick runs as (start, length), and for each the run that closes it: the next
    // run of the same length (CommonMark), found in one pass from the end.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let start = i;
            while i < chars.len() && chars[i] == '`' {
                i += 1;
            }
            runs.push((start, i - start));
        } else {
            i += 1;
        }
    }
    let mut closer = vec![None; runs.len()];
    let mut next_of_len: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (k, &(_, len)) in runs.iter().enumerate().rev() {
        closer[k] = next_of_len.get(&len).copied();
        next_of_len.insert(len, k);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let (mut at, mut k) = (0, 0);
    while at < chars.len() {
        if k < runs.len() && runs[k].0 == at {
            let (start, len) = runs[k];
            if let Some(c) = closer[k] {
                let content: String = chars[start + len..runs[c].0].iter().collect();
                out.push_str(&code(&content));
                at = runs[c].0 + runs[c].1;
                k = c + 1;
            } else {
                for _ in 0..len {
                    out.push_str("&#96;");
                }
                at = start + len;
                k += 1;
            }
            continue;
        }
        escape_char(chars[at], &mut out);
        at += 1;
    }
    out
}

/// One character outside a code span.
fn escape_char(c: char, out: &mut String) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '|' => out.push_str("&#124;"),
        '\\' | '*' | '_' | '[' | ']' | '~' | '#' | '!' => {
            out.push('\\');
            out.push(c);
        }
        c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        c => out.push(c),
    }
}

/// A code span holding `text` literally: its fence is one backtick longer than the
/// longest run inside, padded with a space where CommonMark would otherwise strip
/// or merge one.
fn code(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| match c {
            '\n' | '\r' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    if one_line.is_empty() {
        return "` `".to_owned();
    }
    let ticks = "`".repeat(longest_run(&one_line, '`') + 1);
    let pad = one_line.starts_with('`')
        || one_line.ends_with('`')
        || (one_line.starts_with(' ') && one_line.ends_with(' ') && one_line.trim() != "");
    if pad {
        format!("{ticks} {one_line} {ticks}")
    } else {
        format!("{ticks}{one_line}{ticks}")
    }
}

/// A code span inside a table cell: GitHub splits rows at `|` even inside code spans,
/// and `\|` there stands for the pipe itself.
fn code_in_table(text: &str) -> String {
    code(text).replace('|', "\\|")
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
        assert_eq!(cell("a|b<c>\nd"), "a&#124;b&lt;c&gt; d");
        assert_eq!(cell("x<y `a<b` &"), "x&lt;y `a<b` &amp;");
        assert_eq!(code("x"), "`x`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(code_in_table("a|b"), "`a\\|b`");
        assert_eq!(cell("a_b *c* [d](e)"), "a\\_b \\*c\\* \\[d\\](e)");
    }

    /// Issue 11: an odd run of backticks used to switch escaping off for the rest of
    /// the line, so `<img src=x>` in a name rendered as HTML in a pull request.
    #[test]
    fn an_odd_backtick_run_cannot_turn_escaping_off() {
        for text in [
            "image `x <img src=x onerror=alert(1)>",
            "a ``b` <b>bold</b>",
            "```` <script>x</script>",
            "`a` ` <i>x</i> `` `",
        ] {
            let md = cell(text);
            // Outside code spans nothing can open a tag; inside one it is literal.
            let outside: String = strip_code_spans(&md);
            assert!(!outside.contains('<'), "{text:?} → {md}");
        }
        // Code spans are paired like CommonMark pairs them, by run length.
        assert_eq!(cell("``a`b`` c"), "``a`b`` c");
        assert_eq!(cell("` lone"), "&#96; lone");
        assert_eq!(cell("`a`` <b>"), "&#96;a&#96;&#96; &lt;b&gt;");
    }

    /// Removes code spans the way CommonMark reads them from `md`.
    fn strip_code_spans(md: &str) -> String {
        let chars: Vec<char> = md.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '`' {
                let mut n = 0;
                while i + n < chars.len() && chars[i + n] == '`' {
                    n += 1;
                }
                let fence: String = "`".repeat(n);
                let rest: String = chars[i + n..].iter().collect();
                // The next run of exactly n backticks.
                let mut j = 0;
                let rc: Vec<char> = rest.chars().collect();
                let mut found = None;
                while j < rc.len() {
                    if rc[j] == '`' {
                        let mut m = 0;
                        while j + m < rc.len() && rc[j + m] == '`' {
                            m += 1;
                        }
                        if m == n {
                            found = Some(j);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match found {
                    Some(j) => i += n + j + n,
                    None => {
                        out.push_str(&fence);
                        i += n;
                    }
                }
            } else {
                out.push(chars[i]);
                i += 1;
            }
        }
        out
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
