//! OCI 1.1 artifacts attached to a manifest by its `subject`, as the OCI image spec
//! ("Guidelines for Artifact Usage") and distribution spec ("Pushing Manifests with
//! Subject", "Listing Referrers", "Referrers Tag Schema") describe them:
//!
//! - an artifact is an image manifest with an `artifactType`, the empty config
//!   (`application/vnd.oci.empty.v1+json`, the two bytes `{}`), the content as its one
//!   layer, and `subject`, the descriptor of the manifest it is about (the decision
//!   tree's second case: a blob, with no metadata of its own to put in a config);
//! - pushing: blobs, then the manifest by digest. A registry with the referrers API
//!   answers `OCI-Subject`; without it, the client keeps the referrers list itself:
//!   an image index under the tag `sha256-<hex>` of the subject's digest, read,
//!   extended by one descriptor (its `artifactType` and every annotation copied from
//!   the artifact), written back, and read again to see the entry survived a
//!   writer racing us (the spec leaves races to clients). Other entries are kept
//!   exactly as found;
//! - listing: `GET /v2/<name>/referrers/<digest>` (every page, `?artifactType=`
//!   filtered on our side when the registry did not), else that tag. A tag that
//!   holds something other than an index lists nothing, as the spec says, and is
//!   never overwritten.
//!
//! Idempotent by construction: the artifact manifest's bytes follow from the subject
//! and the content (keys sorted, no time of its own), so attaching the same content
//! again finds its digest listed and writes nothing.

use std::collections::BTreeMap;

use serde::Deserialize as _;
use serde_json::{Map, Value, json};
use ureq::http::Method;

use super::client::{Req, read_small};
use super::error::server_message;
use super::push::{Referrer, next_link, read_limited, status_err};
use super::{
    Client, DOCKER_LIST, DOCKER_MANIFEST, DocumentKind, MAX_MANIFEST, OCI_INDEX, OCI_MANIFEST,
    Reference, RegistryError, check_document,
};
use crate::digest::Digest;

/// The media type of the empty descriptor (image spec, "Guidance for an Empty
/// Descriptor").
pub const EMPTY_JSON: &str = "application/vnd.oci.empty.v1+json";
/// Its content: the smallest valid JSON object.
const EMPTY_BLOB: &[u8] = b"{}";
/// The most referrers pages followed (the API pages with `Link`).
const MAX_PAGES: usize = 100;
/// How often the referrers tag is rewritten when a concurrent writer drops our entry.
const TAG_ATTEMPTS: usize = 3;

/// The manifest an artifact is about: the descriptor its `subject` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

/// One blob to attach, and what to say about it.
#[derive(Debug, Clone)]
pub struct Artifact<'a> {
    /// The manifest's `artifactType`.
    pub artifact_type: &'a str,
    /// The layer's media type.
    pub media_type: &'a str,
    /// The layer's content.
    pub data: &'a [u8],
    /// Annotations of the layer descriptor.
    pub layer_annotations: BTreeMap<String, String>,
    /// Annotations of the manifest (copied into the referrers list entry).
    pub annotations: BTreeMap<String, String>,
}

/// Where a referrers list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// The registry's referrers API.
    Api,
    /// The `sha256-<hex>` tag of the fallback scheme.
    TagScheme,
}

impl Listing {
    /// How the list is reached, for messages: `the referrers API`, or the tag.
    #[must_use]
    pub fn describe(self, subject: &Digest) -> String {
        match self {
            Listing::Api => "the referrers API".to_owned(),
            Listing::TagScheme => format!("the referrers tag `{}`", referrers_tag(subject)),
        }
    }
}

/// The manifests that refer to one digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrers {
    pub list: Vec<Referrer>,
    pub via: Listing,
}

/// What [`Client::attach`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The artifact manifest's digest and size.
    pub manifest: Digest,
    pub size: u64,
    /// False when the very same artifact was already listed: nothing was written.
    pub added: bool,
    /// Where the referrers list is kept.
    pub via: Listing,
}

/// The tag of the referrers tag scheme for `digest`: `sha256-<hex>`.
#[must_use]
pub fn referrers_tag(digest: &Digest) -> String {
    format!("sha256-{}", digest.hex())
}

