//! A small builder for integration tests: a temporary project directory, files
//! written into it, and the real binary run inside it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The `buildproof` binary under test.
pub fn buildproof() -> Command {
    let mut cmd = Command::cargo_bin("buildproof").expect("binary is built");
    cmd.env_remove("NO_COLOR")
        .env("RUST_BACKTRACE", "0")
        // Stat caches of test projects stay in the build directory, not in ~/.cache.
        .env("XDG_CACHE_HOME", cache_home());
    cmd
}

/// Where the binary under test keeps its stat caches.
pub fn cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("xdg-cache")
}

/// Whether an external tool is on PATH. Locally a missing tool skips the test with a
/// word on stderr; under CI (`CI=true`) it fails it, so nothing passes by not running.
pub fn require_tool(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`{tool}` is required under CI; .ci/run installs it"
        );
        #[allow(clippy::disallowed_macros)]
        {
            eprintln!("skipped: `{tool}` is not installed");
        }
    }
    found
}

/// A temporary project.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file, creating parent directories.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        self
    }

    /// Writes `buildproof.toml`.
    pub fn config(&self, toml: &str) -> &Self {
        self.write("buildproof.toml", toml)
    }

    pub fn mode(&self, rel: &str, mode: u32) -> &Self {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(self.join(rel), std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    pub fn symlink(&self, target: &str, rel: &str) -> &Self {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
        self
    }

    /// Makes a FIFO at `rel`, creating parent directories.
    pub fn fifo(&self, rel: &str) -> &Self {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo {}", p.display());
        self
    }

    /// Runs buildproof like [`Project::run`], failing the test after 20 s: opening a
    /// FIFO blocks until a writer appears, so a timeout means buildproof opened one.
    pub fn run_bounded(&self, args: &[&str]) -> Output {
        buildproof()
            .current_dir(self.path())
            .args(args)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap()
    }

    /// Runs buildproof with `args` in the project directory.
    pub fn run(&self, args: &[&str]) -> Output {
        buildproof()
            .current_dir(self.path())
            .args(args)
            .output()
            .unwrap()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel)).unwrap()
    }
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing both streams when it differs.
#[track_caller]
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Asserts a run could not be judged: exit 2, one line on stderr naming `needle`,
/// no panic text.
#[track_caller]
pub fn assert_bad_input(o: &Output, needle: &str) {
    assert_exit(o, 2);
    let err = stderr(o);
    assert!(
        err.contains(needle),
        "stderr does not name `{needle}`:\n{err}"
    );
    assert!(!err.contains("panicked"), "panic:\n{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "backtrace hint:\n{err}");
    assert!(err.starts_with("buildproof: error: "), "stderr:\n{err}");
}

/// The findings of a `--format json` report on stdout.
pub fn findings(o: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(o)));
    v["findings"].as_array().cloned().unwrap_or_default()
}

/// The rule ids of the findings, with their levels: `["stale-artifact:error"]`.
pub fn rules_of(o: &Output) -> Vec<String> {
    findings(o)
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["rule"].as_str().unwrap(),
                f["level"].as_str().unwrap()
            )
        })
        .collect()
}

/// The README's first command on the shipped demo, as JSON.
pub fn demo_check_json() -> Output {
    buildproof()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "-c",
            "testdata/demo/buildproof.toml",
            "--against",
            "testdata/demo/deployed.json",
            "--format",
            "json",
        ])
        .output()
        .unwrap()
}
