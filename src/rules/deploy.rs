//! `verify`: what runs must be what was built. Rules `deployed-mismatch`,
//! `not-deployed` and `unpinned-image` (SPEC.md, "Running state for verify").
//!
//! Matching, per running-state kind:
//! - containers (Kubernetes, ECS): a component with an image matches the containers
//!   named by its `deploy` key, else the containers whose image repository is one of
//!   the repositories the image records (`ImageRecord.names`, compared after Docker's
//!   normalisation, so `nginx` = `docker.io/library/nginx`; a recorded name that is
//!   only a tag, such as an OCI layout's `latest`, names no repository: see
//!   [`recorded_repository`]). Containers whose workload runs nothing (a ReplicaSet
//!   scaled to zero, a finished Pod or Job, a stopped ECS task) are not judged; a
//!   component they alone match is not deployed, and the finding names them. Each
//!   matched container with a known digest must run the built manifest digest. When
//!   no matched container reports a digest (tags only, and no Pod status), it cannot
//!   be verified: `unpinned-image`. A Pod status that reports the pulled digest
//!   settles it even if the Deployment's reference is a tag.
//! - store paths: each output that is a store path must be in the list; the same name
//!   with another hash is a mismatch, no such name is not deployed.
//! - a buildproof manifest: the component of the same name, artifact by artifact
//!   (image manifest digest, each output's digest by path).
//!
//! A component with nothing the running state can show (an image-less component
//! against Kubernetes, a component without store paths against a store-path list) is
//! a `not-deployed` *note* (SPEC.md): this state cannot tell whether it runs, so it is
//! neither an error nor silently passed; the note says why and what would show it.

use std::collections::BTreeSet;

use crate::model::RuleId;
use crate::model::finding::{Finding, Level};
use crate::model::image::{IdentityBasis, ImageRecord, Transport};
use crate::model::manifest::{ComponentRecord, Manifest};
use crate::model::running::{
    Container, ImageRef, Running, RunningRelease, recorded_repository, store_path_name,
};

/// The rules `verify` evaluates, for reports that list their checks.
pub const VERIFY_RULES: &[RuleId] = &[
    RuleId::DeployedMismatch,
    RuleId::NotDeployed,
    RuleId::UnpinnedImage,
];

/// Judges every built component against what runs.
#[must_use]
pub fn check(built: &Manifest, running: &Running) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (name, component) in &built.components {
        match running {
            Running::Manifest(deployed) => {
                findings.extend(against_manifest(name, component, deployed));
            }
            Running::Containers { source, containers } => {
                findings.extend(against_containers(name, component, source, containers));
            }
            Running::StorePaths(paths) => {
                findings.extend(against_store_paths(name, component, paths));
            }
        }
    }
    findings
}

fn not_deployed(name: &str, why: String, identity: &[&str]) -> Finding {
    Finding::new(
        RuleId::NotDeployed,
        name,
        format!("`{name}` was built but is not running: {why}"),
        identity,
    )
    .with_help("deploy this build (or check that the running state is the right cluster, service or system); a component that is not meant to run here can be accepted with a reason",
    )
}

/// A component this kind of running state cannot show at all: a note, not an error.
fn cannot_show(name: &str, why: &str) -> Finding {
    let mut f = Finding::new(
        RuleId::NotDeployed,
        name,
        format!(
            "`{name}` cannot be verified against this running state: {why}; verify it against a state that shows it, or leave it out with `--component`"
        ),
        &[],
    );
    f.level = Level::Note;
    f
}

fn mismatch(name: &str, what: &str, built: &str, running: &str, where_: &str) -> Finding {
    Finding::new(
        RuleId::DeployedMismatch,
        name,
        format!(
            "{where_} runs {running}, but `{name}` was built as {built}: {what} differs from the build (a failed or rolled-back deploy, or a deploy of another build)"
        ),
        &[what, built, running, where_],
    )
    .with_detail("built", built)
    .with_detail("running", running)
    .with_detail("where", where_)
    .with_help("redeploy the built artifact and check the rollout finished; if this older artifact is meant to run, verify against the manifest of that build",
    )
}

