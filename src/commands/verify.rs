//! `buildproof verify BUILT --running RUNNING`: what runs must be what was built.
//! BUILT is a manifest (or an in-toto statement of one, or an image whose attached
//! manifest is read); RUNNING is any running state `deploy::read` detects. With
//! `--identify-running`, each container that runs another image is named by the
//! release attached to its running digest.

use crate::cli::VerifyArgs;
use crate::config::Config;
use crate::deploy;
use crate::report::Report;
use crate::rules::{self, Context};

pub(super) fn run(args: &VerifyArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let mut reads = vec![
        ("BUILT", args.built.as_path()),
        ("RUNNING", args.running.as_path()),
    ];
    if let Some(c) = &args.config {
        reads.push(("the config", c.as_path()));
    }
    super::guard_outputs(&[("`--output`", args.report.output.as_deref())], &reads)?;
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
        "running".into(),
        serde_json::Value::from(format!("{} ({})", args.running.display(), running.format())),
    );
    super::attached::note_attached("built", &loaded, &mut report, io)?;
    super::emit_report(&report, &args.report, io)
}
