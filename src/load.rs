//! Reading the documents a user passes by name: manifests (plain, or carried by an
//! in-toto statement, DSSE envelope or Sigstore bundle). Everything read here is
//! checked before it is trusted: the schema id first, then the whole shape.
//!
//! A plain manifest is parsed straight from the file into its records ([`fast`]):
//! no copy of the text and no `serde_json::Value` tree in memory, which for a
//! million file records is the difference between about 100 MB and 1.3 GB. Anything
//! else, or a manifest that fails there, takes the careful path through `Value`,
//! which unwraps statements and gives the precise error (a wrong schema version is
//! reported as such even when its records have another shape).

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::Path;

use serde::Deserialize as _;
use serde::de::{MapAccess, Visitor};

use crate::model::manifest::{ComponentRecord, Manifest, ManifestError, SCHEMA, valid_name};

/// Reads a manifest file, checking the schema id before anything else.
pub fn manifest(path: &Path) -> Result<Manifest, ManifestError> {
    if let Some(m) = fast(path) {
        return Ok(m);
    }
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

/// A plain `buildproof.manifest/v1` file parsed as it streams, or `None` when it is
/// anything else (a statement, another version, malformed: the caller's careful
/// path then reads it again and says what is wrong).
fn fast(path: &Path) -> Option<Manifest> {
    let file = crate::fsio::open_file(path).ok()?;
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(256 * 1024, file));
    let parts = Parts::deserialize(&mut de).ok()?;
    de.end().ok()?;
    let mut rest = parts.rest;
    if rest.get("schema").and_then(serde_json::Value::as_str) != Some(SCHEMA) {
        return None;
    }
    // Everything but the records checked as the careful path checks it.
    rest.insert(
        "components".to_owned(),
        serde_json::Value::Object(serde_json::Map::new()),
    );
    let mut manifest = Manifest::from_value(serde_json::Value::Object(rest), path).ok()?;
    let components = parts.components?;
    if !components.keys().all(|n| valid_name(n)) {
        return None;
    }
    manifest.components = components;
    Some(manifest)
}

/// A manifest's `components` as records, and every other top-level field as JSON.
struct Parts {
    components: Option<BTreeMap<String, ComponentRecord>>,
    rest: serde_json::Map<String, serde_json::Value>,
}

impl<'de> serde::Deserialize<'de> for Parts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PartsVisitor;
        impl<'de> Visitor<'de> for PartsVisitor {
            type Value = Parts;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parts, A::Error> {
                let mut parts = Parts {
                    components: None,
                    rest: serde_json::Map::new(),
                };
                while let Some(key) = map.next_key::<String>()? {
                    if key == "components" {
                        parts.components = Some(map.next_value()?);
                    } else {
                        let value = map.next_value()?;
                        parts.rest.insert(key, value);
                    }
                }
                Ok(parts)
            }
        }
        d.deserialize_map(PartsVisitor)
    }
}
