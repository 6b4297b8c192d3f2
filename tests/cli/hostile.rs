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
        .current_dir(p.path())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(stdout(&o).trim(), "exit=1", "{}", stderr(&o));
}
