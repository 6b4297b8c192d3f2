//! Reading the documents a user passes by name: manifests (plain, or carried by an
//! in-toto statement, DSSE envelope or Sigstore bundle). Everything read here is
//! checked before it is trusted, and bounded before it is read:
//!
//! - a manifest file may be at most [`max_manifest_bytes`] long (1 GiB unless
//!   `BUILDPROOF_MAX_MANIFEST_BYTES` says otherwise): a snapshot of a million files
//!   is about 200 MB, so the default leaves room, and a hostile BASE is refused at
//!   its size, before a byte of it is parsed;
//! - the JSON is parsed straight into the manifest's types, never into a generic
//!   tree (which costs about 17× the text); a plain manifest file is parsed as it
//!   streams from the open file, so its text is never held whole (statements and
//!   envelopes, which must be unwrapped, are read whole within the bound);
//! - a key that appears twice in one object is refused: JSON parsers disagree on
//!   which copy wins, so a document with two `digest`s means different things to
//!   different readers;
//! - the schema id is checked before the rest is read.

use std::io::{BufReader, Read as _, Seek as _};
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
    if let Some(manifest) = streamed(&file, path, limit)? {
        return Ok(manifest);
    }
    (&file).rewind().map_err(read)?;
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

/// A plain manifest read as it streams from `file`, in passes over the one open file
/// (duplicate keys and the schema id; the records), so memory holds the records but never
/// the text: two manifests of a million files diff in about half the memory. `None`
/// when the file is anything else (a statement, an envelope, another schema), which
/// the caller then reads whole and explains. Each pass reads at most `limit` bytes.
fn streamed(
    file: &std::fs::File,
    path: &Path,
    limit: u64,
) -> Result<Option<Manifest>, ManifestError> {
    let pass = || -> Result<_, ManifestError> {
        let mut f = file;
        f.rewind().map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(BufReader::with_capacity(256 * 1024, f.take(limit)))
    };
    let malformed = |reason: String| ManifestError::Malformed {
        path: path.to_owned(),
        reason,
    };
    let mut top = Top::default();
    let mut de = serde_json::Deserializer::from_reader(pass()?);
    if TopLevel(&mut top)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .is_err()
    {
        // Not JSON, not an object, or a key twice: the whole-file path says which,
        // and where.
        return Ok(None);
    }
    if top.wrapped || top.schema.as_deref() != Some(crate::model::manifest::SCHEMA) {
        return Ok(None);
    }
    let manifest: Manifest =
        serde_json::from_reader(pass()?).map_err(|e| malformed(e.to_string()))?;
    manifest.validate(path)?;
    Ok(Some(manifest))
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
        let mut keys = Keys::default();
        while keys.next(&mut map)? {
            map.next_value_seed(Unique)?;
        }
        Ok(())
    }
}

/// The keys of one open object. Most objects have a few (a file record has four):
/// those are read into one buffer for the object and searched in order, one
/// allocation instead of one per key. Past [`FEW_KEYS`] (a manifest's `components`
/// may have a hundred thousand) they move to a hash set, so the check stays linear.
#[derive(Default)]
struct Keys {
    text: String,
    ends: Vec<usize>,
    many: Option<std::collections::HashSet<Box<str>>>,
    /// Where the key last read starts in `text`.
    current: usize,
}

/// Keys searched in order before an object's keys go to a hash set.
const FEW_KEYS: usize = 16;

impl Keys {
    /// Reads the next key, refusing one already seen; `false` at the object's end.
    fn next<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<bool, A::Error> {
        if self.many.is_some() {
            // The set holds the earlier keys; only the one last read is in `text`.
            self.text.truncate(self.current);
        }
        let start = self.text.len();
        if map.next_key_seed(KeyInto(&mut self.text))?.is_none() {
            return Ok(false);
        }
        self.current = start;
        let key = &self.text[start..];
        let seen = match &self.many {
            Some(set) => set.contains(key),
            None => {
                let mut from = 0;
                self.ends.iter().any(|&end| {
                    let earlier = &self.text[from..end];
                    from = end;
                    earlier == key
                })
            }
        };
        if seen {
            let shown: String = key.chars().take(80).collect();
            return Err(de::Error::custom(format!(
                "the key {shown:?} appears twice in one object"
            )));
        }
        if let Some(set) = &mut self.many {
            set.insert(key.into());
        } else {
            self.ends.push(self.text.len());
            if self.ends.len() > FEW_KEYS {
                let mut from = 0;
                let set = self
                    .ends
                    .iter()
                    .map(|&end| {
                        let k: Box<str> = self.text[from..end].into();
                        from = end;
                        k
                    })
                    .collect();
                self.many = Some(set);
            }
        }
        Ok(true)
    }

    /// The key last read.
    fn current(&self) -> &str {
        &self.text[self.current..]
    }
}

/// A key appended to a buffer.
struct KeyInto<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for KeyInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }
}

/// What the streamed path needs to know of a document's top-level object.
#[derive(Default)]
struct Top {
    /// `schema`, when it is a string.
    schema: Option<String>,
    /// Whether it has a key that makes it a statement or an envelope (which
    /// [`crate::attest::unwrap_statement`] unwraps; the streamed path does not).
    wrapped: bool,
}

/// The top-level object of a document walked for duplicate keys, noting [`Top`].
struct TopLevel<'a>(&'a mut Top);

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = Keys::default();
        while keys.next(&mut map)? {
            let key = keys.current();
            if key == "schema" {
                let value: serde_json::Value = map.next_value()?;
                self.0.schema = value.as_str().map(str::to_owned);
            } else {
                self.0.wrapped |= matches!(key, "_type" | "dsseEnvelope" | "payloadType");
                map.next_value_seed(Unique)?;
            }
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

    #[test]
    fn duplicate_keys_are_found_among_many() {
        // Past the keys searched in order, a set takes over; both must find a repeat,
        // whether it repeats a key from before or after the switch.
        let object = |keys: &[String]| {
            let fields: Vec<String> = keys.iter().map(|k| format!("{k:?}: 0")).collect();
            format!("{{{}}}", fields.join(", "))
        };
        let keys: Vec<String> = (0..3 * FEW_KEYS).map(|i| format!("k{i}")).collect();
        assert!(no_duplicate_keys(object(&keys).as_bytes()).is_ok());
        for repeat in [0, FEW_KEYS, 2 * FEW_KEYS, 3 * FEW_KEYS - 1] {
            let mut with = keys.clone();
            with.push(keys[repeat].clone());
            let e = no_duplicate_keys(object(&with).as_bytes()).unwrap_err();
            assert!(e.contains(&format!("{:?}", keys[repeat])), "{e}");
        }
    }

    /// Issue 11's quadratic paths: a manifest's `components` object may hold a
    /// hundred thousand keys. Searching them in order took 45 s for 100,000 in a
    /// release build; a set takes a fraction of a second. The bound is generous
    /// (a debug build on a loaded machine) and far below what quadratic would take.
    #[test]
    fn an_object_with_many_keys_is_checked_in_linear_time() {
        let n = 200_000;
        let mut text = String::from("{");
        for i in 0..n {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!("\"component-{i:06}\": {{\"a\": 1}}"));
        }
        text.push('}');
        let started = std::time::Instant::now();
        assert!(no_duplicate_keys(text.as_bytes()).is_ok());
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(30),
            "{took:?} for {n} keys"
        );
    }
}
