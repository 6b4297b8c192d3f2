//! Tests for the verify capability: `buildproof verify BUILT --running RUNNING` on the
//! running-state fixtures in `testdata/running/` (see its README for each shape's
//! source), and in-toto statements accepted wherever a manifest is.

use serde_json::{Value, json};

use crate::support::*;

const WEB: &str = "sha256:4b9f0d2cd9a1f0b8e1c0a7d1f4c5a9e8b7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2";
const WEB_OLD: &str = "sha256:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d";
const API: &str = "sha256:c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const NGINX: &str = "sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31";
const INPUTS: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const OUT: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const GOINSTANCE: &str = "/nix/store/3ydn7s3k9wqjrv2ql5c0h8b1g6m4x2pz-goinstance-1.0";

fn fixture(name: &str) -> String {
    format!("{}/testdata/running/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A manifest with the given components (each a JSON object without `inputs`).
fn manifest(components: &Value) -> String {
    let mut comps = serde_json::Map::new();
    for (name, c) in components.as_object().unwrap() {
        let mut c = c.as_object().unwrap().clone();
        c.insert("inputs".into(), json!({"digest": INPUTS, "files": []}));
        comps.insert(name.clone(), Value::Object(c));
    }
    serde_json::to_string_pretty(&json!({
        "schema": "buildproof.manifest/v1",
        "created": "2026-11-22T00:00:00Z",
        "generator": "buildproof 0.1.0",
        "components": comps,
    }))
    .unwrap()
}

fn image(digest: &str, names: &[&str]) -> Value {
    json!({"manifest_digest": digest, "names": names})
}

fn web_built() -> Value {
    json!({"web": {"image": image(WEB, &["registry.example.com/web:1.2"])}})
}

fn verify(p: &Project, running: &str) -> std::process::Output {
    p.run(&[
        "verify",
        "built.json",
        "--running",
        running,
        "--format",
        "json",
    ])
}

#[test]
fn pods_running_the_built_digest_pass() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let o = verify(&p, &fixture("kubernetes-pods.json"));
    assert_exit(&o, 0);
    assert!(rules_of(&o).is_empty(), "{}", stdout(&o));
}

#[test]
fn silent_rollback_pods_still_run_the_old_digest() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let o = verify(&p, &fixture("kubernetes-pods-rolled-back.json"));
    assert_exit(&o, 1);
    // Both pods, including the `docker-pullable://` imageID form.
    assert_eq!(
        rules_of(&o),
        ["deployed-mismatch:error", "deployed-mismatch:error"]
    );
    let f = &findings(&o)[0];
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(WEB) && message.contains(WEB_OLD),
        "{message}"
    );
    assert_eq!(f["details"]["built"], WEB);
    assert_eq!(f["details"]["running"], WEB_OLD);
    assert!(message.contains("Pod/web-7f9c6d5b8-"), "{message}");
}

#[test]
fn a_list_of_workloads_matches_by_repository_and_deploy_key() {
    let p = Project::new();
    p.write(
        "built.json",
        manifest(&json!({
            "web": {"image": image(WEB, &["registry.example.com/web:1.2"])},
            // Matched by container name, whatever the image is called.
            "api": {"image": image(API, &[]), "deploy": "api-server"},
            // Docker Hub names compare leniently: `docker.io/library/nginx` = `nginx`.
            "edge": {"image": image(NGINX, &["docker.io/library/nginx:1.25"])},
            // CronJob's jobTemplate, by tag only.
            "report": {"image": image(API, &["registry.example.com/report:nightly"])},
        })),
    );
    let o = verify(&p, &fixture("kubernetes-list.json"));
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), ["unpinned-image:warning"], "{}", stdout(&o));
    assert_eq!(findings(&o)[0]["component"], "report");
    assert!(
        findings(&o)[0]["message"]
            .as_str()
            .unwrap()
            .contains("CronJob/report")
    );
}

#[test]
fn a_single_deployment_by_tag_cannot_be_verified() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let o = verify(&p, &fixture("kubernetes-deployment-tag.json"));
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), ["unpinned-image:warning"]);
    let message = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("registry.example.com/web:1.2"),
        "{message}"
    );
}

