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
use std::io::IsTerminal as _;

use crate::cli::{Cli, Command, ReportArgs};
use crate::model::manifest::Manifest;
use crate::report::{self, Format, Report};
use crate::rules::{self, Context};

/// Runs one command line.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Snapshot(args) => snapshot::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Image(cmd) => image::run(cmd),
        Command::Dockerfile(cmd) => dockerfile::run(cmd),
        Command::NarHash(args) => nar_hash::run(&args),
    }
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
pub(crate) fn emit_report(report: &Report, args: &ReportArgs) -> anyhow::Result<u8> {
    let color = args.format == Format::Text
        && args.output.is_none()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal();
    let mut bytes = Vec::new();
    report::render(report, args.format, color, &mut bytes)?;
    crate::output::emit(args.output.as_deref(), &bytes)?;
    Ok(report.exit_code())
}
