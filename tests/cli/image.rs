//! Tests for the image capability: real images built by buildah from
//! `testdata/images/*/Dockerfile` (see `testdata/images/build.sh`), and hand-made
//! hostile layouts.
//!
//! How each startup expectation was established: every fixture was started with
//! `podman --storage-driver vfs --runtime runc run --rm oci:<fixture>.oci:latest`
//! (`testdata/images/run.sh`); the outcome of that run is quoted in each test and
//! kept in `testdata/images/podman-results.txt`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use buildproof::digest::Digest;
use serde_json::{Value, json};

use crate::support::*;

/// Builds every fixture image once per test run; `None` when buildah is missing
/// (skipped locally, a failure under CI).
fn fixtures() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !require_tool("buildah") || !require_tool("gcc") {
            return None;
        }
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("image-fixtures");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/images/build.sh");
        let status = std::process::Command::new(script)
            .arg(&out)
            .status()
            .expect("run build.sh");
        assert!(status.success(), "testdata/images/build.sh failed");
        Some(out)
    })
    .as_deref()
}

fn fixture(name: &str) -> Option<String> {
    fixtures().map(|d| d.join(name).to_string_lossy().into_owned())
}

fn run(args: &[&str]) -> std::process::Output {
    buildproof().args(args).output().unwrap()
}

fn inspect_json(image: &str) -> std::process::Output {
    run(&["image", "inspect", image, "--format", "json"])
}

fn report(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// Asserts `image inspect` finds exactly one `startup-broken` error whose message
/// names `needle`, and that the finding carries the reference as typed.
#[track_caller]
fn assert_broken(name: &str, needle: &str) {
    let Some(image) = fixture(&format!("{name}.oci")) else {
        return;
    };
    let o = inspect_json(&image);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["startup-broken:error"]);
    let f = &findings(&o)[0];
    let message = f["message"].as_str().unwrap();
    assert!(message.contains(needle), "{message}");
    assert_eq!(f["component"], image.as_str());
    // With no config or Dockerfile, the finding points at the image itself.
    assert_eq!(f["details"]["location"]["file"], image.as_str());
}

#[track_caller]
fn assert_starts(name: &str) {
    let Some(image) = fixture(&format!("{name}.oci")) else {
        return;
    };
    let o = inspect_json(&image);
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), Vec::<String>::new());
    let r = report(&o);
    assert!(
        r["startup_verification"]
            .as_str()
            .unwrap()
            .starts_with("ok")
    );
}

// podman: `stat /app/server: no such file or directory`.
#[test]
fn startup_broken_when_multistage_copy_misses_the_binary() {
    assert_broken(
        "broken-multistage",
        "`/app/server` does not exist in the image",
    );
}

// podman: `exec: "/app/server": permission denied`.
#[test]
fn startup_broken_when_exec_bit_is_lost() {
    assert_broken(
        "broken-noexec",
        "`/app/server` is not executable by uid 0: mode 0644",
    );
}

// podman: `exec /app/start: no such file or directory` (the kernel's ENOENT for a
// missing `#!` interpreter).
#[test]
fn startup_broken_when_shebang_interpreter_is_missing() {
    assert_broken("broken-shebang", "`/usr/bin/python3` does not exist");
}

// podman: `exec /app/server: no such file or directory` (no loader on scratch).
#[test]
fn startup_broken_when_elf_loader_is_missing() {
    assert_broken(
        "broken-loader",
        "ELF loader `/lib64/ld-linux-x86-64.so.2` of `/app/server` is missing",
    );
}

// podman: `stat /app/server: no such file or directory` (whiteout in the RUN layer).
#[test]
fn startup_broken_when_a_later_layer_deletes_the_binary() {
    assert_broken(
        "broken-deleted",
        "`/app/server` does not exist in the image",
    );
}

// podman: `unable to find user nobody-here: no matching entries in passwd file`.
#[test]
fn startup_broken_when_named_user_is_unknown() {
    assert_broken("broken-user", "user `nobody-here` does not exist");
}

// podman: `stat ./server: no such file or directory` (ok-workdir starts).
#[test]
fn startup_broken_when_workdir_change_breaks_relative_entrypoint() {
    assert_broken("broken-workdir", "`/srv/server` does not exist");
    assert_starts("ok-workdir");
}

// podman: `/bin/sh: server: not found`, exit 127 (the shell exists, its command not).
#[test]
fn startup_broken_when_shell_form_command_is_missing() {
    assert_broken(
        "broken-shellform",
        "the shell-form command `server --port 8080`",
    );
}

// podman: `error while loading shared libraries: libfoo.so: cannot open shared object`.
// libfoo.so is nowhere in the image, so no LD_LIBRARY_PATH can save it: an error.
#[test]
fn library_missing_everywhere_is_an_error() {
    let Some(image) = fixture("lib-missing.oci") else {
        return;
    };
    let o = inspect_json(&image);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["library-missing:error"]);
    let message = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("`/app/server` → needs `libfoo.so`, which is not in the image"),
        "{message}"
    );
}

// podman: each prints its greeting and exits 0.
#[test]
fn benign_look_alikes_start() {
    for name in [
        "ok-static",  // static binary, no loader needed
        "ok-symlink", // entrypoint through a chain of symlinks
        "ok-path",    // bare command name through Docker's default PATH
        "ok-shell",   // shell form, with a shell
        "ok-dynamic", // dynamic binary with loader and libc
        "ok-script",  // `#!/bin/sh` script as a user from /etc/passwd
    ] {
        assert_starts(name);
    }
}

#[test]
fn archives_read_like_the_layout() {
    let Some(dir) = fixtures() else {
        return;
    };
    let layout = report(&inspect_json(&dir.join("ok-shell.oci").to_string_lossy()));
    for archive in ["ok-shell.oci.tar", "ok-shell.docker.tar"] {
        let o = inspect_json(&dir.join(archive).to_string_lossy());
        assert_exit(&o, 0);
        let r = report(&o);
        assert_eq!(r["config_digest"], layout["config_digest"], "{archive}");
        assert_eq!(r["entrypoint"], layout["entrypoint"], "{archive}");
        assert_eq!(r["cmd"], layout["cmd"], "{archive}");
    }
}

