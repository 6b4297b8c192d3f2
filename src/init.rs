//! `buildproof init`: a first `buildproof.toml` from what a tree holds.
//!
//! It proposes one component per thing that is built, with what it can tell of each:
//!
//! - **a Dockerfile** (`Dockerfile`, `Containerfile`, `Dockerfile.*`, `*.Dockerfile`):
//!   inputs are its build context (its directory) minus what the context's
//!   `.dockerignore` excludes, written as `exclude` globs; `dockerfile` names it; the
//!   image is an OCI layout of the same name found in the tree (`web.oci`,
//!   `build/web`), else a commented placeholder to fill in;
//! - **a compose service with `build:`** (`compose.yaml`, `compose.yml`,
//!   `docker-compose.yml`, `docker-compose.yaml`): the same, with the service's
//!   context and Dockerfile, and `image = "docker://…"` when the service names one;
//! - **a flake package**, when `nix` is on PATH (`nix flake show --json`): `nix =
//!   ".#NAME"`, outputs the `result*` links at the root that point at a build of it;
//! - **a `default.nix` attribute**, for each one asked for: `nix = { file, attr }`,
//!   outputs the `result*` links that point at its out paths now.
//!
//! What it cannot tell (an image never built, a package never built) is left as a
//! commented line, and [`Proposal::todo`] says which, so the user knows what to fill
//! in before `snapshot`. Nothing here writes a file: the command does.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use crate::dockerfile::dockerignore::Ignore;

/// Directories never searched: version control, dependencies, build caches.
const SKIPPED_DIRS: &[&str] = &[".git", "node_modules", "target", ".direnv", "vendor"];
/// How deep the search for Dockerfiles, compose files and images goes.
const MAX_DEPTH: usize = 6;
/// Compose files that are read must be small; anything larger is not a compose file.
const MAX_COMPOSE_BYTES: u64 = 4 << 20;

/// Why no proposal could be made.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot read `{}`", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not valid YAML: {message}")]
    Compose { path: String, message: String },
    #[error("`--nix-attr` needs `default.nix` in `{}`", .root.display())]
    NoDefaultNix { root: PathBuf },
    #[error(transparent)]
    Nix(#[from] crate::nix::NixError),
    #[error(transparent)]
    Dockerfile(#[from] crate::dockerfile::DockerfileError),
    #[error(transparent)]
    Tree(#[from] crate::tree::TreeError),
}

/// What `init` looks at besides the tree.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Attributes of `default.nix` to propose, each as a component.
    pub nix_attrs: Vec<String>,
    /// Whether to ask `nix flake show` about `flake.nix` (when `nix` is on PATH).
    pub flake: bool,
}

/// A proposed config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The commented TOML.
    pub text: String,
    /// Component names, in the order written.
    pub components: Vec<String>,
    /// What the user must fill in before `snapshot`, one line each.
    pub todo: Vec<String>,
    /// What was looked at and skipped, and why (no `nix`, a remote build context).
    pub notes: Vec<String>,
}

/// One proposed `[[component]]`.
#[derive(Debug, Clone, Default)]
struct Component {
    name: String,
    /// Comment lines above it: where it comes from.
    origin: Vec<String>,
    inputs: Vec<String>,
    exclude: Vec<String>,
    /// Comment lines between `exclude` and the rest.
    input_notes: Vec<String>,
    outputs: Vec<String>,
    /// `outputs = […]` commented out, with why, when none was found.
    outputs_placeholder: Option<(String, String)>,
    image: Option<String>,
    /// `image = …` commented out, with why, when none was found.
    image_placeholder: Option<(String, String)>,
    dockerfile: Option<String>,
    /// The `nix` value as TOML.
    nix: Option<String>,
}

/// What the search of the tree found.
#[derive(Debug, Default)]
struct Found {
    dockerfiles: Vec<String>,
    compose: Vec<String>,
    /// OCI layout directories.
    layouts: Vec<String>,
    /// `result*` links at the root → the store path each names.
    results: BTreeMap<String, String>,
}

