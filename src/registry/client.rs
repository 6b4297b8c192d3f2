//! The HTTP side: one `ureq` agent (rustls, the system's roots plus `--cert-dir`),
//! the auth dance (anonymous, Basic, Bearer tokens cached per host and scope),
//! retries with backoff on connection failures, 429 and 5xx (honouring
//! `Retry-After`), and redirects followed by hand so that credentials never go to
//! another host.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ureq::http::{Method, Response};
use ureq::tls::{Certificate, ClientCert, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, Body};

use super::auth::{self, Challenge, Credential, Found};
use super::error::server_message;
use super::{Options, Reference, RegistryError};

/// Largest error or token body we read.
const SMALL_BODY: u64 = 64 * 1024;

/// A cheap-to-clone handle; clones share the connection pool and token cache.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    agent: Agent,
    pub(crate) opts: Options,
    state: Mutex<State>,
    /// How many times a token service was asked (for tests and diagnostics).
    token_requests: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct State {
    tokens: HashMap<(String, String), Token>,
    /// Hosts that answered with a Basic challenge: credentials go along at once.
    basic_hosts: HashSet<String>,
    /// Credential look-ups by `registry/repo`, so helpers run once.
    creds: HashMap<String, Option<Found>>,
    /// Hosts reached over plain HTTP after HTTPS failed (only with `tls_verify: false`).
    http_hosts: HashSet<String>,
    /// Hosts that have answered over HTTPS: never downgraded.
    https_hosts: HashSet<String>,
}

struct Token {
    value: String,
    expires: Instant,
}

/// A request to one repository's API.
pub(crate) struct Req<'a> {
    pub method: Method,
    pub reference: &'a Reference,
    /// `/v2/…` on the registry, or an absolute URL (upload locations).
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<&'a [u8]>,
    /// `pull` or `pull,push`.
    pub actions: &'static str,
    /// What is asked for, for messages: `library/alpine:latest`, a digest.
    pub what: String,
}