#[test]
fn digests_agree_with_skopeo() {
    let Some(dir) = fixtures() else {
        return;
    };
    if !require_tool("skopeo") {
        return;
    }
    for (transport, file) in [
        ("oci", "ok-shell.oci:latest"),
        ("oci-archive", "ok-shell.oci.tar"),
        ("docker-archive", "ok-shell.docker.tar"),
        ("oci", "ok-static.oci:latest"),
        ("oci", "broken-deleted.oci:latest"),
    ] {
        let path = dir.join(file).to_string_lossy().into_owned();
        let sk = std::process::Command::new("skopeo")
            .args(["inspect", &format!("{transport}:{path}")])
            .output()
            .unwrap();
        assert!(sk.status.success(), "skopeo: {}", stderr(&sk));
        let sk: Value = serde_json::from_slice(&sk.stdout).unwrap();
        let ours = report(&inspect_json(&path));
        assert_eq!(ours["manifest_digest"], sk["Digest"], "{transport}:{file}");
        let layers: Vec<&Value> = ours["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| &l["digest"])
            .collect();
        let sk_layers: Vec<&Value> = sk["Layers"].as_array().unwrap().iter().collect();
        assert_eq!(layers, sk_layers, "{transport}:{file}");
    }
}

#[test]
fn image_diff_reports_startup_and_env_changes() {
    let (Some(v1), Some(v2)) = (fixture("web-v1.oci"), fixture("web-v2.oci")) else {
        return;
    };
    let o = run(&["image", "diff", &v1, &v2, "--format", "json"]);
    assert_exit(&o, 1);
    let fs = findings(&o);
    let changed: Vec<&str> = fs
        .iter()
        .filter(|f| f["rule"] == "startup-changed")
        .map(|f| f["details"]["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        changed,
        ["entrypoint", "healthcheck", "stop_signal", "user"]
    );
    let env: Vec<&str> = fs
        .iter()
        .filter(|f| f["rule"] == "env-changed")
        .map(|f| f["details"]["variable"].as_str().unwrap())
        .collect();
    assert_eq!(env, ["MODE", "PORT", "TRACE"]);
    assert!(fs.iter().all(|f| f["component"] == v2.as_str()));
    let entry = fs
        .iter()
        .find(|f| f["details"]["field"] == "entrypoint")
        .unwrap();
    assert!(entry["message"].as_str().unwrap().contains("→"), "{entry}");
    let r = report(&o);
    assert_eq!(r["cmd"]["changed"], false);
    assert_eq!(
        r["entrypoint"]["new"],
        json!(["/bin/busybox", "httpd", "-f", "-v"])
    );
}

#[test]
fn image_diff_lists_files_in_json_and_summarises_in_text() {
    let (Some(a), Some(b)) = (fixture("ok-static.oci"), fixture("broken-noexec.oci")) else {
        return;
    };
    let o = run(&["image", "diff", &a, &b, "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["startup-broken:error"]);
    let r = report(&o);
    let files = r["files"].as_array().unwrap();
    let server = files.iter().find(|f| f["path"] == "/app/server").unwrap();
    assert_eq!(server["change"], "modified");
    assert_eq!(server["old"]["mode"], "0755");
    assert_eq!(server["new"]["mode"], "0644");
    assert_eq!(server["old"]["digest"], server["new"]["digest"]);
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "/bin/busybox" && f["change"] == "added")
    );
    let text = run(&["image", "diff", &a, &b]);
    let out = stdout(&text);
    assert!(out.contains("files: "), "{out}");
    assert!(out.contains(", 0 removed, 1 modified"), "{out}");
    // `old` before `new`, and the changed files one per line under their counts, not
    // one comma-joined line.
    let lines: Vec<&str> = out.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line:\n{out}"))
    };
    assert!(at("old: ") < at("new: "), "{out}");
    let files = at("files: ");
    assert_eq!(lines[files + 1], "changed_files:", "{out}");
    assert!(
        lines[files + 2..]
            .iter()
            .take_while(|l| l.starts_with("  "))
            .any(|l| l.starts_with("  ~ /app/server (")),
        "{out}"
    );
    // HTML has every file, with both states side by side.
    let html = stdout(&run(&["image", "diff", &a, &b, "--format", "html"]));
    assert!(html.contains("<code>/app/server</code>"), "{html}");
    assert!(html.contains("<h4>files</h4>"), "{html}");
}

/// A rebuild over the same layers and config writes a new `created` time and
/// history: a new manifest digest, the same identity. The rebuilt copy is made from
/// the real ok-static layout by rewriting exactly those fields (buildah cannot keep
/// layer mtimes identical while changing `created`).
#[test]
fn rebuild_with_new_timestamp_keeps_identity() {
    let Some(a) = fixture("ok-static.oci") else {
        return;
    };
    let p = Project::new();
    let b = p.join("rebuilt.oci");
    rebuilt_copy(Path::new(&a), &b);
    let b = b.to_string_lossy().into_owned();
    let (ra, rb) = (report(&inspect_json(&a)), report(&inspect_json(&b)));
    assert_ne!(ra["manifest_digest"], rb["manifest_digest"]);
    assert_eq!(ra["identity"], rb["identity"]);
    let o = run(&["image", "diff", &a, &b, "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(report(&o)["same_content"], true);
}

/// Copies the layout `from` to `to` as a rebuild with identical layers would write it:
/// a new `created` time in config and history, so new config and manifest digests.
fn rebuilt_copy(from: &Path, b: &Path) {
    copy_dir(from, b);
    let blob = |d: &str| b.join("blobs/sha256").join(d.trim_start_matches("sha256:"));
    let index: Value =
        serde_json::from_slice(&std::fs::read(b.join("index.json")).unwrap()).unwrap();
    let mdigest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(blob(&mdigest)).unwrap()).unwrap();
    let cdigest = manifest["config"]["digest"].as_str().unwrap().to_owned();
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(blob(&cdigest)).unwrap()).unwrap();
    config["created"] = json!("2026-11-22T01:00:00Z");
    config["history"][0]["created"] = json!("2026-11-22T01:00:00Z");
    let config = config.to_string();
    let cd = Digest::of(config.as_bytes());
    std::fs::write(blob(&cd.to_string()), &config).unwrap();
    manifest["config"]["digest"] = json!(cd.to_string());
    manifest["config"]["size"] = json!(config.len());
    let manifest = manifest.to_string();
    let md = Digest::of(manifest.as_bytes());
    std::fs::write(blob(&md.to_string()), &manifest).unwrap();
    let mut index = index;
    index["manifests"][0]["digest"] = json!(md.to_string());
    index["manifests"][0]["size"] = json!(manifest.len());
    std::fs::write(b.join("index.json"), index.to_string()).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn diff_of_snapshots_flags_startup_change_of_image_component() {
    let (Some(v1), Some(v2)) = (fixture("web-v1.oci"), fixture("web-v2.oci")) else {
        return;
    };
    let p = Project::new();
    p.write("web/index.html", "v1").config(
        "[[component]]\nname = \"web\"\ninputs = [\"web/**\"]\nimage = \"build/web.oci:latest\"\n",
    );
    copy_dir(Path::new(&v1), &p.join("build/web.oci"));
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    let manifest: Value = serde_json::from_str(&p.read("base.json")).unwrap();
    let image = &manifest["components"]["web"]["image"];
    assert!(image["config_digest"].is_string(), "{image}");
    assert_eq!(image["layers"].as_array().unwrap().len(), 2);
    std::fs::remove_dir_all(p.join("build/web.oci")).unwrap();
    copy_dir(Path::new(&v2), &p.join("build/web.oci"));
    p.write("web/index.html", "v2");
    assert_exit(&p.run(&["snapshot", "-o", "new.json"]), 0);
    let o = p.run(&["diff", "base.json", "new.json", "--format", "json"]);
    assert_exit(&o, 1);
    let rules = rules_of(&o);
    assert!(
        rules.contains(&"startup-changed:error".to_owned()),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"env-changed:warning".to_owned()),
        "{rules:?}"
    );
    assert!(findings(&o).iter().all(|f| f["component"] == "web"));
}

#[test]
fn snapshot_exits_1_when_the_image_cannot_start() {
    let Some(broken) = fixture("broken-noexec.oci") else {
        return;
    };
    let p = Project::new();
    p.write("src/main.c", "int main;")
        .config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\nimage = \"app.oci\"\n");
    copy_dir(Path::new(&broken), &p.join("app.oci"));
    let o = p.run(&["snapshot", "-o", "m.json"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("not executable"), "{}", stderr(&o));
}

// podman: `error while loading shared libraries: libfoo.so`; the library is nowhere
// in the image, so `library-missing` is an error and fails the snapshot (SPEC.md).
#[test]
fn snapshot_exits_1_when_a_library_is_nowhere_in_the_image() {
    let Some(broken) = fixture("lib-missing.oci") else {
        return;
    };
    let p = Project::new();
    p.write("src/main.c", "int main;")
        .config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\nimage = \"app.oci\"\n");
    copy_dir(Path::new(&broken), &p.join("app.oci"));
    let o = p.run(&["snapshot", "-o", "m.json"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("error[library-missing]"),
        "{}",
        stderr(&o)
    );
    let manifest = p.read("m.json");
    assert!(
        manifest.contains("\"type\": \"library-missing\""),
        "{manifest}"
    );
}

// ---------------------------------------------------------------------------------
// Hand-made layouts: hostile input and whiteouts.

pub(crate) enum Blob {
    /// An uncompressed tar and its media type suffix ("tar", "tar+gzip", …) with the
    /// compressed bytes.
    Layer {
        media_type: String,
        blob: Vec<u8>,
        diff_id: Digest,
    },
}

pub(crate) fn tar_layer(entries: &[(&str, tar::EntryType, &[u8], u32, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for &(name, kind, data, mode, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        if !link.is_empty() {
            h.set_link_name(link).unwrap();
        }
        // `set_path` refuses `..`; write the raw name, as a hostile producer would.
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

pub(crate) fn plain(tar: Vec<u8>) -> Blob {
    let diff_id = Digest::of(&tar);
    Blob::Layer {
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        blob: tar,
        diff_id,
    }
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(tar).unwrap();
    e.finish().unwrap()
}

fn gzipped(tar: &[u8]) -> Blob {
    Blob::Layer {
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        blob: gzip(tar),
        diff_id: Digest::of(tar),
    }
}

const BUSYBOX_ENTRY: &str = "bin/sh";

/// Writes an OCI layout with the given layers and entrypoint under `p/name`.
pub(crate) fn layout(p: &Project, name: &str, layers: &[Blob], entrypoint: &[&str]) -> String {
    let dir = p.join(name);
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        std::fs::write(dir.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        (d, bytes.len())
    };
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for Blob::Layer {
        media_type,
        blob,
        diff_id,
    } in layers
    {
        let (d, size) = put(blob);
        descs.push(json!({"mediaType": media_type, "digest": d.to_string(), "size": size}));
        diff_ids.push(diff_id.to_string());
    }
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": entrypoint},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
    .to_string();
    let (cd, cs) = put(config.as_bytes());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs},
        "layers": descs,
    })
    .to_string();
    let (md, ms) = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": ms}]}).to_string(),
    )
    .unwrap();
    dir.to_string_lossy().into_owned()
}

/// The smallest static ELF64 as far as startup verification cares: a header with no
/// program headers (no loader, no libraries).
pub(crate) fn tiny_elf() -> Vec<u8> {
    let mut h = b"\x7fELF\x02\x01\x01".to_vec();
    h.resize(64, 0);
    h
}

fn script_layer() -> Vec<u8> {
    // `/app/server` is a `#!/bin/sh` script; `/bin/sh` a static ELF.
    let elf = tiny_elf();
    tar_layer(&[
        ("bin/", tar::EntryType::Directory, b"", 0o755, ""),
        (BUSYBOX_ENTRY, tar::EntryType::Regular, &elf, 0o755, ""),
        ("app/", tar::EntryType::Directory, b"", 0o755, ""),
        (
            "app/server",
            tar::EntryType::Regular,
            b"#!/bin/sh\nexit 0\n",
            0o755,
            "",
        ),
        ("app/other", tar::EntryType::Regular, b"x", 0o644, ""),
    ])
}

#[test]
fn synthetic_layout_starts() {
    let p = Project::new();
    let img = layout(&p, "ok", &[gzipped(&script_layer())], &["/app/server"]);
    let o = inspect_json(&img);
    assert_exit(&o, 0);
}

#[test]
fn opaque_directory_hides_lower_files() {
    let p = Project::new();
    let upper = tar_layer(&[
        ("app/.wh..wh..opq", tar::EntryType::Regular, b"", 0, ""),
        (
            "app/new",
            tar::EntryType::Regular,
            b"#!/bin/sh\n",
            0o755,
            "",
        ),
    ]);
    let img = layout(
        &p,
        "opq",
        &[gzipped(&script_layer()), plain(upper)],
        &["/app/server"],
    );
    let o = inspect_json(&img);
    assert_exit(&o, 1);
    assert!(
        findings(&o)[0]["message"]
            .as_str()
            .unwrap()
            .contains("`/app/server` does not exist")
    );
    let img2 = layout(
        &p,
        "opq2",
        &[
            gzipped(&script_layer()),
            plain(tar_layer(&[
                ("app/.wh..wh..opq", tar::EntryType::Regular, b"", 0, ""),
                (
                    "app/new",
                    tar::EntryType::Regular,
                    b"#!/bin/sh\n",
                    0o755,
                    "",
                ),
            ])),
        ],
        &["/app/new"],
    );
    assert_exit(&inspect_json(&img2), 0);
}

#[test]
fn hostile_tampered_blob_names_both_digests() {
    let p = Project::new();
    let img = layout(&p, "t", &[gzipped(&script_layer())], &["/app/server"]);
    let blobs = Path::new(&img).join("blobs/sha256");
    let gz = gzip(&script_layer());
    let path = blobs.join(Digest::of(&gz).hex());
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let o = run(&["image", "inspect", &img]);
    assert_bad_input(&o, &Digest::of(&gz).to_string());
    assert!(
        stderr(&o).contains(&Digest::of(&bytes).to_string()),
        "{}",
        stderr(&o)
    );
}

#[test]
fn hostile_truncated_gzip() {
    let p = Project::new();
    let gz = gzip(&script_layer());
    let cut = gz[..gz.len() / 2].to_vec();
    let blob = Blob::Layer {
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        blob: cut,
        diff_id: Digest::of(&script_layer()),
    };
    let img = layout(&p, "t", &[blob], &["/app/server"]);
    assert_bad_input(&run(&["image", "inspect", &img]), "cannot read layer");
}

#[test]
fn hostile_truncated_tar() {
    let p = Project::new();
    let tar = script_layer();
    let img = layout(&p, "t", &[plain(tar[..700].to_vec())], &["/app/server"]);
    assert_bad_input(&run(&["image", "inspect", &img]), "cannot read layer");
}

#[test]
fn hostile_missing_index_json() {
    let p = Project::new();
    let img = layout(&p, "t", &[plain(script_layer())], &["/app/server"]);
    std::fs::remove_file(Path::new(&img).join("index.json")).unwrap();
    assert_bad_input(&run(&["image", "inspect", &img]), "no `index.json`");
}

#[test]
fn hostile_unknown_media_type() {
    let p = Project::new();
    let tar = script_layer();
    let blob = Blob::Layer {
        media_type: "application/x-mystery".into(),
        diff_id: Digest::of(&tar),
        blob: tar,
    };
    let img = layout(&p, "t", &[blob], &["/app/server"]);
    assert_bad_input(
        &run(&["image", "inspect", &img]),
        "unknown layer media type `application/x-mystery`",
    );
}

#[test]
fn hostile_absurd_tar_size_header() {
    let p = Project::new();
    let mut tar = tar_layer(&[("big", tar::EntryType::Regular, b"tiny", 0o644, "")]);
    // Size field (octal, offset 124, 12 bytes): claim ~8 GiB.
    tar[124..136].copy_from_slice(b"77777777777\0");
    let mut h = tar::Header::new_old();
    h.as_mut_bytes().copy_from_slice(&tar[..512]);
    h.set_cksum();
    tar[..512].copy_from_slice(h.as_bytes());
    let img = layout(&p, "t", &[plain(tar)], &["/app/server"]);
    assert_bad_input(&run(&["image", "inspect", &img]), "cannot read layer");
}

#[test]
fn hostile_huge_extended_header_is_refused_before_it_is_read() {
    // A GNU long-name record claiming 8 GiB: refused at its header, never buffered.
    // (zstd could inflate a few hundred kilobytes into that many bytes.)
    let p = Project::new();
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size((8 << 30) - 1);
    h.set_cksum();
    let mut tar = script_layer();
    tar.truncate(tar.len() - 1024); // drop the end marker
    tar.extend_from_slice(h.as_bytes());
    tar.extend_from_slice(&[b'a'; 4096]);
    let img = layout(&p, "t", &[plain(tar)], &["/app/server"]);
    assert_bad_input(
        &run(&["image", "inspect", &img]),
        "a GNU long name of 8589934591 bytes (more than 1048576 accepted)",
    );
}

#[test]
fn hostile_names_beyond_path_max_are_rejected_not_indexed() {
    // 100,000 directories deep: indexing every implied parent would cost ~10 GB.
    let p = Project::new();
    let deep = "a/".repeat(100_000) + "f";
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o755);
    h.set_size(1);
    b.append_data(&mut h, &deep, &b"x"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "deeplink", &deep).unwrap();
    let img = layout(
        &p,
        "t",
        &[plain(script_layer()), plain(b.into_inner().unwrap())],
        &["/app/server"],
    );
    let o = inspect_json(&img);
    assert_exit(&o, 0);
    let rejected = report(&o)["rejected_entries"].to_string();
    assert!(
        rejected.contains("its name is 200001 bytes, beyond PATH_MAX (4096)"),
        "{rejected}"
    );
    assert!(
        rejected.contains("entry `deeplink` not applied: its link target is 200001 bytes"),
        "{rejected}"
    );
    // Messages show a hostile name shortened.
    assert!(rejected.len() < 2000, "{rejected}");
}

