//! The registry client against real servers: Debian's `docker-registry` (plain
//! HTTP, htpasswd behind TLS, token auth), podman's Docker API service, and small
//! servers of the tests' own (token service, corrupting or throttling proxy).
//! Each test starts what it needs on free loopback ports and stops it on drop.

#![allow(clippy::disallowed_macros)]

mod support;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use buildproof::blob::Expected;
use buildproof::digest::Digest;
use buildproof::registry::{
    Client, Credential, DaemonReference, DockerHost, Options, Platform, Reference, RegistryError,
    auth,
};
use support::*;

const REPO: &str = "team/app";

fn one_image(text: &str) -> Vec<TestImage> {
    vec![TestImage {
        os: "linux",
        arch: "amd64",
        files: vec![("hello.txt", text.as_bytes().to_vec())],
    }]
}

fn plain_client() -> Client {
    Client::new(Options {
        plain_http: true,
        ..Options::default()
    })
    .unwrap()
}

fn reference(reg_host: &str, tag: &str) -> Reference {
    Reference::parse(&format!("docker://{reg_host}/{REPO}:{tag}")).unwrap()
}

/// Reads a blob whole through the verifying reader.
fn read_blob(client: &Client, r: &Reference, d: &Digest, size: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    client.blob(r, d, size).unwrap().read_to_end(&mut buf)?;
    Ok(buf)
}

fn gunzip_has(layer: &[u8], name: &str, text: &str) -> bool {
    let mut t = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    t.entries().unwrap().any(|e| {
        let mut e = e.unwrap();
        let mut s = String::new();
        e.path().unwrap().to_str() == Some(name) && e.read_to_string(&mut s).is_ok() && s == text
    })
}

/// Pulls manifest, config and layer, checking each digest.
fn pull_and_check(client: &Client, r: &Reference, layout: &Layout, text: &str) {
    let m = client.manifest(r).unwrap();
    assert_eq!(m.digest, layout.manifests[0]);
    assert_eq!(Digest::of(&m.bytes), m.digest);
    assert_eq!(m.media_type, "application/vnd.oci.image.manifest.v1+json");
    assert!(m.index_digests.is_empty());
    let image = m.image().unwrap();
    let config = image.config.expected().unwrap();
    assert_eq!((config.digest, config.size), layout.configs[0]);
    let cfg = client
        .blob_bytes(r, &config.digest, config.size, 1 << 20)
        .unwrap();
    assert!(String::from_utf8_lossy(&cfg).contains("diff_ids"));
    let layer = image.layers[0].expected().unwrap();
    let bytes = read_blob(client, r, &layer.digest, layer.size).unwrap();
    assert_eq!(Digest::of(&bytes), layer.digest);
    assert!(gunzip_has(&bytes, "hello.txt", text));
}

#[test]
fn anonymous_plain_http_pull() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("plain hello\n"));
    push(&layout, "v1", &reg, REPO, None, None);
    let client = plain_client();
    let r = reference(&reg.host(), "v1");
    pull_and_check(&client, &r, &layout, "plain hello\n");
    // By digest too.
    let by_digest = r.with_digest(layout.manifests[0]);
    assert_eq!(
        client.manifest(&by_digest).unwrap().digest,
        layout.manifests[0]
    );
    // Prefetched, in order: config then layer.
    let blobs = vec![
        Expected {
            digest: layout.configs[0].0,
            size: layout.configs[0].1,
        },
        Expected {
            digest: layout.layers[0][0].0,
            size: layout.layers[0][0].1,
        },
    ];
    let got: Vec<Vec<u8>> = client
        .prefetch(&r, blobs.clone())
        .map(|b| {
            let mut v = Vec::new();
            b.unwrap().read_to_end(&mut v).unwrap();
            v
        })
        .collect();
    assert_eq!(got.len(), 2);
    for (g, e) in got.iter().zip(&blobs) {
        assert_eq!(Digest::of(g), e.digest);
    }
    assert_eq!(client.tags(&r).unwrap(), vec!["v1".to_owned()]);
    assert_eq!(client.token_requests(), 0);
    // `tls_verify: false` without `plain_http`: HTTPS fails, plain HTTP is tried.
    let insecure = Client::new(Options {
        tls_verify: false,
        ..Options::default()
    })
    .unwrap();
    assert_eq!(insecure.manifest(&r).unwrap().digest, layout.manifests[0]);
    // Verifying TLS, a plain-HTTP registry is a TLS failure, never a silent downgrade.
    let e = Client::new(Options::default())
        .unwrap()
        .manifest(&r)
        .unwrap_err();
    assert!(matches!(e, RegistryError::Tls { .. }), "{e:?}");
}

