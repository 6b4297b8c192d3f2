//! The manifest travels with the image, through the CLI against a real
//! `docker-registry` (distribution 2.8, which has no referrers API, so the referrers
//! tag scheme is what is written and read), and against the same registry behind
//! `ReferrersProxy`, which plays the referrers API (`tests/registry/support.rs` says
//! why no real registry with the API is used). What other tools see is checked with
//! `skopeo list-tags` and `skopeo inspect --raw`, and the registry's own storage is
//! tampered with to see that a bad attestation is refused.

use std::path::Path;
use std::process::Command;

use buildproof::digest::Digest;
use serde_json::Value;

use crate::registry::{bp, image, json, snapshot_config};
use crate::servers::{Auth, ReferrersProxy, Registry, push, require_tools, run, write_layout};
use crate::support::{
    assert_bad_input, assert_exit, findings, stderr, stdout, validate_document, validate_stdout,
};

const REPO: &str = "team/app";
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// `skopeo … --tls-verify=false docker://{host}/{REPO}{suffix}` as JSON.
fn skopeo_json(verb: &[&str], host: &str, suffix: &str) -> Value {
    let out = run(Command::new("skopeo")
        .args(verb)
        .arg("--tls-verify=false")
        .arg(format!("docker://{host}/{REPO}{suffix}")));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("skopeo said ({e}): {out}"))
}

