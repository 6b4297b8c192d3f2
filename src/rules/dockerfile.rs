//! Dockerfile rules: `startup-changed` and `env-changed` between two final stages, and
//! the `.dockerignore` half of `input-excluded`.

use crate::dockerfile::DockerfileRecord;
use crate::finding::Finding;

/// Change rules between two recordings of one component's Dockerfile.
#[must_use]
pub fn compare(
    _component: &str,
    _base: &DockerfileRecord,
    _new: &DockerfileRecord,
) -> Vec<Finding> {
    Vec::new()
}

/// State rules on the new Dockerfile record alone.
#[must_use]
pub fn state(_component: &str, _new: &DockerfileRecord) -> Vec<Finding> {
    Vec::new()
}
