//! Container images wherever they are kept: OCI layouts, oci-archive and
//! docker-archive tars, registries, and a Docker or podman engine; verified blob
//! reads, the merged layer filesystem, the content identity, and static startup
//! verification.
//!
//! - [`reference`]: what a user writes (`dir:tag`, `oci-archive:…`, `docker://…`,
//!   `docker-daemon:…`) and where it leads;
//! - [`layout`]: finding index, manifest, config and layers in a layout or archive;
//! - [`remote`]: the same from a registry, layers downloading ahead in parallel;
//! - [`stream`]: a docker-archive read as it streams from an engine, no copy;
//! - [`layers`]: the one-pass layer reader and the merged filesystem, with
//!   [`content`] hashing every file on a second core;
//! - [`identity`]: the content identity (merged filesystem + runtime config);
//! - [`tar_stream`]: the tar reader, every allocation bounded;
//! - [`elf`]: loader and libraries from a bounded ELF prefix;
//! - [`startup`]: static startup verification.
//!
//! Whatever the transport, every blob is verified against its digest as it streams
//! and every layer is read exactly once. [`load`] reads an image in full; [`record`]
//! keeps what a manifest needs.

pub mod diff;
pub mod elf;
mod gunzip;
pub mod identity;
pub mod layers;
mod layout;
pub mod ldconfig;
pub mod reference;
mod remote;
pub mod startup;
mod stream;
pub mod tar_stream;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use rayon::prelude::*;
use serde_json::Value;

use crate::digest::Digest;
use crate::model::image::{ImageRecord, LayerRecord, Startup, Transport};
use crate::registry::{self, DockerHost};
pub use layers::{MergedFs, Options};
use reference::Source;

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read image `{reference}`: {message}")]
    Unreadable { reference: String, message: String },
    #[error("image `{reference}`: {what} {mismatch}")]
    Mismatch {
        reference: String,
        what: String,
        mismatch: Box<crate::blob::Mismatch>,
    },
    #[error(transparent)]
    Reference(#[from] reference::ReferenceError),
    /// The registry or the engine failed; the cause says how (never with a credential).
    #[error("cannot read image `{reference}`")]
    Remote {
        reference: String,
        #[source]
        source: registry::RegistryError,
    },
}

/// How to reach images that are not files: the registry client's options (TLS,
/// credentials, platform) and the Docker engine. One client serves every image
/// read with these sources, so its connections and tokens are shared.
#[derive(Default)]
pub struct Sources {
    pub registry: registry::Options,
    /// The engine for `docker-daemon:`; `None` reads `$DOCKER_HOST` when needed.
    pub docker_host: Option<DockerHost>,
    client: Mutex<Option<registry::Client>>,
}

impl Sources {
    #[must_use]
    pub fn new(registry: registry::Options) -> Self {
        Self {
            registry,
            docker_host: None,
            client: Mutex::new(None),
        }
    }

    /// The same sources picking `platform` from multi-platform images.
    #[must_use]
    pub fn for_platform(&self, platform: &registry::Platform) -> Self {
        let mut registry = self.registry.clone();
        registry.platform = platform.clone();
        Self {
            registry,
            docker_host: self.docker_host.clone(),
            client: Mutex::new(None),
        }
    }

    fn client(&self) -> Result<registry::Client, registry::RegistryError> {
        let mut slot = self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = &*slot {
            return Ok(c.clone());
        }
        let c = registry::Client::new(self.registry.clone())?;
        *slot = Some(c.clone());
        Ok(c)
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("registry", &self.registry)
            .field("docker_host", &self.docker_host)
            .finish_non_exhaustive()
    }
}

/// An image read in full: its record and its merged filesystem.
#[derive(Debug)]
pub struct Image {
    pub record: ImageRecord,
    pub fs: MergedFs,
}

/// Reads and verifies the image `reference` (paths relative to `root`) and records it.
pub fn record(root: &Path, reference: &str, sources: &Sources) -> Result<ImageRecord, ImageError> {
    load(root, reference, Options::default(), sources).map(|i| i.record)
}

/// The config's `rootfs.diff_ids`.
pub(crate) fn config_diff_ids(config: &[u8]) -> Result<Vec<Digest>, String> {
    let parsed: oci_spec::image::ImageConfiguration = serde_json::from_slice(config)
        .map_err(|e| format!("the image config is not valid: {e}"))?;
    parsed
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| {
            d.parse()
                .map_err(|_| format!("the config's diff_id `{d}` is not a sha256 digest"))
        })
        .collect()
}

