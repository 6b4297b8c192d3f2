//! Command-line definitions (clap derive). Every command SPEC.md lists is here; each is
//! carried out by the file of the same name under `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

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
    /// Merge the manifests of snapshot shards (`snapshot --shard I/N`) into one.
    Merge(MergeArgs),
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
    /// Snapshot only this component (repeatable); `merge` joins such manifests.
    #[arg(long = "component", value_name = "NAME")]
    pub components: Vec<String>,
    /// Snapshot only shard I of N (1-based): the components, sorted by name, dealt
    /// out in turn, so N jobs cover every component once; `merge` joins them.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub hashing: HashingArgs,
}

/// How `snapshot` and `check` hash, and what they say while doing it.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct HashingArgs {
    /// Hash every input file, neither reading nor writing the stat cache (kept under
    /// `$XDG_CACHE_HOME/buildproof`).
    #[arg(long)]
    pub no_cache: bool,
    /// Print to stderr how many files were hashed and how many bytes read.
    #[arg(long)]
    pub stats: bool,
    /// No progress bar (shown only on a terminal, once a run takes over a second).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `--shard I/N`: the I-th of N shards, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("`{s}` is not a shard: expected I/N with 1 <= I <= N, e.g. 2/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let index: usize = i.trim().parse().map_err(|_| bad())?;
    let count: usize = n.trim().parse().map_err(|_| bad())?;
    if index == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The manifests of the shards.
    #[arg(required = true, value_name = "MANIFEST")]
    pub manifests: Vec<PathBuf>,
    /// Write the merged manifest to FILE (atomically) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    pub hashing: HashingArgs,
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