#[test]
fn hostile_path_traversal_is_reported_not_applied() {
    let p = Project::new();
    let evil = tar_layer(&[
        ("../../outside", tar::EntryType::Regular, b"x", 0o755, ""),
        ("/abs/file", tar::EntryType::Regular, b"x", 0o755, ""),
        // A symlink pointing out of the root resolves inside it.
        (
            "entry",
            tar::EntryType::Symlink,
            b"",
            0o777,
            "../../../../app/server",
        ),
    ]);
    let img = layout(&p, "t", &[plain(script_layer()), plain(evil)], &["/entry"]);
    let o = inspect_json(&img);
    assert_exit(&o, 0);
    let rejected = report(&o)["rejected_entries"].to_string();
    assert!(rejected.contains("../../outside"), "{rejected}");
    // Runtimes apply absolute names under the root.
    assert!(!rejected.contains("/abs/file"), "{rejected}");
    assert!(!p.path().parent().unwrap().join("outside").exists());
}

#[test]
fn hostile_symlink_loop_is_a_finding() {
    let p = Project::new();
    let loops = tar_layer(&[
        ("a", tar::EntryType::Symlink, b"", 0o777, "b"),
        ("b", tar::EntryType::Symlink, b"", 0o777, "/a"),
    ]);
    let img = layout(&p, "t", &[plain(loops)], &["/a"]);
    let o = inspect_json(&img);
    assert_exit(&o, 1);
    let m = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(m.contains("loop") || m.contains("too many levels"), "{m}");
}

