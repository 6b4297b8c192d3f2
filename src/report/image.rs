//! Facts of `image inspect` and `image diff` as reports show them: complete values
//! in JSON, one readable line per fact in text and Markdown.

use serde_json::{Map, Value, json};

use crate::model::image::{FileChange, FileState, ImageDiff, ImageRecord};

/// How many changed files the text summary lists.
const TEXT_FILES: usize = 20;

/// `image diff`'s facts: both sides, each startup field set on either side, and the
/// file-level difference (counts, then the first files in text; all of them in JSON).
#[must_use]
pub fn diff_facts(diff: &ImageDiff, json: bool) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("old".into(), json!(diff.old));
    f.insert("new".into(), json!(diff.new));
    f.insert(
        "same_content".into(),
        json!(diff.old.identity == diff.new.identity),
    );
    // Recorded and shown, never part of the identity: layers that differ only in
    // file times, and labels.
    let same_layers = diff.old.diff_ids == diff.new.diff_ids;
    f.insert(
        "diff_ids".into(),
        if json {
            json!({"old": diff.old.diff_ids, "new": diff.new.diff_ids, "changed": !same_layers})
        } else if same_layers {
            json!(format!("{} layers (unchanged)", diff.new.diff_ids.len()))
        } else {
            json!(format!(
                "{} → {} layers, diff_ids differ",
                diff.old.diff_ids.len(),
                diff.new.diff_ids.len()
            ))
        },
    );
    if !diff.old.labels.is_empty() || !diff.new.labels.is_empty() {
        let same_labels = diff.old.labels == diff.new.labels;
        f.insert(
            "labels".into(),
            if json {
                json!({"old": diff.old.labels, "new": diff.new.labels, "changed": !same_labels})
            } else if same_labels {
                json!(format!("{} (unchanged)", diff.new.labels.len()))
            } else {
                json!(label_changes(&diff.old.labels, &diff.new.labels))
            },
        );
    }
    for field in &diff.fields {
        let (a, b) = (
            field.old.clone().unwrap_or(Value::Null),
            field.new.clone().unwrap_or(Value::Null),
        );
        let value = if json {
            json!({"old": a, "new": b, "changed": a != b})
        } else if a == b {
            json!(format!("{a} (unchanged)"))
        } else {
            json!(format!("{a} → {b}"))
        };
        f.insert(field.field.key().into(), value);
    }
    let changes = &diff.files;
    let count = |want: fn(&FileChange) -> bool| changes.iter().filter(|c| want(c)).count();
    let summary = format!(
        "{} added, {} removed, {} modified",
        count(|c| matches!(c, FileChange::Added { .. })),
        count(|c| matches!(c, FileChange::Removed { .. })),
        count(|c| matches!(c, FileChange::Modified { .. }))
    );
    if json {
        f.insert("files_summary".into(), json!(summary));
        f.insert("files".into(), json!(changes));
    } else {
        f.insert("files".into(), json!(summary));
        let mut lines: Vec<String> = changes.iter().take(TEXT_FILES).map(describe).collect();
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
    f
}

/// `a: 1 → 2, b: unset → x` for the labels that differ.
fn label_changes(
    old: &std::collections::BTreeMap<String, String>,
    new: &std::collections::BTreeMap<String, String>,
) -> String {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let show =
                |v: Option<&String>| v.map_or_else(|| "unset".to_owned(), |v| format!("`{v}`"));
            format!("{k}: {} → {}", show(old.get(k)), show(new.get(k)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_state(s: &FileState) -> String {
    let owner = format!("{}:{}", s.uid, s.gid);
    if let Some(t) = &s.target {
        // A symlink's target is what changes; its digest only hashes that text.
        return format!("symlink to `{t}` {:04o} {owner}", s.mode);
    }
    let mut text = format!("{} {} bytes {:04o} {owner}", s.kind, s.size, s.mode);
    if let Some(d) = &s.digest {
        let d = d.to_string();
        text.push(' ');
        text.push_str(&d[..d.len().min(19)]);
    }
    text
}

fn describe(c: &FileChange) -> String {
    match c {
        FileChange::Added { path, new } => format!("+ {path} ({})", describe_state(new)),
        FileChange::Removed { path, old } => format!("- {path} ({})", describe_state(old)),
        FileChange::Modified { path, old, new } => format!(
            "~ {path} ({} → {})",
            describe_state(old),
            describe_state(new)
        ),
    }
}

/// `image inspect`'s facts: digests, layers, startup fields, and the verdict of
/// static startup verification in a line.
#[must_use]
pub fn inspect_facts(reference: &str, r: &ImageRecord, json: bool) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("image".into(), json!(reference));
    f.insert("manifest_digest".into(), json!(r.manifest_digest));
    f.insert("config_digest".into(), json!(r.config_digest));
    f.insert("identity".into(), json!(r.identity()));
    if !r.names.is_empty() {
        f.insert("names".into(), json!(r.names));
    }
    if !r.labels.is_empty() {
        f.insert("labels".into(), json!(r.labels));
    }
    let layers: Vec<Value> = r
        .layers
        .iter()
        .map(|l| {
            if json {
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
    if let Value::Object(map) = serde_json::to_value(&r.startup).unwrap_or_default() {
        f.extend(map);
    }
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
    f
}
