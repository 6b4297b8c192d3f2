//! `buildproof snapshot`: write the manifest; exit 1 if the new image cannot start.
//! `--component` and `--shard` take a part of the config, for CI jobs that snapshot
//! in parallel and `merge` the parts.

use std::collections::BTreeSet;

use crate::cli::{Shard, SnapshotArgs, SnapshotFormat};
use crate::config::Config;
use crate::report::{self, Format, RenderOptions, Report};
use crate::rules::{self, Context, RuleId};

pub(super) fn run(args: &SnapshotArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let mut config = Config::discover(args.config.config.as_deref())?;
    keep_components(&mut config, &args.components, args.shard)?;
    let manifest = super::take_snapshot(&config, &args.hashing, io)?;
    match args.format {
        SnapshotFormat::Manifest => super::emit_manifest(args.output.as_deref(), &manifest, io)?,
        SnapshotFormat::InToto => {
            let bytes = crate::attest::statement(&manifest)?;
            super::emit(args.output.as_deref(), &bytes, io)?;
        }
    }

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
        io.stderr.write_all(&text)?;
    }
    Ok(report.exit_code())
}

/// Narrows the config to the components named with `--component` (all when none is
/// named), then to shard I of N of those: sorted by name, the k-th (0-based) goes to
/// shard `k mod N + 1`. Deterministic, and every component is in exactly one shard.
fn keep_components(
    config: &mut Config,
    names: &[String],
    shard: Option<Shard>,
) -> anyhow::Result<()> {
    if !names.is_empty() {
        let known: BTreeSet<&str> = config.components.iter().map(|c| c.name.as_str()).collect();
        if let Some(unknown) = names.iter().find(|n| !known.contains(n.as_str())) {
            anyhow::bail!(
                "`--component {unknown}`: `{}` has no such component (it has: {})",
                config.path.display(),
                known.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
        let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        config
            .components
            .retain(|c| wanted.contains(c.name.as_str()));
    }
    if let Some(Shard { index, count }) = shard {
        let mut sorted: Vec<&str> = config.components.iter().map(|c| c.name.as_str()).collect();
        sorted.sort_unstable();
        let mine: BTreeSet<String> = sorted
            .iter()
            .enumerate()
            .filter(|(k, _)| k % count + 1 == index)
            .map(|(_, n)| (*n).to_owned())
            .collect();
        config.components.retain(|c| mine.contains(&c.name));
    }
    Ok(())
}
