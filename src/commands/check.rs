//! `buildproof check --against BASE`: snapshot, then diff against BASE. BASE is read
//! first, so a bad BASE fails before any hashing. BASE may be an image
//! (`docker://…@sha256:…`, the digest that runs): the manifest attached to it is
//! read. With `--attach`, a build that passes is attached to its images; one that
//! fails is not, since attaching it would record a stale artifact as this image's
//! build and hide the staleness from the next check against the image.

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::rules::Context;

pub(super) fn run(args: &CheckArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let base = super::attached::read_manifest(&args.against, &args.registry)?;
    let config = Config::discover(args.config.config.as_deref())?;
    if args.attach {
        super::attached::plan_attach(&config)?;
    }
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
    super::guard_inputs(&outputs, &config, &new)?;
    if let Some(path) = &args.write_manifest {
        crate::output::write_atomically(path, &new.to_json()?)?;
    }
    let mut report =
        super::diff_report("check", &base.manifest, &new, Context::today(Some(&config)));
    super::attached::note_attached("base", &base, &mut report, io)?;
    let code = super::emit_report(&report, &args.report, io)?;
    if args.attach {
        if code == 0 {
            super::attached::attach_manifest(&config, &new, &args.registry, io)?;
        } else {
            writeln!(
                io.stderr,
                "buildproof: not attached: the check failed, and a build is attached to its images only when it passes"
            )?;
        }
    }
    Ok(code)
}
