//! `buildproof diff BASE NEW`. Either may be an image (`docker://…@sha256:…`):
//! the manifest attached to it is read.

use crate::cli::DiffArgs;
use crate::config::Config;
use crate::rules::Context;

pub(super) fn run(args: &DiffArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    super::plan_reports(&args.report, &[])?;
    let mut reads = vec![("BASE", args.base.as_path()), ("NEW", args.new.as_path())];
    if let Some(c) = &args.config {
        reads.push(("the config", c.as_path()));
    }
    super::guard_outputs(&super::output_files(&args.report, &[]), &reads)?;
    let base = super::attached::read_manifest(&args.base, &args.registry)?;
    let new = super::attached::read_manifest(&args.new, &args.registry)?;
    let config = Config::discover_optional(args.config.as_deref())?;
    let mut report = super::diff_report(
        "diff",
        (&args.base.display().to_string(), &base.manifest),
        (&args.new.display().to_string(), &new.manifest),
        Context::today(config.as_ref()),
    );
    super::attached::note_attached("base", &base, &mut report, io)?;
    super::attached::note_attached("new", &new, &mut report, io)?;
    super::emit_report(report, &args.report, io)
}
