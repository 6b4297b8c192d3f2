//! The manifest travels with the image (SPEC.md, the paragraph after the exit
//! codes): a manifest's in-toto statement attached to each registry image it
//! records, and the statement attached to an image read back, so that "compare with
//! what is deployed" can start from the digest an orchestrator reports.
//!
//! **Attaching** ([`attach`]). For every component whose config `image` is
//! `docker://…`, the statement `snapshot --format in-toto` writes is attached to the
//! image's manifest digest (and to each index digest it was reached through, which
//! is what Kubernetes reports for a multi-platform image) as an OCI 1.1 artifact
//! (`registry::artifact`): `artifactType` `application/vnd.in-toto+json`, the empty
//! config, the statement as its one layer (media type `application/vnd.in-toto+json`,
//! BuildKit's `in-toto.io/predicate-type` annotation, a file name for `oras pull`).
//! The artifact manifest carries `org.opencontainers.image.created` (the manifest's
//! `created`), the predicate type, and, when the manifest records them, the release
//! label as `org.opencontainers.image.version` and the git commit as
//! `org.opencontainers.image.revision`; the registry (or the referrers tag) copies
//! these into the referrers list, so a listing says what each attachment is without
//! a download. Attaching is idempotent twice over: the same statement has the same
//! artifact digest and is found listed; and a manifest equal to the newest one
//! attached but for its `created` (a CI job run again on the same build) is not
//! attached a second time.
//!
//! **Reading** ([`fetch`], [`release`]). The referrers of the digest (API, else the
//! tag scheme) of artifact type in-toto are narrowed to buildproof's by the
//! predicate-type annotation; attachments without one (written by other tools, e.g.
//! `oras attach`) are read to see (at most [`MAX_PROBES`]). The newest by `created`
//! wins; the others are listed. Every read is verified: the artifact manifest against
//! its digest, its `subject` against the image, the statement against its layer
//! descriptor's digest and size, the manifest's `created` against the annotation the
//! choice was made by, and the manifest must record the image digest it is attached
//! to. A registry never decides what is read without the bytes agreeing.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::attest;
use crate::config::Config;
use crate::digest::Digest;
use crate::model::manifest::{Manifest, ManifestError};
use crate::model::running::RunningRelease;
use crate::registry::{self, Artifact, Attached, Client, Listing, Reference, RegistryError};

/// The artifact type (and layer media type) of an attached in-toto statement.
pub const ARTIFACT_TYPE: &str = "application/vnd.in-toto+json";
/// The annotation that names a statement's predicate type (BuildKit's key for
/// in-toto layers); set on the layer and on the artifact manifest.
pub const PREDICATE_ANNOTATION: &str = "in-toto.io/predicate-type";
/// When the manifest was snapshotted (its `created`).
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";
const VERSION_ANNOTATION: &str = "org.opencontainers.image.version";
const REVISION_ANNOTATION: &str = "org.opencontainers.image.revision";
const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// The file name `oras pull` gives the statement.
const TITLE: &str = "buildproof.intoto.json";
/// How many in-toto attachments without a predicate-type annotation are read to
/// learn whether they are buildproof's.
pub const MAX_PROBES: usize = 16;

/// Why a manifest could not be attached or read back.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("cannot attach the manifest to `{image}`")]
    Push {
        image: String,
        #[source]
        source: RegistryError,
    },
    #[error("cannot read the manifests attached to `{image}`")]
    Read {
        image: String,
        #[source]
        source: RegistryError,
    },
    #[error(
        "no buildproof manifest is attached to `{image}` ({listing}{others}); attach one where the image is built: `buildproof snapshot --attach` (or `buildproof check … --attach`) with the component's `image = \"docker://…\"`"
    )]
    NoneAttached {
        image: String,
        listing: String,
        others: String,
    },
    #[error("`{image}`: the attached artifact `{artifact}` {problem}")]
    Invalid {
        image: String,
        artifact: String,
        problem: String,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(
        "no component's `image` is in a registry (`docker://…`), so there is no image to attach the manifest to"
    )]
    NoRegistryImage,
    #[error("cannot write the in-toto statement of the manifest")]
    Statement(#[source] serde_json::Error),
}

/// One image digest to attach a manifest to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The components whose image this is.
    pub components: Vec<String>,
    /// The repository, with the digest.
    pub image: Reference,
    pub digest: Digest,
}

