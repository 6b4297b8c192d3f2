//! `buildproof diff BASE NEW`.

use crate::cli::DiffArgs;
use crate::config::Config;
use crate::rules::Context;

pub(super) fn run(args: &DiffArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let mut reads = vec![("BASE", args.base.as_path()), ("NEW", args.new.as_path())];
    if let Some(c) = &args.config {
        reads.push(("the config", c.as_path()));
    }
    super::guard_outputs(&[("`--output`", args.report.output.as_deref())], &reads)?;
    let base = crate::load::manifest(&args.base)?;
    let new = crate::load::manifest(&args.new)?;
    let config = Config::discover_optional(args.config.as_deref())?;
    let report = super::diff_report("diff", &base, &new, Context::today(config.as_ref()));
    super::emit_report(&report, &args.report, io)
}
