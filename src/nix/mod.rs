//! Nix: evaluating a component's `nix` installable, store paths and their database
//! records, and which declared inputs can reach the derivation at all.
//!
//! - [`cli`] calls the nix CLI (evaluation, `nix path-info --json`);
//! - [`derivation`] parses the `.drv` file the evaluation produced;
//! - this module puts the facts into a [`NixRecord`]; the judging is in
//!   `rules/nix.rs` (`output-not-current`, `store-mismatch`, `input-excluded`), so a
//!   `diff` of two manifests reaches the same verdicts as the `check` that wrote them.
//!
//! Input coverage: a declared input file reaches the build only through a source of
//! the derivation, that is an `inputSrcs` path (what `builtins.path`, `filterSource`,
//! `cleanSourceWith` or a plain `./dir` copy into the store at evaluation time), or a
//! store path named by its `src`/`srcs` attribute. An input `a/b/c.go` is present in a
//! source directory `S` when `S/a/b/c.go`, `S/b/c.go` or `S/c.go` exists with the same
//! content (a source is a copy of some directory of the checkout, so the file sits at
//! a suffix of its path), or when `S` is itself a file of that name and content.
//! `*.nix` files and `flake.lock` are exempt: they reach the build by evaluation.
//!
//! Inside a build sandbox (`lib.mkCheck` in `nix flake check`) there is no nix CLI and
//! no daemon to evaluate with, but the derivation closure of every package handed to
//! the check is there: the check names each component's `.drv` (`--nix-drv
//! NAME=DRV`), and that file is read instead of evaluating the `nix` key, so the same
//! config judges the same rules inside the sandbox and out.

pub mod cli;
pub mod derivation;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::manifest::{FileKind, FileRecord, OutputRecord};
use crate::model::nix::{NixRecord, NixSpec, StorePathRecord};

