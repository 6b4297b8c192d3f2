//! What a manifest records of an image: digests, layers, the startup fields of its
//! config, and the problems static startup verification found.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::finding::Level;
use crate::digest::Digest;

/// The longest chain of `#!` scripts the kernel runs (`BINPRM_MAX_RECURSION` + 1):
/// five scripts, each the interpreter of the one before, start; six fail (ELOOP).
pub const MAX_INTERP_DEPTH: usize = 5;

/// Docker's default PATH when the config sets none (what `docker run` and runc use).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a manifest records of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRecord {
    pub manifest_digest: Digest,
    /// References the image itself records (docker-archive `RepoTags`, the OCI
    /// `org.opencontainers.image.ref.name` / `io.containerd.image.name` annotations),
    /// used by `verify` to match running containers by repository name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The image indexes (multi-platform lists) the manifest was reached through.
    /// A registry serves such an index for the tag, and Kubernetes then reports its
    /// digest as the `imageID`, so `verify` accepts these as the built image too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub index_digests: Vec<Digest>,
    /// The config blob's digest (the "image ID").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<Digest>,
    /// SHA-256 of the config without `created` and `history` (canonical JSON);
    /// the config lists the diff_ids, so this covers the layers' tar bytes too, file
    /// times included. The identity of manifests written before [`Self::identity`];
    /// still recorded so that such a manifest compares with a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_digest: Option<Digest>,
    /// The content identity (SPEC.md, "What counts as changed"): the merged
    /// filesystem (path, kind, mode, owner, content digest, link target; no times)
    /// and the runtime config (no labels, creation time or history). See
    /// `image::identity` for what exactly is hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Digest>,
    /// How the image was read: from a layout or archive on disk, a registry, or an
    /// engine. `verify` uses it to explain a manifest digest that a push changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// The config's labels: recorded and shown, never part of the identity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerRecord>,
    #[serde(default)]
    pub startup: Startup,
    /// Static startup verification: empty when the container would start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// Layer entries that were not applied (escaping names, dangling hardlinks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_entries: Vec<String>,
}

/// One layer: blob digest, uncompressed digest, blob size and media type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerRecord {
    pub digest: Digest,
    pub diff_id: Digest,
    pub size: u64,
    pub media_type: String,
}

/// How the container starts: the image config's startup fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Startup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
}

/// The startup fields of an image config, in the order reports list them: the one
/// list the crate uses (image config keys, Dockerfile instructions, which of them
/// `startup-changed` compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StartupField {
    Entrypoint,
    Cmd,
    User,
    WorkingDir,
    Env,
    Shell,
    Healthcheck,
    StopSignal,
    ExposedPorts,
    Volumes,
}

impl StartupField {
    /// Every field, in report order.
    pub const ALL: [StartupField; 10] = [
        StartupField::Entrypoint,
        StartupField::Cmd,
        StartupField::User,
        StartupField::WorkingDir,
        StartupField::Env,
        StartupField::Shell,
        StartupField::Healthcheck,
        StartupField::StopSignal,
        StartupField::ExposedPorts,
        StartupField::Volumes,
    ];

    /// The fields that decide how the container starts: a change in one is
    /// `startup-changed` (SPEC.md); `env` has its own rule, ports and volumes none.
    pub const STARTUP: [StartupField; 7] = [
        StartupField::Entrypoint,
        StartupField::Cmd,
        StartupField::User,
        StartupField::WorkingDir,
        StartupField::Shell,
        StartupField::Healthcheck,
        StartupField::StopSignal,
    ];

    /// The key in a recorded [`Startup`] (and in reports).
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            StartupField::Entrypoint => "entrypoint",
            StartupField::Cmd => "cmd",
            StartupField::User => "user",
            StartupField::WorkingDir => "working_dir",
            StartupField::Env => "env",
            StartupField::Shell => "shell",
            StartupField::Healthcheck => "healthcheck",
            StartupField::StopSignal => "stop_signal",
            StartupField::ExposedPorts => "exposed_ports",
            StartupField::Volumes => "volumes",
        }
    }

    /// The Dockerfile instruction that sets it.
    #[must_use]
    pub const fn instruction(self) -> &'static str {
        match self {
            StartupField::Entrypoint => "ENTRYPOINT",
            StartupField::Cmd => "CMD",
            StartupField::User => "USER",
            StartupField::WorkingDir => "WORKDIR",
            StartupField::Env => "ENV",
            StartupField::Shell => "SHELL",
            StartupField::Healthcheck => "HEALTHCHECK",
            StartupField::StopSignal => "STOPSIGNAL",
            StartupField::ExposedPorts => "EXPOSE",
            StartupField::Volumes => "VOLUME",
        }
    }

    /// The field a Dockerfile instruction sets.
    #[must_use]
    pub fn from_instruction(instruction: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.instruction() == instruction)
    }
}

