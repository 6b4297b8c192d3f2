//! `--format json`: SPEC.md's report schema, keys sorted, plus the command's facts
//! (an image's digests and startup fields) as extra top-level keys.

use std::io;

use serde_json::{Map, Value};

use super::{REPORT_SCHEMA, Report};

pub(super) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut top = Map::new();
    for (k, v) in &report.facts {
        top.insert(k.clone(), v.clone());
    }
    top.insert("schema".into(), Value::from(REPORT_SCHEMA));
    top.insert("findings".into(), serde_json::to_value(&report.findings)?);
    top.insert("summary".into(), serde_json::to_value(report.summary())?);
    serde_json::to_writer_pretty(&mut *out, &Value::Object(top))?;
    out.write_all(b"\n")
}