#[test]
fn unknown_tag_is_not_found() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("x\n"));
    push(&layout, "v1", &reg, REPO, None, None);
    let e = plain_client()
        .manifest(&reference(&reg.host(), "nope"))
        .unwrap_err();
    assert!(matches!(e, RegistryError::NotFound { .. }), "{e:?}");
    let msg = e.to_string();
    eprintln!("message: {msg}");
    assert!(
        msg.contains("`team/app:nope` not found on `127.0.0.1:"),
        "{msg}"
    );
    assert!(msg.contains("MANIFEST_UNKNOWN"), "{msg}");
}

fn write_auth(path: &Path, host: &str, user: &str, password: &str) {
    let auth = support::b64(format!("{user}:{password}").as_bytes(), false);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
}

#[test]
fn basic_auth_over_tls_with_cert_dir() {
    if !require_tools(&["docker-registry", "skopeo", "openssl", "htpasswd"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"));
    let reg = Registry::start(
        &t.path().join("reg"),
        Auth::Basic {
            pki: &pki,
            user: "alice",
            password: "s3cret-Pw",
        },
    );
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("tls hello\n"));
    push(
        &layout,
        "v1",
        &reg,
        REPO,
        Some("alice:s3cret-Pw"),
        Some(&pki),
    );
    let auth_file = t.path().join("auth.json");
    write_auth(&auth_file, &reg.host(), "alice", "s3cret-Pw");
    let client = Client::new(Options {
        cert_dir: Some(pki.cert_dir()),
        auth_file: Some(auth_file),
        ..Options::default()
    })
    .unwrap();
    pull_and_check(
        &client,
        &reference(&reg.host(), "v1"),
        &layout,
        "tls hello\n",
    );
}

#[test]
fn wrong_password_names_the_registry_and_hides_the_password() {
    if !require_tools(&["docker-registry", "openssl", "htpasswd"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"));
    let reg = Registry::start(
        &t.path().join("reg"),
        Auth::Basic {
            pki: &pki,
            user: "alice",
            password: "s3cret-Pw",
        },
    );
    let auth_file = t.path().join("auth.json");
    write_auth(&auth_file, &reg.host(), "alice", "Wr0ng-Passw0rd");
    let client = Client::new(Options {
        cert_dir: Some(pki.cert_dir()),
        auth_file: Some(auth_file),
        ..Options::default()
    })
    .unwrap();
    let e = client.manifest(&reference(&reg.host(), "v1")).unwrap_err();
    let msg = e.to_string();
    eprintln!("message: {msg}");
    assert!(
        matches!(
            e,
            RegistryError::Unauthorized {
                had_credentials: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        msg.contains(&format!(
            "`{}` refused access to `team/app` with the configured credentials",
            reg.host()
        )),
        "{msg}"
    );
    assert!(
        msg.contains("UNAUTHORIZED: authentication required"),
        "{msg}"
    );
    for shown in [msg, format!("{e:?}")] {
        assert!(!shown.contains("Wr0ng-Passw0rd"), "{shown}");
        assert!(
            !shown.contains(&support::b64(b"alice:Wr0ng-Passw0rd", false)),
            "{shown}"
        );
    }
    // Without credentials: anonymous refusal.
    let anon = Client::new(Options {
        cert_dir: Some(pki.cert_dir()),
        auth_file: Some(t.path().join("none.json")),
        ..Options::default()
    })
    .unwrap();
    let e = anon
        .manifest(&reference(&reg.host(), "v1"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("anonymously"), "{e}");
}

#[test]
fn untrusted_certificate_names_the_host() {
    if !require_tools(&["docker-registry", "openssl", "htpasswd"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"));
    let reg = Registry::start(
        &t.path().join("reg"),
        Auth::Basic {
            pki: &pki,
            user: "alice",
            password: "pw",
        },
    );
    let e = Client::new(Options::default())
        .unwrap()
        .manifest(&reference(&reg.host(), "v1"))
        .unwrap_err();
    assert!(matches!(e, RegistryError::Tls { .. }), "{e:?}");
    let msg = e.to_string();
    eprintln!("message: {msg}");
    assert!(
        msg.starts_with(&format!("tls with `{}` failed", reg.host())),
        "{msg}"
    );
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");
    // `tls_verify: false` gets through the handshake (to the auth wall).
    let e = Client::new(Options {
        tls_verify: false,
        ..Options::default()
    })
    .unwrap()
    .manifest(&reference(&reg.host(), "v1"))
    .unwrap_err();
    assert!(matches!(e, RegistryError::Unauthorized { .. }), "{e:?}");
}

#[test]
fn connection_refused_names_the_host() {
    let port = free_port();
    let r = Reference::parse(&format!("docker://127.0.0.1:{port}/app:v1")).unwrap();
    let start = Instant::now();
    let e = Client::new(Options {
        max_attempts: 2,
        ..Options::default()
    })
    .unwrap()
    .manifest(&r)
    .unwrap_err();
    assert!(matches!(e, RegistryError::Connect { .. }), "{e:?}");
    let msg = e.to_string();
    eprintln!("message: {msg}");
    assert!(
        msg.starts_with(&format!("cannot reach `127.0.0.1:{port}`")),
        "{msg}"
    );
    assert!(msg.to_lowercase().contains("refused"), "{msg}");
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn bearer_token_is_fetched_once_per_scope() {
    if !require_tools(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let tokens = TokenServer::start(&t.path().join("token"));
    let reg = Registry::start(&t.path().join("reg"), Auth::Token(&tokens));
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("token hello\n"));
    push(&layout, "v1", &reg, REPO, None, None);
    let before = tokens.hits.load(std::sync::atomic::Ordering::SeqCst);
    assert!(before > 0, "skopeo went through the token service");
    let client = plain_client();
    let r = reference(&reg.host(), "v1");
    let m = client.manifest(&r).unwrap();
    assert_eq!(m.digest, layout.manifests[0]);
    let (ld, ls) = layout.layers[0][0];
    let (cd, cs) = layout.configs[0];
    read_blob(&client, &r, &ld, ls).unwrap();
    read_blob(&client, &r, &cd, cs).unwrap();
    let after = tokens.hits.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        after - before,
        1,
        "one token for manifest and two blob reads"
    );
    assert_eq!(client.token_requests(), 1);
    // Another repository is another scope: one more token.
    let other = Reference::parse(&format!("docker://{}/team/other:v1", reg.host())).unwrap();
    assert!(matches!(
        client.manifest(&other),
        Err(RegistryError::NotFound { .. })
    ));
    assert_eq!(client.token_requests(), 2);
}

#[test]
fn two_platform_index_picks_the_platform() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let images = vec![
        TestImage {
            os: "linux",
            arch: "amd64",
            files: vec![("arch", b"amd64\n".to_vec())],
        },
        TestImage {
            os: "linux",
            arch: "arm64",
            files: vec![("arch", b"arm64\n".to_vec())],
        },
    ];
    let layout = write_layout(&t.path().join("img"), "multi", &images);
    push(&layout, "multi", &reg, REPO, None, None);
    let r = reference(&reg.host(), "multi");
    for (i, p) in ["linux/amd64", "linux/arm64"].iter().enumerate() {
        let client = Client::new(Options {
            plain_http: true,
            platform: p.parse().unwrap(),
            ..Options::default()
        })
        .unwrap();
        let m = client.manifest(&r).unwrap();
        assert_eq!(m.digest, layout.manifests[i], "{p}");
        assert_eq!(m.index_digests, vec![layout.index.unwrap()], "{p}");
        assert_eq!(
            m.platform.as_ref().map(ToString::to_string).as_deref(),
            Some(*p)
        );
        let l = m.image().unwrap().layers[0].expected().unwrap();
        let bytes = read_blob(&client, &r, &l.digest, l.size).unwrap();
        assert!(gunzip_has(&bytes, "arch", &format!("{}\n", &p[6..])));
    }
    let s390: Platform = "linux/s390x".parse().unwrap();
    let e = Client::new(Options {
        plain_http: true,
        platform: s390,
        ..Options::default()
    })
    .unwrap()
    .manifest(&r)
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("has no image for platform `linux/s390x` (it has: linux/amd64, linux/arm64)"),
        "{e}"
    );
}

#[test]
fn corrupted_blob_fails_naming_the_blob() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("corrupt me\n"));
    push(&layout, "v1", &reg, REPO, None, None);
    let proxy = Proxy::start(reg.port, ProxyMode::CorruptBlobs);
    let client = plain_client();
    let r = Reference::parse(&format!("docker://127.0.0.1:{}/{REPO}:v1", proxy.port)).unwrap();
    // The manifest passes untouched.
    assert_eq!(client.manifest(&r).unwrap().digest, layout.manifests[0]);
    let (ld, ls) = layout.layers[0][0];
    let e = read_blob(&client, &r, &ld, ls).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    let msg = e.to_string();
    eprintln!("message: {msg}");
    assert!(
        msg.starts_with(&format!("blob `{ld}` from `127.0.0.1:{}/team/app`: content does not match its digest: expected {ld}, found sha256:", proxy.port)),
        "{msg}"
    );
    // Through the prefetcher the same.
    let mut p = client.prefetch(
        &r,
        vec![Expected {
            digest: ld,
            size: ls,
        }],
    );
    let mut b = p.next().unwrap().unwrap();
    let e = b.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().contains(&format!("blob `{ld}`")), "{e}");
    // And blob_bytes for a config.
    let (cd, cs) = layout.configs[0];
    let e = client.blob_bytes(&r, &cd, cs, 1 << 20).unwrap_err();
    assert!(matches!(e, RegistryError::Blob { .. }), "{e:?}");
    assert!(e.to_string().contains(&cd.to_string()));
}

#[test]
fn retry_after_on_429_is_honoured() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("slow\n"));
    push(&layout, "v1", &reg, REPO, None, None);
    let proxy = Proxy::start(reg.port, ProxyMode::Throttle429Once);
    let client = plain_client();
    let r = Reference::parse(&format!("docker://127.0.0.1:{}/{REPO}:v1", proxy.port)).unwrap();
    let (ld, ls) = layout.layers[0][0];
    let start = Instant::now();
    let bytes = read_blob(&client, &r, &ld, ls).unwrap();
    let waited = start.elapsed();
    assert_eq!(Digest::of(&bytes), ld);
    assert_eq!(
        proxy
            .blob_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
    assert!(waited.as_millis() >= 1000, "waited {waited:?}");
    assert!(waited.as_secs() < 10, "waited {waited:?}");
}

#[test]
fn broken_download_resumes_with_range() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let text = "resume me\n".repeat(20_000);
    let layout = write_layout(&t.path().join("img"), "v1", &one_image(&text));
    push(&layout, "v1", &reg, REPO, None, None);
    let proxy = Proxy::start(reg.port, ProxyMode::CutFirstBlob);
    let client = plain_client();
    let r = Reference::parse(&format!("docker://127.0.0.1:{}/{REPO}:v1", proxy.port)).unwrap();
    let (ld, ls) = layout.layers[0][0];
    let bytes = read_blob(&client, &r, &ld, ls).unwrap();
    assert_eq!(Digest::of(&bytes), ld);
    assert!(gunzip_has(&bytes, "hello.txt", &text));
    assert_eq!(
        proxy
            .blob_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}

#[test]
fn docker_daemon_export_via_podman() {
    if !require_tools(&["podman", "runc"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("daemon hello\n"));
    let podman = Podman::start(&t.path().join("podman"), &layout, "v1", "localhost/demo:v1");
    let host = DockerHost::Unix(podman.socket.clone());
    let r = DaemonReference::parse("docker-daemon:localhost/demo:v1").unwrap();
    let export = buildproof::registry::daemon_export(&r, &host).unwrap();
    let mut archive = tar::Archive::new(export);
    let mut names = Vec::new();
    let mut manifest = String::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        if name == "manifest.json" {
            e.read_to_string(&mut manifest).unwrap();
        }
        names.push(name);
    }
    assert!(manifest.contains("localhost/demo:v1"), "{manifest}");
    assert!(
        names
            .iter()
            .any(|n| n.ends_with(".tar") || n.ends_with("/layer.tar")),
        "{names:?}"
    );
    // The config blob keeps its digest through podman.
    assert!(
        names.iter().any(|n| n.contains(&layout.configs[0].0.hex())),
        "{names:?}"
    );
    let missing = DaemonReference::parse("docker-daemon:nope:v9").unwrap();
    let e = buildproof::registry::daemon_export(&missing, &host)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no image `nope:v9`"), "{e}");
    assert!(e.contains(&podman.socket.display().to_string()), "{e}");
}

/// Runs this test binary again, for test `name` only, with `envs` set: the only way
/// to try environment variables without changing this process's environment.
fn reexec(name: &str, envs: &[(&str, &std::ffi::OsStr)]) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"]);
    cmd.env("BUILDPROOF_REEXEC", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "re-run of {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn reexecuted() -> bool {
    std::env::var_os("BUILDPROOF_REEXEC").is_some()
}

#[test]
fn auth_files_are_read_in_order() {
    let name = "auth_files_are_read_in_order";
    let host = "registry.example:5000";
    if reexecuted() {
        let expect = std::env::var("EXPECT_USER").unwrap();
        let files = auth::auth_files(None);
        let found = auth::lookup(&files, host, "team/app")
            .unwrap()
            .expect("a credential");
        match found.credential {
            Credential::Basic { username, .. } => assert_eq!(username, expect, "{}", found.source),
            other => panic!("{other:?}"),
        }
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let p = t.path();
    let reg_file = p.join("registry-auth.json");
    let xdg = p.join("xdg");
    let docker = p.join("docker");
    write_auth(&reg_file, host, "from-registry-auth-file", "a");
    write_auth(&xdg.join("containers/auth.json"), host, "from-xdg", "b");
    write_auth(&docker.join("config.json"), host, "from-docker-config", "c");
    let home = p.join("home");
    write_auth(&home.join(".docker/config.json"), host, "from-home", "d");
    let o = |s: &Path| s.as_os_str().to_owned();
    let empty = std::ffi::OsString::new();
    let (rf, x, d, h) = (o(&reg_file), o(&xdg), o(&docker), o(&home));
    reexec(
        name,
        &[
            ("EXPECT_USER", "from-registry-auth-file".as_ref()),
            ("REGISTRY_AUTH_FILE", &rf),
            ("XDG_RUNTIME_DIR", &x),
            ("DOCKER_CONFIG", &d),
            ("HOME", &h),
        ],
    );
    reexec(
        name,
        &[
            ("EXPECT_USER", "from-xdg".as_ref()),
            ("REGISTRY_AUTH_FILE", &empty),
            ("XDG_RUNTIME_DIR", &x),
            ("DOCKER_CONFIG", &d),
            ("HOME", &h),
        ],
    );
    reexec(
        name,
        &[
            ("EXPECT_USER", "from-docker-config".as_ref()),
            ("REGISTRY_AUTH_FILE", &empty),
            ("XDG_RUNTIME_DIR", &empty),
            ("DOCKER_CONFIG", &d),
            ("HOME", &h),
        ],
    );
    reexec(
        name,
        &[
            ("EXPECT_USER", "from-home".as_ref()),
            ("REGISTRY_AUTH_FILE", &empty),
            ("XDG_RUNTIME_DIR", &empty),
            ("DOCKER_CONFIG", &empty),
            ("HOME", &h),
        ],
    );
    // A file without an entry for the host passes on to the next.
    let other = p.join("other.json");
    write_auth(&other, "elsewhere.example", "nobody", "x");
    let oo = o(&other);
    reexec(
        name,
        &[
            ("EXPECT_USER", "from-xdg".as_ref()),
            ("REGISTRY_AUTH_FILE", &oo),
            ("XDG_RUNTIME_DIR", &x),
            ("DOCKER_CONFIG", &d),
            ("HOME", &h),
        ],
    );
}

#[test]
fn credential_helper_on_path() {
    if !require_tools(&["docker-registry", "skopeo", "openssl", "htpasswd"]) {
        return;
    }
    let name = "credential_helper_on_path";
    if reexecuted() {
        let host = std::env::var("REG_HOST").unwrap();
        let cert_dir = std::env::var("CERT_DIR").unwrap();
        let client = Client::new(Options {
            cert_dir: Some(cert_dir.into()),
            ..Options::default()
        })
        .unwrap();
        let m = client.manifest(&reference(&host, "v1")).unwrap();
        assert_eq!(m.digest.to_string(), std::env::var("WANT_DIGEST").unwrap());
        // The helper was asked for this host on stdin.
        let asked = std::fs::read_to_string(std::env::var("HELPER_LOG").unwrap()).unwrap();
        assert_eq!(asked.trim(), host);
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let pki = Pki::new(&t.path().join("pki"));
    let reg = Registry::start(
        &t.path().join("reg"),
        Auth::Basic {
            pki: &pki,
            user: "helper-user",
            password: "helper-pw",
        },
    );
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("helper\n"));
    push(
        &layout,
        "v1",
        &reg,
        REPO,
        Some("helper-user:helper-pw"),
        Some(&pki),
    );
    let bin = t.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = t.path().join("helper.log");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\ncat > '{}'\necho '{{\"ServerURL\":\"x\",\"Username\":\"helper-user\",\"Secret\":\"helper-pw\"}}'\n",
        log.display()
    );
    let helper = bin.join("docker-credential-test");
    std::fs::write(&helper, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docker = t.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(
            r#"{{"auths":{{}},"credHelpers":{{"{}":"test"}}}}"#,
            reg.host()
        ),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let empty = std::ffi::OsString::new();
    reexec(
        name,
        &[
            ("PATH", path.as_ref()),
            ("DOCKER_CONFIG", docker.as_os_str()),
            ("REGISTRY_AUTH_FILE", &empty),
            ("XDG_RUNTIME_DIR", &empty),
            ("REG_HOST", reg.host().as_ref()),
            ("CERT_DIR", pki.cert_dir().as_os_str()),
            ("WANT_DIGEST", layout.manifests[0].to_string().as_ref()),
            ("HELPER_LOG", log.as_os_str()),
        ],
    );
}

#[test]
fn push_blob_manifest_and_referrers() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("subject\n"));
    push(&layout, "v1", &reg, REPO, None, None);
    let client = plain_client();
    let r = reference(&reg.host(), "v1");
    let subject = client.manifest(&r).unwrap();
    // An artifact that refers to the image: empty config, one blob.
    let empty = client.put_blob(&r, b"{}").unwrap();
    let payload = client.put_blob(&r, b"attestation payload").unwrap();
    let artifact = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.buildproof.test",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.to_string(), "size": 2},
        "layers": [{"mediaType": "text/plain", "digest": payload.to_string(), "size": 19}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest.to_string(), "size": subject.bytes.len()},
    });
    let bytes = artifact.to_string().into_bytes();
    let untagged = Reference {
        tag: None,
        ..r.clone()
    };
    let d = client
        .put_manifest(
            &untagged,
            "application/vnd.oci.image.manifest.v1+json",
            &bytes,
        )
        .unwrap();
    assert_eq!(d, Digest::of(&bytes));
    assert_eq!(
        read_blob(&client, &r, &payload, 19).unwrap(),
        b"attestation payload"
    );
    // distribution 2.8 has no referrers API: the fallback tag, absent here, gives none.
    let refs = client.referrers(&r, &subject.digest, None).unwrap();
    assert!(refs.is_empty(), "{refs:?}");
    // Written under the fallback tag, it is found.
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": "application/vnd.buildproof.test", "digest": d.to_string(), "size": bytes.len()}],
    });
    let tag_ref = Reference {
        tag: Some(format!("sha256-{}", subject.digest.hex())),
        ..r.clone()
    };
    client
        .put_manifest(
            &tag_ref,
            "application/vnd.oci.image.index.v1+json",
            index.to_string().as_bytes(),
        )
        .unwrap();
    let refs = client
        .referrers(&r, &subject.digest, Some("application/vnd.buildproof.test"))
        .unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].digest, d.to_string());
    let mut tags = client.tags(&r).unwrap();
    tags.sort();
    assert_eq!(
        tags,
        vec![format!("sha256-{}", subject.digest.hex()), "v1".to_owned()]
    );
}

