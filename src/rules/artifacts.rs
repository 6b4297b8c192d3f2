//! Artifact rules: `stale-artifact`, `unexplained-change`, `component-added`,
//! `component-removed` and `unmatched-pattern`.
//!
//! An artifact's identity is its content (SPEC.md, "What counts as changed"): each
//! output's digest (a file's SHA-256, a directory's or store path's NAR hash) and the
//! image's content identity (merged filesystem and runtime config, no times; against
//! a manifest written before that existed, the config without times: see
//! [`ImageRecord::same_content`](crate::model::image::ImageRecord::same_content)).
//! A new Nix out path or image manifest over identical content is *not* a changed
//! artifact, and the `stale-artifact` message says so.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::RuleId;
use crate::model::finding::Finding;
use crate::model::image::IdentityBasis;
use crate::model::manifest::{ComponentRecord, FileRecord, OutputRecord};

/// How many changed files a finding lists; the rest is a count.
const LIST_LIMIT: usize = 20;
/// How many changed files the one-line message names.
const MESSAGE_LIMIT: usize = 3;

/// One file that differs between two record lists.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileChange {
    pub path: String,
    /// `added`, `removed` or `modified`.
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// Records in path order, one per path: a manifest lists them so already; a
/// hand-made one may not, and a path listed twice counts once, by its last record,
/// as a map would keep it. References only: nothing is copied.
fn by_path(list: &[FileRecord]) -> Vec<&FileRecord> {
    let mut refs: Vec<&FileRecord> = list.iter().collect();
    if !list.windows(2).all(|w| w[0].path < w[1].path) {
        // Stable, so the last of equal paths stays last.
        refs.sort_by(|a, b| a.path.cmp(&b.path));
        refs.reverse();
        refs.dedup_by(|a, b| a.path == b.path);
        refs.reverse();
    }
    refs
}

/// The records of two lists paired by path, in path order: `(old, new)`, one side
/// `None` where the path is in the other list only. Lists written by buildproof are
/// sorted by path, so this is one merge of the two, with no index built (a million
/// records each); unsorted lists (hand-made) are sorted first.
pub(crate) fn pair_by_path<'a>(
    old: &'a [FileRecord],
    new: &'a [FileRecord],
) -> impl Iterator<Item = (Option<&'a FileRecord>, Option<&'a FileRecord>)> + 'a {
    let (old, new) = (by_path(old), by_path(new));
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let pair = match (old.get(i).copied(), new.get(j).copied()) {
            (None, None) => return None,
            (Some(o), Some(n)) => match o.path.cmp(&n.path) {
                std::cmp::Ordering::Less => (Some(o), None),
                std::cmp::Ordering::Greater => (None, Some(n)),
                std::cmp::Ordering::Equal => (Some(o), Some(n)),
            },
            other => other,
        };
        i += usize::from(pair.0.is_some());
        j += usize::from(pair.1.is_some());
        Some(pair)
    })
}

/// The files that differ between `base` and `new`, in path order.
pub(crate) fn file_changes(base: &[FileRecord], new: &[FileRecord]) -> Vec<FileChange> {
    let describe = |r: &FileRecord| format!("{} {} bytes {}", r.kind.as_str(), r.size, r.digest);
    pair_by_path(base, new)
        .filter(|(o, n)| o != n)
        .map(|(o, n)| FileChange {
            path: o.or(n).map_or_else(String::new, |r| r.path.clone()),
            change: match (o, n) {
                (Some(_), Some(_)) => "modified",
                (Some(_), None) => "removed",
                _ => "added",
            },
            old: o.map(describe),
            new: n.map(describe),
        })
        .collect()
}

/// `main.go (modified), go.mod (added) and 3 more`.
fn name_changes(changes: &[FileChange]) -> String {
    let mut parts: Vec<String> = changes
        .iter()
        .take(MESSAGE_LIMIT)
        .map(|c| format!("{} ({})", c.path, c.change))
        .collect();
    if changes.len() > MESSAGE_LIMIT {
        parts.push(format!("{} more", changes.len() - MESSAGE_LIMIT));
    }
    parts.join(", ")
}

fn limited(changes: &[FileChange]) -> &[FileChange] {
    &changes[..changes.len().min(LIST_LIMIT)]
}

/// Change rules for a component present in both manifests.
pub(super) fn compare(name: &str, base: &ComponentRecord, new: &ComponentRecord) -> Vec<Finding> {
    let inputs_changed = base.inputs.digest != new.inputs.digest;
    let outputs_same = outputs_identical(&base.outputs, &new.outputs);
    let image_same = match (&base.image, &new.image) {
        (None, None) => true,
        (Some(b), Some(n)) => b.same_content(n),
        _ => false,
    };
    let artifact_same = outputs_same && image_same;

    if inputs_changed && artifact_same {
        vec![stale(name, base, new)]
    } else if !inputs_changed && !artifact_same {
        vec![unexplained(name, base, new)]
    } else {
        Vec::new()
    }
}