impl Artifact<'_> {
    /// The artifact manifest about `subject`; the same inputs give the same bytes.
    #[must_use]
    pub fn manifest(&self, subject: &Subject) -> Vec<u8> {
        let mut layer = json!({
            "mediaType": self.media_type,
            "digest": Digest::of(self.data).to_string(),
            "size": self.data.len(),
        });
        if !self.layer_annotations.is_empty() {
            layer["annotations"] = json!(self.layer_annotations);
        }
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": self.artifact_type,
            "config": {
                "mediaType": EMPTY_JSON,
                "digest": Digest::of(EMPTY_BLOB).to_string(),
                "size": EMPTY_BLOB.len(),
            },
            "layers": [layer],
            "subject": {
                "mediaType": subject.media_type,
                "digest": subject.digest.to_string(),
                "size": subject.size,
            },
        });
        if !self.annotations.is_empty() {
            manifest["annotations"] = json!(self.annotations);
        }
        // serde_json's map keeps keys sorted: deterministic bytes.
        manifest.to_string().into_bytes()
    }
}

impl Client {
    /// The descriptor of the manifest or index `digest` in `reference`'s repository,
    /// as served (no platform resolution), its bytes verified against the digest.
    pub fn subject(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<Subject, RegistryError> {
        let what = format!("{}@{digest}", reference.repository);
        let served = self.get_manifest(reference, &digest.to_string(), &what)?;
        let merr = |detail: String| RegistryError::Manifest {
            host: reference.registry.clone(),
            what: what.clone(),
            detail,
        };
        if served.digest != *digest {
            return Err(merr(format!(
                "the registry served content with digest {}",
                served.digest
            )));
        }
        let kind = check_document(&served.bytes, None).map_err(&merr)?;
        #[derive(serde::Deserialize)]
        struct Own {
            #[serde(rename = "mediaType", default)]
            media_type: Option<String>,
        }
        let own: Own = serde_json::from_slice(&served.bytes).map_err(|e| merr(e.to_string()))?;
        let media_type = own
            .media_type
            .or(served.content_type)
            .filter(|m| DocumentKind::of_media_type(m) == Some(kind))
            .unwrap_or_else(|| {
                match kind {
                    DocumentKind::Manifest => OCI_MANIFEST,
                    DocumentKind::Index => OCI_INDEX,
                }
                .to_owned()
            });
        Ok(Subject {
            media_type,
            digest: served.digest,
            size: served.bytes.len() as u64,
        })
    }

    /// The manifests that refer to `digest`, optionally of one artifact type: the
    /// referrers API, every page; on a registry without it (404), the index under
    /// the referrers tag (none when it does not exist or is no index).
    pub fn referrers_listed(
        &self,
        reference: &Reference,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, RegistryError> {
        let what = format!("{}@{digest} referrers", reference.repository);
        let mut path = format!("/v2/{}/referrers/{digest}", reference.repository);
        if let Some(t) = artifact_type {
            path.push_str(&format!("?artifactType={}", super::client::percent(t)));
        }
        let mut list = Vec::new();
        let mut filtered = true;
        for page in 0..MAX_PAGES {
            let req = Req {
                method: Method::GET,
                reference,
                path: path.clone(),
                headers: vec![("accept", OCI_INDEX.to_owned())],
                body: None,
                actions: "pull",
                what: what.clone(),
            };
            let resp = self.send(&req)?;
            let index_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_none_or(|t| t.starts_with(OCI_INDEX) || t.starts_with("application/json"));
            match resp.status().as_u16() {
                200 if index_type || page > 0 => {}
                // A registry without the API answers 404 (the spec's word); some
                // answer 400 or 406 for a route they do not know, or 200 with a
                // page that is no index; go-containerregistry falls back on all of
                // these, and so do we.
                200 | 400 | 404 | 406 if page == 0 => {
                    drop(read_small(resp));
                    let mut list = match self.tag_index(reference, digest)? {
                        TagIndex::Index(index) => entries(&index, reference, &what)?,
                        TagIndex::Absent | TagIndex::Other(_) => Vec::new(),
                    };
                    if let Some(t) = artifact_type {
                        list.retain(|r| r.artifact_type.as_deref() == Some(t));
                    }
                    return Ok(Referrers {
                        list,
                        via: Listing::TagScheme,
                    });
                }
                _ => return Err(status_err(reference, what, resp)),
            }
            filtered &= resp.headers().get("oci-filters-applied").is_some_and(|v| {
                v.to_str()
                    .is_ok_and(|v| v.split(',').any(|f| f.trim() == "artifactType"))
            });
            let next = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = read_limited(resp, MAX_MANIFEST, reference, &what)?;
            let index: Map<String, Value> =
                serde_json::from_slice(&body).map_err(|e| RegistryError::Manifest {
                    host: reference.registry.clone(),
                    what: what.clone(),
                    detail: format!("not an index: {e}"),
                })?;
            list.extend(entries(&index, reference, &what)?);
            match next {
                Some(n) => path = n,
                None => break,
            }
        }
        if let (Some(t), false) = (artifact_type, filtered) {
            list.retain(|r| r.artifact_type.as_deref() == Some(t));
        }
        Ok(Referrers {
            list,
            via: Listing::Api,
        })
    }

    /// Attaches `artifact` to `subject` in `reference`'s repository: nothing when the
    /// same artifact is listed already; else its blobs and manifest, and, when the
    /// registry does not answer `OCI-Subject`, its entry in the referrers tag.
    pub fn attach(
        &self,
        reference: &Reference,
        subject: &Subject,
        artifact: &Artifact<'_>,
    ) -> Result<Attached, RegistryError> {
        let bytes = artifact.manifest(subject);
        let digest = Digest::of(&bytes);
        let size = bytes.len() as u64;
        let listed = |list: &[Referrer]| list.iter().any(|r| r.digest == digest.to_string());
        let known =
            self.referrers_listed(reference, &subject.digest, Some(artifact.artifact_type))?;
        if listed(&known.list) {
            return Ok(Attached {
                manifest: digest,
                size,
                added: false,
                via: known.via,
            });
        }
        self.put_blob(reference, EMPTY_BLOB)?;
        self.put_blob(reference, artifact.data)?;
        let untagged = Reference {
            tag: None,
            digest: None,
            ..reference.clone()
        };
        let (_, oci_subject) = self.put_manifest_answer(&untagged, OCI_MANIFEST, &bytes)?;
        if oci_subject.is_some_and(|s| s == subject.digest.to_string()) {
            return Ok(Attached {
                manifest: digest,
                size,
                added: true,
                via: Listing::Api,
            });
        }
        // No `OCI-Subject`: the registry did not index the subject, so the client
        // keeps the list (distribution spec, "Pushing Manifests with Subject").
        let mut entry = json!({
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact.artifact_type,
            "digest": digest.to_string(),
            "size": size,
        });
        if !artifact.annotations.is_empty() {
            entry["annotations"] = json!(artifact.annotations);
        }
        let tag = referrers_tag(&subject.digest);
        let what = format!("{}:{tag}", reference.repository);
        let tagged = Reference {
            tag: Some(tag.clone()),
            digest: None,
            ..reference.clone()
        };
        for _ in 0..TAG_ATTEMPTS {
            let mut index = match self.tag_index(reference, &subject.digest)? {
                TagIndex::Absent => {
                    let mut m = Map::new();
                    m.insert("schemaVersion".into(), json!(2));
                    m.insert("mediaType".into(), json!(OCI_INDEX));
                    m.insert("manifests".into(), json!([]));
                    m
                }
                TagIndex::Index(index) => index,
                TagIndex::Other(kind) => {
                    return Err(RegistryError::Manifest {
                        host: reference.registry.clone(),
                        what,
                        detail: format!(
                            "the referrers tag holds {kind}, not an image index; it was left as it is (remove or rename that tag, then attach again)"
                        ),
                    });
                }
            };
            if listed(&entries(&index, reference, &what)?) {
                break;
            }
            if let Some(Value::Array(manifests)) = index.get_mut("manifests") {
                manifests.push(entry.clone());
            }
            // An index without a `mediaType` of its own is still read as one; the
            // one we write says what it is.
            index.entry("mediaType").or_insert_with(|| json!(OCI_INDEX));
            let body = serde_json::to_vec(&index).map_err(|e| RegistryError::Manifest {
                host: reference.registry.clone(),
                what: what.clone(),
                detail: e.to_string(),
            })?;
            self.put_manifest(&tagged, OCI_INDEX, &body)?;
            // Read back: a writer racing us may have replaced the list between our
            // read and our write; then ours is gone and is added again.
            if let TagIndex::Index(after) = self.tag_index(reference, &subject.digest)? {
                if listed(&entries(&after, reference, &what)?) {
                    return Ok(Attached {
                        manifest: digest,
                        size,
                        added: true,
                        via: Listing::TagScheme,
                    });
                }
            }
        }
        let after = self.referrers_listed(reference, &subject.digest, None)?;
        if listed(&after.list) {
            return Ok(Attached {
                manifest: digest,
                size,
                added: true,
                via: after.via,
            });
        }
        Err(RegistryError::Status {
            host: reference.registry.clone(),
            what,
            status: 201,
            message: format!(
                "the referrers tag lost the new entry {TAG_ATTEMPTS} times (another client rewrites it at the same moment); attach again"
            ),
        })
    }

    /// The index under the referrers tag of `digest`, as a JSON object.
    fn tag_index(&self, reference: &Reference, digest: &Digest) -> Result<TagIndex, RegistryError> {
        let tag = referrers_tag(digest);
        let what = format!("{}:{tag}", reference.repository);
        let req = Req {
            method: Method::GET,
            reference,
            path: format!("/v2/{}/manifests/{tag}", reference.repository),
            headers: vec![(
                "accept",
                [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(", "),
            )],
            body: None,
            actions: "pull",
            what: what.clone(),
        };
        let resp = self.send(&req)?;
        match resp.status().as_u16() {
            200 => {}
            404 => {
                drop(read_small(resp));
                return Ok(TagIndex::Absent);
            }
            status => {
                return Err(RegistryError::Status {
                    host: reference.registry.clone(),
                    what,
                    status,
                    message: server_message(&read_small(resp)),
                });
            }
        }
        let body = read_limited(resp, MAX_MANIFEST, reference, &what)?;
        match check_document(&body, None) {
            Ok(DocumentKind::Index) => {}
            Ok(DocumentKind::Manifest) => return Ok(TagIndex::Other("an image manifest")),
            Err(_) => return Ok(TagIndex::Other("a document that is no image index")),
        }
        serde_json::from_slice(&body)
            .map(TagIndex::Index)
            .map_err(|e| RegistryError::Manifest {
                host: reference.registry.clone(),
                what,
                detail: format!("not a JSON object: {e}"),
            })
    }
}

enum TagIndex {
    Absent,
    Index(Map<String, Value>),
    Other(&'static str),
}

/// The descriptors of an index's `manifests`.
fn entries(
    index: &Map<String, Value>,
    reference: &Reference,
    what: &str,
) -> Result<Vec<Referrer>, RegistryError> {
    match index.get("manifests") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(m) => Vec::<Referrer>::deserialize(m).map_err(|e| RegistryError::Manifest {
            host: reference.registry.clone(),
            what: what.to_owned(),
            detail: format!("its `manifests` are not descriptors: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_manifest_follows_the_guidelines_and_is_deterministic() {
        let subject = Subject {
            media_type: OCI_MANIFEST.to_owned(),
            digest: Digest::of(b"image"),
            size: 5,
        };
        let mut annotations = BTreeMap::new();
        annotations.insert(
            "org.opencontainers.image.created".to_owned(),
            "2026-01-01T00:00:00Z".to_owned(),
        );
        let artifact = Artifact {
            artifact_type: "application/vnd.in-toto+json",
            media_type: "application/vnd.in-toto+json",
            data: b"{\"_type\":\"x\"}",
            layer_annotations: BTreeMap::new(),
            annotations,
        };
        let bytes = artifact.manifest(&subject);
        assert_eq!(bytes, artifact.manifest(&subject));
        assert_eq!(check_document(&bytes, None), Ok(DocumentKind::Manifest));
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["artifactType"], "application/vnd.in-toto+json");
        assert_eq!(v["config"]["mediaType"], EMPTY_JSON);
        assert_eq!(
            v["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(v["layers"].as_array().unwrap().len(), 1);
        assert_eq!(v["layers"][0]["size"], 13);
        assert_eq!(v["subject"]["digest"], subject.digest.to_string());
        assert_eq!(v["subject"]["size"], 5);
        assert_eq!(
            referrers_tag(&subject.digest),
            format!("sha256-{}", subject.digest.hex())
        );
    }
}