impl Startup {
    /// One field's value as JSON; `None` when unset (an empty user or working dir
    /// is unset: a runtime treats both alike).
    #[must_use]
    pub fn value(&self, field: StartupField) -> Option<Value> {
        let list = |x: &Option<Vec<String>>| x.as_ref().map(|x| Value::from(x.clone()));
        let text = |x: &Option<String>| x.clone().filter(|u| !u.is_empty()).map(Value::from);
        let set = |x: &Vec<String>| (!x.is_empty()).then(|| Value::from(x.clone()));
        let value = match field {
            StartupField::Entrypoint => list(&self.entrypoint),
            StartupField::Cmd => list(&self.cmd),
            StartupField::User => text(&self.user),
            StartupField::WorkingDir => text(&self.working_dir),
            StartupField::Env => list(&self.env),
            StartupField::Shell => list(&self.shell),
            StartupField::Healthcheck => self.healthcheck.clone(),
            StartupField::StopSignal => text(&self.stop_signal),
            StartupField::ExposedPorts => set(&self.exposed_ports),
            StartupField::Volumes => set(&self.volumes),
        };
        value.filter(|v| !v.is_null())
    }

    /// The fields `startup-changed` compares, with their values; `None` = unset.
    #[must_use]
    pub fn startup_fields(&self) -> Vec<(StartupField, Option<Value>)> {
        StartupField::STARTUP
            .into_iter()
            .map(|f| (f, self.value(f)))
            .collect()
    }
}

impl ImageRecord {
    /// Whether a running image digest is this image: its manifest, or an index that
    /// leads to it.
    #[must_use]
    pub fn is_digest(&self, digest: &Digest) -> bool {
        self.manifest_digest == *digest || self.index_digests.contains(digest)
    }

    /// The image's identity as shown: the content identity, else (a manifest
    /// written before it existed) the config digest without times, else the
    /// manifest digest. To compare two records use [`Self::same_content`], which
    /// picks a measure both have.
    #[must_use]
    pub fn identity(&self) -> Digest {
        self.identity
            .or(self.content_digest)
            .unwrap_or(self.manifest_digest)
    }

    /// The strongest identity both records carry.
    #[must_use]
    pub fn basis(&self, other: &ImageRecord) -> IdentityBasis {
        if self.identity.is_some() && other.identity.is_some() {
            IdentityBasis::Content
        } else if self.content_digest.is_some() && other.content_digest.is_some() {
            IdentityBasis::Config
        } else {
            IdentityBasis::Manifest
        }
    }

    /// This record's identity by `basis`.
    #[must_use]
    pub fn identity_by(&self, basis: IdentityBasis) -> Digest {
        match basis {
            IdentityBasis::Content => self.identity.unwrap_or(self.manifest_digest),
            IdentityBasis::Config => self.content_digest.unwrap_or(self.manifest_digest),
            IdentityBasis::Manifest => self.manifest_digest,
        }
    }

    /// Whether two records are the same artifact, by the strongest identity both
    /// carry. A manifest from before the content identity is compared by its config
    /// digest without times, which includes the layers' file times: a rebuild that
    /// only re-stamped files then counts as changed (a missed `stale-artifact`,
    /// never a false one) until both sides are recorded by this version.
    #[must_use]
    pub fn same_content(&self, other: &ImageRecord) -> bool {
        let basis = self.basis(other);
        self.identity_by(basis) == other.identity_by(basis)
    }
}

/// Which identity two image records were compared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityBasis {
    /// The content identity: merged filesystem and runtime config.
    Content,
    /// The config without times (`content_digest`): manifests from before the
    /// content identity.
    Config,
    /// The manifest digest: nothing better on one side.
    Manifest,
}

/// How an image was read (`image` in the config, as its reference's form says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// An OCI layout directory.
    Oci,
    /// An OCI layout in a tar.
    OciArchive,
    /// `docker save`'s tar.
    DockerArchive,
    /// A registry, over the distribution API.
    Docker,
    /// A Docker (or podman) engine's export: a docker-archive.
    DockerDaemon,
}

impl Transport {
    /// How skopeo spells it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Oci => "oci",
            Transport::OciArchive => "oci-archive",
            Transport::DockerArchive => "docker-archive",
            Transport::Docker => "docker",
            Transport::DockerDaemon => "docker-daemon",
        }
    }

    /// Whether the manifest digest is the one a registry would serve: only for
    /// images read from one. A layout or archive holds the manifest as it was
    /// written locally (a docker-archive none at all), and a push re-encodes it.
    #[must_use]
    pub const fn is_registry(self) -> bool {
        matches!(self, Transport::Docker)
    }
}

