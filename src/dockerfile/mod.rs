//! Dockerfile parsing down to the final stage's startup instructions.

use serde::{Deserialize, Serialize};

/// What a manifest records of a component's Dockerfile (filled in by the Dockerfile work).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerfileRecord {
    pub path: String,
}

/// Why a Dockerfile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    #[error("cannot read Dockerfile `{path}`: {message}")]
    Unreadable { path: String, message: String },
}

/// Parses the Dockerfile at `dockerfile` (relative to `root`) and records its final
/// stage's startup; `inputs` are the component's input records, checked against the
/// build context and `.dockerignore`.
pub fn record(
    _root: &std::path::Path,
    dockerfile: &str,
    _inputs: &[crate::manifest::FileRecord],
) -> Result<DockerfileRecord, DockerfileError> {
    Err(DockerfileError::Unreadable {
        path: dockerfile.to_owned(),
        message: "Dockerfile support is not available yet".to_owned(),
    })
}
