//! Carrying out each command: resolve arguments into a plan, do the work through the
//! library modules, and hand a [`Report`](crate::report::Report) to `report/`. Returns
//! the exit code of a judged run; an `Err` means the run could not be judged (exit 2).

mod attached;
mod check;
mod diff;
mod dockerfile;
mod image;
mod init;
mod merge;
mod nar_hash;
mod progress;
mod snapshot;
mod verify;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, HashingArgs, RegistryArgs, ReportArgs};
use crate::config::Config;
use crate::model::manifest::Manifest;
use crate::report::{self, Format, Paths, Release, RenderOptions, Report};
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
    /// `--quiet` / `--verbose`.
    pub verbosity: crate::cli::Verbosity,
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
        Command::Init(args) => init::run(&args, io),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "buildproof", &mut out);
            emit(None, &out, io)?;
            Ok(0)
        }
        Command::Man { command } => {
            // A command's page is named as the top page's SUBCOMMANDS list names it:
            // buildproof-image-inspect(1).
            let mut page = <Cli as clap::CommandFactory>::command();
            let mut name = "buildproof".to_owned();
            for word in &command {
                let Some(sub) = page.find_subcommand(word).cloned() else {
                    anyhow::bail!("`{name}` has no command `{word}`; see `{name} --help`");
                };
                name = format!("{name}-{word}");
                page = sub.name(name.clone());
            }
            let mut out = Vec::new();
            clap_mangen::Man::new(page)
                .render(&mut out)
                .map_err(|e| anyhow::anyhow!(e).context("cannot render the man page"))?;
            emit(None, &out, io)?;
            Ok(0)
        }
    }
}

