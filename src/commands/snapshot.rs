//! `buildproof snapshot`: write the manifest, stamped with where it came from (the
//! work tree's git commit, `--label`); exit 1 when the new build itself is broken.
//! With `--attach`, the manifest is then attached to the component images in
//! registries, whatever the verdict: it is the record of this build either way.
//! `--component` and `--shard` take a part of the config, for CI jobs that snapshot
//! in parallel and `merge` the parts.

use std::collections::BTreeSet;

use crate::cli::{Shard, SnapshotArgs, SnapshotFormat};
use crate::config::Config;
use crate::report::{self, Format, RenderOptions, Report};
use crate::rules::{self, Context};

pub(super) fn run(args: &SnapshotArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let mut config = Config::discover(args.config.config.as_deref())?;
    super::apply_nix_drvs(&mut config, &args.nix)?;
    keep_components(&mut config, &args.components, args.shard)?;
    if args.attach {
        super::attached::plan_attach(&config)?;
    }
    let outputs = super::output_files_of(args.output.as_deref());
    super::guard_outputs(&outputs, &[("the config", config.path.as_path())])?;
    let mut manifest = super::take_snapshot(&config, &args.hashing, &args.registry, io)?;
    super::describe_snapshot(&manifest, io)?;
    super::guard_inputs(&outputs, &config, &manifest)?;
    super::stamp(&mut manifest, &config, args.label.as_deref());
    let output = args.output.as_deref().filter(|p| p.as_os_str() != "-");
    match args.format {
        SnapshotFormat::Manifest => super::emit_manifest(output, &manifest, io)?,
        SnapshotFormat::InToto => {
            let bytes = crate::attest::statement(&manifest)?;
            super::emit(output, &bytes, io)?;
        }
    }
    if args.attach {
        super::attached::attach_manifest(&config, &manifest, &args.registry, io)?;
    }

    // The manifest owns stdout; what the snapshot alone can tell goes to stderr. The
    // state rules are exactly the findings about the new build itself (SPEC.md,
    // Commands): at error level `startup-broken`, `store-mismatch`,
    // `output-not-current` and `library-missing` fail the snapshot; what changed since
    // a release is for `check`.
    let findings = rules::state(&manifest, Context::today(Some(&config)));
    let mut report = Report::new(
        "snapshot",
        manifest.components.keys().cloned().collect(),
        Vec::new(),
        findings,
    );
    report.fail_on = args.fail_on;
    if !report.findings.is_empty() {
        let mut text = Vec::new();
        report::render(&report, Format::Text, &RenderOptions::default(), &mut text)?;
        if io.verbosity == crate::cli::Verbosity::Quiet {
            text = super::verdict_only(&text);
        }
        io.stderr.write_all(&text)?;
    }
    // Freeing a manifest of 60,000 records one allocation at a time takes a
    // hundredth of the run, and the process ends next: it is freed off the way.
    std::thread::spawn(move || drop(manifest));
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
