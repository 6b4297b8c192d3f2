//! Static startup verification on real Debian bookworm images (`testdata/debian`):
//! every case's verdict and cause, against what podman + runc really did when the
//! image was started (`testdata/debian/podman-results.txt`); under CI those outcomes
//! are re-derived by starting every image again.
//!
//! Each case's Containerfile says what it shows: `# expect: ok` or `# expect: broken
//! KIND`; `# app-level: fails` when the program starts and then gives up by itself
//! (a failure no static check can see); `# level: warning` for a library that is in
//! the image but outside the loader's paths; `# cause: TEXT` that buildproof's
//! finding must say. Verdicts and causes are asserted, never digests: a point release
//! of a Debian package changes nothing here.
//!
//! The images are built once per test run by `testdata/debian/build.sh` (on the base
//! that `base.sh` caches under `$HOME/.cache/buildproof`, keyed by its recipe), with
//! overlay storage where it works and vfs where it does not, and reused while nothing
//! in `testdata/debian` changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use buildproof::digest::Digest;
use serde_json::Value;

use crate::support::*;

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/debian")
}

/// The built images and the storage driver that built them.
struct Built {
    dir: PathBuf,
    driver: String,
}

/// What the images are built from: every file of `testdata/debian` but the results
/// and the scripts that only read them.
fn recipe() -> Digest {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&here(), &mut files);
    files.sort();
    let mut all = Vec::new();
    for f in files {
        let name = f
            .strip_prefix(here())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if ["podman-results.txt", "README.md", "run.sh", "check.sh"].contains(&name.as_str()) {
            continue;
        }
        all.extend_from_slice(name.as_bytes());
        all.push(0);
        all.extend_from_slice(&std::fs::read(&f).unwrap());
        all.push(0);
    }
    Digest::of(&all)
}

/// Builds every case image once per test run (reused across runs while the recipe
/// is unchanged); `None` when a tool is missing (skipped locally, a failure in CI).
fn built() -> Option<&'static Built> {
    static BUILT: OnceLock<Option<Built>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            for tool in ["mmdebstrap", "buildah", "skopeo", "gcc"] {
                if !require_tool(tool) {
                    return None;
                }
            }
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("debian-images");
            let stamp = dir.join("recipe.txt");
            let recipe = recipe().to_string();
            if let Ok(text) = std::fs::read_to_string(&stamp) {
                if let Some((r, driver)) = text.trim().split_once(' ') {
                    if r == recipe {
                        return Some(Built {
                            dir,
                            driver: driver.to_owned(),
                        });
                    }
                }
            }
            // overlay is 10–20 times faster than vfs where the kernel allows it.
            for driver in ["overlay", "vfs"] {
                let _ = std::fs::remove_dir_all(&dir);
                let status = Command::new(here().join("build.sh"))
                    .arg(&dir)
                    .env("STORAGE_DRIVER", driver)
                    .status()
                    .expect("run testdata/debian/build.sh");
                if status.success() {
                    std::fs::write(&stamp, format!("{recipe} {driver}\n")).unwrap();
                    return Some(Built {
                        dir,
                        driver: driver.to_owned(),
                    });
                }
                #[allow(clippy::disallowed_macros)]
                {
                    eprintln!("testdata/debian/build.sh failed with {driver} storage");
                }
            }
            panic!("testdata/debian/build.sh failed with overlay and with vfs storage");
        })
        .as_ref()
}

/// What a case's Containerfile says it shows.
#[derive(Debug)]
struct Spec {
    /// `None`: it starts; `Some(KIND)`: it fails for that reason.
    broken: Option<String>,
    app_level: bool,
    warning: bool,
    cause: Option<String>,
}

fn spec(case: &str) -> Spec {
    let text = std::fs::read_to_string(here().join(case).join("Containerfile")).unwrap();
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_owned)
    };
    let expect = line("# expect: ").unwrap_or_else(|| panic!("{case}: no `# expect:` line"));
    Spec {
        broken: expect.strip_prefix("broken ").map(str::to_owned),
        app_level: line("# app-level: ").is_some(),
        warning: line("# level: ").is_some_and(|l| l.starts_with("warning")),
        cause: line("# cause: "),
    }
}

