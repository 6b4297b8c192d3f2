//! Reading images from registries over the OCI distribution API, and from a local
//! Docker or podman engine over the Docker Engine API.
//!
//! - [`reference`]: `docker://HOST[:PORT]/REPO[:TAG|@sha256:…]` with Docker's
//!   normalisation, `docker-daemon:NAME[:TAG]`, and `--platform`;
//! - [`Client`]: manifests (OCI and Docker schema 2, indexes and manifest lists
//!   resolved to one platform), blobs verified as they stream ([`BlobReader`]), layers
//!   prefetched in parallel ([`Prefetch`]), pushes, tags;
//! - `artifact.rs`: OCI 1.1 artifacts attached to a manifest (`subject`), pushed and
//!   listed through the referrers API or the referrers tag scheme;
//! - [`auth`]: credentials (auth files, credential helpers) and challenges;
//! - [`daemon`]: `GET /images/{name}/get` streamed from the engine's socket.
//!
//! The client never prints and never puts a credential in an error.

mod artifact;
pub mod auth;
mod blob;
mod client;
pub mod daemon;
mod error;
mod prefetch;
mod push;
pub mod reference;

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use ureq::http::Method;

pub use artifact::{Artifact, Attached, EMPTY_JSON, Listing, Referrers, Subject, referrers_tag};
pub use auth::Credential;
pub use blob::{BlobReader, RESUMES};
pub use client::Client;
use client::Req;
pub use daemon::{DockerHost, export as daemon_export};
pub use error::RegistryError;
pub use prefetch::{Prefetch, PrefetchedBlob};
pub use push::Referrer;
pub use reference::{DaemonReference, Platform, Reference};

use crate::blob::Expected;
use crate::digest::Digest;

/// The most a manifest or index may weigh, as the OCI distribution spec suggests.
pub const MAX_MANIFEST: u64 = 4 * 1024 * 1024;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// How the client connects and whom it trusts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Verify server certificates (`--tls-verify`, default true). When false, a
    /// host that does not speak TLS at all is tried over plain HTTP, as skopeo does.
    pub tls_verify: bool,
    /// Talk plain HTTP to every registry (only when asked).
    pub plain_http: bool,
    /// A skopeo-style directory: `*.crt` CA files trusted beside the system's roots;
    /// a `NAME.cert` + `NAME.key` pair sent as the client certificate.
    pub cert_dir: Option<PathBuf>,
    /// An auth file consulted before `$REGISTRY_AUTH_FILE` and the default ones.
    pub auth_file: Option<PathBuf>,
    /// Credentials given outright (`--creds`): no file is consulted.
    pub credentials: Option<Credential>,
    /// The platform picked from an index (default: this machine's).
    pub platform: Platform,
    /// Attempts per request on connection failures, 429 and 5xx (default 4).
    pub max_attempts: u32,
    /// The longest wait between attempts, whatever `Retry-After` says (default 60 s).
    pub max_retry_wait: Duration,
    /// How many blobs [`Client::prefetch`] downloads at once (default 3).
    pub parallel: usize,
    /// `User-Agent`.
    pub user_agent: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            tls_verify: true,
            plain_http: false,
            cert_dir: None,
            auth_file: None,
            credentials: None,
            platform: Platform::host(),
            max_attempts: 4,
            max_retry_wait: Duration::from_secs(60),
            parallel: 3,
            user_agent: format!("buildproof/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A manifest as the registry served it, indexes resolved to one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// SHA-256 of `bytes`: the digest the registry serves the manifest under.
    pub digest: Digest,
    /// `application/vnd.oci.image.manifest.v1+json` or Docker's schema 2.
    pub media_type: String,
    /// The manifest as served, at most [`MAX_MANIFEST`] bytes.
    pub bytes: Vec<u8>,
    /// The indexes (manifest lists) passed through, outermost first.
    pub index_digests: Vec<Digest>,
    /// The platform picked from the index, when there was one.
    pub platform: Option<Platform>,
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Descriptor {
    /// The digest and size, for verified reads; only `sha256` is supported.
    pub fn expected(&self) -> Result<Expected, String> {
        let digest = self
            .digest
            .parse::<Digest>()
            .map_err(|_| format!("`{}` is not a sha256 digest", self.digest))?;
        Ok(Expected {
            digest,
            size: self.size,
        })
    }
}

/// What an image manifest points at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImageManifest {
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

impl FetchedManifest {
    /// The config and layer descriptors.
    pub fn image(&self) -> Result<ImageManifest, String> {
        serde_json::from_slice(&self.bytes).map_err(|e| format!("not an image manifest: {e}"))
    }
}

/// What an image document is, by its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// An image manifest (OCI, or Docker schema 2): `config` and `layers`.
    Manifest,
    /// An image index (OCI, or a Docker manifest list): `manifests`.
    Index,
}

