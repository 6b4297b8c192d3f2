//! Writing a manifest as JSON while it streams out: byte for byte what
//! `serde_json::to_vec_pretty` of the manifest's `Value` gives (every object's keys
//! sorted, two-space indent, a trailing newline), without building that `Value`.
//!
//! A `Value` of a manifest costs about a kilobyte per file record, and the whole
//! text is as large again: 1.4 GB for a million files. Here only the small parts
//! (the top-level fields, a component's image, Dockerfile and Nix records) become
//! `Value`s, one component at a time; the file lists, which are nearly all of a
//! manifest, are written record by record straight into the writer, each record
//! formatted in one buffer. Fields are
//! found generically ([`value_except`] serialises a record to a map, leaving out the
//! named fields), so a field added to a record later is written without a change
//! here; `tests::streamed_equals_value_path` pins the equality.

use std::collections::BTreeMap;
use std::io::{self, Write};

use rayon::prelude::*;
use serde::ser::{Impossible, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::manifest::{FileRecord, Manifest};

/// A JSON tree whose file lists are written lazily.
enum Node<'a> {
    Value(Value),
    Object(BTreeMap<String, Node<'a>>),
    Array(Vec<Node<'a>>),
    Files(&'a [FileRecord]),
}

impl Manifest {
    /// Writes the manifest as pretty JSON with sorted keys and a trailing newline,
    /// streaming the file records (see the module doc).
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut top = object(value_except(self, &["components"])?);
        let mut components = BTreeMap::new();
        for (name, c) in &self.components {
            let mut record = object(value_except(c, &["inputs", "outputs"])?);
            let mut inputs = object(value_except(&c.inputs, &["files"])?);
            inputs.insert("files".to_owned(), Node::Files(&c.inputs.files));
            record.insert("inputs".to_owned(), Node::Object(inputs));
            let mut outputs = Vec::with_capacity(c.outputs.len());
            for o in &c.outputs {
                let mut output = object(value_except(o, &["files"])?);
                // Empty lists are skipped when serialised, as the derive says.
                if !o.files.is_empty() {
                    output.insert("files".to_owned(), Node::Files(&o.files));
                }
                outputs.push(Node::Object(output));
            }
            record.insert("outputs".to_owned(), Node::Array(outputs));
            components.insert(name.clone(), Node::Object(record));
        }
        top.insert("components".to_owned(), Node::Object(components));
        let mut w = Pretty {
            out,
            line: Vec::with_capacity(512),
        };
        w.node(&Node::Object(top), 0)?;
        w.out.write_all(b"\n")
    }
}

/// The layout of `serde_json::to_vec_pretty`, written by hand so that a file record
/// is one formatted line buffer rather than a walk through a generic serializer
/// (a third of a warm re-run's time went there).
struct Pretty<'a> {
    out: &'a mut dyn Write,
    /// Reused for each file record.
    line: Vec<u8>,
}

const SPACES: &[u8; 64] = b"                                                                ";

fn indent(buf: &mut Vec<u8>, level: usize) {
    let mut n = level * 2;
    while n > 0 {
        let k = n.min(SPACES.len());
        buf.extend_from_slice(&SPACES[..k]);
        n -= k;
    }
}

/// Appends `n` in decimal, without the formatting machinery (it runs per record).
pub(crate) fn push_decimal(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// File lists at least this long are formatted in parallel.
const PARALLEL_FILES: usize = 8192;
/// Records formatted per round when in parallel (a record is about 250 bytes: 2 MB
/// of text held).
const WINDOW: usize = 8192;

/// Appends one file record of a list at `level`, after the separator (`[` was
/// written before the `first`).
fn file_record(line: &mut Vec<u8>, f: &FileRecord, first: bool, level: usize) -> io::Result<()> {
    line.extend_from_slice(if first { b"\n" } else { b",\n" });
    indent(line, level + 1);
    line.extend_from_slice(b"{\n");
    indent(line, level + 2);
    line.extend_from_slice(b"\"digest\": \"sha256:");
    f.digest.write_hex(line);
    line.extend_from_slice(b"\",\n");
    indent(line, level + 2);
    line.extend_from_slice(b"\"kind\": \"");
    line.extend_from_slice(f.kind.as_str().as_bytes());
    line.extend_from_slice(b"\",\n");
    indent(line, level + 2);
    line.extend_from_slice(b"\"path\": ");
    string(line, &f.path)?;
    line.extend_from_slice(b",\n");
    indent(line, level + 2);
    line.extend_from_slice(b"\"size\": ");
    push_decimal(line, f.size);
    line.push(b'\n');
    indent(line, level + 1);
    line.push(b'}');
    Ok(())
}

/// A JSON string as serde_json writes it; plain text (the common case) is copied.
pub(crate) fn string(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *buf, s).map_err(io::Error::from)
    }
}