// A zstd layer with a 200 MiB zero-filled file inflates well past 1100:1, and is a
// valid image (podman starts it).
#[test]
fn zstd_layer_of_zeros_is_not_a_bomb() {
    let p = Project::new();
    let zeros = vec![0u8; 200 * 1024 * 1024];
    let mut tar = script_layer();
    tar.truncate(tar.len() - 1024); // drop the end-of-archive blocks
    let mut b = tar::Builder::new(tar);
    let mut h = tar::Header::new_gnu();
    h.set_size(zeros.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "data/zeros", &zeros[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let blob = zstd::encode_all(&tar[..], 3).unwrap();
    assert!(tar.len() as u64 > 1100 * blob.len() as u64);
    let blob = Blob::Layer {
        media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
        blob,
        diff_id: Digest::of(&tar),
    };
    let img = layout(&p, "t", &[blob], &["/app/server"]);
    assert_exit(&inspect_json(&img), 0);
}

#[test]
fn hostile_missing_image_says_build_first() {
    let o = run(&["image", "inspect", "no/such/image.oci:latest"]);
    assert_bad_input(&o, "build the image first");
}

/// Rewrites `index.json` of a layout to list its manifest under several platforms
/// and tags.
fn multi_index(dir: &str, entries: &[(&str, &str, &str)]) {
    let path = Path::new(dir).join("index.json");
    let index: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let base = index["manifests"][0].clone();
    let manifests: Vec<Value> = entries
        .iter()
        .map(|(os, arch, tag)| {
            let mut m = base.clone();
            m["platform"] = json!({"os": os, "architecture": arch});
            m["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
            m
        })
        .collect();
    std::fs::write(
        path,
        json!({"schemaVersion": 2, "manifests": manifests}).to_string(),
    )
    .unwrap();
}

#[test]
fn index_with_several_manifests_picks_linux_amd64_or_asks() {
    let p = Project::new();
    let img = layout(&p, "multi", &[plain(script_layer())], &["/app/server"]);
    multi_index(
        &img,
        &[("linux", "arm64", "arm"), ("linux", "amd64", "amd")],
    );
    assert_exit(&inspect_json(&img), 0);
    assert_exit(&inspect_json(&format!("{img}:arm")), 0);
    let o = run(&["image", "inspect", &format!("{img}:nope")]);
    assert_bad_input(&o, "no single manifest is tagged `nope`");
    multi_index(&img, &[("linux", "amd64", "a"), ("linux", "amd64", "b")]);
    let o = run(&["image", "inspect", &img]);
    assert_bad_input(&o, "choose one with `:tag` or `@sha256:…`");
    assert!(
        stderr(&o).contains("[a]") && stderr(&o).contains("[b]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn digest_reference_selects_the_manifest() {
    let p = Project::new();
    let img = layout(&p, "d", &[plain(script_layer())], &["/app/server"]);
    let digest = report(&inspect_json(&img))["manifest_digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = inspect_json(&format!("{img}@{digest}"));
    assert_exit(&o, 0);
    let wrong = format!("{img}@sha256:{}", "0".repeat(64));
    assert_bad_input(
        &run(&["image", "inspect", &wrong]),
        "no single manifest has digest",
    );
}

#[test]
fn zstd_layers_are_read() {
    let p = Project::new();
    let tar = script_layer();
    let blob = Blob::Layer {
        media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
        blob: zstd::encode_all(&tar[..], 3).unwrap(),
        diff_id: Digest::of(&tar),
    };
    let img = layout(&p, "z", &[blob], &["/app/server"]);
    assert_exit(&inspect_json(&img), 0);
}

#[test]
fn hardlinks_resolve_into_lower_layers_and_dangling_ones_are_reported() {
    let p = Project::new();
    let same = tar_layer(&[("app/link", tar::EntryType::Link, b"", 0, "app/server")]);
    let img = layout(
        &p,
        "h",
        &[plain(script_layer()), plain(same)],
        &["/app/link"],
    );
    assert_exit(&inspect_json(&img), 0);
    // A hardlink whose target is in no layer is reported, not applied.
    let dangling = tar_layer(&[("app/ghost", tar::EntryType::Link, b"", 0, "app/missing")]);
    let img = layout(
        &p,
        "h2",
        &[plain(script_layer()), plain(dangling)],
        &["/app/ghost"],
    );
    let o = inspect_json(&img);
    assert_exit(&o, 1);
    assert!(
        report(&o)["rejected_entries"]
            .to_string()
            .contains("app/missing")
    );
}

#[test]
fn whiteout_in_upper_layer_removes_the_entrypoint() {
    let p = Project::new();
    let upper = tar_layer(&[("app/.wh.server", tar::EntryType::Regular, b"", 0, "")]);
    let img = layout(
        &p,
        "w",
        &[plain(script_layer()), plain(upper)],
        &["/app/server"],
    );
    let o = inspect_json(&img);
    assert_exit(&o, 1);
    assert!(
        findings(&o)[0]["message"]
            .as_str()
            .unwrap()
            .contains("`/app/server` does not exist")
    );
}

#[test]
fn non_root_user_needs_the_matching_permission_bit() {
    let p = Project::new();
    let elf = tiny_elf();
    let passwd = b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    let layer = tar_layer(&[
        ("etc/passwd", tar::EntryType::Regular, passwd, 0o644, ""),
        ("app/owner-only", tar::EntryType::Regular, &elf, 0o700, ""),
        ("app/everyone", tar::EntryType::Regular, &elf, 0o755, ""),
    ]);
    let layout_json = |name: &str, entry: &str, user: &str| {
        let img = layout(&p, name, &[plain(layer.clone())], &[entry]);
        set_user(&img, user);
        img
    };
    let root = layout_json("r", "/app/owner-only", "");
    assert_exit(&inspect_json(&root), 0);
    let app = layout_json("a", "/app/owner-only", "app");
    let o = inspect_json(&app);
    assert_exit(&o, 1);
    let m = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        m.contains("`/app/owner-only` is not executable by uid 1000: mode 0700"),
        "{m}"
    );
    let ok = layout_json("e", "/app/everyone", "app");
    assert_exit(&inspect_json(&ok), 0);
}

/// Sets `config.User` of a single-manifest layout, re-digesting config and manifest.
fn set_user(dir: &str, user: &str) {
    let dir = Path::new(dir);
    let blob = |d: &str| {
        dir.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let md = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(blob(&md)).unwrap()).unwrap();
    let cd = manifest["config"]["digest"].as_str().unwrap().to_owned();
    let mut config: Value = serde_json::from_slice(&std::fs::read(blob(&cd)).unwrap()).unwrap();
    config["config"]["User"] = json!(user);
    let config = config.to_string();
    let cd = Digest::of(config.as_bytes());
    std::fs::write(blob(&cd.to_string()), &config).unwrap();
    manifest["config"]["digest"] = json!(cd.to_string());
    manifest["config"]["size"] = json!(config.len());
    let manifest = manifest.to_string();
    let md = Digest::of(manifest.as_bytes());
    std::fs::write(blob(&md.to_string()), &manifest).unwrap();
    index["manifests"][0]["digest"] = json!(md.to_string());
    index["manifests"][0]["size"] = json!(manifest.len());
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn stale_artifact_when_the_image_is_only_rebuilt() {
    let Some(a) = fixture("ok-static.oci") else {
        return;
    };
    let p = Project::new();
    p.write("src/main.c", "int main() { return 0; }").config(
        "[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\nimage = \"app.oci:latest\"\n",
    );
    copy_dir(Path::new(&a), &p.join("app.oci"));
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    // The fix lands in the sources, but the image is only re-stamped.
    p.write("src/main.c", "int main() { return 1; }");
    std::fs::remove_dir_all(p.join("app.oci")).unwrap();
    rebuilt_copy(Path::new(&a), &p.join("app.oci"));
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
    let m = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(m.contains("rebuilt"), "{m}");
}

/// gzip cannot inflate beyond ~1032:1, so a gzip "bomb" is bounded by its own size:
/// it streams through (nothing is kept) and is judged like any layer. Here 128 MiB of
/// zeros (an empty tar) leave nothing to start: a finding, promptly.
#[test]
fn hostile_gzip_bomb_streams_through_and_is_judged() {
    let p = Project::new();
    let zeros = vec![0u8; 128 * 1024 * 1024];
    let blob = Blob::Layer {
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        blob: gzip(&zeros),
        diff_id: Digest::of(&zeros),
    };
    let img = layout(&p, "t", &[blob], &["/app/server"]);
    let o = inspect_json(&img);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["startup-broken:error"]);
}

/// The manifest's `image` record, pinned: key names and shapes are what `diff`,
/// `verify` and users' tooling read.
#[test]
fn manifest_image_record_shape_is_pinned() {
    let p = Project::new();
    layout(&p, "app.oci", &[gzipped(&script_layer())], &["/app/server"]);
    p.write("src/a", "a")
        .config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\nimage = \"app.oci\"\n");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    let image = &m["components"]["app"]["image"];
    let keys: Vec<&str> = image
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "config_digest",
            "content_digest",
            "identity",
            "layers",
            "manifest_digest",
            "startup",
            "transport"
        ]
    );
    let layer: Vec<&str> = image["layers"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(layer, ["diff_id", "digest", "media_type", "size"]);
    assert_eq!(image["startup"], json!({"entrypoint": ["/app/server"]}));
    assert_eq!(image["transport"], "oci");
    // The same image gives the same record on a second run.
    let again: Value = serde_json::from_slice(&p.run(&["snapshot"]).stdout).unwrap();
    assert_eq!(&again["components"]["app"]["image"], image);
}

/// A docker-archive config for one layer tar with `/app/server` as entrypoint.
fn docker_config(diff_ids: &[Digest]) -> Vec<u8> {
    json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/app/server"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(ToString::to_string).collect::<Vec<_>>()},
    })
    .to_string()
    .into_bytes()
}

// SECURITY: a docker-archive directory naming files outside itself must not read them.
#[test]
fn docker_archive_paths_never_resolve_on_the_host() {
    let p = Project::new();
    let layer = script_layer();
    let host = p.join("host");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("layer.tar"), &layer).unwrap();
    std::fs::write(
        host.join("config.json"),
        docker_config(&[Digest::of(&layer)]),
    )
    .unwrap();
    let abs_layer = host.join("layer.tar").to_string_lossy().into_owned();
    let cases = [
        (
            "../host/config.json",
            "layer.tar",
            "`../host/config.json` contains `..`",
        ),
        ("config.json", abs_layer.as_str(), "is an absolute path"),
    ];
    for (i, (config, layer_name, needle)) in cases.iter().enumerate() {
        let da = p.join(&format!("da{i}"));
        std::fs::create_dir_all(&da).unwrap();
        std::fs::write(da.join("config.json"), docker_config(&[Digest::of(&layer)])).unwrap();
        std::fs::write(da.join("layer.tar"), &layer).unwrap();
        std::fs::write(
            da.join("manifest.json"),
            json!([{"Config": config, "RepoTags": ["x:latest"], "Layers": [layer_name]}])
                .to_string(),
        )
        .unwrap();
        let o = run(&["image", "inspect", &da.to_string_lossy()]);
        assert_bad_input(&o, needle);
        assert!(stderr(&o).contains("manifest.json"), "{}", stderr(&o));
    }
    // A symlink inside the directory that leads out of it is refused too.
    let da = p.join("da-link");
    std::fs::create_dir_all(&da).unwrap();
    std::os::unix::fs::symlink(host.join("config.json"), da.join("config.json")).unwrap();
    std::fs::write(da.join("layer.tar"), &layer).unwrap();
    std::fs::write(
        da.join("manifest.json"),
        json!([{"Config": "config.json", "Layers": ["layer.tar"]}]).to_string(),
    )
    .unwrap();
    let o = run(&["image", "inspect", &da.to_string_lossy()]);
    assert_bad_input(&o, "leading out of the image directory");
}

