//! Real servers for the registry tests, each started by the test that needs it and
//! killed on drop: Debian's `docker-registry` (plain HTTP, htpasswd behind TLS, or
//! token auth), a token service, a proxy that corrupts blobs or throttles, and
//! podman's Docker-compatible API service. Test images are OCI layouts written here
//! and pushed with `skopeo copy`.

#![allow(dead_code, clippy::disallowed_macros)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use buildproof::digest::Digest;

/// Whether an external tool is on PATH. Locally a missing tool skips the test with a
/// word on stderr; under CI (`CI=true`) it fails it, so nothing passes by not running.
pub fn require_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`{tool}` is required under CI; .ci/run installs it"
        );
        eprintln!("skipped: `{tool}` is not installed");
    }
    found
}

pub fn require_tools(tools: &[&str]) -> bool {
    tools.iter().all(|t| require_tool(t))
}

/// A loopback port nothing listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[track_caller]
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A child process killed (and reaped) on drop.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something accepts connections on `port`.
pub fn wait_port(port: u16, child: &mut Child, log: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "server exited ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {port} after 20 s");
}

/// A CA and a server certificate for 127.0.0.1 / localhost, made with openssl.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run(Command::new("openssl")
            .current_dir(dir)
            .args(["req", "-x509"])
            .args(ec)
            .args([
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=buildproof test CA",
            ]));
        run(Command::new("openssl")
            .current_dir(dir)
            .args(["req"])
            .args(ec)
            .args([
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ]));
        std::fs::write(
            dir.join("ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        run(Command::new("openssl").current_dir(dir).args([
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext",
        ]));
        // A skopeo-style cert dir with just the CA.
        std::fs::create_dir_all(dir.join("certs.d")).unwrap();
        std::fs::copy(dir.join("ca.crt"), dir.join("certs.d/ca.crt")).unwrap();
        Self {
            dir: dir.to_owned(),
        }
    }

    pub fn cert_dir(&self) -> PathBuf {
        self.dir.join("certs.d")
    }
}

/// How a registry authenticates.
pub enum Auth<'a> {
    None,
    /// htpasswd basic auth behind TLS.
    Basic {
        pki: &'a Pki,
        user: &'a str,
        password: &'a str,
    },
    /// Bearer tokens from `token`.
    Token(&'a TokenServer),
}

/// `docker-registry serve` on a free loopback port.
pub struct Registry {
    pub port: u16,
    pub dir: PathBuf,
    pub tls: bool,
    _child: Killed,
}

