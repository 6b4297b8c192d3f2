//! Core: config, snapshot, diff, check, nar-hash and the stale-artifact gate.

use std::time::Duration;

use crate::support::*;

const APP: &str = "[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"out\"]\n";

/// A project whose `app` component has one source and one built output, with a
/// snapshot of it in `base.json`.
fn built_app() -> Project {
    let p = Project::new();
    p.config(APP)
        .write("src/main.go", "package main\n")
        .write("src/util/strings.go", "package util\n")
        .write("out/bin/app", "binary v1")
        .mode("out/bin/app", 0o755);
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p
}

fn check_json(p: &Project) -> std::process::Output {
    p.run(&["check", "--against", "base.json", "--format", "json"])
}

#[test]
fn stale_artifact_when_source_changes_and_output_does_not() {
    let p = built_app();
    p.write("src/main.go", "package main // hotfix\n");
    let o = check_json(&p);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
    let f = &findings(&o)[0];
    assert_eq!(f["component"], "app");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("src/main.go (modified)"), "{msg}");
    assert!(msg.contains("`out` is still sha256:"), "{msg}");
    assert_eq!(f["details"]["changed_inputs"][0]["path"], "src/main.go");
    assert_eq!(f["details"]["location"]["file"], "buildproof.toml");
    assert_eq!(f["details"]["location"]["line"], 2);
    assert!(f["fingerprint"].as_str().unwrap().starts_with("sha256:"));

    // The text report says the same to a person.
    let o = p.run(&["check", "--against", "base.json"]);
    assert_exit(&o, 1);
    let text = stdout(&o);
    assert!(text.contains("error[stale-artifact] app"), "{text}");
    assert!(text.contains("modified src/main.go"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "colour when not on a terminal:\n{text}"
    );
}

#[test]
fn stale_artifact_lists_twenty_changed_files_then_a_count() {
    let p = built_app();
    for i in 0..25 {
        p.write(
            &format!("src/gen/f{i:02}.go"),
            format!("package gen // {i}\n"),
        );
    }
    let o = check_json(&p);
    assert_exit(&o, 1);
    let f = &findings(&o)[0];
    assert_eq!(f["details"]["changed_inputs"].as_array().unwrap().len(), 20);
    assert_eq!(f["details"]["changed_inputs_count"], 25);
    assert!(
        f["message"].as_str().unwrap().contains("22 more"),
        "{}",
        f["message"]
    );
}

#[test]
fn honest_rebuild_passes() {
    let p = built_app();
    p.write("src/main.go", "package main // hotfix\n")
        .write("out/bin/app", "binary v2");
    let o = check_json(&p);
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));
}

#[test]
fn unchanged_tree_passes() {
    let p = built_app();
    let o = check_json(&p);
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty());
}

#[test]
fn output_change_without_input_change_warns() {
    let p = built_app();
    p.write("out/bin/app", "binary rebuilt with a timestamp");
    let o = check_json(&p);
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), ["unexplained-change:warning"]);
    let f = &findings(&o)[0];
    assert_eq!(
        f["details"]["changed_output_files"][0]["path"],
        "out/bin/app"
    );
}

#[test]
fn accept_by_fingerprint_downgrades_to_note_and_expiry_reenables() {
    let p = built_app();
    p.write("src/main.go", "package main // comment only\n");
    let o = check_json(&p);
    let fingerprint = findings(&o)[0]["fingerprint"].as_str().unwrap().to_owned();

    let accept = |expires: &str| {
        format!(
            "{APP}\n[[accept]]\ncomponent = \"app\"\nrule = \"stale-artifact\"\nfingerprint = \"{fingerprint}\"\nreason = \"comment-only change, binary identical by design\"\nexpires = \"{expires}\"\n"
        )
    };
    p.config(&accept("2999-12-31"));
    let o = check_json(&p);
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), ["stale-artifact:note"]);
    let f = &findings(&o)[0];
    assert_eq!(
        f["details"]["accepted"]["reason"],
        "comment-only change, binary identical by design"
    );

    p.config(&accept("2000-01-01"));
    let o = check_json(&p);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
    let f = &findings(&o)[0];
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("expired on 2000-01-01"),
        "{}",
        f["message"]
    );

    // An accept pins *this* change: a further source change is a new finding.
    p.config(&accept("2999-12-31"));
    p.write("src/main.go", "package main // another comment\n");
    let o = check_json(&p);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
}