// Older `docker save` stores a duplicate layer as a symlink member; skopeo reads it.
#[test]
fn docker_archive_symlinked_layer_member_is_followed() {
    let p = Project::new();
    let l1 = script_layer();
    let l2 = tar_layer(&[("tmp/", tar::EntryType::Directory, b"", 0o1777, "")]);
    let config = docker_config(&[Digest::of(&l1), Digest::of(&l2), Digest::of(&l2)]);
    let config_name = format!("{}.json", Digest::of(&config).hex());
    let manifest = json!([{"Config": config_name, "RepoTags": ["dsym:latest"],
        "Layers": ["aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"]}])
    .to_string();
    let build = |link: &str| {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data).unwrap();
        };
        add(&config_name, &config);
        add("aaa/layer.tar", &l1);
        add("bbb/layer.tar", &l2);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, "ccc/layer.tar", link).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(manifest.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "manifest.json", manifest.as_bytes())
            .unwrap();
        b.into_inner().unwrap()
    };
    let ok = p.join("dsym.tar");
    std::fs::write(&ok, build("../bbb/layer.tar")).unwrap();
    assert_exit(&inspect_json(&ok.to_string_lossy()), 0);
    // A link leaving the archive is not followed.
    let out = p.join("escape.tar");
    std::fs::write(&out, build("../../bbb/layer.tar")).unwrap();
    assert_bad_input(
        &run(&["image", "inspect", &out.to_string_lossy()]),
        "ccc/layer.tar",
    );
}

