//! `--format github`: GitHub Actions workflow commands, one annotation per finding:
//! `::error file=web/Dockerfile,line=7,title=startup-changed (web)::message`.
//! Errors are `error`, warnings `warning`, notes (accepted findings) `notice`.
//! `file` is repository-relative (see [`super::repo_relative`]) so the annotation lands
//! on the line in the pull request's diff; `line` only with a file.
//!
//! Escaping follows the Actions toolkit (`@actions/core`, `command.ts`): in the
//! message `%`, `\r`, `\n` become `%25`, `%0D`, `%0A`; in property values also `:`
//! and `,` become `%3A` and `%2C`. Before the annotations, the releases compared;
//! after them, for `diff` and `check`, the changes in brief as plain log lines (text
//! from files is made log-safe: no line can start a workflow command). The last line
//! is the same verdict `text` prints.

use std::io;

use super::{Paths, Report};
use crate::model::finding::{Finding, Level};

pub(super) fn render(report: &Report, paths: &Paths, out: &mut dyn io::Write) -> io::Result<()> {
    if let Some(releases) = super::releases_line(&report.releases) {
        writeln!(
            out,
            "buildproof {}: {}",
            report.command,
            super::log_safe(&releases)
        )?;
    }
    for f in &report.findings {
        writeln!(out, "{}", command(f, paths))?;
    }
    // `diff` and `check`: the changes in brief, as plain log lines.
    if let Some(changes) = &report.changes {
        for c in changes
            .iter()
            .filter(|c| c.status != crate::model::changes::Status::Unchanged)
        {
            for line in super::text::brief(c) {
                writeln!(out, "{}", super::log_safe(&line))?;
            }
        }
    }
    let s = report.summary();
    writeln!(
        out,
        "buildproof {}: {}: {} checked, {}",
        report.command,
        if report.exit_code() == 1 {
            "FAIL"
        } else {
            "ok"
        },
        report.subjects.len(),
        s.counts()
    )
}

fn command(f: &Finding, paths: &Paths) -> String {
    let name = match f.level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "notice",
    };
    let mut props = Vec::new();
    if let Some(loc) = f.location.clone() {
        props.push(format!(
            "file={}",
            escape_property(&super::repo_relative(&loc.file, paths))
        ));
        if let Some(line) = loc.line {
            props.push(format!("line={line}"));
        }
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("{} ({})", f.rule, f.component))
    ));
    let mut message = f.message.clone();
    if let Some(help) = f.help.as_deref() {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    message.push_str("\nfingerprint: ");
    message.push_str(&f.fingerprint.to_string());
    format!("::{name} {}::{}", props.join(","), escape_data(&message))
}

/// `escapeData` of the Actions toolkit.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `escapeProperty` of the Actions toolkit.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_actions_toolkit_does() {
        assert_eq!(escape_data("50% a\r\nb:c,d"), "50%25 a%0D%0Ab:c,d");
        assert_eq!(escape_property("50% a\r\nb:c,d"), "50%25 a%0D%0Ab%3Ac%2Cd");
    }
}