/// The recorded real outcome: `started` or `failed`, and the line podman printed.
fn recorded(case: &str) -> (String, String) {
    let text = std::fs::read_to_string(here().join("podman-results.txt")).unwrap();
    text.lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, " :: ");
            (parts.next() == Some(case)).then(|| {
                (
                    parts.next().unwrap_or_default().to_owned(),
                    parts.next().unwrap_or_default().to_owned(),
                )
            })
        })
        .unwrap_or_else(|| panic!("{case}: not in podman-results.txt"))
}

/// The buildproof problem kinds that stand for a case's KIND.
fn kinds_for(kind: &str) -> &'static [&'static str] {
    match kind {
        "not-readable" => &["not-readable"],
        "not-executable" => &["not-executable"],
        "library-missing" => &["library-missing"],
        "loader-missing" => &["loader-missing", "loader-mismatch"],
        "interpreter-missing" => &["interpreter-missing", "env-program-missing"],
        "command-missing" => &["not-in-path", "not-found"],
        "wrapped-command-missing" => &["wrapped-command-missing"],
        "script-missing" => &["script-missing"],
        "user-unknown" => &["user-unknown"],
        other => panic!("unknown KIND `{other}` (testdata/debian/README.md lists them)"),
    }
}

/// `image inspect --format json` of a case, run once per test run whichever test
/// asks first (each case's test and the confusion matrix share it).
fn inspected(built: &Built, case: &str) -> std::process::Output {
    type Memo = Mutex<BTreeMap<String, Arc<OnceLock<std::process::Output>>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let cell = MEMO
        .get_or_init(Memo::default)
        .lock()
        .unwrap()
        .entry(case.to_owned())
        .or_default()
        .clone();
    cell.get_or_init(|| inspect(&built.dir.join(format!("{case}.oci")), "json"))
        .clone()
}

fn inspect(image: &Path, format: &str) -> std::process::Output {
    buildproof()
        .args(["image", "inspect"])
        .arg(image)
        .args(["--format", format])
        .output()
        .unwrap()
}

/// One case: its recorded real outcome agrees with what it says it shows, and
/// buildproof's verdict (and, for a broken one, its kind, level and cause) with both.
fn check_case(case: &str) {
    let spec = spec(case);
    let (outcome, podman) = recorded(case);
    let agrees = match (&spec.broken, outcome.as_str()) {
        (None, "started") | (Some(_), "failed") => true,
        (None, "failed") => spec.app_level,
        _ => false,
    };
    assert!(
        agrees,
        "{case}: the Containerfile says {:?}, podman recorded `{outcome}`: {podman}",
        spec.broken
    );
    let Some(built) = built() else {
        return;
    };
    let o = inspected(built, case);
    let found = findings(&o);
    let said: Vec<String> = found
        .iter()
        .map(|f| format!("{}[{}]: {}", f["level"], f["rule"], f["message"]))
        .collect();
    let Some(kind) = &spec.broken else {
        assert!(
            found.is_empty(),
            "{case}: podman: {outcome}: {podman}\nbuildproof: {said:#?}"
        );
        assert_exit(&o, 0);
        return;
    };
    assert_eq!(
        found.len(),
        1,
        "{case}: podman: {podman}\nbuildproof: {said:#?}"
    );
    let f = &found[0];
    let got = f["details"]["kind"].as_str().unwrap_or_default();
    assert!(
        kinds_for(kind).contains(&got),
        "{case}: expected {kind}, buildproof says {got}: {said:#?}"
    );
    let level = if spec.warning { "warning" } else { "error" };
    assert_eq!(f["level"], level, "{case}: {said:#?}");
    assert_exit(&o, if spec.warning { 0 } else { 1 });
    let cause = spec
        .cause
        .unwrap_or_else(|| panic!("{case}: a broken case needs a `# cause:` line"));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&cause),
        "{case}: the message does not say `{cause}`:\n{message}\n(podman: {podman})"
    );
}

macro_rules! cases {
    ($($test:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_case($case);
            }
        )*
        const CASES: &[&str] = &[$($case),*];
    };
}