#[test]
fn snapshots_of_the_same_tree_are_byte_identical_but_for_created() {
    let p = built_app();
    p.symlink("main.go", "src/link.go");
    assert_exit(&p.run(&["snapshot", "-o", "a.json"]), 0);
    std::thread::sleep(Duration::from_millis(1100));
    assert_exit(&p.run(&["snapshot", "-o", "b.json"]), 0);
    let strip = |s: String| {
        s.lines()
            .filter(|l| !l.trim_start().starts_with("\"created\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (a, b) = (p.read("a.json"), p.read("b.json"));
    assert_ne!(a, b, "created should differ");
    assert_eq!(strip(a), strip(b));
}

#[test]
fn component_added_and_removed() {
    let p = built_app();
    p.config(&APP.replace("\"app\"", "\"app2\""));
    let o = check_json(&p);
    assert_exit(&o, 0);
    assert_eq!(
        rules_of(&o),
        ["component-removed:warning", "component-added:note"]
    );
}

#[test]
fn unmatched_pattern_warns() {
    let p = built_app();
    p.config(&APP.replace("[\"src/**\"]", "[\"src/**\", \"vendor/**/*.go\"]"));
    let o = check_json(&p);
    // The input digest is the same (same files), so only the pattern warning.
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), ["unmatched-pattern:warning"]);
    assert!(
        findings(&o)[0]["message"]
            .as_str()
            .unwrap()
            .contains("vendor/**/*.go")
    );
}

#[test]
fn diff_of_two_manifests_and_write_manifest() {
    let p = built_app();
    p.write("src/main.go", "package main // hotfix\n");
    let o = p.run(&[
        "check",
        "--against",
        "base.json",
        "--write-manifest",
        "new.json",
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    let o = p.run(&[
        "diff",
        "base.json",
        "new.json",
        "--format",
        "json",
        "--output",
        "report.json",
    ]);
    assert_exit(&o, 1);
    assert!(o.stdout.is_empty());
    let report: serde_json::Value = serde_json::from_str(&p.read("report.json")).unwrap();
    assert_eq!(report["schema"], "buildproof.report/v1");
    assert_eq!(report["summary"]["errors"], 1);
    assert_eq!(report["findings"][0]["rule"], "stale-artifact");
}

#[test]
fn globs_excludes_and_symlinks_in_inputs() {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**/*.go\", \"go.mod\"]\nexclude = [\"**/*_test.go\"]\noutputs = [\"out\"]\n")
        .write("go.mod", "module x\n")
        .write("src/a.go", "a")
        .write("src/deep/er/b.go", "b")
        .write("src/deep/b_test.go", "t")
        .write("src/notes.txt", "n")
        .write("out", "o")
        .symlink("/etc/passwd", "src/escape.go");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let files = m["components"]["app"]["inputs"]["files"]
        .as_array()
        .unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["go.mod", "src/a.go", "src/deep/er/b.go", "src/escape.go"]
    );
    // The symlink is recorded by its target text, never followed out of the tree.
    let link = &files[3];
    assert_eq!(link["kind"], "symlink");
    assert_eq!(link["size"], "/etc/passwd".len());
    assert_eq!(m["schema"], "buildproof.manifest/v1");
}

#[test]
fn gitignore_applies_inside_a_git_work_tree_only() {
    let p = Project::new();
    p.config(APP)
        .write("src/main.go", "package main\n")
        .write("src/debug.log", "noise")
        .write(".gitignore", "*.log\n")
        .write("out", "o");
    let paths = |p: &Project| {
        let o = p.run(&["snapshot"]);
        assert_exit(&o, 0);
        let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        m["components"]["app"]["inputs"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&p), ["src/debug.log", "src/main.go"]);
    let git = std::process::Command::new("git")
        .arg("init")
        .arg("-q")
        .current_dir(p.path())
        .status();
    if git.is_ok_and(|s| s.success()) {
        assert_eq!(paths(&p), ["src/main.go"]);
    }
}

#[test]
fn non_utf8_names_are_recorded_escaped() {
    use std::os::unix::ffi::OsStrExt as _;
    let p = Project::new();
    p.config(APP).write("out", "o");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(p.join("src").join(name), "x").unwrap();
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        m["components"]["app"]["inputs"]["files"][0]["path"],
        "src/caf\\xe9.txt"
    );
}

