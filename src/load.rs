//! Reading the documents a user passes by name: manifests (plain, or carried by an
//! in-toto statement, DSSE envelope or Sigstore bundle). Everything read here is
//! checked before it is trusted: the schema id first, then the whole shape.

use std::path::Path;

use crate::model::manifest::{Manifest, ManifestError};

/// Reads a manifest file, checking the schema id before anything else.
pub fn manifest(path: &Path) -> Result<Manifest, ManifestError> {
    let bytes = crate::fsio::read_file(path).map_err(|source| ManifestError::Read {
        path: path.to_owned(),
        source,
    })?;
    manifest_from_json(&bytes, path)
}

/// Parses manifest JSON; `path` names it in errors. Also accepts an in-toto
/// Statement whose predicate is a manifest, and the envelopes that carry one.
pub fn manifest_from_json(bytes: &[u8], path: &Path) -> Result<Manifest, ManifestError> {
    let malformed = |reason: String| ManifestError::Malformed {
        path: path.to_owned(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("invalid JSON: {e}")))?;
    let value = crate::attest::unwrap_statement(value).map_err(malformed)?;
    Manifest::from_value(value, path)
}