/// Why the Nix side of a component could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum NixError {
    #[error("cannot evaluate `{installable}`: {message}")]
    Eval {
        installable: String,
        message: String,
    },
    #[error(
        "the `nix` key needs `{tool}`, which is not on PATH; install Nix, remove the key, or give the component's derivation with `--nix-drv NAME=DRV` (in `lib.mkCheck`: `packages.NAME = …`)"
    )]
    NotInstalled { tool: &'static str },
    #[error("cannot run `{tool}`")]
    Spawn {
        tool: String,
        source: std::io::Error,
    },
    #[error("cannot read derivation `{path}`")]
    Derivation {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the store record of `{path}`: {message}")]
    PathInfo { path: String, message: String },
    #[error(transparent)]
    Nar(#[from] crate::nar::NarError),
    #[error(transparent)]
    Tree(#[from] crate::tree::TreeError),
}

/// Records the Nix side of a component: evaluates `spec` (when given) to its
/// derivation, or takes `drv` (a store derivation named on the command line) without
/// evaluating anything; records its out paths and sources, checks `inputs` against
/// those sources, and records every output that is a store path with its database
/// NAR hash. `None` when there is no `spec`, no `drv` and no store-path output.
pub fn record(
    root: &Path,
    spec: Option<&NixSpec>,
    drv: Option<&str>,
    outputs: &[OutputRecord],
    inputs: &[FileRecord],
) -> Result<Option<NixRecord>, NixError> {
    let has_store_output = outputs.iter().any(|o| o.store_path.is_some());
    if spec.is_none() && drv.is_none() && !has_store_output {
        return Ok(None);
    }
    let mut record = NixRecord {
        installable: spec.cloned(),
        derivation: None,
        out_paths: BTreeMap::new(),
        sources: Vec::new(),
        store_paths: Vec::new(),
        excluded_inputs: Vec::new(),
    };
    let drv_path = match (drv, spec) {
        (Some(given), _) => Some(given.to_owned()),
        (None, Some(spec)) => Some(evaluate(root, spec)?),
        (None, None) => None,
    };
    if let Some(drv_path) = drv_path {
        let text = std::fs::read(&drv_path).map_err(|source| NixError::Derivation {
            path: drv_path.clone(),
            source,
        })?;
        let drv = derivation::parse(&text).map_err(|source| NixError::Derivation {
            path: drv_path.clone(),
            source,
        })?;
        record.sources = sources_of(&drv);
        record.excluded_inputs = excluded(inputs, &record.sources)?;
        // A floating content-addressed output has no path until it is built.
        record.out_paths = drv
            .outputs
            .into_iter()
            .filter(|(_, path)| !path.is_empty())
            .collect();
        record.derivation = Some(drv_path);
    }
    let nix_installed = has_store_output && cli::available("nix");
    for o in outputs {
        let Some(store_path) = &o.store_path else {
            continue;
        };
        // A directory's NAR hash is already known; a single-file store path was
        // hashed by content, so its NAR is computed here (cheap: one file).
        let (nar_hash, nar_size) = match &o.nar_hash {
            Some(h) => (h.clone(), o.size),
            None => {
                let nar = crate::nar::hash_path(Path::new(store_path))?;
                (nar.digest.sri(), nar.size)
            }
        };
        // A store that cannot be asked (no daemon in a `nix flake check` sandbox, a
        // user outside `nix-users`) leaves `store-mismatch` unjudged, with why; the
        // rest of the snapshot is still worth having.
        let (db_nar_hash, db_unavailable) = if nix_installed {
            match cli::path_info(store_path) {
                Ok(info) => (info.map(|i| i.nar_hash), None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, None)
        };
        record.store_paths.push(StorePathRecord {
            output: o.path.clone(),
            store_path: store_path.clone(),
            nar_hash,
            nar_size,
            db_nar_hash,
            db_unavailable,
        });
    }
    Ok(Some(record))
}

fn evaluate(root: &Path, spec: &NixSpec) -> Result<String, NixError> {
    match spec {
        NixSpec::File { file, attr } => {
            if !cli::available("nix-instantiate") {
                return Err(NixError::NotInstalled {
                    tool: "nix-instantiate",
                });
            }
            cli::instantiate_file(root, file, attr)
        }
        NixSpec::Installable(installable) => {
            if !cli::available("nix") {
                return Err(NixError::NotInstalled { tool: "nix" });
            }
            cli::instantiate_flake(root, installable)
        }
    }
}

/// `inputSrcs`, plus the `src`/`srcs` attributes' store paths (a source produced by
/// another derivation, such as a fetcher), sorted and deduplicated.
fn sources_of(drv: &derivation::Derivation) -> Vec<String> {
    let mut sources: Vec<String> = drv.input_srcs.clone();
    for key in ["src", "srcs"] {
        if let Some(value) = drv.env.get(key) {
            for word in value.split_whitespace() {
                if word.starts_with("/nix/store/") && Path::new(word).exists() {
                    sources.push(word.to_owned());
                }
            }
        }
    }
    sources.sort();
    sources.dedup();
    sources
}

/// The input files present in no source. Nothing is judged when no source exists on
/// this machine (a derivation without sources, or sources not in the local store).
fn excluded(inputs: &[FileRecord], sources: &[String]) -> Result<Vec<String>, NixError> {
    let present: Vec<PathBuf> = sources
        .iter()
        .map(PathBuf::from)
        .filter(|s| std::fs::symlink_metadata(s).is_ok())
        .collect();
    if present.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for input in inputs {
        if input.kind == FileKind::Directory || evaluation_input(&input.path) {
            continue;
        }
        let mut found = false;
        for source in &present {
            if in_source(input, source)? {
                found = true;
                break;
            }
        }
        if !found {
            out.push(input.path.clone());
        }
    }
    Ok(out)
}

/// Nix expressions and lock files reach the build through evaluation (they shape
/// the derivation itself), not as sources, so they are never "excluded".
fn evaluation_input(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with(".nix") || name == "flake.lock"
}

fn in_source(input: &FileRecord, source: &Path) -> Result<bool, NixError> {
    let same = |candidate: &Path| -> Result<bool, NixError> {
        match std::fs::symlink_metadata(candidate) {
            // Size first: most candidates at a wrong suffix differ in it, unhashed.
            Ok(m) if !m.is_dir() && m.len() == input.size => {
                let rec = crate::tree::hash_file(candidate, b"")?;
                Ok(rec.digest == input.digest && rec.size == input.size)
            }
            _ => Ok(false),
        }
    };
    let parts: Vec<&str> = input.path.split('/').collect();
    if source.is_dir() {
        for start in 0..parts.len() {
            let mut candidate = source.to_path_buf();
            candidate.extend(&parts[start..]);
            if same(&candidate)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    // A single-file source: `<hash>-<name>` with the input's name and content.
    let base = parts.last().copied().unwrap_or_default();
    let named = source
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('-'))
        .is_some_and(|(_, name)| name == base);
    if named { same(source) } else { Ok(false) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn rec(path: &str, content: &[u8]) -> FileRecord {
        FileRecord {
            path: path.to_owned(),
            kind: FileKind::File,
            size: content.len() as u64,
            digest: Digest::of(content),
        }
    }

    #[test]
    fn inputs_found_at_a_suffix_of_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("aaaa-src");
        std::fs::create_dir_all(src.join("cmd")).unwrap();
        std::fs::write(src.join("cmd/main.go"), b"v2").unwrap();
        std::fs::write(dir.path().join("bbbb-go.mod"), b"module x").unwrap();
        let sources = vec![
            src.display().to_string(),
            dir.path().join("bbbb-go.mod").display().to_string(),
            "/nonexistent/cccc-gone".to_owned(),
        ];
        let inputs = [
            rec("goinstance/cmd/main.go", b"v2"),
            rec("goinstance/cmd/util.go", b"x"),
            rec("go.mod", b"module x"),
            // Same name, other content: the source holds another version, not this one.
            rec("other/cmd/main.go", b"v1"),
            // Evaluation inputs are never sources.
            rec("default.nix", b"{ }"),
            rec("flake.lock", b"{}"),
        ];
        assert_eq!(
            excluded(&inputs, &sources).unwrap(),
            ["goinstance/cmd/util.go", "other/cmd/main.go"]
        );
        assert!(
            excluded(&inputs, &["/nonexistent/x".to_owned()])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn database_hash_spellings() {
        let d = Digest::of(b"nar");
        let mut r = StorePathRecord {
            output: "result".into(),
            store_path: "/nix/store/x-y".into(),
            nar_hash: d.sri(),
            nar_size: 3,
            db_nar_hash: Some(d.sri()),
            db_unavailable: None,
        };
        assert!(!r.mismatched());
        r.db_nar_hash = Some(format!("sha256:{}", d.nix_base32()));
        assert!(!r.mismatched());
        r.db_nar_hash = Some(Digest::of(b"other").sri());
        assert!(r.mismatched());
        r.db_nar_hash = None;
        assert!(!r.mismatched());
    }
}
