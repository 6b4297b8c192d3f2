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