/// Whether the image was recorded from a layout, an archive or an engine, whose
/// manifest digest a push does not keep (a docker-archive has no manifest at all:
/// its digest is the one skopeo synthesises; `docker push` and `skopeo copy`
/// compress the layers and write a new manifest).
fn from_file(image: &ImageRecord) -> bool {
    image.transport.is_some_and(|t| !t.is_registry())
}

/// The digest trap: what runs has the built content under another manifest digest.
/// Still a mismatch (`verify` compares by digest, SPEC.md), but one that says why
/// and how to make the next run verify by digest.
fn digest_trap(name: &str, built: &ImageRecord, running: &ImageRecord, where_: &str) -> Finding {
    let basis = built.basis(running);
    let (b, r) = (
        built.manifest_digest.to_string(),
        running.manifest_digest.to_string(),
    );
    let transport = built.transport.map_or("a file", Transport::as_str);
    Finding::new(
        RuleId::DeployedMismatch,
        name,
        format!(
            "{where_} runs {r}, but `{name}` was built as {b}: same content, different manifest digest: the image was re-encoded when pushed (`docker save`/`skopeo copy`); record the pushed digest (`image = \"docker://…\"`) to verify by digest"
        ),
        &["image", &b, &r, where_],
    )
    .with_detail("built", &b)
    .with_detail("running", &r)
    .with_detail("where", where_)
    .with_detail("built_from", transport)
    .with_detail(
        "same_content",
        serde_json::json!({
            "by": match basis {
                IdentityBasis::Content => "content identity",
                IdentityBasis::Config => "config digest without times",
                IdentityBasis::Manifest => "manifest digest",
            },
            "identity": built.identity_by(basis),
        }),
    )
    .with_help("point the component's `image` at the pushed image (`docker://HOST/REPO:TAG`, read from the registry) so the manifest records the digest the registry serves; or accept this finding with a reason")
}

fn against_containers(
    name: &str,
    component: &ComponentRecord,
    source: &str,
    containers: &[Container],
) -> Vec<Finding> {
    let Some(image) = &component.image else {
        return vec![cannot_show(
            name,
            &format!("it has no image, and {source} shows only containers"),
        )];
    };
    let (matched, how) =
        match &component.deploy {
            Some(deploy) => (
                containers.iter().filter(|c| &c.name == deploy).collect(),
                format!("no container named `{deploy}` (its `deploy` key) in the {source} state"),
            ),
            None => {
                let (mut matched, how) = by_repository(image, containers, source);
                // A container the platform injected may report only a digest: it is this
                // component exactly when it runs this very image.
                matched.extend(containers.iter().filter(|c| {
                    c.image.is_empty() && c.digest.is_some_and(|d| image.is_digest(&d))
                }));
                (matched, how)
            }
        };
    let (matched, idle): (Vec<&Container>, Vec<&Container>) =
        matched.into_iter().partition(|c| c.not_running.is_none());
    if matched.is_empty() {
        return vec![not_deployed(name, with_idle(how, &idle), &[])];
    }
    let built = image.manifest_digest.to_string();
    let mut findings = Vec::new();
    let verified: Vec<&&Container> = matched.iter().filter(|c| c.digest.is_some()).collect();
    if verified.is_empty() {
        let mut seen = BTreeSet::new();
        for c in &matched {
            if !seen.insert((&c.workload, &c.name, &c.image)) {
                continue;
            }
            findings.push(
                Finding::new(
                    RuleId::UnpinnedImage,
                    name,
                    format!(
                        "container `{}` of {} runs `{}`, a tag with no digest, so it cannot be verified against the built {built}",
                        c.name, c.workload, c.image
                    ),
                    &[&c.workload, &c.name, &c.image],
                )
                .with_detail("image", &c.image)
                .with_detail("where", &c.workload)
                .with_detail("built", &built)
                .with_help("deploy by digest (`image@sha256:…`), or verify against a Pod list (`kubectl get pods -o json`) or `aws ecs describe-tasks`, which report the digest that was pulled",
                ),
            );
        }
        return findings;
    }
    for c in verified {
        let Some(running) = c.digest else { continue };
        if !image.is_digest(&running) {
            let where_ = format!("container `{}` of {} (`{}`)", c.name, c.workload, c.image);
            let mut f = mismatch(name, "image", &built, &running.to_string(), &where_)
                .with_detail("container", &c.name);
            if from_file(image) {
                // The running state shows only the digest, not the content, so this
                // stays a plain mismatch; but a digest from a file never equals a
                // pushed one, and the reader should know before hunting a rollback.
                let transport = image.transport.map_or("a file", Transport::as_str);
                f.message.push_str(&format!(
                    "; note: `{name}` was recorded from a local image ({transport}), whose manifest digest a push does not keep: if this is the same image pushed, record the pushed one (`image = \"docker://…\"`) to verify by digest"
                ));
                f = f.with_detail("built_from", transport);
            }
            findings.push(f);
        }
    }
    findings
}