impl Target {
    /// `docker://host/repo@sha256:…`.
    #[must_use]
    pub fn image_ref(&self) -> String {
        without_tag(&self.image).to_string()
    }
}

/// What happened at one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Pushed (`added`), or the same statement was already listed.
    Attached(Attached),
    /// The newest manifest attached is this one but for `created`: not attached again.
    Equal { artifact: Digest, created: String },
}

/// The images of `config`'s components that are `docker://…`, at the digests
/// `manifest` records for them (the manifest digest and the index digests), each
/// repository and digest once.
pub fn targets(config: &Config, manifest: &Manifest) -> Result<Vec<Target>, AttachError> {
    let mut out: Vec<Target> = Vec::new();
    for c in &config.components {
        let Some(image) = c.image.as_deref().filter(|i| i.starts_with("docker://")) else {
            continue;
        };
        let Some(record) = manifest
            .components
            .get(&c.name)
            .and_then(|r| r.image.as_ref())
        else {
            continue;
        };
        let reference = Reference::parse(image).map_err(|source| AttachError::Push {
            image: image.to_owned(),
            source,
        })?;
        let digests = std::iter::once(record.manifest_digest).chain(record.index_digests.clone());
        for digest in digests {
            let at = without_tag(&reference.with_digest(digest));
            match out.iter_mut().find(|t| t.image == at) {
                Some(t) => t.components.push(c.name.clone()),
                None => out.push(Target {
                    components: vec![c.name.clone()],
                    image: at,
                    digest,
                }),
            }
        }
    }
    if out.is_empty() {
        return Err(AttachError::NoRegistryImage);
    }
    Ok(out)
}

/// Whether `config` names any `docker://` image: `--attach` is refused before any
/// work when it names none.
#[must_use]
pub fn has_registry_image(config: &Config) -> bool {
    config.components.iter().any(|c| {
        c.image
            .as_deref()
            .is_some_and(|i| i.starts_with("docker://"))
    })
}

/// Attaches `manifest`'s in-toto statement to every target, in order. Stops at the
/// first failure.
pub fn attach(
    manifest: &Manifest,
    targets: &[Target],
    client: &Client,
) -> Result<Vec<(Target, Outcome)>, AttachError> {
    let statement = attest::statement(manifest).map_err(AttachError::Statement)?;
    let provenance = Provenance::of_statement(&statement);
    let mut annotations = BTreeMap::new();
    annotations.insert(CREATED_ANNOTATION.to_owned(), manifest.created.clone());
    annotations.insert(
        PREDICATE_ANNOTATION.to_owned(),
        attest::PREDICATE_TYPE.to_owned(),
    );
    if let Some(label) = &provenance.label {
        annotations.insert(VERSION_ANNOTATION.to_owned(), label.clone());
    }
    if let Some(commit) = &provenance.commit {
        annotations.insert(REVISION_ANNOTATION.to_owned(), commit.clone());
    }
    let mut layer_annotations = BTreeMap::new();
    layer_annotations.insert(
        PREDICATE_ANNOTATION.to_owned(),
        attest::PREDICATE_TYPE.to_owned(),
    );
    layer_annotations.insert(TITLE_ANNOTATION.to_owned(), TITLE.to_owned());
    let artifact = Artifact {
        artifact_type: ARTIFACT_TYPE,
        media_type: ARTIFACT_TYPE,
        data: &statement,
        layer_annotations,
        annotations,
    };
    let mut out = Vec::new();
    for target in targets {
        let image = target.image_ref();
        let push = |source| AttachError::Push {
            image: image.clone(),
            source,
        };
        let digest = target.digest;
        let subject = client.subject(&target.image, &digest).map_err(push)?;
        // A build attached again (a CI job run twice) differs only in `created`:
        // the newest attachment already says all it would.
        let outcome = match newest_equal(manifest, &target.image, &digest, client)? {
            Some((artifact, created)) => Outcome::Equal { artifact, created },
            None => Outcome::Attached(
                client
                    .attach(&target.image, &subject, &artifact)
                    .map_err(push)?,
            ),
        };
        out.push((target.clone(), outcome));
    }
    Ok(out)
}