// ---- Bad input: exit 2, one clear line, no partial output file ----

#[test]
fn no_config_is_exit_2() {
    let p = Project::new();
    let o = p.run(&["snapshot"]);
    assert_bad_input(&o, "no `buildproof.toml`");
}

#[test]
fn toml_syntax_error_is_exit_2_with_line() {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\ninputs = []\n");
    let o = p.run(&["snapshot", "-o", "m.json"]);
    assert_bad_input(&o, "buildproof.toml:2: invalid TOML");
    assert!(!p.join("m.json").exists());
}

#[test]
fn unknown_key_is_exit_2_with_its_line() {
    let p = Project::new();
    p.config(&format!("{APP}outptus = [\"x\"]\n"))
        .write("src/a", "a")
        .write("out", "o");
    let o = p.run(&["snapshot"]);
    assert_bad_input(&o, "buildproof.toml:5: unknown key `outptus`");
}

#[test]
fn duplicate_component_is_exit_2() {
    let p = Project::new();
    p.config(&format!("{APP}{APP}"))
        .write("src/a", "a")
        .write("out", "o");
    let o = p.run(&["snapshot"]);
    assert_bad_input(&o, "buildproof.toml:6: duplicate component name `app`");
}

#[test]
fn several_config_problems_are_reported_together() {
    let p = Project::new();
    p.config("[[component]]\nname = \"App\"\ninputs = [\"a\"]\n\n[[component]]\nname = \"b\"\ninputs = [\"b\"]\noutputs = [\"o\"]\ncolour = \"red\"\n");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("buildproof.toml:2: component name `App` is invalid"),
        "{err}"
    );
    assert!(
        err.contains("buildproof.toml:9: unknown key `colour`"),
        "{err}"
    );
}

#[test]
fn inputs_matching_nothing_is_exit_2() {
    let p = Project::new();
    p.config(APP).write("out", "o");
    let o = p.run(&["snapshot"]);
    assert_bad_input(&o, "match no file");
}

#[test]
fn missing_output_is_exit_2_saying_to_build_first() {
    let p = Project::new();
    p.config(APP).write("src/a.go", "a");
    let o = p.run(&["snapshot", "-o", "m.json"]);
    assert_bad_input(&o, "output `out` does not exist; run the build first");
    assert!(!p.join("m.json").exists());
}

#[test]
fn malformed_manifest_is_exit_2() {
    let p = built_app();
    p.write(
        "base.json",
        "{\"schema\": \"buildproof.manifest/v1\", \"components\": 3",
    );
    let o = p.run(&["check", "--against", "base.json", "--output", "r.txt"]);
    assert_bad_input(&o, "`base.json` is not a buildproof manifest");
    assert!(!p.join("r.txt").exists());
}

#[test]
fn wrong_schema_version_is_exit_2() {
    let p = built_app();
    let m = p
        .read("base.json")
        .replace("buildproof.manifest/v1", "buildproof.manifest/v2");
    p.write("base.json", m);
    let o = p.run(&["diff", "base.json", "base.json"]);
    assert_bad_input(&o, "has schema `buildproof.manifest/v2`");
}