#[test]
fn a_component_with_no_running_container_is_not_deployed() {
    let p = Project::new();
    p.write(
        "built.json",
        manifest(&json!({
            "web": {"image": image(WEB, &["registry.example.com/web:1.2"])},
            "billing": {"image": image(API, &["registry.example.com/billing:1"])},
            "worker": {"image": image(API, &[]), "deploy": "worker"},
        })),
    );
    let o = verify(&p, &fixture("kubernetes-list.json"));
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["not-deployed:error", "not-deployed:error"]);
    let text: Vec<String> = findings(&o)
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect();
    assert!(text[0].contains("registry.example.com/billing"), "{text:?}");
    assert!(text[1].contains("no container named `worker`"), "{text:?}");
}

#[test]
fn ecs_task_definition_and_described_tasks() {
    let p = Project::new();
    p.write(
        "built.json",
        manifest(&json!({"api": {"image": image(API, &[]), "deploy": "api-server"}})),
    );
    let o = verify(&p, &fixture("ecs-task-definition.json"));
    assert_exit(&o, 0);
    assert!(rules_of(&o).is_empty(), "{}", stdout(&o));

    // The task runs a tag; `imageDigest` says which build it resolved to.
    p.write("built.json", manifest(&web_built()));
    let o = verify(&p, &fixture("ecs-describe-tasks.json"));
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["deployed-mismatch:error"]);
    assert_eq!(findings(&o)[0]["details"]["running"], WEB_OLD);
}

// aws-cli's own `describe-tasks` example shape: ECS injects a GuardDuty sidecar that
// reports only `imageDigest`. It was refused with exit 2; it is read, and a
// component matches it by digest alone.
#[test]
fn ecs_sidecars_with_only_a_digest_are_read() {
    const AGENT: &str = "sha256:bf9197ab6f3ec2e7a4c3b5d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1";
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let o = verify(&p, &fixture("ecs-describe-tasks-sidecar.json"));
    assert_exit(&o, 0);
    assert!(rules_of(&o).is_empty(), "{}", stdout(&o));

    // A component whose image names no repository matches by the digest it runs.
    p.write(
        "built.json",
        manifest(&json!({"agent": {"image": image(AGENT, &[])}})),
    );
    let o = verify(&p, &fixture("ecs-describe-tasks-sidecar.json"));
    assert_exit(&o, 0);
    assert!(rules_of(&o).is_empty(), "{}", stdout(&o));
}

// The Kubernetes website's `private-reg-pod.yaml` (as `kubectl … -o json` prints it)
// keeps a placeholder for the image. That is no reference at all: it is reported as
// invalid, not as an unpinned tag, and it never passes for the built image.
#[test]
fn a_placeholder_image_is_invalid_not_unpinned() {
    let p = Project::new();
    p.write(
        "pod.json",
        serde_json::to_string(&json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "private-reg"},
            "spec": {
                "containers": [{"name": "private-reg-container", "image": "<your-private-image>"}],
                "imagePullSecrets": [{"name": "regcred"}]
            }
        }))
        .unwrap(),
    );
    p.write(
        "built.json",
        manifest(&json!({"app": {"image": image(WEB, &[]), "deploy": "private-reg-container"}})),
    );
    let o = verify(&p, "pod.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["not-deployed:error"]);
    let message = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("`<your-private-image>` is not a valid image reference"),
        "{message}"
    );
}

#[test]
fn store_paths_match_by_name_after_the_hash() {
    let p = Project::new();
    let output = |path: &str| {
        json!({"outputs": [{"path": "result", "kind": "directory", "digest": OUT, "size": 1,
                             "store_path": path}]})
    };
    p.write(
        "built.json",
        manifest(&json!({
            "goinstance": output(GOINSTANCE),
            "web-assets": output("/nix/store/1b9p07z77phvv2hf6gm9f28syp39f1ag-web-assets-2.0"),
            "cli": output("/nix/store/1b9p07z77phvv2hf6gm9f28syp39f1ag-cli-0.3"),
        })),
    );
    let o = verify(&p, &fixture("nix-store-paths.txt"));
    assert_exit(&o, 1);
    assert_eq!(
        rules_of(&o),
        ["not-deployed:error", "deployed-mismatch:error"],
        "{}",
        stdout(&o)
    );
    let f = findings(&o);
    assert_eq!(f[0]["component"], "cli");
    assert_eq!(f[1]["component"], "web-assets");
    assert!(
        f[1]["details"]["running"]
            .as_str()
            .unwrap()
            .contains("a8vq2k1w0zm6y9dcn4rjb7pf5lh3g2x1-web-assets-2.0")
    );
}

