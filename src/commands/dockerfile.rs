//! `buildproof dockerfile diff OLD NEW`: the final stages' startup instructions
//! compared without building anything. Findings carry NEW as given on the command
//! line in their `component` field and point at NEW's lines.

use crate::cli::DockerfileCommand;
use crate::dockerfile;
use crate::model::dockerfile::DockerfileRecord;
use crate::report::Report;
use crate::rules::{self, RuleId};

pub(super) fn run(cmd: DockerfileCommand, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    match cmd {
        DockerfileCommand::Diff { old, new, report } => {
            super::plan_reports(&report, &[])?;
            super::guard_outputs(
                &super::output_files(&report, &[]),
                &[("OLD", old.as_path()), ("NEW", new.as_path())],
            )?;
            let old_name = old.display().to_string();
            let new_name = new.display().to_string();
            let base = dockerfile::read_argument(&old, &old_name)?;
            let now = dockerfile::read_argument(&new, &new_name)?;
            let findings = rules::dockerfile::compare(&new_name, &base, &now);
            let mut out = Report::new(
                "dockerfile diff",
                vec![new_name],
                vec![RuleId::StartupChanged, RuleId::EnvChanged],
                findings,
            );
            out.facts.insert("old", summary(&base));
            out.facts.insert("new", summary(&now));
            super::emit_report(out, &report, io)
        }
    }
}

/// A fact for the report: the final stage and where its configuration comes from.
fn summary(record: &DockerfileRecord) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    map.insert("path".into(), record.path.clone().into());
    if let Some(name) = &record.stage.name {
        map.insert("stage".into(), name.clone().into());
    }
    map.insert("from".into(), record.stage.base.clone().into());
    // The base once: `base_image` only when `FROM` names an earlier stage.
    if let Some(image) = record
        .stage
        .base_image
        .as_ref()
        .filter(|image| **image != record.stage.base)
    {
        map.insert("base_image".into(), image.clone().into());
    }
    for (name, field) in record.startup.compared() {
        if let Some(f) = field {
            map.insert(name.to_ascii_lowercase(), f.value.clone().into());
        }
    }
    serde_json::Value::Object(map)
}
