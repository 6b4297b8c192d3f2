//! `--format json`: SPEC.md's report schema, keys sorted, plus the command's facts
//! (an image's digests and startup fields) as extra top-level keys, the releases
//! compared (`releases`: role → provenance) and, for `diff` and `check`, every
//! component's `changes` in full. `schemas/report.schema.json` describes it.

use std::io;

use serde_json::{Map, Value};

use super::{REPORT_SCHEMA, Report};

pub(super) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut top = Map::new();
    for (k, v) in report
        .facts_in_full
        .as_ref()
        .unwrap_or(&report.facts)
        .iter()
    {
        top.insert(k.to_owned(), v.clone());
    }
    top.insert("schema".into(), Value::from(REPORT_SCHEMA));
    top.insert("findings".into(), serde_json::to_value(&report.findings)?);
    top.insert("summary".into(), serde_json::to_value(report.summary())?);
    if !report.releases.is_empty() {
        let releases: Map<String, Value> = report
            .releases
            .iter()
            .map(|r| Ok((r.role.to_owned(), serde_json::to_value(r)?)))
            .collect::<serde_json::Result<_>>()?;
        top.insert("releases".into(), Value::Object(releases));
    }
    if let Some(changes) = &report.changes {
        top.insert("changes".into(), serde_json::to_value(changes)?);
    }
    serde_json::to_writer_pretty(&mut *out, &Value::Object(top))?;
    out.write_all(b"\n")
}
