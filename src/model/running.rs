//! What runs, as a running-state file describes it (read by `deploy/`, judged by
//! `rules/deploy.rs`), and the image references containers name.

use super::manifest::Manifest;
use crate::digest::Digest;

/// What runs, as one running-state file describes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Running {
    /// A buildproof manifest of what is deployed.
    Manifest(Box<Manifest>),
    /// Containers, from Kubernetes or ECS.
    Containers {
        /// `kubernetes` or `ecs`, for messages.
        source: &'static str,
        containers: Vec<Container>,
    },
    /// Nix store paths, e.g. a system closure.
    StorePaths(Vec<String>),
}

impl Running {
    /// A short name of the format, for messages and report facts.
    #[must_use]
    pub fn format(&self) -> &'static str {
        match self {
            Running::Manifest(_) => "buildproof manifest",
            Running::Containers { source, .. } => source,
            Running::StorePaths(_) => "nix store paths",
        }
    }
}

/// One running (or scheduled) container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The container's name (`deploy = "…"` in the config matches it).
    pub name: String,
    /// Where it was found: `Deployment/web`, `Pod/web-7f9c-x2`, `task-definition web:12`.
    pub workload: String,
    /// The image reference as configured; empty when the running state reports only
    /// the digest (an ECS sidecar the platform injects).
    pub image: String,
    /// The manifest digest of what runs, when known.
    pub digest: Option<Digest>,
    /// Why its workload runs nothing now, when it does not: a ReplicaSet scaled to
    /// zero and kept as rollout history, a finished Pod or Job, a stopped ECS task.
    /// Such a container is listed but not judged.
    pub not_running: Option<String>,
}

/// Which release an image is, by the buildproof manifest attached to it in its
/// registry (`verify --identify-running`): what a rollback left running, named.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunningRelease {
    /// `docker://host/repo@sha256:…`, the image the manifest is attached to.
    pub image: String,
    /// The artifact that carried the manifest.
    pub artifact: Digest,
    /// The manifest's `created`.
    pub created: String,
    /// The manifest's `label` (`--label`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The manifest's git commit, and whether the tree was dirty, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// The tool that wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
}

/// An image reference split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The repository, normalised: `docker.io/library/nginx` for `nginx`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl ImageRef {
    /// Parses `[registry/]path[:tag][@sha256:…]`. A digest that is not a valid
    /// `sha256:` digest is an error (it cannot be compared); other algorithms are too.
    pub fn parse(reference: &str) -> Result<Self, String> {
        let reference = reference.trim();
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => (
                rest,
                Some(
                    digest
                        .parse::<Digest>()
                        .map_err(|e| format!("image `{reference}`: {e}"))?,
                ),
            ),
            None => (reference, None),
        };
        // A tag is after the last `:` that follows the last `/` (a registry port is not).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_owned()),
            ),
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(format!("image reference `{reference}` has no repository"));
        }
        if let Some(why) = invalid_name(name).or_else(|| tag.as_deref().and_then(invalid_tag)) {
            return Err(format!(
                "`{reference}` is not a valid image reference: {why}"
            ));
        }
        Ok(Self {
            repository: normalise_repository(name),
            tag,
            digest,
        })
    }
}

/// Why `name` (`[domain/]path`) breaks the reference grammar of the distribution
/// project (`reference/regexp.go`), which registries, Docker and Kubernetes apply: a
/// domain of dot-separated `[A-Za-z0-9-]` labels with an optional port, then path
/// components of lowercase letters and digits joined by `.`, `_`, `__` or dashes.
fn invalid_name(name: &str) -> Option<String> {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    if let Some(domain) = domain {
        let (host, port) = match domain.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (domain, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        let bracketed = host.starts_with('[') && host.ends_with(']');
        if !bracketed && !host.split('.').all(label_ok) {
            return Some(format!("`{domain}` is not a registry host"));
        }
        if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Some(format!("`{domain}` has an invalid port"));
        }
    }
    for component in path.split('/') {
        let lower_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let bytes = component.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.first().copied().is_some_and(lower_alnum)
            && bytes.last().copied().is_some_and(lower_alnum)
            && bytes
                .iter()
                .all(|&b| lower_alnum(b) || matches!(b, b'.' | b'_' | b'-'))
            && !component.contains("..")
            && !component.contains("___")
            && !component.contains("._")
            && !component.contains("_.")
            && !component.contains(".-")
            && !component.contains("-.")
            && !component.contains("_-")
            && !component.contains("-_");
        if !ok {
            return Some(format!(
                "`{component}` is not a repository path component (lowercase letters and digits, joined by `.`, `_`, `__` or `-`)"
            ));
        }
    }
    None
}

/// Why a tag breaks `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn invalid_tag(tag: &str) -> Option<String> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    let ok = (1..=128).contains(&bytes.len())
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-');
    (!ok).then(|| format!("`{tag}` is not a tag"))
}