/// Refused by the type its directory entry gives (no stat cache: the walk states no
/// regular file) and by its `lstat` (a stat cache to compare with: the walk states
/// every file).
#[test]
fn fifo_among_inputs_is_exit_2_and_never_opened() {
    let p = Project::new();
    p.config(APP).write("src/a.go", "a").write("out", "o");
    p.fifo("src/pipe");
    let o = p.run_bounded(&["snapshot", "--no-cache"]);
    assert_bad_input(&o, "input `src/pipe` is a FIFO");
    std::fs::remove_file(p.join("src/pipe")).unwrap();
    let o = p.run(&["snapshot", "-o", "m.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    p.fifo("src/pipe");
    let o = p.run_bounded(&["snapshot", "--stats"]);
    assert_bad_input(&o, "input `src/pipe` is a FIFO");
}

#[test]
fn unreadable_input_is_exit_2_naming_it() {
    let p = Project::new();
    p.config(APP)
        .write("src/a.go", "a")
        .write("src/secret.go", "s")
        .write("out", "o");
    p.mode("src/secret.go", 0o000);
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let o = if is_root {
        // Root reads anything; drop to `nobody` so the permission bits count.
        if !require_tool("setpriv") {
            return;
        }
        for d in [p.path().to_path_buf(), p.join("src")] {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        for f in ["buildproof.toml", "src/a.go", "out"] {
            p.mode(f, 0o644);
        }
        let bin = assert_cmd::cargo::cargo_bin("buildproof");
        std::process::Command::new("setpriv")
            .env("XDG_CACHE_HOME", cache_home())
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin)
            .arg("snapshot")
            .current_dir(p.path())
            .output()
            .unwrap()
    } else {
        p.run(&["snapshot"])
    };
    assert_bad_input(&o, "cannot read `src/secret.go`: Permission denied");
}

#[test]
fn usage_errors_are_exit_2() {
    let o = buildproof().args(["check"]).output().unwrap();
    assert_exit(&o, 2);
    let o = buildproof()
        .args(["diff", "a.json", "b.json", "--format", "yaml"])
        .output()
        .unwrap();
    assert_exit(&o, 2);
}

// ---- NAR hashes equal to Nix's ----

#[test]
fn nar_hash_equals_nix_hash_path_for_every_node_kind() {
    if !require_tool("nix") {
        return;
    }
    let p = Project::new();
    p.write("tree/regular.txt", "hello\n")
        .write("tree/bin/tool", "#!/bin/sh\necho hi\n")
        .mode("tree/bin/tool", 0o755)
        .write("tree/empty", "")
        .write("tree/a/b/c/d/nested.txt", "deep")
        .write("tree/unicode ünï cødé/with space.txt", "names")
        .symlink("../regular.txt", "tree/a/relative-link")
        .symlink("/etc/hostname", "tree/absolute-link")
        .symlink("does/not/exist", "tree/dangling-link");
    std::fs::create_dir_all(p.join("tree/empty-dir")).unwrap();
    let big: Vec<u8> = (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    p.write("tree/big.bin", big);
    p.write("single-file", "just a file\n");
    p.symlink("tree", "top-link");

    for target in ["tree", "single-file", "top-link", "tree/empty-dir"] {
        for (ours, theirs) in [
            (vec![], vec![]),
            (vec!["--base16"], vec!["--base16"]),
            (vec!["--base32"], vec!["--base32"]),
        ] {
            let nix = std::process::Command::new("nix")
                .args([
                    "--extra-experimental-features",
                    "nix-command",
                    "hash",
                    "path",
                ])
                .args(&theirs)
                .arg(target)
                .current_dir(p.path())
                .output()
                .unwrap();
            assert!(
                nix.status.success(),
                "nix hash path failed: {}",
                stderr(&nix)
            );
            let mut args = vec!["nar-hash"];
            args.extend(&ours);
            args.push(target);
            let o = p.run(&args);
            assert_exit(&o, 0);
            assert_eq!(stdout(&o), stdout(&nix), "{target} {ours:?}");
        }
    }
}

#[test]
fn nar_hash_of_a_fifo_is_exit_2() {
    let p = Project::new();
    std::fs::create_dir_all(p.join("d")).unwrap();
    p.fifo("d/pipe");
    let o = p.run(&["nar-hash", "d"]);
    assert_bad_input(&o, "cannot hash `d/pipe`: it is a FIFO");
    let o = p.run(&["nar-hash", "missing"]);
    assert_bad_input(&o, "cannot read `missing`");
}

/// The README's first command: the shipped demo shows a real stale artifact.
#[test]
fn shipped_demo_shows_the_stale_goinstance_and_the_changed_web_startup() {
    let o = demo_check_json();
    assert_exit(&o, 1);
    let f = findings(&o);
    assert_eq!(
        rules_of(&o),
        [
            "stale-artifact:error",
            "startup-changed:error",
            "startup-changed:error"
        ]
    );
    assert_eq!(f[0]["component"], "goinstance");
    assert_eq!(
        f[0]["details"]["changed_inputs"][0]["path"],
        "goinstance/main.go"
    );
    // The Dockerfile findings point at the instruction, where the user stands.
    assert_eq!(f[1]["component"], "web");
    assert_eq!(f[1]["details"]["field"], "ENTRYPOINT");
    assert_eq!(
        f[1]["details"]["location"]["file"],
        "testdata/demo/web/Dockerfile"
    );
    assert_eq!(f[1]["details"]["location"]["line"], 8);
    assert_eq!(f[2]["details"]["field"], "WORKDIR");
}

/// Colour only on a terminal, and never with `NO_COLOR` (<https://no-color.org>).
/// `script` gives the binary a pseudo-terminal as stdout.
#[test]
fn text_colour_only_on_a_terminal_and_never_with_no_color() {
    if !require_tool("script") {
        return;
    }
    let p = built_app();
    p.write("src/main.go", "package main // hotfix\n");
    let bin = assert_cmd::cargo::cargo_bin("buildproof");
    let on_tty = |no_color: Option<&str>| {
        let mut cmd = std::process::Command::new("script");
        cmd.env("XDG_CACHE_HOME", cache_home())
            .args(["-qec"])
            .arg(format!("{} check --against base.json", bin.display()))
            .arg("/dev/null")
            .current_dir(p.path())
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        stdout(&o)
    };
    assert!(on_tty(None).contains("\u{1b}["), "no colour on a terminal");
    assert!(
        !on_tty(Some("1")).contains("\u{1b}["),
        "colour despite NO_COLOR"
    );
}

// ---- Regressions found in review ----

#[test]
fn reordering_or_respelling_outputs_changes_nothing() {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"x\", \"y\"]\n")
        .write("src/a", "a")
        .write("x/f", "x")
        .write("y/f", "y");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"./y/\", \"x\"]\n");
    let o = check_json(&p);
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));
    // And a source change behind the reordered outputs is still a stale artifact.
    p.write("src/a", "changed");
    let o = check_json(&p);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
}

