//! `--format json`: SPEC.md's report schema, keys sorted, plus the command's facts
//! (an image's digests and startup fields) as extra top-level keys, the releases
//! compared (`releases`: role → provenance) and, for `diff` and `check`, every
//! component's `changes` in full. `schemas/report.schema.json` describes it.
//!
//! Written as it is serialised: the top-level object and the `findings` and
//! `changes` lists stream out one item at a time (each item through a `Value`, which
//! sorts its keys), so a report of 100,000 components never exists twice in memory.

use std::collections::BTreeMap;
use std::io;

use serde::ser::{Error as _, SerializeMap as _, SerializeSeq as _};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{REPORT_SCHEMA, Report};

/// One top-level entry.
enum Entry<'a> {
    Value(Value),
    Fact(&'a Value),
    Findings,
    Changes,
}

struct Top<'a> {
    report: &'a Report,
    entries: BTreeMap<String, Entry<'a>>,
}

/// A list whose items are written with sorted keys, one at a time.
pub(super) struct Sorted<'a, T>(pub &'a [T]);

impl<T: Serialize> Serialize for Sorted<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&serde_json::to_value(item).map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

impl Serialize for Top<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, entry) in &self.entries {
            match entry {
                Entry::Value(v) => map.serialize_entry(key, v)?,
                Entry::Fact(v) => map.serialize_entry(key, v)?,
                Entry::Findings => map.serialize_entry(key, &Sorted(&self.report.findings))?,
                Entry::Changes => map.serialize_entry(
                    key,
                    &Sorted(self.report.changes.as_deref().unwrap_or_default()),
                )?,
            }
        }
        map.end()
    }
}

pub(super) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut entries = BTreeMap::new();
    for (k, v) in report
        .facts_in_full
        .as_ref()
        .unwrap_or(&report.facts)
        .iter()
    {
        entries.insert(k.to_owned(), Entry::Fact(v));
    }
    entries.insert("schema".into(), Entry::Value(Value::from(REPORT_SCHEMA)));
    entries.insert("findings".into(), Entry::Findings);
    entries.insert(
        "summary".into(),
        Entry::Value(serde_json::to_value(report.summary())?),
    );
    if !report.releases.is_empty() {
        let releases: serde_json::Map<String, Value> = report
            .releases
            .iter()
            .map(|r| Ok((r.role.to_owned(), serde_json::to_value(r)?)))
            .collect::<serde_json::Result<_>>()?;
        entries.insert("releases".into(), Entry::Value(Value::Object(releases)));
    }
    if report.changes.is_some() {
        entries.insert("changes".into(), Entry::Changes);
    }
    let mut writer = io::BufWriter::new(&mut *out);
    serde_json::to_writer_pretty(&mut writer, &Top { report, entries })?;
    io::Write::write_all(&mut writer, b"\n")?;
    io::Write::flush(&mut writer)
}