impl DocumentKind {
    /// The kind a media type names; `None` for a type that is neither.
    #[must_use]
    pub fn of_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            OCI_MANIFEST | DOCKER_MANIFEST => Some(Self::Manifest),
            OCI_INDEX | DOCKER_LIST => Some(Self::Index),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Manifest => "an image manifest",
            Self::Index => "an image index",
        }
    }
}

/// Checks an image manifest or index before it is read as one, so a document of
/// another version or kind is never read as if it were current: `schemaVersion`
/// must be 2; its own `mediaType`, when present, must name what its shape is
/// (`config`/`layers` for a manifest, `manifests` for an index); and so must
/// `declared`, the media type of the descriptor that pointed at it. The message
/// says what is wrong, for the caller to prefix with which document it is.
pub fn check_document(bytes: &[u8], declared: Option<&str>) -> Result<DocumentKind, String> {
    #[derive(Deserialize)]
    struct Shape {
        #[serde(rename = "schemaVersion", default)]
        schema_version: Option<serde_json::Value>,
        #[serde(rename = "mediaType", default)]
        media_type: Option<serde_json::Value>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
        #[serde(default)]
        config: Option<serde_json::Value>,
        #[serde(default)]
        layers: Option<serde_json::Value>,
    }
    let shape: Shape =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON object: {e}"))?;
    match &shape.schema_version {
        Some(v) if v.as_u64() == Some(2) => {}
        Some(v) if v.as_u64() == Some(1) => {
            return Err("Docker schema 1 manifests are not supported (push the image again with a current tool)".to_owned());
        }
        Some(v) => {
            return Err(format!(
                "`schemaVersion` is {v}, not 2: a version of the format this buildproof does not know"
            ));
        }
        None => return Err("it has no `schemaVersion` (2 is required)".to_owned()),
    }
    let kind = match (
        shape.manifests.is_some(),
        shape.config.is_some() || shape.layers.is_some(),
    ) {
        (true, false) => DocumentKind::Index,
        (false, true) => DocumentKind::Manifest,
        (true, true) => {
            return Err(
                "it has both `manifests` (an index) and `config`/`layers` (a manifest)".to_owned(),
            );
        }
        (false, false) => {
            return Err(
                "it has neither `manifests` (an index) nor `config` (a manifest)".to_owned(),
            );
        }
    };
    let own = match &shape.media_type {
        None => None,
        Some(serde_json::Value::String(m)) => Some(m.as_str()),
        Some(other) => return Err(format!("its `mediaType` {other} is not a string")),
    };
    for (whose, media_type) in [
        ("its own `mediaType`", own),
        ("the descriptor's `mediaType`", declared),
    ] {
        let Some(media_type) = media_type.filter(|m| !m.is_empty()) else {
            continue;
        };
        match DocumentKind::of_media_type(media_type) {
            Some(k) if k == kind => {}
            Some(k) => {
                return Err(format!(
                    "{whose} `{media_type}` says {}, but the document is {}",
                    k.noun(),
                    kind.noun()
                ));
            }
            // Only the document's own type must be known; a descriptor may say
            // `application/json` (some registries' Content-Type).
            None if whose.starts_with("its own") => {
                return Err(format!(
                    "its `mediaType` `{media_type}` is not an image manifest or index type this buildproof reads"
                ));
            }
            None => {}
        }
    }
    Ok(kind)
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
}

