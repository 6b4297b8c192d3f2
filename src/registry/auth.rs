//! Credentials and challenges.
//!
//! Credentials are looked up as podman and skopeo do, first match wins:
//! 1. the auth file given in [`Options::auth_file`](super::Options::auth_file);
//! 2. `$REGISTRY_AUTH_FILE`;
//! 3. `$XDG_RUNTIME_DIR/containers/auth.json`;
//! 4. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
//!
//! In each file a `credHelpers` entry for the registry runs `docker-credential-NAME
//! get`; then `auths` (keys `host`, `https://host/v1/`, or `host/repo…`, the most
//! specific matching wins); then a `credsStore` helper. A file with nothing for the
//! registry passes on to the next one. No credentials at all means anonymous.

use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use super::RegistryError;
use super::reference::DOCKER_HUB;

/// A credential for one registry. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// User name and password (or a personal access token used as a password).
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken`), traded at the token service.
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Self::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Where a credential came from, for messages (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub credential: Credential,
    /// `auth.json path` or `docker-credential-NAME`.
    pub source: String,
}

#[derive(Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The auth files in the order they are consulted.
#[must_use]
pub fn auth_files(explicit: Option<&Path>) -> Vec<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let mut files = Vec::new();
    if let Some(p) = explicit {
        files.push(p.to_owned());
    }
    if let Some(p) = env("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(p));
    }
    if let Some(d) = env("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(d).join("containers/auth.json"));
    }
    if let Some(d) = env("DOCKER_CONFIG") {
        files.push(PathBuf::from(d).join("config.json"));
    } else if let Some(h) = env("HOME") {
        files.push(PathBuf::from(h).join(".docker/config.json"));
    }
    files
}

/// Finds the credential for `registry` (`host[:port]`, `docker.io` for Docker Hub)
/// and `repository`, going through `files` in order.
pub fn lookup(
    files: &[PathBuf],
    registry: &str,
    repository: &str,
) -> Result<Option<Found>, RegistryError> {
    let cred_err = |detail: String| RegistryError::Credentials {
        host: registry.to_owned(),
        detail,
    };
    for path in files {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(cred_err(format!("cannot read `{}`: {e}", path.display()))),
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // serde_json's messages name a line and column, never the text there.
        let file: AuthFile = serde_json::from_slice(&text)
            .map_err(|e| cred_err(format!("`{}` is not an auth file: {e}", path.display())))?;
        if let Some(helper) = file
            .cred_helpers
            .iter()
            .find(|(k, _)| same_registry(k, registry))
            .map(|(_, v)| v)
        {
            if let Some(c) = run_helper(helper, registry)? {
                return Ok(Some(c));
            }
        }
        if let Some(entry) = best_entry(&file.auths, registry, repository) {
            let credential =
                decode_entry(entry).map_err(|d| cred_err(format!("`{}`: {d}", path.display())))?;
            if let Some(credential) = credential {
                return Ok(Some(Found {
                    credential,
                    source: path.display().to_string(),
                }));
            }
        }
        if let Some(store) = &file.creds_store {
            if let Some(c) = run_helper(store, registry)? {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

/// `host`, `https://host`, `https://host/v1/`, `index.docker.io` for Docker Hub.
fn normalise_key(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let k = k
        .strip_suffix("/v1")
        .or_else(|| k.strip_suffix("/v2"))
        .unwrap_or(k);
    let (host, rest) = k.split_once('/').map_or((k, ""), |(h, r)| (h, r));
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        h => h,
    };
    if rest.is_empty() {
        host.to_owned()
    } else {
        format!("{host}/{rest}")
    }
}

fn same_registry(key: &str, registry: &str) -> bool {
    normalise_key(key) == registry
}