#[test]
fn a_running_manifest_or_in_toto_statement_is_compared_artifact_by_artifact() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    p.write(
        "running.json",
        manifest(&json!({"web": {"image": image(WEB_OLD, &[])}})),
    );
    let o = verify(&p, "running.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["deployed-mismatch:error"]);

    // The same through in-toto statements written by `snapshot --format in-toto`'s
    // code path, as BUILT and as RUNNING.
    let statement = |m: &str| {
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "web", "digest": {"sha256": "00"}}],
            "predicateType": "https://buildproof.dev/manifest/v1",
            "predicate": serde_json::from_str::<Value>(m).unwrap(),
        })
        .to_string()
    };
    p.write("built.intoto.json", statement(&manifest(&web_built())));
    p.write("running.intoto.json", statement(&manifest(&web_built())));
    let o = p.run(&[
        "verify",
        "built.intoto.json",
        "--running",
        "running.intoto.json",
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
}

#[test]
fn unknown_running_state_is_exit_2_naming_the_formats() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    p.write("state.yaml", "apiVersion: v1\nkind: List\n");
    let o = verify(&p, "state.yaml");
    assert_bad_input(&o, "`state.yaml` is not a running state");
    let err = stderr(&o);
    for format in [
        "buildproof manifest",
        "Kubernetes JSON",
        "ECS JSON",
        "Nix store paths",
    ] {
        assert!(err.contains(format), "{err}");
    }
    p.write("other.json", r#"{"hello": "world"}"#);
    assert_bad_input(&verify(&p, "other.json"), "Kubernetes JSON");
    assert_bad_input(&verify(&p, "missing.json"), "`missing.json`");
}

#[test]
fn malformed_running_state_is_exit_2_naming_the_problem() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    p.write(
        "pod.json",
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1"},
            "spec": {"containers": [{"name": "web"}]}}"#,
    );
    assert_bad_input(
        &verify(&p, "pod.json"),
        "container `web` of Pod/web-1 has no `image`",
    );
    p.write(
        "tasks.json",
        r#"{"tasks": [{"taskArn": "arn:aws:ecs:r:1:task/c/abc", "containers": [
            {"name": "web", "image": "web:1", "imageDigest": "sha256:nope"}]}]}"#,
    );
    assert_bad_input(
        &verify(&p, "tasks.json"),
        "`imageDigest` of container `web`",
    );
    p.write(
        "running.json",
        r#"{"schema": "buildproof.manifest/v9", "components": {}}"#,
    );
    assert_bad_input(&verify(&p, "running.json"), "buildproof.manifest/v9");
}

#[test]
fn findings_point_at_the_config_entry_and_accepts_apply() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    p.config("[[component]]\nname = \"web\"\ninputs = [\"web/**\"]\nimage = \"web.oci\"\n");
    let o = verify(&p, &fixture("kubernetes-pods-rolled-back.json"));
    assert_exit(&o, 1);
    let f = &findings(&o)[0];
    assert_eq!(f["details"]["location"]["line"], 2, "{f}");
    let fingerprint = f["fingerprint"].as_str().unwrap().to_owned();
    let second = findings(&o)[1]["fingerprint"].as_str().unwrap().to_owned();

    // GitHub annotations land on that entry.
    let o = p.run(&[
        "verify",
        "built.json",
        "--running",
        &fixture("kubernetes-pods-rolled-back.json"),
        "--format",
        "github",
    ]);
    assert!(
        stdout(&o).contains("::error file=buildproof.toml,line=2,title=deployed-mismatch (web)::"),
        "{}",
        stdout(&o)
    );

    let mut config = p.read("buildproof.toml");
    for fp in [fingerprint, second] {
        config.push_str(&format!(
            "\n[[accept]]\ncomponent = \"web\"\nrule = \"deployed-mismatch\"\nfingerprint = \"{fp}\"\nreason = \"canary rollback, INC-7\"\n"
        ));
    }
    p.config(&config);
    let o = verify(&p, &fixture("kubernetes-pods-rolled-back.json"));
    assert_exit(&o, 0);
    assert_eq!(
        rules_of(&o),
        ["deployed-mismatch:note", "deployed-mismatch:note"]
    );
}

