//! Carrying out each command: resolve arguments into a plan, do the work through the
//! library modules, and hand a [`Report`](crate::report::Report) to `report/`. Returns
//! the exit code of a judged run; an `Err` means the run could not be judged (exit 2).

mod check;
mod diff;
mod dockerfile;
mod image;
mod merge;
mod nar_hash;
mod progress;
mod snapshot;
mod verify;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Cli, Command, HashingArgs, ReportArgs};
use crate::config::Config;
use crate::model::manifest::Manifest;
use crate::report::{self, Format, Paths, RenderOptions, Report};
use crate::rules::{self, Context};
use crate::tree::StatCache;

/// Where a command's output goes, and how: the binary owns the process's streams
/// and decides colour once; the library writes only here.
pub struct Streams<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Whether text written to `stdout` may use ANSI colour.
    pub color: bool,
    /// `Some(columns)` when `stderr` is a terminal that many columns wide: a progress
    /// bar may be drawn there. `None` for a file, a pipe or a CI log.
    pub stderr_terminal: Option<u16>,
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
        Command::Merge(args) => merge::run(&args, io),
    }
}

/// Takes the snapshot of `config` as `snapshot` and `check` do: with the stat cache
/// unless `--no-cache`, a progress bar on a terminal unless `--quiet`, notes and
/// (with `--stats`) a line of figures on stderr.
pub(crate) fn take_snapshot(
    config: &Config,
    hashing: &HashingArgs,
    io: &mut Streams<'_>,
) -> anyhow::Result<Manifest> {
    let cache = if hashing.no_cache {
        None
    } else {
        stat_cache_dir().and_then(|dir| StatCache::for_project(&dir, &config.root).ok())
    };
    let taken = progress::with_progress(io, hashing.quiet, |progress| {
        crate::snapshot::take(
            config,
            crate::snapshot::Options {
                cache: cache.as_ref(),
                progress,
            },
        )
    })?;
    for note in &taken.notes {
        writeln!(io.stderr, "buildproof: note: {}", report::log_safe(note))?;
    }
    if hashing.stats {
        let s = &taken.stats;
        writeln!(
            io.stderr,
            "buildproof: stats: inputs: {} files, {} from the stat cache, {} hashed, {} bytes read; outputs: {}, {} bytes read",
            s.inputs.files,
            s.inputs.cached,
            s.inputs.hashed,
            s.inputs.bytes,
            s.outputs,
            s.output_bytes
        )?;
    }
    Ok(taken.manifest)
}

/// Where stat caches live: `$XDG_CACHE_HOME/buildproof/stat`, or
/// `~/.cache/buildproof/stat` (the XDG base directory default); none without either.
fn stat_cache_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| {
        let p = PathBuf::from(v);
        p.is_absolute().then_some(p)
    };
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".cache"))
        })
        .map(|dir| dir.join("buildproof").join("stat"))
}

/// Writes a manifest to `path` (atomically) or stdout, streaming it.
pub(crate) fn emit_manifest(
    path: Option<&std::path::Path>,
    manifest: &Manifest,
    io: &mut Streams<'_>,
) -> anyhow::Result<()> {
    match path {
        Some(p) => {
            crate::output::write_atomically_with(p, crate::output::Durability::Synced, |w| {
                manifest.write_json(w)
            })?
        }
        None => {
            let mut w = std::io::BufWriter::with_capacity(256 * 1024, &mut *io.stdout);
            manifest
                .write_json(&mut w)
                .and_then(|()| w.flush())
                .map_err(|e| anyhow::anyhow!(e).context("cannot write to stdout"))?;
        }
    }
    Ok(())
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