/// What `verify --identify-running` learned of the image a `deployed-mismatch`
/// container runs, from the buildproof manifest attached to it in its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunningIdentity {
    /// The newest buildproof manifest attached to the running digest.
    Release(RunningRelease),
    /// The registry lists no buildproof manifest for it.
    NoneAttached,
    /// The registry could not be asked, or answered with something unreadable: why.
    Unknown(String),
}

/// Says which release a mismatched container runs: the silent rollback named by
/// its release, not only by a digest. The message gains a sentence and
/// `details.running_release` the release; the fingerprint is unchanged (the same
/// mismatch, better explained), so an `[[accept]]` of it still applies.
#[must_use]
pub fn name_running_release(mut finding: Finding, identity: &RunningIdentity) -> Finding {
    match identity {
        RunningIdentity::Release(r) => {
            let git = r.commit.as_ref().map(|commit| {
                let short = &commit[..commit.len().min(12)];
                if r.dirty == Some(true) {
                    format!("git {short}, dirty tree")
                } else {
                    format!("git {short}")
                }
            });
            let what = match (&r.label, git) {
                (Some(label), Some(git)) => {
                    format!("release `{label}` ({git}, snapshot {})", r.created)
                }
                (Some(label), None) => format!("release `{label}` (snapshot {})", r.created),
                (None, Some(git)) => format!("the build snapshotted at {} ({git})", r.created),
                (None, None) => format!("the build snapshotted at {}", r.created),
            };
            finding.message.push_str(&format!(
                "; the running image is {what}, by the buildproof manifest attached to it"
            ));
            finding.with_detail("running_release", r)
        }
        RunningIdentity::NoneAttached => {
            finding.message.push_str(
                "; no buildproof manifest is attached to the running image, so which release it is cannot be told",
            );
            finding.with_detail("running_release", serde_json::Value::Null)
        }
        RunningIdentity::Unknown(why) => {
            finding
                .message
                .push_str(&format!("; which release runs could not be told: {why}"));
            finding.with_detail("running_release_error", why)
        }
    }
}

/// Why nothing matched, and the workloads that would have matched but run nothing.
fn with_idle(how: String, idle: &[&Container]) -> String {
    const SHOWN: usize = 5;
    let mut workloads = BTreeSet::new();
    for c in idle {
        workloads.insert((
            c.workload.as_str(),
            c.not_running.as_deref().unwrap_or_default(),
        ));
    }
    if workloads.is_empty() {
        return how;
    }
    let mut listed: Vec<String> = workloads
        .iter()
        .take(SHOWN)
        .map(|(workload, why)| format!("{workload} ({why})"))
        .collect();
    if workloads.len() > SHOWN {
        listed.push(format!("and {} more", workloads.len() - SHOWN));
    }
    format!(
        "{how}; it matches only workloads that run nothing: {}",
        listed.join(", ")
    )
}

