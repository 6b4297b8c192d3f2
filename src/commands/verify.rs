//! `buildproof verify BUILT --running RUNNING`: what runs must be what was built.
//! BUILT is a manifest (or an in-toto statement of one, or an image whose attached
//! manifest is read); RUNNING is any running state `deploy::read` detects. With
//! `--identify-running`, each container that runs another image is named by the
//! release attached to its running digest.

use crate::cli::VerifyArgs;
use crate::config::Config;
use crate::deploy;
use crate::model::finding::Level;
use crate::model::running::Running;
use crate::report::{Release, Report};
use crate::rules::{self, Context};

pub(super) fn run(args: &VerifyArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let mut reads = vec![
        ("BUILT", args.built.as_path()),
        ("RUNNING", args.running.as_path()),
    ];
    if let Some(c) = &args.config {
        reads.push(("the config", c.as_path()));
    }
    super::guard_outputs(&super::output_files(&args.report, &[]), &reads)?;
    let loaded = super::attached::read_manifest(&args.built, &args.registry)?;
    let mut built = loaded.manifest.clone();
    if !args.components.is_empty() {
        if let Some(unknown) = args
            .components
            .iter()
            .find(|c| !built.components.contains_key(*c))
        {
            anyhow::bail!(
                "`--component {unknown}`: `{}` has no such component (it has: {})",
                args.built.display(),
                built
                    .components
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        built
            .components
            .retain(|name, _| args.components.contains(name));
    }
    super::plan_reports(&args.report, &[])?;
    let running = deploy::read(&args.running)?;
    let config = Config::discover_optional(args.config.as_deref())?;
    let mut findings = rules::verify(&built, &running, Context::today(config.as_ref()));
    if args.identify_running {
        findings = super::attached::identify_running(findings, &running, &args.registry)?;
    }
    let mut report = Report::new(
        "verify",
        built.components.keys().cloned().collect(),
        rules::deploy::VERIFY_RULES.to_vec(),
        findings,
    );
    report.facts.insert(
        "running",
        serde_json::Value::from(format!("{} ({})", args.running.display(), running.format())),
    );
    let built_release = Release::of("built", &args.built.display().to_string(), &built);
    report.facts.insert(
        "running_release",
        serde_json::Value::from(running_release(&report, &built_release)),
    );
    report.releases.push(built_release);
    if let Running::Manifest(deployed) = &running {
        report.releases.push(Release::of(
            "running",
            &args.running.display().to_string(),
            deployed,
        ));
    }
    super::attached::note_attached("built", &loaded, &mut report, io)?;
    super::emit_report(report, &args.report, io)
}

/// Which release runs, as far as the running state shows: the built one for every
/// component verified to run its built artifacts (no finding above a note), and
/// which components do not.
fn running_release(report: &Report, built: &Release) -> String {
    let mut as_built = Vec::new();
    let mut other = Vec::new();
    let grouped = report.by_subject();
    for subject in &grouped.subjects {
        let judged = grouped
            .findings(subject)
            .iter()
            .any(|&i| report.findings[i].level > Level::Note);
        if judged {
            other.push(*subject);
        } else {
            as_built.push(*subject);
        }
    }
    let list = |names: &[&str]| {
        let mut shown: Vec<String> = names.iter().take(10).map(|n| format!("`{n}`")).collect();
        if names.len() > 10 {
            shown.push(format!("and {} more", names.len() - 10));
        }
        shown.join(", ")
    };
    match (as_built.is_empty(), other.is_empty()) {
        (false, true) => format!("{} runs: {}", built.describe(), list(&as_built)),
        (false, false) => format!(
            "{} runs: {}; not verified as built: {}",
            built.describe(),
            list(&as_built),
            list(&other)
        ),
        (true, _) => format!(
            "not {}: no component was verified to run as built",
            built.describe()
        ),
    }
}