/// The same outputs, by path, with the same content (order does not matter: older
/// manifests kept the config's order).
fn outputs_identical(base: &[OutputRecord], new: &[OutputRecord]) -> bool {
    let by_path = |outputs: &[OutputRecord]| -> BTreeMap<String, crate::digest::Digest> {
        outputs.iter().map(|o| (o.path.clone(), o.digest)).collect()
    };
    by_path(base) == by_path(new)
}

fn stale(name: &str, base: &ComponentRecord, new: &ComponentRecord) -> Finding {
    let changes = file_changes(&base.inputs.files, &new.inputs.files);
    let mut artifacts: Vec<String> = new
        .outputs
        .iter()
        .map(|o| format!("`{}` is still {}", o.path, o.digest))
        .collect();
    if let Some(image) = &new.image {
        let basis = base
            .image
            .as_ref()
            .map_or(IdentityBasis::Content, |b| b.basis(image));
        artifacts.push(format!("the image is still {}", image.identity_by(basis)));
    }
    // A rebuild that produced a new name for the same bytes is still stale, and the
    // person reading needs to know the build *did* run.
    let mut rebuilt = Vec::new();
    for n in &new.outputs {
        let Some(b) = base.outputs.iter().find(|b| b.path == n.path) else {
            continue;
        };
        if let (Some(bs), Some(ns)) = (&b.store_path, &n.store_path) {
            if bs != ns {
                rebuilt.push(format!(
                    "`{}` is a new out path ({bs} -> {ns}) with byte-identical content",
                    n.path
                ));
            }
        }
    }
    if let (Some(bi), Some(ni)) = (&base.image, &new.image) {
        if bi.manifest_digest != ni.manifest_digest {
            // With the content identity, the layers may differ (new file times);
            // the files and the runtime config do not.
            let same = match bi.basis(ni) {
                IdentityBasis::Content => "the same files and runtime config",
                _ => "identical layers and config",
            };
            rebuilt.push(format!(
                "the image was rebuilt (manifest {} -> {}) with {same}",
                bi.manifest_digest, ni.manifest_digest
            ));
        }
    }
    let mut message = format!(
        "inputs changed ({}) but the artifact did not: {}",
        name_changes(&changes),
        artifacts.join(", ")
    );
    // Why an artifact stays the same differs by how it is built: an image that was
    // not rebuilt (or whose build never saw the file), a Nix build whose source filter
    // or fixed-output hash hid the change, any other build's cache.
    let nix = new.nix.is_some() || new.outputs.iter().any(|o| o.store_path.is_some());
    let stale_why = if new.image.is_some() {
        "; the image was not rebuilt, or its build did not see the change (`.dockerignore`, the Dockerfile's `COPY` lines), so this change will not ship: rebuild the image and check that its build context and `COPY` lines include these files"
    } else if nix {
        "; the build reused an old output, so this change will not ship: check that the build sees these files (source filter, cache key, fixed-output hash) and rebuild"
    } else {
        "; the build reused an old output, so this change will not ship: check that the build reads these files (its cache key, the files it copies) and rebuild"
    };
    if rebuilt.is_empty() {
        message.push_str(stale_why);
    } else {
        // The build did run: rebuilding again cannot help. Either the build never
        // reads these files, or the change was meant to have no effect.
        message.push_str(&format!(
            "; {}: the build ran but produced nothing new, so this change will not ship: check that the build reads these files (source filter, `.dockerignore`, the `COPY` lines), or accept this finding if the change is meant to have no effect (a comment, a reordering)",
            rebuilt.join("; ")
        ));
    }

    let mut identity = vec![
        base.inputs.digest.to_string(),
        new.inputs.digest.to_string(),
    ];
    identity.extend(new.outputs.iter().map(|o| o.digest.to_string()));
    if let Some(i) = &new.image {
        identity.push(i.identity().to_string());
    }
    let identity: Vec<&str> = identity.iter().map(String::as_str).collect();
    // The changed inputs that still exist are where a pull request touched them.
    let related = changes
        .iter()
        .filter(|c| c.change != "removed")
        .take(LIST_LIMIT)
        .map(|c| crate::model::finding::Location {
            file: c.path.clone(),
            line: None,
        })
        .collect();
    Finding::new(RuleId::StaleArtifact, name, message, &identity)
        .with_related(related)
        .with_detail("inputs", serde_json::json!({"old": base.inputs.digest, "new": new.inputs.digest}))
        .with_detail("changed_inputs", limited(&changes))
        .with_detail("changed_inputs_count", changes.len())
        .with_detail(
            "unchanged_outputs",
            new.outputs
                .iter()
                .map(|o| serde_json::json!({"path": o.path, "digest": o.digest, "store_path": o.store_path}))
                .collect::<Vec<_>>(),
        )
        .with_help(if rebuilt.is_empty() && new.image.is_some() {
                "Rebuild the image and make sure its build context and `COPY` lines include the changed files; if the old image is really correct, accept this finding with a reason."
            } else if rebuilt.is_empty() {
                "Rebuild the component and make sure its build reads the changed files; if the old artifact is really correct, accept this finding with a reason."
            } else {
                "Make the build read the changed files; if the change is meant not to alter the artifact, accept this finding with a reason."
            },
        )
}

