//! Taking a snapshot: every component of a validated config hashed into a
//! [`Manifest`]. Inputs, outputs, image, Dockerfile and Nix installable are each
//! recorded by the module that owns them; this module only sequences them and names
//! the component in any error.

use std::path::PathBuf;

use crate::config::{Component, Config};
use crate::image::Sources;
use crate::model::manifest::{ComponentRecord, Manifest};
use crate::tree;

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

/// Hashes every component of `config`; images that are not files are reached
/// through `sources`.
pub fn take(config: &Config, sources: &Sources) -> Result<Manifest, Box<SnapshotError>> {
    let mut manifest = Manifest::new();
    for component in &config.components {
        let record = component_record(config, component, sources).map_err(|source| {
            Box::new(SnapshotError {
                name: component.name.clone(),
                config: config.path.clone(),
                line: component.line,
                source,
            })
        })?;
        manifest.components.insert(component.name.clone(), record);
    }
    Ok(manifest)
}

fn component_record(
    config: &Config,
    c: &Component,
    sources: &Sources,
) -> Result<ComponentRecord, ComponentError> {
    let selection = tree::select(&config.root, &c.inputs, &c.exclude)?;
    if selection.files.is_empty() {
        return Err(ComponentError::NoInputs {
            patterns: c.inputs.join(", "),
            root: config.root.clone(),
        });
    }
    let inputs = tree::hash_inputs(&config.root, &selection)?;
    let mut outputs = c
        .outputs
        .iter()
        .map(|o| tree::hash_output(&config.resolve(o), o))
        .collect::<Result<Vec<_>, _>>()?;
    // Sorted, so reordering `outputs` in the config changes nothing in the manifest.
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
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