// In-toto: `snapshot --format in-toto` writes a Statement v1 that `diff`, `check` and
// `verify` accept wherever they accept a manifest, also inside a DSSE envelope.

fn built_project() -> Project {
    let p = Project::new();
    p.config("[[component]]\nname = \"api\"\ninputs = [\"api/**\"]\noutputs = [\"result-api\"]\n")
        .write("api/main.go", "package main\n")
        .write("result-api", "binary v1\n");
    p
}

fn dsse(statement: &[u8]) -> String {
    use base64::Engine as _;
    json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64::engine::general_purpose::STANDARD.encode(statement),
        "signatures": [{"keyid": "", "sig": "MEUCIQDx"}],
    })
    .to_string()
}

#[test]
fn in_toto_statement_has_output_subjects_and_the_manifest_as_predicate() {
    let p = built_project();
    let o = p.run(&["snapshot", "-o", "manifest.json"]);
    assert_exit(&o, 0);
    let o = p.run(&["snapshot", "--format", "in-toto", "-o", "statement.json"]);
    assert_exit(&o, 0);
    let statement: Value = serde_json::from_str(&p.read("statement.json")).unwrap();
    let manifest: Value = serde_json::from_str(&p.read("manifest.json")).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["predicateType"],
        "https://buildproof.dev/manifest/v1"
    );
    let output = &manifest["components"]["api"]["outputs"][0];
    let expected_sha = output["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    assert_eq!(
        statement["subject"],
        json!([{"name": "api/result-api", "digest": {"sha256": expected_sha}}])
    );
    // The subject digest is the file's plain SHA-256, as `sha256sum` prints it.
    let sha = std::process::Command::new("sha256sum")
        .arg(p.join("result-api"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sha.stdout).starts_with(expected_sha));
    let mut predicate = statement["predicate"].clone();
    predicate["created"] = manifest["created"].clone();
    assert_eq!(predicate, manifest);
}

#[test]
fn diff_check_and_verify_accept_statements_and_dsse_envelopes() {
    let p = built_project();
    assert_exit(
        &p.run(&["snapshot", "--format", "in-toto", "-o", "base.intoto.json"]),
        0,
    );
    let statement = std::fs::read(p.join("base.intoto.json")).unwrap();
    p.write("base.dsse.json", dsse(&statement));

    // Sources change, the artifact does not: stale, whichever form BASE takes.
    p.write("api/main.go", "package main // fixed\n");
    assert_exit(
        &p.run(&["snapshot", "--format", "in-toto", "-o", "new.intoto.json"]),
        0,
    );
    for base in ["base.intoto.json", "base.dsse.json"] {
        let o = p.run(&["diff", base, "new.intoto.json", "--format", "json"]);
        assert_exit(&o, 1);
        assert_eq!(rules_of(&o), ["stale-artifact:error"], "{base}");
        let o = p.run(&["check", "--against", base, "--format", "json"]);
        assert_exit(&o, 1);
        assert_eq!(rules_of(&o), ["stale-artifact:error"], "{base}");
    }

    // What runs is the attested build: verify passes with either as RUNNING or BUILT.
    for (built, running) in [
        ("new.intoto.json", "new.intoto.json"),
        ("base.dsse.json", "base.intoto.json"),
        ("base.intoto.json", "base.dsse.json"),
    ] {
        let o = p.run(&["verify", built, "--running", running, "--format", "json"]);
        assert_exit(&o, 0);
    }
    // The artifact is rebuilt; the running system still has the old one.
    p.write("result-api", "binary v2\n");
    assert_exit(
        &p.run(&["snapshot", "--format", "in-toto", "-o", "new.intoto.json"]),
        0,
    );
    let o = p.run(&[
        "verify",
        "new.intoto.json",
        "--running",
        "base.dsse.json",
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["deployed-mismatch:error"]);
}

#[test]
fn statements_of_other_predicate_types_are_refused() {
    let p = built_project();
    p.write(
        "provenance.json",
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "x", "digest": {"sha256": "00"}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {}},
        })
        .to_string(),
    );
    let o = p.run(&["diff", "provenance.json", "provenance.json"]);
    assert_bad_input(&o, "predicate type `https://slsa.dev/provenance/v1`");
    p.write(
        "other.dsse.json",
        r#"{"payloadType": "text/plain", "payload": "aGk="}"#,
    );
    let o = p.run(&["verify", "other.dsse.json", "--running", "other.dsse.json"]);
    assert_bad_input(&o, "payload type \"text/plain\"");
}