/// The newest buildproof manifest attached to `digest`, when it equals `manifest`
/// but for `created`.
fn newest_equal(
    manifest: &Manifest,
    image: &Reference,
    digest: &Digest,
    client: &Client,
) -> Result<Option<(Digest, String)>, AttachError> {
    let shown = without_tag(image).to_string();
    let found = match candidates(client, image, digest, &shown) {
        Ok(c) => c,
        Err(AttachError::Read { source, .. }) => {
            return Err(AttachError::Push {
                image: shown,
                source,
            });
        }
        Err(e) => return Err(e),
    };
    let Some(newest) = found.list.into_iter().next() else {
        return Ok(None);
    };
    let bytes = match newest.statement {
        Some(b) => b,
        None => read_statement(client, image, digest, &newest.artifact, &shown)?,
    };
    // One that no longer reads as a manifest (another schema) is simply not equal.
    let Ok(existing) = crate::load::manifest_from_json(&bytes, Path::new(&shown)) else {
        return Ok(None);
    };
    let same = Manifest {
        created: manifest.created.clone(),
        ..existing.clone()
    } == *manifest;
    Ok(same.then_some((newest.artifact, existing.created)))
}

/// The manifest read from the statement attached to an image.
#[derive(Debug, Clone)]
pub struct Found {
    pub manifest: Manifest,
    /// `docker://host/repo@sha256:…`, the image it is attached to.
    pub image: String,
    /// The artifact manifest that carried it.
    pub artifact: Digest,
    /// How the attachments were listed.
    pub via: String,
    /// The other buildproof manifests attached to the same digest, newest first.
    pub others: Vec<Other>,
}

/// A buildproof manifest attached to the same image that was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Other {
    pub artifact: Digest,
    /// Its `created`, when known.
    pub created: Option<String>,
}

/// Reads the buildproof manifest attached to the image `image` names
/// (`docker://HOST/REPO@sha256:…`; a tag is resolved to the manifest for the
/// client's platform first): the newest by `created`, verified (module docs).
pub fn fetch(image: &str, client: &Client) -> Result<Found, AttachError> {
    let (reference, digest, shown) = resolve(image, client)?;
    let found = candidates(client, &reference, &digest, &shown)?;
    let via = found.via.describe(&digest);
    let mut list = found.list.into_iter();
    let Some(newest) = list.next() else {
        // Nothing refers to it; say so plainly when there is no such image at all
        // (a mistyped digest, another repository).
        if let Err(source @ RegistryError::NotFound { .. }) = client.subject(&reference, &digest) {
            return Err(AttachError::Read {
                image: shown,
                source,
            });
        }
        return Err(none_attached(&shown, &via, found.other_types));
    };
    let bytes = match newest.statement {
        Some(b) => b,
        None => read_statement(client, &reference, &digest, &newest.artifact, &shown)?,
    };
    let manifest = crate::load::manifest_from_json(&bytes, Path::new(&shown))?;
    let invalid = |problem: String| AttachError::Invalid {
        image: shown.clone(),
        artifact: newest.artifact.to_string(),
        problem,
    };
    if let Some(created) = &newest.created {
        if *created != manifest.created {
            return Err(invalid(format!(
                "is annotated as created {created}, but the manifest it carries says {}",
                manifest.created
            )));
        }
    }
    if !manifest
        .components
        .values()
        .filter_map(|c| c.image.as_ref())
        .any(|i| i.is_digest(&digest))
    {
        return Err(invalid(format!(
            "carries a manifest that records no image with digest {digest}: it is not this image's build"
        )));
    }
    Ok(Found {
        manifest,
        image: shown,
        artifact: newest.artifact,
        via,
        others: list
            .map(|c| Other {
                artifact: c.artifact,
                created: c.created,
            })
            .collect(),
    })
}

/// The release of the newest buildproof manifest attached to `image` (a reference
/// with a digest); `None` when none is attached. Only the manifest's top-level
/// fields are read, leniently, so a manifest of a newer buildproof (more keys) still
/// names its release.
pub fn release(image: &Reference, client: &Client) -> Result<Option<RunningRelease>, AttachError> {
    let shown = without_tag(image).to_string();
    let Some(digest) = image.digest else {
        return Ok(None);
    };
    let found = candidates(client, image, &digest, &shown)?;
    let Some(newest) = found.list.into_iter().next() else {
        return Ok(None);
    };
    let bytes = match newest.statement {
        Some(b) => b,
        None => read_statement(client, image, &digest, &newest.artifact, &shown)?,
    };
    let invalid = |problem: String| AttachError::Invalid {
        image: shown.clone(),
        artifact: newest.artifact.to_string(),
        problem,
    };
    let p = Provenance::of_statement(&bytes);
    let created = p
        .created
        .ok_or_else(|| invalid("carries a statement whose manifest has no `created`".to_owned()))?;
    if newest.created.as_ref().is_some_and(|c| *c != created) {
        return Err(invalid(format!(
            "is annotated as created {}, but the manifest it carries says {created}",
            newest.created.unwrap_or_default()
        )));
    }
    Ok(Some(RunningRelease {
        image: shown,
        artifact: newest.artifact,
        created,
        label: p.label,
        commit: p.commit,
        dirty: p.dirty,
        generator: p.generator,
    }))
}

