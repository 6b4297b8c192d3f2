//! Reading the documents a user passes by name: manifests (plain, or carried by an
//! in-toto statement, DSSE envelope or Sigstore bundle). Everything read here is
//! checked before it is trusted, and bounded before it is read:
//!
//! - a manifest file may be at most [`max_manifest_bytes`] long (1 GiB unless
//!   `BUILDPROOF_MAX_MANIFEST_BYTES` says otherwise): a snapshot of a million files
//!   is about 200 MB, so the default leaves room, and a hostile BASE is refused at
//!   its size, before a byte of it is parsed;
//! - the JSON is parsed straight into the manifest's types, never into a generic
//!   tree (which costs about 17× the text);
//! - a key that appears twice in one object is refused: JSON parsers disagree on
//!   which copy wins, so a document with two `digest`s means different things to
//!   different readers;
//! - the schema id is checked before the rest is read.

use std::io::Read as _;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::model::manifest::{Manifest, ManifestError};

/// The default bound on a manifest file's size.
pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// The bound on a manifest file's size: `BUILDPROOF_MAX_MANIFEST_BYTES` (a number of
/// bytes) when set to one, else [`DEFAULT_MAX_MANIFEST_BYTES`].
#[must_use]
pub fn max_manifest_bytes() -> u64 {
    std::env::var("BUILDPROOF_MAX_MANIFEST_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_MANIFEST_BYTES)
}

/// Reads a manifest file, checking its size, then the schema id, then the rest.
pub fn manifest(path: &Path) -> Result<Manifest, ManifestError> {
    let limit = max_manifest_bytes();
    let read = |source| ManifestError::Read {
        path: path.to_owned(),
        source,
    };
    // `-`, `<(…)` and `git:REV:PATH` are read whole, bounded by the same limit.
    if let Some(what) = crate::argfile::special(path) {
        let bytes = crate::argfile::read(path, &what, limit).map_err(read)?;
        return manifest_from_json(&bytes, path);
    }
    let file = crate::fsio::open_file(path).map_err(read)?;
    let size = file.metadata().map_err(read)?.len();
    if size > limit {
        return Err(ManifestError::TooLarge {
            path: path.to_owned(),
            size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes).map_err(read)?;
    if bytes.len() as u64 > limit {
        // It grew while being read.
        return Err(ManifestError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit,
        });
    }
    manifest_from_json(&bytes, path)
}

/// Parses manifest JSON; `path` names it in errors. Also accepts an in-toto
/// Statement whose predicate is a manifest, and the envelopes that carry one.
pub fn manifest_from_json(bytes: &[u8], path: &Path) -> Result<Manifest, ManifestError> {
    let malformed = |reason: String| ManifestError::Malformed {
        path: path.to_owned(),
        reason,
    };
    no_duplicate_keys(bytes).map_err(malformed)?;
    let inner = crate::attest::unwrap_statement(bytes).map_err(malformed)?;
    if inner.as_ref() != bytes {
        no_duplicate_keys(&inner).map_err(malformed)?;
    }
    Manifest::from_slice(&inner, path)
}

/// Refuses JSON in which one object holds the same key twice (or that is not JSON).
/// One pass, no values kept: only the keys of the objects open at the moment.
pub fn no_duplicate_keys(bytes: &[u8]) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Unique
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| format!("invalid JSON: {e}"))
}

/// A JSON value walked for duplicate keys.
struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Unique)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key.clone()) {
                let shown: String = key.chars().take(80).collect();
                return Err(de::Error::custom(format!(
                    "the key {shown:?} appears twice in one object"
                )));
            }
            map.next_value_seed(Unique)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(no_duplicate_keys(br#"{"a": 1, "b": [{"c": 1, "d": 2}]}"#).is_ok());
        for bad in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"x": {"digest": "1", "digest": "2"}}"#,
            r#"[{"k": 1}, {"k": 1, "k": 1}]"#,
        ] {
            let e = no_duplicate_keys(bad.as_bytes()).unwrap_err();
            assert!(e.contains("appears twice"), "{bad}: {e}");
        }
        assert!(no_duplicate_keys(b"{\"a\": 1} x").is_err());
    }
}