#[test]
fn in_toto_image_subjects_are_named_by_repository_with_the_manifest_digest() {
    let m = manifest(&json!({
        "web": {"image": image(WEB, &["registry.example.com:5000/team/web:1.2"])},
        "api": {"image": image(API, &[])},
        "web2": {"image": image(WEB_OLD, &["registry.example.com:5000/team/web:1.1"])},
    }));
    let m = buildproof::load::manifest_from_json(m.as_bytes(), std::path::Path::new("m")).unwrap();
    let statement: Value =
        serde_json::from_slice(&buildproof::attest::statement(&m).unwrap()).unwrap();
    assert_eq!(
        statement["subject"],
        json!([
            {"name": "api/image", "digest": {"sha256": API.strip_prefix("sha256:").unwrap()}},
            {"name": "registry.example.com:5000/team/web",
             "digest": {"sha256": WEB.strip_prefix("sha256:").unwrap()}},
            {"name": "registry.example.com:5000/team/web#2",
             "digest": {"sha256": WEB_OLD.strip_prefix("sha256:").unwrap()}},
        ])
    );
}

#[test]
fn a_pod_status_settles_what_a_tagged_deployment_cannot() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let deployment: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("kubernetes-deployment-tag.json")).unwrap(),
    )
    .unwrap();
    let pods: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("kubernetes-pods.json")).unwrap())
            .unwrap();
    let mut items = vec![deployment];
    items.extend(pods["items"].as_array().unwrap().iter().cloned());
    p.write(
        "all.json",
        json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
    );
    let o = verify(&p, "all.json");
    assert_exit(&o, 0);
    assert!(rules_of(&o).is_empty(), "{}", stdout(&o));

    // Every format renders verify; SARIF stays schema-valid.
    for format in ["text", "sarif", "junit", "markdown", "github"] {
        let o = p.run(&[
            "verify",
            "built.json",
            "--running",
            &fixture("kubernetes-pods-rolled-back.json"),
            "--format",
            format,
        ]);
        assert_exit(&o, 1);
        assert!(stdout(&o).contains(WEB_OLD), "{format}: {}", stdout(&o));
        if format == "sarif" {
            crate::reports::validate_sarif(&serde_json::from_slice(&o.stdout).unwrap());
        }
    }
}

// What runs nothing is not what runs: rollout history, finished and evicted Pods,
// finished Jobs, workloads scaled to zero, stopped ECS tasks.

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn messages(o: &std::process::Output) -> Vec<String> {
    findings(o)
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn rollout_history_and_finished_pods_and_jobs_are_not_taken_for_running() {
    let p = Project::new();
    p.write(
        "built.json",
        manifest(&json!({
            "web": {"image": image(WEB, &["registry.example.com/web:1.2"])},
            "api": {"image": image(API, &[]), "deploy": "api-server"},
        })),
    );
    // The old ReplicaSet (scaled to zero), an evicted Pod and a finished migration Job
    // and its Pod all name the older digest; only the current ReplicaSet's Pod runs.
    let o = verify(&p, &fixture("kubernetes-get-all.json"));
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["not-deployed:error"], "{}", stdout(&o));
    let f = &findings(&o)[0];
    assert_eq!(f["component"], "api");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("Deployment/api (scaled to zero replicas)")
            && message.contains("ReplicaSet/api-6b7c8d9e0 (scaled to zero replicas)"),
        "{message}"
    );

    // Without the running Pod and ReplicaSet, nothing runs `web`: not deployed, naming
    // the workloads that were read and why each runs nothing.
    let mut all = fixture_json("kubernetes-get-all.json");
    all["items"].as_array_mut().unwrap().retain(|item| {
        !matches!(
            item["metadata"]["name"].as_str().unwrap(),
            "web" | "web-7f9c6d5b8" | "web-7f9c6d5b8-h7tqz"
        )
    });
    p.write("history.json", all.to_string());
    let o = verify(&p, "history.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["not-deployed:error", "not-deployed:error"]);
    let web = messages(&o)[1].clone();
    for needle in [
        "no container in the kubernetes state runs an image of `registry.example.com/web`",
        "ReplicaSet/web-5c4b3a2d1 (scaled to zero replicas)",
        "Pod/web-5c4b3a2d1-x2k9p (phase `Failed`)",
        "Pod/web-migrate-29391840-5vq7d (phase `Succeeded`)",
        "Job/web-migrate-29391840 (finished (`Complete`))",
    ] {
        assert!(web.contains(needle), "{needle}: {web}");
    }
}

