//! The `changes` of a `diff` or `check` report: for every component of either
//! manifest, what differs between BASE and NEW, whether or not a rule fired
//! (`model/changes.rs` has the shapes). Rules judge; this lists. Equality follows the
//! rules' notion of an artifact's identity: outputs by content digest, images by
//! content identity, so a rebuild that produced the same bytes is `unchanged` here too.
//!
//! Linear in the size of both manifests: files are matched through sorted maps, never
//! by searching a list per file.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::changes::{
    Change, ComponentChanges, Counts, DockerfileChanges, FieldChange, FileChange, FileSide,
    ImageChanges, InputChanges, LabelChange, LayerChange, LayerSide, NixChanges, OutPathChange,
    OutputChange, OutputSide, Pair, Status,
};
use crate::model::dockerfile::{DockerfileRecord, Field, shortened};
use crate::model::image::{ImageRecord, StartupField};
use crate::model::manifest::{ComponentRecord, FileRecord, Manifest, OutputRecord};
use crate::model::nix::NixRecord;

/// Every component of BASE and NEW, in name order.
#[must_use]
pub fn between(base: &Manifest, new: &Manifest) -> Vec<ComponentChanges> {
    let names: BTreeSet<&String> = base
        .components
        .keys()
        .chain(new.components.keys())
        .collect();
    names
        .into_iter()
        .map(|name| component(name, base.components.get(name), new.components.get(name)))
        .collect()
}

fn component(
    name: &str,
    old: Option<&ComponentRecord>,
    new: Option<&ComponentRecord>,
) -> ComponentChanges {
    let inputs = Some(inputs(old, new));
    let outputs = outputs(
        old.map_or(&[][..], |c| &c.outputs),
        new.map_or(&[][..], |c| &c.outputs),
    );
    let image = match (
        old.and_then(|c| c.image.as_ref()),
        new.and_then(|c| c.image.as_ref()),
    ) {
        (None, None) => None,
        (o, n) => Some(image(o, n)),
    };
    let dockerfile = match (
        old.and_then(|c| c.dockerfile.as_ref()),
        new.and_then(|c| c.dockerfile.as_ref()),
    ) {
        (None, None) => None,
        (o, n) => Some(dockerfile(o, n)),
    };
    let nix = match (
        old.and_then(|c| c.nix.as_ref()),
        new.and_then(|c| c.nix.as_ref()),
    ) {
        (None, None) => None,
        (o, n) => Some(nix(o, n)),
    };
    let status = match (old, new) {
        (None, _) => Status::Added,
        (_, None) => Status::Removed,
        (Some(o), Some(n)) if o == n => Status::Unchanged,
        _ => {
            let any = inputs.as_ref().is_some_and(|i| i.digest.changed())
                || outputs.iter().any(|o| o.change != Change::Unchanged)
                || image.as_ref().is_some_and(|i| {
                    i.change != Change::Unchanged
                        || i.manifest_digest.changed()
                        || i.labels.iter().any(|l| l.change != Change::Unchanged)
                })
                || dockerfile
                    .as_ref()
                    .is_some_and(|d| d.change != Change::Unchanged)
                || nix.as_ref().is_some_and(|n| n.change != Change::Unchanged);
            if any {
                Status::Changed
            } else {
                Status::Unchanged
            }
        }
    };
    if status == Status::Unchanged {
        // Nothing to list: the name and the word say it all, also for 100,000 of them.
        return ComponentChanges {
            component: name.to_owned(),
            status,
            inputs: None,
            outputs: Vec::new(),
            image: None,
            dockerfile: None,
            nix: None,
        };
    }
    ComponentChanges {
        component: name.to_owned(),
        status,
        inputs,
        outputs,
        image,
        dockerfile,
        nix,
    }
}

fn inputs(old: Option<&ComponentRecord>, new: Option<&ComponentRecord>) -> InputChanges {
    let (files, counts) = files(
        old.map_or(&[][..], |c| &c.inputs.files),
        new.map_or(&[][..], |c| &c.inputs.files),
    );
    InputChanges {
        digest: Pair {
            old: old.map(|c| c.inputs.digest),
            new: new.map(|c| c.inputs.digest),
        },
        counts,
        files,
    }
}

/// The files that differ between two record lists, in path order, with counts.
pub(crate) fn files(old: &[FileRecord], new: &[FileRecord]) -> (Vec<FileChange>, Counts) {
    let side = |r: &FileRecord| FileSide {
        kind: r.kind,
        size: r.size,
        digest: r.digest,
    };
    let mut counts = Counts::default();
    let mut changes = Vec::new();
    // Two sorted lists merged: a million records each cost two vectors of
    // references, not maps and a set of every path.
    for (o, n) in super::artifacts::pair_by_path(old, new) {
        let path = o.or(n).map_or("", |r| r.path.as_str());
        let change = Change::of(o, n);
        match change {
            Change::Added => counts.added += 1,
            Change::Removed => counts.removed += 1,
            Change::Modified => counts.modified += 1,
            Change::Unchanged => {
                counts.unchanged += 1;
                continue;
            }
        }
        changes.push(FileChange {
            path: path.to_owned(),
            change,
            old: o.map(side),
            new: n.map(side),
        });
    }
    (changes, counts)
}

