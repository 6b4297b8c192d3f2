//! Hostile conditions (issue "Trustworthy under hostile conditions"): each test is a
//! regression test for a way a crafted input, a closed pipe, a signal or a name could
//! make buildproof give a wrong verdict, hang, lose a file or obey an injection.

use crate::support::*;

const APP: &str = "[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"out\"]\n";

fn built_app() -> Project {
    let p = Project::new();
    p.config(APP)
        .write("src/main.go", "package main\n")
        .write("out/bin/app", "binary v1");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p
}

/// A manifest larger than the bound is refused at its size, before it is parsed
/// (a 100 MB BASE once cost 1.7 GB of memory before it was refused).
#[test]
fn a_base_over_the_size_bound_is_refused_before_it_is_parsed() {
    let p = built_app();
    let mut big = p.read("base.json");
    big.push_str(&" ".repeat(200_000));
    p.write("big.json", &big);
    let o = buildproof()
        .current_dir(p.path())
        .env("BUILDPROOF_MAX_MANIFEST_BYTES", "100000")
        .args(["check", "--against", "big.json"])
        .output()
        .unwrap();
    assert_bad_input(&o, "`big.json` is ");
    assert!(
        stderr(&o).contains("more than the 100000 bytes a manifest may have"),
        "{}",
        stderr(&o)
    );
    // Within the bound it reads as before.
    let o = buildproof()
        .current_dir(p.path())
        .env("BUILDPROOF_MAX_MANIFEST_BYTES", "10000000")
        .args(["check", "--against", "big.json"])
        .output()
        .unwrap();
    assert_exit(&o, 0);
}

/// Two values for one key mean different things to different JSON parsers (the
/// first, the last, or an error): such a BASE is refused, naming the key.
#[test]
fn a_base_with_a_duplicate_key_is_refused() {
    let p = built_app();
    let base = p.read("base.json");
    let doubled = base.replacen("\"components\": {", "\"components\": {\"app\": {}, ", 1);
    assert_ne!(doubled, base);
    p.write("dup.json", doubled);
    let o = p.run(&["check", "--against", "dup.json"]);
    assert_bad_input(&o, "`dup.json` is not a buildproof manifest");
    assert!(
        stderr(&o).contains("the key \"app\" appears twice in one object"),
        "{}",
        stderr(&o)
    );
}

/// `buildproof check … | head`: the reader closes the pipe after one line. The
/// verdict's exit code must survive (1 stays 1), not turn into 0.
#[test]
fn a_closed_stdout_keeps_the_verdicts_exit_code() {
    // Enough stale components that the report outgrows a pipe's buffer (64 KiB), so
    // the write really meets the closed pipe instead of finishing before it closes.
    let p = Project::new();
    let mut config = String::new();
    for i in 0..150 {
        config.push_str(&format!(
            "[[component]]\nname = \"c{i}\"\ninputs = [\"src{i}/**\"]\noutputs = [\"out{i}\"]\n"
        ));
        p.write(&format!("src{i}/main.go"), "v1")
            .write(&format!("out{i}"), "bin");
    }
    p.config(&config);
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    for i in 0..150 {
        p.write(&format!("src{i}/main.go"), "v2");
    }
    assert!(p.run(&["check", "--against", "base.json"]).stdout.len() > 128 << 10);
    let script = format!(
        "{} check --against base.json | head -c 1 >/dev/null; echo \"exit=${{PIPESTATUS[0]}}\"",
        assert_cmd::cargo::cargo_bin("buildproof").display()
    );
    let o = std::process::Command::new("bash")
        .env("XDG_CACHE_HOME", cache_home())
        .current_dir(p.path())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(stdout(&o).trim(), "exit=1", "{}", stderr(&o));
    // And `| true`, which reads nothing at all.
    let script = format!(
        "{} check --against base.json | true; echo \"exit=${{PIPESTATUS[0]}}\"",
        assert_cmd::cargo::cargo_bin("buildproof").display()
    );
    let o = std::process::Command::new("bash")
        .env("XDG_CACHE_HOME", cache_home())
        .current_dir(p.path())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(stdout(&o).trim(), "exit=1", "{}", stderr(&o));
}

