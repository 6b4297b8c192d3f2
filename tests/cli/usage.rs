//! Daily use: file arguments from stdin, pipes and git revisions; `--quiet` and
//! `--verbose`; examples and exit codes in `--help`; shell completions loaded by
//! bash; the man page rendered by `man`.

use std::process::Command;

use crate::support::*;

const V1: &str = "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n";
const V2: &str = "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\", \"--debug\"]\n";

fn git(p: &Project, args: &[&str]) {
    let o = Command::new("git")
        .current_dir(p.path())
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
}

/// `web/Dockerfile` committed at V1, changed to V2 in the work tree.
fn repo() -> Project {
    let p = Project::new();
    p.write("web/Dockerfile", V1);
    git(&p, &["init", "-q"]);
    git(&p, &["add", "."]);
    git(&p, &["commit", "-q", "-m", "v1"]);
    p.write("web/Dockerfile", V2);
    p
}

fn assert_entrypoint_changed(o: &std::process::Output) {
    assert_exit(o, 1);
    let text = stdout(o);
    assert!(
        text.contains("error[startup-changed] web/Dockerfile: ENTRYPOINT changed from [\"/app\"] to [\"/app\",\"--debug\"]"),
        "{text}{}",
        stderr(o)
    );
}

#[test]
fn dockerfile_diff_reads_git_revisions_stdin_and_process_substitution() {
    if !require_tool("git") || !require_tool("bash") {
        return;
    }
    let p = repo();
    assert_entrypoint_changed(&p.run(&[
        "dockerfile",
        "diff",
        "git:HEAD:web/Dockerfile",
        "web/Dockerfile",
    ]));
    let stdin = buildproof()
        .current_dir(p.path())
        .args(["dockerfile", "diff", "-", "web/Dockerfile"])
        .write_stdin(V1)
        .output()
        .unwrap();
    assert_entrypoint_changed(&stdin);
    // `<(…)` hands over `/dev/fd/63`, a pipe: it used to be refused as a FIFO.
    let bin = assert_cmd::cargo::cargo_bin("buildproof");
    let substituted = Command::new("bash")
        .current_dir(p.path())
        .arg("-c")
        .arg(format!(
            "'{}' dockerfile diff <(git show HEAD:web/Dockerfile) web/Dockerfile",
            bin.display()
        ))
        .output()
        .unwrap();
    assert_entrypoint_changed(&substituted);

    // From a subdirectory, `git:REV:PATH` is relative to it, like any path.
    let sub = buildproof()
        .current_dir(p.join("web"))
        .args(["dockerfile", "diff", "git:HEAD:Dockerfile", "Dockerfile"])
        .output()
        .unwrap();
    assert_exit(&sub, 1);

    assert_bad_input(
        &p.run(&[
            "dockerfile",
            "diff",
            "git:nope:web/Dockerfile",
            "web/Dockerfile",
        ]),
        "cannot read Dockerfile `git:nope:web/Dockerfile`: `git show nope:./web/Dockerfile`",
    );
    let twice = buildproof()
        .current_dir(p.path())
        .args(["dockerfile", "diff", "-", "-"])
        .write_stdin(V1)
        .output()
        .unwrap();
    assert_bad_input(&twice, "standard input can be read only once");
}

#[test]
fn manifests_and_running_state_read_from_stdin_and_git() {
    if !require_tool("git") {
        return;
    }
    let p = Project::new();
    p.write("src/main.go", "package main // v1\n")
        .write("dist/app", "v1")
        .config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"dist/app\"]\n");
    assert_exit(&p.run(&["snapshot", "-o", "release.json"]), 0);
    git(&p, &["init", "-q"]);
    git(&p, &["add", "."]);
    git(&p, &["commit", "-q", "-m", "release"]);
    p.write("src/main.go", "package main // the fix\n");

    // The deployed manifest as committed, through git.
    let o = p.run(&[
        "check",
        "--against",
        "git:HEAD:release.json",
        "--format",
        "json",
    ]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
    // Through stdin.
    let base = p.read("release.json");
    let o = buildproof()
        .current_dir(p.path())
        .args(["diff", "-", "release.json"])
        .write_stdin(base.clone())
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let o = buildproof()
        .current_dir(p.path())
        .args(["verify", "release.json", "--running", "-"])
        .write_stdin(base)
        .output()
        .unwrap();
    assert_exit(&o, 0);
}

