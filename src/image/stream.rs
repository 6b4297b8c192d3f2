//! A docker-archive read in one pass as it streams, never stored: what a Docker or
//! podman engine sends for `docker-daemon:NAME` (`GET /images/{name}/get`).
//!
//! An engine writes the layers first and `manifest.json` last (Docker: `<id>/layer.tar`
//! or, since Docker 25, `blobs/sha256/<hex>`; podman: `<digest>.tar`), so the layers
//! cannot wait for the manifest that says what they are. Each member is taken as it
//! comes:
//!
//! - JSON (`*.json`, `repositories`, `oci-layout`, Docker's per-layer `json` and
//!   `VERSION`, and any member whose first byte is `{`) is kept whole, at most
//!   [`METADATA_MAX`] each and [`METADATA_TOTAL`] together;
//! - anything else is read as a layer by the one-pass layer reader (compression
//!   sniffed from its first bytes), its uncompressed digest computed as it goes; a
//!   `blobs/sha256/<hex>` member is verified against its name. What cannot be read
//!   as a layer is kept as an error, reported only if the manifest names it;
//! - symlink and hardlink members (older `docker save` links duplicate layers) are
//!   resolved at the end, inside the archive.
//!
//! At the end `manifest.json` picks the image, the config is checked against its
//! name, and each layer's uncompressed digest must equal the config's diff_id. The
//! manifest digest is the one skopeo synthesises for a docker-archive, as for a
//! docker-archive file (see `layout`), so the same image read from the engine and
//! from `docker save` output records the same digests. Memory holds the index of the
//! layers read so far, bounded by the image's [`Budget`] like any image's.

use std::collections::BTreeMap;
use std::io::Read;

use super::layers::{self, Budget, LayerChanges, Options};
use super::layout::{
    DockerEntry, LayerRef, METADATA_MAX, check_config_name, choose_docker_entry, link_target,
    member_name, read_up_to, skopeo_manifest_digest,
};
use super::reference::Selector;
use super::tar_stream::{EntryKind, Stream, TarReader};
use super::{Fetched, ImageError, config_diff_ids, layer_error, unreadable};
use crate::blob::{Expected, Mismatch};
use crate::digest::Digest;
use crate::model::image::{LayerRecord, Transport};

/// Most JSON kept from one archive.
const METADATA_TOTAL: u64 = 64 * 1024 * 1024;
/// Links followed resolving one member.
const MEMBER_LINKS: usize = 40;

/// A layer member, read.
struct Member {
    changes: LayerChanges,
    media_type: &'static str,
    size: u64,
}

/// The data of the tar member being read.
struct MemberData<'a, R: Read>(&'a mut TarReader<Stream<R>>);

impl<R: Read> Read for MemberData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read_data(buf)
    }
}

fn is_metadata_name(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    name.ends_with(".json") || matches!(base, "repositories" | "oci-layout" | "json" | "VERSION")
}

