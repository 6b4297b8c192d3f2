//! Tests for the dockerfile capability: `dockerfile diff`, the `dockerfile` component
//! key through `snapshot`/`check`, and `.dockerignore` → `input-excluded`.

use std::path::PathBuf;

use crate::support::*;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/dockerfiles")
        .join(name)
        .display()
        .to_string()
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

/// A project with a `web` component built from `web/Dockerfile`, with an output so
/// no image has to exist.
fn web_project(dockerfile: &str) -> Project {
    let p = Project::new();
    p.config(
        "[[component]]\nname = \"web\"\ninputs = [\"web/**\"]\noutputs = [\"dist\"]\ndockerfile = \"web/Dockerfile\"\n",
    )
    .write("web/Dockerfile", dockerfile)
    .write("web/main.go", "package main\n")
    .write("dist/server", "binary v1");
    p
}

#[test]
fn dockerfile_diff_flags_changed_entrypoint_at_the_new_line() {
    let p = Project::new();
    p.write("old/Dockerfile", fixture_text("web-v1.Dockerfile"))
        .write("web/Dockerfile", fixture_text("web-v2.Dockerfile"));
    let o = p.run(&["dockerfile", "diff", "old/Dockerfile", "web/Dockerfile"]);
    assert_exit(&o, 1);
    let text = stdout(&o);
    assert!(
        text.contains(
            "error[startup-changed] web/Dockerfile: ENTRYPOINT changed from [\"/app/server\"] to [\"/app/server2\"] (web/Dockerfile:12); check the new command exists in the image and is intended; accept with a reason if so"
        ),
        "{text}"
    );
    assert!(text.contains("  --> web/Dockerfile:12"), "{text}");

    let o = p.run(&[
        "dockerfile",
        "diff",
        "old/Dockerfile",
        "web/Dockerfile",
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    assert_eq!(
        rules_of(&o),
        ["startup-changed:error", "env-changed:warning"]
    );
    let f = findings(&o);
    assert_eq!(f[0]["component"], "web/Dockerfile");
    assert_eq!(f[0]["details"]["location"]["file"], "web/Dockerfile");
    assert_eq!(f[0]["details"]["location"]["line"], 12);
    assert_eq!(f[0]["details"]["old"], "[\"/app/server\"]");
    assert_eq!(f[0]["details"]["new"], "[\"/app/server2\"]");
    assert_eq!(f[1]["details"]["location"]["line"], 10);
    assert_eq!(f[1]["details"]["variable"], "LOG_LEVEL");
}

#[test]
fn dockerfile_diff_same_startup_written_differently_passes() {
    // Lower-case keywords, a continuation inside the JSON array, comments, a heredoc
    // whose body contains an ENTRYPOINT line, and ONBUILD: none of it changes startup.
    let o = buildproof()
        .args([
            "dockerfile",
            "diff",
            &fixture("web-v1.Dockerfile"),
            &fixture("web-v1-reformatted.Dockerfile"),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));
}

#[test]
fn dockerfile_diff_env_change_alone_is_a_warning() {
    let p = Project::new();
    p.write("a", "FROM scratch\nENV MODE=prod\nENTRYPOINT [\"/app\"]\n")
        .write(
            "b",
            "FROM scratch\nENTRYPOINT [\"/app\"]\nENV MODE=dev EXTRA=1\n",
        );
    let o = p.run(&["dockerfile", "diff", "a", "b", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), ["env-changed:warning", "env-changed:warning"]);
}

#[test]
fn dockerfile_diff_follows_stage_inheritance() {
    // The final stage inherits ENTRYPOINT from an earlier stage; changing it there
    // changes the image's startup, and the finding points at that line.
    let p = Project::new();
    p.write(
        "a",
        "FROM alpine AS base\nENTRYPOINT [\"/srv/run\"]\nFROM base\nRUN true\n",
    )
    .write(
        "b",
        "FROM alpine AS base\nENTRYPOINT [\"/srv/run\", \"--debug\"]\nFROM base\nRUN true\n",
    );
    let o = p.run(&["dockerfile", "diff", "a", "b", "--format", "json"]);
    assert_exit(&o, 1);
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{}", stdout(&o));
    assert_eq!(f[0]["details"]["field"], "ENTRYPOINT");
    assert_eq!(f[0]["details"]["location"]["line"], 2);
}

#[test]
fn dockerfile_diff_unknown_instruction_is_exit_2_naming_file_and_line() {
    let o = buildproof()
        .args([
            "dockerfile",
            "diff",
            &fixture("web-v1.Dockerfile"),
            &fixture("invalid.Dockerfile"),
        ])
        .output()
        .unwrap();
    assert_bad_input(
        &o,
        "invalid.Dockerfile` at line 3: unknown instruction `ENTRYPOIN`",
    );
}

#[test]
fn dockerfile_diff_missing_file_is_exit_2() {
    let p = Project::new();
    p.write("a", "FROM scratch\n");
    let o = p.run(&["dockerfile", "diff", "a", "nope/Dockerfile"]);
    assert_bad_input(&o, "cannot read Dockerfile `nope/Dockerfile`");
}

#[test]
fn dockerfile_diff_binary_garbage_is_exit_2_not_a_panic() {
    let p = Project::new();
    p.write("a", "FROM scratch\n")
        .write("b", [0xff_u8, 0xfe, 0x00, 0x46, 0x52])
        .write("c", "FROM a\nRUN <<EOF\nnever ends\n");
    assert_bad_input(&p.run(&["dockerfile", "diff", "a", "b"]), "not UTF-8");
    assert_bad_input(
        &p.run(&["dockerfile", "diff", "a", "c"]),
        "`c` at line 2: heredoc `<<EOF` is never terminated",
    );
}

#[test]
fn snapshot_records_final_stage_startup_with_lines() {
    let p = web_project(&fixture_text("web-v1.Dockerfile"));
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &m["components"]["web"]["dockerfile"];
    assert_eq!(d["path"], "web/Dockerfile");
    assert_eq!(d["stage"]["name"], "runtime");
    assert_eq!(d["stage"]["base"], "scratch");
    assert_eq!(d["stage"]["line"], 8);
    assert!(d["stage"].get("base_image").is_none(), "{d}");
    assert_eq!(d["startup"]["entrypoint"]["value"], "[\"/app/server\"]");
    assert_eq!(d["startup"]["entrypoint"]["line"], 12);
    assert_eq!(d["startup"]["user"]["value"], "1000");
    assert_eq!(d["startup"]["env"]["PORT"]["value"], "8080");
    assert_eq!(d["startup"]["expose"][0]["value"], "8080/tcp");
}

#[test]
fn snapshot_says_when_the_base_image_decides() {
    let p = web_project("FROM node:20-alpine\nCMD [\"node\", \"server.js\"]\n");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &m["components"]["web"]["dockerfile"];
    assert_eq!(d["stage"]["base_image"], "node:20-alpine");
    assert!(d["startup"].get("entrypoint").is_none(), "{d}");
}

#[test]
fn check_flags_startup_change_before_any_image_exists() {
    let p = web_project(&fixture_text("web-v1.Dockerfile"));
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    // The pull request: a new binary name, and the output rebuilt.
    p.write("web/Dockerfile", fixture_text("web-v2.Dockerfile"))
        .write("dist/server", "binary v2");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(
        rules_of(&o),
        ["startup-changed:error", "env-changed:warning"]
    );
    let f = findings(&o);
    assert_eq!(f[0]["component"], "web");
    assert!(
        f[0]["message"].as_str().unwrap().starts_with(
            "ENTRYPOINT changed from [\"/app/server\"] to [\"/app/server2\"] (web/Dockerfile:12)"
        ),
        "{}",
        f[0]["message"]
    );
    assert_eq!(f[0]["details"]["location"]["file"], "web/Dockerfile");
    assert_eq!(f[0]["details"]["location"]["line"], 12);
}

#[test]
fn accepted_startup_change_is_a_note() {
    let p = web_project(&fixture_text("web-v1.Dockerfile"));
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p.write("web/Dockerfile", fixture_text("web-v2.Dockerfile"))
        .write("dist/server", "binary v2");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    let fingerprint = findings(&o)[0]["fingerprint"].as_str().unwrap().to_owned();
    let config = format!(
        "{}\n[[accept]]\ncomponent = \"web\"\nrule = \"startup-changed\"\nfingerprint = \"{fingerprint}\"\nreason = \"renamed binary, reviewed\"\n",
        p.read("buildproof.toml")
    );
    p.config(&config);
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(
        rules_of(&o),
        ["env-changed:warning", "startup-changed:note"]
    );
}

#[test]
fn input_excluded_by_dockerignore_names_pattern_and_line() {
    let p = web_project("FROM scratch\nCOPY . /app\nENTRYPOINT [\"/app/server\"]\n");
    p.write(
        "web/.dockerignore",
        "# keep the context small\n*.md\nconfig/\n!config/keep.toml\n",
    )
    .write("web/config/app.toml", "port = 80\n")
    .write("web/config/keep.toml", "kept = true\n")
    .write("web/README.md", "# web\n");
    let o = p.run(&["snapshot", "-o", "m.json"]);
    assert_exit(&o, 0);
    let o = p.run(&["diff", "m.json", "m.json", "--format", "json"]);
    assert_exit(&o, 0);
    let f = findings(&o);
    let got: Vec<(String, String, String, u64)> = f
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["details"]["input"].as_str().unwrap().to_owned(),
                f["details"]["location"]["file"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                f["details"]["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "input-excluded".to_owned(),
                "web/README.md".to_owned(),
                "web/.dockerignore".to_owned(),
                2
            ),
            (
                "input-excluded".to_owned(),
                "web/config/app.toml".to_owned(),
                "web/.dockerignore".to_owned(),
                3
            ),
        ]
    );
    assert!(
        f[1]["message"]
            .as_str()
            .unwrap()
            .contains("input `web/config/app.toml` cannot reach the build of `web/Dockerfile`: pattern `config/` (web/.dockerignore:3) excludes it"),
        "{}",
        f[1]["message"]
    );
}

#[test]
fn dockerfile_specific_ignore_file_takes_precedence() {
    let p = web_project("FROM scratch\nCOPY . /app\n");
    p.write("web/.dockerignore", "*.go\n")
        .write(
            "web/Dockerfile.dockerignore",
            "# only this one applies\nnotes.txt\n",
        )
        .write("web/notes.txt", "x\n");
    assert_exit(&p.run(&["snapshot", "-o", "m.json"]), 0);
    let o = p.run(&["diff", "m.json", "m.json", "--format", "json"]);
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{}", stdout(&o));
    assert_eq!(f[0]["details"]["input"], "web/notes.txt");
    assert_eq!(
        f[0]["details"]["location"]["file"],
        "web/Dockerfile.dockerignore"
    );
    assert_eq!(f[0]["details"]["location"]["line"], 2);
}

#[test]
fn input_outside_the_build_context_is_excluded() {
    let p = Project::new();
    p.config(
        "[[component]]\nname = \"web\"\ninputs = [\"web/**\", \"go.mod\"]\noutputs = [\"dist\"]\ndockerfile = \"web/Dockerfile\"\n",
    )
    .write("web/Dockerfile", "FROM scratch\nCOPY . /app\n")
    .write("go.mod", "module x\n")
    .write("dist/server", "v1");
    assert_exit(&p.run(&["snapshot", "-o", "m.json"]), 0);
    let o = p.run(&["diff", "m.json", "m.json", "--format", "json"]);
    assert_exit(&o, 0);
    let f = findings(&o);
    assert_eq!(rules_of(&o), ["input-excluded:warning"]);
    assert_eq!(f[0]["details"]["input"], "go.mod");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("outside the build context `web/`"),
        "{}",
        f[0]["message"]
    );
    // The fix is in the component's inputs: the location is its config entry.
    assert!(
        f[0]["details"]["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("buildproof.toml")
    );
}

#[test]
fn snapshot_with_broken_dockerfile_is_exit_2_naming_component_file_and_line() {
    let p = web_project("FROM scratch\nENTRYPOINT [\"/app\"]\nCMD --help\n");
    let o = p.run(&["snapshot"]);
    assert_bad_input(
        &o,
        "cannot parse Dockerfile `web/Dockerfile` at line 3: unknown flag `--help` on CMD",
    );
    assert!(stderr(&o).contains("component `web`"), "{}", stderr(&o));
}

#[test]
fn snapshot_with_bad_dockerignore_is_exit_2() {
    let p = web_project("FROM scratch\n");
    p.write("web/.dockerignore", "ok\n[unclosed\n");
    let o = p.run(&["snapshot"]);
    assert_bad_input(&o, "cannot parse `web/.dockerignore` at line 2");
}

/// What buildproof reads from `agree.Dockerfile` must equal the config buildah
/// writes when it builds that file (docker format, which keeps HEALTHCHECK). The
/// fixture is `FROM scratch`, so nothing is fetched.
#[test]
fn parser_agrees_with_buildah() {
    if !require_tool("buildah") {
        return;
    }
    let p = Project::new();
    p.write("Dockerfile", fixture_text("agree.Dockerfile"));
    let tag = format!("localhost/buildproof-agree-{}", std::process::id());
    let built = std::process::Command::new("buildah")
        .args(["bud", "-q", "--format", "docker", "-t", &tag])
        .arg(p.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "buildah bud: {}", stderr(&built));
    let inspect = std::process::Command::new("buildah")
        .args(["inspect", "--type", "image", &tag])
        .output()
        .unwrap();
    let _ = std::process::Command::new("buildah")
        .args(["rmi", &tag])
        .output();
    assert!(
        inspect.status.success(),
        "buildah inspect: {}",
        stderr(&inspect)
    );
    let image: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let config = &image["Docker"]["config"];

    let o = p.run(&[
        "dockerfile",
        "diff",
        "Dockerfile",
        "Dockerfile",
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ours = &report["new"];
    let json = |v: &serde_json::Value| serde_json::to_string(v).unwrap();
    assert_eq!(
        ours["entrypoint"].as_str().unwrap(),
        json(&config["Entrypoint"])
    );
    assert_eq!(ours["cmd"].as_str().unwrap(), json(&config["Cmd"]));
    assert_eq!(ours["user"], config["User"]);
    assert_eq!(ours["workdir"], config["WorkingDir"]);
    assert_eq!(ours["stopsignal"], config["StopSignal"]);
    let healthcheck = ours["healthcheck"].as_str().unwrap();
    let (test, options) = healthcheck.split_once(" --").unwrap_or((healthcheck, ""));
    assert_eq!(test, json(&config["Healthcheck"]["Test"]));
    // The options as buildah's Go reads them: nanoseconds, and retries.
    let mut theirs = Vec::new();
    for (key, name) in [
        ("Interval", "interval"),
        ("Timeout", "timeout"),
        ("StartPeriod", "start-period"),
        ("StartInterval", "start-interval"),
    ] {
        if let Some(ns) = config["Healthcheck"][key].as_i64().filter(|ns| *ns != 0) {
            theirs.push(format!("{name}={ns}"));
        }
    }
    theirs.push(format!("retries={}", config["Healthcheck"]["Retries"]));
    let ours_ns: Vec<String> = options
        .split(" --")
        .map(|o| {
            let (name, value) = o.split_once('=').unwrap();
            if name == "retries" {
                return o.to_owned();
            }
            let ns = buildproof::dockerfile::duration::parse(value).unwrap();
            format!("{name}={ns}")
        })
        .collect();
    assert_eq!(ours_ns, theirs, "{healthcheck}");

    // Env, ports and volumes from the manifest record.
    p.config(
        "[[component]]\nname = \"app\"\ninputs = [\"Dockerfile\"]\noutputs = [\"Dockerfile\"]\ndockerfile = \"Dockerfile\"\n",
    );
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let startup = &m["components"]["app"]["dockerfile"]["startup"];
    let mut env: Vec<String> = startup["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={}", v["value"].as_str().unwrap()))
        .collect();
    let mut theirs: Vec<String> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    env.sort();
    theirs.sort();
    assert_eq!(env, theirs);
    let ports: Vec<&str> = startup["expose"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["value"].as_str().unwrap())
        .collect();
    let their_ports: Vec<&str> = config["ExposedPorts"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ports, their_ports);
    assert_eq!(startup["volumes"][0]["value"], "/data");
    assert!(config["Volumes"].get("/data").is_some());
}

#[test]
fn snapshot_with_missing_dockerfile_is_exit_2() {
    let p = web_project("FROM scratch\n");
    std::fs::remove_file(p.join("web/Dockerfile")).unwrap();
    let o = p.run(&["snapshot"]);
    assert_bad_input(&o, "cannot read Dockerfile `web/Dockerfile`");
}

#[test]
fn dockerfile_diff_same_healthcheck_durations_written_differently_pass() {
    // Docker stores `--interval=30s` and `--interval=0.5m` both as 30000000000 ns.
    let p = Project::new();
    p.write(
        "a",
        "FROM scratch\nHEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 CMD [\"/check\"]\n",
    )
    .write(
        "b",
        "FROM scratch\nHEALTHCHECK --retries=03 --start-period=1m30s --timeout=5000ms --interval=0.5m CMD [\"/check\"]\n",
    )
    .write(
        "c",
        "FROM scratch\nHEALTHCHECK --interval=31s --timeout=5s --start-period=90s --retries=3 CMD [\"/check\"]\n",
    );
    let o = p.run(&["dockerfile", "diff", "a", "b", "--format", "json"]);
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["new"]["healthcheck"],
        "[\"CMD\",\"/check\"] --interval=30s --timeout=5s --start-period=1m30s --retries=3"
    );
    // A real change is still one.
    let o = p.run(&["dockerfile", "diff", "a", "c", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["startup-changed:error"]);
}

/// The reviewer's file: `A` doubled 19 times to 512 KiB, then `copies` lines
/// `ENV Bi=$A`, then `tail`.
fn doubling(copies: usize, tail: &str) -> String {
    let mut text = "FROM scratch\nENV A=x\n".to_owned();
    text.push_str(&"ENV A=$A$A\n".repeat(19));
    for i in 0..copies {
        text.push_str(&format!("ENV B{i}=$A\n"));
    }
    text.push_str(tail);
    text
}

#[test]
fn dockerfile_diff_total_expansion_is_exit_2_naming_file_and_line() {
    // Each line stays under the 1 MiB bound on one value; together they held
    // gigabytes (1 GB RSS and 420 MB printed at 400 copies). Now the file is refused
    // at the line where the total passes 16 MiB.
    let p = Project::new();
    p.write("a", "FROM scratch\n")
        .write("big", doubling(40, ""));
    let o = p.run(&["dockerfile", "diff", "a", "big"]);
    assert_bad_input(
        &o,
        "cannot parse Dockerfile `big` at line 51: variable substitution grows the Dockerfile's values beyond 16 MiB in total",
    );
    assert!(o.stdout.is_empty(), "{} bytes on stdout", o.stdout.len());
}

#[test]
fn dockerfile_diff_long_values_shown_short_but_compared_in_full() {
    // 512 KiB values that differ only in their last byte.
    let p = Project::new();
    p.write("a", doubling(2, "ENV C=${A}1\nCMD $A\n"))
        .write("b", doubling(2, "ENV C=${A}2\nCMD $A\n"));
    let o = p.run(&["dockerfile", "diff", "a", "b"]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(text.len() < 8192, "{} bytes of report", text.len());
    assert!(
        text.contains("warning[env-changed] b: ENV `C` changed from `xxxx"),
        "{text}"
    );
    assert_eq!(text.matches("\u{2026} (524289 bytes, sha256:").count(), 4);

    let o = p.run(&["dockerfile", "diff", "a", "b", "--format", "json"]);
    assert_exit(&o, 0);
    assert!(o.stdout.len() < 16384, "{} bytes of report", o.stdout.len());
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{}", stdout(&o));
    let (old, new) = (
        f[0]["details"]["old"].as_str().unwrap(),
        f[0]["details"]["new"].as_str().unwrap(),
    );
    assert_ne!(old, new);
    assert!(
        new.starts_with(&format!(
            "{}\u{2026} (524289 bytes, sha256:",
            "x".repeat(200)
        )),
        "{new}"
    );
}

#[test]
fn snapshot_records_long_values_shortened_with_digest() {
    let p = web_project(&doubling(0, "USER $A\n"));
    let o = p.run(&["snapshot", "-o", "base.json"]);
    assert_exit(&o, 0);
    let size = std::fs::metadata(p.join("base.json")).unwrap().len();
    assert!(size < 16384, "manifest of {size} bytes");
    let m: serde_json::Value = serde_json::from_str(&p.read("base.json")).unwrap();
    let startup = &m["components"]["web"]["dockerfile"]["startup"];
    let user = startup["user"]["value"].as_str().unwrap();
    assert!(user.contains("\u{2026} (524288 bytes, sha256:"), "{user}");
    assert_eq!(startup["env"]["A"]["value"], user);
    // Unchanged, it checks clean; one byte more at the end is a change.
    assert_exit(&p.run(&["check", "--against", "base.json"]), 0);
    p.write("web/Dockerfile", doubling(0, "USER ${A}x\n"))
        .write("dist/server", "binary v2");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["startup-changed:error"]);
}

#[test]
fn dockerfile_diff_of_a_fifo_directory_or_huge_file_is_exit_2_not_a_hang() {
    let p = Project::new();
    p.write("a", "FROM scratch\n").write("dir/x", "");
    p.fifo("pipe");
    std::fs::File::create(p.join("huge"))
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    for (args, needle) in [
        (["a", "pipe"], "cannot read Dockerfile `pipe`: it is a FIFO"),
        (["pipe", "a"], "cannot read Dockerfile `pipe`: it is a FIFO"),
        (
            ["a", "dir"],
            "cannot read Dockerfile `dir`: it is a directory",
        ),
        (
            ["a", "huge"],
            "cannot read Dockerfile `huge`: larger than 16 MiB",
        ),
    ] {
        // Opening a FIFO for reading blocks until a writer appears: a timeout here
        // would mean it was opened.
        let o = buildproof()
            .current_dir(p.path())
            .args(["dockerfile", "diff"])
            .args(args)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_bad_input(&o, needle);
    }
}

#[test]
fn snapshot_with_a_fifo_dockerignore_is_exit_2_not_a_hang() {
    let p = web_project("FROM scratch\n");
    p.fifo("web/.dockerignore");
    let o = p.run_bounded(&["snapshot"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("FIFO") && !stderr(&o).contains("panicked"),
        "{}",
        stderr(&o)
    );
}

/// `STOPSIGNAL SIGTERM` and `STOPSIGNAL 15` stop a container the same way; a USER that
/// became empty (an ARG out of scope) says so instead of printing nothing.
#[test]
fn dockerfile_diff_same_signal_spelled_differently_passes_and_empty_user_is_named() {
    let p = Project::new();
    p.write(
        "a.Dockerfile",
        "FROM scratch\nUSER 65534\nSTOPSIGNAL SIGTERM\nENTRYPOINT [\"/bin/busybox\"]\n",
    )
    .write(
        "b.Dockerfile",
        "ARG U=65534\nFROM scratch\nUSER 65534\nSTOPSIGNAL 15\nENTRYPOINT [\"/bin/busybox\"]\n",
    )
    .write(
        "c.Dockerfile",
        "ARG U=65534\nFROM scratch\nUSER $U\nSTOPSIGNAL 15\nENTRYPOINT [\"/bin/busybox\"]\n",
    );
    let o = p.run(&[
        "dockerfile",
        "diff",
        "a.Dockerfile",
        "b.Dockerfile",
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));

    let o = p.run(&[
        "dockerfile",
        "diff",
        "b.Dockerfile",
        "c.Dockerfile",
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    let message = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("USER changed from 65534 to \"\" (empty)"),
        "{message}"
    );
}