#[test]
fn a_scaled_down_replica_set_still_counts_while_its_pods_terminate() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let mut all = fixture_json("kubernetes-get-all.json");
    for item in all["items"].as_array_mut().unwrap() {
        if item["metadata"]["name"] == "web-5c4b3a2d1" {
            item["status"]["replicas"] = json!(1);
        }
    }
    p.write("rolling.json", all.to_string());
    let o = verify(&p, "rolling.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["deployed-mismatch:error"], "{}", stdout(&o));
    assert!(messages(&o)[0].contains("ReplicaSet/web-5c4b3a2d1"));
}

#[test]
fn stopped_and_stopping_ecs_tasks_are_not_taken_for_running() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let o = verify(&p, &fixture("ecs-describe-tasks-stopped.json"));
    assert_exit(&o, 0);
    assert!(rules_of(&o).is_empty(), "{}", stdout(&o));

    let mut tasks = fixture_json("ecs-describe-tasks-stopped.json");
    tasks["tasks"].as_array_mut().unwrap().remove(0);
    p.write("stopped.json", tasks.to_string());
    let o = verify(&p, "stopped.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["not-deployed:error"], "{}", stdout(&o));
    let message = &messages(&o)[0];
    assert!(
        message.contains("task 0f3e9c1d2b4a (task `STOPPED`)")
            && message.contains("task 5d6c7b8a9e0f (task stopping (desired status `STOPPED`))"),
        "{message}"
    );
}

// Typed lists (`PodList`, `DeploymentList`, …) from the API server, `kubectl get
// --raw` or a client library: their items carry no `kind`.

