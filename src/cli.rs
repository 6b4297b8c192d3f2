//! Command-line definitions (clap derive). Every command SPEC.md lists is here; each is
//! carried out by the file of the same name under `commands/`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::registry::Platform;
use crate::report::{FailOn, Format};

/// Prove that what ships is what was built from what changed.
#[derive(Debug, Parser)]
#[command(
    name = "buildproof",
    version,
    about,
    max_term_width = 100,
    after_help = format!("{TOP_HELP}\n\n{EXIT_CODES}")
)]
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
    /// Print only the verdict line of a text report (and nothing on stderr but errors).
    #[arg(short = 'q', long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print, on stderr, which files each component matched and what it
    /// recorded of its outputs and Nix derivation.
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// How much a command says besides its output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// `--quiet`: the verdict line only.
    Quiet,
    #[default]
    Normal,
    /// `--verbose`: also what each component matched.
    Verbose,
}

impl Cli {
    /// `--quiet` / `--verbose` as one value.
    #[must_use]
    pub fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

/// The exit codes, as every reporting command's `--help` ends.
const EXIT_CODES: &str = "Exit codes:
  0  no finding at the `--fail-on` level (error by default)
  1  at least one such finding
  2  the run could not be judged: bad usage; a missing, unreadable or invalid config,
     manifest, image or path (one line on stderr names the file and the problem)";

const TOP_HELP: &str = "Examples:
  buildproof init                                   # propose a buildproof.toml
  buildproof snapshot -o release.json               # after the build
  buildproof check --against deployed.json          # in CI, before the deploy
  buildproof verify release.json --running pods.json
  buildproof dockerfile diff git:origin/main:web/Dockerfile web/Dockerfile";

const SNAPSHOT_HELP: &str = "Examples:
  buildproof snapshot -o release.json
  buildproof snapshot -c deploy/buildproof.toml --format in-toto -o release.intoto.json
  buildproof snapshot --nix-drv app=$(nix path-info --derivation .#app)

Exit codes:
  0  written (findings about the build itself, if any, went to stderr)
  1  written, but an image cannot start (`startup-broken`)
  2  the run could not be judged: a missing, unreadable or invalid config, input,
     output or image (one line on stderr names the file and the problem)";

const DIFF_HELP: &str = "Examples:
  buildproof diff deployed.json release.json
  buildproof diff deployed.json release.json --format sarif --output buildproof.sarif
  buildproof diff git:origin/main:release.json release.json
  curl -s https://releases.example.com/deployed.json | buildproof diff - release.json";

const CHECK_HELP: &str = "Examples:
  buildproof check --against deployed.json
  buildproof check --against deployed.json --write-manifest release.json --format github
  buildproof check --against git:origin/main:release/deployed.json --fail-on warning";

const VERIFY_HELP: &str = "Examples:
  kubectl get pods -o json | buildproof verify release.json --running -
  buildproof verify release.json --running <(nix-store -qR /run/current-system)
  buildproof verify release.json --running task-definition.json --format markdown";

const IMAGE_INSPECT_HELP: &str = "Examples:
  buildproof image inspect build/web.oci:latest
  buildproof image inspect docker-archive:web.tar --format json";

const IMAGE_DIFF_HELP: &str = "Examples:
  buildproof image diff web-v1.oci web-v2.oci
  buildproof image diff oci-archive:old.tar oci-archive:new.tar --format markdown";

const DOCKERFILE_DIFF_HELP: &str = "Examples:
  buildproof dockerfile diff git:origin/main:web/Dockerfile web/Dockerfile
  buildproof dockerfile diff <(git show HEAD~1:web/Dockerfile) web/Dockerfile
  git show HEAD~1:web/Dockerfile | buildproof dockerfile diff - web/Dockerfile";

const NAR_HASH_HELP: &str = "Examples:
  buildproof nar-hash result/
  buildproof nar-hash --base32 ./dist

Exit codes:
  0  every path hashed
  2  a path is missing or unreadable";

const INIT_HELP: &str = "Examples:
  buildproof init                      # writes ./buildproof.toml
  buildproof init --print              # shows it instead
  buildproof init --nix-attr goinstance --nix-attr web

Exit codes:
  0  written (or printed); stderr says what to fill in before `snapshot`
  2  buildproof.toml exists (never overwritten), or the tree could not be read";

const COMPLETIONS_HELP: &str = "Examples:
  buildproof completions bash > ~/.local/share/bash-completion/completions/buildproof
  buildproof completions zsh > \"${fpath[1]}/_buildproof\"
  buildproof completions fish > ~/.config/fish/completions/buildproof.fish

Exit codes:
  0  printed";

const MAN_HELP: &str = "Examples:
  buildproof man > buildproof.1 && man -l buildproof.1
  buildproof man image inspect > buildproof-image-inspect.1
  buildproof man | gzip > /usr/local/share/man/man1/buildproof.1.gz

Exit codes:
  0  printed";

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
        &Format::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
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
    #[command(after_help = SNAPSHOT_HELP)]
    Snapshot(SnapshotArgs),
    /// Compare two manifests under the rules.
    #[command(after_help = format!("{DIFF_HELP}\n\n{EXIT_CODES}"))]
    Diff(DiffArgs),
    /// Snapshot, then diff against BASE (the deployed release's manifest): the CI step.
    #[command(after_help = format!("{CHECK_HELP}\n\n{EXIT_CODES}"))]
    Check(CheckArgs),
    /// What runs must equal what was built.
    #[command(after_help = format!("{VERIFY_HELP}\n\n{EXIT_CODES}"))]
    Verify(VerifyArgs),
    /// Inspect or compare container images.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Compare Dockerfiles without building them.
    #[command(subcommand)]
    Dockerfile(DockerfileCommand),
    /// Print the Nix NAR hash of paths, byte-identical to `nix hash path`.
    #[command(after_help = NAR_HASH_HELP)]
    NarHash(NarHashArgs),
    /// Merge the manifests of snapshot shards (`snapshot --shard I/N`) into one.
    Merge(MergeArgs),
    /// Propose a commented buildproof.toml from the Dockerfiles, compose services,
    /// flake packages and `result` links found here.
    #[command(after_help = INIT_HELP)]
    Init(InitArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): buildproof(1), or a command's, e.g. `man check`.
    #[command(after_help = MAN_HELP)]
    Man {
        /// The command whose page to print (`check`, `image inspect`, …).
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to look at; the config is written there.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Print the config to stdout instead of writing `DIR/buildproof.toml`.
    #[arg(long)]
    pub print: bool,
    /// Also propose this attribute of `DIR/default.nix` (repeatable).
    #[arg(long = "nix-attr", value_name = "ATTR")]
    pub nix_attrs: Vec<String>,
    /// Do not ask `nix flake show` about `flake.nix`.
    #[arg(long)]
    pub no_flake: bool,
}

/// `--format`, `--output`, `--report` and `--fail-on`, shared by every reporting command.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of stdout; `-` is stdout. The
    /// verdict line then also goes to stderr, so a CI log is never empty.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the report in FORMAT to FILE, from the same run (repeatable):
    /// `--report sarif=buildproof.sarif --report html=report.html`.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_extra_report)]
    pub reports: Vec<ExtraReport>,
    /// The lowest finding level that makes the exit code 1.
    #[arg(long, value_enum, default_value = "error", value_name = "LEVEL")]
    pub fail_on: FailOn,
}

/// One `--report FORMAT=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraReport {
    pub format: Format,
    pub path: PathBuf,
}