/// The same-file guard compares files, not spellings: `./m.json` and `m.json` are
/// one file, and `-o` may name neither an input, the config nor BASE.
#[test]
fn outputs_that_are_one_file_or_an_input_are_refused() {
    let p = built_app();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "check",
                "--against",
                "base.json",
                "--write-manifest",
                "./m.json",
                "--output",
                "m.json",
            ],
            "`m.json` is named twice (by `--write-manifest` and by the text report)",
        ),
        (
            &["check", "--against", "base.json", "--output", "./base.json"],
            "BASE and `--output` both name `./base.json`",
        ),
        (
            &[
                "check",
                "--against",
                "base.json",
                "--output",
                "buildproof.toml",
            ],
            "the config and `--output` both name `buildproof.toml`",
        ),
        (
            &["check", "--against", "base.json", "--output", "src/main.go"],
            "`--output` `src/main.go` is an input of component `app`",
        ),
        (
            &["diff", "base.json", "base.json", "--output", "base.json"],
            "both name `base.json`",
        ),
    ];
    let before = p.read("base.json");
    for (args, needle) in cases {
        let o = p.run(args);
        assert_bad_input(&o, needle);
    }
    assert_eq!(p.read("base.json"), before);
    assert_eq!(p.read("src/main.go"), "package main\n");
    // Through a symlink: still the same file.
    p.symlink("base.json", "alias.json");
    let o = p.run(&["check", "--against", "base.json", "--output", "alias.json"]);
    assert_bad_input(&o, "both name `alias.json`");
}

/// `-o` naming a FIFO that no process reads once hung forever; it is refused at
/// once. A FIFO that is read (process substitution) still works.
#[test]
fn an_unread_fifo_as_output_is_refused_and_a_read_one_works() {
    let p = built_app();
    p.fifo("out.fifo");
    let o = p.run_bounded(&["check", "--against", "base.json", "--output", "out.fifo"]);
    assert_bad_input(&o, "`out.fifo`: it is a FIFO that no process reads");
    let script = format!(
        "{} check --against base.json --format json --output >(cat > got.json); wait; sleep 0.2; cat got.json",
        assert_cmd::cargo::cargo_bin("buildproof").display()
    );
    let o = std::process::Command::new("bash")
        .env("XDG_CACHE_HOME", cache_home())
        .current_dir(p.path())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("\"schema\": \"buildproof.report/v1\""),
        "{}",
        stderr(&o)
    );
}

/// A file-size limit (`ulimit -f`, SIGXFSZ) hit while the manifest is written once
/// killed the process and left a partial `.buildproof-XXXXXX` beside the target.
/// Now the write fails (exit 2, naming the file) and nothing is left behind.
#[test]
fn a_file_size_limit_during_a_write_leaves_no_partial_file() {
    let p = big_project();
    let script = format!(
        "ulimit -f 8; exec {} snapshot --no-cache -o m.json",
        assert_cmd::cargo::cargo_bin("buildproof").display()
    );
    let o = std::process::Command::new("bash")
        .env("XDG_CACHE_HOME", cache_home())
        .current_dir(p.path())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_bad_input(&o, "cannot write `m.json`");
    assert_eq!(leftovers(&p), Vec::<String>::new());
    assert!(!p.join("m.json").exists());
}

/// SIGINT and SIGTERM end the run as a shell reports a death by them (130, 143),
/// after removing any temporary file being written.
#[test]
fn sigint_and_sigterm_exit_130_and_143_leaving_nothing() {
    let p = big_project();
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("buildproof"))
            .env("XDG_CACHE_HOME", cache_home())
            .current_dir(p.path())
            .args(["snapshot", "-o", "m.json"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let _ = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{signal}: {status:?}");
        assert_eq!(leftovers(&p), Vec::<String>::new());
    }
}

/// A component with enough inputs that hashing and writing take a while.
fn big_project() -> Project {
    let p = Project::new();
    p.config("[[component]]\nname = \"big\"\ninputs = [\"src/**\"]\noutputs = [\"out\"]\n")
        .write("out", "x");
    for i in 0..20_000 {
        p.write(&format!("src/d{}/f{i}.txt", i % 100), "data");
    }
    p
}

fn leftovers(p: &Project) -> Vec<String> {
    std::fs::read_dir(p.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".buildproof-"))
        .collect()
}