/// Looks at the tree under `root` and proposes a config.
///
/// # Errors
/// A compose file or `.dockerignore` that cannot be read or parsed; `--nix-attr`
/// without `default.nix`, or one that does not evaluate.
pub fn propose(root: &Path, options: &Options) -> Result<Proposal, InitError> {
    let found = search(root);
    let mut notes = Vec::new();
    let mut components = Vec::new();
    let mut used_dockerfiles = BTreeSet::new();

    for compose in &found.compose {
        for c in compose_components(root, compose, &found, &mut notes)? {
            if let Some(d) = &c.dockerfile {
                used_dockerfiles.insert(d.clone());
            }
            components.push(c);
        }
    }
    for dockerfile in &found.dockerfiles {
        if used_dockerfiles.contains(dockerfile) {
            continue;
        }
        let name = dockerfile_name(root, dockerfile);
        let context = parent_of(dockerfile);
        let mut c = docker_component(root, &name, &context, dockerfile, &found)?;
        c.origin.insert(0, format!("From `{dockerfile}`."));
        components.push(c);
    }
    if options.flake && root.join("flake.nix").is_file() {
        if crate::nix::cli::available("nix") {
            match crate::nix::cli::flake_show(root) {
                Ok(json) => components.extend(flake_components(root, &json, &found)),
                Err(e) => notes.push(format!(
                    "flake packages not listed: `nix flake show` failed ({e})"
                )),
            }
        } else {
            notes.push("flake packages not listed: `nix` is not on PATH".to_owned());
        }
    }
    if !options.nix_attrs.is_empty() {
        if !root.join("default.nix").is_file() {
            return Err(InitError::NoDefaultNix {
                root: root.to_owned(),
            });
        }
        for attr in &options.nix_attrs {
            components.push(nix_file_component(root, attr, &found)?);
        }
    }

    unique_names(&mut components);
    let mut todo = Vec::new();
    let text = render(&components, &mut todo);
    Ok(Proposal {
        text,
        components: components.into_iter().map(|c| c.name).collect(),
        todo,
        notes,
    })
}

/// Walks the tree once (`.gitignore` applies to Dockerfiles and compose files, not to
/// images: those are usually ignored build products).
fn search(root: &Path) -> Found {
    let mut found = Found::default();
    let skip = |name: &std::ffi::OsStr| SKIPPED_DIRS.iter().any(|s| name == *s);
    let walker = crate::tree::git_walker(root)
        .max_depth(Some(MAX_DEPTH))
        .sort_by_file_name(|a, b| a.as_bytes().cmp(b.as_bytes()))
        .filter_entry(move |e| {
            e.depth() == 0 || !(e.file_type().is_some_and(|t| t.is_dir()) && skip(e.file_name()))
        })
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Some(rel) = relative(root, entry.path()) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        if is_dockerfile(&name) {
            found.dockerfiles.push(rel);
        } else if matches!(
            name.as_ref(),
            "compose.yaml" | "compose.yml" | "docker-compose.yml" | "docker-compose.yaml"
        ) {
            found.compose.push(rel);
        }
    }
    // Images: directories holding an `oci-layout` file, ignored by git or not.
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .max_depth(Some(MAX_DEPTH))
        .sort_by_file_name(|a, b| a.as_bytes().cmp(b.as_bytes()))
        .filter_entry(move |e| {
            let dir = e.file_type().is_some_and(|t| t.is_dir());
            // Nothing below a layout is searched: its blobs are not layouts.
            e.depth() == 0
                || (dir
                    && !skip(e.file_name())
                    && !e
                        .path()
                        .parent()
                        .is_some_and(|p| p.join("oci-layout").is_file()))
        })
        .build();
    for entry in walker.flatten() {
        if entry.depth() > 0 && entry.path().join("oci-layout").is_file() {
            if let Some(rel) = relative(root, entry.path()) {
                found.layouts.push(rel);
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir(root) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with("result") {
                continue;
            }
            if let Ok(target) = std::fs::read_link(entry.path()) {
                if let Some(store) = crate::tree::store_path_of(&target) {
                    found
                        .results
                        .insert(name, store.to_string_lossy().into_owned());
                }
            }
        }
    }
    found
}

fn is_dockerfile(name: &str) -> bool {
    if name.ends_with(".dockerignore") {
        return false;
    }
    name == "Dockerfile"
        || name == "Containerfile"
        || name.starts_with("Dockerfile.")
        || name.starts_with("Containerfile.")
        || name.ends_with(".Dockerfile")
        || name.ends_with(".dockerfile")
        || name.ends_with(".Containerfile")
}

