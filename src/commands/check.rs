//! `buildproof check --against BASE`: snapshot, then diff against BASE. BASE is read
//! first, so a bad BASE fails before any hashing.

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::rules::Context;

pub(super) fn run(args: &CheckArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    if let (Some(manifest), Some(report)) = (&args.write_manifest, &args.report.output) {
        if manifest == report {
            anyhow::bail!(
                "`--write-manifest` and `--output` both name `{}`; give them different files",
                report.display()
            );
        }
    }
    let base = crate::load::manifest(&args.against)?;
    let config = Config::discover(args.config.config.as_deref())?;
    let new = crate::snapshot::take(&config, &super::sources(&args.registry))?;
    if let Some(path) = &args.write_manifest {
        crate::output::write_atomically(path, &new.to_json()?)?;
    }
    let report = super::diff_report("check", &base, &new, Context::today(Some(&config)));
    super::emit_report(&report, &args.report, io)
}
