//! Images where users keep them, through the CLI: a real `docker-registry` (plain
//! HTTP; htpasswd behind TLS with a CA made by openssl, passed with `--cert-dir`;
//! token auth with the tests' own token service), images pushed with `skopeo copy`
//! (one platform, and a two-platform index), podman's Docker API service for
//! `docker-daemon:`, a proxy that corrupts blobs, and skopeo's transports on disk.
//! The servers are the registry tests' own (`tests/registry/support.rs`), started on
//! free loopback ports by each test and stopped on drop.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::servers::{
    Auth, Pki, Podman, Proxy, ProxyMode, Registry, TestImage, TokenServer, b64, free_port, push,
    require_tools, write_layout,
};
use crate::support::{assert_bad_input, assert_exit, buildproof, findings, stderr, stdout};

const REPO: &str = "team/app";

/// The smallest static ELF64 startup verification accepts.
pub(crate) fn tiny_elf() -> Vec<u8> {
    let mut h = b"\x7fELF\x02\x01\x01".to_vec();
    h.resize(64, 0);
    h
}

pub(crate) fn image(arch: &'static str, motd: &str) -> TestImage {
    TestImage {
        os: "linux",
        arch,
        files: vec![
            ("bin/true", tiny_elf()),
            ("etc/motd", motd.as_bytes().to_vec()),
        ],
    }
}

/// buildproof in `home`, with no auth file, proxy or engine of the machine's.
pub(crate) fn bp(home: &Path, args: &[&str]) -> Output {
    let mut c = buildproof();
    c.current_dir(home)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home.join("xdg"))
        .env("REGISTRY_AUTH_FILE", home.join("no-auth.json"))
        .env_remove("DOCKER_CONFIG")
        .env_remove("DOCKER_HOST");
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        c.env_remove(v);
    }
    c.args(args).output().unwrap()
}

pub(crate) fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// `image inspect … --format json`, expected to succeed.
#[track_caller]
fn inspect(home: &Path, image: &str, extra: &[&str]) -> Value {
    let mut args = vec!["image", "inspect", image, "--format", "json"];
    args.extend_from_slice(extra);
    let o = bp(home, &args);
    assert_exit(&o, 0);
    json(&o)
}

