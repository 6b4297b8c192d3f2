//! Facts of `image inspect` and `image diff` as reports show them: complete values
//! in JSON, one readable line per fact in text and Markdown (lists such as argv as
//! JSON arrays, so an argument holding `, ` reads as what it is).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Facts;

use crate::model::image::{FileChange, FileState, ImageDiff, ImageRecord};

/// How many changed files the text summary lists.
const TEXT_FILES: usize = 20;

/// `image diff`'s facts, `old` before `new`: both sides, each startup field set on
/// either side, and the file-level difference (in brief: counts, then the first files
/// one per line; in full, for JSON and HTML: every file with both states).
#[must_use]
pub fn diff_facts(diff: &ImageDiff, json: bool) -> Facts {
    let mut f = Facts::default();
    f.insert("old", json!(diff.old));
    f.insert("new", json!(diff.new));
    f.insert(
        "same_content",
        json!(diff.old.identity == diff.new.identity),
    );
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
        f.insert(field.field.key(), value);
    }
    // Recorded and shown, never part of the identity: layers that differ only in
    // file times, and labels.
    let same_layers = diff.old.diff_ids == diff.new.diff_ids;
    f.insert(
        "diff_ids",
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
        f.insert(
            "labels",
            labels_diff(&diff.old.labels, &diff.new.labels, json),
        );
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
        f.insert("files_summary", json!(summary));
        f.insert("files", json!(changes));
    } else {
        f.insert("files", json!(summary));
        let mut lines: Vec<String> = changes.iter().take(TEXT_FILES).map(describe).collect();
        if changes.len() > TEXT_FILES {
            lines.push(format!(
                "… and {} more (--format json lists all)",
                changes.len() - TEXT_FILES
            ));
        }
        if !lines.is_empty() {
            f.insert("changed_files", json!(lines));
        }
    }
    f
}

/// Labels on both sides: in JSON both maps and whether they differ; in text the
/// labels that changed, one `key: old → new` each.
fn labels_diff(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    json: bool,
) -> Value {
    if json {
        return json!({"old": old, "new": new, "changed": old != new});
    }
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let show = |v: Option<&String>| v.map_or_else(|| "unset".to_owned(), |v| json!(v).to_string());
    let changed: Vec<String> = keys
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| format!("{k}: {} → {}", show(old.get(k)), show(new.get(k))))
        .collect();
    if changed.is_empty() {
        json!(format!("{} (unchanged)", old.len()))
    } else {
        json!(changed.join("; "))
    }
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

/// `image inspect`'s facts: digests, layers, startup fields, labels, what argv[0]
/// resolves to (`command`: the name, the PATH entry, each link, the file), and the
/// verdict of static startup verification in a line.
#[must_use]
pub fn inspect_facts(
    reference: &str,
    r: &ImageRecord,
    command: Option<&[String]>,
    json: bool,
) -> Facts {
    let labels = &r.labels;
    let mut f = Facts::default();
    f.insert("image", json!(reference));
    f.insert("manifest_digest", json!(r.manifest_digest));
    f.insert("config_digest", json!(r.config_digest));
    f.insert("identity", json!(r.identity()));
    if !r.names.is_empty() {
        f.insert("names", json!(r.names));
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
    f.insert("layers", Value::Array(layers));
    if let Value::Object(map) = serde_json::to_value(&r.startup).unwrap_or_default() {
        for (key, value) in map {
            // argv-like lists read as JSON in text: `["sh", "-c", "a, b"]`.
            let value = match (&value, json) {
                (Value::Array(_), false) if key != "env" => json!(value.to_string()),
                _ => value,
            };
            f.insert(key, value);
        }
    }
    if let Some(chain) = command {
        f.insert(
            "command",
            if json {
                json!(chain)
            } else {
                json!(chain.join(" → "))
            },
        );
    }
    if !labels.is_empty() {
        f.insert(
            "labels",
            if json {
                json!(labels)
            } else {
                json!(json!(labels).to_string())
            },
        );
    }
    if !r.rejected_entries.is_empty() {
        f.insert("rejected_entries", json!(r.rejected_entries));
    }
    // `ENTRYPOINT [""]` is how a Dockerfile clears an inherited entrypoint: none.
    let has_entrypoint = r
        .startup
        .entrypoint
        .as_ref()
        .is_some_and(|e| !(e.len() == 1 && e[0].is_empty()));
    let what = if has_entrypoint {
        "entrypoint"
    } else {
        "command"
    };
    f.insert(
        "startup_verification",
        json!(if r.problems.is_empty() {
            format!("ok: the {what} resolves and can be executed")
        } else {
            format!("{} problem(s)", r.problems.len())
        }),
    );
    f
}
