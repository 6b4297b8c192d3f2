//! `buildproof check --against BASE`: snapshot, then diff against BASE. BASE is read
//! first, so a bad BASE fails before any hashing; the outputs are checked first of
//! all, so two of them naming one file fail before anything is read. BASE may be an
//! image (`docker://…@sha256:…`, the digest that runs): the manifest attached to it
//! is read. With `--attach`, a build with no error-level finding is attached to its
//! images; one with errors is not (whatever `--fail-on` says), since attaching a
//! stale build would record it as this image's build and hide the staleness from
//! the next check against the image.

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::model::finding::Level;
use crate::rules::Context;

pub(super) fn run(args: &CheckArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let taken: Vec<(&str, &std::path::Path)> = args
        .write_manifest
        .as_deref()
        .map(|p| ("`--write-manifest`", p))
        .into_iter()
        .collect();
    super::plan_reports(&args.report, &taken)?;
    let base = super::attached::read_manifest(&args.against, &args.registry)?;
    let mut config = Config::discover(args.config.config.as_deref())?;
    super::apply_nix_drvs(&mut config, &args.nix)?;
    if args.attach {
        super::attached::plan_attach(&config)?;
    }
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
    let mut new = super::take_snapshot(&config, &args.hashing, &args.registry, io)?;
    super::describe_snapshot(&new, io)?;
    super::guard_inputs(&outputs, &config, &new)?;
    super::stamp(&mut new, &config, args.label.as_deref());
    if let Some(path) = &args.write_manifest {
        super::emit_manifest(Some(path), &new, io)?;
    }
    let mut report = super::diff_report(
        "check",
        (&args.against.display().to_string(), &base.manifest),
        ("this build", &new),
        Context::today(Some(&config)),
    );
    super::attached::note_attached("base", &base, &mut report, io)?;
    let clean = !report.findings.iter().any(|f| f.level == Level::Error);
    let code = super::emit_report(report, &args.report, io)?;
    if args.attach {
        if clean {
            super::attached::attach_manifest(&config, &new, &args.registry, io)?;
        } else {
            writeln!(
                io.stderr,
                "buildproof: not attached: the check found errors, and a build is attached to its images only when it has none"
            )?;
        }
    }
    Ok(code)
}