cases! {
    app_nginx_nobody => "app-nginx-nobody",
    app_python_m_missing => "app-python-m-missing",
    broken_awk_alternative_dangling => "broken-awk-alternative-dangling",
    broken_c_no_libcrypto => "broken-c-no-libcrypto",
    broken_catatonit_missing => "broken-catatonit-missing",
    broken_dumb_init_python => "broken-dumb-init-python",
    broken_env_i_python => "broken-env-i-python",
    broken_gosu_script_0711 => "broken-gosu-script-0711",
    broken_gosu_unknown_user => "broken-gosu-unknown-user",
    broken_ldconf_no_ldconfig => "broken-ldconf-no-ldconfig",
    broken_lib_outside_loader_path => "broken-lib-outside-loader-path",
    broken_musl_loader => "broken-musl-loader",
    broken_node_missing_script => "broken-node-missing-script",
    broken_node_no_libicuuc => "broken-node-no-libicuuc",
    broken_perl_missing_script => "broken-perl-missing-script",
    broken_php_missing_script => "broken-php-missing-script",
    broken_python_missing_script => "broken-python-missing-script",
    broken_python_no_libz => "broken-python-no-libz",
    broken_ruby_missing_script => "broken-ruby-missing-script",
    broken_runpath_origin_missing => "broken-runpath-origin-missing",
    broken_script_0711_nobody => "broken-script-0711-nobody",
    broken_script_not_executable => "broken-script-not-executable",
    broken_setpriv_missing => "broken-setpriv-missing",
    broken_sh_script_0700_nobody => "broken-sh-script-0700-nobody",
    broken_shebang_env_python => "broken-shebang-env-python",
    broken_shebang_python => "broken-shebang-python",
    broken_shell_exec_python => "broken-shell-exec-python",
    broken_tini_missing => "broken-tini-missing",
    broken_user_unknown => "broken-user-unknown",
    broken_usr_local_no_ldconfig => "broken-usr-local-no-ldconfig",
    broken_workdir_root_script => "broken-workdir-root-script",
    ok_awk_alternatives => "ok-awk-alternatives",
    ok_c_libcrypto => "ok-c-libcrypto",
    ok_catatonit => "ok-catatonit",
    ok_dumb_init_python3 => "ok-dumb-init-python3",
    ok_elf_0711_uid => "ok-elf-0711-uid",
    ok_env_i => "ok-env-i",
    ok_env_s => "ok-env-s",
    ok_env_var => "ok-env-var",
    ok_gosu_nobody => "ok-gosu-nobody",
    ok_ldconf_ldconfig => "ok-ldconf-ldconfig",
    ok_lib_ld_library_path => "ok-lib-ld-library-path",
    ok_nginx => "ok-nginx",
    ok_node => "ok-node",
    ok_perl => "ok-perl",
    ok_php => "ok-php",
    ok_python_m => "ok-python-m",
    ok_ruby => "ok-ruby",
    ok_runpath_origin => "ok-runpath-origin",
    ok_script_0711_root => "ok-script-0711-root",
    ok_setpriv => "ok-setpriv",
    ok_sh_script_0700_root => "ok-sh-script-0700-root",
    ok_shebang_env_s => "ok-shebang-env-s",
    ok_shebang_python3 => "ok-shebang-python3",
    ok_shell_exec_python3 => "ok-shell-exec-python3",
    ok_shell_form => "ok-shell-form",
    ok_tini => "ok-tini",
    ok_usr_local_ldconfig => "ok-usr-local-ldconfig",
    ok_workdir_script => "ok-workdir-script",
}

#[test]
fn every_case_has_a_test_and_a_recorded_outcome() {
    let mut dirs: Vec<String> = std::fs::read_dir(here())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Containerfile").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed = CASES.to_vec();
    listed.sort_unstable();
    assert_eq!(dirs, listed, "add the new case to `cases!` in this file");
    for case in CASES {
        recorded(case);
    }
}

/// The confusion matrix of the figures in docs/images.md: recall on exec-level
/// failures and no false alarm, with app-level failures apart.
#[test]
fn no_exec_level_failure_is_missed_and_no_working_image_is_flagged() {
    let Some(built) = built() else {
        return;
    };
    let (mut caught, mut missed, mut alarms, mut quiet, mut app) = (0, 0, 0, 0, 0);
    for case in CASES {
        let spec = spec(case);
        let (outcome, _) = recorded(case);
        let flagged = !findings(&inspected(built, case)).is_empty();
        match (outcome.as_str(), spec.app_level, flagged) {
            ("failed", false, true) => caught += 1,
            ("failed", false, false) => missed += 1,
            ("failed", true, false) => app += 1,
            (_, _, true) => alarms += 1,
            _ => quiet += 1,
        }
    }
    assert_eq!(
        (missed, alarms),
        (0, 0),
        "caught {caught}, quiet {quiet}, app-level {app}"
    );
    assert_eq!(caught + missed + alarms + quiet + app, CASES.len());
}

