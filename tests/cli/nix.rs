//! Nix: the `nix` component key, store-path outputs and the Nix rules, with real
//! `nix-build --option sandbox false` builds (no nixpkgs: `builtins.derivation` with
//! `/bin/sh`). Every test uses its own derivation names and contents (a nonce), so
//! tests are independent of each other and of earlier runs sharing the store.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;

/// A string unique to this test run, put into derivation names and contents.
fn nonce(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{tag}-{}-{nanos}", std::process::id())
}

/// `default.nix` holding one `builtins.derivation` named `name` whose `src` is
/// `src` (a Nix expression) and whose builder runs `script`.
fn default_nix(name: &str, src: &str, script: &str, extra: &str) -> String {
    format!(
        r#"{{
  goinstance = builtins.derivation {{
    name = "{name}";
    builder = "/bin/sh";
    args = [ "-c" ''{script}'' ];
    system = builtins.currentSystem;
    PATH = "/bin:/usr/bin";
    src = {src};
    {extra}
  }};
}}
"#
    )
}

const CONFIG: &str = r#"[[component]]
name = "goinstance"
inputs = ["goinstance/**", "go.mod"]
outputs = ["result"]
nix = { file = "default.nix", attr = "goinstance" }
"#;

/// `nix-build` of `attr` in the project, leaving the `result` link; panics with
/// Nix's output when the build fails.
fn nix_build(p: &Project, attr: &str) {
    let o = Command::new("nix-build")
        .current_dir(p.path())
        .args(["--option", "sandbox", "false", "default.nix", "-A", attr])
        .output()
        .expect("nix-build runs");
    assert!(
        o.status.success(),
        "nix-build failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A goinstance derivation over `./goinstance` (no filter), built, with a snapshot of
/// it in `base.json`: the starting point of most scenarios below.
fn built_plain_goinstance(tag: &str) -> Project {
    let n = nonce(tag);
    let p = Project::new();
    goinstance(&p, &n);
    p.write(
        "default.nix",
        default_nix(
            &n,
            "./goinstance",
            "mkdir $out; cat $src/main.go > $out/app",
            "",
        ),
    )
    .config(&CONFIG.replace(", \"go.mod\"", ""));
    nix_build(&p, "goinstance");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p
}

fn goinstance(p: &Project, n: &str) {
    p.write("goinstance/main.go", format!("package main // {n} v1\n"))
        .write("go.mod", "module goinstance\n");
}

#[test]
fn stale_artifact_when_filtered_src_hides_goinstance_change() {
    if !require_tool("nix-build") {
        return;
    }
    let n = nonce("filtered");
    let p = Project::new();
    goinstance(&p, &n);
    // The filter keeps only go.mod: goinstance/ never reaches the build.
    let src = r#"builtins.path { path = ./.; name = "src"; filter = path: type: baseNameOf path == "go.mod"; }"#;
    p.write(
        "default.nix",
        default_nix(
            &n,
            src,
            &format!("mkdir $out; cat $src/go.mod > $out/app; echo {n} >> $out/app"),
            "",
        ),
    )
    .config(CONFIG);
    nix_build(&p, "goinstance");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);

    p.write("goinstance/main.go", "package main // the fix\n");
    nix_build(&p, "goinstance");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    let mut rules = rules_of(&o);
    rules.sort();
    assert_eq!(rules, ["input-excluded:warning", "stale-artifact:error"]);
    let excluded = findings(&o)
        .into_iter()
        .find(|f| f["rule"] == "input-excluded")
        .unwrap();
    let message = excluded["message"].as_str().unwrap();
    assert!(message.contains("`goinstance/main.go`"), "{message}");
    assert!(message.contains(".drv"), "{message}");
    assert_eq!(
        excluded["details"]["files"],
        serde_json::json!(["goinstance/main.go"])
    );
}

#[test]
fn stale_artifact_when_fixed_output_hash_was_not_updated() {
    if !require_tool("nix-build") {
        return;
    }
    let n = nonce("fod");
    let p = Project::new();
    let v1 = format!("package main // {n} v1\n");
    p.write("goinstance/main.go", &v1)
        .write("go.mod", "module goinstance\n");
    // A flat fixed-output derivation: its out path depends only on outputHash, so
    // once built, Nix reuses it whatever the source says.
    let hash = buildproof::digest::Digest::of(v1.as_bytes()).hex();
    let extra =
        format!(r#"outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = "{hash}";"#);
    p.write(
        "default.nix",
        default_nix(&n, "./goinstance", "cat $src/main.go > $out", &extra),
    )
    .config(&CONFIG.replace(", \"go.mod\"", ""));
    nix_build(&p, "goinstance");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);

    p.write("goinstance/main.go", "package main // the fix\n");
    nix_build(&p, "goinstance");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
}

#[test]
fn honest_source_change_passes() {
    if !require_tool("nix-build") {
        return;
    }
    let n = nonce("honest");
    let p = Project::new();
    goinstance(&p, &n);
    let src = r#"builtins.path { path = ./.; name = "src"; filter = path: type: baseNameOf path == "go.mod" || baseNameOf path == "goinstance" || baseNameOf path == "main.go"; }"#;
    p.write(
        "default.nix",
        default_nix(
            &n,
            src,
            "mkdir $out; cat $src/go.mod $src/goinstance/main.go > $out/app",
            "",
        ),
    )
    // default.nix is declared too: it reaches the build by evaluation, not as a source.
    .config(&CONFIG.replace("\"go.mod\"]", "\"go.mod\", \"default.nix\"]"));
    nix_build(&p, "goinstance");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);

    p.write("goinstance/main.go", "package main // the fix\n");
    nix_build(&p, "goinstance");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), Vec::<String>::new());
    let manifest = p.run(&["snapshot"]);
    assert_exit(&manifest, 0);
    let m: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    let nix = &m["components"]["goinstance"]["nix"];
    assert!(
        nix["derivation"]
            .as_str()
            .unwrap()
            .ends_with(&format!("-{n}.drv"))
    );
    assert_eq!(
        nix["installable"],
        serde_json::json!({"file": "default.nix", "attr": "goinstance"})
    );
    let sp = &nix["store_paths"][0];
    assert_eq!(sp["store_path"], nix["out_paths"]["out"]);
    assert_eq!(sp["nar_hash"], sp["db_nar_hash"]);
    assert!(sp["nar_size"].as_u64().unwrap() > 0);
    assert_eq!(nix["sources"].as_array().unwrap().len(), 1);
}

