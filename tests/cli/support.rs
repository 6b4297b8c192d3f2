//! A small builder for integration tests: a temporary project directory, files
//! written into it, and the real binary run inside it.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

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

/// The published JSON Schemas (`schemas/`), compiled once.
fn schema(name: &str) -> &'static jsonschema::Validator {
    static MANIFEST: OnceLock<jsonschema::Validator> = OnceLock::new();
    static REPORT: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = match name {
        "manifest" => &MANIFEST,
        _ => &REPORT,
    };
    cell.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schemas")
            .join(format!("{name}.schema.json"));
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// Fails the test when `doc` is a buildproof manifest or report (or an in-toto
/// statement of a manifest) that its published schema rejects. Anything else passes.
#[track_caller]
pub fn validate_document(doc: &serde_json::Value, origin: &str) {
    let (name, value) = match doc.get("schema").and_then(serde_json::Value::as_str) {
        Some("buildproof.manifest/v1") => ("manifest", doc),
        Some("buildproof.report/v1") => ("report", doc),
        _ if doc.get("predicateType").and_then(serde_json::Value::as_str)
            == Some("https://buildproof.dev/manifest/v1") =>
        {
            ("manifest", &doc["predicate"])
        }
        _ => return,
    };
    let errors: Vec<String> = schema(name)
        .iter_errors(value)
        .take(10)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{origin} does not match schemas/{name}.schema.json:\n{}",
        errors.join("\n")
    );
}

/// Validates stdout when it is a buildproof manifest or report.
#[track_caller]
pub fn validate_stdout(o: &Output) {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&o.stdout) {
        validate_document(&doc, "stdout");
    }
}

/// A temporary project. Every manifest and report buildproof writes into it is
/// checked against the published schemas when the project is dropped (files the
/// test wrote itself, valid or deliberately broken, are left alone).
pub struct Project {
    dir: tempfile::TempDir,
    written: RefCell<BTreeMap<PathBuf, Vec<u8>>>,
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let written = self.written.borrow();
        let mut stack = vec![(self.dir.path().to_owned(), 0)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                if meta.is_dir() && depth < 4 {
                    stack.push((path, depth + 1));
                } else if meta.is_file()
                    && meta.len() < 64 << 20
                    && path
                        .extension()
                        .is_some_and(|e| e == "json" || e == "sarif")
                {
                    let Ok(bytes) = std::fs::read(&path) else {
                        continue;
                    };
                    if written.get(&path) == Some(&bytes) {
                        continue;
                    }
                    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                        validate_document(&doc, &path.display().to_string());
                    }
                }
            }
        }
    }
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            written: RefCell::new(BTreeMap::new()),
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
        std::fs::write(&p, contents.as_ref()).unwrap();
        self.written
            .borrow_mut()
            .insert(p, contents.as_ref().to_vec());
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
    #[track_caller]
    pub fn run_bounded(&self, args: &[&str]) -> Output {
        let o = buildproof()
            .current_dir(self.path())
            .args(args)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        validate_stdout(&o);
        o
    }

    /// Runs buildproof with `args` in the project directory; a manifest or report on
    /// stdout is checked against its published schema.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Output {
        let o = buildproof()
            .current_dir(self.path())
            .args(args)
            .output()
            .unwrap();
        validate_stdout(&o);
        o
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

/// The findings of a `--format json` report on stdout (checked against the report
/// schema).
#[track_caller]
pub fn findings(o: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(o)));
    validate_document(&v, "stdout");
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
    let o = buildproof()
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
        .unwrap();
    validate_stdout(&o);
    o
}