/// `path` relative to `root`, `/`-separated; `None` for a name that is not UTF-8
/// (a config cannot name it as text).
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// The directory part of a relative path (empty at the root).
fn parent_of(rel: &str) -> String {
    rel.rfind('/')
        .map_or_else(String::new, |i| rel[..i].to_owned())
}

/// `a/b` + `c` → `a/b/c`, with `.` and `..` resolved lexically; `None` when it
/// leaves the root.
fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        return None;
    } else {
        base.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// A valid component name from anything: lower case, `[a-z0-9._-]`, starting with a
/// letter or digit.
fn component_name(raw: &str) -> String {
    let mapped: String = raw
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "app".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `web/Dockerfile` → `web`; `web/Dockerfile.dev` → `web-dev`; a root `Dockerfile`
/// → the root directory's name.
fn dockerfile_name(root: &Path, dockerfile: &str) -> String {
    let dir = parent_of(dockerfile);
    let base = if dir.is_empty() {
        root.canonicalize()
            .ok()
            .and_then(|r| r.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "app".to_owned())
    } else {
        dir.rsplit('/').next().unwrap_or(&dir).to_owned()
    };
    let file = dockerfile.rsplit('/').next().unwrap_or(dockerfile);
    let variant = file
        .strip_prefix("Dockerfile.")
        .or_else(|| file.strip_prefix("Containerfile."))
        .or_else(|| file.strip_suffix(".Dockerfile"))
        .or_else(|| file.strip_suffix(".dockerfile"))
        .or_else(|| file.strip_suffix(".Containerfile"));
    component_name(&match variant {
        Some(v) => format!("{base}-{v}"),
        None => base,
    })
}

/// The OCI layout found in the tree whose name is the component's: `web.oci`,
/// `web`, `build/web.oci`, … (its last path component without an extension).
fn layout_named<'a>(found: &'a Found, name: &str) -> Option<&'a str> {
    found
        .layouts
        .iter()
        .find(|l| {
            let last = l.rsplit('/').next().unwrap_or(l);
            let stem = last.split('.').next().unwrap_or(last);
            component_name(stem) == name
        })
        .map(String::as_str)
}

/// A component for a Dockerfile with build context `context`.
fn docker_component(
    root: &Path,
    name: &str,
    context: &str,
    dockerfile: &str,
    found: &Found,
) -> Result<Component, InitError> {
    let mut c = Component {
        name: name.to_owned(),
        dockerfile: Some(dockerfile.to_owned()),
        ..Component::default()
    };
    let prefix = if context.is_empty() {
        String::new()
    } else {
        format!("{context}/")
    };
    let (ignore, ignore_path) = crate::dockerfile::read_ignore(root, dockerfile, context)?;
    let (inputs, exclude, notes) = context_globs(&prefix, &ignore);
    // Build products inside the context are not sources.
    let mut products: Vec<String> = found
        .layouts
        .iter()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| format!("{l}/**"))
        .collect();
    if context.is_empty() {
        products.push("result*".to_owned());
    }
    c.inputs = inputs;
    c.exclude = exclude;
    c.exclude.extend(products.iter().cloned());
    if let Some(path) = &ignore_path {
        c.origin.push(format!(
            "Inputs: the build context `{}`, minus what `{path}` excludes.",
            if context.is_empty() { "." } else { context }
        ));
    } else {
        c.origin.push(format!(
            "Inputs: the build context `{}` (no `.dockerignore`).",
            if context.is_empty() { "." } else { context }
        ));
    }
    c.input_notes = notes;
    c.exclude.dedup();
    check_against_dockerignore(root, &mut c, &prefix, &ignore, &products)?;
    match layout_named(found, name) {
        Some(layout) => c.image = Some(layout.to_owned()),
        None => {
            c.image_placeholder = Some((
                format!("build/{name}.oci:latest"),
                "The image this Dockerfile builds: an OCI layout or archive, or docker://HOST/REPO:TAG".to_owned(),
            ));
        }
    }
    Ok(c)
}

