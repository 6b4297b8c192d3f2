//! `docs/architecture.md` draws the crate's layers; this keeps the picture true.
//! Every `crate::NAME` a module's files mention must be a module in the same layer
//! or a lower one: no import runs upward.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level modules of the library, from the files and directories of `src/`.
fn modules(src: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(src)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if e.path().is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".rs")
                    .filter(|n| !matches!(*n, "lib" | "main"))
                    .map(str::to_owned)
            }
        })
        .collect();
    names.sort();
    names
}

/// Module name to layer number, from the picture's code block: a line starting
/// with a number opens a layer; its names (and those of the lines below it) are the
/// leading words that name modules.
fn layers(doc: &str, known: &[String]) -> BTreeMap<String, u32> {
    let block = doc
        .split("```")
        .nth(1)
        .expect("architecture.md has a code block");
    let mut layer = 0;
    let mut out = BTreeMap::new();
    for line in block.lines() {
        let mut words = line.split_whitespace().peekable();
        if let Some(n) = words.peek().and_then(|w| w.parse::<u32>().ok()) {
            layer = n;
            words.next();
        }
        for w in words {
            if w == "→" {
                continue;
            }
            let name = w.trim_end_matches('/').trim_end_matches(".rs");
            if !known.iter().any(|k| k == name) {
                break;
            }
            out.insert(name.to_owned(), layer);
        }
    }
    out
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            rust_files(&e.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|x| x == "rs") {
        out.push(path.to_owned());
    }
}

#[test]
fn no_import_runs_up_a_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let known = modules(&src);
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let layer = layers(&doc, &known);
    let unplaced: Vec<&String> = known.iter().filter(|m| !layer.contains_key(*m)).collect();
    assert!(
        unplaced.is_empty(),
        "docs/architecture.md places no layer for {unplaced:?}"
    );
    let mut upward = Vec::new();
    for module in &known {
        let mut files = Vec::new();
        let dir = src.join(module);
        let top = if dir.is_dir() {
            dir
        } else {
            src.join(format!("{module}.rs"))
        };
        rust_files(&top, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for used in line.split("crate::").skip(1) {
                    let name: String = used
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let (Some(&from), Some(&to)) = (layer.get(module), layer.get(&name)) else {
                        continue;
                    };
                    if to > from {
                        upward.push(format!(
                            "{}:{}: `{module}` (layer {from}) uses `{name}` (layer {to})",
                            file.strip_prefix(root).unwrap().display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run upward:\n{}",
        upward.join("\n")
    );
}
