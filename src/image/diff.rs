//! `image diff`'s comparison of two read images: the startup fields side by side and
//! the file-level difference of their merged filesystems, as a typed
//! [`ImageDiff`]. Rendering it is `report/`'s; judging the startup change is
//! `rules/image.rs`'s.

use std::collections::BTreeMap;

use super::Image;
use super::layers::{Kind, Node};
use crate::model::image::{FieldDiff, FileChange, FileState, ImageDiff, ImageSide, StartupField};

/// Compares two images; `old_ref`/`new_ref` are the references as typed.
#[must_use]
pub fn diff(old: &Image, old_ref: &str, new: &Image, new_ref: &str) -> ImageDiff {
    let side = |i: &Image, reference: &str| ImageSide {
        image: reference.to_owned(),
        manifest_digest: i.record.manifest_digest,
        identity: i.record.identity(),
        diff_ids: i.record.layers.iter().map(|l| l.diff_id).collect(),
        labels: i.record.labels.clone(),
    };
    let fields = StartupField::ALL
        .into_iter()
        .map(|field| FieldDiff {
            field,
            old: old.record.startup.value(field),
            new: new.record.startup.value(field),
        })
        .filter(|f| f.old.is_some() || f.new.is_some())
        .collect();
    ImageDiff {
        old: side(old, old_ref),
        new: side(new, new_ref),
        fields,
        files: file_changes(&old.fs.nodes, &new.fs.nodes),
    }
}

fn state(n: &Node) -> FileState {
    FileState {
        kind: match n.kind {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
            Kind::Other => "other",
        },
        size: n.size,
        mode: n.mode,
        uid: n.uid,
        gid: n.gid,
        digest: n.digest,
        target: n.target.clone(),
    }
}

/// Every path added, removed or modified (kind, size, mode, owner, content digest or
/// link target), sorted by path. Both maps are sorted, so one merge pass does it.
fn file_changes(o: &BTreeMap<String, Node>, n: &BTreeMap<String, Node>) -> Vec<FileChange> {
    let mut out = Vec::new();
    let mut old = o.iter().peekable();
    let mut new = n.iter().peekable();
    loop {
        match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some((op, on)), Some((np, nn))) if op == np => {
                let (a, b) = (state(on), state(nn));
                if a != b {
                    out.push(FileChange::Modified {
                        path: (*op).clone(),
                        old: a,
                        new: b,
                    });
                }
                old.next();
                new.next();
            }
            (Some((op, on)), Some((np, _))) if op < np => {
                out.push(FileChange::Removed {
                    path: (*op).clone(),
                    old: state(on),
                });
                old.next();
            }
            (Some((op, on)), None) => {
                out.push(FileChange::Removed {
                    path: (*op).clone(),
                    old: state(on),
                });
                old.next();
            }
            (_, Some((np, nn))) => {
                out.push(FileChange::Added {
                    path: (*np).clone(),
                    new: state(nn),
                });
                new.next();
            }
        }
    }
    out
}