/// Containers whose image repository is one the built image records.
fn by_repository<'a>(
    image: &ImageRecord,
    containers: &'a [Container],
    source: &str,
) -> (Vec<&'a Container>, String) {
    let repositories: BTreeSet<String> = image
        .names
        .iter()
        .filter_map(|n| recorded_repository(n))
        .collect();
    if repositories.is_empty() {
        let set_deploy = "set `deploy = \"<container name>\"` in its entry in buildproof.toml to match it by container name";
        let why = if image.names.is_empty() {
            format!("its image records no repository name and it has no `deploy` key: {set_deploy}")
        } else {
            let tags: Vec<String> = image.names.iter().map(|n| format!("`{n}`")).collect();
            let noun = if tags.len() == 1 { "tag" } else { "tags" };
            format!(
                "its image records only the {noun} {} (an OCI layout's `org.opencontainers.image.ref.name` is often just the tag), no repository name, and it has no `deploy` key: {set_deploy}",
                tags.join(", ")
            )
        };
        return (Vec::new(), why);
    }
    let matched = containers
        .iter()
        .filter(|c| ImageRef::parse(&c.image).is_ok_and(|r| repositories.contains(&r.repository)))
        .collect();
    let listed: Vec<String> = repositories.iter().map(|r| format!("`{r}`")).collect();
    (
        matched,
        format!(
            "no container in the {source} state runs an image of {}",
            listed.join(" or ")
        ),
    )
}

fn against_store_paths(name: &str, component: &ComponentRecord, paths: &[String]) -> Vec<Finding> {
    let built: Vec<&str> = component
        .outputs
        .iter()
        .filter_map(|o| o.store_path.as_deref())
        .collect();
    if built.is_empty() {
        return vec![cannot_show(
            name,
            "it has no store-path output, and a store path list shows only store paths",
        )];
    }
    let mut findings = Vec::new();
    for path in built {
        if paths.iter().any(|p| p == path) {
            continue;
        }
        let Some(wanted) = store_path_name(path) else {
            findings.push(not_deployed(
                name,
                format!("`{path}` is not a store path name buildproof can look for"),
                &[path],
            ));
            continue;
        };
        let same_name: Vec<&str> = paths
            .iter()
            .map(String::as_str)
            .filter(|p| store_path_name(p) == Some(wanted))
            .collect();
        if same_name.is_empty() {
            findings.push(
                not_deployed(
                    name,
                    format!("no store path named `{wanted}` in the list (built `{path}`)"),
                    &[path],
                )
                .with_detail("built", path),
            );
        } else {
            findings.push(mismatch(
                name,
                &format!("store path `{wanted}`"),
                path,
                &same_name.join(", "),
                "the running system",
            ));
        }
    }
    findings
}

fn against_manifest(name: &str, component: &ComponentRecord, deployed: &Manifest) -> Vec<Finding> {
    let Some(running) = deployed.components.get(name) else {
        return vec![not_deployed(
            name,
            "the running manifest has no component of that name".to_owned(),
            &[],
        )];
    };
    let mut findings = Vec::new();
    let where_ = "the running manifest";
    if let Some(image) = &component.image {
        let built = image.manifest_digest.to_string();
        let ran = running
            .image
            .as_ref()
            .map_or_else(|| "no image".to_owned(), |i| i.manifest_digest.to_string());
        if ran != built {
            let trap = running
                .image
                .as_ref()
                .filter(|r| from_file(image) && image.same_content(r));
            findings.push(match trap {
                Some(r) => digest_trap(name, image, r, where_),
                None => mismatch(name, "image", &built, &ran, where_),
            });
        }
    }
    for output in &component.outputs {
        let built = output.digest.to_string();
        let ran = running
            .outputs
            .iter()
            .find(|o| o.path == output.path)
            .map_or_else(|| "nothing".to_owned(), |o| o.digest.to_string());
        if ran != built {
            findings.push(mismatch(
                name,
                &format!("output `{}`", output.path),
                &built,
                &ran,
                where_,
            ));
        }
    }
    findings
}