/// Reads the docker-archive `stream` and picks the image named `name` (the engine
/// exports just that one; a name matters only if the archive holds several).
pub(super) fn read(
    reference: &str,
    stream: impl Read,
    name: &str,
    opts: Options,
    budget: &Budget,
) -> Result<Fetched, ImageError> {
    let unreadable = unreadable(reference);
    let mut archive = TarReader::new(Stream(stream));
    let mut metadata: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut metadata_total = 0u64;
    let mut members: BTreeMap<String, Result<Member, ImageError>> = BTreeMap::new();
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let entry = archive
            .next_entry()
            .map_err(|e| unreadable(format!("the export is not a readable tar: {e}")))?;
        let Some(entry) = entry else { break };
        let raw = String::from_utf8_lossy(&entry.path).into_owned();
        let Ok(member) = member_name(&raw) else {
            continue; // never named by valid metadata
        };
        match entry.kind {
            EntryKind::Symlink | EntryKind::HardLink => {
                let target = String::from_utf8_lossy(&entry.link);
                if let Some(t) = link_target(&member, &target, entry.kind == EntryKind::Symlink) {
                    links.insert(member, t);
                }
                continue;
            }
            EntryKind::File => {}
            _ => continue,
        }
        let mut data = MemberData(&mut archive);
        let mut head = [0u8; 4];
        let n = read_up_to(&mut data, &mut head)
            .map_err(|e| unreadable(format!("cannot read `{member}` of the export: {e}")))?;
        let head = &head[..n];
        let json = is_metadata_name(&member) || head.first() == Some(&b'{');
        if json && entry.size <= METADATA_MAX {
            metadata_total += entry.size;
            if metadata_total > METADATA_TOTAL {
                return Err(unreadable(format!(
                    "the export holds more than {} MiB of JSON; refusing",
                    METADATA_TOTAL >> 20
                )));
            }
            let mut bytes = head.to_vec();
            data.read_to_end(&mut bytes)
                .map_err(|e| unreadable(format!("cannot read `{member}` of the export: {e}")))?;
            metadata.insert(member, bytes);
            continue;
        }
        let media_type = match head {
            [0x1f, 0x8b, ..] => "application/vnd.docker.image.rootfs.diff.tar.gzip",
            [0x28, 0xb5, 0x2f, 0xfd] => "application/vnd.oci.image.layer.v1.tar+zstd",
            _ => "application/vnd.docker.image.rootfs.diff.tar",
        };
        // Docker 25+ names blobs by their digest: hold them to it.
        let expected = member
            .strip_prefix("blobs/sha256/")
            .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok())
            .map(|digest| Expected {
                digest,
                size: entry.size,
            });
        let read = layers::read_layer(
            head.chain(data),
            media_type,
            entry.size,
            expected.as_ref(),
            None,
            opts,
            budget,
        )
        .map(|changes| Member {
            changes,
            media_type,
            size: entry.size,
        })
        .map_err(|e| layer_error(reference, &member, e));
        members.insert(member, read);
    }
    let resolve = |name: &str| -> Result<String, ImageError> {
        let mut at = member_name(name).map_err(&unreadable)?;
        for _ in 0..=MEMBER_LINKS {
            if metadata.contains_key(&at) || members.contains_key(&at) {
                return Ok(at);
            }
            match links.get(&at) {
                Some(t) => at.clone_from(t),
                None => {
                    return Err(unreadable(format!(
                        "`manifest.json` names `{name}`, which the export does not hold"
                    )));
                }
            }
        }
        Err(unreadable(format!(
            "too many levels of links resolving `{name}`"
        )))
    };
    let manifest = metadata.get("manifest.json").ok_or_else(|| {
        unreadable(
            "the export has no `manifest.json`: it is not a docker-archive (the engine's API answered with something else)"
                .to_owned(),
        )
    })?;
    let entries: Vec<DockerEntry> = serde_json::from_slice(manifest).map_err(|e| {
        unreadable(format!(
            "`manifest.json` is not a docker-archive manifest: {e}"
        ))
    })?;
    let selector = if entries.len() == 1 {
        Selector::Default
    } else {
        Selector::Tag(name.to_owned())
    };
    let entry = choose_docker_entry(&entries, &selector).map_err(&unreadable)?;
    let config_name = resolve(&entry.config)?;
    let config = metadata.get(&config_name).cloned().ok_or_else(|| {
        unreadable(format!(
            "the config `{}` is not JSON of at most {} MiB",
            entry.config,
            METADATA_MAX >> 20
        ))
    })?;
    let config_digest = Digest::of(&config);
    check_config_name(&entry.config, &config, config_digest)
        .map_err(|e| super::located_error(reference, e))?;
    let diff_ids = config_diff_ids(&config).map_err(&unreadable)?;
    if diff_ids.len() != entry.layers.len() {
        return Err(unreadable(format!(
            "`manifest.json` lists {} layers but the config has {} diff_ids",
            entry.layers.len(),
            diff_ids.len()
        )));
    }
    let mut layer_refs = Vec::with_capacity(diff_ids.len());
    let mut layers = Vec::with_capacity(diff_ids.len());
    // The same member may be named twice (identical layers): the last use takes it.
    let mut uses: BTreeMap<String, usize> = BTreeMap::new();
    let resolved = entry
        .layers
        .iter()
        .map(|l| resolve(l))
        .collect::<Result<Vec<String>, ImageError>>()?;
    for r in &resolved {
        *uses.entry(r.clone()).or_default() += 1;
    }
    for ((written, at), diff_id) in entry.layers.iter().zip(&resolved).zip(&diff_ids) {
        let left = uses.get_mut(at).map_or(0, |n| {
            *n -= 1;
            *n
        });
        let member = if left == 0 {
            members.remove(at)
        } else {
            match members.get(at) {
                Some(Ok(m)) => Some(Ok(Member {
                    changes: m.changes.clone(),
                    media_type: m.media_type,
                    size: m.size,
                })),
                _ => members.remove(at),
            }
        };
        let member = match member {
            Some(m) => m?,
            None => {
                return Err(unreadable(format!(
                    "layer `{written}` is JSON, not a layer"
                )));
            }
        };
        if member.changes.diff_id != Some(*diff_id) {
            return Err(ImageError::Mismatch {
                reference: reference.to_owned(),
                what: format!("layer `{written}`: uncompressed layer (diff_id)"),
                mismatch: Box::new(Mismatch {
                    expected: Expected {
                        digest: *diff_id,
                        size: member.changes.uncompressed,
                    },
                    actual_digest: member.changes.diff_id.unwrap_or(*diff_id),
                    actual_size: member.changes.uncompressed,
                }),
            });
        }
        layer_refs.push(LayerRef {
            file: written.clone(),
            media_type: member.media_type.to_owned(),
            expected: None,
            size: member.size,
        });
        layers.push((
            LayerRecord {
                // As for a docker-archive file: the archive records no blob digest,
                // so a layer is named by its diff_id.
                digest: *diff_id,
                diff_id: *diff_id,
                size: member.size,
                media_type: member.media_type.to_owned(),
            },
            member.changes,
        ));
    }
    let mut names = entry.repo_tags.clone().unwrap_or_default();
    names.sort();
    Ok(Fetched {
        transport: Transport::DockerDaemon,
        manifest_digest: skopeo_manifest_digest(&config, config_digest, &layer_refs, &diff_ids),
        index_digests: Vec::new(),
        names,
        config_digest,
        config,
        layers,
    })
}