/// Takes the snapshot of `config` as `snapshot` and `check` do: with the stat cache
/// unless `--no-cache`, a progress bar on a terminal unless `--quiet`, notes and
/// (with `--stats`) a line of figures on stderr.
pub(crate) fn take_snapshot(
    config: &Config,
    hashing: &HashingArgs,
    registry: &RegistryArgs,
    io: &mut Streams<'_>,
) -> anyhow::Result<Manifest> {
    let cache = if hashing.no_cache {
        None
    } else {
        stat_cache_dir().and_then(|dir| StatCache::for_project(&dir, &config.root).ok())
    };
    let sources = sources(registry);
    let quiet = io.verbosity == crate::cli::Verbosity::Quiet;
    let taken = progress::with_progress(io, quiet, |progress| {
        crate::snapshot::take(
            config,
            crate::snapshot::Options {
                cache: cache.as_ref(),
                progress,
                sources: &sources,
            },
        )
    })?;
    for note in &taken.notes {
        writeln!(io.stderr, "buildproof: note: {}", report::log_safe(note))?;
    }
    if io.verbosity == crate::cli::Verbosity::Verbose {
        let s = &taken.stats.inputs;
        let cache_line = match &cache {
            Some(c) => format!(
                "stat cache `{}`: {} of {} input files unchanged since cached (not read), {} hashed",
                c.path().display(),
                s.cached,
                s.files,
                s.hashed
            ),
            None if hashing.no_cache => "stat cache: not used (`--no-cache`)".to_owned(),
            None => "stat cache: none (no `$XDG_CACHE_HOME` and no home directory)".to_owned(),
        };
        writeln!(io.stderr, "buildproof: {}", report::log_safe(&cache_line))?;
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
            // A home that does not exist (Nix builds set `HOME=/homeless-shelter`) gets
            // no cache: creating it there would make every later Nix build refuse to
            // run ("home directory exists").
            std::env::var_os("HOME")
                .and_then(absolute)
                .filter(|h| h.is_dir())
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
/// component of either manifest a subject, with the releases compared (named as on
/// the command line) and what changed in each component.
pub(crate) fn diff_report(
    command: &str,
    (base_name, base): (&str, &Manifest),
    (new_name, new): (&str, &Manifest),
    ctx: Context<'_>,
) -> Report {
    let findings = rules::diff(base, new, ctx);
    let subjects: BTreeSet<String> = base
        .components
        .keys()
        .chain(new.components.keys())
        .cloned()
        .collect();
    let mut report = Report::new(
        command,
        subjects.into_iter().collect(),
        rules::diff_rules(),
        findings,
    );
    report.releases = vec![
        Release::of("base", base_name, base),
        Release::of("new", new_name, new),
    ];
    report.changes = Some(rules::changes::between(base, new));
    report
}

/// Refuses a run whose output files would land on one another or on a file it
/// reads (the config, BASE, NEW, BUILT, RUNNING), compared as files, before any work.
pub(crate) fn guard_outputs(
    outputs: &[(String, PathBuf)],
    reads: &[(&str, &std::path::Path)],
) -> anyhow::Result<()> {
    let outputs: Vec<(&str, &std::path::Path)> = outputs
        .iter()
        .map(|(what, p)| (what.as_str(), p.as_path()))
        .collect();
    crate::output::check_distinct(&outputs, reads)?;
    Ok(())
}

/// `-o FILE` of `snapshot` (not stdout) as an output to guard.
pub(crate) fn output_files_of(output: Option<&Path>) -> Vec<(String, PathBuf)> {
    match destination(output) {
        Destination::File(p) => vec![("`--output`".to_owned(), p)],
        Destination::Stdout => Vec::new(),
    }
}

/// The files a run writes: the report (`--output`, unless stdout), every `--report`
/// file, and `extra` (such as `--write-manifest`), each with the flag that names it.
pub(crate) fn output_files(
    args: &ReportArgs,
    extra: &[(&str, Option<&Path>)],
) -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = extra
        .iter()
        .filter_map(|(what, p)| p.map(|p| ((*what).to_owned(), p.to_owned())))
        .collect();
    if let Destination::File(p) = destination(args.output.as_deref()) {
        files.push(("`--output`".to_owned(), p));
    }
    for extra in &args.reports {
        files.push((
            format!("`--report {}=…`", extra.format.as_str()),
            extra.path.clone(),
        ));
    }
    files
}

/// Refuses output files that are among the component inputs a snapshot just read
/// (`check -o src/main.go`): writing one would change the source it judged.
pub(crate) fn guard_inputs(
    outputs: &[(String, PathBuf)],
    config: &crate::config::Config,
    manifest: &Manifest,
) -> anyhow::Result<()> {
    let Ok(root) = std::fs::canonicalize(&config.root) else {
        return Ok(());
    };
    for (what, path) in outputs {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        let (Ok(dir), Some(name)) = (std::fs::canonicalize(dir), path.file_name()) else {
            continue;
        };
        let Ok(rel) = dir
            .join(name)
            .strip_prefix(&root)
            .map(std::path::Path::to_path_buf)
        else {
            continue;
        };
        let rel = rel.to_string_lossy().into_owned();
        for (component, record) in &manifest.components {
            if record
                .inputs
                .files
                .binary_search_by(|f| f.path.as_str().cmp(rel.as_str()))
                .is_ok()
            {
                anyhow::bail!(
                    "{what} `{}` is an input of component `{component}`; write the report elsewhere",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// Gives each component named by `--nix-drv NAME=DRV` its derivation; a name the
/// config does not have, or one named twice, is refused before any work.
pub(crate) fn apply_nix_drvs(
    config: &mut crate::config::Config,
    args: &crate::cli::NixDrvArgs,
) -> anyhow::Result<()> {
    for given in &args.drvs {
        let known: Vec<String> = config.components.iter().map(|c| c.name.clone()).collect();
        let path = config.path.display().to_string();
        let Some(component) = config
            .components
            .iter_mut()
            .find(|c| c.name == given.component)
        else {
            anyhow::bail!(
                "`--nix-drv {}=…`: `{path}` has no component `{}` (it has: {})",
                given.component,
                given.component,
                known.join(", ")
            );
        };
        if component.nix_drv.is_some() {
            anyhow::bail!("`--nix-drv` names component `{}` twice", given.component);
        }
        component.nix_drv = Some(given.drv.clone());
    }
    Ok(())
}

/// Renders `report` as `--format` asks and writes it to `--output` (atomically) or
/// stdout. Returns the report's exit code.
/// Records where a new manifest came from: `--label`, and the commit of the work tree
/// holding the config (SPEC.md, "Manifest").
pub(crate) fn stamp(manifest: &mut Manifest, config: &crate::config::Config, label: Option<&str>) {
    manifest.label = label.map(str::to_owned);
    manifest.git = crate::git::describe(&config.root);
}

/// Where one rendered report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination {
    Stdout,
    File(PathBuf),
}

/// `-` is stdout; anything else a file.
fn destination(path: Option<&Path>) -> Destination {
    match path {
        None => Destination::Stdout,
        Some(p) if p.as_os_str() == "-" => Destination::Stdout,
        Some(p) => Destination::File(p.to_owned()),
    }
}

/// A path as compared for "the same file": lexically normalised and absolute, so
/// `./a.json`, `a.json` and `dir/../a.json` are one file.
fn same_file_key(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_owned());
    let mut key = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                key.pop();
            }
            std::path::Component::CurDir => {}
            other => key.push(other),
        }
    }
    key
}

/// The formats to render and where each goes: `--format`/`--output` first, then each
/// `--report FORMAT=FILE`. Refused (exit 2) before any work when two of them, or one
/// of them and `taken` (another file the command writes, such as
/// `--write-manifest`), name the same file, or when two of them would go to stdout.
pub(crate) fn plan_reports(
    args: &ReportArgs,
    taken: &[(&str, &Path)],
) -> anyhow::Result<Vec<(Format, Option<PathBuf>)>> {
    let mut plan = vec![(args.format, destination(args.output.as_deref()))];
    for extra in &args.reports {
        plan.push((extra.format, destination(Some(&extra.path))));
    }
    let stdout = plan
        .iter()
        .filter(|(_, d)| *d == Destination::Stdout)
        .count();
    if stdout > 1 {
        anyhow::bail!(
            "two reports would go to stdout; give `--output` or each `--report` its own file"
        );
    }
    let mut seen: Vec<(PathBuf, String)> = taken
        .iter()
        .map(|(flag, p)| (same_file_key(p), (*flag).to_owned()))
        .collect();
    for (format, d) in &plan {
        if let Destination::File(p) = d {
            let key = same_file_key(p);
            if let Some((_, other)) = seen.iter().find(|(k, _)| *k == key) {
                anyhow::bail!(
                    "`{}` is named twice (by {other} and by the {} report); give each output its own file",
                    p.display(),
                    format.as_str()
                );
            }
            seen.push((key, format!("the {} report", format.as_str())));
        }
    }
    Ok(plan
        .into_iter()
        .map(|(f, d)| {
            (
                f,
                match d {
                    Destination::Stdout => None,
                    Destination::File(p) => Some(p),
                },
            )
        })
        .collect())
}

/// Renders `report` in every format the arguments ask for and writes each where it
/// goes (files atomically). When the main report goes to a file, the one-line verdict
/// also goes to stderr, so a CI log always says how the run went. Returns the exit
/// code, which `--fail-on` decides.
pub(crate) fn emit_report(
    mut report: Report,
    args: &ReportArgs,
    io: &mut Streams<'_>,
) -> anyhow::Result<u8> {
    report.fail_on = args.fail_on;
    let plan = plan_reports(args, &[])?;
    let paths = Paths::here();
    let mut rendered = Vec::with_capacity(plan.len());
    for (i, (format, path)) in plan.iter().enumerate() {
        let options = RenderOptions {
            color: io.color && i == 0 && *format == Format::Text && path.is_none(),
            paths: paths.clone(),
        };
        let mut bytes = Vec::new();
        report::render(&report, *format, &options, &mut bytes)?;
        // `--quiet`: a text report on stdout shrinks to its verdict line.
        if io.verbosity == crate::cli::Verbosity::Quiet && *format == Format::Text && path.is_none()
        {
            bytes = verdict_only(&bytes);
        }
        rendered.push(bytes);
    }
    for ((_, path), bytes) in plan.iter().zip(&rendered) {
        if let Some(p) = path {
            crate::output::write_atomically(p, bytes)?;
        }
    }
    for ((_, path), bytes) in plan.iter().zip(&rendered) {
        if path.is_none() {
            emit(None, bytes, io)?;
        }
    }
    if plan[0].1.is_some() {
        let written: Vec<String> = plan
            .iter()
            .filter_map(|(f, p)| {
                p.as_ref()
                    .map(|p| format!("{} ({})", p.display(), f.as_str()))
            })
            .collect();
        let line = format!("{}; report: {}", report.verdict(), written.join(", "));
        writeln!(io.stderr, "{}", report::log_safe(&line))?;
    }
    Ok(report.exit_code())
}

/// `--quiet`: of a text report, its last line, the verdict.
pub(crate) fn verdict_only(text: &[u8]) -> Vec<u8> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut line = body[start..].to_vec();
    line.push(b'\n');
    line
}

