//! `--format gitlab`: GitLab's Code Quality report (a JSON array of issues, the subset
//! of the Code Climate spec GitLab reads; <https://docs.gitlab.com/ci/testing/code_quality/>),
//! for `artifacts:reports:codequality`. GitLab requires of each issue `description`,
//! `check_name`, `fingerprint`, `severity` and `location.path` with
//! `location.lines.begin`; it shows the issue on that line of the merge request's diff.
//!
//! - `severity`: error → `critical`, warning → `minor`, note (an accepted finding) →
//!   `info`; GitLab's scale is `info`, `minor`, `major`, `critical`, `blocker`.
//! - `location.path` is repository-relative (see [`super::repo_relative`]); a finding
//!   without a location is anchored at `buildproof.toml` line 1, where it is fixed or
//!   accepted, since GitLab drops an issue without a path.
//! - `fingerprint` is the finding's own (hex, without `sha256:`), which GitLab uses to
//!   tell new issues from old ones across pipelines. GitLab keeps only the first issue
//!   of a fingerprint, so a repeated one is re-hashed with its position.

use std::collections::HashSet;
use std::io;

use serde_json::{Value, json};

use super::{Paths, Report};
use crate::digest::Digest;
use crate::model::finding::{Finding, Level};

/// Where a finding without a location is anchored.
const FALLBACK_PATH: &str = "buildproof.toml";

pub(super) fn render(report: &Report, paths: &Paths, out: &mut dyn io::Write) -> io::Result<()> {
    let mut seen = HashSet::new();
    let issues: Vec<Value> = report
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut fingerprint = f.fingerprint.hex();
            if !seen.insert(fingerprint.clone()) {
                fingerprint = Digest::of(format!("{fingerprint}\0{i}").as_bytes()).hex();
                seen.insert(fingerprint.clone());
            }
            issue(f, fingerprint, paths)
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues)?;
    out.write_all(b"\n")
}

fn issue(f: &Finding, fingerprint: String, paths: &Paths) -> Value {
    let (path, line) = match f.location.clone() {
        Some(loc) => (
            super::repo_relative(&loc.file, paths),
            loc.line.unwrap_or(1),
        ),
        None => (FALLBACK_PATH.to_owned(), 1),
    };
    let mut description = format!("{} ({}): {}", f.rule, f.component, f.message);
    if let Some(help) = f.help.as_deref() {
        description.push_str(" — ");
        description.push_str(help);
    }
    json!({
        "description": description,
        "check_name": f.rule.as_str(),
        "fingerprint": fingerprint,
        "severity": match f.level {
            Level::Error => "critical",
            Level::Warning => "minor",
            Level::Note => "info",
        },
        "location": {"path": path, "lines": {"begin": line.max(1)}},
    })
}