/// One thing that would stop (or may stop) the container starting, found by static
/// startup verification. The rules decide its rule, level, fix and Dockerfile line
/// from `kind`; its fingerprint covers `kind` and `path`, never the wording, so a
/// reworded message keeps every `[[accept]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// What failed, with its facts. Manifests written before problems were typed
    /// have none: [`ProblemKind::Unclassified`].
    #[serde(default)]
    pub kind: ProblemKind,
    /// The path (or user, group, library) that failed.
    pub path: String,
    /// What failed, in words, as recorded at snapshot time.
    pub message: String,
    /// The level an [`ProblemKind::Unclassified`] problem was recorded with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// The fix an [`ProblemKind::Unclassified`] problem was recorded with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// The image paths whose state causes the problem: where a missing file was
    /// looked for (directories resolved), the links that lead to it, the unreadable
    /// script. `image diff` matches them against the files that changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

impl Problem {
    /// A typed problem.
    #[must_use]
    pub fn new(kind: ProblemKind, path: &str, message: String) -> Self {
        Self {
            kind,
            path: path.to_owned(),
            message,
            level: None,
            fix: String::new(),
            files: Vec::new(),
        }
    }

    /// The same problem, naming the image paths that cause it.
    #[must_use]
    pub fn with_files(mut self, files: Vec<String>) -> Self {
        self.files = files;
        self
    }
}

/// Why a startup cannot work. Serialised with a `type` tag in kebab-case
/// (`{"type": "not-executable", "uid": 1000, …}`); the tag is part of the
/// fingerprint, so a variant's name is stable once released.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ProblemKind {
    /// Recorded before problems were typed: only the message and fix are known.
    #[default]
    Unclassified,
    /// Neither entrypoint nor cmd is set.
    NothingToStart,
    /// argv[0] is the empty string.
    EmptyCommand,
    /// A command without `/` is in no directory of `PATH`.
    NotInPath { program: String, path_var: String },
    /// The path does not exist in the image. `workdir` is set when the command
    /// was a relative path, resolved against it.
    NotFound {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workdir: Option<String>,
    },
    /// The path cannot be resolved: a symlink loop, too many links, or a file
    /// where a directory should be.
    Unresolvable,
    /// A directory or special file where a program should be.
    NotRegularFile,
    /// Not executable by the user the process runs as.
    NotExecutable { uid: u64, mode: u32, owner: String },
    /// A script the interpreter must open is not readable by the user.
    NotReadable { uid: u64, mode: u32, owner: String },
    /// Neither ELF nor a `#!` script: exec format error.
    ExecFormat,
    /// A `#!` line naming no interpreter.
    ShebangEmpty,
    /// A `#!` line ending in `\r`: the kernel looks for an interpreter named with it.
    ShebangCrlf,
    /// More nested `#!` interpreters than the kernel runs.
    InterpreterDepth,
    /// The interpreter a `#!` line names does not exist.
    InterpreterMissing { interpreter: String, script: String },
    /// The program `#!/usr/bin/env PROGRAM` runs is not found.
    EnvProgramMissing { program: String },
    /// The ELF `PT_INTERP` loader is missing or not a regular file.
    LoaderMissing { loader: String },
    /// The ELF `PT_INTERP` loader is built for another class or machine than the
    /// program (`wanted` and `found` as "ELF64 x86-64").
    LoaderMismatch {
        loader: String,
        wanted: String,
        found: String,
    },
    /// A library the ELF chain needs is not where the loader looks. `needed_by` is
    /// the chain from the program to the object that needs it (`/usr/bin/node`,
    /// `/usr/lib/x86_64-linux-gnu/libnode.so.108`). `elsewhere` is where the image has
    /// a usable file of that name outside the loader's paths, if it does (then the
    /// library may still be found through `LD_LIBRARY_PATH`): a warning; `None` means
    /// it is nowhere in the image: an error.
    LibraryMissing {
        library: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        needed_by: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        elsewhere: Option<String>,
    },
    /// The named user is not in `/etc/passwd` (or there is none). `wrapper` is set
    /// when a wrapper (`gosu`, `su-exec`, `setpriv`) names it rather than `USER`.
    UserUnknown {
        user: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wrapper: Option<String>,
    },
    /// The named group is not in `/etc/group`; `wrapper` as for `UserUnknown`.
    GroupUnknown {
        group: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wrapper: Option<String>,
    },
    /// The command a wrapper runs (`tini`, `dumb-init`, `catatonit`, `env`, `gosu`,
    /// `su-exec`, `setpriv`) is not found.
    WrappedCommandMissing { wrapper: String, program: String },
    /// A wrapper given no command to run: it prints its usage and exits.
    WrapperWithoutCommand { wrapper: String },
    /// The script (or jar) an interpreter is given does not exist. `workdir` is set
    /// when the script was a relative path, resolved against it.
    ScriptMissing {
        interpreter: String,
        script: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workdir: Option<String>,
    },
}

