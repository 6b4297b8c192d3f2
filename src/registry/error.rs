//! The one error type of the registry client. Messages are lower-case, put what the
//! user wrote in backticks, name the host, repository or blob, and never carry a
//! credential: a password, token or `Authorization` header never reaches a message.

use std::path::PathBuf;

/// Everything that can go wrong talking to a registry or a Docker daemon.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The reference does not parse.
    #[error("`{input}` is not an image reference: {reason}")]
    BadReference { input: String, reason: String },

    /// `--platform` does not parse.
    #[error("`{input}` is not a platform: expected OS/ARCH[/VARIANT], e.g. `linux/amd64`")]
    BadPlatform { input: String },

    /// Could not reach the host (DNS, connection refused, timeout).
    #[error("cannot reach `{host}`: {detail}")]
    Connect { host: String, detail: String },

    /// The TLS handshake failed (untrusted certificate, wrong name, plain HTTP server).
    #[error("tls with `{host}` failed: {detail}")]
    Tls { host: String, detail: String },

    /// A TLS setting (`--cert-dir`, the system's roots) could not be used.
    #[error("tls setup: {detail}")]
    TlsSetup { detail: String },

    /// A file of `--cert-dir` could not be read or parsed.
    #[error("cert dir `{}`: {detail}", path.display())]
    CertDir { path: PathBuf, detail: String },

    /// The registry (or its token service) refused our credentials, or wants some.
    #[error("`{host}` refused access to `{repo}`{}: {message}", if *.had_credentials { " with the configured credentials" } else { " anonymously" })]
    Unauthorized {
        host: String,
        repo: String,
        had_credentials: bool,
        message: String,
    },

    /// The registry says no such manifest, tag, blob or repository.
    #[error("`{what}` not found on `{host}`: {message}")]
    NotFound {
        host: String,
        what: String,
        message: String,
    },

    /// Any other unexpected status.
    #[error("`{host}` answered {status} for `{what}`: {message}")]
    Status {
        host: String,
        what: String,
        status: u16,
        message: String,
    },

    /// A manifest or index that is malformed, too big, of an unknown type, or whose
    /// digest differs from the one asked for.
    #[error("manifest `{what}` from `{host}`: {detail}")]
    Manifest {
        host: String,
        what: String,
        detail: String,
    },

    /// An index has no manifest for the wanted platform.
    #[error("`{reference}` has no image for platform `{platform}` (it has: {available})")]
    NoPlatform {
        reference: String,
        platform: String,
        available: String,
    },

    /// A blob failed: transport, size or digest.
    #[error("blob `{digest}` from `{host}/{repo}`: {detail}")]
    Blob {
        host: String,
        repo: String,
        digest: String,
        detail: String,
    },

    /// An auth file or credential helper failed.
    #[error("credentials for `{host}`: {detail}")]
    Credentials { host: String, detail: String },

    /// A token service did not give a usable token.
    #[error("token service `{realm}` for `{host}`: {detail}")]
    Token {
        host: String,
        realm: String,
        detail: String,
    },

    /// The Docker Engine API (or podman's) failed.
    #[error("docker daemon at `{endpoint}`: {detail}")]
    Daemon { endpoint: String, detail: String },

    /// Local I/O (spool files, threads).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl RegistryError {
    /// Whether a retry could help (connection trouble; 429 and 5xx are retried
    /// before they ever become an error).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Connect { .. })
            || matches!(self, Self::Status { status, .. } if *status == 429 || *status >= 500)
    }
}

/// The error text a registry sends, as `CODE: message` pairs from the distribution
/// error body (`{"errors":[{"code":…,"message":…}]}`), else the first line of a
/// short plain-text body; control characters dropped and the length bounded.
pub(crate) fn server_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    #[derive(serde::Deserialize)]
    struct Single {
        #[serde(alias = "error", alias = "details")]
        message: String,
    }
    let text = if let Ok(e) = serde_json::from_slice::<Errors>(body) {
        e.errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    } else if let Ok(s) = serde_json::from_slice::<Single>(body) {
        s.message
    } else {
        String::from_utf8_lossy(body)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let mut clean: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if clean.is_empty() {
        clean = "no message".to_owned();
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages() {
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
        assert_eq!(
            server_message(body),
            "UNAUTHORIZED: authentication required"
        );
        assert_eq!(
            server_message(b"\n404 page not found\n"),
            "404 page not found"
        );
        assert_eq!(
            server_message(br#"{"message":"no such image"}"#),
            "no such image"
        );
        assert_eq!(server_message(b""), "no message");
    }
}