#[test]
fn typed_lists_whose_items_have_no_kind_are_read_as_that_kind() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    for (file, workload) in [
        ("kubernetes-raw-podlist.json", "Pod/web-5c4b3a2d1-q8w2n"),
        ("kubernetes-raw-deploymentlist.json", "Deployment/web"),
    ] {
        let o = verify(&p, &fixture(file));
        assert_exit(&o, 1);
        assert_eq!(rules_of(&o), ["deployed-mismatch:error"], "{file}");
        assert_eq!(findings(&o)[0]["details"]["running"], WEB_OLD, "{file}");
        assert!(
            messages(&o)[0].contains(workload),
            "{file}: {:?}",
            messages(&o)
        );
    }
    // The reviewer's shape: a ReplicaSetList and a minimal PodList.
    p.write(
        "rs.json",
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSetList", "items": [
            {"metadata": {"name": "web-1"}, "spec": {"replicas": 1, "template": {"spec": {
                "containers": [{"name": "web", "image": format!("registry.example.com/web@{WEB}")}]}}}}]})
        .to_string(),
    );
    let o = verify(&p, "rs.json");
    assert_exit(&o, 0);
    assert!(rules_of(&o).is_empty(), "{}", stdout(&o));
    p.write(
        "pods.json",
        json!({"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "web", "image": format!("registry.example.com/web:1.2@{WEB_OLD}")}]}}]})
        .to_string(),
    );
    let o = verify(&p, "pods.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["deployed-mismatch:error"]);
    assert!(messages(&o)[0].contains("Pod/p"), "{:?}", messages(&o));
}

#[test]
fn a_list_whose_items_cannot_be_understood_is_exit_2_naming_the_problem() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let pod = json!({"metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "web", "image": "web:1"}]}});
    for (state, problem) in [
        (
            json!({"apiVersion": "v1", "kind": "List", "items": [pod]}),
            "item 1 of the `List` has no `kind`",
        ),
        (
            json!({"apiVersion": "v1", "kind": "PodList", "items": ["p"]}),
            "item 1 of the `PodList` is not an object",
        ),
        (
            json!({"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "p"}}]}),
            "Pod `p` has no pod spec",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [
                {"metadata": {"name": "web"}, "spec": {"template": {"spec": {}}}}]}),
            "Deployment/web has no `containers`",
        ),
        (
            json!({"apiVersion": "v1", "kind": "Status", "status": "Failure",
                   "message": "pods is forbidden: User \"ci\" cannot list resource \"pods\"",
                   "reason": "Forbidden", "code": 403}),
            "pods is forbidden",
        ),
    ] {
        p.write("state.json", state.to_string());
        let o = verify(&p, "state.json");
        assert_bad_input(&o, problem);
        assert!(stderr(&o).contains("`state.json`"), "{}", stderr(&o));
    }
}

// A recorded name that is only a tag (an OCI layout's `ref.name`) is no repository.

#[test]
fn an_oci_ref_name_that_is_only_a_tag_is_not_a_repository() {
    let p = Project::new();
    // `docker.io/library/latest` is a real-looking Hub repository: a container running
    // it must not be taken for this build's image.
    p.write(
        "pod.json",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tool"},
               "spec": {"containers": [{"name": "tool", "image": format!("latest@{WEB_OLD}")}]}})
        .to_string(),
    );
    p.write(
        "built.json",
        manifest(&json!({"web": {"image": image(WEB, &["latest"])}})),
    );
    let o = verify(&p, "pod.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["not-deployed:error"], "{}", stdout(&o));
    let message = &messages(&o)[0];
    assert!(
        message.contains("only the tag `latest`")
            && message.contains("set `deploy = \"<container name>\"`"),
        "{message}"
    );
    assert!(!message.contains("docker.io/library/latest"), "{message}");

    // With a `deploy` key it matches by container name; a repository recorded beside
    // the tag still matches by repository.
    p.write(
        "built.json",
        manifest(&json!({"web": {"image": image(WEB, &["latest"]), "deploy": "web"}})),
    );
    assert_exit(&verify(&p, &fixture("kubernetes-pods.json")), 0);
    p.write(
        "built.json",
        manifest(&json!({"web": {"image": image(WEB, &["1.2", "registry.example.com/web:1.2"])}})),
    );
    let o = verify(&p, &fixture("kubernetes-pods.json"));
    assert_exit(&o, 0);
    assert!(rules_of(&o).is_empty(), "{}", stdout(&o));
}

/// A Pod waiting to pull its image runs nothing of it, even when its spec pins the
/// built digest; one that pulled it and crash-loops does run it.
#[test]
fn a_pod_that_never_pulled_its_image_is_not_running_it() {
    let p = Project::new();
    p.write("built.json", manifest(&web_built()));
    let pod = |image_id: &str, reason: &str| {
        json!({"apiVersion": "v1", "kind": "List", "items": [{
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1"},
            "spec": {"containers": [{"name": "web", "image": format!("registry.example.com/web@{WEB}")}]},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "web", "image": format!("registry.example.com/web@{WEB}"),
                "imageID": image_id, "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": reason}}}]}}]})
        .to_string()
    };
    p.write("pulling.json", pod("", "ImagePullBackOff"));
    let o = verify(&p, "pulling.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["not-deployed:error"], "{}", stdout(&o));
    assert!(
        findings(&o)[0]["message"]
            .as_str()
            .unwrap()
            .contains("ImagePullBackOff"),
        "{}",
        stdout(&o)
    );

    p.write(
        "crashing.json",
        pod(
            &format!("registry.example.com/web@{WEB}"),
            "CrashLoopBackOff",
        ),
    );
    let o = verify(&p, "crashing.json");
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));
}