/// Figures, not a check: with `BUILDPROOF_REGISTRY_BENCH_MB=N`, pushes one layer of
/// N MiB of random data and pulls it with this client (direct and prefetched, in a
/// fresh process for a clean peak RSS) and with `skopeo copy`, printing time and
/// peak RSS. Without the variable it does nothing.
#[test]
fn bench_large_layer() {
    let Ok(mb) = std::env::var("BUILDPROOF_REGISTRY_BENCH_MB") else {
        return;
    };
    let name = "bench_large_layer";
    if reexecuted() {
        let r = Reference::parse(&std::env::var("BENCH_REF").unwrap()).unwrap();
        let client = plain_client();
        let start = Instant::now();
        let m = client.manifest(&r).unwrap();
        let layers: Vec<Expected> = m
            .image()
            .unwrap()
            .layers
            .iter()
            .map(|l| l.expected().unwrap())
            .collect();
        let n = if std::env::var("BENCH_PREFETCH").is_ok() {
            let mut total = 0;
            for b in client.prefetch(&r, layers) {
                total += std::io::copy(&mut b.unwrap(), &mut std::io::sink()).unwrap();
            }
            total
        } else {
            let l = &layers[0];
            std::io::copy(
                &mut client.blob(&r, &l.digest, l.size).unwrap(),
                &mut std::io::sink(),
            )
            .unwrap()
        };
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hwm = status.lines().find(|l| l.starts_with("VmHWM")).unwrap();
        println!(
            "BENCH {} bytes in {:.2} s, {hwm}",
            n,
            start.elapsed().as_secs_f64()
        );
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let dir = t.path().join("img");
    let layout = write_layout(&dir, "big", &one_image("placeholder\n"));
    // Replace the layer by N MiB of random data, gzip -1.
    let big = t.path().join("big.tar.gz");
    run(Command::new("sh").arg("-c").arg(format!(
        "mkdir -p {0}/d && head -c {mb}M /dev/urandom > {0}/d/random && tar -C {0}/d -cf - random | gzip -1 > {1}",
        t.path().display(),
        big.display()
    )));
    let (gz, gz_size) = Digest::of_reader(std::fs::File::open(&big).unwrap()).unwrap();
    let (diff, _) = Digest::of_reader(flate2::read::GzDecoder::new(
        std::fs::File::open(&big).unwrap(),
    ))
    .unwrap();
    std::fs::rename(&big, dir.join("blobs/sha256").join(gz.hex())).unwrap();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff.to_string()]}}).to_string();
    let cd = Digest::of(config.as_bytes());
    std::fs::write(dir.join("blobs/sha256").join(cd.hex()), &config).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": gz.to_string(), "size": gz_size}],
    }).to_string();
    let md = Digest::of(manifest.as_bytes());
    std::fs::write(dir.join("blobs/sha256").join(md.hex()), &manifest).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "big"}}]}).to_string(),
    )
    .unwrap();
    push(&layout, "big", &reg, REPO, None, None);
    let r = format!("docker://{}/{REPO}:big", reg.host());
    for prefetch in [false, true] {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env("BUILDPROOF_REEXEC", "1")
            .env("BENCH_REF", &r);
        if prefetch {
            cmd.env("BENCH_PREFETCH", "1");
        }
        let out = run(&mut cmd);
        let line = out
            .lines()
            .find_map(|l| l.split_once("BENCH "))
            .unwrap()
            .1
            .to_owned();
        println!(
            "buildproof ({}): {line}",
            if prefetch { "prefetch" } else { "blob" }
        );
    }
    let dest = t.path().join("skopeo-out");
    let out = Command::new("/usr/bin/time")
        .args([
            "-f",
            "%e s, max RSS %M kB",
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
        ])
        .arg(format!("docker://{}/{REPO}:big", reg.host()))
        .arg(format!("oci:{}:big", dest.display()))
        .output()
        .unwrap();
    println!(
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

#[test]
fn https_proxy_and_no_proxy() {
    if !require_tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let name = "https_proxy_and_no_proxy";
    if reexecuted() {
        let r = Reference::parse(&std::env::var("BENCH_REF").unwrap()).unwrap();
        let m = plain_client().manifest(&r).unwrap();
        assert_eq!(m.digest.to_string(), std::env::var("WANT_DIGEST").unwrap());
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(&t.path().join("reg"), Auth::None);
    let layout = write_layout(&t.path().join("img"), "v1", &one_image("proxied\n"));
    push(&layout, "v1", &reg, REPO, None, None);
    let proxy = ConnectProxy::start();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let r = format!("docker://localhost:{}/{REPO}:v1", reg.port);
    let want = layout.manifests[0].to_string();
    let empty = "";
    let base = |no_proxy: &'static str| {
        vec![
            ("ALL_PROXY", empty.to_owned()),
            ("all_proxy", empty.to_owned()),
            ("HTTP_PROXY", empty.to_owned()),
            ("http_proxy", empty.to_owned()),
            ("https_proxy", empty.to_owned()),
            ("no_proxy", empty.to_owned()),
            ("HTTPS_PROXY", proxy_url.clone()),
            ("NO_PROXY", no_proxy.to_owned()),
            ("BENCH_REF", r.clone()),
            ("WANT_DIGEST", want.clone()),
        ]
    };
    let as_env = |v: &[(&'static str, String)]| -> Vec<(&'static str, std::ffi::OsString)> {
        v.iter().map(|(k, v)| (*k, v.into())).collect()
    };
    let through = as_env(&base(""));
    reexec(
        name,
        &through
            .iter()
            .map(|(k, v)| (*k, v.as_os_str()))
            .collect::<Vec<_>>(),
    );
    let tunnels = proxy.tunnels.load(std::sync::atomic::Ordering::SeqCst);
    assert!(tunnels >= 1, "the request went through the proxy");
    let direct = as_env(&base("localhost"));
    reexec(
        name,
        &direct
            .iter()
            .map(|(k, v)| (*k, v.as_os_str()))
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        proxy.tunnels.load(std::sync::atomic::Ordering::SeqCst),
        tunnels,
        "NO_PROXY bypasses it"
    );
}
