//! `buildproof merge A.json B.json … [-o FILE]`: the manifests of snapshot shards
//! (`snapshot --shard I/N`, `--component NAME`) joined into the one manifest a single
//! snapshot would have written. Components must not conflict: one that two shards
//! both recorded must have identical records there, and everything but `components`
//! and `created` must agree (the same buildproof, the same provenance); otherwise
//! exit 2 naming both files. `created` is the latest of the shards'.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::MergeArgs;
use crate::model::manifest::Manifest;

pub(super) fn run(args: &MergeArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let outputs = super::output_files_of(args.output.as_deref());
    let reads: Vec<(&str, &Path)> = args
        .manifests
        .iter()
        .map(|p| ("a shard", p.as_path()))
        .collect();
    super::guard_outputs(&outputs, &reads)?;
    let mut merged = Manifest::new();
    let mut header = serde_json::Value::Null;
    let mut first_file: &Path = Path::new("");
    // Which file each component came from, to name both sides of a conflict.
    let mut origin: BTreeMap<String, &Path> = BTreeMap::new();
    for (i, path) in args.manifests.iter().enumerate() {
        let mut next = crate::load::manifest(path)?;
        let components = std::mem::take(&mut next.components);
        let next_header = header_of(&next)?;
        if i == 0 {
            first_file = path;
            header = next_header;
            merged = next;
        } else {
            if header != next_header {
                anyhow::bail!(
                    "`{}` and `{}` differ in `{}`: shards to merge must be snapshots of one build by one buildproof",
                    first_file.display(),
                    path.display(),
                    differing_key(&header, &next_header)
                );
            }
            if next.created > merged.created {
                merged.created = next.created;
            }
        }
        for (name, record) in components {
            match merged.components.get(&name) {
                Some(existing) if *existing == record => {}
                Some(_) => anyhow::bail!(
                    "component `{name}` is in `{}` and in `{}` with different records: the shards were not taken from the same tree (or overlap by mistake)",
                    origin.get(&name).copied().unwrap_or(first_file).display(),
                    path.display()
                ),
                None => {
                    origin.insert(name.clone(), path);
                    merged.components.insert(name, record);
                }
            }
        }
    }
    let output = args.output.as_deref().filter(|p| p.as_os_str() != "-");
    super::emit_manifest(output, &merged, io)?;
    Ok(0)
}

/// Everything of a manifest (components already taken out) that shards must share:
/// all but `created`.
fn header_of(m: &Manifest) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(m)?;
    if let Some(map) = v.as_object_mut() {
        map.remove("created");
        map.remove("components");
    }
    Ok(v)
}

fn differing_key(a: &serde_json::Value, b: &serde_json::Value) -> String {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return "schema".to_owned();
    };
    a.keys()
        .chain(b.keys())
        .find(|k| a.get(*k) != b.get(*k))
        .cloned()
        .unwrap_or_else(|| "schema".to_owned())
}
