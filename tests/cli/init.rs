//! `buildproof init`: a first config from what a tree holds, then `snapshot` on it.

use std::process::Command;

use crate::image::{layout, plain, tar_layer, tiny_elf};
use crate::support::*;

/// An OCI layout at `rel` whose entrypoint `/bin/app` is a static ELF: it can start.
fn image(p: &Project, rel: &str) {
    let layer = tar_layer(&[
        ("bin/", tar::EntryType::Directory, b"", 0o755, ""),
        ("bin/app", tar::EntryType::Regular, &tiny_elf(), 0o755, ""),
    ]);
    layout(p, rel, &[plain(layer)], &["/bin/app"]);
}

/// A Dockerfile with a `.dockerignore`, a compose service with `build:`, both with
/// their images built; with `nix`, a flake package and a `default.nix` attribute,
/// both built, their `result-*` links in place.
fn tree(p: &Project, with_nix: bool) {
    p.write("web/Dockerfile", "FROM scratch\nCOPY . /srv\nENTRYPOINT [\"/bin/app\"]\n")
        .write("web/.dockerignore", "# docs stay out\n*.md\nnode_modules\n")
        .write("web/index.html", "<h1>shop</h1>\n")
        .write("web/README.md", "not in the image\n")
        .write("web/node_modules/left-pad/index.js", "module.exports = 1;\n")
        .write("api/Containerfile", "FROM scratch\nCOPY main.go /\n")
        .write("api/main.go", "package main\n")
        .write(
            "compose.yaml",
            "services:\n  api:\n    build:\n      context: ./api\n      dockerfile: Containerfile\n  db:\n    image: postgres:16\n",
        );
    image(p, "build/web.oci");
    image(p, "build/api.oci");
    if !with_nix {
        return;
    }
    let n = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    p.write("goinstance/main.go", format!("package main // {n}\n"))
        .write("tool/tool.sh", format!("echo {n}\n"))
        .write(
            "flake.nix",
            format!(
                r#"{{
  outputs = {{ self }}:
    let
      mk = system: builtins.derivation {{
        name = "goinstance-1.4.2";
        builder = "/bin/sh";
        args = [ "-c" "mkdir $out; cat $src/main.go > $out/app # {n}" ];
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
        .write(
            "default.nix",
            format!(
                r#"{{
  tool = builtins.derivation {{
    name = "tool";
    builder = "/bin/sh";
    args = [ "-c" "mkdir $out; cat $src/tool.sh > $out/tool # {n}" ];
    system = builtins.currentSystem;
    PATH = "/bin:/usr/bin";
    src = ./tool;
  }};
}}
"#
            ),
        );
    let build = Command::new("nix")
        .current_dir(p.path())
        .args([
            "--extra-experimental-features",
            "nix-command flakes",
            "build",
            "--option",
            "sandbox",
            "false",
            "--no-write-lock-file",
            "-o",
            "result-goinstance",
            ".#goinstance",
        ])
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", stderr(&build));
    let build = Command::new("nix-build")
        .current_dir(p.path())
        .args([
            "--option",
            "sandbox",
            "false",
            "default.nix",
            "-A",
            "tool",
            "-o",
            "result-tool",
        ])
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", stderr(&build));
}

#[test]
fn init_proposes_each_kind_and_snapshot_takes_it() {
    let with_nix = require_tool("nix") && require_tool("nix-build");
    let p = Project::new();
    tree(&p, with_nix);
    let mut args = vec!["init"];
    if with_nix {
        args.extend(["--nix-attr", "tool"]);
    }
    let o = p.run(&args);
    assert_exit(&o, 0);
    let err = stderr(&o);
    assert!(
        err.contains("buildproof init: wrote `./buildproof.toml`:"),
        "{err}"
    );
    assert!(!err.contains("fill in"), "{err}");
    let config = p.read("buildproof.toml");

    // The compose service, with its context and Dockerfile, and its image found.
    assert!(
        config.contains("# From `compose.yaml`, service `api` (Dockerfile `api/Containerfile`).\n"),
        "{config}"
    );
    assert!(
        config.contains("name = \"api\"\ninputs = [\"api/**\"]\ndockerfile = \"api/Containerfile\"\nimage = \"build/api.oci\"\n"),
        "{config}"
    );
    // The Dockerfile: its context minus `.dockerignore`.
    assert!(
        config.contains("name = \"web\"\ninputs = [\"web/**\"]\nexclude = [\"web/*.md\", \"web/*.md/**\", \"web/node_modules\"]\ndockerfile = \"web/Dockerfile\"\nimage = \"build/web.oci\"\n"),
        "{config}"
    );
    // `db` has no `build:`: nothing of ours to check.
    assert!(!config.contains("\"db\""), "{config}");
    if with_nix {
        assert!(
            config.contains("name = \"goinstance\"\ninputs = [\"goinstance/**\", \"flake.nix\"]\noutputs = [\"result-goinstance\"]\nnix = \".#goinstance\"\n"),
            "{config}"
        );
        assert!(
            config.contains("name = \"tool\"\ninputs = [\"tool/**\", \"default.nix\"]\noutputs = [\"result-tool\"]\nnix = { file = \"default.nix\", attr = \"tool\" }\n"),
            "{config}"
        );
    }

    let snap = p.run(&["snapshot", "--format", "manifest"]);
    assert_exit(&snap, 0);
    assert_eq!(stderr(&snap), "", "a fresh config should raise nothing");
    let m: serde_json::Value = serde_json::from_slice(&snap.stdout).unwrap();
    let web: Vec<&str> = m["components"]["web"]["inputs"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        web,
        ["web/.dockerignore", "web/Dockerfile", "web/index.html"]
    );
    let mut names: Vec<&String> = m["components"].as_object().unwrap().keys().collect();
    names.sort();
    let expected: &[&str] = if with_nix {
        &["api", "goinstance", "tool", "web"]
    } else {
        &["api", "web"]
    };
    assert_eq!(names, expected);

    // Never over an existing config, and nothing half-written.
    let again = p.run(&["init"]);
    assert_bad_input(&again, "buildproof.toml` exists; it is never overwritten");
    assert_eq!(p.read("buildproof.toml"), config);
    // `--print` shows the same proposal and writes nothing.
    args.push("--print");
    let printed = p.run(&args);
    assert_exit(&printed, 0);
    assert_eq!(stdout(&printed), config);
}

#[test]
fn init_leaves_what_it_cannot_know_commented_and_says_so() {
    let p = Project::new();
    p.write("Dockerfile", "FROM scratch\n")
        .write("app.go", "package main\n")
        .write(
            "deploy/docker-compose.yml",
            "services:\n  worker:\n    build: ../worker\n    image: registry.example.com/shop/worker:1.2\n  remote:\n    build: https://github.com/example/remote.git\n",
        )
        .write("worker/Dockerfile", "FROM scratch\n")
        .write(".dockerignore", "*\n!app.go\n!Dockerfile\n");
    let o = p.run(&["init", "--print", "--no-flake"]);
    assert_exit(&o, 0);
    let config = stdout(&o);
    // The compose service names its image: read from the registry.
    assert!(
        config.contains("name = \"worker\"\ninputs = [\"worker/**\"]\ndockerfile = \"worker/Dockerfile\"\nimage = \"docker://registry.example.com/shop/worker:1.2\"\n"),
        "{config}"
    );
    // An allowlist `.dockerignore` becomes the inputs; the image is a placeholder.
    assert!(
        config.contains("inputs = [\"app.go\", \"Dockerfile\"]\n"),
        "{config}"
    );
    assert!(config.contains("\n# image = \"build/"), "{config}");
    let err = stderr(&o);
    assert!(
        err.contains("fill in before `buildproof snapshot`"),
        "{err}"
    );
    assert!(err.contains("`image` (no built image found)"), "{err}");
    assert!(err.contains("is remote; not proposed"), "{err}");

    // Written, it is a config with one thing missing, and `snapshot` says where.
    p.write("buildproof.toml", &config);
    let snap = p.run(&["snapshot"]);
    assert_bad_input(&snap, "buildproof.toml:");
}