fn write_auth(path: &Path, host: &str, user: &str, password: &str) {
    let auth = b64(format!("{user}:{password}").as_bytes(), false);
    std::fs::write(
        path,
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
}

pub(crate) fn snapshot_config(home: &Path, image: &str, extra: &str) {
    std::fs::create_dir_all(home.join("src")).unwrap();
    std::fs::write(home.join("src/main.c"), "int main;").unwrap();
    std::fs::write(
        home.join("buildproof.toml"),
        format!(
            "[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\nimage = \"{image}\"\n{extra}"
        ),
    )
    .unwrap();
}

#[test]
fn registry_image_reads_like_its_layout_over_plain_http() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let reg = Registry::start(&home.join("reg"), Auth::None);
    let layout = write_layout(&home.join("img"), "v1", &[image("amd64", "plain\n")]);
    push(&layout, "v1", &reg, REPO, None, None);
    let local = inspect(home, &format!("oci:{}:v1", layout.dir.display()), &[]);
    let remote_ref = format!("docker://{}/{REPO}:v1", reg.host());
    let remote = inspect(home, &remote_ref, &["--tls-verify=false"]);
    // `skopeo copy --preserve-digests` keeps the manifest: the digest the registry
    // serves is the layout's, and the content identity is the same.
    assert_eq!(remote["manifest_digest"], layout.manifests[0].to_string());
    assert_eq!(remote["manifest_digest"], local["manifest_digest"]);
    assert_eq!(remote["identity"], local["identity"]);
    assert_eq!(remote["config_digest"], local["config_digest"]);
    assert_eq!(remote["layers"], local["layers"]);
    assert!(
        remote["startup_verification"]
            .as_str()
            .unwrap()
            .starts_with("ok")
    );

    // TLS is the default: a plain-HTTP registry fails naming the host.
    let o = bp(home, &["image", "inspect", &remote_ref]);
    assert_bad_input(&o, &format!("tls with `{}` failed", reg.host()));

    // An unknown tag: the registry's own words.
    let o = bp(
        home,
        &[
            "image",
            "inspect",
            &format!("docker://{}/{REPO}:nope", reg.host()),
            "--tls-verify=false",
        ],
    );
    assert_bad_input(&o, &format!("`{REPO}:nope` not found on `{}`", reg.host()));
    assert!(stderr(&o).contains("MANIFEST_UNKNOWN"), "{}", stderr(&o));

    // In the config: the manifest records the served digest and where it came from.
    snapshot_config(home, &remote_ref, "");
    let o = bp(home, &["snapshot", "--tls-verify=false", "-o", "m.json"]);
    assert_exit(&o, 0);
    let m: Value = serde_json::from_slice(&std::fs::read(home.join("m.json")).unwrap()).unwrap();
    let rec = &m["components"]["app"]["image"];
    assert_eq!(rec["manifest_digest"], layout.manifests[0].to_string());
    assert_eq!(rec["transport"], "docker");
    assert_eq!(rec["identity"], local["identity"]);
    assert_eq!(
        rec["names"],
        serde_json::json!([format!("{}/{REPO}:v1", reg.host())])
    );

    // `image diff` across transports: same content.
    let o = bp(
        home,
        &[
            "image",
            "diff",
            &format!("oci:{}:v1", layout.dir.display()),
            &remote_ref,
            "--tls-verify=false",
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 0);
    assert_eq!(json(&o)["same_content"], true);
}

#[test]
fn two_platform_index_pushed_with_skopeo_picks_the_platform() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let reg = Registry::start(&home.join("reg"), Auth::None);
    let layout = write_layout(
        &home.join("img"),
        "multi",
        &[image("amd64", "x86\n"), image("arm64", "arm\n")],
    );
    push(&layout, "multi", &reg, REPO, None, None);
    let r = format!("docker://{}/{REPO}:multi", reg.host());
    let amd = inspect(
        home,
        &r,
        &["--tls-verify=false", "--platform", "linux/amd64"],
    );
    assert_eq!(amd["manifest_digest"], layout.manifests[0].to_string());
    let arm = inspect(
        home,
        &r,
        &["--tls-verify=false", "--platform", "linux/arm64"],
    );
    assert_eq!(arm["manifest_digest"], layout.manifests[1].to_string());
    assert_ne!(arm["identity"], amd["identity"]);
    let o = bp(
        home,
        &[
            "image",
            "inspect",
            &r,
            "--tls-verify=false",
            "--platform",
            "linux/s390x",
        ],
    );
    assert_bad_input(
        &o,
        "has no image for platform `linux/s390x` (it has: linux/amd64, linux/arm64)",
    );
    // A component's `platform` wins over the machine's, and the index digest (what
    // Kubernetes reports for a pod started from the tag) is recorded too.
    snapshot_config(home, &r, "platform = \"linux/arm64\"\n");
    let o = bp(home, &["snapshot", "--tls-verify=false"]);
    assert_exit(&o, 0);
    let m = json(&o);
    let rec = &m["components"]["app"]["image"];
    assert_eq!(rec["manifest_digest"], layout.manifests[1].to_string());
    assert_eq!(
        rec["index_digests"],
        serde_json::json!([layout.index.unwrap().to_string()])
    );
    // A platform that is not one is refused with its line.
    snapshot_config(home, &r, "platform = \"arm64\"\n");
    assert_bad_input(&bp(home, &["snapshot"]), "`arm64` is not a platform");
}