// `buildah push … oci:rn.oci:example.com/team/web:1.0` names the manifest with the
// whole `example.com/team/web:1.0`; the same manifest under two tags is one manifest
// for `@digest`.
#[test]
fn references_with_slashes_colons_and_shared_digests() {
    let p = Project::new();
    let img = layout(&p, "rn.oci", &[plain(script_layer())], &["/app/server"]);
    multi_index(
        &img,
        &[
            ("linux", "amd64", "example.com/team/web:1.0"),
            ("linux", "amd64", "latest"),
        ],
    );
    assert_exit(&inspect_json(&format!("{img}:example.com/team/web:1.0")), 0);
    assert_exit(&inspect_json(&format!("{img}:latest")), 0);
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&img).join("index.json")).unwrap())
            .unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    assert_exit(&inspect_json(&format!("{img}@{digest}")), 0);
    // A directory with `@` in its name (Jenkins `workspace@2`).
    let ws = p.join("workspace@2");
    std::fs::create_dir_all(&ws).unwrap();
    copy_dir(Path::new(&img), &ws.join("web.oci"));
    let web = ws.join("web.oci").to_string_lossy().into_owned();
    assert_exit(&inspect_json(&format!("{web}:latest")), 0);
    assert_exit(&inspect_json(&format!("{web}@{digest}")), 0);
}