#[derive(Deserialize, Clone)]
struct IndexEntry {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    platform: Option<IndexPlatform>,
}

#[derive(Deserialize, Clone)]
struct IndexPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

struct Served {
    bytes: Vec<u8>,
    digest: Digest,
    content_type: Option<String>,
    /// The media type the index entry that led here declared.
    declared: Option<String>,
}

impl Client {
    /// Fetches the manifest `reference` names; an index or manifest list is resolved
    /// to the manifest for [`Options::platform`], each step verified by digest.
    pub fn manifest(&self, reference: &Reference) -> Result<FetchedManifest, RegistryError> {
        let host = reference.registry.clone();
        let merr = |what: &str, detail: String| RegistryError::Manifest {
            host: host.clone(),
            what: what.to_owned(),
            detail,
        };
        let mut what = format!("{}:{}", reference.repository, reference.manifest_ref());
        if let Some(d) = &reference.digest {
            what = format!("{}@{d}", reference.repository);
        }
        let mut served = self.get_manifest(reference, &reference.manifest_ref(), &what)?;
        if let Some(want) = &reference.digest {
            if served.digest != *want {
                return Err(merr(
                    &what,
                    format!("the registry served content with digest {}", served.digest),
                ));
            }
        }
        let mut index_digests = Vec::new();
        let mut platform = None;
        for _ in 0..4 {
            let kind = check_document(&served.bytes, served.declared.as_deref())
                .map_err(|e| merr(&what, e))?;
            let probe: Probe = serde_json::from_slice(&served.bytes)
                .map_err(|e| merr(&what, format!("not JSON: {e}")))?;
            let media_type = probe
                .media_type
                .clone()
                .or_else(|| served.content_type.clone())
                .unwrap_or_default();
            if kind == DocumentKind::Manifest {
                let media_type = if media_type.is_empty() || media_type == "application/json" {
                    OCI_MANIFEST.to_owned()
                } else {
                    media_type
                };
                if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
                    return Err(merr(
                        &what,
                        format!("unsupported media type `{media_type}`"),
                    ));
                }
                return Ok(FetchedManifest {
                    digest: served.digest,
                    media_type,
                    bytes: served.bytes,
                    index_digests,
                    platform,
                });
            }
            index_digests.push(served.digest);
            let entries = probe.manifests.unwrap_or_default();
            let want = &self.inner.opts.platform;
            let chosen = entries
                .iter()
                .find(|e| {
                    e.platform
                        .as_ref()
                        .is_some_and(|p| want.matches(&p.os, &p.architecture, p.variant.as_deref()))
                })
                .cloned();
            let Some(entry) = chosen else {
                let mut available: Vec<String> = entries
                    .iter()
                    .filter_map(|e| e.platform.as_ref())
                    .filter(|p| p.os != "unknown")
                    .map(|p| match &p.variant {
                        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                        None => format!("{}/{}", p.os, p.architecture),
                    })
                    .collect();
                available.dedup();
                return Err(RegistryError::NoPlatform {
                    reference: reference.to_string(),
                    platform: want.to_string(),
                    available: if available.is_empty() {
                        "no platforms".to_owned()
                    } else {
                        available.join(", ")
                    },
                });
            };
            let digest: Digest = entry.digest.parse().map_err(|_| {
                merr(
                    &what,
                    format!("index entry `{}` is not a sha256 digest", entry.digest),
                )
            })?;
            if entry.size > MAX_MANIFEST {
                return Err(merr(
                    &what,
                    format!("index entry declares {} bytes", entry.size),
                ));
            }
            platform = entry.platform.as_ref().map(|p| Platform {
                os: p.os.clone(),
                architecture: p.architecture.clone(),
                variant: p.variant.clone(),
            });
            what = format!("{}@{digest}", reference.repository);
            served = self.get_manifest(reference, &digest.to_string(), &what)?;
            if served.digest != digest || served.bytes.len() as u64 != entry.size {
                return Err(merr(
                    &what,
                    format!(
                        "the registry served {} bytes with digest {}, the index declares {} bytes",
                        served.bytes.len(),
                        served.digest,
                        entry.size
                    ),
                ));
            }
            if !entry.media_type.is_empty() {
                served.content_type = Some(entry.media_type.clone());
                served.declared = Some(entry.media_type.clone());
            }
        }
        Err(merr(&what, "indexes nest more than 4 deep".to_owned()))
    }

    fn get_manifest(
        &self,
        reference: &Reference,
        manifest_ref: &str,
        what: &str,
    ) -> Result<Served, RegistryError> {
        let req = Req {
            method: Method::GET,
            reference,
            path: format!("/v2/{}/manifests/{manifest_ref}", reference.repository),
            headers: vec![(
                "accept",
                [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(", "),
            )],
            body: None,
            actions: "pull",
            what: what.to_owned(),
        };
        let resp = self.send(&req)?;
        let status = resp.status().as_u16();
        let host = reference.registry.clone();
        if status == 404 {
            return Err(RegistryError::NotFound {
                host,
                what: what.to_owned(),
                message: error::server_message(&client::read_small(resp)),
            });
        }
        if status != 200 {
            return Err(RegistryError::Status {
                host,
                what: what.to_owned(),
                status,
                message: error::server_message(&client::read_small(resp)),
            });
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type =
            header("content-type").map(|c| c.split(';').next().unwrap_or("").trim().to_owned());
        let served_digest = header("docker-content-digest");
        let merr = |detail: String| RegistryError::Manifest {
            host: host.clone(),
            what: what.to_owned(),
            detail,
        };
        if let Some(len) = resp.body().content_length() {
            if len > MAX_MANIFEST {
                return Err(merr(format!(
                    "{len} bytes, more than the {MAX_MANIFEST} allowed"
                )));
            }
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(resp.into_body().into_reader(), MAX_MANIFEST + 1),
            &mut bytes,
        )
        .map_err(|e| merr(format!("reading it failed: {e}")))?;
        if bytes.len() as u64 > MAX_MANIFEST {
            return Err(merr(format!("more than the {MAX_MANIFEST} bytes allowed")));
        }
        let digest = Digest::of(&bytes);
        if let Some(d) = served_digest
            .as_deref()
            .filter(|d| d.starts_with("sha256:"))
        {
            if d != digest.to_string() {
                return Err(merr(format!(
                    "the registry says its digest is {d}, but the bytes served hash to {digest}"
                )));
            }
        }
        Ok(Served {
            bytes,
            digest,
            content_type,
            declared: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_checked_before_they_are_read() {
        let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
        let index = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(
            check_document(manifest.as_bytes(), Some(OCI_MANIFEST)),
            Ok(DocumentKind::Manifest)
        );
        assert_eq!(
            check_document(index.as_bytes(), Some(DOCKER_LIST)),
            Ok(DocumentKind::Index)
        );
        // Some registries serve `application/json`: not a contradiction.
        assert_eq!(
            check_document(index.as_bytes(), Some("application/json")),
            Ok(DocumentKind::Index)
        );
        let refused = [
            (r#"{"schemaVersion":1,"fsLayers":[]}"#, None, "schema 1"),
            (r#"{"schemaVersion":3,"manifests":[]}"#, None, "is 3, not 2"),
            (
                r#"{"schemaVersion":"2","manifests":[]}"#,
                None,
                "is \"2\", not 2",
            ),
            (r#"{"manifests":[]}"#, None, "no `schemaVersion`"),
            (
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{}}"#,
                None,
                "says an image index, but the document is an image manifest",
            ),
            (index, Some(OCI_MANIFEST), "the descriptor's `mediaType`"),
            (
                r#"{"schemaVersion":2,"manifests":[],"layers":[]}"#,
                None,
                "both",
            ),
            (
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json","config":{}}"#,
                None,
                "not an image manifest or index type",
            ),
        ];
        for (doc, declared, needle) in refused {
            let e = check_document(doc.as_bytes(), declared).unwrap_err();
            assert!(e.contains(needle), "{doc}: {e}");
        }
    }
}