impl Pretty<'_> {
    fn node(&mut self, node: &Node<'_>, level: usize) -> io::Result<()> {
        match node {
            Node::Value(v) => self.value(v, level),
            Node::Object(map) => self.object(
                map.iter().map(|(k, v)| (k.as_str(), v)),
                level,
                |w, v, l| w.node(v, l),
            ),
            Node::Array(items) => self.array(items.iter(), level, |w, v, l| w.node(v, l)),
            Node::Files(files) => {
                if files.is_empty() {
                    return self.out.write_all(b"[]");
                }
                self.out.write_all(b"[")?;
                if files.len() < PARALLEL_FILES {
                    for (i, f) in files.iter().enumerate() {
                        self.line.clear();
                        file_record(&mut self.line, f, i == 0, level)?;
                        self.out.write_all(&self.line)?;
                    }
                } else {
                    // Long lists are formatted on every core, a window at a time so
                    // the text held stays a few megabytes whatever the list's length;
                    // on one core this was the largest part of a snapshot's
                    // single-threaded end.
                    for (w, window) in files.chunks(WINDOW).enumerate() {
                        let texts = window
                            .par_chunks(WINDOW / 4)
                            .enumerate()
                            .map(|(c, chunk)| {
                                let mut text = Vec::with_capacity(chunk.len() * 256);
                                for (i, f) in chunk.iter().enumerate() {
                                    let first = w == 0 && c == 0 && i == 0;
                                    file_record(&mut text, f, first, level)?;
                                }
                                Ok(text)
                            })
                            .collect::<io::Result<Vec<Vec<u8>>>>()?;
                        for text in texts {
                            self.out.write_all(&text)?;
                        }
                    }
                }
                self.line.clear();
                self.line.push(b'\n');
                indent(&mut self.line, level);
                self.line.push(b']');
                self.out.write_all(&self.line)
            }
        }
    }

    fn value(&mut self, v: &Value, level: usize) -> io::Result<()> {
        match v {
            Value::Object(map) => self.object(
                map.iter().map(|(k, v)| (k.as_str(), v)),
                level,
                |w, v, l| w.value(v, l),
            ),
            Value::Array(items) => self.array(items.iter(), level, |w, v, l| w.value(v, l)),
            // Scalars are written by serde_json itself: the same digits and escapes.
            scalar => serde_json::to_writer(&mut *self.out, scalar).map_err(io::Error::from),
        }
    }

    fn object<'v, T: 'v>(
        &mut self,
        entries: impl ExactSizeIterator<Item = (&'v str, &'v T)>,
        level: usize,
        mut each: impl FnMut(&mut Self, &T, usize) -> io::Result<()>,
    ) -> io::Result<()> {
        if entries.len() == 0 {
            return self.out.write_all(b"{}");
        }
        self.out.write_all(b"{")?;
        for (i, (k, v)) in entries.enumerate() {
            self.line.clear();
            self.line
                .extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            indent(&mut self.line, level + 1);
            string(&mut self.line, k)?;
            self.line.extend_from_slice(b": ");
            self.out.write_all(&self.line)?;
            each(self, v, level + 1)?;
        }
        self.line.clear();
        self.line.push(b'\n');
        indent(&mut self.line, level);
        self.line.push(b'}');
        self.out.write_all(&self.line)
    }

    fn array<'v, T: 'v>(
        &mut self,
        items: impl ExactSizeIterator<Item = &'v T>,
        level: usize,
        mut each: impl FnMut(&mut Self, &T, usize) -> io::Result<()>,
    ) -> io::Result<()> {
        if items.len() == 0 {
            return self.out.write_all(b"[]");
        }
        self.out.write_all(b"[")?;
        for (i, v) in items.enumerate() {
            self.line.clear();
            self.line
                .extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            indent(&mut self.line, level + 1);
            self.out.write_all(&self.line)?;
            each(self, v, level + 1)?;
        }
        self.line.clear();
        self.line.push(b'\n');
        indent(&mut self.line, level);
        self.line.push(b']');
        self.out.write_all(&self.line)
    }
}