/// What every transport yields before the layers are merged: the digests, the
/// config, and each layer read once (verified) into its changes, in order.
struct Fetched {
    transport: Transport,
    manifest_digest: Digest,
    index_digests: Vec<Digest>,
    names: Vec<String>,
    config_digest: Digest,
    config: Vec<u8>,
    layers: Vec<(LayerRecord, layers::LayerChanges)>,
}

/// Reads the image: locates it (a layout or archive, a registry, an engine),
/// verifies every blob, streams every layer once into the merged filesystem
/// (hashing each file's content on the side), and runs static startup verification.
pub fn load(
    root: &Path,
    reference: &str,
    opts: Options,
    sources: &Sources,
) -> Result<Image, ImageError> {
    // Every layer of the image charges one budget for the index it builds.
    let budget = layers::Budget::default();
    let fetched = match reference::source(root, reference)? {
        Source::Local { kind, at } => read_local(
            reference,
            kind,
            &at,
            &sources.registry.platform,
            opts,
            &budget,
        )?,
        Source::Registry(r) => {
            let client = sources.client().map_err(|source| ImageError::Remote {
                reference: reference.to_owned(),
                source,
            })?;
            remote::read(reference, &r, &client, opts, &budget)?
        }
        Source::Daemon(d) => {
            let remote = |source| ImageError::Remote {
                reference: reference.to_owned(),
                source,
            };
            let host = match &sources.docker_host {
                Some(h) => h.clone(),
                None => DockerHost::from_env().map_err(remote)?,
            };
            let export = registry::daemon_export(&d, &host).map_err(remote)?;
            stream::read(reference, export, &d.name, opts, &budget)?
        }
    };
    finish(reference, fetched, &budget)
}

fn unreadable(reference: &str) -> impl Fn(String) -> ImageError + '_ {
    move |message| ImageError::Unreadable {
        reference: reference.to_owned(),
        message,
    }
}

/// A layer that could not be read, named.
fn layer_error(reference: &str, name: &str, e: layers::LayerError) -> ImageError {
    match e {
        layers::LayerError::Mismatch { what, mismatch } => ImageError::Mismatch {
            reference: reference.to_owned(),
            what: format!("layer `{name}`: {what}"),
            mismatch: Box::new(mismatch),
        },
        layers::LayerError::Io(io) => {
            unreadable(reference)(format!("cannot read layer `{name}`: {io}"))
        }
    }
}

fn located_error(reference: &str, e: layout::LocateError) -> ImageError {
    match e {
        layout::LocateError::Message(m) => unreadable(reference)(m),
        layout::LocateError::Mismatch { what, mismatch } => ImageError::Mismatch {
            reference: reference.to_owned(),
            what,
            mismatch: Box::new(mismatch),
        },
    }
}

/// A layout directory or an archive: located, then its layers read in parallel
/// (each in one pass) from the files or archive members in place.
fn read_local(
    reference: &str,
    kind: reference::LocalKind,
    at: &reference::Reference,
    platform: &registry::Platform,
    opts: Options,
    budget: &layers::Budget,
) -> Result<Fetched, ImageError> {
    let unreadable = unreadable(reference);
    let is_dir = at.path.is_dir();
    let wants = match kind {
        reference::LocalKind::Oci if at.path.is_file() => Some(("oci:", "an OCI layout directory")),
        reference::LocalKind::OciArchive if is_dir => Some(("oci-archive:", "a tar archive")),
        reference::LocalKind::DockerArchive if is_dir => Some(("docker-archive:", "a tar archive")),
        _ => None,
    };
    if let Some((prefix, what)) = wants {
        return Err(unreadable(format!(
            "`{}` is a {}, but `{prefix}` names {what}; write `oci:` for an OCI layout directory, `oci-archive:` for an OCI tar, `docker-archive:` for `docker save` output",
            at.path.display(),
            if is_dir { "directory" } else { "file" },
        )));
    }
    let store = layout::Store::open(&at.path).map_err(|e| {
        if at.path.exists() {
            unreadable(e)
        } else {
            // A name that is no file may have been meant for a registry or an engine.
            unreadable(format!("{e}. Image references are: {}", reference::FORMS))
        }
    })?;
    let located =
        layout::locate(&store, at, kind, platform).map_err(|e| located_error(reference, e))?;
    let diff_ids = config_diff_ids(&located.config).map_err(&unreadable)?;
    if diff_ids.len() != located.layers.len() {
        return Err(unreadable(format!(
            "the manifest lists {} layers but the config has {} diff_ids",
            located.layers.len(),
            diff_ids.len()
        )));
    }
    // When every core is reading a layer, hash on the reading threads rather than
    // adding threads that compete for the cores (see `layers::read_layer`).
    let readers = located.layers.len().min(rayon::current_num_threads());
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let opts = Options {
        hash_thread: opts.hash_thread && readers < cores,
        ..opts
    };
    let read: Vec<Result<layers::LayerChanges, ImageError>> = located
        .layers
        .par_iter()
        .zip(diff_ids.par_iter())
        .map(|(layer, diff_id)| {
            let name = layer_name(layer);
            let (reader, _) = store
                .open_file(&layer.file)
                .map_err(|e| unreadable(format!("cannot open layer `{name}`: {e}")))?;
            layers::read_layer(
                reader,
                &layer.media_type,
                layer.size,
                layer.expected.as_ref(),
                Some(*diff_id),
                opts,
                budget,
            )
            .map_err(|e| layer_error(reference, &name, e))
        })
        .collect();
    let mut layers = Vec::with_capacity(read.len());
    for ((layer, diff_id), changes) in located.layers.iter().zip(&diff_ids).zip(read) {
        let record = LayerRecord {
            digest: layer.expected.as_ref().map_or(*diff_id, |e| e.digest),
            diff_id: *diff_id,
            size: layer.size,
            media_type: layer.media_type.clone(),
        };
        layers.push((record, changes?));
    }
    Ok(Fetched {
        transport: located.transport,
        manifest_digest: located.manifest_digest,
        index_digests: located.index_digests,
        names: located.names,
        config_digest: located.config_digest,
        config: located.config,
        layers,
    })
}