#[test]
fn tls_htpasswd_registry_with_cert_dir_and_auth_files() {
    if !require_tools(&["docker-registry", "skopeo", "openssl", "htpasswd"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let pki = Pki::new(&home.join("pki"));
    let reg = Registry::start(
        &home.join("reg"),
        Auth::Basic {
            pki: &pki,
            user: "alice",
            password: "s3cret-Pw",
        },
    );
    let layout = write_layout(&home.join("img"), "v1", &[image("amd64", "tls\n")]);
    push(
        &layout,
        "v1",
        &reg,
        REPO,
        Some("alice:s3cret-Pw"),
        Some(&pki),
    );
    let r = format!("docker://{}/{REPO}:v1", reg.host());
    let cert_dir = pki.cert_dir();
    let cert_dir = cert_dir.to_str().unwrap();
    write_auth(&home.join("auth.json"), &reg.host(), "alice", "s3cret-Pw");
    let got = inspect(
        home,
        &r,
        &["--cert-dir", cert_dir, "--authfile", "auth.json"],
    );
    assert_eq!(got["manifest_digest"], layout.manifests[0].to_string());

    // `$REGISTRY_AUTH_FILE` as podman and skopeo read it.
    let mut c = buildproof();
    let o = c
        .current_dir(home)
        .env("HOME", home)
        .env("REGISTRY_AUTH_FILE", home.join("auth.json"))
        .args(["image", "inspect", &r, "--cert-dir", cert_dir])
        .output()
        .unwrap();
    assert_exit(&o, 0);

    // Without the CA: a TLS failure that names the host.
    let o = bp(home, &["image", "inspect", &r, "--authfile", "auth.json"]);
    assert_bad_input(&o, &format!("tls with `{}` failed", reg.host()));
    assert!(
        stderr(&o).to_lowercase().contains("certificate"),
        "{}",
        stderr(&o)
    );

    // A wrong password: the registry's message, never the password.
    write_auth(
        &home.join("wrong.json"),
        &reg.host(),
        "alice",
        "Wr0ng-Passw0rd",
    );
    let o = bp(
        home,
        &[
            "image",
            "inspect",
            &r,
            "--cert-dir",
            cert_dir,
            "--authfile",
            "wrong.json",
        ],
    );
    assert_bad_input(
        &o,
        &format!(
            "`{}` refused access to `{REPO}` with the configured credentials",
            reg.host()
        ),
    );
    let err = stderr(&o);
    assert!(err.contains("UNAUTHORIZED"), "{err}");
    assert!(!err.contains("Wr0ng-Passw0rd"), "{err}");
    assert!(!err.contains(&b64(b"alice:Wr0ng-Passw0rd", false)), "{err}");
    // … and a snapshot that fails so writes nothing.
    snapshot_config(home, &r, "");
    let o = bp(
        home,
        &[
            "snapshot",
            "--cert-dir",
            cert_dir,
            "--authfile",
            "wrong.json",
            "-o",
            "m.json",
        ],
    );
    assert_exit(&o, 2);
    assert!(!home.join("m.json").exists());
}

#[test]
fn token_auth_registry_is_read_with_a_bearer_token() {
    if !require_tools(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let tokens = TokenServer::start(&home.join("token"));
    let reg = Registry::start(&home.join("reg"), Auth::Token(&tokens));
    let layout = write_layout(&home.join("img"), "v1", &[image("amd64", "token\n")]);
    push(&layout, "v1", &reg, REPO, None, None);
    let before = tokens.hits.load(std::sync::atomic::Ordering::SeqCst);
    let got = inspect(
        home,
        &format!("docker://{}/{REPO}:v1", reg.host()),
        &["--tls-verify=false"],
    );
    assert_eq!(got["manifest_digest"], layout.manifests[0].to_string());
    assert!(tokens.hits.load(std::sync::atomic::Ordering::SeqCst) > before);
}

#[test]
fn docker_daemon_image_streams_from_podman_api() {
    if !require_tools(&["podman", "runc", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let layout = write_layout(&home.join("img"), "v1", &[image("amd64", "daemon\n")]);
    let podman = Podman::start(&home.join("podman"), &layout, "v1", "localhost/demo:v1");
    let local = inspect(home, &format!("oci:{}:v1", layout.dir.display()), &[]);
    let host = format!("unix://{}", podman.socket.display());
    let run = |image: &str| {
        let mut c = buildproof();
        c.current_dir(home)
            .env("HOME", home)
            .env("DOCKER_HOST", &host)
            .args(["image", "inspect", image, "--format", "json"])
            .output()
            .unwrap()
    };
    let o = run("docker-daemon:localhost/demo:v1");
    assert_exit(&o, 0);
    let daemon = json(&o);
    assert_eq!(daemon["config_digest"], local["config_digest"]);
    assert_eq!(daemon["identity"], local["identity"]);
    assert_eq!(daemon["names"], serde_json::json!(["localhost/demo:v1"]));
    // The engine's export is a docker-archive: the same digests as `docker save`
    // output of the same image read from a file.
    let archive = home.join("demo.tar");
    crate::servers::run(
        std::process::Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet"])
            .arg(format!("oci:{}:v1", layout.dir.display()))
            .arg(format!(
                "docker-archive:{}:localhost/demo:v1",
                archive.display()
            )),
    );
    let file = inspect(home, &format!("docker-archive:{}", archive.display()), &[]);
    assert_eq!(daemon["manifest_digest"], file["manifest_digest"]);
    assert_eq!(daemon["identity"], file["identity"]);

    let o = run("docker-daemon:nope:v9");
    assert_bad_input(&o, "no image `nope:v9`");
}

#[test]
fn corrupted_blob_fails_naming_it_and_writes_nothing() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let reg = Registry::start(&home.join("reg"), Auth::None);
    let layout = write_layout(&home.join("img"), "v1", &[image("amd64", "corrupt\n")]);
    push(&layout, "v1", &reg, REPO, None, None);
    let proxy = Proxy::start(reg.port, ProxyMode::CorruptBlobs);
    let r = format!("docker://127.0.0.1:{}/{REPO}:v1", proxy.port);
    let o = bp(
        home,
        &[
            "image",
            "inspect",
            &r,
            "--tls-verify=false",
            "--output",
            "report.json",
        ],
    );
    assert_bad_input(&o, "blob `sha256:");
    let err = stderr(&o);
    assert!(
        err.contains(&layout.configs[0].0.to_string())
            || err.contains(&layout.layers[0][0].0.to_string()),
        "{err}"
    );
    assert!(err.contains("does not match"), "{err}");
    assert!(!home.join("report.json").exists());
    snapshot_config(home, &r, "");
    let o = bp(home, &["snapshot", "--tls-verify=false", "-o", "m.json"]);
    assert_exit(&o, 2);
    assert!(!home.join("m.json").exists());
}

#[test]
fn connection_refused_names_the_host() {
    let t = tempfile::tempdir().unwrap();
    let port = free_port();
    let o = bp(
        t.path(),
        &[
            "image",
            "inspect",
            &format!("docker://127.0.0.1:{port}/app:v1"),
        ],
    );
    assert_bad_input(&o, &format!("cannot reach `127.0.0.1:{port}`"));
    assert!(stderr(&o).contains("refused"), "{}", stderr(&o));
}

/// skopeo's transports on disk name the same image three ways; the content
/// identity is one, while a docker-archive's manifest digest is not the layout's.
#[test]
fn skopeo_transports_on_disk_and_wrong_prefixes() {
    if !require_tools(&["skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let layout = write_layout(&home.join("img"), "v1", &[image("amd64", "forms\n")]);
    let src = format!("oci:{}:v1", layout.dir.display());
    for dest in [
        "oci-archive:web.oci.tar:v1",
        "docker-archive:web.docker.tar:web:v1",
    ] {
        crate::servers::run(
            std::process::Command::new("skopeo")
                .current_dir(home)
                .args(["--insecure-policy", "copy", "--quiet", &src, dest]),
        );
    }
    let oci = inspect(home, &src, &[]);
    let plain = inspect(home, &layout.dir.display().to_string(), &[]);
    let oci_archive = inspect(home, "oci-archive:web.oci.tar:v1", &[]);
    let docker = inspect(home, "docker-archive:web.docker.tar:web:v1", &[]);
    let docker_plain = inspect(home, "web.docker.tar", &[]);
    for other in [&plain, &oci_archive, &docker, &docker_plain] {
        assert_eq!(other["identity"], oci["identity"], "{other}");
        assert_eq!(other["config_digest"], oci["config_digest"], "{other}");
    }
    assert_eq!(oci_archive["manifest_digest"], oci["manifest_digest"]);
    assert_ne!(docker["manifest_digest"], oci["manifest_digest"]);

    // A transport that does not match the content says which one would.
    assert_bad_input(
        &bp(home, &["image", "inspect", "oci:web.oci.tar"]),
        "`oci:` names an OCI layout directory",
    );
    assert_bad_input(
        &bp(home, &["image", "inspect", "docker-archive:web.oci.tar"]),
        "write `oci-archive:`",
    );
    // Prefixes buildproof does not read, and names that are no file, list the forms.
    for bad in [
        "containers-storage:web:v1",
        "docker:web:v1",
        "http://example.com/web",
    ] {
        let o = bp(home, &["image", "inspect", bad]);
        assert_bad_input(&o, "is not an image transport buildproof reads");
        assert!(
            stderr(&o).contains("docker-daemon:NAME[:TAG]"),
            "{}",
            stderr(&o)
        );
    }
    let o = bp(home, &["image", "inspect", "web:v1"]);
    assert_bad_input(&o, "docker://HOST/REPO");
}

/// `docker save` → snapshot → push → verify: the pushed image runs under another
/// manifest digest with the same content, and the finding says so.
#[test]
fn verify_explains_the_digest_a_push_changed() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path();
    let reg = Registry::start(&home.join("reg"), Auth::None);
    let layout = write_layout(&home.join("img"), "v1", &[image("amd64", "trap\n")]);
    crate::servers::run(
        std::process::Command::new("skopeo")
            .current_dir(home)
            .args(["--insecure-policy", "copy", "--quiet"])
            .arg(format!("oci:{}:v1", layout.dir.display()))
            .arg(format!("docker-archive:web.tar:{}/{REPO}:v1", reg.host())),
    );
    snapshot_config(home, "web.tar", "deploy = \"app\"\n");
    assert_exit(&bp(home, &["snapshot", "-o", "built.json"]), 0);
    crate::servers::run(
        std::process::Command::new("skopeo")
            .current_dir(home)
            .args([
                "--insecure-policy",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                "docker-archive:web.tar",
            ])
            .arg(format!("docker://{}/{REPO}:v1", reg.host())),
    );
    snapshot_config(
        home,
        &format!("docker://{}/{REPO}:v1", reg.host()),
        "deploy = \"app\"\n",
    );
    assert_exit(
        &bp(
            home,
            &["snapshot", "--tls-verify=false", "-o", "deployed.json"],
        ),
        0,
    );
    let o = bp(
        home,
        &[
            "verify",
            "built.json",
            "--running",
            "deployed.json",
            "--format",
            "json",
        ],
    );
    assert_exit(&o, 1);
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule"], "deployed-mismatch");
    let message = f[0]["message"].as_str().unwrap();
    assert!(
        message.contains("same content, different manifest digest"),
        "{message}"
    );
    assert!(message.contains("docker://"), "{message}");
    assert_eq!(f[0]["details"]["built_from"], "docker-archive");
    assert_eq!(f[0]["details"]["same_content"]["by"], "content identity");
}
