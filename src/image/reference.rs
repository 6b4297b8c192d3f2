//! Image references as a user writes them (SPEC.md, "Image references"):
//!
//! | form | reads |
//! |---|---|
//! | `PATH`, `PATH:TAG`, `PATH@sha256:…` | an OCI layout dir, oci-archive or docker-archive, told apart by content |
//! | `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REF]` | the same, spelled as skopeo spells them |
//! | `docker://HOST/REPO[:TAG\|@sha256:…]` | a registry ([`crate::registry::Reference`]) |
//! | `docker-daemon:NAME[:TAG]` | a Docker Engine API ([`crate::registry::DaemonReference`]) |
//!
//! A path resolves against a root (the config directory, or the current directory on
//! the command line); the reference as given is kept for messages and findings. A
//! prefix that names another transport (`containers-storage:`, `dir:`, `docker:`
//! without `//`, `http://`) is refused with the list of forms, rather than read as a
//! file name that does not exist.

use std::path::{Path, PathBuf};

/// Which image in a layout or archive the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The only image, or linux/amd64 in an index with several.
    Default,
    /// `:tag`: the manifest annotated `org.opencontainers.image.ref.name` = tag
    /// (or a docker-archive `RepoTags` entry ending in `:tag`).
    Tag(String),
    /// `@sha256:…`: the manifest with this digest.
    Digest(String),
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: PathBuf,
    pub selector: Selector,
}

/// Every form of image reference, for messages.
pub const FORMS: &str = "`PATH[:TAG|@sha256:…]` (an OCI layout, oci-archive or docker-archive), \
`oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REF]`, \
`docker://HOST/REPO[:TAG|@sha256:…]`, `docker-daemon:NAME[:TAG]`";

/// Transports skopeo and podman know that buildproof does not read.
const OTHER_TRANSPORTS: [&str; 6] = [
    "containers-storage",
    "dir",
    "docker",
    "ostree",
    "sif",
    "tarball",
];

/// How a local image was named: plainly (told apart by content) or with skopeo's
/// transport prefix (which then must match the content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    Sniffed,
    Oci,
    OciArchive,
    DockerArchive,
}

/// Where an image is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A layout directory or an archive on disk.
    Local { kind: LocalKind, at: Reference },
    /// `docker://…`.
    Registry(crate::registry::Reference),
    /// `docker-daemon:…`.
    Daemon(crate::registry::DaemonReference),
}

/// A reference that names no image buildproof can read.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error(
        "`{input}`: `{prefix}` is not an image transport buildproof reads; write one of: {FORMS}"
    )]
    UnknownTransport { input: String, prefix: String },
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
}

/// Parses any form of [`FORMS`]; paths resolve against `root`.
pub fn source(root: &Path, reference: &str) -> Result<Source, ReferenceError> {
    if reference.starts_with("docker://") {
        return Ok(Source::Registry(crate::registry::Reference::parse(
            reference,
        )?));
    }
    if reference.starts_with("docker-daemon:") {
        return Ok(Source::Daemon(crate::registry::DaemonReference::parse(
            reference,
        )?));
    }
    for (prefix, kind) in [
        ("oci:", LocalKind::Oci),
        ("oci-archive:", LocalKind::OciArchive),
        ("docker-archive:", LocalKind::DockerArchive),
    ] {
        if let Some(rest) = reference.strip_prefix(prefix) {
            // A file literally named `oci:x` is still read as such.
            if !root.join(reference).exists() {
                return Ok(Source::Local {
                    kind,
                    at: parse_prefixed(root, rest),
                });
            }
        }
    }
    let unknown = |prefix: &str| ReferenceError::UnknownTransport {
        input: reference.to_owned(),
        prefix: prefix.to_owned(),
    };
    if let Some((scheme, _)) = reference.split_once("://") {
        if !scheme.is_empty() && !scheme.contains('/') && !root.join(scheme).exists() {
            return Err(unknown(&format!("{scheme}://")));
        }
    }
    if let Some((prefix, _)) = reference.split_once(':') {
        if OTHER_TRANSPORTS.contains(&prefix) && !root.join(prefix).exists() {
            return Err(unknown(&format!("{prefix}:")));
        }
    }
    Ok(Source::Local {
        kind: LocalKind::Sniffed,
        at: parse(root, reference),
    })
}

/// After a skopeo prefix: as [`parse`] where the path exists; otherwise the
/// reference starts at the first `:`, as skopeo splits `oci:DIR:REF` (a REF of a
/// docker-archive is a whole name, `web:v1`).
fn parse_prefixed(root: &Path, rest: &str) -> Reference {
    let r = parse(root, rest);
    if r.path.exists() {
        return r;
    }
    match rest.find(':') {
        Some(i) if i > 0 && !rest[..i].contains('@') => Reference {
            path: root.join(&rest[..i]),
            selector: Selector::Tag(rest[i + 1..].to_owned()),
        },
        _ => r,
    }
}