impl Registry {
    pub fn start(dir: &Path, auth: Auth<'_>) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        let mut tls = false;
        match auth {
            Auth::None => {}
            Auth::Basic {
                pki,
                user,
                password,
            } => {
                tls = true;
                let line = run(Command::new("htpasswd").args(["-Bbn", user, password]));
                std::fs::write(dir.join("htpasswd"), line.trim()).unwrap();
                cfg.push_str(&format!(
                    "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: buildproof-test\n    path: {}\n",
                    pki.dir.join("server.crt").display(),
                    pki.dir.join("server.key").display(),
                    dir.join("htpasswd").display()
                ));
            }
            Auth::Token(t) => {
                cfg.push_str(&format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    t.port,
                    TokenServer::SERVICE,
                    TokenServer::ISSUER,
                    t.dir.join("token.crt").display()
                ));
            }
        }
        let cfg_path = dir.join("config.yml");
        std::fs::write(&cfg_path, cfg).unwrap();
        let log = dir.join("registry.log");
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join("registry.err")).unwrap())
            .spawn()
            .expect("docker-registry starts");
        wait_port(port, &mut child, &dir.join("registry.err"));
        Self {
            port,
            dir: dir.to_owned(),
            tls,
            _child: Killed(child),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// One image of a test layout.
pub struct TestImage {
    pub os: &'static str,
    pub arch: &'static str,
    /// (path, contents) of the image's one layer.
    pub files: Vec<(&'static str, Vec<u8>)>,
}

/// What [`write_layout`] wrote.
pub struct Layout {
    pub dir: PathBuf,
    /// Per image: (manifest digest, config digest+size, layer digests+sizes).
    pub manifests: Vec<Digest>,
    pub layers: Vec<Vec<(Digest, u64)>>,
    pub configs: Vec<(Digest, u64)>,
    /// The index of several images, when there are several.
    pub index: Option<Digest>,
}

fn put_blob(dir: &Path, data: &[u8]) -> (Digest, u64) {
    let d = Digest::of(data);
    std::fs::write(dir.join("blobs/sha256").join(d.hex()), data).unwrap();
    (d, data.len() as u64)
}

/// Writes an OCI layout with `images` under tag `tag`: one manifest, or an index
/// of several (what `skopeo copy --all` pushes as a multi-platform image).
pub fn write_layout(dir: &Path, tag: &str, images: &[TestImage]) -> Layout {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut manifests = Vec::new();
    let mut descs = Vec::new();
    let mut all_layers = Vec::new();
    let mut configs = Vec::new();
    for img in images {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, data) in &img.files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            // Programs under `bin/` are executable, so the image can start.
            h.set_mode(if path.starts_with("bin/") {
                0o755
            } else {
                0o644
            });
            h.set_mtime(0);
            h.set_cksum();
            tar.append_data(&mut h, path, &data[..]).unwrap();
        }
        let raw = tar.into_inner().unwrap();
        let diff_id = Digest::of(&raw);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        let layer = put_blob(dir, &gz.finish().unwrap());
        let config = serde_json::json!({
            "architecture": img.arch, "os": img.os,
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        });
        let config = put_blob(dir, config.to_string().as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0.to_string(), "size": config.1},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.0.to_string(), "size": layer.1}],
        });
        let m = put_blob(dir, manifest.to_string().as_bytes());
        manifests.push(m.0);
        all_layers.push(vec![layer]);
        configs.push(config);
        descs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": m.0.to_string(), "size": m.1,
            "platform": {"os": img.os, "architecture": img.arch},
        }));
    }
    let ref_name = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    let (top, index) = if descs.len() == 1 {
        let mut d = descs.remove(0);
        d["annotations"] = ref_name;
        (d, None)
    } else {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": descs,
        });
        let i = put_blob(dir, index.to_string().as_bytes());
        (
            serde_json::json!({
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": i.0.to_string(), "size": i.1, "annotations": ref_name,
            }),
            Some(i.0),
        )
    };
    let top_index = serde_json::json!({"schemaVersion": 2, "manifests": [top]});
    std::fs::write(dir.join("index.json"), top_index.to_string()).unwrap();
    Layout {
        dir: dir.to_owned(),
        manifests,
        layers: all_layers,
        configs,
        index,
    }
}

/// `skopeo copy [--all] oci:LAYOUT:TAG docker://REGISTRY/REPO:TAG`.
pub fn push(
    layout: &Layout,
    tag: &str,
    reg: &Registry,
    repo: &str,
    creds: Option<&str>,
    pki: Option<&Pki>,
) {
    let mut cmd = Command::new("skopeo");
    cmd.args(["--insecure-policy", "copy", "--quiet", "--preserve-digests"]);
    if layout.index.is_some() {
        cmd.arg("--all");
    }
    match pki {
        Some(p) => {
            cmd.arg("--dest-cert-dir").arg(p.cert_dir());
        }
        None => {
            cmd.arg("--dest-tls-verify=false");
        }
    }
    if let Some(c) = creds {
        cmd.args(["--dest-creds", c]);
    }
    // Keep the user's auth files out of it.
    cmd.env("REGISTRY_AUTH_FILE", layout.dir.join("no-auth.json"));
    cmd.arg(format!("oci:{}:{tag}", layout.dir.display()));
    cmd.arg(format!("docker://{}/{repo}:{tag}", reg.host()));
    run(&mut cmd);
}

