//! Finding an image's manifest, config and layers in an OCI layout directory, an
//! oci-archive tar or a docker-archive tar.
//!
//! - OCI layout (image-spec `image-layout.md`): `oci-layout`, `index.json`, and
//!   content-addressed `blobs/<alg>/<hex>`. `index.json` may list several manifests
//!   (tags via `org.opencontainers.image.ref.name`) or nested indexes (multi-platform).
//! - oci-archive: the same layout as a tar; members are indexed once (name, offset,
//!   size) and read in place with seeks, never extracted.
//! - docker-archive: `manifest.json` (`[{Config, RepoTags, Layers}]`), the config as
//!   `<hex>.json`, layers as uncompressed tars. A docker-archive that also carries
//!   `index.json` (Docker 25+) is read as OCI. docker-archive has no manifest blob, so
//!   the manifest digest is that of the Docker v2 schema 2 manifest `skopeo` synthesises
//!   for it (same fields, same order, compact JSON).

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::Deserialize;

use super::reference::{LocalKind, Reference, Selector};
use super::tar_stream::{EntryKind, Seekable, TarReader};
use crate::blob::{self, Expected, Mismatch};
use crate::digest::Digest;
use crate::model::image::Transport;
use crate::registry::{DocumentKind, Platform, check_document};

/// Largest index, manifest or config accepted (they are read whole).
pub(crate) const METADATA_MAX: u64 = 16 * 1024 * 1024;

/// Where the image's files live.
pub(crate) enum Store {
    Dir(PathBuf),
    Tar {
        path: PathBuf,
        members: BTreeMap<String, (u64, u64)>,
        /// Symlink and hardlink members: name to the member they name, resolved
        /// inside the archive (older `docker save` links duplicate layers).
        links: BTreeMap<String, String>,
    },
}

/// Links followed resolving one archive member.
const MEMBER_LINKS: usize = 40;

/// A path taken from image metadata, checked: relative, no `..`, normalised
/// (`./`, duplicate `/`). Nothing an image names may resolve on the host.
pub(crate) fn member_name(rel: &str) -> Result<String, String> {
    if rel.starts_with('/') {
        return Err(format!(
            "`{rel}` is an absolute path; an image may only name its own files"
        ));
    }
    let mut parts = Vec::new();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "`{rel}` contains `..`; an image may only name its own files"
                ));
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(format!("`{rel}` names no file"));
    }
    Ok(parts.join("/"))
}

