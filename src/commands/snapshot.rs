//! `buildproof snapshot`: write the manifest, stamped with where it came from (the
//! work tree's git commit, `--label`); exit 1 when the new build itself is broken.
//! With `--attach`, the manifest is then attached to the component images in
//! registries, whatever the verdict: it is the record of this build either way.

use crate::cli::{SnapshotArgs, SnapshotFormat};
use crate::config::Config;
use crate::report::{self, Format, RenderOptions, Report};
use crate::rules::{self, Context};

pub(super) fn run(args: &SnapshotArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let mut config = Config::discover(args.config.config.as_deref())?;
    super::apply_nix_drvs(&mut config, &args.nix)?;
    if args.attach {
        super::attached::plan_attach(&config)?;
    }
    let outputs = super::output_files_of(args.output.as_deref());
    super::guard_outputs(&outputs, &[("the config", config.path.as_path())])?;
    let mut manifest = crate::snapshot::take(&config, &super::sources(&args.registry))?;
    super::describe_snapshot(&manifest, io)?;
    super::guard_inputs(&outputs, &config, &manifest)?;
    super::stamp(&mut manifest, &config, args.label.as_deref());
    let bytes = match args.format {
        SnapshotFormat::Manifest => manifest.to_json()?,
        SnapshotFormat::InToto => crate::attest::statement(&manifest)?,
    };
    let output = args.output.as_deref().filter(|p| p.as_os_str() != "-");
    super::emit(output, &bytes, io)?;
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
    Ok(report.exit_code())
}
