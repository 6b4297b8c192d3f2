//! `buildproof snapshot`: write the manifest; exit 1 if the new image cannot start.

use crate::cli::{SnapshotArgs, SnapshotFormat};
use crate::config::Config;
use crate::report::{self, Format, RenderOptions, Report};
use crate::rules::{self, Context, RuleId};

pub(super) fn run(args: &SnapshotArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let mut config = Config::discover(args.config.config.as_deref())?;
    super::apply_nix_drvs(&mut config, &args.nix)?;
    let outputs = [("`--output`", args.output.as_deref())];
    super::guard_outputs(&outputs, &[("the config", config.path.as_path())])?;
    let manifest = crate::snapshot::take(&config, &super::sources(&args.registry))?;
    super::describe_snapshot(&manifest, io)?;
    super::guard_inputs(&outputs, &config, &manifest)?;
    let bytes = match args.format {
        SnapshotFormat::Manifest => manifest.to_json()?,
        SnapshotFormat::InToto => crate::attest::statement(&manifest)?,
    };
    super::emit(args.output.as_deref(), &bytes, io)?;

    // The manifest owns stdout; what the snapshot alone can tell goes to stderr. Only
    // an image that cannot start fails a snapshot (SPEC.md); the rest is for `check`.
    let findings = rules::state(&manifest, Context::today(Some(&config)));
    let mut report = Report::new(
        "snapshot",
        manifest.components.keys().cloned().collect(),
        Vec::new(),
        findings,
    );
    report.fails_on = Some(vec![RuleId::StartupBroken]);
    if !report.findings.is_empty() {
        let mut text = Vec::new();
        report::render(&report, Format::Text, &RenderOptions::default(), &mut text)?;
        if io.verbosity == crate::cli::Verbosity::Quiet {
            text = super::verdict_only(&text);
        }
        io.stderr.write_all(&text)?;
    }
    Ok(report.exit_code())
}