/// `inputs` and `exclude` globs for a context (`prefix` is `""` or `dir/`) under its
/// `.dockerignore`, and comment lines for what globs cannot say. An ignore file
/// that starts by excluding everything (`*`, `**`) and lets some paths back in
/// (`!src`) becomes inputs of those paths; otherwise the context is the input and
/// each exclusion an `exclude`. A directory pattern excludes what is below it.
fn context_globs(prefix: &str, ignore: &Ignore) -> (Vec<String>, Vec<String>, Vec<String>) {
    let glob = |p: &str| -> Vec<String> {
        // Go's `[^…]` is globset's `[!…]`.
        let p = p.replace("[^", "[!");
        // A literal pattern already covers what is below it (`tree::select`); a
        // glob that matches a directory must be told to.
        if p.ends_with("**") || !p.contains(['*', '?', '[', '\\']) {
            vec![format!("{prefix}{p}")]
        } else {
            vec![format!("{prefix}{p}"), format!("{prefix}{p}/**")]
        }
    };
    let patterns = &ignore.patterns;
    let allowlist = patterns
        .first()
        .is_some_and(|p| !p.exception && matches!(p.cleaned.as_str(), "*" | "**" | "."));
    let mut inputs = Vec::new();
    let mut exclude = Vec::new();
    let mut notes = Vec::new();
    if allowlist {
        let mut allowed = false;
        for p in &patterns[1..] {
            if p.exception {
                allowed = true;
                inputs.extend(glob(&p.cleaned));
            } else if allowed {
                exclude.extend(glob(&p.cleaned));
            }
        }
    } else {
        inputs.push(if prefix.is_empty() {
            "**".to_owned()
        } else {
            format!("{prefix}**")
        });
        for p in patterns {
            if p.exception {
                notes.push(format!(
                    "`.dockerignore` line {} lets `{}` back in; `exclude` cannot, so check those files are inputs",
                    p.line, p.cleaned
                ));
            } else {
                exclude.extend(glob(&p.cleaned));
            }
        }
    }
    if inputs.is_empty() {
        inputs.push(format!("{prefix}**"));
    }
    (inputs, exclude, notes)
}

/// Compares the files the globs select with what the `.dockerignore` lets through,
/// and says so in a comment when they differ (the translation is not exact for
/// every pattern).
fn check_against_dockerignore(
    root: &Path,
    c: &mut Component,
    prefix: &str,
    ignore: &Ignore,
    products: &[String],
) -> Result<(), InitError> {
    // One walk: the component's globs, and everything under the context.
    let everything = [format!("{prefix}**")];
    let walked = crate::tree::select_all(
        root,
        &[
            crate::tree::Patterns {
                include: &c.inputs,
                exclude: &c.exclude,
            },
            crate::tree::Patterns {
                include: &everything,
                exclude: products,
            },
        ],
        crate::tree::Stating::Links,
    )
    .map_err(|e| e.error)?;
    let selected: BTreeSet<u32> = walked.components[0].files.iter().copied().collect();
    let dockerfile = c.dockerfile.clone().unwrap_or_default();
    let mut differ = Vec::new();
    for &i in &walked.components[1].files {
        let Ok(rel) = std::str::from_utf8(&walked.paths[i as usize]) else {
            continue;
        };
        let in_context = &rel[prefix.len()..];
        let reaches = ignore.excluding(in_context).is_none() || rel == dockerfile;
        if reaches != selected.contains(&i) && !in_context.ends_with(".dockerignore") {
            differ.push(rel.to_owned());
        }
    }
    if !differ.is_empty() {
        let shown: Vec<String> = differ.iter().take(3).map(|f| format!("`{f}`")).collect();
        c.input_notes.push(format!(
            "these globs and `.dockerignore` disagree on {} file(s) ({}); adjust `inputs`/`exclude`",
            differ.len(),
            shown.join(", ")
        ));
    }
    Ok(())
}