impl ProblemKind {
    /// The `type` tag as serialised: a stable id for fingerprints.
    #[must_use]
    pub const fn id(&self) -> &'static str {
        match self {
            ProblemKind::Unclassified => "unclassified",
            ProblemKind::NothingToStart => "nothing-to-start",
            ProblemKind::EmptyCommand => "empty-command",
            ProblemKind::NotInPath { .. } => "not-in-path",
            ProblemKind::NotFound { .. } => "not-found",
            ProblemKind::Unresolvable => "unresolvable",
            ProblemKind::NotRegularFile => "not-regular-file",
            ProblemKind::NotExecutable { .. } => "not-executable",
            ProblemKind::NotReadable { .. } => "not-readable",
            ProblemKind::ExecFormat => "exec-format",
            ProblemKind::ShebangEmpty => "shebang-empty",
            ProblemKind::ShebangCrlf => "shebang-crlf",
            ProblemKind::InterpreterDepth => "interpreter-depth",
            ProblemKind::InterpreterMissing { .. } => "interpreter-missing",
            ProblemKind::EnvProgramMissing { .. } => "env-program-missing",
            ProblemKind::LoaderMissing { .. } => "loader-missing",
            ProblemKind::LoaderMismatch { .. } => "loader-mismatch",
            ProblemKind::LibraryMissing { .. } => "library-missing",
            ProblemKind::UserUnknown { .. } => "user-unknown",
            ProblemKind::GroupUnknown { .. } => "group-unknown",
            ProblemKind::WrappedCommandMissing { .. } => "wrapped-command-missing",
            ProblemKind::WrapperWithoutCommand { .. } => "wrapper-without-command",
            ProblemKind::ScriptMissing { .. } => "script-missing",
        }
    }

    /// Whether the problem is about the user or group the process runs as (fixed at
    /// `USER`), rather than the command (fixed at `ENTRYPOINT`/`CMD`).
    #[must_use]
    pub const fn about_user(&self) -> bool {
        matches!(
            self,
            ProblemKind::UserUnknown { wrapper: None, .. }
                | ProblemKind::GroupUnknown { wrapper: None, .. }
        )
    }
}

/// One path's state in an image's merged filesystem, as `image diff` compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// `file`, `directory`, `symlink` or `other`.
    pub kind: &'static str,
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub digest: Option<Digest>,
    /// A symlink's target text.
    pub target: Option<String>,
}

impl Serialize for FileState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("kind", self.kind)?;
        m.serialize_entry("size", &self.size)?;
        m.serialize_entry("mode", &format!("{:04o}", self.mode))?;
        m.serialize_entry("owner", &format!("{}:{}", self.uid, self.gid))?;
        if let Some(d) = &self.digest {
            m.serialize_entry("digest", d)?;
        }
        if let Some(t) = &self.target {
            m.serialize_entry("target", t)?;
        }
        m.end()
    }
}

/// How one path differs between two images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum FileChange {
    Added {
        path: String,
        new: FileState,
    },
    Removed {
        path: String,
        old: FileState,
    },
    Modified {
        path: String,
        old: FileState,
        new: FileState,
    },
}

impl FileChange {
    #[must_use]
    pub fn path(&self) -> &str {
        match self {
            FileChange::Added { path, .. }
            | FileChange::Removed { path, .. }
            | FileChange::Modified { path, .. } => path,
        }
    }
}

/// One side of `image diff`: the reference as typed and what identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSide {
    pub image: String,
    pub manifest_digest: Digest,
    pub identity: Digest,
    /// The layers' uncompressed digests, in order: they change with file times
    /// even when the identity does not. Reported as facts of their own.
    #[serde(skip)]
    pub diff_ids: Vec<Digest>,
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
}

/// One startup field on both sides; `None` = unset.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    pub field: StartupField,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// What `image diff` found besides findings: both sides (with their labels), every
/// startup field set on either side, and the file-level difference of the merged
/// filesystems.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDiff {
    pub old: ImageSide,
    pub new: ImageSide,
    pub fields: Vec<FieldDiff>,
    /// Sorted by path.
    pub files: Vec<FileChange>,
}
