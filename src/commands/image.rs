//! `buildproof image inspect|diff`.
//!
//! `inspect` reads one image (every blob verified) and reports its digests, startup
//! fields and static startup verification. `diff` reads two, compares their startup
//! fields with the same rules `diff`/`check` use, and lists the file-level difference
//! of their merged filesystems: summarised in text, complete in JSON. Findings carry
//! the image reference as typed in `component` (SPEC.md).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::cli::{ImageCommand, ReportArgs};
use crate::image::layers::{Kind, Node};
use crate::image::{self, Image, Options};
use crate::model::finding::{Finding, Location};
use crate::model::image::ImageRecord;
use crate::report::{Format, Report};
use crate::rules::{RuleId, image as image_rules};

/// How many changed files the text summary lists.
const TEXT_FILES: usize = 20;

pub(super) fn run(cmd: ImageCommand) -> anyhow::Result<u8> {
    match cmd {
        ImageCommand::Inspect { image, report } => inspect(&image, &report),
        ImageCommand::Diff { old, new, report } => diff(&old, &new, &report),
    }
}

fn startup_facts(r: &ImageRecord, facts: &mut Map<String, Value>) {
    let s = serde_json::to_value(&r.startup).unwrap_or_default();
    if let Value::Object(map) = s {
        facts.extend(map);
    }
}

/// Without a config or Dockerfile, the place to look is the image itself: findings
/// point at its layout or archive, so SARIF and GitHub annotations name it rather
/// than a config file the run never read.
fn at_image(findings: Vec<Finding>, reference: &str) -> Vec<Finding> {
    let path = image::reference::parse(Path::new("."), reference).path;
    let location = Location {
        file: path
            .strip_prefix(".")
            .unwrap_or(&path)
            .display()
            .to_string(),
        line: None,
    };
    findings
        .into_iter()
        .map(|f| {
            if f.location().is_some() {
                f
            } else {
                f.with_location(Some(location.clone()))
            }
        })
        .collect()
}

fn inspect(reference: &str, args: &ReportArgs) -> anyhow::Result<u8> {
    let img = image::load(Path::new("."), reference, Options::default())?;
    let r = &img.record;
    let findings = at_image(image_rules::state(reference, r), reference);
    let mut report = Report::new(
        "image inspect",
        vec![reference.to_owned()],
        vec![RuleId::StartupBroken, RuleId::LibraryMissing],
        findings,
    );
    let f = &mut report.facts;
    f.insert("image".into(), json!(reference));
    f.insert("manifest_digest".into(), json!(r.manifest_digest));
    f.insert("config_digest".into(), json!(r.config_digest));
    f.insert("identity".into(), json!(r.identity()));
    if !r.names.is_empty() {
        f.insert("names".into(), json!(r.names));
    }
    let layers: Vec<Value> = r
        .layers
        .iter()
        .map(|l| {
            if args.format == Format::Json {
                json!(l)
            } else {
                json!(format!(
                    "{} ({} bytes, diff_id {})",
                    l.digest, l.size, l.diff_id
                ))
            }
        })
        .collect();
    f.insert("layers".into(), Value::Array(layers));
    startup_facts(r, f);
    if !r.rejected_entries.is_empty() {
        f.insert("rejected_entries".into(), json!(r.rejected_entries));
    }
    f.insert(
        "startup_verification".into(),
        json!(if r.problems.is_empty() {
            "ok: the entrypoint resolves and can be executed".to_owned()
        } else {
            format!("{} problem(s)", r.problems.len())
        }),
    );
    super::emit_report(&report, args)
}

/// One file's state, for the file-level diff.
fn file_state(n: &Node) -> Value {
    let kind = match n.kind {
        Kind::File => "file",
        Kind::Dir => "directory",
        Kind::Symlink => "symlink",
        Kind::Other => "other",
    };
    let mut v = json!({
        "kind": kind,
        "size": n.size,
        "mode": format!("{:04o}", n.mode),
        "owner": format!("{}:{}", n.uid, n.gid),
    });
    if let Some(d) = n.digest {
        v["digest"] = json!(d);
    }
    if let Some(t) = &n.target {
        v["target"] = json!(t);
    }
    v
}