fn unexplained(name: &str, base: &ComponentRecord, new: &ComponentRecord) -> Finding {
    let mut changed = Vec::new();
    let mut file_level = Vec::new();
    let base_outputs: BTreeMap<&str, &OutputRecord> =
        base.outputs.iter().map(|o| (o.path.as_str(), o)).collect();
    for n in &new.outputs {
        match base_outputs.get(n.path.as_str()) {
            Some(b) if b.digest == n.digest => {}
            Some(b) => {
                changed.push(format!("`{}` {} -> {}", n.path, b.digest, n.digest));
                for mut c in file_changes(&b.files, &n.files) {
                    c.path = format!("{}/{}", n.path, c.path);
                    file_level.push(c);
                }
            }
            None => changed.push(format!("`{}` added ({})", n.path, n.digest)),
        }
    }
    for b in &base.outputs {
        if !new.outputs.iter().any(|n| n.path == b.path) {
            changed.push(format!("`{}` removed (was {})", b.path, b.digest));
        }
    }
    match (&base.image, &new.image) {
        (Some(b), Some(n)) if !b.same_content(n) => {
            let basis = b.basis(n);
            changed.push(format!(
                "the image {} -> {}",
                b.identity_by(basis),
                n.identity_by(basis)
            ));
        }
        (None, Some(n)) => changed.push(format!("an image was added ({})", n.identity())),
        (Some(b), None) => changed.push(format!("the image was removed (was {})", b.identity())),
        _ => {}
    }
    let message = format!(
        "the artifact changed though no declared input did: {}; the build is not reproducible or reads an undeclared input: add that input to `inputs`, or make the build reproducible",
        changed.join(", ")
    );
    let identity: Vec<String> = std::iter::once(new.inputs.digest.to_string())
        .chain(
            base.outputs
                .iter()
                .chain(&new.outputs)
                .map(|o| o.digest.to_string()),
        )
        .chain(
            base.image
                .iter()
                .chain(&new.image)
                .map(|i| i.identity().to_string()),
        )
        .collect();
    let identity: Vec<&str> = identity.iter().map(String::as_str).collect();
    Finding::new(RuleId::UnexplainedChange, name, message, &identity)
        .with_detail("changed_outputs", &changed)
        .with_detail("changed_output_files", limited(&file_level))
        .with_detail("changed_output_files_count", file_level.len())
        .with_detail("inputs", new.inputs.digest)
}

pub(super) fn added(name: &str, new: &ComponentRecord) -> Finding {
    Finding::new(
        RuleId::ComponentAdded,
        name,
        format!(
            "new component: not in the base manifest ({} input file{}, {} output{}{})",
            new.inputs.files.len(),
            if new.inputs.files.len() == 1 { "" } else { "s" },
            new.outputs.len(),
            if new.outputs.len() == 1 { "" } else { "s" },
            if new.image.is_some() {
                ", an image"
            } else {
                ""
            },
        ),
        &[],
    )
}

pub(super) fn removed(name: &str, base: &ComponentRecord) -> Finding {
    Finding::new(
        RuleId::ComponentRemoved,
        name,
        "component is in the base manifest but not in the new one: if it still ships, declare it again in buildproof.toml".to_owned(),
        &[],
    )
    .with_detail("inputs", base.inputs.digest)
}

pub(super) fn unmatched(name: &str, record: &ComponentRecord) -> Vec<Finding> {
    record
        .inputs
        .unmatched
        .iter()
        .map(|pattern| {
            Finding::new(
                RuleId::UnmatchedPattern,
                name,
                format!("input pattern `{pattern}` matches no file: fix or remove it, or its files are missing from this checkout"),
                &[pattern],
            )
            .with_detail("pattern", pattern)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::model::manifest::FileKind;

    fn rec(path: &str, content: &str) -> FileRecord {
        FileRecord {
            path: path.to_owned(),
            kind: FileKind::File,
            size: content.len() as u64,
            digest: Digest::of(content.as_bytes()),
        }
    }

    /// Sorted lists are merged; unsorted ones give the same answer.
    #[test]
    fn file_changes_in_path_order_sorted_or_not() {
        let base = vec![rec("a", "1"), rec("b", "2"), rec("d", "4"), rec("e", "5")];
        let new = vec![rec("b", "2"), rec("c", "3"), rec("d", "44"), rec("f", "6")];
        let summary = |changes: Vec<FileChange>| -> Vec<(String, &'static str)> {
            changes.into_iter().map(|c| (c.path, c.change)).collect()
        };
        let expected = vec![
            ("a".to_owned(), "removed"),
            ("c".to_owned(), "added"),
            ("d".to_owned(), "modified"),
            ("e".to_owned(), "removed"),
            ("f".to_owned(), "added"),
        ];
        assert_eq!(summary(file_changes(&base, &new)), expected);
        let (mut rb, mut rn) = (base.clone(), new.clone());
        rb.reverse();
        rn.swap(0, 3);
        assert_eq!(summary(file_changes(&rb, &rn)), expected);
    }
}
