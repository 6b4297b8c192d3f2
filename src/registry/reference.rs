//! References as a user writes them: `docker://HOST[:PORT]/REPO[:TAG|@sha256:…]`
//! with Docker's normalisation, `docker-daemon:NAME[:TAG]`, and `--platform`.

use std::fmt;
use std::str::FromStr;

use super::RegistryError;
use crate::digest::Digest;

/// Docker Hub's name in references and auth files.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// An image in a registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `host[:port]` as normalised: `docker.io` for Docker Hub.
    pub registry: String,
    /// The repository path: `library/alpine`, `team/app`.
    pub repository: String,
    /// The tag; `latest` when neither tag nor digest was written.
    pub tag: Option<String>,
    /// `@sha256:…`: wins over the tag when both are given.
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses `docker://…` or the same without the prefix.
    pub fn parse(input: &str) -> Result<Self, RegistryError> {
        let bad = |reason: &str| RegistryError::BadReference {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let s = input.strip_prefix("docker://").unwrap_or(input);
        if s.is_empty() {
            return Err(bad("the name is empty"));
        }
        let (name, digest) = match s.split_once('@') {
            Some((n, d)) => {
                let digest = d.parse::<Digest>().map_err(|_| {
                    bad("the digest must be `sha256:` and 64 lower-case hex digits")
                })?;
                (n, Some(digest))
            }
            None => (s, None),
        };
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => {
                let (n, t) = name.split_at(last_slash + i);
                (n, Some(t[1..].to_owned()))
            }
            None => (name, None),
        };
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !ok {
                return Err(bad(
                    "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
                ));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        if registry.is_empty() || registry.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(bad("the registry host is malformed"));
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
            _ => registry,
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if !valid_repository(&repository) {
            return Err(bad(
                "a repository is lower-case path components of letters and digits, separated by `.`, `_`, `__` or `-`",
            ));
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_owned())
        } else {
            tag
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The host the API is served from (`registry-1.docker.io` for Docker Hub).
    #[must_use]
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What to put after `/manifests/`: the digest when given, else the tag.
    #[must_use]
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// `host/repo`, for messages.
    #[must_use]
    pub fn repo_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository at another digest.
    #[must_use]
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }
}

impl FromStr for Reference {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "docker://{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn valid_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.len() <= 255
        && repo.split('/').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|&x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"._-".contains(&x))
                && !c.contains("..")
                && !c.contains("___")
        })
}

/// An image in a local Docker (or podman) engine: `docker-daemon:NAME[:TAG]` or
/// `docker-daemon:NAME@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonReference {
    /// The name as the engine knows it, with `:latest` added when no tag or digest
    /// was written (without one, the engine would export every tag of the name).
    pub name: String,
}

impl DaemonReference {
    /// Parses `docker-daemon:NAME[:TAG]` (the prefix is required).
    pub fn parse(input: &str) -> Result<Self, RegistryError> {
        let bad = |reason: &str| RegistryError::BadReference {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let s = input
            .strip_prefix("docker-daemon:")
            .ok_or_else(|| bad("a daemon reference starts with `docker-daemon:`"))?;
        if s.is_empty()
            || s.contains(|c: char| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
        {
            return Err(bad("the name is empty or holds spaces, `?` or `#`"));
        }
        let last_slash = s.rfind('/').map_or(0, |i| i + 1);
        let has_tag = s[last_slash..].contains(':');
        let name = if s.contains('@') || has_tag {
            s.to_owned()
        } else {
            format!("{s}:latest")
        };
        Ok(Self { name })
    }
}

impl fmt::Display for DaemonReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "docker-daemon:{}", self.name)
    }
}

/// A platform as an index names it: `linux/amd64`, `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this program runs on, in OCI's names (`amd64`, `arm64`, …).
    #[must_use]
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            "loongarch64" => "loong64",
            other => other,
        };
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        Self {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: None,
        }
    }

    /// Whether an index entry's platform is this one. A variant left out on our side
    /// matches any; `arm64` without a variant is `v8`.
    #[must_use]
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        let norm = |arch: &str, v: Option<&str>| -> Option<String> {
            match (arch, v) {
                ("arm64", None) => Some("v8".to_owned()),
                (_, v) => v.map(str::to_owned),
            }
        };
        self.os == os
            && self.architecture == architecture
            && (self.variant.is_none()
                || norm(&self.architecture, self.variant.as_deref()) == norm(architecture, variant))
    }
}