/// A token service for the registry's `auth: token:` mode: issues RS256 JWTs signed
/// with a key made here, its certificate in the `x5c` header (which distribution
/// 2.8 verifies against `rootcertbundle`). Grants what is asked; counts requests.
pub struct TokenServer {
    pub port: u16,
    pub dir: PathBuf,
    pub hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl TokenServer {
    pub const SERVICE: &'static str = "buildproof-test-registry";
    pub const ISSUER: &'static str = "buildproof-test-issuer";

    pub fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        run(Command::new("openssl").current_dir(dir).args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "token.key",
            "-out",
            "token.crt",
            "-days",
            "2",
            "-subj",
            "/CN=buildproof token signer",
        ]));
        let der = run(Command::new("openssl").current_dir(dir).args([
            "x509",
            "-in",
            "token.crt",
            "-outform",
            "DER",
            "-out",
            "token.der",
        ]));
        drop(der);
        let cert_b64 = b64(&std::fs::read(dir.join("token.der")).unwrap(), false);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s, d) = (Arc::clone(&hits), Arc::clone(&stop), dir.to_owned());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                h.fetch_add(1, Ordering::SeqCst);
                let (d, c) = (d.clone(), cert_b64.clone());
                std::thread::spawn(move || serve_token(conn, &d, &c));
            }
        });
        Self {
            port,
            dir: dir.to_owned(),
            hits,
            stop,
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

pub fn b64(data: &[u8], url: bool) -> String {
    use base64::Engine as _;
    if url {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
    } else {
        base64::engine::general_purpose::STANDARD.encode(data)
    }
}

/// Reads a request head; returns the request line and headers.
pub fn read_head(r: &mut impl BufRead) -> Option<(String, Vec<String>)> {
    let mut first = String::new();
    if r.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).ok()?;
        let l = l.trim_end().to_owned();
        if l.is_empty() {
            break;
        }
        headers.push(l);
    }
    Some((first.trim_end().to_owned(), headers))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 && i + 2 < b.len() + 1 {
            if let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve_token(conn: TcpStream, dir: &Path, cert_b64: &str) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let Some((line, _headers)) = read_head(&mut r) else {
        return;
    };
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut access = Vec::new();
    for pair in query.split('&') {
        if let Some(v) = pair.strip_prefix("scope=") {
            let v = percent_decode(v);
            let parts: Vec<&str> = v.split(':').collect();
            if parts.len() == 3 {
                access.push(serde_json::json!({
                    "type": parts[0], "name": parts[1],
                    "actions": parts[2].split(',').collect::<Vec<_>>(),
                }));
            }
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [cert_b64]});
    let claims = serde_json::json!({
        "iss": TokenServer::ISSUER, "sub": "tester", "aud": TokenServer::SERVICE,
        "exp": now + 600, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", std::process::id()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes(), true),
        b64(claims.to_string().as_bytes(), true)
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(dir.join("token.key"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())
        .unwrap();
    let sig = child.wait_with_output().unwrap().stdout;
    let token = format!("{signing_input}.{}", b64(&sig, true));
    let body = serde_json::json!({"token": token, "expires_in": 600}).to_string();
    let mut w = conn;
    let _ = write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// What the proxy does to the traffic it forwards.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Flips one byte in every blob body.
    CorruptBlobs,
    /// Answers the first blob request with 429 and `Retry-After: 1`.
    Throttle429Once,
    /// Cuts the first blob answer off halfway through its body.
    CutFirstBlob,
}

/// A plain-HTTP proxy in front of a registry, one request per connection.
pub struct Proxy {
    pub port: u16,
    pub blob_requests: Arc<AtomicUsize>,
    /// Blob requests that carried a `Range` header.
    pub ranged: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: u16, mode: ProxyMode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let blob_requests = Arc::new(AtomicUsize::new(0));
        let ranged = Arc::new(AtomicUsize::new(0));
        let (s, n, rg) = (
            Arc::clone(&stop),
            Arc::clone(&blob_requests),
            Arc::clone(&ranged),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (n, rg) = (Arc::clone(&n), Arc::clone(&rg));
                std::thread::spawn(move || proxy_one(conn, upstream, mode, &n, &rg));
            }
        });
        Self {
            port,
            blob_requests,
            ranged,
            stop,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn proxy_one(
    conn: TcpStream,
    upstream: u16,
    mode: ProxyMode,
    blob_requests: &AtomicUsize,
    ranged: &AtomicUsize,
) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let Some((line, headers)) = read_head(&mut r) else {
        return;
    };
    let mut w = conn;
    let is_blob = line.starts_with("GET ") && line.contains("/blobs/sha256:");
    if is_blob {
        if headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("range:"))
        {
            ranged.fetch_add(1, Ordering::SeqCst);
        }
        let k = blob_requests.fetch_add(1, Ordering::SeqCst);
        if mode == ProxyMode::Throttle429Once && k == 0 {
            let body = r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#;
            let _ = write!(
                w,
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
    }
    let cut =
        is_blob && mode == ProxyMode::CutFirstBlob && blob_requests.load(Ordering::SeqCst) == 1;
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
    let mut req = format!("{line}\r\n");
    for h in headers {
        if !h.to_ascii_lowercase().starts_with("connection:") {
            req.push_str(&h);
            req.push_str("\r\n");
        }
    }
    req.push_str("Connection: close\r\n\r\n");
    up.write_all(req.as_bytes()).unwrap();
    let mut resp = Vec::new();
    let _ = up.read_to_end(&mut resp);
    if is_blob && mode == ProxyMode::CorruptBlobs && resp.starts_with(b"HTTP/1.1 200") {
        let last = resp.len() - 1;
        resp[last] ^= 0x01;
    }
    if cut {
        let head_end = resp.windows(4).position(|x| x == b"\r\n\r\n").unwrap() + 4;
        let half = head_end + (resp.len() - head_end) / 2;
        let _ = w.write_all(&resp[..half]);
        return;
    }
    let _ = w.write_all(&resp);
}

/// podman's Docker-compatible API on a unix socket, with its own vfs storage.
pub struct Podman {
    pub socket: PathBuf,
    pub dir: PathBuf,
    _child: Killed,
}

impl Podman {
    fn cmd(dir: &Path) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"))
            .env("XDG_RUNTIME_DIR", dir.join("xdg"))
            .args([
                "--runtime",
                "runc",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ]);
        c
    }

    /// Starts the service and loads `layout:tag` into its storage as `name`.
    pub fn start(dir: &Path, layout: &Layout, tag: &str, name: &str) -> Self {
        std::fs::create_dir_all(dir.join("xdg")).unwrap();
        std::fs::write(
            dir.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{}\"\ngraphroot = \"{}\"\n",
                dir.join("runroot").display(),
                dir.join("root").display()
            ),
        )
        .unwrap();
        // Straight into podman's storage under `name` (a `podman pull oci:` would
        // name the image after the layout's path).
        run(Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet"])
            .arg(format!("oci:{}:{tag}", layout.dir.display()))
            .arg(format!(
                "containers-storage:[vfs@{}+{}]{name}",
                dir.join("root").display(),
                dir.join("runroot").display()
            )));
        let socket = dir.join("podman.sock");
        let log = dir.join("podman.log");
        let mut child = Self::cmd(dir)
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !socket.exists() || std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "podman service did not start"
            );
            if let Ok(Some(s)) = child.try_wait() {
                panic!(
                    "podman service exited ({s}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            socket,
            dir: dir.to_owned(),
            _child: Killed(child),
        }
    }
}

/// An HTTP `CONNECT` proxy (what `HTTPS_PROXY` points at), counting tunnels.
pub struct ConnectProxy {
    pub port: u16,
    pub tunnels: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ConnectProxy {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let tunnels = Arc::new(AtomicUsize::new(0));
        let (s, n) = (Arc::clone(&stop), Arc::clone(&tunnels));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let n = Arc::clone(&n);
                std::thread::spawn(move || tunnel(conn, &n));
            }
        });
        Self {
            port,
            tunnels,
            stop,
        }
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn tunnel(conn: TcpStream, tunnels: &AtomicUsize) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let Some((line, _)) = read_head(&mut r) else {
        return;
    };
    let Some(target) = line
        .strip_prefix("CONNECT ")
        .and_then(|l| l.split_whitespace().next())
    else {
        return;
    };
    let Ok(mut up) = TcpStream::connect(target) else {
        return;
    };
    tunnels.fetch_add(1, Ordering::SeqCst);
    let mut w = conn;
    if w.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let _ = up.write_all(r.buffer());
    let mut up_r = up.try_clone().unwrap();
    let mut down_w = w.try_clone().unwrap();
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_r, &mut down_w);
        let _ = down_w.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(r.get_mut(), &mut up);
    let _ = up.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}