// `@digest` of a platform manifest inside a nested index (multi-platform image).
#[test]
fn digest_reference_finds_a_manifest_in_a_nested_index() {
    let p = Project::new();
    let img = layout(&p, "nested", &[plain(script_layer())], &["/app/server"]);
    let path = Path::new(&img).join("index.json");
    let index: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut platform = index["manifests"][0].clone();
    let digest = platform["digest"].as_str().unwrap().to_owned();
    platform["platform"] = json!({"os": "linux", "architecture": "amd64"});
    let inner = json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [platform]})
    .to_string();
    let d = Digest::of(inner.as_bytes());
    std::fs::write(Path::new(&img).join("blobs/sha256").join(d.hex()), &inner).unwrap();
    std::fs::write(
        &path,
        json!({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": d.to_string(), "size": inner.len()}]})
        .to_string(),
    )
    .unwrap();
    assert_exit(&inspect_json(&img), 0);
    assert_exit(&inspect_json(&format!("{img}@{digest}")), 0);
}

// The text diff shows a symlink's old and new targets, as the JSON has them.
#[test]
fn text_image_diff_shows_symlink_targets() {
    let p = Project::new();
    let link = |target: &str| tar_layer(&[("s", tar::EntryType::Symlink, b"", 0o777, target)]);
    let a = layout(
        &p,
        "a",
        &[plain(script_layer()), plain(link("a"))],
        &["/app/server"],
    );
    let b = layout(
        &p,
        "b",
        &[plain(script_layer()), plain(link("o"))],
        &["/app/server"],
    );
    let json = report(&run(&["image", "diff", &a, &b, "--format", "json"]));
    let s = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/s")
        .unwrap()
        .clone();
    assert_eq!(
        (s["old"]["target"].as_str(), s["new"]["target"].as_str()),
        (Some("a"), Some("o"))
    );
    let out = stdout(&run(&["image", "diff", &a, &b]));
    assert!(
        out.contains("~ /s (symlink to `a` 0777 0:0 → symlink to `o` 0777 0:0)"),
        "{out}"
    );
}

/// With a `dockerfile` beside the `image`, a startup problem points at the instruction
/// to fix: USER for an unknown user (line 5 of the fixture), not ENTRYPOINT (line 6).
#[test]
fn startup_broken_points_at_the_dockerfile_line_to_fix() {
    let Some(image) = fixture("broken-user.oci") else {
        return;
    };
    let dockerfile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/images/broken-user/Dockerfile");
    let p = Project::new();
    p.write("web/Dockerfile", std::fs::read(dockerfile).unwrap())
        .config(&format!(
            "[[component]]\nname = \"web\"\ninputs = [\"web/**\"]\nimage = \"{image}\"\ndockerfile = \"web/Dockerfile\"\n"
        ));
    assert_exit(&p.run(&["snapshot", "-o", "m.json"]), 1);
    let o = p.run(&["diff", "m.json", "m.json", "--format", "json"]);
    assert_exit(&o, 1);
    let f = findings(&o)
        .into_iter()
        .find(|f| f["rule"] == "startup-broken")
        .expect("a startup-broken finding");
    assert_eq!(f["details"]["location"]["file"], "web/Dockerfile", "{f}");
    assert_eq!(f["details"]["location"]["line"], 5, "{f}");
}

/// Rewrites the manifest of a single-manifest layout with `edit`, re-digesting it;
/// `index_edit` may then change `index.json` too.
fn rewrite_manifest(dir: &str, edit: impl Fn(&mut Value), index_edit: impl Fn(&mut Value)) {
    let dir = Path::new(dir);
    let blob = |d: &str| {
        dir.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let md = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(blob(&md)).unwrap()).unwrap();
    edit(&mut manifest);
    let manifest = manifest.to_string();
    let md = Digest::of(manifest.as_bytes());
    std::fs::write(blob(&md.to_string()), &manifest).unwrap();
    index["manifests"][0]["digest"] = json!(md.to_string());
    index["manifests"][0]["size"] = json!(manifest.len());
    index_edit(&mut index);
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

/// A manifest or index of another schema version, or whose `mediaType` says it is
/// the other kind of document, is refused naming it, never read as a current one.
#[test]
fn manifests_of_another_schema_or_kind_are_refused() {
    type Edit<'a> = &'a dyn Fn(&mut Value);
    let cases: [(&str, Edit, Edit, &str); 6] = [
        (
            "v1",
            &|m| m["schemaVersion"] = json!(1),
            &|_| {},
            "Docker schema 1 manifests are not supported",
        ),
        (
            "v3",
            &|m| m["schemaVersion"] = json!(3),
            &|_| {},
            "`schemaVersion` is 3, not 2",
        ),
        (
            "none",
            &|m| {
                m.as_object_mut().unwrap().remove("schemaVersion");
            },
            &|_| {},
            "no `schemaVersion`",
        ),
        (
            "kind",
            &|m| m["mediaType"] = json!("application/vnd.oci.image.index.v1+json"),
            &|_| {},
            "says an image index, but the document is an image manifest",
        ),
        (
            "descriptor",
            &|_| {},
            &|i| {
                i["manifests"][0]["mediaType"] =
                    json!("application/vnd.docker.distribution.manifest.list.v2+json");
            },
            "index `sha256:",
        ),
        (
            "index",
            &|_| {},
            &|i| i["schemaVersion"] = json!(3),
            "`index.json`: `schemaVersion` is 3",
        ),
    ];
    let p = Project::new();
    for (name, edit, index_edit, needle) in cases {
        let img = layout(&p, name, &[plain(script_layer())], &["/app/server"]);
        rewrite_manifest(&img, edit, index_edit);
        let o = run(&["image", "inspect", &img]);
        assert_bad_input(&o, needle);
        if name != "index" {
            assert!(
                stderr(&o).contains("manifest `sha256:") || name == "descriptor",
                "{}",
                stderr(&o)
            );
        }
    }
}

#[test]
fn platform_flag_picks_from_a_layout_index() {
    let p = Project::new();
    let img = layout(&p, "multi", &[plain(script_layer())], &["/app/server"]);
    multi_index(
        &img,
        &[("linux", "arm64", "arm"), ("linux", "amd64", "amd")],
    );
    let o = run(&[
        "image",
        "inspect",
        &img,
        "--platform",
        "linux/arm64",
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
    assert_eq!(report(&o)["names"], json!(["arm"]));
    let o = run(&["image", "inspect", &img, "--platform", "linux/riscv64"]);
    assert_bad_input(&o, "not exactly one for linux/riscv64");
    let o = run(&["image", "inspect", &img, "--platform", "riscv64"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("is not a platform"), "{}", stderr(&o));
}

/// A BASE written before the content identity (no `identity` key) still compares:
/// by the config digest without times, both sides having it. An unchanged image is
/// no change; nothing is judged stale or changed that was not.
#[test]
fn manifest_without_content_identity_compares_by_the_old_digest() {
    let p = Project::new();
    layout(&p, "app.oci", &[gzipped(&script_layer())], &["/app/server"]);
    p.write("src/a", "a")
        .config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\nimage = \"app.oci\"\n");
    let o = p.run(&["snapshot"]);
    assert_exit(&o, 0);
    let mut old: Value = serde_json::from_slice(&o.stdout).unwrap();
    let image = old["components"]["app"]["image"].as_object_mut().unwrap();
    assert!(image.contains_key("identity"));
    // What the previous release wrote: no identity, transport or labels.
    for key in ["identity", "transport", "labels"] {
        image.remove(key);
    }
    std::fs::write(p.join("old.json"), old.to_string()).unwrap();
    let o = p.run(&["check", "--against", "old.json", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), Vec::<String>::new());
    // An input change over the same image is still stale.
    p.write("src/a", "b");
    let o = p.run(&["check", "--against", "old.json", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
}

/// SPEC, "What counts as changed": the same Dockerfile built twice by an ordinary
/// `buildah bud` (no `--timestamp`) over a fresh checkout (new file times) gives new
/// layers (new diff_ids) with the same content, which is no change; a source change
/// that `.dockerignore` keeps out of the build then leaves the image as it was:
/// `stale-artifact`, where the diff_id identity saw only "the image changed".
#[test]
fn ordinary_rebuild_keeps_the_identity_and_a_dockerignored_change_is_stale() {
    if !require_tool("buildah") || !Path::new("/bin/busybox").exists() {
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let p = Project::new();
    std::fs::copy("/bin/busybox", p.join("busybox")).unwrap();
    p.write("app/run.sh", "#!/bin/busybox sh\necho hello\n")
        .mode("app/run.sh", 0o755)
        .write("app/notes.md", "notes\n")
        .write(".dockerignore", "app/notes.md\n")
        .write(
            "Dockerfile",
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY app/ /app/\nENTRYPOINT [\"/app/run.sh\"]\n",
        )
        .config(
            "[[component]]\nname = \"app\"\ninputs = [\"app/**\", \"Dockerfile\", \".dockerignore\"]\nimage = \"oci:build/app.oci:latest\"\n",
        );
    let build = |mtime: &str| {
        // A fresh checkout: every file gets the time it was written.
        let touched = std::process::Command::new("find")
            .arg(p.path())
            .args(["-path", &p.join("build").to_string_lossy(), "-prune", "-o"])
            .args(["-exec", "touch", "-h", "-d", mtime, "{}", "+"])
            .status()
            .unwrap();
        assert!(touched.success());
        let _ = std::fs::remove_dir_all(p.join("build"));
        std::fs::create_dir_all(p.join("build")).unwrap();
        let buildah = |args: &[&str]| {
            let o = std::process::Command::new("buildah")
                .arg("--root")
                .arg(store.path().join("root"))
                .arg("--runroot")
                .arg(store.path().join("run"))
                .args(["--storage-driver", "vfs"])
                .args(args)
                .output()
                .unwrap();
            assert!(o.status.success(), "buildah {args:?}: {}", stderr(&o));
        };
        let ctx = p.path().to_string_lossy().into_owned();
        buildah(&[
            "bud",
            "--quiet",
            "--isolation",
            "chroot",
            "-t",
            "bp-rebuild",
            &ctx,
        ]);
        let dest = format!("oci:{}:latest", p.join("build/app.oci").display());
        buildah(&["push", "--quiet", "bp-rebuild", &dest]);
    };
    build("2024-01-01 10:00:00");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    build("2024-06-01 12:30:00");
    let o = p.run(&[
        "check",
        "--against",
        "base.json",
        "--write-manifest",
        "new.json",
        "--format",
        "json",
    ]);
    assert_exit(&o, 0);
    assert_eq!(rules_of(&o), Vec::<String>::new());
    let image = |file: &str| -> Value {
        let m: Value = serde_json::from_str(&p.read(file)).unwrap();
        m["components"]["app"]["image"].clone()
    };
    let (a, b) = (image("base.json"), image("new.json"));
    let diff_ids = |i: &Value| -> Vec<Value> {
        i["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["diff_id"].clone())
            .collect()
    };
    assert_ne!(
        diff_ids(&a),
        diff_ids(&b),
        "file times should change the layers"
    );
    assert_ne!(a["content_digest"], b["content_digest"]);
    assert_eq!(a["identity"], b["identity"]);

    p.write("app/notes.md", "the fix, where the build never looks\n");
    build("2024-06-02 09:00:00");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
    let m = findings(&o)[0]["message"].as_str().unwrap().to_owned();
    assert!(m.contains("app/notes.md"), "{m}");
}
