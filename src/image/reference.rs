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
/// as written wins over reading a `:` as a tag separator.
#[must_use]
pub fn parse(root: &Path, reference: &str) -> Reference {
    let whole = root.join(reference);
    if whole.exists() {
        return Reference {
            path: whole,
            selector: Selector::Default,
        };
    }
    if let Some((path, digest)) = reference.rsplit_once('@') {
        return Reference {
            path: root.join(path),
            selector: Selector::Digest(digest.to_owned()),
        };
    }
    // A tag follows the last `:` after the last `/`.
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
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
}
