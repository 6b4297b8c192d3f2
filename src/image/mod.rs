//! Container images: OCI layouts, oci-archive and docker-archive tars; verified blob
//! reads, the merged layer filesystem, and static startup verification.
//!
//! - [`reference`]: what a user writes (`dir`, `dir:tag`, `dir@sha256:…`, a tar);
//! - [`layout`]: finding index, manifest, config and layers in a layout or archive;
//! - [`layers`]: the one-pass layer reader and the merged filesystem;
//! - [`tar_stream`]: the tar reader, every allocation bounded;
//! - [`elf`]: loader and libraries from a bounded ELF prefix;
//! - [`startup`]: static startup verification.
//!
//! [`load`] reads an image in full (every blob verified, every layer streamed once);
//! [`record`] keeps what a manifest needs.

pub mod diff;
pub mod elf;
pub mod layers;
mod layout;
pub mod ldconfig;
pub mod reference;
pub mod startup;
pub mod tar_stream;

use std::path::Path;

use rayon::prelude::*;
use serde_json::Value;

use crate::digest::Digest;
use crate::model::image::{ImageRecord, LayerRecord, Startup};
pub use layers::{MergedFs, Options};

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
}

/// An image read in full: its record and its merged filesystem.
#[derive(Debug)]
pub struct Image {
    pub record: ImageRecord,
    pub fs: MergedFs,
}

/// Reads and verifies the image `reference` (relative to `root`) and records it.
pub fn record(root: &Path, reference: &str) -> Result<ImageRecord, ImageError> {
    load(root, reference, Options::default()).map(|i| i.record)
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

/// Reads the image: locates it, verifies every blob, streams every layer once into
/// the merged filesystem, and runs static startup verification.
pub fn load(root: &Path, reference: &str, opts: Options) -> Result<Image, ImageError> {
    let unreadable = |message: String| ImageError::Unreadable {
        reference: reference.to_owned(),
        message,
    };
    let parsed = reference::parse(root, reference);
    let store = layout::Store::open(&parsed.path).map_err(unreadable)?;
    let located = layout::locate(&store, &parsed).map_err(|e| match e {
        layout::LocateError::Message(m) => unreadable(m),
        layout::LocateError::Mismatch { what, mismatch } => ImageError::Mismatch {
            reference: reference.to_owned(),
            what,
            mismatch: Box::new(mismatch),
        },
    })?;
    let config: Value = serde_json::from_slice(&located.config)
        .map_err(|e| unreadable(format!("the image config is not JSON: {e}")))?;
    let diff_ids = config_diff_ids(&located.config).map_err(unreadable)?;
    if diff_ids.len() != located.layers.len() {
        return Err(unreadable(format!(
            "the manifest lists {} layers but the config has {} diff_ids",
            located.layers.len(),
            diff_ids.len()
        )));
    }
    // Layers are read in parallel (each in one pass) and applied in order, all
    // charging one budget for the index they build.
    let budget = layers::Budget::default();
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
                *diff_id,
                opts,
                &budget,
            )
            .map_err(|e| match e {
                layers::LayerError::Mismatch { what, mismatch } => ImageError::Mismatch {
                    reference: reference.to_owned(),
                    what: format!("layer `{name}`: {what}"),
                    mismatch: Box::new(mismatch),
                },
                layers::LayerError::Io(io) => {
                    unreadable(format!("cannot read layer `{name}`: {io}"))
                }
            })
        })
        .collect();
    let mut fs = MergedFs::default();
    for changes in read {
        changes?
            .apply(&mut fs, &budget)
            .map_err(|e| unreadable(format!("cannot apply the layers: {e}")))?;
    }
    let layer_records = located
        .layers
        .iter()
        .zip(&diff_ids)
        .map(|(layer, diff_id)| LayerRecord {
            digest: layer.expected.as_ref().map_or(*diff_id, |e| e.digest),
            diff_id: *diff_id,
            size: layer.size,
            media_type: layer.media_type.clone(),
        })
        .collect();
    let startup = startup_of(&config);
    let problems = startup::verify(&startup, &fs);
    let record = ImageRecord {
        manifest_digest: located.manifest_digest,
        index_digests: located.index_digests,
        names: located.names,
        config_digest: Some(located.config_digest),
        content_digest: Some(content_digest(&config)),
        layers: layer_records,
        labels: labels_of(&config),
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

/// The config's `Labels`, string values only (the only kind Docker and buildah write).
fn labels_of(config: &Value) -> std::collections::BTreeMap<String, String> {
    config["config"]["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
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