/// Splits `reference` into a path under `root` and a selector. A path that exists
/// as written wins. Otherwise a `:` that follows an existing path starts the tag —
/// the first such `:`, so a tag may itself hold `/` and `:`
/// (`web.oci:example.com/team/web:1.0`). `@` starts a digest only in the last path
/// component (a directory may be `workspace@2`). For a path that does not exist, the
/// tag follows the last `:` after the last `/`.
#[must_use]
pub fn parse(root: &Path, reference: &str) -> Reference {
    let whole = root.join(reference);
    if whole.exists() {
        return Reference {
            path: whole,
            selector: Selector::Default,
        };
    }
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
    let digest_at = reference[name_start..]
        .rfind('@')
        .map(|i| name_start + i)
        .filter(|&i| i > 0);
    // An existing path followed by `@digest` (in the last component) or `:tag`.
    if let Some(i) = digest_at.filter(|&i| root.join(&reference[..i]).exists()) {
        return Reference {
            path: root.join(&reference[..i]),
            selector: Selector::Digest(reference[i + 1..].to_owned()),
        };
    }
    for (i, _) in reference.match_indices(':').filter(|&(i, _)| i > 0) {
        if root.join(&reference[..i]).exists() {
            return Reference {
                path: root.join(&reference[..i]),
                selector: Selector::Tag(reference[i + 1..].to_owned()),
            };
        }
    }
    if let Some(i) = digest_at {
        return Reference {
            path: root.join(&reference[..i]),
            selector: Selector::Digest(reference[i + 1..].to_owned()),
        };
    }
    // A tag follows the last `:` after the last `/`.
    if let Some(i) = reference[name_start..].rfind(':') {
        let (path, tag) = reference.split_at(name_start + i);
        return Reference {
            path: root.join(path),
            selector: Selector::Tag(tag[1..].to_owned()),
        };
    }
    Reference {
        path: whole,
        selector: Selector::Default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let root = Path::new("/nonexistent-root");
        let cases = [
            ("web.oci", "web.oci", Selector::Default),
            (
                "build/web.oci:latest",
                "build/web.oci",
                Selector::Tag("latest".into()),
            ),
            (
                "a.b/web@sha256:abc",
                "a.b/web",
                Selector::Digest("sha256:abc".into()),
            ),
            ("x:y/web.tar", "x:y/web.tar", Selector::Default),
        ];
        for (input, path, selector) in cases {
            let r = parse(root, input);
            assert_eq!(r.path, root.join(path), "{input}");
            assert_eq!(r.selector, selector, "{input}");
        }
    }

    #[test]
    fn transports() {
        let root = Path::new("/nonexistent-root");
        let local = |r: &str| match source(root, r).unwrap() {
            Source::Local { kind, at } => (kind, at),
            other => panic!("{r}: {other:?}"),
        };
        let (k, at) = local("oci:build/web.oci:latest");
        assert_eq!(k, LocalKind::Oci);
        assert_eq!(at.path, root.join("build/web.oci"));
        assert_eq!(at.selector, Selector::Tag("latest".into()));
        let (k, at) = local("oci-archive:web.tar");
        assert_eq!((k, at.selector), (LocalKind::OciArchive, Selector::Default));
        let (k, at) = local("docker-archive:out/web.tar:web:v1");
        assert_eq!(k, LocalKind::DockerArchive);
        assert_eq!(at.path, root.join("out/web.tar"));
        assert_eq!(at.selector, Selector::Tag("web:v1".into()));
        assert_eq!(local("web.oci").0, LocalKind::Sniffed);
        assert!(matches!(
            source(root, "docker://127.0.0.1:5000/app:v1").unwrap(),
            Source::Registry(r) if r.repository == "app"
        ));
        assert!(matches!(
            source(root, "docker-daemon:web:v1").unwrap(),
            Source::Daemon(d) if d.name == "web:v1"
        ));
        for bad in [
            "containers-storage:web",
            "docker:web:v1",
            "dir:/tmp/x",
            "http://example.com/web",
            "oci-layout://x",
        ] {
            let e = source(root, bad).unwrap_err().to_string();
            assert!(e.contains("is not an image transport"), "{e}");
            assert!(e.contains("docker-daemon:NAME[:TAG]"), "{e}");
        }
        assert!(
            source(root, "docker://UPPER/case")
                .unwrap_err()
                .to_string()
                .contains("is not an image reference")
        );
    }

    #[test]
    fn existing_paths_decide_the_split() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("rn.oci")).unwrap();
        std::fs::create_dir_all(root.join("job@2/web.oci")).unwrap();
        let cases = [
            // A tag holding `/` and `:` (buildah push oci:rn.oci:example.com/team/web:1.0).
            (
                "rn.oci:example.com/team/web:1.0",
                "rn.oci",
                Selector::Tag("example.com/team/web:1.0".into()),
            ),
            // A directory with `@` (Jenkins `workspace@2`).
            (
                "job@2/web.oci:latest",
                "job@2/web.oci",
                Selector::Tag("latest".into()),
            ),
            ("job@2/web.oci", "job@2/web.oci", Selector::Default),
            (
                "job@2/web.oci@sha256:abc",
                "job@2/web.oci",
                Selector::Digest("sha256:abc".into()),
            ),
            // Not existing: `@` outside the last component is part of the path.
            (
                "gone@2/web.oci:v1",
                "gone@2/web.oci",
                Selector::Tag("v1".into()),
            ),
        ];
        for (input, path, selector) in cases {
            let r = parse(root, input);
            assert_eq!(r.path, root.join(path), "{input}");
            assert_eq!(r.selector, selector, "{input}");
        }
    }
}
