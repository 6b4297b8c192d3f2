//! `buildproof snapshot`: write the manifest; exit 1 if the new image cannot start.

use crate::cli::{SnapshotArgs, SnapshotFormat};
use crate::config::Config;
use crate::report::{self, Format, Report};
use crate::rules::{self, Context, RuleId};

pub(super) fn run(args: &SnapshotArgs) -> anyhow::Result<u8> {
    let config = Config::discover(args.config.config.as_deref())?;
    let manifest = crate::snapshot::take(&config)?;
    let bytes = match args.format {
        SnapshotFormat::Manifest => manifest.to_json()?,
        SnapshotFormat::InToto => crate::attest::statement(&manifest)?,
    };
    crate::output::emit(args.output.as_deref(), &bytes)?;

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
        report::render(&report, Format::Text, false, &mut text)?;
        std::io::Write::write_all(&mut std::io::stderr(), &text)?;
    }
    Ok(report.exit_code())
}