fn parse_extra_report(value: &str) -> Result<ExtraReport, String> {
    let names = || {
        Format::ALL
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((format, path)) = value.split_once('=') else {
        return Err(format!(
            "expected FORMAT=FILE, e.g. `sarif=buildproof.sarif` (formats: {})",
            names()
        ));
    };
    let format = Format::ALL
        .into_iter()
        .find(|f| f.as_str() == format)
        .ok_or_else(|| format!("unknown format `{format}` (formats: {})", names()))?;
    if path.is_empty() {
        return Err("the file after `=` is empty".to_owned());
    }
    Ok(ExtraReport {
        format,
        path: PathBuf::from(path),
    })
}

/// `--label`: a release name recorded in the manifest.
fn parse_label(value: &str) -> Result<String, String> {
    if crate::model::manifest::valid_label(value) {
        Ok(value.to_owned())
    } else {
        Err("a label is 1 to 128 characters, not all blank, with no control characters".to_owned())
    }
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

/// How images in registries are reached, spelled as skopeo spells it. Credentials
/// come from auth files (`--authfile`, `$REGISTRY_AUTH_FILE`, podman's, Docker's);
/// `docker-daemon:` images from `$DOCKER_HOST`.
#[derive(Debug, Args, Clone)]
pub struct RegistryArgs {
    /// The platform to pick from a multi-platform image, OS/ARCH[/VARIANT]
    /// (default: this machine's; a component's `platform` key wins).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<Platform>,
    /// Verify registry certificates; `--tls-verify=false` skips the check and lets
    /// a registry that does not speak TLS be reached over plain HTTP.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub tls_verify: bool,
    /// A directory of extra CA certificates (`*.crt`) and a client certificate
    /// (`NAME.cert` with `NAME.key`), as skopeo's `--cert-dir`.
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// The registry credentials file to read first (then `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.docker/config.json`).
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
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
    /// Also attach the manifest, as an in-toto statement, to every component image
    /// in a registry (`docker://…`), at its digest (an OCI 1.1 referrer). Not with
    /// `--component`/`--shard`: a part of a release attached to an image would later
    /// read as the whole release.
    #[arg(long, conflicts_with_all = ["components", "shard"])]
    pub attach: bool,
    #[command(flatten)]
    pub nix: NixDrvArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// A release name to record in the manifest (e.g. `v2.4.0`); reports show it.
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub label: Option<String>,
    /// The lowest level of a finding about the new build itself that makes the exit
    /// code 1.
    #[arg(long, value_enum, default_value = "error", value_name = "LEVEL")]
    pub fail_on: FailOn,
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
    /// The earlier manifest (usually the deployed release's): a path, `-` for stdin,
    /// `<(…)`, `git:REV:PATH`, or `docker://HOST/REPO@sha256:…` for the manifest
    /// attached to that image.
    pub base: PathBuf,
    /// The later manifest, spelled the same ways.
    pub new: PathBuf,
    /// Config whose `[[accept]]` entries apply (default: found upward, if any).
    #[arg(short = 'c', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The manifest to compare with (usually the deployed release's): a path, `-`
    /// for stdin, `<(…)`, `git:REV:PATH`, or `docker://HOST/REPO@sha256:…` (the
    /// digest that runs) for the manifest attached to that image.
    #[arg(long, value_name = "BASE")]
    pub against: PathBuf,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also write the new manifest to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub write_manifest: Option<PathBuf>,
    /// A release name to record in the new manifest (e.g. `v2.4.0`); reports show it.
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub label: Option<String>,
    /// When the check finds no error, attach the new manifest to every component
    /// image in a registry (`docker://…`), as `snapshot --attach` does; a build with
    /// an error-level finding (a stale artifact) is never attached.
    #[arg(long)]
    pub attach: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub hashing: HashingArgs,
    #[command(flatten)]
    pub nix: NixDrvArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The manifest of what was built, or `docker://HOST/REPO@sha256:…` for the
    /// manifest attached to that image.
    pub built: PathBuf,
    /// What runs: a manifest, Kubernetes or ECS JSON, or a list of Nix store paths
    /// (a path, `-` for stdin, `<(…)`, or `git:REV:PATH`).
    #[arg(long, value_name = "RUNNING")]
    pub running: PathBuf,
    /// Verify only this component (repeatable): the ones RUNNING can show, e.g. the
    /// images against Kubernetes and the store paths against the system's closure.
    #[arg(long = "component", value_name = "NAME")]
    pub components: Vec<String>,
    /// Config whose `[[accept]]` entries apply (default: found upward, if any).
    #[arg(short = 'c', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// For each container that runs another image than the one built, ask its
    /// registry for the buildproof manifest attached to the running digest, and say
    /// which release (label, git commit, snapshot time) actually runs.
    #[arg(long)]
    pub identify_running: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Digests, startup fields and static startup verification of one image.
    #[command(after_help = format!("{IMAGE_INSPECT_HELP}\n\n{EXIT_CODES}"))]
    Inspect {
        /// PATH[:TAG|@DIGEST] (OCI layout, oci-archive, docker-archive),
        /// oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF],
        /// docker://HOST/REPO[:TAG|@DIGEST] or docker-daemon:NAME[:TAG].
        image: String,
        #[command(flatten)]
        report: ReportArgs,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Startup-field diff plus file-level layer diff of two images.
    #[command(after_help = format!("{IMAGE_DIFF_HELP}\n\n{EXIT_CODES}"))]
    Diff {
        /// The earlier image, in any form `image inspect` takes.
        old: String,
        /// The later image.
        new: String,
        #[command(flatten)]
        report: ReportArgs,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DockerfileCommand {
    /// Diff of the final stage's startup instructions.
    #[command(after_help = format!("{DOCKERFILE_DIFF_HELP}\n\n{EXIT_CODES}"))]
    Diff {
        /// The earlier Dockerfile: a path, `-` for stdin, `<(…)`, or `git:REV:PATH`.
        old: PathBuf,
        /// The later Dockerfile, spelled the same ways.
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