/// Applies the layers in order, verifies the startup and records the image.
fn finish(reference: &str, fetched: Fetched, budget: &layers::Budget) -> Result<Image, ImageError> {
    let unreadable = unreadable(reference);
    let config: Value = serde_json::from_slice(&fetched.config)
        .map_err(|e| unreadable(format!("the image config is not JSON: {e}")))?;
    let mut fs = MergedFs::default();
    let mut layer_records = Vec::with_capacity(fetched.layers.len());
    for (record, changes) in fetched.layers {
        changes
            .apply(&mut fs, budget)
            .map_err(|e| unreadable(format!("cannot apply the layers: {e}")))?;
        layer_records.push(record);
    }
    let startup = startup_of(&config);
    let problems = startup::verify(&startup, &fs);
    let record = ImageRecord {
        manifest_digest: fetched.manifest_digest,
        index_digests: fetched.index_digests,
        names: fetched.names,
        config_digest: Some(fetched.config_digest),
        content_digest: Some(content_digest(&config)),
        identity: identity::of(&fs, &startup),
        transport: Some(fetched.transport),
        labels: labels_of(&config),
        layers: layer_records,
        startup,
        problems,
        rejected_entries: fs.rejected.clone(),
    };
    Ok(Image { record, fs })
}

fn layer_name(layer: &layout::LayerRef) -> String {
    layer
        .expected
        .as_ref()
        .map_or_else(|| layer.file.clone(), |e| e.digest.to_string())
}

/// `config.Labels`, string values only (what Docker and the OCI spec allow).
fn labels_of(config: &Value) -> BTreeMap<String, String> {
    config["config"]["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// SHA-256 over the canonical JSON (sorted keys, compact) of the config with the
/// fields that change on every rebuild of the same content removed: `created` and
/// `history` (SPEC.md), and Docker's per-build `container` id.
#[must_use]
pub fn content_digest(config: &Value) -> Digest {
    let mut c = config.clone();
    if let Some(map) = c.as_object_mut() {
        for key in ["created", "history", "container"] {
            map.remove(key);
        }
    }
    // serde_json's Map is a BTreeMap here (no `preserve_order`): keys come out sorted.
    Digest::of(c.to_string().as_bytes())
}

fn startup_of(config: &Value) -> Startup {
    let c = &config["config"];
    // Empty and absent mean the same to a runtime: both become `None`, so an image
    // re-exported in another format does not look changed.
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().filter(|a| !a.is_empty()).map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or_default().to_owned())
                .collect()
        })
    };
    let string = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    Startup {
        entrypoint: strings(&c["Entrypoint"]),
        cmd: strings(&c["Cmd"]),
        user: string(&c["User"]),
        working_dir: string(&c["WorkingDir"]),
        env: strings(&c["Env"]),
        shell: strings(&c["Shell"]),
        healthcheck: Some(c["Healthcheck"].clone()).filter(|v| !v.is_null()),
        stop_signal: string(&c["StopSignal"]),
        exposed_ports: keys(&c["ExposedPorts"]),
        volumes: keys(&c["Volumes"]),
    }
}