fn object<'a>(map: Map<String, Value>) -> BTreeMap<String, Node<'a>> {
    map.into_iter().map(|(k, v)| (k, Node::Value(v))).collect()
}

/// `value` as a JSON object, without the fields named in `skip` (which are never
/// serialised, so leaving out a large list costs nothing).
fn value_except(
    value: &impl Serialize,
    skip: &'static [&'static str],
) -> io::Result<Map<String, Value>> {
    value
        .serialize(Except { skip })
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A serializer for records (structs) only, into a map without the skipped fields.
struct Except {
    skip: &'static [&'static str],
}

struct ExceptStruct {
    skip: &'static [&'static str],
    map: Map<String, Value>,
}

impl SerializeStruct for ExceptStruct {
    type Ok = Map<String, Value>;
    type Error = serde_json::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        if !self.skip.contains(&key) {
            self.map
                .insert(key.to_owned(), serde_json::to_value(value)?);
        }
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok(self.map)
    }
}

fn not_a_record() -> serde_json::Error {
    serde::ser::Error::custom("only records (structs) are written field by field")
}

type Never = Impossible<Map<String, Value>, serde_json::Error>;

impl Serializer for Except {
    type Ok = Map<String, Value>;
    type Error = serde_json::Error;
    type SerializeSeq = Never;
    type SerializeTuple = Never;
    type SerializeTupleStruct = Never;
    type SerializeTupleVariant = Never;
    type SerializeMap = Never;
    type SerializeStruct = ExceptStruct;
    type SerializeStructVariant = Never;

    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        let _ = len;
        Ok(ExceptStruct {
            skip: self.skip,
            map: Map::new(),
        })
    }

    fn serialize_bool(self, _: bool) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_i8(self, _: i8) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_i16(self, _: i16) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_i32(self, _: i32) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_i64(self, _: i64) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_u8(self, _: u8) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_u16(self, _: u16) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_u32(self, _: u32) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_u64(self, _: u64) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_f32(self, _: f32) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_f64(self, _: f64) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_char(self, _: char) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_str(self, _: &str) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_none(self) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_unit(self) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Err(not_a_record())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(not_a_record())
    }
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{ComponentRecord, FileKind, InputsRecord, OutputRecord};
    use super::*;
    use crate::digest::Digest;

    fn file(path: &str, kind: FileKind) -> FileRecord {
        FileRecord {
            path: path.to_owned(),
            kind,
            size: path.len() as u64,
            digest: Digest::of(path.as_bytes()),
        }
    }

    /// Any JSON value (the records written through `Value`: images, Dockerfiles,
    /// Nix) comes out as serde_json's pretty printer writes it.
    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let v = serde_json::json!({
            "empty_object": {},
            "empty_array": [],
            "nested": {"a": [1, -2, 3.5, 1e300, 0.1, true, false, null], "b": {"c": []}},
            "strings": ["plain", "quote \" and \\ backslash", "\u{1}\u{1f}\n\t\r\u{8}\u{c}\u{7f}", "caf\u{e9} \u{1F600}"],
            "arrays": [[], [{}], [[1]], {"x": [{"y": {}}]}]
        });
        let mut out = Vec::new();
        Pretty {
            out: &mut out,
            line: Vec::new(),
        }
        .value(&v, 0)
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(serde_json::to_vec_pretty(&v).unwrap()).unwrap()
        );
    }

    /// The streamed text is byte for byte what the `Value` path writes, for a
    /// manifest with every kind of list: empty, escaped names, outputs with and
    /// without files, optional fields set and unset, lists formatted in parallel.
    #[test]
    fn streamed_equals_value_path() {
        let mut m = Manifest::new();
        let inputs = InputsRecord {
            digest: Digest::of(b"inputs"),
            files: vec![
                file("a \"quoted\"\\name\n", FileKind::File),
                file("bin/run", FileKind::Executable),
                file("caf\\xe9", FileKind::Symlink),
            ],
            unmatched: vec!["nothing/**".to_owned()],
        };
        m.components.insert(
            "app".to_owned(),
            ComponentRecord {
                inputs: inputs.clone(),
                outputs: vec![
                    OutputRecord {
                        path: "result".to_owned(),
                        kind: FileKind::Directory,
                        digest: Digest::of(b"nar"),
                        size: 4200,
                        nar_hash: Some(Digest::of(b"nar").sri()),
                        store_path: Some("/nix/store/abc-app".to_owned()),
                        files: vec![file("bin/app", FileKind::Executable)],
                    },
                    OutputRecord {
                        path: "out.txt".to_owned(),
                        kind: FileKind::File,
                        digest: Digest::of(b"out"),
                        size: 3,
                        nar_hash: None,
                        store_path: None,
                        files: Vec::new(),
                    },
                ],
                image: None,
                dockerfile: None,
                nix: None,
                deploy: Some("app".to_owned()),
            },
        );
        m.components.insert(
            "empty".to_owned(),
            ComponentRecord {
                inputs: InputsRecord {
                    files: Vec::new(),
                    unmatched: Vec::new(),
                    ..inputs
                },
                outputs: Vec::new(),
                image: None,
                dockerfile: None,
                nix: None,
                deploy: None,
            },
        );
        let mut streamed = Vec::new();
        m.write_json(&mut streamed).unwrap();
        let mut expected = serde_json::to_vec_pretty(&serde_json::to_value(&m).unwrap()).unwrap();
        expected.push(b'\n');
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        // A list long enough to be formatted in parallel, over more than one window
        // and a part of one, with names that need escaping here and there.
        let long = PARALLEL_FILES.max(WINDOW) * 2 + 77;
        let files: Vec<FileRecord> = (0..long)
            .map(|i| {
                let name = if i % 1000 == 7 {
                    format!("dir/\"{i}\"\\x")
                } else {
                    format!("dir/f{i:06}")
                };
                file(&name, FileKind::File)
            })
            .collect();
        if let Some(app) = m.components.get_mut("app") {
            app.inputs.files = files;
        }
        let mut streamed = Vec::new();
        m.write_json(&mut streamed).unwrap();
        let mut expected = serde_json::to_vec_pretty(&serde_json::to_value(&m).unwrap()).unwrap();
        expected.push(b'\n');
        assert!(
            streamed == expected,
            "a long list differs from the Value path"
        );

        let empty = Manifest::new();
        let mut streamed = Vec::new();
        empty.write_json(&mut streamed).unwrap();
        let mut expected =
            serde_json::to_vec_pretty(&serde_json::to_value(&empty).unwrap()).unwrap();
        expected.push(b'\n');
        assert_eq!(streamed, expected);
    }
}