#[test]
fn quiet_prints_the_verdict_only_and_verbose_the_matched_files() {
    let p = Project::new();
    p.write("src/main.go", "package main // v1\n")
        .write("src/util.go", "package main\n")
        .write("dist/app", "v1")
        .config("[[component]]\nname = \"app\"\ninputs = [\"src/**\", \"docs/**\"]\noutputs = [\"dist/app\"]\n");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p.write("src/main.go", "package main // the fix\n");

    let quiet = p.run(&["check", "--against", "base.json", "--quiet"]);
    assert_exit(&quiet, 1);
    assert_eq!(
        stdout(&quiet),
        "buildproof check: FAIL: 1 checked, 1 error, 1 warning, 0 notes\n"
    );
    assert_eq!(stderr(&quiet), "");

    let verbose = p.run(&["-v", "check", "--against", "base.json"]);
    assert_exit(&verbose, 1);
    let err = stderr(&verbose);
    assert!(err.contains("app: 2 input files (digest sha256:"), "{err}");
    assert!(
        err.contains("  input src/main.go (file, 24 bytes)\n"),
        "{err}"
    );
    assert!(
        err.contains("  input src/util.go (file, 13 bytes)\n"),
        "{err}"
    );
    assert!(err.contains("  pattern docs/** matched nothing\n"), "{err}");
    assert!(err.contains("  output dist/app sha256:"), "{err}");
    assert!(stdout(&verbose).contains("error[stale-artifact] app"));
    // Which cache was used, and for how many inputs (how many depends on the clock:
    // files written in the cache's own second are never taken from it).
    assert!(err.contains("buildproof: stat cache `"), "{err}");
    assert!(
        err.contains(" of 2 input files unchanged since cached"),
        "{err}"
    );
    let uncached = p.run(&["-v", "check", "--against", "base.json", "--no-cache"]);
    assert!(
        stderr(&uncached).contains("buildproof: stat cache: not used (`--no-cache`)\n"),
        "{}",
        stderr(&uncached)
    );

    let both = p.run(&["check", "--against", "base.json", "-q", "-v"]);
    assert_exit(&both, 2);
}

#[test]
fn every_command_help_has_examples_and_exit_codes() {
    for args in [
        &[][..],
        &["snapshot"],
        &["diff"],
        &["check"],
        &["verify"],
        &["image", "inspect"],
        &["image", "diff"],
        &["dockerfile", "diff"],
        &["nar-hash"],
        &["init"],
        &["completions"],
        &["man"],
    ] {
        let o = buildproof().args(args).arg("--help").output().unwrap();
        assert_exit(&o, 0);
        let help = stdout(&o);
        assert!(help.contains("\nExamples:\n  "), "{args:?}:\n{help}");
        assert!(help.contains("\nExit codes:\n  0  "), "{args:?}:\n{help}");
    }
}

#[test]
fn bash_loads_the_completion_and_completes_commands_and_flags() {
    if !require_tool("bash") {
        return;
    }
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = p.run(&["completions", shell]);
        assert_exit(&o, 0);
        assert!(stdout(&o).contains("buildproof"), "{shell}");
    }
    let o = p.run(&["completions", "bash"]);
    p.write("buildproof.bash", &o.stdout);
    let complete = |line: &str| -> String {
        let words: Vec<&str> = line.split(' ').collect();
        let script = format!(
            "source ./buildproof.bash && complete -p buildproof >/dev/null && COMP_WORDS=({}) COMP_CWORD={} COMP_LINE='{line}' COMP_POINT={} && _buildproof buildproof '{}' '{}' && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            words.join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let o = Command::new("bash")
            .current_dir(p.path())
            .args(["--norc", "--noprofile", "-c", &script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{line}: {}", stderr(&o));
        stdout(&o)
    };
    let commands = complete("buildproof ch");
    assert_eq!(commands.trim(), "check", "{commands}");
    let flags = complete("buildproof check --fail");
    assert!(flags.lines().any(|l| l == "--fail-on"), "{flags}");
    let shells = complete("buildproof completions ");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(shells.lines().any(|l| l == shell), "{shells}");
    }
}

#[test]
fn man_renders_the_page_and_each_commands_page() {
    if !require_tool("man") {
        return;
    }
    let p = Project::new();
    for (args, page, needle) in [
        (&["man"][..], "buildproof.1", "buildproof-check(1)"),
        (&["man", "check"][..], "buildproof-check.1", "--against"),
        (
            &["man", "image", "inspect"][..],
            "buildproof-image-inspect.1",
            "IMAGE",
        ),
    ] {
        let o = p.run(args);
        assert_exit(&o, 0);
        p.write(page, &o.stdout);
        let rendered = Command::new("man")
            .current_dir(p.path())
            .env("MANWIDTH", "80")
            .args(["-P", "cat", "-l", page])
            .output()
            .unwrap();
        assert!(rendered.status.success(), "{}", stderr(&rendered));
        let text = stdout(&rendered);
        assert!(text.contains("NAME"), "{text}");
        assert!(text.contains(needle), "{page}: {text}");
        assert!(text.contains("Exit codes:"), "{page}: {text}");
        // No roff warnings.
        assert_eq!(stderr(&rendered), "", "{page}");
    }
    assert_bad_input(&p.run(&["man", "nope"]), "has no command `nope`");
}

/// `--fail-on` (here until the reports branch brings it to every command with the
/// verdict line to match): the lowest level that makes the exit code 1.
#[test]
fn fail_on_sets_the_failing_level() {
    let p = Project::new();
    p.write("src/main.go", "package main\n")
        .write("dist/app", "v1")
        .config("[[component]]\nname = \"app\"\ninputs = [\"src/**\", \"docs/**\"]\noutputs = [\"dist/app\"]\n");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    // `unmatched-pattern` alone: a warning.
    let check = |level: &str| p.run(&["check", "--against", "base.json", "--fail-on", level]);
    assert_exit(&p.run(&["check", "--against", "base.json"]), 0);
    assert_exit(&check("error"), 0);
    assert_exit(&check("warning"), 1);
    p.write("src/main.go", "package main // the fix\n");
    assert_exit(&check("error"), 1);
    assert_exit(&check("never"), 0);
}