/// The components of one compose file: each service with a local `build:`.
fn compose_components(
    root: &Path,
    compose: &str,
    found: &Found,
    notes: &mut Vec<String>,
) -> Result<Vec<Component>, InitError> {
    let path = root.join(compose);
    let text = read_small(&path)?;
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).map_err(|e| InitError::Compose {
        path: compose.to_owned(),
        message: e.to_string(),
    })?;
    let base = parent_of(compose);
    let mut out = Vec::new();
    let Some(doc) = docs.first() else {
        return Ok(out);
    };
    let Some(services) = doc["services"].as_hash() else {
        return Ok(out);
    };
    for (key, service) in services {
        let Some(service_name) = key.as_str() else {
            continue;
        };
        let build = &service["build"];
        let (context, dockerfile) = match build {
            yaml_rust2::Yaml::String(s) => (s.clone(), None),
            yaml_rust2::Yaml::Hash(_) => (
                build["context"].as_str().unwrap_or(".").to_owned(),
                build["dockerfile"].as_str().map(str::to_owned),
            ),
            _ => continue,
        };
        if context.contains("://") || context.starts_with("git@") {
            notes.push(format!(
                "`{compose}` service `{service_name}`: its build context `{context}` is remote; not proposed"
            ));
            continue;
        }
        let Some(context_rel) = join(&base, &context) else {
            notes.push(format!(
                "`{compose}` service `{service_name}`: its build context `{context}` is outside this directory; not proposed"
            ));
            continue;
        };
        let dockerfile_rel = join(&context_rel, dockerfile.as_deref().unwrap_or("Dockerfile"));
        let Some(dockerfile_rel) = dockerfile_rel.filter(|d| root.join(d).is_file()) else {
            notes.push(format!(
                "`{compose}` service `{service_name}`: no Dockerfile at `{}` in `{context}`; not proposed",
                dockerfile.as_deref().unwrap_or("Dockerfile")
            ));
            continue;
        };
        let name = component_name(service_name);
        let mut c = docker_component(root, &name, &context_rel, &dockerfile_rel, found)?;
        c.origin.insert(
            0,
            format!("From `{compose}`, service `{service_name}` (Dockerfile `{dockerfile_rel}`)."),
        );
        if let Some(image) = service["image"].as_str() {
            c.image = Some(format!("docker://{image}"));
            c.image_placeholder = None;
        }
        out.push(c);
    }
    Ok(out)
}

fn read_small(path: &Path) -> Result<String, InitError> {
    let read = |source| InitError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if meta.len() > MAX_COMPOSE_BYTES {
        return Err(read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_COMPOSE_BYTES >> 20),
        )));
    }
    let bytes = std::fs::read(path).map_err(read)?;
    String::from_utf8(bytes).map_err(|_| {
        read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })
}

/// The Nix system of this machine, as `nix flake show` keys packages.
fn nix_system() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    format!("{}-{os}", std::env::consts::ARCH)
}

/// `name-1.2.3` → `name`: a derivation name without its version.
fn pname(drv_name: &str) -> &str {
    let mut end = drv_name.len();
    for (i, _) in drv_name.match_indices('-') {
        if drv_name[i + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            end = i;
            break;
        }
    }
    &drv_name[..end]
}

/// Inputs for a Nix component: the top-level directory named like it when there is
/// one, else the whole tree minus build products; and the Nix files that shape it.
fn nix_inputs(
    root: &Path,
    names: &[&str],
    nix_files: &[&str],
    found: &Found,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut inputs = Vec::new();
    let mut exclude = Vec::new();
    let mut notes = Vec::new();
    if let Some(dir) = names
        .iter()
        .find(|n| !n.is_empty() && root.join(n).is_dir())
    {
        inputs.push(format!("{dir}/**"));
    } else {
        inputs.push("**".to_owned());
        exclude.push("result*".to_owned());
        for layout in &found.layouts {
            exclude.push(format!("{layout}/**"));
        }
        notes.push(
            "every file of the tree: narrow `inputs` to what the derivation reads; `input-excluded` names declared files its sources leave out".to_owned(),
        );
    }
    for f in nix_files {
        if root.join(f).is_file() {
            inputs.push((*f).to_owned());
        }
    }
    (inputs, exclude, notes)
}

