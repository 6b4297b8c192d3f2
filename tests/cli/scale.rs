//! Speed and scale: the stat cache (a warm re-run reads no input, and is still never
//! fooled), many components in one walk, shards merged back into one manifest, and
//! the progress bar that appears only on a terminal.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::*;

/// The `--stats` line of a run.
fn stats(o: &std::process::Output) -> String {
    stderr(o)
        .lines()
        .find(|l| l.starts_with("buildproof: stats:"))
        .unwrap_or_else(|| panic!("no stats line in: {}", stderr(o)))
        .to_owned()
}

/// The manifest without its `created` line, which is all two snapshots of the same
/// tree may differ in.
fn without_created(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("\"created\""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The stat cache file of a project, as buildproof names it.
fn cache_file(project: &Path) -> PathBuf {
    let root = fs::canonicalize(project).unwrap();
    let key = buildproof::digest::Digest::of(root.as_os_str().as_encoded_bytes()).hex();
    cache_home()
        .join("buildproof/stat")
        .join(format!("{}.bin", &key[..32]))
}

fn cached_project() -> Project {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"out\"]\n")
        .write("src/a.txt", "alpha")
        .write("src/b.txt", "bravo")
        .write("src/c/d.txt", "delta")
        .symlink("a.txt", "src/link")
        .write("out", "built");
    // Entries changed in the clock tick a run starts in are racy and not cached; a
    // moment's wait keeps the first run from meeting this tree in its own tick.
    std::thread::sleep(Duration::from_millis(50));
    p
}

#[test]
fn a_warm_rerun_reads_no_input_and_a_same_size_rewrite_is_still_caught() {
    let p = cached_project();
    let first = p.run(&["snapshot", "--stats", "-o", "m1.json"]);
    assert_exit(&first, 0);
    assert!(
        stats(&first).contains("inputs: 4 files, 0 from the stat cache, 4 hashed"),
        "{}",
        stats(&first)
    );
    assert!(
        cache_file(p.path()).is_file(),
        "the cache is under $XDG_CACHE_HOME"
    );

    let warm = p.run(&["snapshot", "--stats", "-o", "m2.json"]);
    assert_exit(&warm, 0);
    assert!(
        stats(&warm).contains("4 from the stat cache, 0 hashed, 0 bytes read"),
        "{}",
        stats(&warm)
    );
    assert_eq!(
        without_created(&p.read("m1.json")),
        without_created(&p.read("m2.json"))
    );

    // Rewritten in place at the same size, and its mtime set back to the very
    // nanosecond it had: only the ctime tells, and that is enough.
    let a = p.join("src/a.txt");
    let mtime = fs::metadata(&a).unwrap().modified().unwrap();
    fs::write(&a, "ALPHA").unwrap();
    fs::File::options()
        .write(true)
        .open(&a)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(fs::metadata(&a).unwrap().modified().unwrap(), mtime);
    let after = p.run(&["snapshot", "--stats", "-o", "m3.json"]);
    assert_exit(&after, 0);
    assert!(
        stats(&after).contains("3 from the stat cache, 1 hashed"),
        "{}",
        stats(&after)
    );
    let m3: serde_json::Value = serde_json::from_str(&p.read("m3.json")).unwrap();
    let digest = m3["components"]["app"]["inputs"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/a.txt")
        .unwrap()["digest"]
        .clone();
    assert_eq!(
        digest,
        buildproof::digest::Digest::of(b"ALPHA").to_string(),
        "the new content is recorded"
    );

    // Without the cache, everything is read again.
    let cold = p.run(&["snapshot", "--stats", "--no-cache", "-o", "m4.json"]);
    assert!(stats(&cold).contains("0 from the stat cache, 4 hashed"));
}

/// A file changed in the same clock tick as the run that cached it could keep its
/// stat while its content moves on (git's "racy clean" entries): such a file is not
/// cached, so the next run reads it again.
#[test]
fn a_file_changed_as_the_run_starts_is_not_cached() {
    let p = cached_project();
    // Rewritten right before the run: its ctime is not older than the run's start.
    let racy_run = || {
        p.write("src/b.txt", "BRAVO");
        p.run(&["snapshot", "--stats", "-o", "m.json"])
    };
    let mut racy_seen = false;
    // The change and the run's clock reading fall in one tick only some of the
    // time; a few tries make one of them likely.
    for _ in 0..20 {
        assert_exit(&racy_run(), 0);
        let next = p.run(&["snapshot", "--stats", "-o", "m.json"]);
        if stats(&next).contains("1 hashed") {
            racy_seen = true;
            break;
        }
    }
    // Whatever the timing, a warm run after a pause never reads `b` again.
    std::thread::sleep(Duration::from_millis(50));
    assert_exit(&p.run(&["snapshot", "-o", "m.json"]), 0);
    let settled = p.run(&["snapshot", "--stats", "-o", "m.json"]);
    assert!(stats(&settled).contains("0 hashed"), "{}", stats(&settled));
    if !racy_seen {
        #[allow(clippy::disallowed_macros)]
        {
            eprintln!("note: no change fell in the tick of a run's start in 20 tries");
        }
    }
}

#[test]
fn a_damaged_stat_cache_is_ignored_with_a_note_and_rewritten() {
    let p = cached_project();
    assert_exit(&p.run(&["snapshot", "-o", "m1.json"]), 0);
    let file = cache_file(p.path());
    let good = fs::read(&file).unwrap();
    for damaged in [good[..good.len() / 2].to_vec(), {
        let mut d = good.clone();
        let i = d.len() / 2;
        d[i] ^= 0x40;
        d
    }] {
        fs::write(&file, damaged).unwrap();
        let o = p.run(&["snapshot", "--stats", "-o", "m2.json"]);
        assert_exit(&o, 0);
        assert!(
            stderr(&o).contains("note: ignoring the stat cache")
                && stderr(&o).contains("damaged or truncated"),
            "{}",
            stderr(&o)
        );
        assert!(stats(&o).contains("0 from the stat cache, 4 hashed"));
        assert_eq!(
            without_created(&p.read("m1.json")),
            without_created(&p.read("m2.json"))
        );
        // Rewritten whole: the next run trusts it again.
        let next = p.run(&["snapshot", "--stats", "-o", "m3.json"]);
        assert!(
            stats(&next).contains("4 from the stat cache"),
            "{}",
            stats(&next)
        );
    }
}

/// 3,000 components over 6,000 files in a git work tree, with tracked files that
/// `.gitignore` matches. Walking once per component (and asking git once per
/// component) took over ten minutes for this in a release build; one walk takes a
/// second or two in a debug build. The bound is generous for a loaded machine.
#[test]
fn three_thousand_components_are_selected_in_one_walk() {
    if !require_tool("git") {
        return;
    }
    let p = Project::new();
    let mut config = String::new();
    for i in 0..3000 {
        let d = format!("c{i:04}");
        p.write(&format!("{d}/src/a.txt"), &d)
            .write(&format!("{d}/b.gen"), &d);
        config.push_str(&format!(
            "[[component]]\nname = \"{d}\"\ninputs = [\"{d}/**\"]\noutputs = [\"{d}/src/a.txt\"]\n\n"
        ));
    }
    p.config(&config).write(".gitignore", "*.gen\n");
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(p.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    // Tracked although ignored: inputs all the same.
    git(&["add", "-f", "--", "*.gen"]);
    git(&["commit", "-qm", "tree"]);
    let start = Instant::now();
    let o = p.run(&["snapshot", "--stats", "-o", "m.json"]);
    let took = start.elapsed();
    assert_exit(&o, 0);
    assert!(
        took < Duration::from_secs(60),
        "3,000 components took {took:?}"
    );
    assert!(stats(&o).contains("inputs: 6000 files"), "{}", stats(&o));
    let m: serde_json::Value = serde_json::from_str(&p.read("m.json")).unwrap();
    let c = &m["components"]["c1234"]["inputs"]["files"];
    let paths: Vec<&str> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["c1234/b.gen", "c1234/src/a.txt"]);
}

fn sharded_project() -> Project {
    let p = Project::new();
    let mut config = String::new();
    for name in ["api", "web", "worker", "cli", "docs"] {
        p.write(&format!("{name}/main.go"), format!("package {name}\n"))
            .write(&format!("{name}/out/bin"), format!("built {name}\n"))
            .write(&format!("shared/{name}.proto"), name);
        config.push_str(&format!(
            "[[component]]\nname = \"{name}\"\ninputs = [\"{name}/*.go\", \"shared/**\"]\noutputs = [\"{name}/out\"]\n\n"
        ));
    }
    p.config(&config);
    p
}

#[test]
fn merged_shards_equal_one_snapshot_but_for_created() {
    let p = sharded_project();
    assert_exit(&p.run(&["snapshot", "-o", "all.json"]), 0);
    let mut shards = Vec::new();
    for i in 1..=3 {
        let name = format!("shard{i}.json");
        assert_exit(
            &p.run(&["snapshot", "--shard", &format!("{i}/3"), "-o", &name]),
            0,
        );
        let m: serde_json::Value = serde_json::from_str(&p.read(&name)).unwrap();
        assert!(
            !m["components"].as_object().unwrap().is_empty(),
            "shard {i} is empty"
        );
        shards.push(name);
    }
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["-o", "merged.json"]);
    assert_exit(&p.run(&args), 0);
    assert_eq!(
        without_created(&p.read("merged.json")),
        without_created(&p.read("all.json"))
    );

    // `--component` picks by name; the same component in two parts merges when
    // identical.
    assert_exit(
        &p.run(&[
            "snapshot",
            "--component",
            "web",
            "--component",
            "api",
            "-o",
            "two.json",
        ]),
        0,
    );
    let two: serde_json::Value = serde_json::from_str(&p.read("two.json")).unwrap();
    let names: Vec<&String> = two["components"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["api", "web"]);
    assert_exit(
        &p.run(&["merge", "two.json", "merged.json", "-o", "again.json"]),
        0,
    );
    assert_eq!(
        without_created(&p.read("again.json")),
        without_created(&p.read("merged.json"))
    );
}

#[test]
fn conflicting_shards_and_unknown_components_are_exit_2() {
    let p = sharded_project();
    assert_exit(
        &p.run(&["snapshot", "--component", "web", "-o", "a.json"]),
        0,
    );
    p.write("web/main.go", "package web // changed\n");
    assert_exit(
        &p.run(&["snapshot", "--component", "web", "-o", "b.json"]),
        0,
    );
    let o = p.run(&["merge", "a.json", "b.json", "-o", "m.json"]);
    assert_bad_input(
        &o,
        "component `web` is in `a.json` and in `b.json` with different records",
    );
    assert!(!p.join("m.json").exists(), "nothing written");

    assert_bad_input(
        &p.run(&["snapshot", "--component", "nope"]),
        "`--component nope`",
    );
    for bad in ["0/3", "4/3", "1/0", "x", "1-3"] {
        let o = p.run(&["snapshot", "--shard", bad]);
        assert_exit(&o, 2);
        assert!(
            stderr(&o).contains("is not a shard"),
            "{bad}: {}",
            stderr(&o)
        );
    }
}

/// The bar is drawn on a terminal (`script` gives stderr a pseudo-terminal), with
/// the phase, files and bytes; `--quiet` silences it; without a terminal stderr gets
/// none of it, and the manifest on stdout never does.
#[test]
fn progress_only_on_a_terminal_and_never_with_quiet() {
    if !require_tool("script") {
        return;
    }
    let p = cached_project();
    // Long enough to be drawn a few times (a sparse file: no disk space).
    fs::File::create(p.join("src/big"))
        .unwrap()
        .set_len(256 << 20)
        .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("buildproof");
    let on_tty = |extra: &str| {
        let o = std::process::Command::new("script")
            .args(["-qec"])
            .arg(format!(
                "{} snapshot --no-cache -o m.json {extra}",
                bin.display()
            ))
            .arg("/dev/null")
            .current_dir(p.path())
            .env("BUILDPROOF_PROGRESS_DELAY_MS", "0")
            .env("XDG_CACHE_HOME", cache_home())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        stdout(&o)
    };
    let shown = on_tty("");
    assert!(
        shown.contains("hashing inputs: ") && shown.contains(" files") && shown.contains("MiB"),
        "no progress on a terminal: {shown:?}"
    );
    assert!(shown.contains("\u{1b}[2K"), "the bar is cleared: {shown:?}");
    let quiet = on_tty("--quiet");
    assert!(
        !quiet.contains("inputs"),
        "progress despite --quiet: {quiet:?}"
    );

    let piped = buildproof()
        .current_dir(p.path())
        .env("BUILDPROOF_PROGRESS_DELAY_MS", "0")
        .args(["snapshot", "--no-cache"])
        .output()
        .unwrap();
    assert_exit(&piped, 0);
    assert!(stderr(&piped).is_empty(), "{}", stderr(&piped));
    let manifest: serde_json::Value = serde_json::from_slice(&piped.stdout).unwrap();
    assert!(manifest["components"]["app"].is_object());
}

/// An input rewritten in place at the same size while `snapshot` reads it: the
/// manifest records content the file really held (between two of the writer's
/// `write`s), or the run stops with exit 2 naming the file. Before the stat
/// comparison, most such runs recorded bytes of two moments mixed, with exit 0.
#[test]
fn an_input_rewritten_while_hashed_is_recorded_whole_or_refused() {
    const MIB: usize = 1 << 20;
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"out\"]\n")
        .write("out", "built");
    let (old, new) = (vec![b'a'; 8 * MIB], vec![b'b'; 8 * MIB]);
    p.write("src/big", &old);
    let mut held = Vec::new();
    for k in 0..=8 {
        for (x, y) in [(&old, &new), (&new, &old)] {
            let mut v = x[..k * MIB].to_vec();
            v.extend_from_slice(&y[k * MIB..]);
            held.push(buildproof::digest::Digest::of(&v).to_string());
        }
    }
    let path = p.join("src/big");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (mut recorded, mut refused) = (0, 0);
    std::thread::scope(|s| {
        s.spawn(|| {
            use std::io::{Seek, Write};
            let mut f = fs::OpenOptions::new().write(true).open(&path).unwrap();
            let mut flip = false;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                flip = !flip;
                f.rewind().unwrap();
                for piece in (if flip { &new } else { &old }).chunks(MIB) {
                    f.write_all(piece).unwrap();
                }
            }
        });
        for _ in 0..6 {
            let o = p.run(&["snapshot", "--no-cache", "-o", "m.json"]);
            match o.status.code() {
                Some(0) => {
                    let m: serde_json::Value = serde_json::from_str(&p.read("m.json")).unwrap();
                    let digest = m["components"]["app"]["inputs"]["files"][0]["digest"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    assert!(
                        held.contains(&digest),
                        "a torn digest was recorded: {digest}"
                    );
                    recorded += 1;
                }
                _ => {
                    assert_bad_input(&o, "`src/big` changed while it was being hashed");
                    refused += 1;
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(recorded + refused, 6);
}