#[test]
fn a_single_star_stays_in_its_directory() {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/*\"]\noutputs = [\"out\"]\n")
        .write("src/a.go", "a")
        .write("src/sub/deep/c.go", "c")
        .write("out", "o");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let files = m["components"]["app"]["inputs"]["files"]
        .as_array()
        .unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["src/a.go"]);
}

#[test]
fn an_output_symlink_is_judged_by_what_it_names() {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"result\"]\n")
        .write("src/a", "a")
        .write("build/b", "b")
        .symlink("build", "result");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    // An honest rebuild behind an unchanged link is not a stale artifact.
    p.write("src/a", "a2").write("build/b", "b2");
    let o = check_json(&p);
    assert_exit(&o, 0);
    assert!(findings(&o).is_empty(), "{}", stdout(&o));
}

#[test]
fn a_tracked_file_is_an_input_even_when_gitignore_matches_it() {
    if !require_tool("git") {
        return;
    }
    let p = Project::new();
    p.config(APP)
        .write("src/main.go", "package main\n")
        .write("src/gen.pb.go", "generated v1\n")
        .write(".gitignore", "*.pb.go\n")
        .write("out", "o");
    let git = |args: &[&str]| {
        let s = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(p.path())
            .output()
            .unwrap();
        assert!(s.status.success(), "git {args:?}: {}", stderr(&s));
    };
    git(&["init", "-q"]);
    git(&["add", "-f", "src/gen.pb.go"]);
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p.write("src/gen.pb.go", "generated v2\n");
    let o = check_json(&p);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
    assert_eq!(
        findings(&o)[0]["details"]["changed_inputs"][0]["path"],
        "src/gen.pb.go"
    );
}

#[test]
fn file_names_cannot_inject_lines_into_text_reports() {
    let p = built_app();
    p.write("src/x\n::error title=pwned::injected", "x");
    let o = p.run(&["check", "--against", "base.json"]);
    assert_exit(&o, 1);
    let text = stdout(&o);
    assert!(!text.lines().any(|l| l.starts_with("::")), "{text}");
    assert!(text.contains("src/x\\n::error"), "{text}");
}

#[test]
fn a_manifest_with_an_invalid_component_name_is_exit_2() {
    let p = built_app();
    let m = p
        .read("base.json")
        .replace("\"app\"", "\"Bad Name\\n::error::x\"");
    p.write("evil.json", m);
    let o = p.run(&["diff", "base.json", "evil.json"]);
    assert_bad_input(
        &o,
        "`evil.json` is not a buildproof manifest: component name",
    );
}

#[test]
fn a_fifo_where_a_file_is_expected_is_exit_2_not_a_hang() {
    let p = built_app();
    p.fifo("pipe");
    for args in [
        vec!["diff", "pipe", "base.json"],
        vec!["snapshot", "-c", "pipe"],
        vec!["verify", "base.json", "--running", "pipe"],
        vec!["image", "inspect", "pipe"],
        vec!["dockerfile", "diff", "pipe", "pipe"],
    ] {
        let o = p.run_bounded(&args);
        assert_bad_input(&o, "pipe");
        assert!(stderr(&o).contains("FIFO"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn manifest_and_report_to_the_same_file_is_exit_2() {
    let p = built_app();
    let o = p.run(&[
        "check",
        "--against",
        "base.json",
        "--write-manifest",
        "r.json",
        "--output",
        "r.json",
    ]);
    assert_bad_input(
        &o,
        "`r.json` is named twice (by `--write-manifest` and by the text report)",
    );
    // Spelled differently, still one file; and a `--report` is an output too.
    for extra in [
        &["--output", "./sub/../r.json"][..],
        &["--report", "json=r.json"][..],
    ] {
        let o = p.run(
            &[
                &[
                    "check",
                    "--against",
                    "base.json",
                    "--write-manifest",
                    "r.json",
                ][..],
                extra,
            ]
            .concat(),
        );
        assert_bad_input(&o, "`");
        assert!(stderr(&o).contains("is named twice"), "{}", stderr(&o));
    }
    assert!(!p.join("r.json").exists(), "nothing may be written");
}

#[test]
fn duplicate_outputs_and_empty_values_are_config_errors() {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"out\", \"./out/\"]\ndeploy = \"\"\n")
        .write("src/a", "a")
        .write("out", "o");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("declares output `out` twice"), "{err}");
    assert!(err.contains("empty `deploy` value"), "{err}");
}

#[test]
fn os_errors_are_not_repeated() {
    let o = buildproof()
        .args(["diff", "nonexistent.json", "b.json"])
        .output()
        .unwrap();
    assert_bad_input(&o, "cannot read manifest `nonexistent.json`");
    assert_eq!(
        stderr(&o).matches("No such file").count(),
        1,
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_dangling_output_link_says_what_it_points_at() {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"result\"]\n")
        .write("src/a", "a")
        .symlink("/nix/store/00000000000000000000000000000000-gone", "result");
    let o = p.run(&["snapshot"]);
    assert_bad_input(
        &o,
        "output `result` is a link to `/nix/store/00000000000000000000000000000000-gone`, which does not exist",
    );
}

/// A manifest records where it came from: the commit of the work tree holding the
/// config and whether the tree was dirty, and `--label`; outside a work tree there is
/// no commit. Reports show both releases in their header.
#[test]
fn snapshots_record_their_git_commit_and_label() {
    if !require_tool("git") {
        return;
    }
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"out\"]\n")
        .write("src/a.c", "int main;\n")
        .write("out", "binary\n");
    // Not a work tree: no commit recorded.
    let o = p.run(&["snapshot", "--label", "v1.0.0"]);
    assert_exit(&o, 0);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["label"], "v1.0.0");
    assert!(m.get("git").is_none(), "{m}");

    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .current_dir(p.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(ok.status.success(), "git {args:?}: {}", stderr(&ok));
        String::from_utf8(ok.stdout).unwrap()
    };
    git(&["init", "-q"]);
    p.write(".gitignore", "*.json\n");
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "release 1"]);
    let head = git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_exit(
        &p.run(&["snapshot", "--label", "v1.0.0", "-o", "v1.json"]),
        0,
    );
    let v1: serde_json::Value = serde_json::from_str(&p.read("v1.json")).unwrap();
    assert_eq!(
        v1["git"],
        serde_json::json!({"commit": head, "dirty": false})
    );

    // A change not yet committed: the same commit, dirty.
    p.write("src/a.c", "int main(void) { return 0; }\n");
    let o = p.run(&[
        "check",
        "--against",
        "v1.json",
        "--label",
        "v1.0.1",
        "--write-manifest",
        "v2.json",
    ]);
    assert_exit(&o, 1);
    let v2: serde_json::Value = serde_json::from_str(&p.read("v2.json")).unwrap();
    assert_eq!(
        v2["git"],
        serde_json::json!({"commit": head, "dirty": true})
    );
    assert_eq!(v2["label"], "v1.0.1");
    let short = &head[..7];
    assert!(
        stdout(&o).starts_with(&format!(
            "releases: v1.0.0 ({short}) → v1.0.1 ({short}, dirty)\n"
        )),
        "{}",
        stdout(&o)
    );

    // A label must be printable.
    let o = p.run(&["snapshot", "--label", "v1\u{1b}[31m"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("no control characters"),
        "{}",
        stderr(&o)
    );
    // A manifest with a bad commit id is refused, never shown.
    p.write(
        "forged.json",
        p.read("v1.json").replace(&head, "not-a-commit"),
    );
    assert_bad_input(
        &p.run(&["diff", "forged.json", "v1.json"]),
        "git commit \"not-a-commit\" is not a commit id",
    );
}

/// `dockerfile diff` names each side's base image once.
#[test]
fn dockerfile_diff_names_the_base_once() {
    let p = Project::new();
    p.write("a.Dockerfile", "FROM busybox:1.36\nENTRYPOINT [\"/a\"]\n")
        .write(
            "b.Dockerfile",
            "FROM busybox:1.36 AS build\nRUN true\nFROM build\nENTRYPOINT [\"/b\"]\n",
        );
    let o = p.run(&["dockerfile", "diff", "a.Dockerfile", "b.Dockerfile"]);
    let out = stdout(&o);
    let old = out.lines().find(|l| l.starts_with("old: ")).unwrap();
    assert_eq!(old.matches("busybox:1.36").count(), 1, "{old}");
    // From an earlier stage: the stage, and the image it starts from.
    let new = out.lines().find(|l| l.starts_with("new: ")).unwrap();
    assert!(
        new.contains("from=build") && new.contains("base_image=busybox:1.36"),
        "{new}"
    );
}
