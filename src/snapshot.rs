//! Taking a snapshot: every component of a validated config hashed into a
//! [`Manifest`]. Inputs, outputs, image, Dockerfile and Nix installable are each
//! recorded by the module that owns them; this module only sequences them and names
//! the component in any error.

use std::path::PathBuf;

use crate::config::{Component, Config};
use crate::image::Sources;
use crate::model::manifest::{ComponentRecord, InputsRecord, Manifest};
use crate::progress::Progress;
use crate::tree::{self, HashStats, Patterns, StatCache};

/// A component that could not be recorded, named with its place in the config.
#[derive(Debug, thiserror::Error)]
#[error("component `{name}` ({}:{line})", .config.display())]
pub struct SnapshotError {
    pub name: String,
    pub config: PathBuf,
    pub line: u32,
    pub source: ComponentError,
}

/// Why one component could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    #[error(
        "its inputs ({patterns}) match no file under `{}` (files that .gitignore ignores are not inputs); check the patterns, or run buildproof from a full checkout",
        .root.display()
    )]
    NoInputs { patterns: String, root: PathBuf },
    #[error(transparent)]
    Tree(#[from] crate::tree::TreeError),
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    Dockerfile(#[from] crate::dockerfile::DockerfileError),
    #[error(transparent)]
    Nix(#[from] crate::nix::NixError),
}

/// How to take a snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The stat cache to read and update, if any.
    pub cache: Option<&'a StatCache>,
    /// Counters for a progress bar.
    pub progress: &'a Progress,
    /// How images that are not files are reached (registries, engines).
    pub sources: &'a Sources,
}

/// What a snapshot read, for `--stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Input files: how many, how many the stat cache vouched for, bytes read.
    pub inputs: HashStats,
    /// Declared outputs hashed.
    pub outputs: u64,
    /// Their bytes (a file's size, a directory's NAR size).
    pub output_bytes: u64,
}

/// A snapshot and how it was taken.
#[derive(Debug)]
pub struct Taken {
    pub manifest: Manifest,
    pub stats: Stats,
    /// Things the user should know that did not stop the run (a damaged cache).
    pub notes: Vec<String>,
}

/// Hashes every component of `config`: the inputs of all components in one walk
/// and one parallel pass (a file several components share is hashed once), then
/// each component's outputs, image, Dockerfile and Nix installable.
pub fn take(config: &Config, options: Options<'_>) -> Result<Taken, Box<SnapshotError>> {
    let fail = |c: &Component, source: ComponentError| {
        Box::new(SnapshotError {
            name: c.name.clone(),
            config: config.path.clone(),
            line: c.line,
            source,
        })
    };
    let Some(first) = config.components.first() else {
        return Ok(Taken {
            manifest: Manifest::new(),
            stats: Stats::default(),
            notes: Vec::new(),
        });
    };
    let progress = options.progress;
    let mut notes = Vec::new();
    // The file-system time before any input is stated: what changes from now on is
    // never taken from or written to the cache as unchanged.
    let cache = options.cache.and_then(|c| match c.now() {
        Ok(since) => Some((c, since)),
        Err(e) => {
            notes.push(format!(
                "cannot use the stat cache in `{}` ({e}); every input is hashed",
                c.path().parent().unwrap_or(c.path()).display()
            ));
            None
        }
    });
    progress.phase("selecting inputs", 0, 0);
    let patterns: Vec<Patterns<'_>> = config
        .components
        .iter()
        .map(|c| Patterns {
            include: &c.inputs,
            exclude: &c.exclude,
        })
        .collect();
    // Errors about the tree, not one component, are named with the first.
    // Without a cache to compare them with, regular files are stated when opened.
    let stating = match cache {
        Some((c, _)) if c.exists() => tree::Stating::Every,
        _ => tree::Stating::Links,
    };
    let mut selections = tree::select_all(&config.root, &patterns, stating).map_err(|e| {
        let owner = e
            .component
            .and_then(|i| config.components.get(i))
            .unwrap_or(first);
        fail(owner, e.error.into())
    })?;
    for (c, s) in config.components.iter().zip(&selections.components) {
        if s.files.is_empty() {
            return Err(fail(
                c,
                ComponentError::NoInputs {
                    patterns: c.inputs.join(", "),
                    root: config.root.clone(),
                },
            ));
        }
    }
    let stats = std::mem::take(&mut selections.stats);
    let hashed = tree::hash_paths(
        &config.root,
        &selections.paths,
        stats,
        selections.stating,
        cache,
        progress,
    )
    .map_err(|e| {
        // Named with the first component that selects the file.
        let owner = config
            .components
            .iter()
            .zip(&selections.components)
            .find(|(_, s)| s.files.binary_search(&(e.index as u32)).is_ok())
            .map_or(first, |(c, _)| c);
        fail(owner, e.error.into())
    })?;
    notes.extend(hashed.notes);
    let mut inputs: Vec<Option<InputsRecord>> = vec![None; config.components.len()];
    tree::inputs_records(selections, &hashed.hashed, |i, record| {
        inputs[i] = Some(record)
    });
    drop(hashed.hashed);

    let mut stats = Stats {
        inputs: hashed.stats,
        ..Stats::default()
    };
    let mut manifest = Manifest::new();
    for (component, inputs) in config.components.iter().zip(inputs) {
        let inputs = inputs.unwrap_or_else(|| InputsRecord {
            digest: crate::tree::inputs_digest(std::iter::empty()),
            files: Vec::new(),
            unmatched: Vec::new(),
        });
        let record = component_record(config, component, inputs, &options)
            .map_err(|source| fail(component, source))?;
        stats.outputs += record.outputs.len() as u64;
        stats.output_bytes += record.outputs.iter().map(|o| o.size).sum::<u64>();
        manifest.components.insert(component.name.clone(), record);
    }
    Ok(Taken {
        manifest,
        stats,
        notes,
    })
}

fn component_record(
    config: &Config,
    c: &Component,
    inputs: InputsRecord,
    options: &Options<'_>,
) -> Result<ComponentRecord, ComponentError> {
    let (progress, sources) = (options.progress, options.sources);
    if !c.outputs.is_empty() {
        progress.phase(format!("hashing outputs of {}", c.name), 0, 0);
    }
    let mut outputs = c
        .outputs
        .iter()
        .map(|o| tree::hash_output(&config.resolve(o), o, progress))
        .collect::<Result<Vec<_>, _>>()?;
    // Sorted, so reordering `outputs` in the config changes nothing in the manifest.
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    if c.image.is_some() {
        progress.phase(format!("reading the image of {}", c.name), 0, 0);
    }
    // A component's `platform` is what it ships for, whatever machine takes the
    // snapshot: it wins over `--platform`.
    let platform_sources = c
        .platform
        .as_ref()
        .filter(|p| **p != sources.registry.platform)
        .map(|p| sources.for_platform(p));
    let image = c
        .image
        .as_deref()
        .map(|reference| {
            crate::image::record(
                &config.root,
                reference,
                platform_sources.as_ref().unwrap_or(sources),
            )
        })
        .transpose()?;
    let dockerfile = c
        .dockerfile
        .as_deref()
        .map(|path| crate::dockerfile::record(&config.root, path, &inputs.files))
        .transpose()?;
    // Also without a `nix` key: store-path outputs are checked against the store DB.
    let nix = crate::nix::record(
        &config.root,
        c.nix.as_ref(),
        c.nix_drv.as_deref(),
        &outputs,
        &inputs.files,
    )?;
    Ok(ComponentRecord {
        inputs,
        outputs,
        image,
        dockerfile,
        nix,
        deploy: c.deploy.clone(),
    })
}