/// A mixed project verifies each running state against the components it can show.
#[test]
fn component_selects_what_a_running_state_can_judge() {
    let p = Project::new();
    p.write(
        "built.json",
        manifest(&json!({
            "web": {"image": image(WEB, &["registry.example.com/web:1.2"])},
            "site": {"outputs": [{"path": "public", "kind": "directory", "digest": OUT, "size": 1}]},
        })),
    );
    let pods = fixture("kubernetes-pods.json");
    // Kubernetes shows containers: `site` (no image) cannot be shown there, which is
    // a note saying so (SPEC.md, `not-deployed`), not an error.
    let o = verify(&p, &pods);
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), ["not-deployed:note"], "{}", stdout(&o));
    let message = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(
            "`site` cannot be verified against this running state: it has no image, and kubernetes shows only containers"
        ),
        "{message}"
    );
    // A store path list shows store paths: neither component can be shown there.
    p.write(
        "closure.txt",
        "/nix/store/0c2kcjc6zk9sbdxvq7wncxbxpigks7v1-hello-2.12\n",
    );
    let o = verify(&p, "closure.txt");
    assert_exit(&o, 0);
    assert_eq!(
        rules_of(&o),
        ["not-deployed:note", "not-deployed:note"],
        "{}",
        stdout(&o)
    );
    let o = p.run(&[
        "verify",
        "built.json",
        "--running",
        &pods,
        "--component",
        "web",
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));
    let o = p.run(&[
        "verify",
        "built.json",
        "--running",
        &pods,
        "--component",
        "nope",
    ]);
    assert_bad_input(&o, "`--component nope`: `built.json` has no such component");
}

/// A multi-platform image: the registry serves an index for the tag, and the Pod's
/// `imageID` is the index's digest. That is the built image, reached through its index.
#[test]
fn a_pod_reporting_the_index_digest_of_a_multi_platform_image_runs_the_built_image() {
    let index = "sha256:52cfa7641111111111111111111111111111111111111111111111111111aaaa";
    let p = Project::new();
    p.write(
        "built.json",
        manifest(&json!({"web": {"image": {
            "manifest_digest": WEB,
            "index_digests": [index],
            "names": ["registry.example.com/web:1.2"],
        }}})),
    );
    let pods = |image_id: &str| {
        json!({"apiVersion": "v1", "kind": "List", "items": [{
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1"},
            "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1.2"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "web", "image": "registry.example.com/web:1.2",
                "imageID": format!("registry.example.com/web@{image_id}"),
                "state": {"running": {}}}]}}]})
        .to_string()
    };
    p.write("index.json", pods(index));
    let o = verify(&p, "index.json");
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));
    p.write("other.json", pods(WEB_OLD));
    let o = verify(&p, "other.json");
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["deployed-mismatch:error"]);
}

/// `verify` says which release runs: the built one (its label and commit) for every
/// component found running its built artifacts, and which are not.
#[test]
fn verify_names_the_release_it_finds_running() {
    let p = Project::new();
    let mut built: Value = serde_json::from_str(&manifest(&web_built())).unwrap();
    built["label"] = json!("v2.4.0");
    built["git"] = json!({"commit": "e4f5a6b7".repeat(5), "dirty": false});
    p.write("built.json", built.to_string());
    let o = verify(&p, &fixture("kubernetes-pods.json"));
    assert_exit(&o, 0);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["running_release"], "v2.4.0 (e4f5a6b) runs: `web`");
    assert_eq!(report["releases"]["built"]["label"], "v2.4.0");
    let o = verify(&p, &fixture("kubernetes-pods-rolled-back.json"));
    assert_exit(&o, 1);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["running_release"],
        "not v2.4.0 (e4f5a6b): no component was verified to run as built"
    );
    // Against a running manifest, its release is named too.
    let mut running = built.clone();
    running["label"] = json!("v2.3.1");
    p.write("running.json", running.to_string());
    let o = p.run(&["verify", "built.json", "--running", "running.json"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).starts_with("releases: built: v2.4.0 (e4f5a6b); running: v2.3.1 (e4f5a6b)\n"),
        "{}",
        stdout(&o)
    );
}
