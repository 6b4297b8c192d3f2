//! Command-line definitions (clap derive). Every command SPEC.md lists is here; each is
//! carried out by the file of the same name under `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::{FailOn, Format};

/// Prove that what ships is what was built from what changed.
#[derive(Debug, Parser)]
#[command(name = "buildproof", version, about, max_term_width = 100)]
pub struct Cli {
    /// When to colour text output: `auto` colours a terminal unless `NO_COLOR` is
    /// set (`CLICOLOR_FORCE` colours any output).
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        global = true,
        value_name = "WHEN"
    )]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--format`: the report formats, spelled as users type them.
impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Format::Text,
            Format::Json,
            Format::Sarif,
            Format::Junit,
            Format::Markdown,
            Format::Github,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Github => "github",
        }))
    }
}

/// `--fail-on`: the lowest level that fails the run.
impl ValueEnum for FailOn {
    fn value_variants<'a>() -> &'a [Self] {
        &[FailOn::Error, FailOn::Warning, FailOn::Never]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(match self {
            FailOn::Error => clap::builder::PossibleValue::new("error")
                .help("exit 1 on an error-level finding (the default)"),
            FailOn::Warning => {
                clap::builder::PossibleValue::new("warning").help("exit 1 on a warning or error")
            }
            FailOn::Never => clap::builder::PossibleValue::new("never")
                .help("exit 0 whenever the run could be judged"),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hash every component and write the manifest (stdout without -o).
    Snapshot(SnapshotArgs),
    /// Compare two manifests under the rules.
    Diff(DiffArgs),
    /// Snapshot, then diff against BASE (the deployed release's manifest): the CI step.
    Check(CheckArgs),
    /// What runs must equal what was built.
    Verify(VerifyArgs),
    /// Inspect or compare container images.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Compare Dockerfiles without building them.
    #[command(subcommand)]
    Dockerfile(DockerfileCommand),
    /// Print the Nix NAR hash of paths, byte-identical to `nix hash path`.
    NarHash(NarHashArgs),
}

/// `--format` and `--output`, shared by every reporting command.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The lowest finding level that makes the exit code 1.
    #[arg(long, value_enum, default_value = "error", value_name = "LEVEL")]
    pub fail_on: FailOn,
}

/// `--nix-drv NAME=DRV`, for `snapshot` and `check`.
#[derive(Debug, Args, Clone, Default)]
pub struct NixDrvArgs {
    /// Read component NAME's store derivation DRV (`/nix/store/….drv`) instead of
    /// evaluating its `nix` key: for a build sandbox, where there is no nix CLI or
    /// daemon (`lib.mkCheck` passes one per package). Repeatable.
    #[arg(long = "nix-drv", value_name = "NAME=DRV", value_parser = parse_nix_drv)]
    pub drvs: Vec<NixDrv>,
}

/// One `--nix-drv NAME=DRV`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NixDrv {
    pub component: String,
    pub drv: String,
}

fn parse_nix_drv(value: &str) -> Result<NixDrv, String> {
    let Some((component, drv)) = value.split_once('=') else {
        return Err("expected NAME=DRV, e.g. `goinstance=/nix/store/…-goinstance.drv`".to_owned());
    };
    if component.is_empty() {
        return Err("the component name before `=` is empty".to_owned());
    }
    if !drv.starts_with('/') || !drv.ends_with(".drv") {
        return Err(format!(
            "`{drv}` is not a store derivation: expected an absolute path ending in `.drv` (`nix path-info --derivation`, or a package's `drvPath`)"
        ));
    }
    Ok(NixDrv {
        component: component.to_owned(),
        drv: drv.to_owned(),
    })
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The config file (default: `buildproof.toml` in this directory or a parent).
    #[arg(short = 'c', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,
}

/// What `snapshot` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotFormat {
    /// The buildproof manifest (`buildproof.manifest/v1`).
    Manifest,
    /// An in-toto Statement v1 whose predicate is the manifest.
    InToto,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Write the manifest to FILE (atomically) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value = "manifest")]
    pub format: SnapshotFormat,
    #[command(flatten)]
    pub nix: NixDrvArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier manifest (usually the deployed release's).
    pub base: PathBuf,
    /// The later manifest.
    pub new: PathBuf,
    /// Config whose `[[accept]]` entries apply (default: found upward, if any).
    #[arg(short = 'c', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The manifest to compare with (usually the deployed release's).
    #[arg(long, value_name = "BASE")]
    pub against: PathBuf,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also write the new manifest to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub write_manifest: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub nix: NixDrvArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The manifest of what was built.
    pub built: PathBuf,
    /// What runs: a manifest, Kubernetes or ECS JSON, or a list of Nix store paths.
    #[arg(long, value_name = "RUNNING")]
    pub running: PathBuf,
    /// Verify only this component (repeatable): the ones RUNNING can show, e.g. the
    /// images against Kubernetes and the store paths against the system's closure.
    #[arg(long = "component", value_name = "NAME")]
    pub components: Vec<String>,
    /// Config whose `[[accept]]` entries apply (default: found upward, if any).
    #[arg(short = 'c', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Digests, startup fields and static startup verification of one image.
    Inspect {
        /// OCI layout dir[:tag|@digest], oci-archive or docker-archive tar.
        image: String,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Startup-field diff plus file-level layer diff of two images.
    Diff {
        old: String,
        new: String,
        #[command(flatten)]
        report: ReportArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DockerfileCommand {
    /// Diff of the final stage's startup instructions.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[command(flatten)]
        report: ReportArgs,
    },
}

/// How `nar-hash` spells the hash.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct HashSpelling {
    /// Lower-case hex.
    #[arg(long)]
    pub base16: bool,
    /// Nix's base32.
    #[arg(long)]
    pub base32: bool,
    /// SRI, `sha256-<base64>` (the default).
    #[arg(long)]
    pub sri: bool,
}

#[derive(Debug, Args)]
pub struct NarHashArgs {
    /// Paths to hash.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub spelling: HashSpelling,
}
