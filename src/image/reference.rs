//! Image references as a user writes them: an OCI layout directory (`dir`,
//! `dir:tag`, `dir@sha256:…`), an oci-archive tar (optionally `file:tag`), or a
//! docker-archive tar (`docker save`, `buildah push docker-archive:`). The reference
//! as given is kept for messages and findings; the path resolves against a root
//! (the config directory, or the current directory on the command line).

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