/// The components of `nix flake show --json`: this system's packages, `default`
/// left out when another package has its derivation name.
fn flake_components(root: &Path, json: &str, found: &Found) -> Vec<Component> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let Some(packages) = v["packages"][nix_system()].as_object() else {
        return Vec::new();
    };
    let name_of = |p: &serde_json::Value| p["name"].as_str().map(str::to_owned);
    let mut out = Vec::new();
    for (attr, package) in packages {
        let drv_name = name_of(package);
        if attr == "default"
            && packages
                .iter()
                .any(|(a, p)| a != "default" && name_of(p) == drv_name)
        {
            continue;
        }
        let name = component_name(attr);
        let pn = drv_name.as_deref().map(pname).unwrap_or(attr);
        let (inputs, exclude, input_notes) =
            nix_inputs(root, &[attr, pn], &["flake.nix", "flake.lock"], found);
        let mut c = Component {
            name: name.clone(),
            origin: vec![format!(
                "From `flake.nix`: packages.{}.{attr}{}.",
                nix_system(),
                drv_name
                    .as_deref()
                    .map(|d| format!(" (`{d}`)"))
                    .unwrap_or_default()
            )],
            inputs,
            exclude,
            input_notes,
            nix: Some(toml_string(&format!(".#{attr}"))),
            ..Component::default()
        };
        // A result link names `/nix/store/<hash>-<drv name>[-<output>]`.
        if let Some(d) = &drv_name {
            c.outputs = found
                .results
                .iter()
                .filter(|(_, store)| {
                    let n = store_name(store);
                    n == d
                        || n.strip_prefix(d.as_str())
                            .is_some_and(|r| r.starts_with('-'))
                })
                .map(|(link, _)| link.clone())
                .collect();
        }
        if c.outputs.is_empty() {
            c.outputs_placeholder = Some((
                format!("result-{name}"),
                format!("build it first: `nix build .#{attr} -o result-{name}`"),
            ));
        }
        out.push(c);
    }
    out
}

/// `/nix/store/<hash>-<name>` → `<name>`.
fn store_name(store_path: &str) -> &str {
    let base = store_path.rsplit('/').next().unwrap_or(store_path);
    base.split_once('-').map_or(base, |(_, n)| n)
}

/// A component for `default.nix`'s attribute `attr`, its outputs the `result*`
/// links that point at its out paths now.
fn nix_file_component(root: &Path, attr: &str, found: &Found) -> Result<Component, InitError> {
    if !crate::nix::cli::available("nix-instantiate") {
        return Err(crate::nix::NixError::NotInstalled {
            tool: "nix-instantiate",
        }
        .into());
    }
    let drv_path = crate::nix::cli::instantiate_file(root, "default.nix", attr)?;
    let text = std::fs::read(&drv_path).map_err(|source| crate::nix::NixError::Derivation {
        path: drv_path.clone(),
        source,
    })?;
    let drv = crate::nix::derivation::parse(&text).map_err(|source| {
        crate::nix::NixError::Derivation {
            path: drv_path.clone(),
            source,
        }
    })?;
    let name = component_name(attr);
    let (inputs, exclude, input_notes) = nix_inputs(root, &[attr], &["default.nix"], found);
    let mut c = Component {
        name: name.clone(),
        origin: vec![format!("From `default.nix`, attribute `{attr}`.")],
        inputs,
        exclude,
        input_notes,
        nix: Some(format!(
            "{{ file = \"default.nix\", attr = {} }}",
            toml_string(attr)
        )),
        ..Component::default()
    };
    c.outputs = found
        .results
        .iter()
        .filter(|(_, store)| drv.outputs.values().any(|o| o == *store))
        .map(|(link, _)| link.clone())
        .collect();
    if c.outputs.is_empty() {
        c.outputs_placeholder = Some((
            format!("result-{name}"),
            format!("build it first: `nix-build -A {attr} -o result-{name}`"),
        ));
    }
    Ok(c)
}

/// Makes names unique: a second `web` becomes `web-2`.
fn unique_names(components: &mut [Component]) {
    let mut seen = BTreeSet::new();
    for c in components.iter_mut() {
        let mut name = c.name.clone();
        let mut n = 2;
        while !seen.insert(name.clone()) {
            name = format!("{}-{n}", c.name);
            n += 1;
        }
        c.name = name;
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| toml_string(i)).collect();
    format!("[{}]", quoted.join(", "))
}

const HEADER: &str = "\
# buildproof.toml, proposed by `buildproof init` from what this tree holds.
#
# Each [[component]] is one thing you build: `inputs` are its sources (globs; `**`
# crosses directories), and `outputs` or `image` what the build made of them. Check
# the guesses, fill in what is commented out, then run `buildproof snapshot`.
# Every key is described in the README (\"Configuration\").
";