fn tags(host: &str) -> Vec<String> {
    let v = skopeo_json(&["list-tags"], host, "");
    v["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// `created` has a resolution of one second: the next snapshot is newer.
fn next_second() {
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

/// A manifest buildproof wrote, checked against the published schema.
fn manifest_file(home: &Path, name: &str) -> Value {
    let m = serde_json::from_slice(&std::fs::read(home.join(name)).unwrap()).unwrap();
    validate_document(&m, name);
    m
}

/// A registry with `team/app:v1` pushed and a project whose component `app` is that
/// image, read from the registry.
struct Setup {
    _t: tempfile::TempDir,
    reg: Registry,
    /// The manifest digest of `team/app:v1`.
    digest: Digest,
}

impl Setup {
    fn new(text: &str) -> Option<Self> {
        if !require_tools(&["docker-registry", "skopeo"]) {
            return None;
        }
        let t = tempfile::tempdir().unwrap();
        let reg = Registry::start(&t.path().join("reg"), Auth::None);
        let layout = write_layout(&t.path().join("img"), "v1", &[image("amd64", text)]);
        push(&layout, "v1", &reg, REPO, None, None);
        let digest = layout.manifests[0];
        let s = Self { _t: t, reg, digest };
        snapshot_config(s.home(), &s.tagged(&s.reg.host(), "v1"), "");
        Some(s)
    }

    fn home(&self) -> &Path {
        self._t.path()
    }

    fn tagged(&self, host: &str, tag: &str) -> String {
        format!("docker://{host}/{REPO}:{tag}")
    }

    /// `docker://HOST/team/app@sha256:…` of the pushed image.
    fn by_digest(&self, host: &str) -> String {
        format!("docker://{host}/{REPO}@{}", self.digest)
    }

    fn bp(&self, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.push("--tls-verify=false");
        let o = bp(self.home(), &all);
        validate_stdout(&o);
        o
    }

    /// A source change that never reaches the image.
    fn edit_source(&self, text: &str) {
        std::fs::write(self.home().join("src/main.c"), text).unwrap();
    }

    /// The blob file the registry serves for `digest`.
    fn blob_file(&self, digest: &str) -> std::path::PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.reg
            .dir
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

#[test]
fn snapshot_attach_writes_a_referrers_tag_that_skopeo_lists_and_reads_back_by_digest() {
    let Some(s) = Setup::new("one\n") else { return };
    let host = s.reg.host();
    let tag = format!("sha256-{}", s.digest.hex());
    let o = s.bp(&["snapshot", "--attach", "--label", "v1.0.0", "-o", "m1.json"]);
    assert_exit(&o, 0);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "attached the manifest to `{}`",
            s.by_digest(&host)
        )) && err.contains(&format!("listed through the referrers tag `{tag}`")),
        "{err}"
    );
    let m1 = manifest_file(s.home(), "m1.json");

    // What other tools see: the tag (skopeo list-tags, as oras repo tags would),
    // an OCI index under it listing the artifact with its type and annotations …
    assert!(tags(&host).contains(&tag), "{:?}", tags(&host));
    let index = skopeo_json(&["inspect", "--raw"], &host, &format!(":{tag}"));
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{index}");
    assert_eq!(entries[0]["artifactType"], IN_TOTO);
    assert_eq!(
        entries[0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let annotations = &entries[0]["annotations"];
    assert_eq!(
        annotations["org.opencontainers.image.created"],
        m1["created"]
    );
    assert_eq!(
        annotations["in-toto.io/predicate-type"],
        "https://buildproof.dev/manifest/v1"
    );
    assert_eq!(annotations["org.opencontainers.image.version"], "v1.0.0");
    // … and the artifact manifest: empty config, the statement as its one layer,
    // `subject` the image's manifest descriptor.
    let artifact_digest = entries[0]["digest"].as_str().unwrap().to_owned();
    let artifact = skopeo_json(&["inspect", "--raw"], &host, &format!("@{artifact_digest}"));
    assert_eq!(artifact["artifactType"], IN_TOTO);
    assert_eq!(
        artifact["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(artifact["config"]["size"], 2);
    assert_eq!(artifact["subject"]["digest"], s.digest.to_string());
    assert_eq!(
        artifact["subject"]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let layers = artifact["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], IN_TOTO);
    assert_eq!(
        layers[0]["annotations"]["org.opencontainers.image.title"],
        "buildproof.intoto.json"
    );
    // The layer is the in-toto statement `snapshot --format in-toto` writes, whose
    // predicate is the manifest.
    let statement: Value = serde_json::from_slice(
        &std::fs::read(s.blob_file(layers[0]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    validate_document(&statement, "the attached statement");
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicate"], m1);
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        s.digest.hex().as_str()
    );

    // Attached again (a CI job run twice over the same build): the newest attached
    // manifest records the same build, so nothing is added.
    let o = s.bp(&["snapshot", "--attach", "--label", "v1.0.0", "-o", "m2.json"]);
    assert_exit(&o, 0);
    assert!(
        stderr(&o).contains("records this same build") && stderr(&o).contains("nothing added"),
        "{}",
        stderr(&o)
    );
    let index = skopeo_json(&["inspect", "--raw"], &host, &format!(":{tag}"));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");

    // Read back by digest wherever a manifest is read.
    let image = s.by_digest(&host);
    let o = s.bp(&["diff", &image, "m1.json", "--format", "json"]);
    assert_exit(&o, 0);
    let report = json(&o);
    let fact = report["base_attached"].as_str().unwrap();
    assert!(
        fact.contains(&artifact_digest) && fact.contains(m1["created"].as_str().unwrap()),
        "{fact}"
    );
    assert!(report.get("base_attached_others").is_none(), "{report}");
    let o = s.bp(&["diff", "m1.json", &image]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("new_attached: "), "{}", stdout(&o));
    let o = s.bp(&["check", "--against", &image]);
    assert_exit(&o, 0);
    // A tag is resolved to its digest first.
    let o = s.bp(&["diff", &s.tagged(&host, "v1"), "m1.json"]);
    assert_exit(&o, 0);
}

/// The incident: sources changed, the image did not. CI compares against the digest
/// that runs, and catches it; `--attach` then refuses to record the stale build.
#[test]
fn check_against_the_running_digest_catches_a_stale_artifact() {
    let Some(s) = Setup::new("release one\n") else {
        return;
    };
    let host = s.reg.host();
    assert_exit(&s.bp(&["snapshot", "--attach", "-o", "deployed.json"]), 0);
    s.edit_source("int main() { return fix(); }");
    let o = s.bp(&[
        "check",
        "--against",
        &s.by_digest(&host),
        "--attach",
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule"], "stale-artifact");
    assert_eq!(f[0]["component"], "app");
    assert!(
        stderr(&o).contains("not attached: the check found errors"),
        "{}",
        stderr(&o)
    );
    let index = skopeo_json(
        &["inspect", "--raw"],
        &host,
        &format!(":sha256-{}", s.digest.hex()),
    );
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");
    // `verify BUILT` from the image, too: the deployed manifest against itself.
    let o = s.bp(&["verify", &s.by_digest(&host), "--running", "deployed.json"]);
    assert_exit(&o, 0);
}

#[test]
fn a_tampered_attestation_is_refused() {
    let Some(s) = Setup::new("tamper\n") else {
        return;
    };
    let host = s.reg.host();
    assert_exit(&s.bp(&["snapshot", "--attach", "-o", "m.json"]), 0);
    let index = skopeo_json(
        &["inspect", "--raw"],
        &host,
        &format!(":sha256-{}", s.digest.hex()),
    );
    let artifact_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let artifact = skopeo_json(&["inspect", "--raw"], &host, &format!("@{artifact_digest}"));
    let layer = artifact["layers"][0]["digest"].as_str().unwrap().to_owned();
    // Same length, one component renamed: a registry (or whoever writes its
    // storage) serving another statement under the old digest.
    let blob = s.blob_file(&layer);
    let text = std::fs::read_to_string(&blob).unwrap();
    std::fs::write(&blob, text.replacen("\"app\"", "\"apq\"", 1)).unwrap();
    let o = s.bp(&["check", "--against", &s.by_digest(&host)]);
    assert_bad_input(&o, &format!("blob `{layer}`"));
    assert!(stderr(&o).contains(&s.by_digest(&host)), "{}", stderr(&o));
    std::fs::write(&blob, text).unwrap();
    assert_exit(&s.bp(&["check", "--against", &s.by_digest(&host)]), 0);

    // The artifact manifest itself altered: refused by its digest.
    let stored = s.blob_file(&artifact_digest);
    let text = std::fs::read_to_string(&stored).unwrap();
    std::fs::write(&stored, text.replacen("\"size\":2", "\"size\":3", 1)).unwrap();
    let o = s.bp(&["diff", &s.by_digest(&host), "m.json"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(&artifact_digest) && !stderr(&o).contains("panicked"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_image_without_an_attached_manifest_is_exit_2_with_the_hint() {
    let Some(s) = Setup::new("bare\n") else {
        return;
    };
    let host = s.reg.host();
    let image = s.by_digest(&host);
    let o = s.bp(&["check", "--against", &image]);
    assert_bad_input(
        &o,
        &format!("no buildproof manifest is attached to `{image}`"),
    );
    let err = stderr(&o);
    assert!(
        err.contains("buildproof snapshot --attach")
            && err.contains(&format!("referrers tag `sha256-{}`", s.digest.hex())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Nothing was written: no config hashed, no tag made.
    assert!(!tags(&host).iter().any(|t| t.starts_with("sha256-")));
    for args in [
        vec!["diff", image.as_str(), image.as_str()],
        vec!["verify", image.as_str(), "--running", "none.json"],
    ] {
        assert_bad_input(&s.bp(&args), "no buildproof manifest is attached");
    }
    // A digest that names no image at all is said to be that, not a missing
    // attachment.
    let nothing = format!("docker://{host}/{REPO}@{}", Digest::of(b"no such image"));
    assert_bad_input(&s.bp(&["check", "--against", &nothing]), "manifest unknown");
    // `--attach` with no registry image in the config: refused before any work.
    snapshot_config(s.home(), "local.oci", "");
    assert_bad_input(
        &s.bp(&["snapshot", "--attach"]),
        "no component's `image` is in a registry",
    );
}

/// Several builds attached to one image (the image did not change): the newest is
/// read, the others are listed; other tools' entries under the tag are kept; a tag
/// that is no index is never overwritten.
#[test]
fn several_attachments_the_newest_is_read_and_foreign_entries_are_kept() {
    let Some(s) = Setup::new("several\n") else {
        return;
    };
    let host = s.reg.host();
    let tag = format!("sha256-{}", s.digest.hex());
    // Another tool's referrer first (an SBOM, say), through the library's own push.
    let client = buildproof::registry::Client::new(buildproof::registry::Options {
        tls_verify: false,
        plain_http: true,
        ..Default::default()
    })
    .unwrap();
    let r = buildproof::registry::Reference::parse(&s.by_digest(&host)).unwrap();
    let subject = client.subject(&r, &s.digest).unwrap();
    let sbom = buildproof::registry::Artifact {
        artifact_type: "application/spdx+json",
        media_type: "application/spdx+json",
        data: br#"{"spdxVersion":"SPDX-2.3"}"#,
        layer_annotations: Default::default(),
        annotations: Default::default(),
    };
    let first = client.attach(&r, &subject, &sbom).unwrap();
    assert!(first.added);
    // The very same artifact again: found listed, nothing written.
    let again = client.attach(&r, &subject, &sbom).unwrap();
    assert!(!again.added);
    assert_eq!(again.manifest, first.manifest);
    let before = skopeo_json(&["inspect", "--raw"], &host, &format!(":{tag}"));
    assert_eq!(before["manifests"].as_array().unwrap().len(), 1);

    assert_exit(&s.bp(&["snapshot", "--attach", "-o", "m1.json"]), 0);
    s.edit_source("int main() { return 2; }");
    next_second();
    assert_exit(&s.bp(&["snapshot", "--attach", "-o", "m2.json"]), 0);
    let m1 = manifest_file(s.home(), "m1.json");
    let m2 = manifest_file(s.home(), "m2.json");
    let index = skopeo_json(&["inspect", "--raw"], &host, &format!(":{tag}"));
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{index}");
    assert_eq!(
        entries[0], before["manifests"][0],
        "the SBOM entry is kept as it was"
    );

    assert_ne!(m1["created"], m2["created"]);
    let o = s.bp(&["diff", &s.by_digest(&host), "m2.json", "--format", "json"]);
    assert_exit(&o, 0);
    let report = json(&o);
    let others = report["base_attached_others"].as_str().unwrap();
    assert!(others.contains(m1["created"].as_str().unwrap()), "{others}");
    let err = stderr(&o);
    assert!(
        err.contains("buildproof: note: 2 buildproof manifests are attached")
            && err.contains("base is the newest"),
        "{err}"
    );

    // A referrers tag that holds something else is left alone.
    let layout = write_layout(&s.home().join("img2"), "v2", &[image("amd64", "two\n")]);
    push(&layout, "v2", &s.reg, REPO, None, None);
    let v2 = layout.manifests[0];
    let squatted = buildproof::registry::Reference::parse(&format!(
        "docker://{host}/{REPO}:sha256-{}",
        v2.hex()
    ))
    .unwrap();
    let plain = std::fs::read(layout.dir.join("blobs/sha256").join(v2.hex())).unwrap();
    client
        .put_manifest(
            &squatted,
            "application/vnd.oci.image.manifest.v1+json",
            &plain,
        )
        .unwrap();
    snapshot_config(s.home(), &s.tagged(&host, "v2"), "");
    let o = s.bp(&["snapshot", "--attach", "-o", "m3.json"]);
    assert_bad_input(
        &o,
        "the referrers tag holds an image manifest, not an image index",
    );
    let still = skopeo_json(
        &["inspect", "--raw"],
        &host,
        &format!(":sha256-{}", v2.hex()),
    );
    assert!(still.get("config").is_some(), "{still}");
}

/// `verify --identify-running`: the rollback named by the release that runs.
#[test]
fn verify_identify_running_names_the_release_a_rollback_left_running() {
    let Some(s) = Setup::new("release one\n") else {
        return;
    };
    let host = s.reg.host();
    assert_exit(
        &s.bp(&["snapshot", "--attach", "--label", "v1.4.1", "-o", "v1.json"]),
        0,
    );
    let v1 = manifest_file(s.home(), "v1.json");
    let layout = write_layout(&s.home().join("img2"), "v2", &[image("amd64", "two\n")]);
    push(&layout, "v2", &s.reg, REPO, None, None);
    let v2_digest = layout.manifests[0];
    snapshot_config(s.home(), &s.tagged(&host, "v2"), "");
    s.edit_source("int main() { return 2; }");
    assert_exit(&s.bp(&["snapshot", "--attach", "-o", "v2.json"]), 0);
    let layout3 = write_layout(&s.home().join("img3"), "v3", &[image("amd64", "three\n")]);
    push(&layout3, "v3", &s.reg, REPO, None, None);

    let pods = |running: &Digest| {
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [{
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app-1"},
            "spec": {"containers": [{"name": "app", "image": format!("{host}/{REPO}:v2")}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "app", "image": format!("{host}/{REPO}:v2"),
                "imageID": format!("{host}/{REPO}@{running}"),
                "state": {"running": {}}}]}}]})
        .to_string()
    };
    std::fs::write(s.home().join("rolled-back.json"), pods(&s.digest)).unwrap();
    let o = s.bp(&[
        "verify",
        "v2.json",
        "--running",
        "rolled-back.json",
        "--identify-running",
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule"], "deployed-mismatch");
    let message = f[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "the running image is release `v1.4.1` (snapshot {}), by the buildproof manifest attached to it",
            v1["created"].as_str().unwrap()
        )),
        "{message}"
    );
    let release = &f[0]["details"]["running_release"];
    assert_eq!(release["created"], v1["created"]);
    assert_eq!(release["label"], "v1.4.1");
    assert_eq!(release["image"], s.by_digest(&host));
    // The same verdict and fingerprint without the flag: the finding is explained,
    // not changed.
    let plain = s.bp(&[
        "verify",
        "v2.json",
        "--running",
        "rolled-back.json",
        "--format",
        "json",
    ]);
    assert_exit(&plain, 1);
    assert_eq!(findings(&plain)[0]["fingerprint"], f[0]["fingerprint"]);
    // BUILT from the image that should run.
    let o = s.bp(&[
        "verify",
        &format!("docker://{host}/{REPO}@{v2_digest}"),
        "--running",
        "rolled-back.json",
        "--identify-running",
    ]);
    assert_exit(&o, 1);
    assert!(stdout(&o).contains("by the buildproof manifest attached to it"));

    // Something never attached runs: said so, verdict unchanged.
    std::fs::write(s.home().join("unknown.json"), pods(&layout3.manifests[0])).unwrap();
    let o = s.bp(&[
        "verify",
        "v2.json",
        "--running",
        "unknown.json",
        "--identify-running",
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    let message = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("no buildproof manifest is attached to the running image"),
        "{message}"
    );
}

/// A registry with the referrers API: `OCI-Subject` answered, so no tag is written,
/// and the list is read from the API, page by page.
#[test]
fn a_registry_with_the_referrers_api_gets_no_tag() {
    let Some(s) = Setup::new("api\n") else { return };
    let proxy = ReferrersProxy::start(s.reg.port);
    let host = proxy.host();
    snapshot_config(s.home(), &s.tagged(&host, "v1"), "");
    let o = s.bp(&["snapshot", "--attach", "-o", "m1.json"]);
    assert_exit(&o, 0);
    assert!(
        stderr(&o).contains("listed through the referrers API"),
        "{}",
        stderr(&o)
    );
    s.edit_source("int main() { return 3; }");
    next_second();
    assert_exit(&s.bp(&["snapshot", "--attach", "-o", "m2.json"]), 0);
    assert_eq!(proxy.tag_puts.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(
        !tags(&s.reg.host()).iter().any(|t| t.starts_with("sha256-")),
        "{:?}",
        tags(&s.reg.host())
    );
    // Read back through the API: two attachments, one per page.
    let gets = proxy
        .referrer_gets
        .load(std::sync::atomic::Ordering::SeqCst);
    let o = s.bp(&["check", "--against", &s.by_digest(&host)]);
    assert_exit(&o, 0);
    assert!(
        proxy
            .referrer_gets
            .load(std::sync::atomic::Ordering::SeqCst)
            >= gets + 2
    );
    assert!(
        stdout(&o).contains("listed through the referrers API"),
        "{}",
        stdout(&o)
    );
    // Attached again unchanged: nothing added.
    let o = s.bp(&["snapshot", "--attach"]);
    assert_exit(&o, 0);
    assert!(stderr(&o).contains("nothing added"), "{}", stderr(&o));
}

/// A Python with the ORAS project's Python client (`oras` on PyPI):
/// `$BUILDPROOF_ORAS_PYTHON`, else `python3`. Missing, the test is skipped locally
/// and fails under CI (`.ci/run` installs it).
fn oras_python() -> Option<String> {
    let python = std::env::var("BUILDPROOF_ORAS_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import oras.client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`{python}` cannot import `oras` under CI; .ci/run installs it"
        );
        #[allow(clippy::disallowed_macros)]
        {
            eprintln!("skipped: `{python}` cannot import `oras` (pip install oras)");
        }
    }
    found.then_some(python)
}

/// Another client reads what was attached: ORAS's Python client fetches the artifact
/// manifest by digest (valid by its manifest schema), pulls the statement under the
/// file name the layer's title gives, and buildproof reads that file as a manifest.
#[test]
fn oras_pulls_the_attached_statement() {
    let Some(s) = Setup::new("oras\n") else {
        return;
    };
    let Some(python) = oras_python() else { return };
    let host = s.reg.host();
    assert_exit(&s.bp(&["snapshot", "--attach", "-o", "m.json"]), 0);
    let index = skopeo_json(
        &["inspect", "--raw"],
        &host,
        &format!(":sha256-{}", s.digest.hex()),
    );
    let artifact = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let out = s.home().join("pulled");
    let script = r#"
import sys, jsonschema, oras.client, oras.schemas
host, target, outdir = sys.argv[1:4]
client = oras.client.OrasClient(hostname=host, insecure=True)
manifest = client.get_manifest(target)
jsonschema.validate(manifest, schema=oras.schemas.manifest)
print(manifest["artifactType"], manifest["subject"]["digest"])
for path in client.pull(target=target, outdir=outdir):
    print(path)
"#;
    let said = run(Command::new(&python).args([
        "-c",
        script,
        &host,
        &format!("{host}/{REPO}@{artifact}"),
        out.to_str().unwrap(),
    ]));
    assert!(
        said.starts_with(&format!("{IN_TOTO} {}", s.digest)),
        "{said}"
    );
    let pulled = out.join("buildproof.intoto.json");
    assert!(said.contains(pulled.to_str().unwrap()), "{said}");
    let o = s.bp(&["diff", pulled.to_str().unwrap(), "m.json"]);
    assert_exit(&o, 0);
}

/// Kubernetes reports the index digest of a multi-platform image: the manifest is
/// attached there too, and read from there.
#[test]
fn a_multi_platform_image_carries_the_manifest_at_its_index_digest_too() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let reg = Registry::start(&home.join("reg"), Auth::None);
    let layout = write_layout(
        &home.join("img"),
        "multi",
        &[image("amd64", "x86\n"), image("arm64", "arm\n")],
    );
    push(&layout, "multi", &reg, REPO, None, None);
    let host = reg.host();
    let index = layout.index.unwrap();
    snapshot_config(home, &format!("docker://{host}/{REPO}:multi"), "");
    let flags = ["--tls-verify=false", "--platform", "linux/amd64"];
    let mut args = vec!["snapshot", "--attach", "-o", "m.json"];
    args.extend(flags);
    let o = bp(home, &args);
    assert_exit(&o, 0);
    let err = stderr(&o);
    for digest in [layout.manifests[0], index] {
        assert!(
            err.contains(&format!(
                "attached the manifest to `docker://{host}/{REPO}@{digest}`"
            )),
            "{err}"
        );
        assert!(tags(&host).contains(&format!("sha256-{}", digest.hex())));
    }
    let subject = skopeo_json(
        &["inspect", "--raw"],
        &host,
        &format!(
            "@{}",
            skopeo_json(
                &["inspect", "--raw"],
                &host,
                &format!(":sha256-{}", index.hex())
            )["manifests"][0]["digest"]
                .as_str()
                .unwrap()
        ),
    )["subject"]
        .clone();
    assert_eq!(
        subject["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let against = format!("docker://{host}/{REPO}@{index}");
    let mut args = vec!["check", "--against", against.as_str()];
    args.extend(flags);
    assert_exit(&bp(home, &args), 0);
}
