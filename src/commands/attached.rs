//! The manifest that travels with the image, for the commands (`attach.rs` does the
//! work): a manifest argument written `docker://HOST/REPO@sha256:…` read from the
//! image's attachment; `--attach` after a snapshot; and `verify
//! --identify-running`. What they tell besides the report goes to stderr as
//! `buildproof: …` lines, since stdout belongs to the manifest or the report.

use std::path::Path;

use crate::attach::{self, Found, Outcome};
use crate::cli::RegistryArgs;
use crate::config::Config;
use crate::model::RuleId;
use crate::model::finding::Finding;
use crate::model::manifest::Manifest;
use crate::model::running::{Container, ImageRef, Running};
use crate::registry::{self, Reference};
use crate::report::Report;
use crate::rules::deploy::{RunningIdentity, name_running_release};

/// Whether a manifest argument names an image in a registry rather than a file.
pub(super) fn is_image(arg: &Path) -> bool {
    arg.to_str().is_some_and(|s| s.starts_with("docker://"))
}

/// A registry client with the command's `--tls-verify`, `--cert-dir`, `--authfile`.
pub(super) fn client(args: &RegistryArgs) -> anyhow::Result<registry::Client> {
    Ok(registry::Client::new(super::sources(args).registry)?)
}

/// A manifest argument read: from its file, or from the image it names.
pub(super) struct Loaded {
    pub manifest: Manifest,
    pub attached: Option<Found>,
}

/// Reads the manifest argument `arg` (BASE, NEW, BUILT): a file, or for
/// `docker://…` the buildproof manifest attached to that image.
pub(super) fn read_manifest(arg: &Path, args: &RegistryArgs) -> anyhow::Result<Loaded> {
    if !is_image(arg) {
        return Ok(Loaded {
            manifest: crate::load::manifest(arg)?,
            attached: None,
        });
    }
    let image = arg.to_string_lossy();
    let found = attach::fetch(&image, &client(args)?)?;
    Ok(Loaded {
        manifest: found.manifest.clone(),
        attached: Some(found),
    })
}

/// Records in the report where a manifest read from an image came from (facts
/// `<role>_attached` and, when there were several, `<role>_attached_others`), and
/// notes the others on stderr.
pub(super) fn note_attached(
    role: &str,
    loaded: &Loaded,
    report: &mut Report,
    io: &mut super::Streams<'_>,
) -> anyhow::Result<()> {
    let Some(found) = &loaded.attached else {
        return Ok(());
    };
    report.facts.insert(
        format!("{role}_attached"),
        serde_json::Value::from(format!(
            "{}: buildproof manifest created {}, artifact {}, listed through {}",
            found.image, found.manifest.created, found.artifact, found.via
        )),
    );
    if found.others.is_empty() {
        return Ok(());
    }
    let others: Vec<String> = found
        .others
        .iter()
        .map(|o| match &o.created {
            Some(c) => format!("{} (created {c})", o.artifact),
            None => format!("{} (no creation time)", o.artifact),
        })
        .collect();
    report.facts.insert(
        format!("{role}_attached_others"),
        serde_json::Value::from(others.join(", ")),
    );
    writeln!(
        io.stderr,
        "buildproof: note: {} buildproof manifests are attached to `{}`; {role} is the newest (created {}, artifact {}); the others: {}",
        found.others.len() + 1,
        found.image,
        found.manifest.created,
        found.artifact,
        others.join(", ")
    )?;
    Ok(())
}

/// Refuses `--attach` before any work when no component's image is in a registry.
pub(super) fn plan_attach(config: &Config) -> anyhow::Result<()> {
    if !attach::has_registry_image(config) {
        anyhow::bail!(
            "`--attach`: {}; write the image as `image = \"docker://HOST/REPO:TAG\"` in `{}` (read from the registry after the push)",
            attach::AttachError::NoRegistryImage,
            config.path.display()
        );
    }
    Ok(())
}

/// Attaches `manifest` to every `docker://` image of `config`, one stderr line each.
pub(super) fn attach_manifest(
    config: &Config,
    manifest: &Manifest,
    args: &RegistryArgs,
    io: &mut super::Streams<'_>,
) -> anyhow::Result<()> {
    let targets = attach::targets(config, manifest)?;
    let client = client(args)?;
    for (target, outcome) in attach::attach(manifest, &targets, &client)? {
        let image = target.image_ref();
        let line = match outcome {
            Outcome::Attached(a) if a.added => format!(
                "attached the manifest to `{image}` (artifact {}, listed through {})",
                a.manifest,
                a.via.describe(&target.digest)
            ),
            Outcome::Attached(a) => format!(
                "the manifest is already attached to `{image}` (artifact {}); nothing added",
                a.manifest
            ),
            Outcome::Equal { artifact, created } => format!(
                "the newest manifest attached to `{image}` records this same build (created {created}, artifact {artifact}); nothing added"
            ),
        };
        writeln!(io.stderr, "buildproof: {line}")?;
    }
    Ok(())
}

/// `verify --identify-running`: every `deployed-mismatch` of a container gains the
/// release its running digest is, from the manifest attached to that digest in the
/// container image's repository. A registry that cannot be asked leaves the verdict
/// as it is and says why in the finding.
pub(super) fn identify_running(
    findings: Vec<Finding>,
    running: &Running,
    args: &RegistryArgs,
) -> anyhow::Result<Vec<Finding>> {
    let Running::Containers { containers, .. } = running else {
        return Ok(findings);
    };
    let client = client(args)?;
    let mut asked: Vec<(Reference, RunningIdentity)> = Vec::new();
    let mut out = Vec::with_capacity(findings.len());
    for f in findings {
        let Some(image) = running_image(&f, containers) else {
            out.push(f);
            continue;
        };
        let identity = match asked.iter().find(|(r, _)| *r == image) {
            Some((_, id)) => id.clone(),
            None => {
                let id = match attach::release(&image, &client) {
                    Ok(Some(r)) => RunningIdentity::Release(r),
                    Ok(None) => RunningIdentity::NoneAttached,
                    Err(e) => RunningIdentity::Unknown(format!("{:#}", anyhow::Error::from(e))),
                };
                asked.push((image, id.clone()));
                id
            }
        };
        out.push(name_running_release(f, &identity));
    }
    Ok(out)
}

/// The registry image a container mismatch runs: its repository at the running
/// digest. `None` for other findings, and for a container whose state names no
/// repository (an ECS sidecar known only by digest).
fn running_image(f: &Finding, containers: &[Container]) -> Option<Reference> {
    if f.rule != RuleId::DeployedMismatch {
        return None;
    }
    let name = f.details.get("container")?.as_str()?;
    let digest: crate::digest::Digest = f.details.get("running")?.as_str()?.parse().ok()?;
    let container = containers
        .iter()
        .find(|c| c.name == name && c.digest == Some(digest) && !c.image.is_empty())?;
    let repository = ImageRef::parse(&container.image).ok()?.repository;
    Reference::parse(&format!("{repository}@{digest}")).ok()
}