impl Client {
    /// A client with these options: loads the system's roots and `--cert-dir`.
    pub fn new(opts: Options) -> Result<Self, RegistryError> {
        let tls = tls_config(&opts)?;
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls)
            .user_agent(opts.user_agent.clone())
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_per_read(Some(Duration::from_secs(120)))
            .max_idle_connections_per_host(8)
            .build();
        Ok(Self {
            inner: Arc::new(Inner {
                agent: config.new_agent(),
                opts,
                state: Mutex::new(State::default()),
                token_requests: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// The options the client was made with.
    #[must_use]
    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// How many token requests this client made (all hosts and scopes).
    #[must_use]
    pub fn token_requests(&self) -> u64 {
        self.inner
            .token_requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves only caches behind.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn scheme(&self, host: &str) -> &'static str {
        if self.inner.opts.plain_http || self.state().http_hosts.contains(host) {
            "http"
        } else {
            "https"
        }
    }

    /// `scheme://host/v2/…` for a path on `reference`'s registry.
    pub(crate) fn url(&self, reference: &Reference, path: &str) -> String {
        let host = reference.api_host();
        format!("{}://{host}{path}", self.scheme(host))
    }

    /// Sends a request, authenticating, retrying and following redirects as needed.
    /// Returns any final response that is not 401, 3xx, 429 or 5xx; the caller
    /// judges the others (404 and so on).
    pub(crate) fn send(&self, req: &Req<'_>) -> Result<Response<Body>, RegistryError> {
        let opts = &self.inner.opts;
        let host = req.reference.api_host().to_owned();
        let scope = format!("repository:{}:{}", req.reference.repository, req.actions);
        let mut url = if req.path.starts_with("http://") || req.path.starts_with("https://") {
            req.path.clone()
        } else {
            self.url(req.reference, &req.path)
        };
        let mut authenticated = false;
        let mut attempt = 0u32;
        let mut redirects = 0u32;
        loop {
            let url_host = host_of(&url).to_owned();
            let same_host = url_host == host;
            let authorization = if same_host {
                self.authorization(&host, &scope, req.reference)?
            } else {
                None
            };
            let result = self.raw(&req.method, &url, &req.headers, authorization, req.body);
            let resp = match result {
                Ok(r) => r,
                Err(e) => {
                    // A server that does not speak TLS may just hang up on the
                    // handshake (a plain proxy in front of a registry) rather than
                    // answer something rustls can call a TLS error.
                    let hung_up = matches!(&e, ureq::Error::Io(io) if matches!(
                        io.kind(),
                        std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionAborted
                    ));
                    let err = classify(&url_host, e);
                    // `--tls-verify=false`: a host that does not speak TLS is tried
                    // over plain HTTP, as skopeo does; never one that has answered
                    // over HTTPS already.
                    if (matches!(err, RegistryError::Tls { .. }) || hung_up)
                        && !opts.tls_verify
                        && url.starts_with("https://")
                        && same_host
                        && !self.state().https_hosts.contains(&host)
                    {
                        self.state().http_hosts.insert(host.clone());
                        url = format!("http://{}", &url["https://".len()..]);
                        continue;
                    }
                    if err.is_transient() && attempt + 1 < opts.max_attempts {
                        std::thread::sleep(backoff(attempt));
                        attempt += 1;
                        continue;
                    }
                    return Err(err);
                }
            };
            if same_host && url.starts_with("https://") {
                self.state().https_hosts.insert(host.clone());
            }
            let status = resp.status().as_u16();
            match status {
                401 if same_host && !authenticated => {
                    let challenges: Vec<Challenge> = resp
                        .headers()
                        .get_all("www-authenticate")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .filter_map(auth::parse_challenge)
                        .collect();
                    let body = read_small(resp);
                    let Some(challenge) = pick(&challenges) else {
                        return Err(RegistryError::Unauthorized {
                            host,
                            repo: req.reference.repository.clone(),
                            had_credentials: false,
                            message: server_message(&body),
                        });
                    };
                    self.authenticate(challenge, &host, &scope, req.reference, &body)?;
                    authenticated = true;
                }
                401 => {
                    let had = self.credentials(req.reference)?.is_some();
                    return Err(RegistryError::Unauthorized {
                        host,
                        repo: req.reference.repository.clone(),
                        had_credentials: had,
                        message: server_message(&read_small(resp)),
                    });
                }
                301 | 302 | 303 | 307 | 308
                    if req.method == Method::GET || req.method == Method::HEAD =>
                {
                    let Some(location) =
                        resp.headers().get("location").and_then(|v| v.to_str().ok())
                    else {
                        return Ok(resp);
                    };
                    redirects += 1;
                    if redirects > 8 {
                        return Err(RegistryError::Status {
                            host: url_host,
                            what: req.what.clone(),
                            status,
                            message: "too many redirects".to_owned(),
                        });
                    }
                    let next = resolve(&url, location);
                    // No downgrade to plain HTTP unless plain HTTP was asked for.
                    if url.starts_with("https://")
                        && next.starts_with("http://")
                        && opts.tls_verify
                        && !opts.plain_http
                    {
                        return Err(RegistryError::Status {
                            host: url_host,
                            what: req.what.clone(),
                            status,
                            message: format!(
                                "refused a redirect from https to plain http `{}`",
                                host_of(&next)
                            ),
                        });
                    }
                    url = next;
                }
                429 | 500 | 502 | 503 | 504 if attempt + 1 < opts.max_attempts => {
                    let wait = retry_after(&resp)
                        .unwrap_or_else(|| backoff(attempt))
                        .min(opts.max_retry_wait);
                    drop(read_small(resp));
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                429 | 500..=599 => {
                    return Err(RegistryError::Status {
                        host: url_host,
                        what: req.what.clone(),
                        status,
                        message: server_message(&read_small(resp)),
                    });
                }
                _ => return Ok(resp),
            }
        }
    }

    fn raw(
        &self,
        method: &Method,
        url: &str,
        headers: &[(&'static str, String)],
        authorization: Option<String>,
        body: Option<&[u8]>,
    ) -> Result<Response<Body>, ureq::Error> {
        let mut b = ureq::http::Request::builder()
            .method(method.clone())
            .uri(url);
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        if let Some(a) = authorization {
            b = b.header("authorization", a);
        }
        match body {
            Some(bytes) => self.inner.agent.run(b.body(bytes)?),
            None if *method == Method::PUT || *method == Method::POST => {
                self.inner.agent.run(b.body(&[][..])?)
            }
            None => self.inner.agent.run(b.body(())?),
        }
    }

    /// The credential for this repository, looked up once.
    pub(crate) fn credentials(
        &self,
        reference: &Reference,
    ) -> Result<Option<Credential>, RegistryError> {
        let key = reference.repo_name();
        if let Some(c) = self.state().creds.get(&key) {
            return Ok(c.as_ref().map(|f| f.credential.clone()));
        }
        let found = if let Some(c) = &self.inner.opts.credentials {
            Some(Found {
                credential: c.clone(),
                source: "the given credentials".to_owned(),
            })
        } else {
            let files = auth::auth_files(self.inner.opts.auth_file.as_deref());
            auth::lookup(&files, &reference.registry, &reference.repository)?
        };
        let c = found.as_ref().map(|f| f.credential.clone());
        self.state().creds.insert(key, found);
        Ok(c)
    }

    fn authorization(
        &self,
        host: &str,
        scope: &str,
        reference: &Reference,
    ) -> Result<Option<String>, RegistryError> {
        {
            let st = self.state();
            if let Some(t) = st.tokens.get(&(host.to_owned(), scope.to_owned())) {
                if t.expires > Instant::now() {
                    return Ok(Some(format!("Bearer {}", t.value)));
                }
            }
            if !st.basic_hosts.contains(host) {
                return Ok(None);
            }
        }
        Ok(match self.credentials(reference)? {
            Some(Credential::Basic { username, password }) => Some(basic(&username, &password)),
            _ => None,
        })
    }

    fn authenticate(
        &self,
        challenge: &Challenge,
        host: &str,
        scope: &str,
        reference: &Reference,
        body: &[u8],
    ) -> Result<(), RegistryError> {
        match challenge {
            Challenge::Basic => {
                if !matches!(self.credentials(reference)?, Some(Credential::Basic { .. })) {
                    return Err(RegistryError::Unauthorized {
                        host: host.to_owned(),
                        repo: reference.repository.clone(),
                        had_credentials: false,
                        message: server_message(body),
                    });
                }
                self.state().basic_hosts.insert(host.to_owned());
                Ok(())
            }
            Challenge::Bearer {
                realm,
                service,
                scope: asked,
            } => {
                let mut scopes = vec![scope.to_owned()];
                if let Some(a) = asked.as_deref().filter(|a| *a != scope) {
                    scopes.push(a.to_owned());
                }
                let token =
                    self.fetch_token(realm, service.as_deref(), &scopes, host, reference)?;
                self.state()
                    .tokens
                    .insert((host.to_owned(), scope.to_owned()), token);
                Ok(())
            }
        }
    }

    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        host: &str,
        reference: &Reference,
    ) -> Result<Token, RegistryError> {
        let terr = |detail: String| RegistryError::Token {
            host: host.to_owned(),
            realm: realm.to_owned(),
            detail,
        };
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(terr("the realm is not an http(s) URL".to_owned()));
        }
        let credential = self.credentials(reference)?;
        self.inner
            .token_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut query = Vec::new();
        if let Some(s) = service {
            query.push(("service", s.to_owned()));
        }
        for s in scopes {
            query.push(("scope", s.clone()));
        }
        let realm_host = host_of(realm).to_owned();
        let mut attempt = 0;
        let resp = loop {
            let result = match &credential {
                Some(Credential::IdentityToken(refresh)) => {
                    let mut form = vec![
                        ("grant_type", "refresh_token".to_owned()),
                        ("refresh_token", refresh.clone()),
                        ("client_id", "buildproof".to_owned()),
                    ];
                    form.extend(query.iter().cloned());
                    let body = encode_query(&form);
                    self.raw(
                        &Method::POST,
                        realm,
                        &[(
                            "content-type",
                            "application/x-www-form-urlencoded".to_owned(),
                        )],
                        None,
                        Some(body.as_bytes()),
                    )
                }
                other => {
                    let sep = if realm.contains('?') { '&' } else { '?' };
                    let url = format!("{realm}{sep}{}", encode_query(&query));
                    let authorization = match other {
                        Some(Credential::Basic { username, password }) => {
                            Some(basic(username, password))
                        }
                        _ => None,
                    };
                    self.raw(&Method::GET, &url, &[], authorization, None)
                }
            };
            match result {
                Ok(r)
                    if matches!(r.status().as_u16(), 429 | 500 | 502 | 503 | 504)
                        && attempt + 1 < self.inner.opts.max_attempts =>
                {
                    let wait = retry_after(&r)
                        .unwrap_or_else(|| backoff(attempt))
                        .min(self.inner.opts.max_retry_wait);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                Ok(r) => break r,
                Err(e) => {
                    let err = classify(&realm_host, e);
                    if err.is_transient() && attempt + 1 < self.inner.opts.max_attempts {
                        std::thread::sleep(backoff(attempt));
                        attempt += 1;
                        continue;
                    }
                    return Err(err);
                }
            }
        };
        let status = resp.status().as_u16();
        let body = read_small(resp);
        if status == 401 || status == 403 {
            return Err(RegistryError::Unauthorized {
                host: host.to_owned(),
                repo: reference.repository.clone(),
                had_credentials: credential.is_some(),
                message: server_message(&body),
            });
        }
        if status != 200 {
            return Err(terr(format!(
                "answered {status}: {}",
                server_message(&body)
            )));
        }
        #[derive(serde::Deserialize)]
        struct TokenBody {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let t: TokenBody = serde_json::from_slice(&body)
            .map_err(|e| terr(format!("the answer is not a token: {e}")))?;
        let value = t
            .token
            .or(t.access_token)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| terr("the answer holds no token".to_owned()))?;
        if value.contains(|c: char| c.is_control() || c == ' ') {
            return Err(terr(
                "the token holds spaces or control characters".to_owned(),
            ));
        }
        // The spec's default lifetime is 60 s; renew 10 s early.
        let life = t.expires_in.unwrap_or(60).clamp(20, 24 * 3600);
        Ok(Token {
            value,
            expires: Instant::now() + Duration::from_secs(life - 10),
        })
    }
}

fn pick(challenges: &[Challenge]) -> Option<&Challenge> {
    challenges
        .iter()
        .find(|c| matches!(c, Challenge::Bearer { .. }))
        .or_else(|| challenges.first())
}

fn basic(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
    )
}

/// Reads at most [`SMALL_BODY`] bytes of a response body; errors give what was read.
pub(crate) fn read_small(resp: Response<Body>) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = resp
        .into_body()
        .into_reader()
        .take(SMALL_BODY)
        .read_to_end(&mut buf);
    buf
}

/// Exponential backoff: 0.5 s, 1 s, 2 s, … capped at 10 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(10))
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(resp: &Response<Body>) -> Option<Duration> {
    let v = resp.headers().get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let secs = when.as_second().saturating_sub(now.as_second());
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// Sorts a transport error into "cannot reach" and "TLS failed", naming the host.
fn classify(host: &str, e: ureq::Error) -> RegistryError {
    let connect = |detail: String| RegistryError::Connect {
        host: host.to_owned(),
        detail,
    };
    let tls = |detail: String| RegistryError::Tls {
        host: host.to_owned(),
        detail,
    };
    match e {
        ureq::Error::Tls(m) => tls(m.to_owned()),
        ureq::Error::Rustls(e) => tls(e.to_string()),
        ureq::Error::Pem(e) => tls(e.to_string()),
        // rustls reports handshake failures as InvalidData from the socket.
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => tls(e.to_string()),
        ureq::Error::Io(e) => connect(e.to_string()),
        ureq::Error::HostNotFound => connect("host not found".to_owned()),
        ureq::Error::Timeout(t) => connect(format!("timed out ({t})")),
        ureq::Error::ConnectionFailed => connect("connection failed".to_owned()),
        other => connect(other.to_string()),
    }
}

/// The `host[:port]` of an absolute URL.
pub(crate) fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// Resolves a `Location` against the URL it came from.
pub(crate) fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let host = host_of(base);
    if let Some(l) = location.strip_prefix("//") {
        return format!("{scheme}://{l}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{host}{location}");
    }
    let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let dir = rest[..path_end].rfind('/').map_or(rest.len(), |i| i + 1);
    format!("{scheme}://{}{location}", &rest[..dir.min(rest.len())])
}

/// `a=b&c=d` with RFC 3986 percent-encoding.
pub(crate) fn encode_query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The rustls settings: the system's roots (or none, with `tls_verify: false`)
/// plus `*.crt` files of `--cert-dir`, and a `*.cert`/`*.key` client pair there.
fn tls_config(opts: &Options) -> Result<TlsConfig, RegistryError> {
    let mut builder = TlsConfig::builder();
    if !opts.tls_verify {
        builder = builder.disable_verification(true);
    }
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    if opts.tls_verify {
        let native = rustls_native_certs::load_native_certs();
        for c in native.certs {
            roots.push(Certificate::from_der(c.as_ref()).to_owned());
        }
    }
    let mut client_cert = None;
    if let Some(dir) = &opts.cert_dir {
        let (extra, pair) = read_cert_dir(dir)?;
        roots.extend(extra);
        client_cert = pair;
    }
    if opts.tls_verify && roots.is_empty() {
        return Err(RegistryError::TlsSetup {
            detail: "no trusted root certificates: the system has none (install `ca-certificates` or set `SSL_CERT_FILE`) and no `--cert-dir` was given".to_owned(),
        });
    }
    builder = builder
        .root_certs(RootCerts::new_with_certs(&roots))
        .client_cert(client_cert);
    Ok(builder.build())
}

/// Reads a skopeo-style cert dir: `*.crt` CA certificates; `NAME.cert` with
/// `NAME.key` as a client certificate.
fn read_cert_dir(
    dir: &Path,
) -> Result<(Vec<Certificate<'static>>, Option<ClientCert>), RegistryError> {
    let err = |path: &Path, detail: String| RegistryError::CertDir {
        path: path.to_owned(),
        detail,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| err(dir, e.to_string()))?;
    let mut names: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    names.sort();
    let mut roots = Vec::new();
    let mut client = None;
    for path in &names {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "crt" => {
                let pem = std::fs::read(path).map_err(|e| err(path, e.to_string()))?;
                let mut n = 0;
                for item in ureq::tls::parse_pem(&pem) {
                    if let PemItem::Certificate(c) = item.map_err(|e| err(path, e.to_string()))? {
                        roots.push(c);
                        n += 1;
                    }
                }
                if n == 0 {
                    return Err(err(path, "holds no PEM certificate".to_owned()));
                }
            }
            "cert" => {
                let key_path = path.with_extension("key");
                if !key_path.exists() {
                    return Err(err(
                        path,
                        format!("has no matching `{}`", key_path.display()),
                    ));
                }
                let pem = std::fs::read(path).map_err(|e| err(path, e.to_string()))?;
                let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                    .filter_map(|i| match i {
                        Ok(PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                let key_pem =
                    std::fs::read(&key_path).map_err(|e| err(&key_path, e.to_string()))?;
                // The key's parse error never quotes the key.
                let key = ureq::tls::PrivateKey::from_pem(&key_pem)
                    .map_err(|_| err(&key_path, "holds no PEM private key".to_owned()))?;
                if chain.is_empty() {
                    return Err(err(path, "holds no PEM certificate".to_owned()));
                }
                client = Some(ClientCert::new_with_certs(&chain, key));
            }
            "key" if !path.with_extension("cert").exists() => {
                return Err(err(path, "has no matching `.cert` file".to_owned()));
            }
            _ => {}
        }
    }
    Ok((roots, client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(host_of("https://a.b:5000/v2/x"), "a.b:5000");
        assert_eq!(host_of("http://u:p@h/x"), "h");
        assert_eq!(
            resolve("https://a/v2/x/blobs/y", "https://cdn/z"),
            "https://cdn/z"
        );
        assert_eq!(
            resolve("https://a/v2/x/blobs/y", "/v2/q?x=1"),
            "https://a/v2/q?x=1"
        );
        assert_eq!(
            resolve("https://a/v2/x/blobs/y", "z"),
            "https://a/v2/x/blobs/z"
        );
        assert_eq!(
            encode_query(&[("scope", "repository:a/b:pull".into())]),
            "scope=repository%3Aa%2Fb%3Apull"
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(30), Duration::from_secs(10));
    }
}