// `image inspect` in text: argv as JSON arrays, what argv[0] resolves to through
// /etc/alternatives, "the command resolves" without an entrypoint, the labels.
#[test]
fn inspect_text_shows_argv_the_resolved_command_and_labels() {
    let Some(built) = built() else {
        return;
    };
    let o = inspect(&built.dir.join("ok-awk-alternatives.oci"), "text");
    assert_exit(&o, 0);
    let text = stdout(&o);
    for line in [
        "cmd: [\"awk\",\"BEGIN { print \\\"awk started\\\" }\"]\n",
        "command: awk → /usr/bin/awk → /etc/alternatives/awk → /usr/bin/mawk\n",
        "startup_verification: ok: the command resolves and can be executed\n",
        "labels: {\"io.buildah.version\":",
        "\"org.opencontainers.image.description\":\"buildproof test base: Debian bookworm minbase",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
    let o = inspect(&built.dir.join("ok-tini.oci"), "text");
    let text = stdout(&o);
    assert!(text.contains("entrypoint: [\"tini\",\"--\"]\n"), "{text}");
    assert!(text.contains("ok: the entrypoint resolves"), "{text}");
}

// podman: `node: error while loading shared libraries: libicuuc.so.72` after the
// RUN that deleted it; `image diff` names that deletion as the cause.
#[test]
fn image_diff_names_the_removed_library_behind_the_broken_start() {
    let Some(built) = built() else {
        return;
    };
    let o = buildproof()
        .args(["image", "diff"])
        .arg(built.dir.join("ok-node.oci"))
        .arg(built.dir.join("broken-node-no-libicuuc.oci"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_exit(&o, 1);
    let found = findings(&o);
    let f = found
        .iter()
        .find(|f| f["rule"] == "library-missing")
        .unwrap_or_else(|| panic!("{found:#?}"));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("since the old image: `/usr/lib/x86_64-linux-gnu/libicuuc.so.72` removed (a symlink to `libicuuc.so.72.1`)"),
        "{message}"
    );
    let causes: Vec<&Value> = f["details"]["caused_by"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(causes.len(), 1, "{causes:#?}");
    assert_eq!(causes[0]["change"], "removed");
    assert_eq!(
        causes[0]["path"],
        "/usr/lib/x86_64-linux-gnu/libicuuc.so.72"
    );
}

/// Under CI (or with `BUILDPROOF_PODMAN=1`), every image is started again with
/// podman + runc (`testdata/debian/run.sh`, ~80 s with overlay storage) and each
/// outcome must be the recorded one, so podman-results.txt cannot go stale.
#[test]
fn podman_still_gives_the_recorded_outcomes() {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !ci && std::env::var_os("BUILDPROOF_PODMAN").is_none() {
        #[allow(clippy::disallowed_macros)]
        {
            eprintln!(
                "skipped: set BUILDPROOF_PODMAN=1 to start every testdata/debian image with podman"
            );
        }
        return;
    }
    if !require_tool("podman") || !require_tool("runc") {
        return;
    }
    let Some(built) = built() else {
        return;
    };
    let out = Command::new(here().join("run.sh"))
        .arg(&built.dir)
        .env("STORAGE_DRIVER", &built.driver)
        .output()
        .expect("run testdata/debian/run.sh");
    let results = String::from_utf8_lossy(&out.stdout).into_owned();
    let results_file = built.dir.join("podman-results.txt");
    std::fs::write(&results_file, &results).unwrap();
    let mut differ = Vec::new();
    for case in CASES {
        let (want, line) = recorded(case);
        let got = results.lines().find_map(|l| {
            let mut parts = l.splitn(3, " :: ");
            (parts.next() == Some(*case)).then(|| {
                (
                    parts.next().unwrap_or_default().to_owned(),
                    parts.next().unwrap_or_default().to_owned(),
                )
            })
        });
        match got {
            Some((outcome, _)) if outcome == want => {}
            Some((outcome, now)) => differ.push(format!(
                "{case}: recorded {want} ({line}), now {outcome} ({now})"
            )),
            None => differ.push(format!("{case}: no result from run.sh")),
        }
    }
    assert!(
        differ.is_empty(),
        "podman now disagrees with podman-results.txt:\n{}\nrun.sh stderr:\n{}",
        differ.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    let check = Command::new(here().join("check.sh"))
        .arg(&results_file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