/// A registry with the OCI 1.1 referrers API: `docker-registry` (distribution 2.8,
/// which predates the API) behind this proxy, which plays the API's part as the
/// distribution spec words it. No registry with the API is packaged where these
/// tests run (Debian bookworm has distribution 2.8; zot, distribution 3 and
/// go-containerregistry's registry are in none of Debian, PyPI, npm or crates.io as
/// a runnable server), so the API side is this proxy:
///
/// - `PUT /v2/<name>/manifests/<ref>` is forwarded; when the registry took it (201)
///   and it has a `subject`, the answer gains `OCI-Subject: <digest>` and the
///   manifest's descriptor is recorded (`artifactType`, else the config's
///   `mediaType`; its annotations copied);
/// - `GET /v2/<name>/referrers/<digest>` answers those descriptors as an OCI index,
///   filtered by `?artifactType=` (saying so in `OCI-Filters-Applied`), one
///   descriptor per page with `Link: <…>; rel="next"`, so a client must page;
/// - everything else is forwarded as it is, bodies included.
///
/// `tag_puts` counts manifest PUTs to `sha256-…` tags: a client that sees
/// `OCI-Subject` must not write the fallback tag.
pub struct ReferrersProxy {
    pub port: u16,
    pub tag_puts: Arc<AtomicUsize>,
    pub referrer_gets: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

type Listed = Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>;

impl ReferrersProxy {
    pub fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let tag_puts = Arc::new(AtomicUsize::new(0));
        let referrer_gets = Arc::new(AtomicUsize::new(0));
        let listed: Listed = Arc::default();
        let (s, t, g) = (
            Arc::clone(&stop),
            Arc::clone(&tag_puts),
            Arc::clone(&referrer_gets),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (t, g, l) = (Arc::clone(&t), Arc::clone(&g), Arc::clone(&listed));
                std::thread::spawn(move || referrers_one(conn, upstream, &t, &g, &l));
            }
        });
        Self {
            port,
            tag_puts,
            referrer_gets,
            stop,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for ReferrersProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn referrers_one(
    conn: TcpStream,
    upstream: u16,
    tag_puts: &AtomicUsize,
    referrer_gets: &AtomicUsize,
    listed: &Listed,
) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let Some((line, headers)) = read_head(&mut r) else {
        return;
    };
    let mut w = conn;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method == "GET" {
        if let Some((name, digest)) = path
            .strip_prefix("/v2/")
            .and_then(|p| p.split_once("/referrers/"))
        {
            referrer_gets.fetch_add(1, Ordering::SeqCst);
            let mut artifact_type = None;
            let mut page = 0usize;
            for pair in query.split('&') {
                if let Some(v) = pair.strip_prefix("artifactType=") {
                    artifact_type = Some(percent_decode(v));
                }
                if let Some(v) = pair.strip_prefix("page=") {
                    page = v.parse().unwrap_or(0);
                }
            }
            let all: Vec<serde_json::Value> = listed
                .lock()
                .unwrap()
                .iter()
                .filter(|(subject, d)| {
                    subject == digest
                        && artifact_type
                            .as_deref()
                            .is_none_or(|t| d["artifactType"] == t)
                })
                .map(|(_, d)| d.clone())
                .collect();
            let body = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": all.get(page).cloned().into_iter().collect::<Vec<_>>(),
            })
            .to_string();
            let mut extra = String::new();
            if artifact_type.is_some() {
                extra.push_str("OCI-Filters-Applied: artifactType\r\n");
            }
            if page + 1 < all.len() {
                let mut next = format!("/v2/{name}/referrers/{digest}?page={}", page + 1);
                if let Some(t) = &artifact_type {
                    next.push_str(&format!("&artifactType={}", t.replace('+', "%2B")));
                }
                extra.push_str(&format!("Link: <{next}>; rel=\"next\"\r\n"));
            }
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.index.v1+json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
    }
    let length: usize = headers
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let manifest_put = method == "PUT" && path.contains("/manifests/");
    if manifest_put
        && path
            .rsplit('/')
            .next()
            .is_some_and(|t| t.starts_with("sha256-"))
    {
        tag_puts.fetch_add(1, Ordering::SeqCst);
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
    let mut req = format!("{line}\r\n");
    for h in &headers {
        if !h.to_ascii_lowercase().starts_with("connection:") {
            req.push_str(h);
            req.push_str("\r\n");
        }
    }
    req.push_str("Connection: close\r\n\r\n");
    up.write_all(req.as_bytes()).unwrap();
    up.write_all(&body).unwrap();
    let mut resp = Vec::new();
    let _ = up.read_to_end(&mut resp);
    if manifest_put && resp.starts_with(b"HTTP/1.1 201") {
        if let Ok(m) = serde_json::from_slice::<serde_json::Value>(&body) {
            if let Some(subject) = m["subject"]["digest"].as_str() {
                let mut d = serde_json::json!({
                    "mediaType": m["mediaType"],
                    "digest": Digest::of(&body).to_string(),
                    "size": body.len(),
                    "artifactType": m.get("artifactType").unwrap_or(&m["config"]["mediaType"]),
                });
                if let Some(a) = m.get("annotations") {
                    d["annotations"] = a.clone();
                }
                let mut list = listed.lock().unwrap();
                if !list
                    .iter()
                    .any(|(s, x)| s == subject && x["digest"] == d["digest"])
                {
                    list.push((subject.to_owned(), d));
                }
                let head_end = resp.windows(2).position(|x| x == b"\r\n").unwrap() + 2;
                let header = format!("OCI-Subject: {subject}\r\n");
                resp.splice(head_end..head_end, header.into_bytes());
            }
        }
    }
    let _ = w.write_all(&resp);
}
