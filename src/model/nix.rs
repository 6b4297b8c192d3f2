//! What a manifest records of a component's Nix side: the `nix` key as written, what
//! it evaluates to, the derivation's sources, and the store paths among the outputs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `nix` key: a flake installable, or a file and attribute for `nix-build`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum NixSpec {
    Installable(String),
    File { file: String, attr: String },
}

/// What a manifest records of a component's Nix side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NixRecord {
    /// The `nix` key as written in the config; absent when the component has none and
    /// only its store-path outputs are recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installable: Option<NixSpec>,
    /// The store derivation it evaluates to now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivation: Option<String>,
    /// Output name → the out path the installable evaluates to now.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub out_paths: BTreeMap<String, String>,
    /// The derivation's sources (`inputSrcs`, plus a `src` that is a store path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Declared outputs that are store paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub store_paths: Vec<StorePathRecord>,
    /// Declared input files present in none of `sources`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_inputs: Vec<String>,
}

/// One declared output that is (or links to) a store path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorePathRecord {
    /// The output as declared in the config (e.g. `result`).
    pub output: String,
    pub store_path: String,
    /// NAR hash of the path's content now, SRI.
    pub nar_hash: String,
    pub nar_size: u64,
    /// The NAR hash the store database records, when nix is installed and the path is
    /// valid; as Nix prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_nar_hash: Option<String>,
    /// Why the store database could not be asked, when `nix path-info` failed for
    /// another reason than an unknown path (permissions, no daemon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_unavailable: Option<String>,
}

impl StorePathRecord {
    /// Whether the database's hash differs from the content's.
    #[must_use]
    pub fn mismatched(&self) -> bool {
        self.db_nar_hash
            .as_deref()
            .is_some_and(|db| db != self.nar_hash && !same_hash(db, &self.nar_hash))
    }
}

/// `sha256-<base64>` against Nix's older `sha256:<base32>` / `sha256:<hex>` spellings.
fn same_hash(db: &str, sri: &str) -> bool {
    let Some(rest) = db.strip_prefix("sha256:") else {
        return false;
    };
    let Some(b64) = sri.strip_prefix("sha256-") else {
        return false;
    };
    use base64::Engine as _;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return false;
    };
    let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        return false;
    };
    let d = crate::digest::Digest::from_bytes(bytes);
    rest == d.nix_base32() || rest == d.hex()
}
