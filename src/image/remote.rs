//! An image read from a registry (`docker://…`): the manifest the registry serves
//! (an index resolved to the platform asked for), the config read whole and
//! verified, and the layers downloaded ahead in parallel ([`Client::prefetch`],
//! bounded) while each is read, in order, by the same one-pass layer reader as a
//! local image. Every blob is verified twice over: by the download as it arrives and
//! by the layer reader as it reads, so a mismatch is reported as such, naming the
//! blob, however early the corrupt bytes make the decompressor fail.
//!
//! The manifest digest recorded is the one the registry serves (SPEC.md): the
//! SHA-256 of the manifest bytes, which is what Kubernetes and ECS report as running.

use super::layers::{self, Budget, Options};
use super::{Fetched, ImageError, config_diff_ids, layer_error, unreadable};
use crate::blob::Expected;
use crate::model::image::{LayerRecord, Transport};
use crate::registry::{Client, Reference};

pub(super) fn read(
    reference: &str,
    r: &Reference,
    client: &Client,
    opts: Options,
    budget: &Budget,
) -> Result<Fetched, ImageError> {
    let remote = |source| ImageError::Remote {
        reference: reference.to_owned(),
        source,
    };
    let unreadable = unreadable(reference);
    let fetched = client.manifest(r).map_err(remote)?;
    let manifest = fetched
        .image()
        .map_err(|e| unreadable(format!("manifest `{}`: {e}", fetched.digest)))?;
    let config_expected = manifest
        .config
        .expected()
        .map_err(|e| unreadable(format!("manifest `{}`: config {e}", fetched.digest)))?;
    let config = client
        .blob_bytes(
            r,
            &config_expected.digest,
            config_expected.size,
            super::layout::METADATA_MAX,
        )
        .map_err(remote)?;
    let diff_ids = config_diff_ids(&config).map_err(&unreadable)?;
    if diff_ids.len() != manifest.layers.len() {
        return Err(unreadable(format!(
            "the manifest lists {} layers but the config has {} diff_ids",
            manifest.layers.len(),
            diff_ids.len()
        )));
    }
    let expected = manifest
        .layers
        .iter()
        .map(|l| l.expected())
        .collect::<Result<Vec<Expected>, String>>()
        .map_err(|e| unreadable(format!("manifest `{}`: layer {e}", fetched.digest)))?;
    let mut layers = Vec::with_capacity(expected.len());
    let downloads = client.prefetch(r, expected.clone());
    for ((blob, descriptor), diff_id) in downloads.zip(&manifest.layers).zip(&diff_ids) {
        let blob = blob.map_err(remote)?;
        let want = blob.expected().clone();
        let changes = layers::read_layer(
            blob,
            &descriptor.media_type,
            want.size,
            Some(&want),
            Some(*diff_id),
            opts,
            budget,
        )
        .map_err(|e| layer_error(reference, &want.digest.to_string(), e))?;
        layers.push((
            LayerRecord {
                digest: want.digest,
                diff_id: *diff_id,
                size: want.size,
                media_type: descriptor.media_type.clone(),
            },
            changes,
        ));
    }
    // The name the image was read by, so `verify` can match containers running
    // this repository.
    let name = match (&r.tag, &r.digest) {
        (Some(tag), _) => format!("{}:{tag}", r.repo_name()),
        (None, Some(d)) => format!("{}@{d}", r.repo_name()),
        (None, None) => r.repo_name(),
    };
    Ok(Fetched {
        transport: Transport::Docker,
        manifest_digest: fetched.digest,
        index_digests: fetched.index_digests,
        names: vec![name],
        config_digest: config_expected.digest,
        config,
        layers,
    })
}