/// `--verbose`: what each component of a snapshot matched and recorded, on stderr.
pub(crate) fn describe_snapshot(manifest: &Manifest, io: &mut Streams<'_>) -> anyhow::Result<()> {
    if io.verbosity != crate::cli::Verbosity::Verbose {
        return Ok(());
    }
    let mut text = String::new();
    for (name, c) in &manifest.components {
        let files = &c.inputs.files;
        text.push_str(&format!(
            "{name}: {} input file{} (digest {})\n",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            c.inputs.digest
        ));
        for f in files {
            let kind = format!("{:?}", f.kind).to_lowercase();
            text.push_str(&format!("  input {} ({kind}, {} bytes)\n", f.path, f.size));
        }
        for pattern in &c.inputs.unmatched {
            text.push_str(&format!("  pattern {pattern} matched nothing\n"));
        }
        for o in &c.outputs {
            text.push_str(&format!("  output {} {}", o.path, o.digest));
            if let Some(sp) = &o.store_path {
                text.push_str(&format!(" ({sp})"));
            }
            text.push('\n');
        }
        if let Some(image) = &c.image {
            text.push_str(&format!("  image {}\n", image.manifest_digest));
        }
        if let Some(nix) = &c.nix {
            if let Some(drv) = &nix.derivation {
                text.push_str(&format!("  derivation {drv}\n"));
            }
            for source in &nix.sources {
                text.push_str(&format!("  source {source}\n"));
            }
        }
    }
    io.stderr
        .write_all(crate::report::log_safe(&text).as_bytes())?;
    Ok(())
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