/// `dockerfile = "/proc/self/environ"` was read, and its parse error quoted the
/// environment (a token) into the CI log. A config path that leaves the config
/// directory is refused with its line, before anything is read; so is a link inside
/// the project that resolves outside it.
#[test]
fn config_paths_outside_the_project_are_refused_and_nothing_is_quoted() {
    let p = Project::new();
    p.write("x", "x").write("o", "o");
    for path in ["/proc/self/environ", "../x", "a/../../etc/passwd"] {
        p.config(&format!(
            "[[component]]\nname = \"a\"\ninputs = [\"x\"]\noutputs = [\"o\"]\ndockerfile = \"{path}\"\n"
        ));
        let o = buildproof()
            .current_dir(p.path())
            .env("FAKE_TOKEN", "ghp_notarealtokenbutsecret")
            .arg("snapshot")
            .output()
            .unwrap();
        assert_bad_input(&o, "buildproof.toml:2: `dockerfile` = ");
        assert!(
            stderr(&o).contains("leaves the config directory"),
            "{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("ghp_"), "{}", stderr(&o));
    }
    p.symlink("/proc/self/environ", "Dockerfile");
    p.config("[[component]]\nname = \"a\"\ninputs = [\"x\"]\noutputs = [\"o\"]\ndockerfile = \"Dockerfile\"\n");
    let o = buildproof()
        .current_dir(p.path())
        .env("FAKE_TOKEN", "ghp_notarealtokenbutsecret")
        .arg("snapshot")
        .output()
        .unwrap();
    assert_bad_input(&o, "outside the config directory");
    assert!(!stderr(&o).contains("ghp_"), "{}", stderr(&o));
}

/// An output outside the project (`../secret`, `/etc`) needs `allow_outside = true`;
/// store paths stay allowed.
#[test]
fn outputs_outside_the_project_need_allow_outside() {
    let p = Project::new();
    p.write("src/a", "a");
    p.config("[[component]]\nname = \"a\"\ninputs = [\"src/**\"]\noutputs = [\"/etc/hostname\"]\n");
    let o = p.run(&["snapshot"]);
    assert_bad_input(
        &o,
        "output `/etc/hostname` is outside the config directory; set `allow_outside = true`",
    );
    p.config("[[component]]\nname = \"a\"\ninputs = [\"src/**\"]\noutputs = [\"/etc/hostname\"]\nallow_outside = true\n");
    assert_exit(&p.run(&["snapshot"]), 0);
}

/// Layers read the way Go's `archive/tar` (what containerd and Docker use) reads
/// them, so the merged filesystem holds what a runtime would create.
mod tar_as_go_reads_it {
    use crate::image::{layout, plain, tar_layer, tiny_elf};
    use crate::support::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/testdata/tar/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn inspect(p: &Project, layers: Vec<Vec<u8>>, entrypoint: &[&str]) -> std::process::Output {
        let shell = tar_layer(&[("bin/sh", tar::EntryType::Regular, &tiny_elf(), 0o755, "")]);
        let mut all = vec![plain(shell)];
        all.extend(layers.into_iter().map(plain));
        let image = layout(p, "img", &all, entrypoint);
        p.run(&["image", "inspect", &image, "--format", "json"])
    }

    // Go's `pax-nul-path.tar`: a PAX `path` with a NUL byte is `ErrHeader`.
    #[test]
    fn a_pax_path_with_a_nul_byte_is_refused() {
        let p = Project::new();
        let o = inspect(&p, vec![fixture("pax-nul-path.tar")], &["/bin/sh"]);
        assert_bad_input(&o, "a PAX `path` with a NUL byte");
    }

    // Go's `pax-nul-xattrs.tar`: NUL in an xattr key is refused too.
    #[test]
    fn a_pax_key_with_a_nul_byte_is_refused() {
        let p = Project::new();
        let o = inspect(&p, vec![fixture("pax-nul-xattrs.tar")], &["/bin/sh"]);
        assert_bad_input(&o, "whose key is empty or has a NUL byte");
    }

    // Go's `pax-bad-mtime-file.tar`.
    #[test]
    fn a_pax_mtime_that_is_not_a_number_is_refused() {
        let p = Project::new();
        let mut tar = fixture("pax-bad-mtime-file.tar");
        tar.extend([0u8; 1024]);
        let o = inspect(&p, vec![tar], &["/bin/sh"]);
        assert_bad_input(&o, "a PAX `mtime` that is not a time");
    }

    // Go's `pax-path-hdr.tar`: a PAX header and then the end is an empty layer.
    #[test]
    fn a_pax_header_then_the_end_is_an_empty_layer() {
        let p = Project::new();
        let o = inspect(&p, vec![fixture("pax-path-hdr.tar")], &["/bin/sh"]);
        assert_exit(&o, 0);
    }

    // Go's `pax-multi-hdrs.tar`: only the last of consecutive PAX headers applies, so
    // the entry is the last header's path, not a merge of both.
    #[test]
    fn only_the_last_of_consecutive_pax_headers_applies() {
        let p = Project::new();
        let shell = tar_layer(&[("bin/sh", tar::EntryType::Regular, &tiny_elf(), 0o755, "")]);
        let base = layout(&p, "base", &[plain(shell.clone())], &["/bin/sh"]);
        let img = layout(
            &p,
            "img",
            &[plain(shell), plain(fixture("pax-multi-hdrs.tar"))],
            &["/bin/sh"],
        );
        let o = p.run(&["image", "diff", &base, &img, "--format", "json"]);
        assert_exit(&o, 0);
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let added: Vec<&str> = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(added, ["/bar"], "{report}");
    }
}

/// `ENV K=C:\\tools\\` ends its instruction there (BuildKit's `trailing-backslash`
/// testfile): the escaped escape is no continuation, so the ENTRYPOINT on the next
/// line is an instruction of its own and its change is seen.
#[test]
fn an_escaped_trailing_backslash_does_not_swallow_the_next_instruction() {
    let p = Project::new();
    p.write(
        "a.Dockerfile",
        "FROM scratch\nENV K=C:\\\\tools\\\\\nENTRYPOINT [\"/app/server\"]\n",
    )
    .write(
        "b.Dockerfile",
        "FROM scratch\nENV K=C:\\\\tools\\\\\nENTRYPOINT [\"/app/server2\"]\n",
    );
    let o = p.run(&["dockerfile", "diff", "a.Dockerfile", "b.Dockerfile"]);
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains("error[startup-changed] b.Dockerfile: ENTRYPOINT changed"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("(b.Dockerfile:3)"), "{}", stdout(&o));
    let o = p.run(&["dockerfile", "diff", "a.Dockerfile", "a.Dockerfile"]);
    assert_exit(&o, 0);
}

/// A few bytes of sparse map can claim terabytes of holes, read as zeros: the image's
/// sparse files may claim 16 GiB in all, past that the layer is refused at once.
#[test]
fn a_sparse_file_claiming_huge_holes_is_refused_at_once() {
    use crate::image::{layout, plain, tar_layer, tiny_elf};
    let p = Project::new();
    let shell = tar_layer(&[("bin/sh", tar::EntryType::Regular, &tiny_elf(), 0o755, "")]);
    let tar = std::fs::read(format!(
        "{}/testdata/tar/sparse-huge-holes.tar",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let img = layout(&p, "img", &[plain(shell), plain(tar)], &["/bin/sh"]);
    let started = std::time::Instant::now();
    let o = p.run_bounded(&["image", "inspect", &img]);
    assert_bad_input(&o, "sparse file `var/log/lastlog` claims 21474836480 bytes");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// A file name such as `x\n::error title=INJECTED::…` printed raw in an exit-2 message
/// started a GitHub workflow command on stderr; text reports left `##[…]` (which the
/// runner obeys anywhere in a line) as it was. Both are defused.
#[test]
fn names_cannot_inject_workflow_commands_into_ci_logs() {
    let p = built_app();
    let evil = "x\n::error title=INJECTED::owned\n##[add-mask]y.json";
    let o = p.run(&["diff", evil, "base.json"]);
    assert_exit(&o, 2);
    for line in stderr(&o).lines() {
        assert!(!line.trim_start().starts_with("::"), "{line:?}");
        assert!(!line.contains("##["), "{line:?}");
    }
    // A changed input whose name carries the old command syntax.
    p.write("src/##[add-mask]secret.go", "v1");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p.write("src/##[add-mask]secret.go", "v2");
    let o = p.run(&["check", "--against", "base.json"]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(out.contains("##\\[add-mask]secret.go"), "{out}");
    assert!(!out.contains("##[add-mask]"), "{out}");
}
