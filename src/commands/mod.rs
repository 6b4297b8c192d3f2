//! Carrying out each command: resolve arguments into a plan, do the work through the
//! library modules, and hand a [`Report`](crate::report::Report) to `report/`. Returns
//! the exit code of a judged run; an `Err` means the run could not be judged (exit 2).

mod check;
mod diff;
mod dockerfile;
mod image;
mod nar_hash;
mod snapshot;
mod verify;

use std::collections::BTreeSet;
use std::io::Write;

use crate::cli::{Cli, Command, RegistryArgs, ReportArgs};
use crate::model::manifest::Manifest;
use crate::report::{self, Format, Paths, RenderOptions, Report};
use crate::rules::{self, Context};

/// Where a command's output goes, and how: the binary owns the process's streams
/// and decides colour once; the library writes only here.
pub struct Streams<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Whether text written to `stdout` may use ANSI colour.
    pub color: bool,
}

/// Runs one command line.
pub fn run(cli: Cli, io: &mut Streams<'_>) -> anyhow::Result<u8> {
    match cli.command {
        Command::Snapshot(args) => snapshot::run(&args, io),
        Command::Diff(args) => diff::run(&args, io),
        Command::Check(args) => check::run(&args, io),
        Command::Verify(args) => verify::run(&args, io),
        Command::Image(cmd) => image::run(cmd, io),
        Command::Dockerfile(cmd) => dockerfile::run(cmd, io),
        Command::NarHash(args) => nar_hash::run(&args, io),
    }
}

/// How images in registries and engines are reached, from the flags.
pub(crate) fn sources(args: &RegistryArgs) -> crate::image::Sources {
    let mut opts = crate::registry::Options {
        tls_verify: args.tls_verify,
        cert_dir: args.cert_dir.clone(),
        auth_file: args.authfile.clone(),
        ..crate::registry::Options::default()
    };
    if let Some(p) = &args.platform {
        opts.platform = p.clone();
    }
    crate::image::Sources::new(opts)
}

/// The report of `diff` and `check`: BASE against NEW under the diff rules, every
/// component of either manifest a subject.
pub(crate) fn diff_report(
    command: &str,
    base: &Manifest,
    new: &Manifest,
    ctx: Context<'_>,
) -> Report {
    let findings = rules::diff(base, new, ctx);
    let subjects: BTreeSet<String> = base
        .components
        .keys()
        .chain(new.components.keys())
        .cloned()
        .collect();
    Report::new(
        command,
        subjects.into_iter().collect(),
        rules::diff_rules(),
        findings,
    )
}

/// Renders `report` as `--format` asks and writes it to `--output` (atomically) or
/// stdout. Returns the report's exit code.
pub(crate) fn emit_report(
    report: &Report,
    args: &ReportArgs,
    io: &mut Streams<'_>,
) -> anyhow::Result<u8> {
    let options = RenderOptions {
        color: io.color && args.format == Format::Text && args.output.is_none(),
        paths: Paths::here(),
    };
    let mut bytes = Vec::new();
    report::render(report, args.format, &options, &mut bytes)?;
    emit(args.output.as_deref(), &bytes, io)?;
    Ok(report.exit_code())
}

/// Sends `bytes` to `path` (atomically) or, without one, to stdout.
pub(crate) fn emit(
    path: Option<&std::path::Path>,
    bytes: &[u8],
    io: &mut Streams<'_>,
) -> anyhow::Result<()> {
    match path {
        Some(p) => crate::output::write_atomically(p, bytes)?,
        None => io
            .stdout
            .write_all(bytes)
            .and_then(|()| io.stdout.flush())
            .map_err(|e| anyhow::anyhow!(e).context("cannot write to stdout"))?,
    }
    Ok(())
}
