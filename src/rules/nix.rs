//! Nix rules: `output-not-current`, `store-mismatch`, and the Nix half of `input-excluded`.

use crate::finding::Finding;
use crate::nix::NixRecord;

/// State rules on the new Nix record alone.
#[must_use]
pub fn state(_component: &str, _new: &NixRecord) -> Vec<Finding> {
    Vec::new()
}