/// The entry whose key is the registry, or the longest `registry/namespace…` key
/// that is a prefix of `registry/repository` at a component boundary.
fn best_entry<'a>(
    auths: &'a HashMap<String, AuthEntry>,
    registry: &str,
    repository: &str,
) -> Option<&'a AuthEntry> {
    let full = format!("{registry}/{repository}");
    auths
        .iter()
        .filter_map(|(k, v)| {
            let k = normalise_key(k);
            let hit = k == registry
                || (full.starts_with(&k) && full.as_bytes().get(k.len()) == Some(&b'/'))
                || k == full;
            hit.then_some((k.len(), v))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, v)| v)
}

fn decode_entry(e: &AuthEntry) -> Result<Option<Credential>, String> {
    if let Some(t) = e.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::IdentityToken(t.to_owned())));
    }
    if let Some(a) = e.auth.as_deref().filter(|a| !a.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(a.trim())
            .map_err(|_| "an `auth` value is not base64".to_owned())?;
        let s = String::from_utf8(raw).map_err(|_| "an `auth` value is not UTF-8".to_owned())?;
        let (u, p) = s
            .split_once(':')
            .ok_or_else(|| "an `auth` value is not `user:password`".to_owned())?;
        return Ok(Some(Credential::Basic {
            username: u.to_owned(),
            password: p.to_owned(),
        }));
    }
    match (&e.username, &e.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credential::Basic {
            username: u.clone(),
            password: p.clone(),
        })),
        _ => Ok(None),
    }
}

/// Runs `docker-credential-NAME get` with the server on stdin. "Not found" answers
/// (exit non-zero with "credentials not found") mean no credential.
fn run_helper(name: &str, registry: &str) -> Result<Option<Found>, RegistryError> {
    let program = format!("docker-credential-{name}");
    let err = |detail: String| RegistryError::Credentials {
        host: registry.to_owned(),
        detail,
    };
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(err(format!("`{name}` is not a credential helper name")));
    }
    let server = if registry == DOCKER_HUB {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot run `{program}`: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its stdin is fine.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| err(format!("`{program}` failed: {e}")))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if text.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let first: String = first
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        return Err(err(format!(
            "`{program} get` failed ({}): {first}",
            out.status
        )));
    }
    #[derive(Deserialize)]
    struct HelperOut {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let h: HelperOut = serde_json::from_slice(&out.stdout).map_err(|e| {
        err(format!(
            "`{program} get` did not print its JSON answer: {e}"
        ))
    })?;
    let credential = if h.username == "<token>" {
        Credential::IdentityToken(h.secret)
    } else {
        Credential::Basic {
            username: h.username,
            password: h.secret,
        }
    };
    Ok(Some(Found {
        credential,
        source: program,
    }))
}

/// One `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        }),
        _ => None,
    }
}

fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn keys_and_entries() {
        let auths: HashMap<String, AuthEntry> = serde_json::from_str(
            r#"{
              "https://index.docker.io/v1/": {"auth": "aHViOnB3"},
              "quay.io": {"username": "q", "password": "p"},
              "quay.io/team": {"auth": "dGVhbTpwdw=="},
              "quay.io/team/app": {"identitytoken": "tok"}
            }"#,
        )
        .unwrap();
        let hub = decode_entry(best_entry(&auths, "docker.io", "library/alpine").unwrap()).unwrap();
        assert_eq!(
            hub,
            Some(Credential::Basic {
                username: "hub".into(),
                password: "pw".into()
            })
        );
        let t = decode_entry(best_entry(&auths, "quay.io", "team/other").unwrap()).unwrap();
        assert_eq!(
            t,
            Some(Credential::Basic {
                username: "team".into(),
                password: "pw".into()
            })
        );
        let a = decode_entry(best_entry(&auths, "quay.io", "team/app").unwrap()).unwrap();
        assert_eq!(a, Some(Credential::IdentityToken("tok".into())));
        let q = decode_entry(best_entry(&auths, "quay.io", "teamx/app").unwrap()).unwrap();
        assert_eq!(
            q,
            Some(Credential::Basic {
                username: "q".into(),
                password: "p".into()
            })
        );
        assert!(best_entry(&auths, "ghcr.io", "x").is_none());
        let dbg = format!("{:?}", a.unwrap());
        assert!(!dbg.contains("tok"), "{dbg}");
    }
}
