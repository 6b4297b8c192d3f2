//! Taking a snapshot: every component of a validated config hashed into a
//! [`Manifest`]. Inputs, outputs, image, Dockerfile and Nix installable are each
//! recorded by the module that owns them; this module only sequences them and names
//! the component in any error.

use anyhow::Context as _;

use crate::config::{Component, Config};
use crate::model::manifest::{ComponentRecord, Manifest};
use crate::tree;

/// Hashes every component of `config`.
pub fn take(config: &Config) -> anyhow::Result<Manifest> {
    let mut manifest = Manifest::new();
    for component in &config.components {
        let record = component_record(config, component).with_context(|| {
            format!(
                "component `{}` ({}:{})",
                component.name,
                config.path.display(),
                component.line
            )
        })?;
        manifest.components.insert(component.name.clone(), record);
    }
    Ok(manifest)
}

fn component_record(config: &Config, c: &Component) -> anyhow::Result<ComponentRecord> {
    let selection = tree::select(&config.root, &c.inputs, &c.exclude)?;
    if selection.files.is_empty() {
        anyhow::bail!(
            "its inputs ({}) match no file under `{}` (files that .gitignore ignores are not inputs); check the patterns, or run buildproof from a full checkout",
            c.inputs.join(", "),
            config.root.display()
        );
    }
    let inputs = tree::hash_inputs(&config.root, &selection)?;
    let mut outputs = c
        .outputs
        .iter()
        .map(|o| tree::hash_output(&config.resolve(o), o))
        .collect::<Result<Vec<_>, _>>()?;
    // Sorted, so reordering `outputs` in the config changes nothing in the manifest.
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    let image = c
        .image
        .as_deref()
        .map(|reference| crate::image::record(&config.root, reference))
        .transpose()?;
    let dockerfile = c
        .dockerfile
        .as_deref()
        .map(|path| crate::dockerfile::record(&config.root, path, &inputs.files))
        .transpose()?;
    // Also without a `nix` key: store-path outputs are checked against the store DB.
    let nix = crate::nix::record(&config.root, c.nix.as_ref(), &outputs, &inputs.files)?;
    Ok(ComponentRecord {
        inputs,
        outputs,
        image,
        dockerfile,
        nix,
        deploy: c.deploy.clone(),
    })
}
