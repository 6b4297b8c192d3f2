//! Nix: store paths, derivations, calling the nix CLI.

use serde::{Deserialize, Serialize};

/// What a manifest records of a component's `nix` installable (filled in by the Nix work).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NixRecord {
    pub installable: String,
}

/// Why a Nix installable could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum NixError {
    #[error("cannot evaluate `{installable}`: {message}")]
    Eval {
        installable: String,
        message: String,
    },
}

/// Evaluates the component's `nix` installable and records its derivation, out paths
/// and sources; `outputs` and `inputs` are the component's records, checked against them.
pub fn record(
    _root: &std::path::Path,
    spec: &crate::config::NixSpec,
    _outputs: &[crate::manifest::OutputRecord],
    _inputs: &[crate::manifest::FileRecord],
) -> Result<NixRecord, NixError> {
    Err(NixError::Eval {
        installable: format!("{spec:?}"),
        message: "Nix support is not available yet".to_owned(),
    })
}