fn file_changes(old: &Image, new: &Image) -> Vec<Value> {
    let (o, n): (&BTreeMap<String, Node>, &BTreeMap<String, Node>) = (&old.fs.nodes, &new.fs.nodes);
    let mut out = Vec::new();
    for (path, on) in o {
        match n.get(path) {
            None => out.push(json!({"path": path, "change": "removed", "old": file_state(on)})),
            Some(nn) => {
                let (a, b) = (file_state(on), file_state(nn));
                if a != b {
                    out.push(json!({"path": path, "change": "modified", "old": a, "new": b}));
                }
            }
        }
    }
    for (path, nn) in n {
        if !o.contains_key(path) {
            out.push(json!({"path": path, "change": "added", "new": file_state(nn)}));
        }
    }
    out.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    out
}

fn describe_change(c: &Value) -> String {
    let state = |v: &Value| {
        let mut s = format!(
            "{} {} bytes {} {}",
            v["kind"].as_str().unwrap_or(""),
            v["size"],
            v["mode"].as_str().unwrap_or(""),
            v["owner"].as_str().unwrap_or("")
        );
        if let Some(t) = v["target"].as_str() {
            // A symlink's target is what changes; its digest only hashes that text.
            s = format!(
                "symlink to `{t}` {} {}",
                v["mode"].as_str().unwrap_or(""),
                v["owner"].as_str().unwrap_or("")
            );
        } else if let Some(d) = v["digest"].as_str() {
            s.push(' ');
            s.push_str(&d[..d.len().min(19)]);
        }
        s
    };
    let path = c["path"].as_str().unwrap_or("");
    match c["change"].as_str() {
        Some("added") => format!("+ {path} ({})", state(&c["new"])),
        Some("removed") => format!("- {path} ({})", state(&c["old"])),
        _ => format!("~ {path} ({} → {})", state(&c["old"]), state(&c["new"])),
    }
}

fn diff(old_ref: &str, new_ref: &str, args: &ReportArgs) -> anyhow::Result<u8> {
    let opts = Options { file_digests: true };
    let old = image::load(Path::new("."), old_ref, opts)?;
    let new = image::load(Path::new("."), new_ref, opts)?;
    let mut findings = image_rules::compare(new_ref, &old.record, &new.record);
    findings.extend(image_rules::state(new_ref, &new.record));
    let findings = at_image(findings, new_ref);
    let mut report = Report::new(
        "image diff",
        vec![new_ref.to_owned()],
        vec![
            RuleId::StartupChanged,
            RuleId::EnvChanged,
            RuleId::StartupBroken,
            RuleId::LibraryMissing,
        ],
        findings,
    );
    let side = |r: &ImageRecord, reference: &str| json!({"image": reference, "manifest_digest": r.manifest_digest, "identity": r.identity()});
    let f = &mut report.facts;
    f.insert("old".into(), side(&old.record, old_ref));
    f.insert("new".into(), side(&new.record, new_ref));
    f.insert(
        "same_content".into(),
        json!(old.record.identity() == new.record.identity()),
    );
    let (os, ns) = (
        serde_json::to_value(&old.record.startup).unwrap_or_default(),
        serde_json::to_value(&new.record.startup).unwrap_or_default(),
    );
    for field in [
        "entrypoint",
        "cmd",
        "user",
        "working_dir",
        "env",
        "shell",
        "healthcheck",
        "stop_signal",
        "exposed_ports",
        "volumes",
    ] {
        let (a, b) = (&os[field], &ns[field]);
        if a.is_null() && b.is_null() {
            continue;
        }
        let value = if args.format == Format::Json {
            json!({"old": a, "new": b, "changed": a != b})
        } else if a == b {
            json!(format!("{a} (unchanged)"))
        } else {
            json!(format!("{a} → {b}"))
        };
        f.insert(field.into(), value);
    }
    let changes = file_changes(&old, &new);
    let count = |what: &str| changes.iter().filter(|c| c["change"] == what).count();
    let summary = format!(
        "{} added, {} removed, {} modified",
        count("added"),
        count("removed"),
        count("modified")
    );
    if args.format == Format::Json {
        f.insert("files_summary".into(), json!(summary));
        f.insert("files".into(), Value::Array(changes));
    } else {
        f.insert("files".into(), json!(summary));
        let mut lines: Vec<String> = changes
            .iter()
            .take(TEXT_FILES)
            .map(describe_change)
            .collect();
        if changes.len() > TEXT_FILES {
            lines.push(format!(
                "… and {} more (--format json lists all)",
                changes.len() - TEXT_FILES
            ));
        }
        if !lines.is_empty() {
            f.insert("changed_files".into(), json!(lines));
        }
    }
    super::emit_report(&report, args)
}