/// The reference, its digest (a tag resolved) and how to show it.
fn resolve(image: &str, client: &Client) -> Result<(Reference, Digest, String), AttachError> {
    let read = |source| AttachError::Read {
        image: image.to_owned(),
        source,
    };
    let reference = Reference::parse(image).map_err(read)?;
    let digest = match reference.digest {
        Some(d) => d,
        None => client.manifest(&reference).map_err(read)?.digest,
    };
    let at = without_tag(&reference.with_digest(digest));
    let shown = at.to_string();
    Ok((at, digest, shown))
}

fn without_tag(r: &Reference) -> Reference {
    Reference {
        tag: None,
        ..r.clone()
    }
}

fn none_attached(image: &str, via: &str, other_types: usize) -> AttachError {
    AttachError::NoneAttached {
        image: image.to_owned(),
        listing: format!("looked up through {via}"),
        others: match other_types {
            0 => String::new(),
            1 => "; one in-toto attestation of another kind is attached".to_owned(),
            n => format!("; {n} in-toto attestations of other kinds are attached"),
        },
    }
}

/// A buildproof statement attached to the digest.
struct Candidate {
    artifact: Digest,
    /// From the annotation, or from the statement when it had to be read.
    created: Option<String>,
    /// The statement, when it was read to learn what it is.
    statement: Option<Vec<u8>>,
}

struct Candidates {
    /// Newest first.
    list: Vec<Candidate>,
    via: Listing,
    /// In-toto attachments of other predicate types.
    other_types: usize,
}