/// The repository that a name an image records (`ImageRecord.names`) stands for, or
/// `None` when the name is only a tag.
///
/// docker-archive `RepoTags` and containerd's `io.containerd.image.name` are always
/// `repo:tag` or fuller, but an OCI layout's `org.opencontainers.image.ref.name` is
/// often the tag alone: `docker save` and BuildKit's OCI output write `latest` there
/// (with the full name in `io.containerd.image.name`), `skopeo copy … oci:dir:1.2`
/// writes `1.2`. So a name with no `/`, `:` or `@` is taken as a tag. Read as a
/// repository it would become `docker.io/library/latest`: it would match nothing,
/// or a Docker Hub image that happens to share the tag's name.
#[must_use]
pub fn recorded_repository(name: &str) -> Option<String> {
    if !name.contains(['/', ':', '@']) {
        return None;
    }
    ImageRef::parse(name).ok().map(|r| r.repository)
}

/// Docker's normalisation: a first component without `.` or `:` that is not
/// `localhost` is a path on Docker Hub, and a one-component Hub path is under
/// `library/`. So `nginx`, `library/nginx`, `docker.io/library/nginx` and
/// `index.docker.io/library/nginx` are one repository.
#[must_use]
pub fn normalise_repository(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => ("docker.io".to_owned(), name.clone()),
    };
    let domain = if domain == "index.docker.io" || domain == "registry-1.docker.io" {
        "docker.io".to_owned()
    } else {
        domain
    };
    if domain == "docker.io" && !path.contains('/') {
        format!("docker.io/library/{path}")
    } else {
        format!("{domain}/{path}")
    }
}

/// The name of a store path, the part after the hash: `goinstance-1.0` of
/// `/nix/store/0c0a…-goinstance-1.0`. `None` when `path` is not a store path.
#[must_use]
pub fn store_path_name(path: &str) -> Option<&str> {
    let (dir, base) = path.rsplit_once('/')?;
    if !path.starts_with('/') || dir.is_empty() {
        return None;
    }
    let (hash, name) = base.split_at_checked(32)?;
    let name = name.strip_prefix('-')?;
    let nix_base32 =
        |c: char| c.is_ascii_digit() || (c.is_ascii_lowercase() && !"eout".contains(c));
    (hash.chars().all(nix_base32) && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_parse_and_normalise() {
        let cases: &[(&str, &str, Option<&str>, bool)] = &[
            ("nginx", "docker.io/library/nginx", None, false),
            ("nginx:1.25", "docker.io/library/nginx", Some("1.25"), false),
            ("library/nginx", "docker.io/library/nginx", None, false),
            (
                "docker.io/library/nginx:1",
                "docker.io/library/nginx",
                Some("1"),
                false,
            ),
            (
                "index.docker.io/library/nginx",
                "docker.io/library/nginx",
                None,
                false,
            ),
            ("acme/web:2", "docker.io/acme/web", Some("2"), false),
            (
                "registry.example.com/web:1.2",
                "registry.example.com/web",
                Some("1.2"),
                false,
            ),
            ("localhost:5000/web", "localhost:5000/web", None, false),
            (
                "localhost:5000/team/web:v3",
                "localhost:5000/team/web",
                Some("v3"),
                false,
            ),
        ];
        for (reference, repository, tag, pinned) in cases {
            let r = ImageRef::parse(reference).unwrap();
            assert_eq!(r.repository, *repository, "{reference}");
            assert_eq!(r.tag.as_deref(), *tag, "{reference}");
            assert_eq!(r.digest.is_some(), *pinned, "{reference}");
        }
        let pinned = ImageRef::parse(&format!("ghcr.io/acme/web:1@{D}")).unwrap();
        assert_eq!(pinned.repository, "ghcr.io/acme/web");
        assert_eq!(pinned.tag.as_deref(), Some("1"));
        assert_eq!(pinned.digest.unwrap().to_string(), D);
        assert!(ImageRef::parse("web@sha256:zz").is_err());
        assert!(ImageRef::parse("@sha256:zz").is_err());
    }

    #[test]
    fn a_recorded_name_that_is_only_a_tag_names_no_repository() {
        for (name, repository) in [
            ("latest", None),
            ("1.2", None),
            ("v3.1.0-rc1", None),
            ("web", None),
            ("web:latest", Some("docker.io/library/web")),
            ("nginx:1.25", Some("docker.io/library/nginx")),
            ("acme/web", Some("docker.io/acme/web")),
            (
                "registry.example.com/web:1.2",
                Some("registry.example.com/web"),
            ),
            (
                "docker.io/library/nginx:1.25",
                Some("docker.io/library/nginx"),
            ),
            ("localhost:5000/web", Some("localhost:5000/web")),
            (format!("web@{D}").as_str(), Some("docker.io/library/web")),
        ] {
            assert_eq!(recorded_repository(name).as_deref(), repository, "{name}");
        }
    }
}