/// The config text; each line the user must fill in is added to `todo`.
fn render(components: &[Component], todo: &mut Vec<String>) -> String {
    let mut out = String::from(HEADER);
    if components.is_empty() {
        out.push_str(
            "#\n# Nothing to propose was found (no Dockerfile, compose service with `build:`,\n# flake package, or `--nix-attr`). A component looks like this:\n#\n# [[component]]\n# name = \"app\"\n# inputs = [\"src/**\"]\n# outputs = [\"build/app\"]\n",
        );
        todo.push("no component was found: add one".to_owned());
        return out;
    }
    for c in components {
        out.push('\n');
        for line in &c.origin {
            out.push_str(&format!("# {line}\n"));
        }
        out.push_str("[[component]]\n");
        out.push_str(&format!("name = {}\n", toml_string(&c.name)));
        out.push_str(&format!("inputs = {}\n", toml_list(&c.inputs)));
        if !c.exclude.is_empty() {
            out.push_str(&format!("exclude = {}\n", toml_list(&c.exclude)));
        }
        for note in &c.input_notes {
            out.push_str(&format!("# {note}\n"));
        }
        if !c.outputs.is_empty() {
            out.push_str(&format!("outputs = {}\n", toml_list(&c.outputs)));
        } else if let Some((placeholder, why)) = &c.outputs_placeholder {
            out.push_str(&format!("# {why}, then uncomment:\n"));
            out.push_str(&format!("# outputs = [{}]\n", toml_string(placeholder)));
            todo.push(format!("component `{}`: `outputs` ({why})", c.name));
        }
        if let Some(nix) = &c.nix {
            out.push_str(&format!("nix = {nix}\n"));
        }
        if let Some(d) = &c.dockerfile {
            out.push_str(&format!("dockerfile = {}\n", toml_string(d)));
        }
        if let Some(image) = &c.image {
            out.push_str(&format!("image = {}\n", toml_string(image)));
        } else if let Some((placeholder, why)) = &c.image_placeholder {
            out.push_str(&format!("# {why}:\n"));
            out.push_str(&format!("# image = {}\n", toml_string(placeholder)));
            todo.push(format!(
                "component `{}`: `image` (no built image found)",
                c.name
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_component_names() {
        assert_eq!(component_name("Web App"), "web-app");
        assert_eq!(component_name("_api"), "api");
        assert_eq!(component_name("…"), "app");
        assert_eq!(pname("goinstance-1.4.2"), "goinstance");
        assert_eq!(pname("go-instance"), "go-instance");
        assert_eq!(
            store_name("/nix/store/abc-goinstance-1.4.2"),
            "goinstance-1.4.2"
        );
    }

    #[test]
    fn paths_join_lexically_and_stay_inside() {
        assert_eq!(join("", ".").as_deref(), Some(""));
        assert_eq!(join("deploy", "../web").as_deref(), Some("web"));
        assert_eq!(join("", "../web"), None);
        assert_eq!(join("a", "/abs"), None);
    }

    #[test]
    fn dockerignore_becomes_globs() {
        let ignore = Ignore::parse("node_modules\n*.md\n!README.md\n").unwrap();
        let (inputs, exclude, notes) = context_globs("web/", &ignore);
        assert_eq!(inputs, ["web/**"]);
        assert_eq!(exclude, ["web/node_modules", "web/*.md", "web/*.md/**"]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        // An allowlist: everything out, some paths back in.
        let ignore = Ignore::parse("*\n!src\n!go.mod\nsrc/**/*_test.go\n").unwrap();
        let (inputs, exclude, _) = context_globs("", &ignore);
        assert_eq!(inputs, ["src", "go.mod"]);
        assert_eq!(exclude, ["src/**/*_test.go", "src/**/*_test.go/**"]);
    }

    #[test]
    fn rendered_text_is_a_valid_config_once_filled_in() {
        let c = Component {
            name: "web".into(),
            origin: vec!["From `web/Dockerfile`.".into()],
            inputs: vec!["web/**".into()],
            dockerfile: Some("web/Dockerfile".into()),
            image_placeholder: Some(("build/web.oci:latest".into(), "the image".into())),
            ..Component::default()
        };
        let mut todo = Vec::new();
        let text = render(&[c], &mut todo);
        assert!(
            text.contains("# image = \"build/web.oci:latest\"\n"),
            "{text}"
        );
        assert_eq!(todo.len(), 1);
        let filled = text.replace("# image = ", "image = ");
        let config =
            crate::config::Config::parse(&filled, Path::new("buildproof.toml"), PathBuf::from("."))
                .unwrap();
        assert_eq!(
            config.components[0].image.as_deref(),
            Some("build/web.oci:latest")
        );
    }
}
