//! Running-state readers for `verify`: what is actually running, read from the files
//! the orchestrators' own tools print. [`read`] detects the format from the content:
//!
//! | format | recognised by | what it yields |
//! |---|---|---|
//! | buildproof manifest | a JSON object with `schema` (or an in-toto Statement, DSSE envelope or Sigstore bundle carrying one) | the whole manifest |
//! | Kubernetes | a JSON object with `apiVersion` and `kind` (see [`kubernetes`]) | containers |
//! | ECS | a JSON object with `taskDefinition`, `containerDefinitions` or `tasks` (see [`ecs`]) | containers |
//! | Nix store paths | text, every non-empty line an absolute store path (see [`store_paths`]) | store paths |
//!
//! Anything else is refused with the list of formats understood: guessing at an
//! unknown shape would make "nothing matched" look like "nothing is deployed".
//!
//! A container whose workload runs nothing (a ReplicaSet scaled to zero, a finished
//! Pod or Job, a stopped ECS task) is read but marked, and `verify` does not judge it.
//!
//! A container is judged by the manifest digest of the image it runs: the `@sha256:`
//! of its reference, the digest Kubernetes reports in `imageID`, or ECS `imageDigest`.
//! A reference that is a bare tag with no reported digest cannot be verified.

pub mod ecs;
pub mod kubernetes;
pub mod store_paths;

use std::path::{Path, PathBuf};

use crate::model::manifest::ManifestError;
use crate::model::running::{Container, ImageRef, Running};

/// The formats [`read`] understands, for the error that names them.
pub const FORMATS: &str = "a buildproof manifest (or an in-toto statement of one), Kubernetes JSON (`kubectl get … -o json`), ECS JSON (`aws ecs describe-task-definition` or `describe-tasks`), or a list of Nix store paths (`nix-store -qR`)";

/// A container from a spec's `name` and `image` (Kubernetes pod spec, ECS container
/// definition); the digest is the reference's, if it is pinned.
pub(crate) fn container_from_spec(
    c: &serde_json::Value,
    workload: &str,
) -> Result<Container, String> {
    use serde_json::Value;
    let name = c
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a container of {workload} has no `name`"))?;
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("container `{name}` of {workload} has no `image`"))?;
    // A reference that is not one (a placeholder such as `<your-private-image>` in
    // an example manifest) can never have been pulled: the container is listed, says
    // why, and is not judged — neither as a mismatch nor as an unpinned tag.
    let (digest, not_running) = match ImageRef::parse(image) {
        Ok(r) => (r.digest, None),
        Err(e) => (
            None,
            Some(format!(
                "{e}; no runtime can pull it (Kubernetes: `InvalidImageName`)"
            )),
        ),
    };
    Ok(Container {
        name: name.to_owned(),
        workload: workload.to_owned(),
        image: image.to_owned(),
        digest,
        not_running,
    })
}

/// Why a running-state file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("cannot read running state `{}`", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not a running state buildproof understands ({reason}); expected {FORMATS}", .path.display())]
    Unknown { path: PathBuf, reason: String },
    #[error("`{}` looks like {format} but {reason}", .path.display())]
    Malformed {
        path: PathBuf,
        format: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// Reads a running-state file, detecting its format.
pub fn read(path: &Path) -> Result<Running, DeployError> {
    let bytes =
        crate::argfile::read_any(path, crate::load::max_manifest_bytes()).map_err(|source| {
            DeployError::Read {
                path: path.to_owned(),
                source,
            }
        })?;
    parse(&bytes, path)
}

/// Parses running state; `path` names it in errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Running, DeployError> {
    let unknown = |reason: &str| DeployError::Unknown {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = bytes.trim_ascii_start();
    if trimmed.is_empty() {
        return Err(unknown("the file is empty"));
    }
    if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| unknown(&format!("invalid JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(unknown("a JSON value that is not an object"));
        };
        if object.contains_key("schema")
            || object.contains_key("_type")
            || object.contains_key("payloadType")
            || object.contains_key("dsseEnvelope")
        {
            return Ok(Running::Manifest(Box::new(
                crate::load::manifest_from_json(bytes, path)?,
            )));
        }
        // A recognised orchestrator format: its containers, or why it cannot be read.
        let containers = |source, format, read: Result<Vec<Container>, String>| {
            read.map(|containers| Running::Containers { source, containers })
                .map_err(|reason| DeployError::Malformed {
                    path: path.to_owned(),
                    format,
                    reason,
                })
        };
        if object.contains_key("apiVersion") && object.contains_key("kind") {
            return containers(
                "kubernetes",
                "Kubernetes JSON",
                kubernetes::containers(&value),
            );
        }
        if ecs::recognises(object) {
            return containers("ecs", "ECS JSON", ecs::containers(&value));
        }
        return Err(unknown(
            "a JSON object with none of `schema`, `apiVersion`/`kind`, `taskDefinition`, `containerDefinitions` or `tasks`",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| unknown("binary data"))?;
    store_paths::parse(text)
        .map(Running::StorePaths)
        .map_err(|(line, content)| {
            unknown(&format!(
                "text whose line {line} `{}` is not a Nix store path",
                content.chars().take(80).collect::<String>()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_formats_name_what_is_understood() {
        for input in [
            "",
            "   \n",
            "hello world\n",
            "[1, 2]",
            "{\"a\": 1}",
            "{not json",
        ] {
            let err = parse(input.as_bytes(), Path::new("state.json")).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("`state.json`"), "{text}");
            assert!(text.contains("Kubernetes JSON"), "{text}");
        }
    }
}