/// `target` of a link member `name`, as an archive member name; `None` when it
/// leaves the archive (absolute, or `..` above its root).
pub(crate) fn link_target(name: &str, target: &str, symbolic: bool) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = if symbolic {
        name.split('/').collect()
    } else {
        vec![""]
    };
    parts.pop();
    parts.retain(|p| !p.is_empty() && *p != ".");
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl Store {
    /// Opens a layout directory or indexes an archive.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let meta = std::fs::metadata(path).map_err(|e| {
            format!(
                "`{}`: {e}; build the image first (or check the path)",
                path.display()
            )
        })?;
        if meta.is_dir() {
            return Ok(Store::Dir(path.to_owned()));
        }
        let file =
            crate::fsio::open_file(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
        let bad = |e: io::Error| format!("`{}`: not a readable tar archive: {e}", path.display());
        let mut archive = TarReader::new(Seekable::new(file).map_err(bad)?);
        let mut members = BTreeMap::new();
        let mut links = BTreeMap::new();
        while let Some(entry) = archive.next_entry().map_err(bad)? {
            let raw = String::from_utf8_lossy(&entry.path).into_owned();
            let Ok(name) = member_name(&raw) else {
                continue; // never named by valid metadata
            };
            match entry.kind {
                EntryKind::Symlink | EntryKind::HardLink => {
                    let target = String::from_utf8_lossy(&entry.link);
                    let symlink = entry.kind == EntryKind::Symlink;
                    if let Some(t) = link_target(&name, &target, symlink) {
                        links.insert(name, t);
                    }
                }
                // A sparse member is not one run of bytes in the archive; no image
                // writer produces one.
                EntryKind::File if entry.contiguous => {
                    members.insert(name, (entry.data_offset, entry.size));
                }
                _ => {}
            }
        }
        Ok(Store::Tar {
            path: path.to_owned(),
            members,
            links,
        })
    }

    pub(crate) fn has(&self, rel: &str) -> bool {
        match self {
            Store::Dir(_) => self.dir_path(rel).is_ok_and(|p| p.is_file()),
            Store::Tar { .. } => self.member(rel).is_ok(),
        }
    }

    /// A file of a layout directory: `rel` checked, and its real path (symlinks
    /// followed) inside the directory.
    fn dir_path(&self, rel: &str) -> io::Result<PathBuf> {
        let Store::Dir(d) = self else {
            unreachable!("dir_path of an archive")
        };
        let rel = member_name(rel).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let real = d.join(&rel).canonicalize()?;
        if !real.starts_with(d.canonicalize()?) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{rel}` is a link leading out of the image directory"),
            ));
        }
        Ok(real)
    }

    /// An archive member's (offset, size), link members followed inside the archive.
    fn member(&self, rel: &str) -> io::Result<(u64, u64)> {
        let Store::Tar { members, links, .. } = self else {
            unreachable!("member of a directory")
        };
        let mut name =
            member_name(rel).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        for _ in 0..=MEMBER_LINKS {
            if let Some(&found) = members.get(&name) {
                return Ok(found);
            }
            match links.get(&name) {
                Some(t) => name.clone_from(t),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        "no such member in the archive",
                    ));
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("too many levels of links resolving `{rel}` in the archive"),
        ))
    }

    /// Opens a file of the layout or archive, with its size. `rel` comes from image
    /// metadata: absolute paths, `..` and links leading outside are refused.
    pub(crate) fn open_file(&self, rel: &str) -> io::Result<(Box<dyn Read>, u64)> {
        match self {
            Store::Dir(_) => {
                let f = crate::fsio::open_file(&self.dir_path(rel)?)?;
                let len = f.metadata()?.len();
                Ok((Box::new(f), len))
            }
            Store::Tar { path, .. } => {
                let (offset, size) = self.member(rel)?;
                let mut f = crate::fsio::open_file(path)?;
                f.seek(SeekFrom::Start(offset))?;
                Ok((Box::new(f.take(size)), size))
            }
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Store::Dir(d) => format!("`{}`", d.display()),
            Store::Tar { path, .. } => format!("`{}`", path.display()),
        }
    }
}

/// One layer to read.
#[derive(Debug, Clone)]
pub(crate) struct LayerRef {
    /// The file holding the blob inside the store.
    pub file: String,
    pub media_type: String,
    /// The compressed blob's descriptor; `None` for a docker-archive layer that turns
    /// out compressed (its archive records no digest for it).
    pub expected: Option<Expected>,
    pub size: u64,
}

/// Everything needed to read the image.
pub(crate) struct Located {
    /// What the store turned out to be.
    pub transport: Transport,
    pub manifest_digest: Digest,
    /// The image indexes passed through to reach the manifest, outermost first.
    pub index_digests: Vec<Digest>,
    pub config_digest: Digest,
    pub config: Vec<u8>,
    pub layers: Vec<LayerRef>,
    pub names: Vec<String>,
}

/// Error while locating: a message, or a blob that failed verification.
pub(crate) enum LocateError {
    Message(String),
    Mismatch { what: String, mismatch: Mismatch },
}

impl From<String> for LocateError {
    fn from(s: String) -> Self {
        LocateError::Message(s)
    }
}

/// Finds the image `reference` picks in `store`. `kind` is the transport the user
/// wrote, which must agree with what the store is: `oci:` a directory,
/// `oci-archive:` a tar with `index.json`, `docker-archive:` a tar with
/// `manifest.json` (read as such even when it also has `index.json`, as Docker 25+
/// writes). Without a prefix, `index.json` wins.
pub(crate) fn locate(
    store: &Store,
    reference: &Reference,
    kind: LocalKind,
    platform: &Platform,
) -> Result<Located, LocateError> {
    // Whether a directory or a file suits the prefix is checked before the store
    // is opened (`image::read_local`).
    let is_dir = matches!(store, Store::Dir(_));
    let (oci, docker) = (store.has("index.json"), store.has("manifest.json"));
    let located = match kind {
        LocalKind::DockerArchive if docker => locate_docker(store, &reference.selector),
        LocalKind::DockerArchive => {
            return Err(LocateError::Message(format!(
                "{} has no `manifest.json`: it is not a docker-archive{}",
                store.describe(),
                if oci {
                    " (it has `index.json`: write `oci-archive:`)"
                } else {
                    ""
                }
            )));
        }
        _ if oci => locate_oci(store, &reference.selector, platform),
        LocalKind::Oci | LocalKind::OciArchive => {
            return Err(LocateError::Message(format!(
                "{} has no `index.json`: it is not an OCI layout{}",
                store.describe(),
                if docker {
                    " (it has `manifest.json`: write `docker-archive:`)"
                } else {
                    ""
                }
            )));
        }
        LocalKind::Sniffed if docker => locate_docker(store, &reference.selector),
        LocalKind::Sniffed => {
            return Err(LocateError::Message(format!(
                "{} has no `index.json` (OCI layout) and no `manifest.json` (docker-archive); is it an image?",
                store.describe()
            )));
        }
    };
    let mut located = located?;
    located.transport = match (is_dir, located.transport) {
        (true, _) => Transport::Oci,
        (false, t) => t,
    };
    Ok(located)
}

fn blob_path(digest: &str) -> Result<String, String> {
    let parsed: Digest = digest.parse().map_err(|_| {
        format!("unsupported or malformed digest `{digest}` (only sha256 is supported)")
    })?;
    Ok(format!("blobs/sha256/{}", parsed.hex()))
}

fn expected_of(d: &Descriptor) -> Result<Expected, String> {
    let text = d.digest().to_string();
    let digest = text.parse().map_err(|_| {
        format!("unsupported or malformed digest `{text}` (only sha256 is supported)")
    })?;
    Ok(Expected {
        digest,
        size: d.size(),
    })
}

fn read_verified(store: &Store, what: &str, d: &Descriptor) -> Result<Vec<u8>, LocateError> {
    let expected = expected_of(d)?;
    let path = blob_path(d.digest().as_ref())?;
    let (reader, _) = store
        .open_file(&path)
        .map_err(|e| format!("cannot open {what} `{}`: {e}", d.digest()))?;
    match blob::read_small(reader, &expected, METADATA_MAX) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(mismatch)) => Err(LocateError::Mismatch {
            what: format!("{what} `{}`", d.digest()),
            mismatch,
        }),
        Err(e) => Err(LocateError::Message(format!(
            "cannot read {what} `{}`: {e}",
            d.digest()
        ))),
    }
}

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

fn names_of(d: &Descriptor) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(a) = d.annotations() {
        for key in [
            "io.containerd.image.name",
            "org.opencontainers.image.ref.name",
        ] {
            if let Some(v) = a.get(key) {
                names.push(v.clone());
            }
        }
    }
    names
}

fn describe_choice(d: &Descriptor) -> String {
    let mut s = d.digest().to_string();
    if let Some(p) = d.platform() {
        s.push_str(&format!(" ({}/{})", p.os(), p.architecture()));
    }
    for n in names_of(d) {
        s.push_str(&format!(" [{n}]"));
    }
    s
}

fn choose<'a>(
    manifests: &'a [Descriptor],
    selector: &Selector,
    where_: &str,
    platform: &Platform,
) -> Result<&'a Descriptor, String> {
    let found: Vec<&Descriptor> = match selector {
        Selector::Digest(digest) => manifests
            .iter()
            .filter(|d| d.digest().to_string() == *digest)
            .collect(),
        Selector::Tag(tag) => manifests
            .iter()
            .filter(|d| {
                d.annotations().as_ref().is_some_and(|a| {
                    a.get("org.opencontainers.image.ref.name") == Some(tag)
                        || a.get("io.containerd.image.name").is_some_and(|n| {
                            n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag)
                        })
                })
            })
            .collect(),
        Selector::Default => {
            if manifests.len() == 1 {
                manifests.iter().collect()
            } else {
                manifests
                    .iter()
                    .filter(|d| {
                        d.platform().as_ref().is_some_and(|p| {
                            platform.matches(
                                &p.os().to_string(),
                                &p.architecture().to_string(),
                                p.variant().as_deref(),
                            )
                        })
                    })
                    .collect()
            }
        }
    };
    // The same manifest under several tags is one manifest.
    let same_digest = matches!(selector, Selector::Digest(_))
        && found.windows(2).all(|w| w[0].digest() == w[1].digest());
    match found.as_slice() {
        [one] => Ok(one),
        [first, ..] if same_digest => Ok(first),
        _ => {
            let choices: Vec<String> = manifests.iter().map(describe_choice).collect();
            let wanted = match selector {
                Selector::Digest(d) => format!("no single manifest has digest `{d}`"),
                Selector::Tag(t) => format!("no single manifest is tagged `{t}`"),
                Selector::Default if manifests.is_empty() => "it lists no manifest".to_owned(),
                Selector::Default => {
                    format!(
                        "it lists several manifests and not exactly one for {platform} (`--platform`)"
                    )
                }
            };
            Err(format!(
                "{where_}: {wanted}; choose one with `:tag` or `@sha256:…` among: {}",
                choices.join(", ")
            ))
        }
    }
}

fn locate_oci(
    store: &Store,
    selector: &Selector,
    platform: &Platform,
) -> Result<Located, LocateError> {
    let (mut reader, size) = store
        .open_file("index.json")
        .map_err(|e| format!("cannot open `index.json`: {e}"))?;
    if size > METADATA_MAX {
        return Err(format!("`index.json` is {size} bytes, too large").into());
    }
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `index.json`: {e}"))?;
    match check_document(&bytes, None) {
        Ok(DocumentKind::Index) => {}
        Ok(DocumentKind::Manifest) => {
            return Err("`index.json` is an image manifest, not an image index"
                .to_owned()
                .into());
        }
        Err(e) => return Err(format!("`index.json`: {e}").into()),
    }
    let index: ImageIndex = serde_json::from_slice(&bytes)
        .map_err(|e| format!("`index.json` is not an OCI image index: {e}"))?;
    let mut descriptor = match choose(index.manifests(), selector, "`index.json`", platform) {
        Ok(d) => d.clone(),
        Err(e) => match selector {
            // `@digest` of a manifest inside a nested index (multi-platform images).
            Selector::Digest(digest) => {
                find_nested(store, index.manifests(), digest, 0)?.ok_or(LocateError::Message(e))?
            }
            _ => return Err(e.into()),
        },
    };
    let mut names = names_of(&descriptor);
    let mut index_digests = Vec::new();
    // Nested indexes (multi-platform images): descend, picking the platform.
    for _ in 0..4 {
        let media = descriptor.media_type().to_string();
        if INDEX_TYPES.contains(&media.as_str()) {
            let bytes = read_verified(store, "index", &descriptor)?;
            check_document(&bytes, Some(&media))
                .map_err(|e| format!("index `{}`: {e}", descriptor.digest()))?;
            index_digests.push(expected_of(&descriptor)?.digest);
            let nested: ImageIndex = serde_json::from_slice(&bytes)
                .map_err(|e| format!("index `{}` is not valid: {e}", descriptor.digest()))?;
            let where_ = format!("index `{}`", descriptor.digest());
            descriptor = choose(nested.manifests(), &Selector::Default, &where_, platform)?.clone();
            names.extend(names_of(&descriptor));
        } else if MANIFEST_TYPES.contains(&media.as_str()) {
            let mut located = read_manifest(store, &descriptor, names)?;
            located.index_digests = index_digests;
            return Ok(located);
        } else {
            return Err(format!(
                "manifest `{}` has unknown media type `{media}`",
                descriptor.digest()
            )
            .into());
        }
    }
    Err(format!("indexes nest too deeply at `{}`", descriptor.digest()).into())
}

/// The descriptor with `digest` in the indexes nested under `manifests`, searched
/// depth first, at most 4 levels deep.
fn find_nested(
    store: &Store,
    manifests: &[Descriptor],
    digest: &str,
    depth: usize,
) -> Result<Option<Descriptor>, LocateError> {
    if depth >= 4 {
        return Ok(None);
    }
    for d in manifests {
        if !INDEX_TYPES.contains(&d.media_type().to_string().as_str()) {
            continue;
        }
        let bytes = read_verified(store, "index", d)?;
        check_document(&bytes, Some(d.media_type().as_ref()))
            .map_err(|e| format!("index `{}`: {e}", d.digest()))?;
        let nested: ImageIndex = serde_json::from_slice(&bytes)
            .map_err(|e| format!("index `{}` is not valid: {e}", d.digest()))?;
        if let Some(found) = nested
            .manifests()
            .iter()
            .find(|m| m.digest().to_string() == digest)
        {
            return Ok(Some(found.clone()));
        }
        if let Some(found) = find_nested(store, nested.manifests(), digest, depth + 1)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn read_manifest(
    store: &Store,
    descriptor: &Descriptor,
    names: Vec<String>,
) -> Result<Located, LocateError> {
    let bytes = read_verified(store, "manifest", descriptor)?;
    check_document(&bytes, Some(descriptor.media_type().as_ref()))
        .map_err(|e| format!("manifest `{}`: {e}", descriptor.digest()))?;
    let manifest: ImageManifest = serde_json::from_slice(&bytes)
        .map_err(|e| format!("manifest `{}` is not valid: {e}", descriptor.digest()))?;
    let config_desc = manifest.config();
    let config = read_verified(store, "config", config_desc)?;
    let config_digest = expected_of(config_desc)?.digest;
    let mut layers = Vec::new();
    for l in manifest.layers() {
        let expected = expected_of(l)?;
        layers.push(LayerRef {
            file: blob_path(l.digest().as_ref())?,
            media_type: l.media_type().to_string(),
            size: expected.size,
            expected: Some(expected),
        });
    }
    let mut names = names;
    names.sort();
    names.dedup();
    Ok(Located {
        transport: Transport::OciArchive,
        manifest_digest: expected_of(descriptor)?.digest,
        index_digests: Vec::new(),
        config_digest,
        config,
        layers,
        names,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DockerEntry {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

/// A docker-archive: `manifest.json` picks the entry, the config is read and checked
/// against its file name, the layers are sniffed for compression, and the manifest
/// digest is that of the schema 2 manifest skopeo synthesises for the archive.
fn locate_docker(store: &Store, selector: &Selector) -> Result<Located, LocateError> {
    let entries: Vec<DockerEntry> =
        serde_json::from_slice(&read_member(store, "manifest.json")?)
            .map_err(|e| format!("`manifest.json` is not a docker-archive manifest: {e}"))?;
    let entry = choose_docker_entry(&entries, selector)?;
    // Every path `manifest.json` names stays inside the image.
    for (what, name) in
        std::iter::once(("Config", &entry.config)).chain(entry.layers.iter().map(|l| ("Layers", l)))
    {
        member_name(name).map_err(|e| format!("`manifest.json` {what}: {e}"))?;
    }
    let config = read_member(store, &entry.config)?;
    let config_digest = Digest::of(&config);
    check_config_name(&entry.config, &config, config_digest)?;
    let diff_ids = super::config_diff_ids(&config)?;
    if diff_ids.len() != entry.layers.len() {
        return Err(format!(
            "`manifest.json` lists {} layers but the config has {} diff_ids",
            entry.layers.len(),
            diff_ids.len()
        )
        .into());
    }
    let layers = entry
        .layers
        .iter()
        .zip(&diff_ids)
        .map(|(file, diff_id)| docker_layer(store, file, *diff_id))
        .collect::<Result<Vec<_>, _>>()?;
    let mut names = entry.repo_tags.clone().unwrap_or_default();
    names.sort();
    Ok(Located {
        transport: Transport::DockerArchive,
        manifest_digest: skopeo_manifest_digest(&config, config_digest, &layers, &diff_ids),
        index_digests: Vec::new(),
        config_digest,
        config,
        layers,
        names,
    })
}

/// A metadata member of an archive (or file of a layout), read whole up to
/// [`METADATA_MAX`].
fn read_member(store: &Store, name: &str) -> Result<Vec<u8>, String> {
    let (mut r, size) = store
        .open_file(name)
        .map_err(|e| format!("cannot open `{name}` in the archive: {e}"))?;
    if size > METADATA_MAX {
        return Err(format!("`{name}` is {size} bytes, too large"));
    }
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    Ok(bytes)
}

/// The one `manifest.json` entry the reference picks: the only one, or the one
/// whose `RepoTags` hold the tag.
pub(crate) fn choose_docker_entry<'a>(
    entries: &'a [DockerEntry],
    selector: &Selector,
) -> Result<&'a DockerEntry, String> {
    let chosen: Vec<&DockerEntry> = match selector {
        Selector::Default if entries.len() == 1 => entries.iter().collect(),
        Selector::Tag(tag) => entries
            .iter()
            .filter(|e| {
                e.repo_tags
                    .iter()
                    .flatten()
                    .any(|t| repo_tag_matches(t, tag))
            })
            .collect(),
        _ => Vec::new(),
    };
    match chosen.as_slice() {
        [entry] => Ok(entry),
        _ => {
            let tags: Vec<String> = entries
                .iter()
                .flat_map(|e| e.repo_tags.clone().unwrap_or_default())
                .collect();
            Err(format!(
                "`manifest.json` lists {} images and the reference does not pick exactly one; add `:tag` (tags: {})",
                entries.len(),
                tags.join(", ")
            ))
        }
    }
}

/// Whether a docker-archive `RepoTags` entry is what `wanted` names: the same text,
/// the same tag (`:v1` picks `localhost/web:v1`), or the same name after Docker's
/// normalisation (`web:v1` is `docker.io/library/web:v1`).
fn repo_tag_matches(repo_tag: &str, wanted: &str) -> bool {
    if repo_tag == wanted || repo_tag.rsplit_once(':').is_some_and(|(_, t)| t == wanted) {
        return true;
    }
    let split = |s: &str| -> Option<(String, String)> {
        let last_slash = s.rfind('/').map_or(0, |i| i + 1);
        let i = s[last_slash..].rfind(':')? + last_slash;
        Some((
            crate::model::running::normalise_repository(&s[..i]),
            s[i + 1..].to_owned(),
        ))
    };
    matches!((split(repo_tag), split(wanted)), (Some(a), Some(b)) if a == b)
}

/// The config's file name, when it is a digest, must match the content.
pub(crate) fn check_config_name(
    name: &str,
    config: &[u8],
    digest: Digest,
) -> Result<(), LocateError> {
    let stem = name
        .trim_start_matches("blobs/sha256/")
        .trim_end_matches(".json");
    match format!("sha256:{stem}").parse::<Digest>() {
        Ok(named) if named != digest => Err(LocateError::Mismatch {
            what: format!("config `{name}`"),
            mismatch: Mismatch {
                expected: Expected {
                    digest: named,
                    size: config.len() as u64,
                },
                actual_digest: digest,
                actual_size: config.len() as u64,
            },
        }),
        _ => Ok(()),
    }
}

/// One docker-archive layer. The archive records no blob digest, so the layer is
/// sniffed: gzip or zstd is read as such (verified by its diff_id only), a plain tar
/// is its own blob and must hash to the diff_id.
fn docker_layer(store: &Store, file: &str, diff_id: Digest) -> Result<LayerRef, String> {
    let (mut r, size) = store
        .open_file(file)
        .map_err(|e| format!("cannot open layer `{file}`: {e}"))?;
    let mut magic = [0u8; 4];
    let n =
        read_up_to(&mut r, &mut magic).map_err(|e| format!("cannot read layer `{file}`: {e}"))?;
    let (media_type, expected) = match &magic[..n] {
        [0x1f, 0x8b, ..] => ("application/vnd.docker.image.rootfs.diff.tar.gzip", None),
        [0x28, 0xb5, 0x2f, 0xfd] => ("application/vnd.oci.image.layer.v1.tar+zstd", None),
        _ => (
            "application/vnd.docker.image.rootfs.diff.tar",
            Some(Expected {
                digest: diff_id,
                size,
            }),
        ),
    };
    Ok(LayerRef {
        file: file.to_owned(),
        media_type: media_type.to_owned(),
        expected,
        size,
    })
}

/// The digest of the Docker v2 schema 2 manifest skopeo synthesises for a
/// docker-archive: Go's `encoding/json` in struct field order, and every layer
/// labelled gzip whatever the file holds, so the digest agrees with skopeo's.
pub(crate) fn skopeo_manifest_digest(
    config: &[u8],
    config_digest: Digest,
    layers: &[LayerRef],
    diff_ids: &[Digest],
) -> Digest {
    let layers: Vec<String> = layers
        .iter()
        .zip(diff_ids)
        .map(|(l, diff_id)| {
            format!(
                r#"{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{},"digest":"{diff_id}"}}"#,
                l.size
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{config_digest}"}},"layers":[{}]}}"#,
        config.len(),
        layers.join(",")
    );
    Digest::of(manifest.as_bytes())
}

pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