fn outputs(old: &[OutputRecord], new: &[OutputRecord]) -> Vec<OutputChange> {
    let side = |o: &OutputRecord| OutputSide {
        kind: o.kind,
        digest: o.digest,
        size: o.size,
        store_path: o.store_path.clone(),
    };
    let old: BTreeMap<&str, &OutputRecord> = old.iter().map(|o| (o.path.as_str(), o)).collect();
    let new: BTreeMap<&str, &OutputRecord> = new.iter().map(|o| (o.path.as_str(), o)).collect();
    let paths: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    paths
        .into_iter()
        .map(|path| {
            let (o, n) = (old.get(path).copied(), new.get(path).copied());
            let change = Change::of(o.map(|o| &o.digest), n.map(|n| &n.digest));
            let (files, counts) = files(
                o.map_or(&[][..], |o| &o.files),
                n.map_or(&[][..], |n| &n.files),
            );
            OutputChange {
                path: path.to_owned(),
                change,
                old: o.map(side),
                new: n.map(side),
                files,
                counts,
            }
        })
        .collect()
}

fn image(old: Option<&ImageRecord>, new: Option<&ImageRecord>) -> ImageChanges {
    let pair = |f: fn(&ImageRecord) -> Option<crate::digest::Digest>| Pair {
        old: old.and_then(f),
        new: new.and_then(f),
    };
    let identity = pair(|i| Some(i.identity()));
    let startup = StartupField::ALL
        .into_iter()
        .filter_map(|field| {
            let o = old.and_then(|i| i.startup.value(field));
            let n = new.and_then(|i| i.startup.value(field));
            (o.is_some() || n.is_some()).then(|| FieldChange {
                field: field.key().to_owned(),
                change: Change::of(o.as_ref(), n.as_ref()),
                old: o,
                new: n,
                old_line: None,
                new_line: None,
            })
        })
        .collect();
    let empty = BTreeMap::new();
    let (ol, nl) = (
        old.map_or(&empty, |i| &i.labels),
        new.map_or(&empty, |i| &i.labels),
    );
    let labels = ol
        .keys()
        .chain(nl.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|label| LabelChange {
            label: label.clone(),
            change: Change::of(ol.get(label), nl.get(label)),
            old: ol.get(label).cloned(),
            new: nl.get(label).cloned(),
        })
        .collect();
    let layer = |i: Option<&ImageRecord>, at: usize| {
        i.and_then(|i| i.layers.get(at)).map(|l| LayerSide {
            diff_id: l.diff_id,
            digest: l.digest,
            size: l.size,
        })
    };
    let depth = old
        .map_or(0, |i| i.layers.len())
        .max(new.map_or(0, |i| i.layers.len()));
    let layers = (0..depth)
        .map(|at| {
            let (o, n) = (layer(old, at), layer(new, at));
            LayerChange {
                change: Change::of(
                    o.as_ref().map(|l| &l.diff_id),
                    n.as_ref().map(|l| &l.diff_id),
                ),
                old: o,
                new: n,
            }
        })
        .collect();
    ImageChanges {
        change: Change::of(identity.old.as_ref(), identity.new.as_ref()),
        manifest_digest: pair(|i| Some(i.manifest_digest)),
        identity,
        config_digest: pair(|i| i.config_digest),
        startup,
        labels,
        layers,
        problems: Pair {
            old: old.map(|i| i.problems.len()),
            new: new.map(|i| i.problems.len()),
        },
    }
}

