//! `buildproof image inspect|diff`.
//!
//! `inspect` reads one image (every blob verified) and reports its digests, startup
//! fields and static startup verification. `diff` reads two, compares their startup
//! fields with the same rules `diff`/`check` use, and lists the file-level difference
//! of their merged filesystems: summarised in text, complete in JSON; a startup
//! finding of NEW names the changed files that cause it. Findings carry the image
//! reference as typed in `component` (SPEC.md).

use std::path::Path;

use crate::cli::{ImageCommand, ReportArgs};
use crate::image::{self, Options, Sources};
use crate::model::finding::{Finding, Location};
use crate::report::{self, Report};
use crate::rules::{RuleId, image as image_rules};

pub(super) fn run(cmd: ImageCommand, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    match cmd {
        ImageCommand::Inspect {
            image,
            report,
            registry,
        } => inspect(&image, &report, &super::sources(&registry), io),
        ImageCommand::Diff {
            old,
            new,
            report,
            registry,
        } => diff(&old, &new, &report, &super::sources(&registry), io),
    }
}

/// Without a config or Dockerfile, the place to look is the image itself: findings
/// point at its layout or archive, so SARIF and GitHub annotations name it rather
/// than a config file the run never read. An image in a registry or an engine is
/// no file: its findings carry no location.
fn at_image(findings: Vec<Finding>, reference: &str) -> Vec<Finding> {
    let Ok(image::reference::Source::Local { at, .. }) =
        image::reference::source(Path::new("."), reference)
    else {
        return findings;
    };
    let path = at.path;
    let location = Location {
        file: path
            .strip_prefix(".")
            .unwrap_or(&path)
            .display()
            .to_string(),
        line: None,
    };
    findings
        .into_iter()
        .map(|f| {
            if f.location.clone().is_some() {
                f
            } else {
                f.with_location(Some(location.clone()))
            }
        })
        .collect()
}

fn inspect(
    reference: &str,
    args: &ReportArgs,
    sources: &Sources,
    io: &mut super::Streams<'_>,
) -> anyhow::Result<u8> {
    super::plan_reports(args, &[])?;
    let img = image::load(Path::new("."), reference, Options::default(), sources)?;
    let r = &img.record;
    let command = image::startup::command_path(&r.startup, &img.fs);
    let findings = at_image(image_rules::state(reference, r, None), reference);
    let mut report = Report::new(
        "image inspect",
        vec![reference.to_owned()],
        vec![RuleId::StartupBroken, RuleId::LibraryMissing],
        findings,
    );
    report.facts = report::image::inspect_facts(reference, r, command.as_deref(), false);
    report.facts_in_full = Some(report::image::inspect_facts(
        reference,
        r,
        command.as_deref(),
        true,
    ));
    super::emit_report(report, args, io)
}

fn diff(
    old_ref: &str,
    new_ref: &str,
    args: &ReportArgs,
    sources: &Sources,
    io: &mut super::Streams<'_>,
) -> anyhow::Result<u8> {
    super::plan_reports(args, &[])?;
    let opts = Options::default();
    let old = image::load(Path::new("."), old_ref, opts, sources)?;
    let new = image::load(Path::new("."), new_ref, opts, sources)?;
    let diff = image::diff::diff(&old, old_ref, &new, new_ref);
    let mut findings = image_rules::compare(new_ref, &old.record, &new.record);
    // A startup finding names the files that changed since OLD and cause it.
    findings.extend(image_rules::state_since(new_ref, &new.record, &diff.files));
    let findings = at_image(findings, new_ref);
    let mut report = Report::new(
        "image diff",
        vec![new_ref.to_owned()],
        vec![
            RuleId::StartupChanged,
            RuleId::EnvChanged,
            RuleId::StartupBroken,
            RuleId::LibraryMissing,
        ],
        findings,
    );
    report.facts = report::image::diff_facts(&diff, false);
    report.facts_in_full = Some(report::image::diff_facts(&diff, true));
    super::emit_report(report, args, io)
}
