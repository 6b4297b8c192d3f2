//! `buildproof check --against BASE`: snapshot, then diff against BASE. BASE is read
//! first, so a bad BASE fails before any hashing.

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::manifest::Manifest;
use crate::report::Report;
use crate::rules::{self, Context};

pub(super) fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let base = Manifest::read(&args.against)?;
    let config = Config::discover(args.config.config.as_deref())?;
    let new = crate::snapshot::take(&config)?;
    if let Some(path) = &args.write_manifest {
        crate::output::write_atomically(path, &new.to_json()?)?;
    }
    let findings = rules::diff(&base, &new, Context::today(Some(&config)));
    let subjects = base
        .components
        .keys()
        .chain(new.components.keys())
        .cloned()
        .collect::<std::collections::BTreeSet<_>>();
    let report = Report::new(
        "check",
        subjects.into_iter().collect(),
        rules::DIFF_RULES.to_vec(),
        findings,
    );
    super::emit_report(&report, &args.report)
}
