//! `buildproof diff BASE NEW`.

use crate::cli::DiffArgs;
use crate::config::Config;
use crate::manifest::Manifest;
use crate::report::Report;
use crate::rules::{self, Context};

pub(super) fn run(args: &DiffArgs) -> anyhow::Result<u8> {
    let base = Manifest::read(&args.base)?;
    let new = Manifest::read(&args.new)?;
    let config = Config::discover_optional(args.config.as_deref())?;
    let findings = rules::diff(&base, &new, Context::today(config.as_ref()));
    let subjects = base
        .components
        .keys()
        .chain(new.components.keys())
        .cloned()
        .collect::<std::collections::BTreeSet<_>>();
    let report = Report::new(
        "diff",
        subjects.into_iter().collect(),
        rules::DIFF_RULES.to_vec(),
        findings,
    );
    super::emit_report(&report, &args.report)
}
