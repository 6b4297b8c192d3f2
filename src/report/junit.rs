//! `--format junit`: JUnit XML as Jenkins, GitLab, Azure Pipelines and the JUnit
//! report actions read it.
//!
//! `<testsuites>` holds one `<testsuite>` per subject (component, or image reference)
//! and in it one `<testcase>` per check (rule) the command evaluated, so a dashboard
//! shows every check that passed, not only the ones that failed. An error-level
//! finding is a `<failure>` (type = rule id, message = the finding's message, body =
//! every finding of that rule with its repository-relative location, details and
//! fingerprint).
//!
//! Warnings and notes do not fail the run (exit 0), so they do not fail their test
//! case either: a red test for a green build would teach people to ignore the report.
//! They go to the test case's `<system-out>`, which every JUnit viewer shows with the
//! case. A finding about a subject or rule the report did not list still gets its
//! suite and case, so nothing is dropped.
//!
//! For `diff` and `check`, each suite's `<system-out>` says what changed in the
//! component, in brief, and the `<testsuites>` name carries the releases compared.
//!
//! Text is escaped for XML 1.0; characters XML cannot hold at all (control characters
//! other than tab and newline) become U+FFFD.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io;

use super::{Paths, Report};
use crate::model::RuleId;
use crate::model::finding::{Finding, Level};

pub(super) fn render(report: &Report, paths: &Paths, out: &mut dyn io::Write) -> io::Result<()> {
    // One grouping pass: per subject its findings, per finding its rule (linear in
    // subjects and findings; 100,000 subjects render in well under a second).
    let grouped = report.by_subject();
    let changes: HashMap<&str, &crate::model::changes::ComponentChanges> = report
        .changes
        .iter()
        .flatten()
        .map(|c| (c.component.as_str(), c))
        .collect();
    let mut suites = String::new();
    let (mut total_tests, mut total_failures) = (0, 0);
    for subject in &grouped.subjects {
        let findings: Vec<&Finding> = grouped
            .findings(subject)
            .iter()
            .map(|&i| &report.findings[i])
            .collect();
        let mut checks: Vec<RuleId> = report.checks.clone();
        let mut by_rule: BTreeMap<RuleId, Vec<&Finding>> = BTreeMap::new();
        for f in &findings {
            if !checks.contains(&f.rule) {
                checks.push(f.rule);
            }
            by_rule.entry(f.rule).or_default().push(f);
        }
        let mut cases = String::new();
        let mut failures = 0;
        for rule in &checks {
            let of_rule = by_rule.get(rule).map_or(&[][..], Vec::as_slice);
            let errors: Vec<&Finding> = of_rule
                .iter()
                .copied()
                .filter(|f| f.level == Level::Error)
                .collect();
            let others: Vec<&Finding> = of_rule
                .iter()
                .copied()
                .filter(|f| f.level != Level::Error)
                .collect();
            let _ = write!(
                cases,
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml(rule.as_str()),
                xml(&format!("buildproof.{}.{subject}", report.command))
            );
            if errors.is_empty() && others.is_empty() {
                cases.push_str("/>\n");
                continue;
            }
            cases.push_str(">\n");
            if let Some(first) = errors.first() {
                failures += 1;
                let message = if errors.len() == 1 {
                    first.message.clone()
                } else {
                    format!("{} (and {} more)", first.message, errors.len() - 1)
                };
                let body: Vec<String> = errors.iter().map(|f| describe(f, paths)).collect();
                let _ = writeln!(
                    cases,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    xml(rule.as_str()),
                    xml(&message),
                    xml(&body.join("\n"))
                );
            }
            if !others.is_empty() {
                let body: Vec<String> = others.iter().map(|f| describe(f, paths)).collect();
                let _ = writeln!(
                    cases,
                    "      <system-out>{}</system-out>",
                    xml(&body.join("\n"))
                );
            }
            cases.push_str("    </testcase>\n");
        }
        total_tests += checks.len();
        total_failures += failures;
        // `diff` and `check`: what changed in the component, in brief, beside its
        // checks (the suite's output, which every JUnit viewer shows).
        if let Some(c) = changes.get(subject) {
            let _ = writeln!(
                cases,
                "    <system-out>{}</system-out>",
                xml(&super::text::brief(c).join("\n"))
            );
        }
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n{cases}  </testsuite>\n",
            xml(subject),
            checks.len(),
        );
    }

    let mut doc = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        doc,
        "<testsuites name=\"{}\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"0\">",
        xml(&match super::releases_line(&report.releases) {
            Some(releases) => format!("buildproof {}: {releases}", report.command),
            None => format!("buildproof {}", report.command),
        }),
    );
    doc.push_str(&suites);
    doc.push_str("</testsuites>\n");
    out.write_all(doc.as_bytes())
}

/// One finding as plain text: headline, location, details, fingerprint.
fn describe(f: &Finding, paths: &Paths) -> String {
    let mut text = format!("{}[{}] {}: {}", f.level, f.rule, f.component, f.message);
    if let Some(loc) = f.location.clone() {
        let file = super::repo_relative(&loc.file, paths);
        match loc.line {
            Some(line) => {
                let _ = write!(text, "\n  --> {file}:{line}");
            }
            None => {
                let _ = write!(text, "\n  --> {file}");
            }
        }
    }
    for (key, value) in &f.flat_details() {
        if matches!(key.as_str(), "location" | "help") {
            continue;
        }
        let _ = write!(
            text,
            "\n  {key}: {}",
            super::without_unset_expiry(value.clone())
        );
    }
    if let Some(help) = f.help.as_deref() {
        let _ = write!(text, "\n  help: {help}");
    }
    let _ = write!(text, "\n  fingerprint: {}", f.fingerprint);
    text
}

/// Escapes text for an XML 1.0 attribute value or element content.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept literally in content; in attributes a literal newline would be
            // normalised to a space by the parser, so it is written as a reference.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {
                out.push('\u{FFFD}');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            xml("a<b>&\"c'\n\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;\u{FFFD}"
        );
    }
}