impl Default for Platform {
    fn default() -> Self {
        Self::host()
    }
}

impl FromStr for Platform {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RegistryError::BadPlatform {
            input: s.to_owned(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        Ok(Self {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_normalisation() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let cases: [(&str, &str, &str, Option<&str>, bool); 9] = [
            (
                "docker://alpine",
                "docker.io",
                "library/alpine",
                Some("latest"),
                false,
            ),
            (
                "alpine:3.20",
                "docker.io",
                "library/alpine",
                Some("3.20"),
                false,
            ),
            (
                "docker://team/app:v1",
                "docker.io",
                "team/app",
                Some("v1"),
                false,
            ),
            (
                "docker://ghcr.io/o/r:main",
                "ghcr.io",
                "o/r",
                Some("main"),
                false,
            ),
            (
                "docker://localhost/app",
                "localhost",
                "app",
                Some("latest"),
                false,
            ),
            (
                "docker://localhost:5000/a/b:t",
                "localhost:5000",
                "a/b",
                Some("t"),
                false,
            ),
            (
                "docker://127.0.0.1:5000/app:1",
                "127.0.0.1:5000",
                "app",
                Some("1"),
                false,
            ),
            (
                "docker://index.docker.io/library/busybox",
                "docker.io",
                "library/busybox",
                Some("latest"),
                false,
            ),
            (
                "docker://reg.example:443/x",
                "reg.example:443",
                "x",
                Some("latest"),
                false,
            ),
        ];
        for (input, reg, repo, tag, _) in cases {
            let r = Reference::parse(input).unwrap();
            assert_eq!(r.registry, reg, "{input}");
            assert_eq!(r.repository, repo, "{input}");
            assert_eq!(r.tag.as_deref(), tag, "{input}");
        }
        let r = Reference::parse(&format!("docker://quay.io/a/b:v2@{d}")).unwrap();
        assert_eq!(r.manifest_ref(), d);
        assert_eq!(r.tag.as_deref(), Some("v2"));
        let r = Reference::parse(&format!("busybox@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(
            r.to_string(),
            format!("docker://docker.io/library/busybox@{d}")
        );
        assert_eq!(
            Reference::parse("alpine").unwrap().api_host(),
            DOCKER_HUB_API
        );
    }

    #[test]
    fn bad_references() {
        for bad in [
            "docker://",
            "docker://Upper/case",
            "docker://host.io/a:b:c/d",
            "docker://x.io/app@sha256:12",
            "docker://x.io/app:-bad",
            "docker://x.io//app",
        ] {
            let e = Reference::parse(bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("`{bad}` is not an image reference")),
                "{e}"
            );
        }
    }

    #[test]
    fn daemon_references() {
        assert_eq!(
            DaemonReference::parse("docker-daemon:app").unwrap().name,
            "app:latest"
        );
        assert_eq!(
            DaemonReference::parse("docker-daemon:localhost:5000/app")
                .unwrap()
                .name,
            "localhost:5000/app:latest"
        );
        assert_eq!(
            DaemonReference::parse("docker-daemon:app:v1").unwrap().name,
            "app:v1"
        );
        assert!(DaemonReference::parse("app").is_err());
        assert!(DaemonReference::parse("docker-daemon:").is_err());
    }

    #[test]
    fn platforms() {
        let p: Platform = "linux/arm64".parse().unwrap();
        assert!(p.matches("linux", "arm64", Some("v8")));
        assert!(p.matches("linux", "arm64", None));
        let v7: Platform = "linux/arm/v7".parse().unwrap();
        assert!(!v7.matches("linux", "arm", Some("v6")));
        assert_eq!(v7.to_string(), "linux/arm/v7");
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//".parse::<Platform>().is_err());
    }
}