#[test]
fn output_not_current_when_result_link_is_left_at_the_previous_build() {
    if !require_tool("nix-build") {
        return;
    }
    let p = built_plain_goinstance("notcurrent");

    // The source changes, the build "fails" (is not run), `result` still names v1.
    p.write("goinstance/main.go", "package main // the fix\n");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    let mut rules = rules_of(&o);
    rules.sort();
    assert_eq!(rules, ["output-not-current:error", "stale-artifact:error"]);
    let f = findings(&o)
        .into_iter()
        .find(|f| f["rule"] == "output-not-current")
        .unwrap();
    assert!(
        f["message"].as_str().unwrap().contains("did not go live"),
        "{f}"
    );
    // The snapshot alone fails on it too: it is about the new build itself.
    let o = p.run(&["snapshot", "-o", "new.json"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("error[output-not-current]"),
        "{}",
        stderr(&o)
    );
    assert!(p.join("new.json").exists(), "the manifest is still written");
}

#[test]
fn store_mismatch_when_store_path_is_altered_after_registration() {
    if !require_tool("nix-build") {
        return;
    }
    let p = built_plain_goinstance("tampered");
    let store_path = std::fs::read_link(p.join("result")).unwrap();
    let app = store_path.join("app");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&store_path, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&app, "tampered\n").unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&store_path, std::fs::Permissions::from_mode(0o555)).unwrap();

    // Same sources, different output bytes: also `unexplained-change`.
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    let mut rules = rules_of(&o);
    rules.sort();
    assert_eq!(
        rules,
        ["store-mismatch:error", "unexplained-change:warning"]
    );
    let f = findings(&o)
        .into_iter()
        .find(|f| f["rule"] == "store-mismatch")
        .unwrap();
    assert_ne!(f["details"]["nar_hash"], f["details"]["db_nar_hash"]);
    // The snapshot alone fails on it too: it is about the new build itself.
    let o = p.run(&["snapshot", "-o", "new.json"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("error[store-mismatch]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn store_path_outputs_are_checked_without_a_nix_key() {
    if !require_tool("nix-build") {
        return;
    }
    let n = nonce("nokey");
    let p = Project::new();
    goinstance(&p, &n);
    p.write(
        "default.nix",
        default_nix(&n, "./goinstance", "mkdir $out; cat $src/main.go > $out/app", ""),
    )
    .config("[[component]]\nname = \"goinstance\"\ninputs = [\"goinstance/**\"]\noutputs = [\"result\"]\n");
    nix_build(&p, "goinstance");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let nix = &m["components"]["goinstance"]["nix"];
    assert!(nix.get("installable").is_none(), "{nix}");
    assert_eq!(
        nix["store_paths"][0]["nar_hash"],
        nix["store_paths"][0]["db_nar_hash"]
    );
}

/// Inside a `nix flake check` sandbox, or as a user outside `nix-users`, `nix
/// path-info` cannot reach the store's database. `store-mismatch` is then not judged,
/// and a note says why; every `result` output used to make the run exit 2.
#[test]
fn an_unreachable_store_database_leaves_store_mismatch_unjudged_with_a_note() {
    if !require_tool("nix-build") {
        return;
    }
    let n = nonce("nodaemon");
    let p = Project::new();
    goinstance(&p, &n);
    p.write(
        "default.nix",
        default_nix(&n, "./goinstance", "mkdir $out; cat $src/main.go > $out/app", ""),
    )
    .config("[[component]]\nname = \"goinstance\"\ninputs = [\"goinstance/**\"]\noutputs = [\"result\"]\n");
    nix_build(&p, "goinstance");
    // The real `nix`, but `path-info` fails as it does without the daemon socket.
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v nix"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
    p.write(
        "fakebin/nix",
        format!(
            "#!/bin/sh\ncase \"$*\" in *path-info*)\n  echo \"error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Permission denied\" >&2\n  exit 1;;\nesac\nexec {real} \"$@\"\n"
        ),
    )
    .mode("fakebin/nix", 0o755);
    let path = format!(
        "{}:{}",
        p.join("fakebin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = buildproof()
        .current_dir(p.path())
        .env("PATH", path)
        .args(["snapshot", "-o", "m.json"])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let err = stderr(&o);
    assert!(
        err.contains("note[store-mismatch] goinstance: not judged for `result`"),
        "{err}"
    );
    assert!(
        err.contains("daemon-socket/socket': Permission denied"),
        "{err}"
    );
}

#[test]
fn flake_installable_is_evaluated() {
    if !require_tool("nix") {
        return;
    }
    let n = nonce("flake");
    let p = Project::new();
    goinstance(&p, &n);
    p.write(
        "flake.nix",
        format!(
            r#"{{
  outputs = {{ self }}:
    let
      mk = system: builtins.derivation {{
        name = "{n}";
        builder = "/bin/sh";
        args = [ "-c" "mkdir $out; cat $src/main.go > $out/app" ];
        inherit system;
        PATH = "/bin:/usr/bin";
        src = ./goinstance;
      }};
      systems = [ "x86_64-linux" "aarch64-linux" ];
    in {{
      packages = builtins.listToAttrs (map (s: {{ name = s; value = {{ goinstance = mk s; }}; }}) systems);
    }};
}}
"#
        ),
    )
    .config("[[component]]\nname = \"goinstance\"\ninputs = [\"goinstance/**\"]\noutputs = [\"goinstance\"]\nnix = \".#goinstance\"\n");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    assert!(
        !p.join("flake.lock").exists(),
        "buildproof wrote a lock file"
    );
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let nix = &m["components"]["goinstance"]["nix"];
    assert_eq!(nix["installable"], ".#goinstance");
    assert!(
        nix["derivation"]
            .as_str()
            .unwrap()
            .ends_with(&format!("-{n}.drv")),
        "{nix}"
    );
    assert!(nix.get("excluded_inputs").is_none(), "{nix}");
}

#[test]
fn evaluation_error_is_exit_2_with_nix_message() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let p = Project::new();
    goinstance(&p, "evalerr");
    p.write("default.nix", "{ goinstance = throw \"goinstance is broken on purpose\"; }\n")
        .write("out/app", "x")
        .config("[[component]]\nname = \"goinstance\"\ninputs = [\"goinstance/**\"]\noutputs = [\"out\"]\nnix = { file = \"default.nix\", attr = \"goinstance\" }\n");
    let o = p.run(&["snapshot"]);
    assert_bad_input(&o, "goinstance is broken on purpose");
    assert!(
        stderr(&o).contains("default.nix -A goinstance"),
        "{}",
        stderr(&o)
    );

    p.write("default.nix", "{ }\n");
    assert_bad_input(&p.run(&["snapshot"]), "attribute 'goinstance'");
}

/// `nix hash path` with the given spelling flag, trimmed.
fn nix_hash(path: &std::path::Path, flag: Option<&str>) -> String {
    let mut cmd = Command::new("nix");
    cmd.args([
        "--extra-experimental-features",
        "nix-command",
        "hash",
        "path",
    ]);
    if let Some(f) = flag {
        cmd.arg(f);
    }
    let o = cmd.arg(path).output().expect("nix runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

#[test]
fn nar_hash_is_byte_identical_to_nix_for_every_node_kind() {
    if !require_tool("nix") {
        return;
    }
    let p = Project::new();
    // Crosses buffer boundaries: one file of 2.5 MiB, and many small ones.
    let big: Vec<u8> = (0..(5 * 512 * 1024 + 3)).map(|i| (i % 251) as u8).collect();
    p.write("tree/big.bin", &big)
        .write("tree/empty", "")
        .write("tree/pad7", "1234567")
        .write("tree/pad8", "12345678")
        .write("tree/run.sh", "#!/bin/sh\necho hi\n")
        .mode("tree/run.sh", 0o755)
        .write("tree/sub dir/ünïcode name", "x")
        .write("tree/sub dir/deeper/.hidden", "h")
        .symlink("../big.bin", "tree/sub dir/rel-link")
        .symlink("/nonexistent/target", "tree/dangling")
        .symlink("sub dir", "tree/dir-link")
        .write("single-file", "just a file\n")
        .write("single-exec", "#!/bin/sh\n")
        .mode("single-exec", 0o755)
        .symlink("single-file", "single-link");
    for i in 0..200 {
        p.write(&format!("tree/many/f{i:03}"), "y".repeat(i * 13));
    }
    std::fs::create_dir_all(p.join("tree/empty-dir")).unwrap();
    std::fs::create_dir_all(p.join("empty-root")).unwrap();
    for target in [
        "tree",
        "single-file",
        "single-exec",
        "single-link",
        "empty-root",
    ] {
        let path = p.join(target);
        for (ours, theirs) in [
            (None, None),
            (Some("--base16"), Some("--base16")),
            (Some("--base32"), Some("--base32")),
        ] {
            let mut args = vec!["nar-hash"];
            args.extend(ours);
            let path_text = path.to_str().unwrap();
            args.push(path_text);
            let o = p.run(&args);
            assert_exit(&o, 0);
            assert_eq!(
                stdout(&o).trim(),
                nix_hash(&path, theirs),
                "{target} {ours:?}"
            );
        }
    }
    // Several paths: one hash per line, byte-identical to `nix hash path A B`.
    let o = p.run(&["nar-hash", "single-file", "tree"]);
    assert_exit(&o, 0);
    let nix = std::process::Command::new("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "hash",
            "path",
            "single-file",
            "tree",
        ])
        .current_dir(p.path())
        .output()
        .unwrap();
    assert!(nix.status.success(), "{}", stderr(&nix));
    assert_eq!(stdout(&o), stdout(&nix));
    assert_bad_input(&p.run(&["nar-hash", "missing"]), "missing");
}

/// `nix` with flakes enabled, offline: each input in `overrides` is replaced by a
/// local path, no lock file is written.
fn nix_flakes(args: &[&str], overrides: &[(&str, &Path)]) -> Command {
    let mut cmd = Command::new("nix");
    cmd.args(["--extra-experimental-features", "nix-command flakes"])
        .args(args)
        .arg("--no-write-lock-file");
    for (input, path) in overrides {
        cmd.args(["--override-input", input])
            .arg(format!("path:{}", path.display()));
    }
    cmd
}

/// `nix flake check` on the path flake `flake` with build logs printed. Without
/// `sandbox_paths` the sandbox is off (the repository's own `package` check copies
/// the binary under test from outside the store); with them, builds run in the
/// sandbox as in a user's `nix flake check`, with those host paths (the stub's
/// `/bin/sh`, the binary) bound into it, and no Nix daemon or store database. They
/// replace Nix's default `sandbox-paths`: Debian's 2.26 names a `bash-static` there
/// that need not be installed.
fn nix_flake_check(
    flake: &Path,
    overrides: &[(&str, &Path)],
    sandbox_paths: Option<&[&Path]>,
) -> Output {
    let mut cmd = nix_flakes(&["flake", "check", "--print-build-logs"], overrides);
    match sandbox_paths {
        None => cmd.args(["--option", "sandbox", "false"]),
        Some(paths) => {
            let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            cmd.args(["--option", "sandbox", "true"])
                .args(["--option", "sandbox-paths"])
                .arg(paths.join(" "))
        }
    };
    cmd.arg(format!("path:{}", flake.display()));
    cmd.output().expect("nix runs")
}

/// `cp -a` of each of `rels` (files or directories) from `from` to the same place
/// under `to`.
fn copy_into(from: &Path, rels: &[&str], to: &Path) {
    for rel in rels {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let cp = Command::new("cp")
            .arg("-a")
            .arg(from.join(rel))
            .arg(&dest)
            .output()
            .unwrap();
        assert!(cp.status.success(), "{}", stderr(&cp));
    }
}

/// This repository's flake with only the files it reads (as a path flake, the
/// checkout's target/ would be copied into the store) under `p/buildproof`, and the
/// stub nixpkgs under `p/nixpkgs`, whose `buildRustPackage` hands over the binary
/// under test. Returns (flake, stub).
fn flake_and_stub(p: &Project) -> (std::path::PathBuf, std::path::PathBuf) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stub = p.join("nixpkgs");
    copy_into(
        &repo.join("testdata/nix/stub-nixpkgs"),
        &["flake.nix", "pkgs.nix"],
        &stub,
    );
    // A new `run` for every test run, so that no check is answered from an earlier
    // run's store paths: the binary's path is the same every time.
    let bin = assert_cmd::cargo::cargo_bin("buildproof");
    p.write(
        "nixpkgs/binary.nix",
        format!(
            "{{ path = \"{}\"; run = \"{}\"; }}\n",
            bin.display(),
            nonce("flake-check")
        ),
    );
    let this = p.join("buildproof");
    copy_into(
        repo,
        &[
            "flake.nix",
            "Cargo.toml",
            "Cargo.lock",
            "testdata/nix/flake-check",
            "testdata/demo",
        ],
        &this,
    );
    (this, stub)
}

/// The flake as a Nix user meets it, with a stub nixpkgs (there is no network here).
/// `nix flake check` on this repository's flake validates every output (the overlay
/// included) and builds every check: the fixture passes and the demo exits 1 as
/// expected.
#[test]
fn nix_flake_check_runs_the_flake() {
    if !require_tool("nix") {
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let parse = Command::new("nix-instantiate")
        .arg("--parse")
        .arg(repo.join("flake.nix"))
        .output()
        .unwrap();
    assert!(parse.status.success(), "{}", stderr(&parse));

    let p = Project::new();
    let (this, stub) = flake_and_stub(&p);
    let own = nix_flake_check(&this, &[("nixpkgs", &stub)], None);
    let log = stderr(&own);
    assert!(own.status.success(), "{log}");
    assert!(
        log.contains("buildproof-check-fixture> buildproof check: ok"),
        "{log}"
    );
    assert!(
        log.contains("buildproof-check-demo> error[stale-artifact] goinstance"),
        "{log}"
    );
    // `overlays.default` gives nixpkgs the same package.
    let eval = |attr: &str, apply: Option<String>| {
        let mut cmd = nix_flakes(&["eval", "--impure", "--raw"], &[("nixpkgs", &stub)]);
        cmd.arg(format!("path:{}#{attr}", this.display()));
        if let Some(apply) = apply {
            cmd.arg("--apply").arg(apply);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let package = eval("packages.x86_64-linux.default.drvPath", None);
    let overlay = eval(
        "overlays.default",
        Some(format!(
            "o: let b = import {stub}/binary.nix; pkgs = import {stub}/pkgs.nix {{ system = \"x86_64-linux\"; buildproof = b.path; inherit (b) run; }}; in (o pkgs pkgs).buildproof.drvPath",
            stub = stub.display()
        )),
    );
    assert!(package.ends_with(".drv"), "{package}");

    // The README's install lines: `nix run` and `nix profile install`.
    let version = format!("buildproof {}\n", env!("CARGO_PKG_VERSION"));
    let run = nix_flakes(
        &["run", "--option", "sandbox", "false"],
        &[("nixpkgs", &stub)],
    )
    .arg(format!("path:{}", this.display()))
    .args(["--", "--version"])
    .output()
    .unwrap();
    assert_eq!(stdout(&run), version, "{}", stderr(&run));
    let profile = p.join("profile/buildproof");
    std::fs::create_dir_all(p.join("profile")).unwrap();
    let profile_arg = profile.display().to_string();
    let install = nix_flakes(
        &[
            "profile",
            "install",
            "--option",
            "sandbox",
            "false",
            "--profile",
            &profile_arg,
        ],
        &[("nixpkgs", &stub)],
    )
    .arg(format!("path:{}", this.display()))
    .output()
    .unwrap();
    assert!(install.status.success(), "{}", stderr(&install));
    let installed = Command::new(profile.join("bin/buildproof"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(stdout(&installed), version);
    assert_eq!(overlay, package);
}

/// A user's flake (`testdata/nix/consumer-flake`, shaped like the README's example)
/// puts `lib.mkCheck` in its own `checks`, with the deployed manifest from a
/// non-flake input, and the same `buildproof.toml` (with its `nix` key) inside
/// `nix flake check` and out. In the sandbox, with no nix CLI and no daemon,
/// buildproof reads the package's `.drv` and judges its source filter: the check
/// fails naming the hidden file and the filtered source, first on `input-excluded`
/// alone (`failOn = "warning"`), then with `stale-artifact` once that file changes;
/// with the file let through the filter, it passes.
#[test]
fn nix_flake_check_judges_a_users_source_filter_in_the_sandbox() {
    if !require_tool("nix") {
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = Project::new();
    let (this, stub) = flake_and_stub(&p);
    let user = p.join("user");
    copy_into(
        &repo.join("testdata/nix/consumer-flake"),
        &["flake.nix", "buildproof.toml", "src"],
        &user,
    );
    // Unique sources, so no build is answered from an earlier run's store paths.
    p.write(
        "user/src/util.go",
        format!("package main\n\n// {}\nfunc run() {{}}\n", nonce("util")),
    );
    let release = p.join("release");
    std::fs::create_dir_all(&release).unwrap();
    let inputs = [
        ("nixpkgs", stub.as_path()),
        ("buildproof", this.as_path()),
        ("deployed", release.as_path()),
    ];
    let installable = format!("path:{}#app", user.display());

    // The release: built and snapshotted outside the sandbox, the `nix` key's
    // derivation given as it is evaluated with these inputs.
    let build = nix_flakes(&["build", "--option", "sandbox", "false"], &inputs)
        .arg("-o")
        .arg(user.join("result-app"))
        .arg(&installable)
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", stderr(&build));
    let drv = nix_flakes(&["path-info", "--derivation"], &inputs)
        .arg(&installable)
        .output()
        .unwrap();
    assert!(drv.status.success(), "{}", stderr(&drv));
    let drv = stdout(&drv).trim().to_owned();
    let deployed = release.join("deployed.json");
    let snap = buildproof()
        .current_dir(&user)
        .args(["snapshot", "--nix-drv", &format!("app={drv}"), "-o"])
        .arg(&deployed)
        .output()
        .unwrap();
    assert_exit(&snap, 0);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&deployed).unwrap()).unwrap();
    assert_eq!(m["components"]["app"]["nix"]["derivation"], drv.as_str());
    assert_eq!(
        m["components"]["app"]["nix"]["excluded_inputs"],
        serde_json::json!(["src/util.go"])
    );

    let bin = assert_cmd::cargo::cargo_bin("buildproof");
    let sandbox: [&Path; 5] = [
        Path::new("/bin"),
        Path::new("/usr"),
        Path::new("/lib"),
        Path::new("/lib64"),
        &bin,
    ];
    let sandbox = Some(&sandbox[..]);

    // Nothing changed since the release, but the filter hides a declared input.
    let hidden = nix_flake_check(&user, &inputs, sandbox);
    let log = stderr(&hidden);
    assert!(!hidden.status.success(), "{log}");
    assert!(
        log.contains("warning[input-excluded] app: `src/util.go` is a declared input, but the derivation's sources (`app-src`) exclude it"),
        "{log}"
    );
    assert!(!log.contains("stale-artifact"), "{log}");
    assert!(
        log.contains("buildproof check exited 1, expected 0"),
        "{log}"
    );

    // The hotfix lands in the hidden file: the build reuses the old output.
    p.write(
        "user/src/util.go",
        format!(
            "package main\n\n// {}\nfunc run() {{ fix() }}\n",
            nonce("hotfix")
        ),
    );
    let stale = nix_flake_check(&user, &inputs, sandbox);
    let log = stderr(&stale);
    assert!(!stale.status.success(), "{log}");
    assert!(
        log.contains("error[stale-artifact] app: inputs changed (src/util.go (modified))"),
        "{log}"
    );
    assert!(
        log.contains("warning[input-excluded] app: `src/util.go`"),
        "{log}"
    );
    assert!(log.contains("`app-src`"), "{log}");

    // The filter lets the file through: a new artifact, nothing hidden.
    let flake = std::fs::read_to_string(user.join("flake.nix")).unwrap();
    let fixed = flake.replace(
        r#"filter = path: type: baseNameOf path == "main.go"; # the filter"#,
        r#"filter = path: type: baseNameOf path != ".main.go.swp"; # the filter"#,
    );
    assert_ne!(flake, fixed, "the consumer flake's filter line moved");
    std::fs::write(user.join("flake.nix"), fixed).unwrap();
    let honest = nix_flake_check(&user, &inputs, sandbox);
    let log = stderr(&honest);
    assert!(honest.status.success(), "{log}");
    assert!(log.contains("buildproof check: ok"), "{log}");
}

#[test]
fn nix_key_without_nix_installed_is_exit_2() {
    let p = Project::new();
    goinstance(&p, "nonix");
    p.write("out/app", "x").config(
        "[[component]]\nname = \"goinstance\"\ninputs = [\"goinstance/**\"]\noutputs = [\"out\"]\nnix = \".#goinstance\"\n",
    );
    std::fs::create_dir_all(p.join("empty-path")).unwrap();
    let o = buildproof()
        .current_dir(p.path())
        .env("PATH", p.join("empty-path"))
        .arg("snapshot")
        .output()
        .unwrap();
    assert_bad_input(&o, "the `nix` key needs `nix`, which is not on PATH");
}

#[test]
fn nix_drv_names_a_component_of_the_config_and_a_readable_derivation() {
    let p = Project::new();
    goinstance(&p, "nixdrv");
    p.write("out/app", "x").config(
        "[[component]]\nname = \"goinstance\"\ninputs = [\"goinstance/**\"]\noutputs = [\"out\"]\n",
    );
    assert_bad_input(
        &p.run(&["snapshot", "--nix-drv", "web=/nix/store/x-web.drv"]),
        "has no component `web` (it has: goinstance)",
    );
    for (arg, why) in [
        ("goinstance", "expected NAME=DRV"),
        ("goinstance=result", "is not a store derivation"),
    ] {
        let o = p.run(&["snapshot", "--nix-drv", arg]);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(why), "{}", stderr(&o));
    }
    let missing = p.join("gone.drv");
    let o = p.run(&[
        "snapshot",
        "--nix-drv",
        &format!("goinstance={}", missing.display()),
    ]);
    assert_bad_input(&o, "cannot read derivation");
    assert!(stderr(&o).contains("gone.drv"), "{}", stderr(&o));
    p.write("bad.drv", "{\"not\": \"aterm\"}");
    let o = p.run(&[
        "snapshot",
        "--nix-drv",
        &format!("goinstance={}", p.join("bad.drv").display()),
    ]);
    assert_bad_input(&o, "bad.drv`: not a store derivation: expected `Derive(`");
}
