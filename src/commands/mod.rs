//! Carrying out each command: resolve arguments into a plan, do the work through the
//! library modules, and hand a [`Report`](crate::report::Report) to `report/`. Returns
//! the exit code of a judged run; an `Err` means the run could not be judged (exit 2).

mod check;
mod diff;
mod dockerfile;
mod image;
mod init;
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

/// Refuses a run whose output files would land on one another or on a file it
/// reads (the config, BASE, NEW, BUILT, RUNNING), compared as files, before any work.
pub(crate) fn guard_outputs(
    outputs: &[(&str, Option<&std::path::Path>)],
    reads: &[(&str, &std::path::Path)],
) -> anyhow::Result<()> {
    let outputs: Vec<(&str, &std::path::Path)> = outputs
        .iter()
        .filter_map(|(what, p)| p.map(|p| (*what, p)))
        .collect();
    crate::output::check_distinct(&outputs, reads)?;
    Ok(())
}

/// Refuses output files that are among the component inputs a snapshot just read
/// (`check -o src/main.go`): writing one would change the source it judged.
pub(crate) fn guard_inputs(
    outputs: &[(&str, Option<&std::path::Path>)],
    config: &crate::config::Config,
    manifest: &Manifest,
) -> anyhow::Result<()> {
    let Ok(root) = std::fs::canonicalize(&config.root) else {
        return Ok(());
    };
    for (what, path) in outputs {
        let Some(path) = path else { continue };
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

/// The exit code under `--fail-on`: 1 when a finding is at that level or above
/// (`error` keeps the report's own rule, e.g. `snapshot`'s narrower one).
pub(crate) fn exit_code(report: &Report, fail_on: crate::report::FailOn) -> u8 {
    match fail_on.level() {
        Some(crate::model::finding::Level::Error) => report.exit_code(),
        Some(lowest) => {
            u8::from(report.exit_code() == 1 || report.findings.iter().any(|f| f.level >= lowest))
        }
        None => 0,
    }
}

/// Renders `report` as `--format` asks and writes it to `--output` (atomically) or
/// stdout. Returns the exit code under `--fail-on`.
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
    if io.verbosity == crate::cli::Verbosity::Quiet && args.format == Format::Text {
        bytes = verdict_only(&bytes);
    }
    emit(args.output.as_deref(), &bytes, io)?;
    Ok(exit_code(report, args.fail_on))
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
