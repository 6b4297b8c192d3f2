//! `buildproof check --against BASE`: snapshot, then diff against BASE. BASE is read
//! first, so a bad BASE fails before any hashing; the outputs are checked first of
//! all, so two of them naming one file fail before anything is read.

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::rules::Context;

pub(super) fn run(args: &CheckArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let taken: Vec<(&str, &std::path::Path)> = args
        .write_manifest
        .as_deref()
        .map(|p| ("`--write-manifest`", p))
        .into_iter()
        .collect();
    super::plan_reports(&args.report, &taken)?;
    let base = crate::load::manifest(&args.against)?;
    let config = Config::discover(args.config.config.as_deref())?;
    let outputs = super::output_files(
        &args.report,
        &[("`--write-manifest`", args.write_manifest.as_deref())],
    );
    super::guard_outputs(
        &outputs,
        &[
            ("BASE", args.against.as_path()),
            ("the config", config.path.as_path()),
        ],
    )?;
    let mut new = crate::snapshot::take(&config, &super::sources(&args.registry))?;
    super::guard_inputs(&outputs, &config, &new)?;
    super::stamp(&mut new, &config, args.label.as_deref());
    if let Some(path) = &args.write_manifest {
        crate::output::write_atomically(path, &new.to_json()?)?;
    }
    let report = super::diff_report(
        "check",
        (&args.against.display().to_string(), &base),
        ("this build", &new),
        Context::today(Some(&config)),
    );
    super::emit_report(report, &args.report, io)
}
