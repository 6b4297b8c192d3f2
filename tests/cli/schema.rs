//! The JSON shapes users parse, pinned by `deny_unknown_fields` copies of the types:
//! a field added, renamed or removed in the report or the manifest fails here first.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::support::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Report {
    schema: String,
    findings: Vec<Finding>,
    summary: Summary,
    releases: Option<BTreeMap<String, Release>>,
    changes: Option<Vec<ComponentChanges>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Release {
    name: String,
    label: Option<String>,
    git: Option<Git>,
    generator: String,
    created: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Git {
    commit: String,
    dirty: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ComponentChanges {
    component: String,
    status: String,
    inputs: Option<InputChanges>,
    #[serde(default)]
    outputs: Vec<OutputChange>,
    image: Option<ImageChanges>,
    dockerfile: Option<DockerfileChanges>,
    nix: Option<NixChanges>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Pair<T> {
    old: Option<T>,
    new: Option<T>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Counts {
    added: usize,
    removed: usize,
    modified: usize,
    unchanged: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct InputChanges {
    digest: Pair<String>,
    counts: Counts,
    files: Vec<FileChange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FileChange {
    path: String,
    change: String,
    old: Option<FileSide>,
    new: Option<FileSide>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FileSide {
    kind: String,
    size: u64,
    digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct OutputChange {
    path: String,
    change: String,
    old: Option<OutputSide>,
    new: Option<OutputSide>,
    #[serde(default)]
    files: Vec<FileChange>,
    counts: Counts,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct OutputSide {
    kind: String,
    digest: String,
    size: u64,
    store_path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FieldChange {
    field: String,
    change: String,
    old: Option<serde_json::Value>,
    new: Option<serde_json::Value>,
    old_line: Option<u32>,
    new_line: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ImageChanges {
    change: String,
    manifest_digest: Pair<String>,
    identity: Pair<String>,
    config_digest: Pair<String>,
    startup: Vec<FieldChange>,
    #[serde(default)]
    labels: Vec<LabelChange>,
    layers: Vec<LayerChange>,
    problems: Pair<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LabelChange {
    label: String,
    change: String,
    old: Option<String>,
    new: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LayerChange {
    change: String,
    old: Option<Layer>,
    new: Option<Layer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Layer {
    diff_id: String,
    digest: String,
    size: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DockerfileChanges {
    change: String,
    path: Pair<String>,
    base: Pair<String>,
    startup: Vec<FieldChange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct NixChanges {
    change: String,
    derivation: Pair<String>,
    out_paths: Vec<OutPathChange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct OutPathChange {
    output: String,
    change: String,
    old: Option<String>,
    new: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Finding {
    rule: String,
    level: String,
    component: String,
    message: String,
    fingerprint: String,
    details: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Manifest {
    schema: String,
    created: String,
    generator: String,
    label: Option<String>,
    git: Option<Git>,
    components: BTreeMap<String, Component>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Component {
    inputs: Inputs,
    outputs: Vec<Output>,
    // Their own shapes are pinned beside their features (image.rs, dockerfile.rs, nix.rs).
    image: Option<serde_json::Value>,
    dockerfile: Option<serde_json::Value>,
    nix: Option<serde_json::Value>,
    deploy: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Inputs {
    digest: String,
    files: Vec<File>,
    #[serde(default)]
    unmatched: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct File {
    path: String,
    kind: String,
    size: u64,
    digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Output {
    path: String,
    kind: String,
    digest: String,
    size: u64,
    nar_hash: Option<String>,
    store_path: Option<String>,
    #[serde(default)]
    files: Vec<File>,
}

#[test]
fn report_and_manifest_json_shapes_are_pinned() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = demo_check_json();
    assert_exit(&o, 1);
    let report: Report = serde_json::from_slice(&o.stdout).expect("report shape");
    assert_eq!(report.schema, "buildproof.report/v1");
    assert_eq!(report.summary.errors, 3);
    // The releases compared, and every component's changes.
    let releases = report.releases.as_ref().expect("releases");
    assert_eq!(releases["base"].label.as_deref(), Some("v1.4.1"));
    assert_eq!(releases["new"].name, "this build");
    let changes = report.changes.as_ref().expect("changes");
    let status: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| (c.component.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(status, [("goinstance", "changed"), ("web", "changed")]);
    let goinstance = &changes[0];
    let inputs = goinstance.inputs.as_ref().unwrap();
    assert_eq!(inputs.files[0].path, "goinstance/main.go");
    assert_eq!(inputs.files[0].change, "modified");
    assert_eq!(goinstance.outputs[0].change, "unchanged");
    let web = &changes[1];
    assert_eq!(web.outputs[0].change, "modified");
    assert_eq!(web.outputs[0].files[0].path, "app.js");
    let dockerfile = web.dockerfile.as_ref().unwrap();
    assert_eq!(dockerfile.change, "modified");
    assert!(
        dockerfile
            .startup
            .iter()
            .any(|f| f.field == "ENTRYPOINT" && f.change == "modified" && f.new_line == Some(8))
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| ["error", "warning", "note"].contains(&f.level.as_str()))
    );

    let m: Manifest =
        serde_json::from_slice(&std::fs::read(root.join("testdata/demo/deployed.json")).unwrap())
            .expect("manifest shape");
    assert_eq!(m.schema, "buildproof.manifest/v1");
    let out = &m.components["goinstance"].outputs[0];
    assert_eq!(out.kind, "directory");
    assert!(
        out.nar_hash
            .as_deref()
            .is_some_and(|h| h.starts_with("sha256-"))
    );
}

/// A manifest written by the release before startup problems were typed (its
/// problems carry `level`, `message` and `fix`, no `kind`) still loads, and its
/// findings keep their messages and fingerprints, so `[[accept]]` entries written
/// for them still apply.
#[test]
fn a_manifest_from_the_release_before_typed_problems_still_reads() {
    let old = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/manifests/v1-before-typed-problems.json"
    );
    let o = buildproof()
        .args(["diff", old, old, "--format", "json"])
        .output()
        .unwrap();
    assert_exit(&o, 1);
    let got: Vec<(String, String, String)> = findings(&o)
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["component"].as_str().unwrap().to_owned(),
                f["fingerprint"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // The fingerprints that release printed for these three problems.
    let want = [
        (
            "startup-broken",
            "noexec",
            "sha256:01b8fa2e9b1c4ef9ef0ec42fe9ccc5f461f8f3f62539a1b2f14bf48a660d43e2",
        ),
        (
            "startup-broken",
            "user",
            "sha256:454a14adc3655c2d332ce5c02938010ba532bc674406443de02322c61e3fb2f2",
        ),
        (
            "library-missing",
            "libmissing",
            "sha256:566d8ed5bfc76d2cfac8cd96a6400c0dac5ee4025f1a6d26c9048f85714b47a3",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(r, c, f)| ((*r).to_owned(), (*c).to_owned(), (*f).to_owned()))
        .collect();
    assert_eq!(got, want);
    let messages: Vec<String> = findings(&o)
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        messages[0].starts_with("`/app/server` is not executable by uid 0: mode 0644")
            && messages[0].ends_with("the container cannot start: make it executable in the build (`chmod +x`, or `COPY --chmod=0755`)"),
        "{messages:?}"
    );
}

/// A `diff` of two releases whose component has an image and a Nix side: the
/// `changes` of each, pinned (and checked against the published report schema).
#[test]
fn image_and_nix_changes_are_pinned() {
    let digest = |n: u32| format!("sha256:{n:064x}");
    let release = |label: &str, image: u32, user: Option<&str>, version: &str, out: &str| {
        let mut startup = serde_json::json!({"entrypoint": ["/app/server"]});
        if let Some(user) = user {
            startup["user"] = serde_json::json!(user);
        }
        serde_json::json!({
            "schema": "buildproof.manifest/v1", "created": "2026-01-01T00:00:00Z",
            "generator": "buildproof 0.1.0", "label": label,
            "git": {"commit": "a1b2c3d4".repeat(5), "dirty": false},
            "components": {"web": {
                "inputs": {"digest": digest(image), "files": [
                    {"path": "web/main.go", "kind": "file", "size": 3, "digest": digest(image + 100)}]},
                "outputs": [{"path": "result", "kind": "directory", "digest": digest(image + 200),
                             "size": 9, "store_path": out}],
                "image": {"manifest_digest": digest(image + 1), "content_digest": digest(image + 2),
                          "config_digest": digest(image + 3),
                          "layers": [{"digest": digest(7), "diff_id": digest(8), "size": 5,
                                      "media_type": "application/vnd.oci.image.layer.v1.tar+gzip"},
                                     {"digest": digest(image + 4), "diff_id": digest(image + 5), "size": 6,
                                      "media_type": "application/vnd.oci.image.layer.v1.tar+gzip"}],
                          "startup": startup,
                          "labels": {"org.opencontainers.image.version": version}},
                "nix": {"derivation": format!("/nix/store/{image:032}-web.drv"),
                        "out_paths": {"out": out}}
            }}
        })
        .to_string()
    };
    let p = Project::new();
    p.write(
        "v1.json",
        release(
            "v2.3.1",
            10,
            None,
            "2.3.1",
            "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-web",
        ),
    );
    p.write(
        "v2.json",
        release(
            "v2.4.0",
            20,
            Some("1000"),
            "2.4.0",
            "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-web",
        ),
    );
    let o = p.run(&["diff", "v1.json", "v2.json", "--format", "json"]);
    assert_exit(&o, 1);
    let report: Report = serde_json::from_slice(&o.stdout).expect("report shape");
    let releases = report.releases.unwrap();
    assert_eq!(
        releases["new"].git.as_ref().unwrap().commit,
        "a1b2c3d4".repeat(5)
    );
    let web = &report.changes.unwrap()[0];
    let image = web.image.as_ref().unwrap();
    assert_eq!(image.change, "modified");
    assert_eq!(
        image.manifest_digest.new.as_deref(),
        Some(digest(21).as_str())
    );
    let user = image.startup.iter().find(|f| f.field == "user").unwrap();
    assert_eq!(
        (user.change.as_str(), user.new.clone()),
        ("added", Some(serde_json::json!("1000")))
    );
    assert_eq!(image.labels[0].old.as_deref(), Some("2.3.1"));
    assert_eq!(image.labels[0].new.as_deref(), Some("2.4.0"));
    let layers: Vec<&str> = image.layers.iter().map(|l| l.change.as_str()).collect();
    assert_eq!(layers, ["unchanged", "modified"]);
    let nix = web.nix.as_ref().unwrap();
    assert_eq!(nix.change, "modified");
    assert_eq!(nix.out_paths[0].output, "out");
    assert_eq!(
        web.outputs[0].new.as_ref().unwrap().store_path.as_deref(),
        Some("/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-web")
    );
    // The header names both releases, with their commits.
    let o = p.run(&["diff", "v1.json", "v2.json"]);
    assert!(
        stdout(&o).starts_with("releases: v2.3.1 (a1b2c3d) → v2.4.0 (a1b2c3d)\n"),
        "{}",
        stdout(&o)
    );
}

/// The schemas in `schemas/` accept the manifests the repository ships (including
/// one from before provenance and typed problems) and refuse what buildproof refuses.
#[test]
fn the_published_schemas_accept_shipped_manifests_and_refuse_the_rest() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "testdata/demo/deployed.json",
        "testdata/manifests/v1-before-typed-problems.json",
    ] {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join(file)).unwrap()).unwrap();
        validate_document(&doc, file);
    }
    let load = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(root.join("schemas").join(name)).unwrap()).unwrap()
    };
    let manifest = jsonschema::draft202012::new(&load("manifest.schema.json")).unwrap();
    let report = jsonschema::draft202012::new(&load("report.schema.json")).unwrap();
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("testdata/demo/deployed.json")).unwrap())
            .unwrap();
    assert!(manifest.is_valid(&doc));
    doc["components"]["web"]["colour"] = serde_json::json!("red");
    assert!(!manifest.is_valid(&doc), "an unknown key passed");
    let o = demo_check_json();
    let mut doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(report.is_valid(&doc));
    doc["findings"][0]["fingerprint"] = serde_json::json!("md5:0");
    assert!(!report.is_valid(&doc), "a bad fingerprint passed");
}
