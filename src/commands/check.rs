//! `buildproof check --against BASE`: snapshot, then diff against BASE. BASE is read
//! first, so a bad BASE fails before any hashing.

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::rules::Context;

pub(super) fn run(args: &CheckArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let base = crate::load::manifest(&args.against)?;
    let mut config = Config::discover(args.config.config.as_deref())?;
    super::apply_nix_drvs(&mut config, &args.nix)?;
    let outputs = [
        ("`--write-manifest`", args.write_manifest.as_deref()),
        ("`--output`", args.report.output.as_deref()),
    ];
    super::guard_outputs(
        &outputs,
        &[
            ("BASE", args.against.as_path()),
            ("the config", config.path.as_path()),
        ],
    )?;
    let new = crate::snapshot::take(&config, &super::sources(&args.registry))?;
    super::describe_snapshot(&new, io)?;
    super::guard_inputs(&outputs, &config, &new)?;
    if let Some(path) = &args.write_manifest {
        crate::output::write_atomically(path, &new.to_json()?)?;
    }
    let report = super::diff_report("check", &base, &new, Context::today(Some(&config)));
    super::emit_report(&report, &args.report, io)
}