/// The buildproof statements attached to `digest`, newest first.
fn candidates(
    client: &Client,
    image: &Reference,
    digest: &Digest,
    shown: &str,
) -> Result<Candidates, AttachError> {
    let read = |source| AttachError::Read {
        image: shown.to_owned(),
        source,
    };
    let listed = client
        .referrers_listed(image, digest, Some(ARTIFACT_TYPE))
        .map_err(read)?;
    let mut list = Vec::new();
    let mut other_types = 0;
    let mut probes = 0;
    for r in &listed.list {
        let Ok(artifact) = r.digest.parse::<Digest>() else {
            continue;
        };
        match r.annotations.get(PREDICATE_ANNOTATION).map(String::as_str) {
            Some(attest::PREDICATE_TYPE) => list.push(Candidate {
                artifact,
                created: r.annotations.get(CREATED_ANNOTATION).cloned(),
                statement: None,
            }),
            Some(_) => other_types += 1,
            None if probes < MAX_PROBES => {
                probes += 1;
                match probe(client, image, digest, &artifact, shown)? {
                    Some(c) => list.push(c),
                    None => other_types += 1,
                }
            }
            None => other_types += 1,
        }
    }
    // Newest first; `created` compared as a time (RFC 3339 spellings differ), a
    // missing or unreadable one oldest; ties by artifact digest, so the choice is
    // the same on every run.
    let time = |c: &Candidate| {
        c.created
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    list.sort_by(|a, b| {
        time(b)
            .cmp(&time(a))
            .then_with(|| a.artifact.to_string().cmp(&b.artifact.to_string()))
    });
    Ok(Candidates {
        list,
        via: listed.via,
        other_types,
    })
}

/// Reads an in-toto attachment that does not say its predicate type in the listing:
/// buildproof's when its statement is.
fn probe(
    client: &Client,
    image: &Reference,
    digest: &Digest,
    artifact: &Digest,
    shown: &str,
) -> Result<Option<Candidate>, AttachError> {
    let bytes = read_statement(client, image, digest, artifact, shown)?;
    let p = Provenance::of_statement(&bytes);
    if !p.ours {
        return Ok(None);
    }
    Ok(Some(Candidate {
        artifact: *artifact,
        created: p.created,
        statement: Some(bytes),
    }))
}

/// The statement an artifact carries: its manifest read by digest (verified), its
/// `subject` checked against the image, its in-toto layer read and verified
/// against the layer descriptor.
fn read_statement(
    client: &Client,
    image: &Reference,
    digest: &Digest,
    artifact: &Digest,
    shown: &str,
) -> Result<Vec<u8>, AttachError> {
    #[derive(Deserialize)]
    struct ArtifactManifest {
        #[serde(default)]
        subject: Option<registry::Descriptor>,
        #[serde(default)]
        layers: Vec<registry::Descriptor>,
    }
    let read = |source| AttachError::Read {
        image: shown.to_owned(),
        source,
    };
    let invalid = |problem: String| AttachError::Invalid {
        image: shown.to_owned(),
        artifact: artifact.to_string(),
        problem,
    };
    let fetched = client
        .manifest(&image.with_digest(*artifact))
        .map_err(read)?;
    let m: ArtifactManifest = serde_json::from_slice(&fetched.bytes)
        .map_err(|e| invalid(format!("is not an artifact manifest: {e}")))?;
    match &m.subject {
        Some(s) if s.digest == digest.to_string() => {}
        Some(s) => {
            return Err(invalid(format!(
                "is listed for {digest} but its `subject` is {}",
                s.digest
            )));
        }
        None => {
            return Err(invalid(format!(
                "is listed for {digest} but has no `subject`"
            )));
        }
    }
    let mut layers = m.layers.iter().filter(|l| l.media_type == ARTIFACT_TYPE);
    let (Some(layer), None) = (layers.next(), layers.next()) else {
        return Err(invalid(format!(
            "does not have exactly one layer of media type `{ARTIFACT_TYPE}`"
        )));
    };
    let expected = layer
        .expected()
        .map_err(|e| invalid(format!("layer {e}")))?;
    client
        .blob_bytes(
            image,
            &expected.digest,
            expected.size,
            crate::load::max_manifest_bytes(),
        )
        .map_err(read)
}

/// What a statement says of its release, read without parsing the components.
#[derive(Debug, Default)]
struct Provenance {
    /// Whether it is a buildproof statement.
    ours: bool,
    created: Option<String>,
    generator: Option<String>,
    label: Option<String>,
    commit: Option<String>,
    dirty: Option<bool>,
}

impl Provenance {
    fn of_statement(bytes: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Predicate {
            #[serde(default)]
            created: Option<String>,
            #[serde(default)]
            generator: Option<String>,
            #[serde(default)]
            label: Option<String>,
            #[serde(default)]
            git: Option<Git>,
        }
        #[derive(Deserialize)]
        struct Git {
            #[serde(default)]
            commit: Option<String>,
            #[serde(default)]
            dirty: Option<bool>,
        }
        let Ok(inner) = attest::unwrap_statement(bytes) else {
            return Self::default();
        };
        // A document that is no statement at all comes back as itself.
        if inner.as_ref() == bytes {
            return Self::default();
        }
        let Ok(p) = serde_json::from_slice::<Predicate>(&inner) else {
            return Self::default();
        };
        Self {
            ours: true,
            created: p.created,
            generator: p.generator,
            label: p.label,
            commit: p.git.as_ref().and_then(|g| g.commit.clone()),
            dirty: p.git.and_then(|g| g.dirty),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_is_read_leniently_from_the_predicate() {
        let statement = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],
            "predicateType":"https://buildproof.dev/manifest/v1",
            "predicate":{"schema":"buildproof.manifest/v1","created":"2026-03-01T10:00:00Z",
            "generator":"buildproof 0.2.0","label":"v1.4.0",
            "git":{"commit":"0123456789abcdef0123456789abcdef01234567","dirty":false},
            "future_key":{"x":1},"components":{}}}"#;
        let p = Provenance::of_statement(statement);
        assert!(p.ours);
        assert_eq!(p.created.as_deref(), Some("2026-03-01T10:00:00Z"));
        assert_eq!(p.label.as_deref(), Some("v1.4.0"));
        assert_eq!(
            p.commit.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(p.dirty, Some(false));
        // Another predicate type, or a plain manifest, is not an attached statement.
        let slsa = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],
            "predicateType":"https://slsa.dev/provenance/v1","predicate":{}}"#;
        assert!(!Provenance::of_statement(slsa).ours);
        assert!(!Provenance::of_statement(br#"{"schema":"buildproof.manifest/v1"}"#).ours);
    }
}