fn dockerfile(old: Option<&DockerfileRecord>, new: Option<&DockerfileRecord>) -> DockerfileChanges {
    let value = |f: Option<&Field>| f.map(|f| Value::from(shortened(&f.value).into_owned()));
    let mut startup = Vec::new();
    let mut push = |name: String, o: Option<&Field>, n: Option<&Field>| {
        if o.is_none() && n.is_none() {
            return;
        }
        let (ov, nv) = (value(o), value(n));
        startup.push(FieldChange {
            field: name,
            change: Change::of(ov.as_ref(), nv.as_ref()),
            old: ov,
            new: nv,
            old_line: o.map(|f| f.line),
            new_line: n.map(|f| f.line),
        });
    };
    for field in StartupField::STARTUP {
        push(
            field.instruction().to_owned(),
            old.and_then(|d| d.startup.field(field)),
            new.and_then(|d| d.startup.field(field)),
        );
    }
    let empty = BTreeMap::new();
    let (oe, ne) = (
        old.map_or(&empty, |d| &d.startup.env),
        new.map_or(&empty, |d| &d.startup.env),
    );
    for name in oe.keys().chain(ne.keys()).collect::<BTreeSet<_>>() {
        push(format!("ENV {name}"), oe.get(name), ne.get(name));
    }
    let joined = |fields: Option<&Vec<Field>>| -> Option<Field> {
        let fields = fields.filter(|f| !f.is_empty())?;
        Some(Field {
            value: fields
                .iter()
                .map(|f| f.value.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            line: fields[0].line,
        })
    };
    let (oports, nports) = (
        joined(old.map(|d| &d.startup.expose)),
        joined(new.map(|d| &d.startup.expose)),
    );
    push("EXPOSE".to_owned(), oports.as_ref(), nports.as_ref());
    let (ovol, nvol) = (
        joined(old.map(|d| &d.startup.volumes)),
        joined(new.map(|d| &d.startup.volumes)),
    );
    push("VOLUME".to_owned(), ovol.as_ref(), nvol.as_ref());

    let path = Pair {
        old: old.map(|d| d.path.clone()),
        new: new.map(|d| d.path.clone()),
    };
    let base = Pair {
        old: old.map(|d| d.stage.base.clone()),
        new: new.map(|d| d.stage.base.clone()),
    };
    let change = match (old, new) {
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
        _ if base.changed() || startup.iter().any(|f| f.change != Change::Unchanged) => {
            Change::Modified
        }
        _ => Change::Unchanged,
    };
    DockerfileChanges {
        change,
        path,
        base,
        startup,
    }
}

fn nix(old: Option<&NixRecord>, new: Option<&NixRecord>) -> NixChanges {
    let derivation = Pair {
        old: old.and_then(|n| n.derivation.clone()),
        new: new.and_then(|n| n.derivation.clone()),
    };
    let empty = BTreeMap::new();
    let (oo, no) = (
        old.map_or(&empty, |n| &n.out_paths),
        new.map_or(&empty, |n| &n.out_paths),
    );
    let out_paths: Vec<OutPathChange> = oo
        .keys()
        .chain(no.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|output| OutPathChange {
            output: output.clone(),
            change: Change::of(oo.get(output), no.get(output)),
            old: oo.get(output).cloned(),
            new: no.get(output).cloned(),
        })
        .collect();
    let change = match (old, new) {
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
        _ if derivation.changed() || out_paths.iter().any(|o| o.change != Change::Unchanged) => {
            Change::Modified
        }
        _ => Change::Unchanged,
    };
    NixChanges {
        change,
        derivation,
        out_paths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::model::manifest::{FileKind, InputsRecord};

    fn file(path: &str, content: &str) -> FileRecord {
        FileRecord {
            path: path.into(),
            kind: FileKind::File,
            size: content.len() as u64,
            digest: Digest::of(content.as_bytes()),
        }
    }

    fn component(files: Vec<FileRecord>, output: &str) -> ComponentRecord {
        ComponentRecord {
            inputs: InputsRecord {
                digest: Digest::of(format!("{files:?}").as_bytes()),
                files,
                unmatched: Vec::new(),
            },
            outputs: vec![OutputRecord {
                path: "out".into(),
                kind: FileKind::File,
                digest: Digest::of(output.as_bytes()),
                size: output.len() as u64,
                nar_hash: None,
                store_path: None,
                files: Vec::new(),
            }],
            image: None,
            dockerfile: None,
            nix: None,
            deploy: None,
        }
    }

    #[test]
    fn lists_changed_unchanged_added_and_removed_components() {
        let mut base = Manifest::new();
        let mut new = Manifest::new();
        let same = component(vec![file("s/a", "1")], "x");
        base.components.insert("same".into(), same.clone());
        new.components.insert("same".into(), same);
        base.components.insert(
            "fixed".into(),
            component(vec![file("f/a", "1"), file("f/b", "2")], "old"),
        );
        new.components.insert(
            "fixed".into(),
            component(
                vec![file("f/a", "1"), file("f/b", "3"), file("f/c", "4")],
                "new",
            ),
        );
        base.components
            .insert("gone".into(), component(vec![file("g", "1")], "g"));
        new.components
            .insert("born".into(), component(vec![file("b", "1")], "b"));
        let changes = between(&base, &new);
        let status: Vec<(&str, Status)> = changes
            .iter()
            .map(|c| (c.component.as_str(), c.status))
            .collect();
        assert_eq!(
            status,
            [
                ("born", Status::Added),
                ("fixed", Status::Changed),
                ("gone", Status::Removed),
                ("same", Status::Unchanged),
            ]
        );
        let fixed = &changes[1];
        let inputs = fixed.inputs.as_ref().unwrap();
        assert_eq!(
            inputs.counts,
            Counts {
                added: 1,
                removed: 0,
                modified: 1,
                unchanged: 1
            }
        );
        let paths: Vec<(&str, Change)> = inputs
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.change))
            .collect();
        assert_eq!(paths, [("f/b", Change::Modified), ("f/c", Change::Added)]);
        assert_eq!(fixed.outputs[0].change, Change::Modified);
        assert!(changes[3].inputs.is_none());
    }
}
