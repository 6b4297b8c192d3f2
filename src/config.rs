//! `buildproof.toml`: discovery, parsing and validation into a [`Config`].
//!
//! Validation is a walk over the spanned TOML tree (toml's `DeTable`), not a serde
//! derive, so that *every* problem is collected with its line — unknown keys, wrong
//! types, bad or duplicate names, components without outputs — and shown together,
//! one `file:line: problem` per line. Nothing is hashed until the config is valid.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::digest::Digest;
use crate::model::RuleId;
use crate::model::finding::Location;
use crate::model::manifest::valid_name;
use crate::model::nix::NixSpec;

/// The largest config read: far beyond any real one (a 5,000-component config is
/// about 1 MB).
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// The config file's name, looked for in the current directory and its parents.
pub const FILE_NAME: &str = "buildproof.toml";

const COMPONENT_KEYS: &[&str] = &[
    "name",
    "inputs",
    "exclude",
    "outputs",
    "nix",
    "image",
    "platform",
    "dockerfile",
    "deploy",
    "allow_outside",
];
const ACCEPT_KEYS: &[&str] = &["component", "rule", "fingerprint", "reason", "expires"];

/// A validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file as found or given.
    pub path: PathBuf,
    /// The directory every path in the config is relative to.
    pub root: PathBuf,
    pub components: Vec<Component>,
    pub accepts: Vec<Accept>,
}

/// One `[[component]]`.
#[derive(Debug, Clone)]
pub struct Component {
    pub name: String,
    /// 1-based line of the component's `name` key, for findings that point at the config.
    pub line: u32,
    pub inputs: Vec<String>,
    pub exclude: Vec<String>,
    pub outputs: Vec<String>,
    pub nix: Option<NixSpec>,
    pub image: Option<String>,
    /// The platform `image` is picked for from a multi-platform index.
    pub platform: Option<crate::registry::Platform>,
    pub dockerfile: Option<String>,
    pub deploy: Option<String>,
    /// Outputs may lie outside the config directory (`allow_outside = true`).
    pub allow_outside: bool,
    /// Not from the file: the store derivation `--nix-drv NAME=DRV` names for this
    /// component, read instead of evaluating `nix` (inside a build sandbox).
    pub nix_drv: Option<String>,
}

/// One `[[accept]]`: acknowledges the finding with this fingerprint.
#[derive(Debug, Clone)]
pub struct Accept {
    pub component: String,
    pub rule: RuleId,
    pub fingerprint: Digest,
    pub reason: String,
    pub expires: Option<jiff::civil::Date>,
    pub line: u32,
}

/// A config that could not be used. Displays as one `file:line: problem` per line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no `{FILE_NAME}` in `{}` or any parent directory; create one or pass -c CONFIG", .0.display())]
    NotFound(PathBuf),
    #[error("cannot read config `{}`", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", Problems(.path, .problems))]
    Invalid {
        path: PathBuf,
        /// (line, problem), sorted by line.
        problems: Vec<(u32, String)>,
    },
}

struct Problems<'a>(&'a Path, &'a [(u32, String)]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (line, problem)) in self.1.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{line}: {problem}", self.0.display())?;
        }
        Ok(())
    }
}

impl Config {
    /// Loads the config at `explicit`, or the first `buildproof.toml` found from the
    /// current directory upwards.
    pub fn discover(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        match explicit {
            Some(path) => Self::load(path),
            None => {
                let cwd = std::env::current_dir().map_err(|source| ConfigError::Read {
                    path: PathBuf::from("."),
                    source,
                })?;
                match find_upwards(&cwd) {
                    // Shown relative to where the user stands, as they would type it.
                    Some(path) => Self::load(path.strip_prefix(&cwd).unwrap_or(&path)),
                    None => Err(ConfigError::NotFound(cwd)),
                }
            }
        }
    }

    /// Like [`Config::discover`], but without `-c` a missing file is not an error:
    /// `diff` and `verify` only need a config for its `[[accept]]` entries.
    pub fn discover_optional(explicit: Option<&Path>) -> Result<Option<Self>, ConfigError> {
        if explicit.is_some() {
            return Self::discover(explicit).map(Some);
        }
        match Self::discover(None) {
            Ok(c) => Ok(Some(c)),
            Err(ConfigError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads and validates one config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let bytes =
            crate::fsio::read_file(path, MAX_CONFIG_BYTES).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
        let text = String::from_utf8(bytes).map_err(|_| ConfigError::Invalid {
            path: path.to_owned(),
            problems: vec![(1, "the file is not UTF-8 text".to_owned())],
        })?;
        let root = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        Self::parse(&text, path, root)
    }

    /// Validates config text. `path` is used in messages; `root` anchors relative paths.
    pub fn parse(text: &str, path: &Path, root: PathBuf) -> Result<Self, ConfigError> {
        let mut v = Validator {
            lines: LineIndex::new(text),
            problems: Vec::new(),
        };
        let doc = match DeTable::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let line = e.span().map_or(1, |s| v.lines.line(s.start));
                let msg = e.message().trim().to_owned();
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    problems: vec![(line, format!("invalid TOML: {msg}"))],
                });
            }
        };
        let (components, accepts) = v.document(doc.get_ref());
        if v.problems.is_empty() {
            Ok(Self {
                path: path.to_owned(),
                root,
                components,
                accepts,
            })
        } else {
            v.problems.sort_by_key(|(line, _)| *line);
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems: v.problems,
            })
        }
    }

    /// Where a finding about `component` is fixed: its entry in this file.
    #[must_use]
    pub fn location_of(&self, component: &str) -> Option<Location> {
        self.components
            .iter()
            .find(|c| c.name == component)
            .map(|c| Location {
                file: self.path.display().to_string(),
                line: Some(c.line),
            })
    }

    /// A path from the config, resolved against the config's directory.
    #[must_use]
    pub fn resolve(&self, relative: &str) -> PathBuf {
        crate::fsio::join(&self.root, Path::new(relative))
    }
}

/// A character a reader sees: not blank, not a control, not one of the zero-width
/// characters that render as nothing.
fn visible(c: char) -> bool {
    !c.is_whitespace()
        && !c.is_control()
        && !matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}'
        )
}

/// `YYYY-MM-DD` exactly: `20270131`, datetimes and other spellings jiff would also
/// take are refused, so a date means the same to every reader of the config.
fn plain_date(text: &str) -> Option<jiff::civil::Date> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shape.then(|| text.parse().ok()).flatten()
}

fn find_upwards(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// Byte offset to 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    fn line(&self, offset: usize) -> u32 {
        let idx = self.starts.partition_point(|&s| s <= offset);
        u32::try_from(idx.max(1)).unwrap_or(u32::MAX)
    }
}

struct Validator {
    lines: LineIndex,
    problems: Vec<(u32, String)>,
}

type Table<'i> = DeTable<'i>;

impl Validator {
    fn problem(&mut self, span: Range<usize>, message: String) {
        let line = self.lines.line(span.start);
        self.problems.push((line, message));
    }

    fn document(&mut self, doc: &Table<'_>) -> (Vec<Component>, Vec<Accept>) {
        let mut components = Vec::new();
        let mut accepts = Vec::new();
        for (key, value) in doc.iter() {
            match key.get_ref().as_ref() {
                "component" => {
                    for table in self.array_of_tables(key, value, "component") {
                        if let Some(c) = self.component(table) {
                            components.push(c);
                        }
                    }
                }
                "accept" => {
                    for table in self.array_of_tables(key, value, "accept") {
                        if let Some(a) = self.accept(table) {
                            accepts.push(a);
                        }
                    }
                }
                other => self.problem(
                    key.span(),
                    format!("unknown key `{other}` (expected `[[component]]` or `[[accept]]`)"),
                ),
            }
        }
        if components.is_empty() && self.problems.is_empty() {
            self.problems
                .push((1, "no `[[component]]` is declared".to_owned()));
        }

        let mut seen = BTreeSet::new();
        for c in &components {
            if !seen.insert(c.name.clone()) {
                self.problems
                    .push((c.line, format!("duplicate component name `{}`", c.name)));
            }
        }
        for a in &accepts {
            if !seen.contains(&a.component) {
                self.problems.push((
                    a.line,
                    format!(
                        "`[[accept]]` names component `{}`, which is not declared",
                        a.component
                    ),
                ));
            }
        }
        (components, accepts)
    }

    fn array_of_tables<'a, 'i>(
        &mut self,
        key: &Spanned<std::borrow::Cow<'i, str>>,
        value: &'a Spanned<DeValue<'i>>,
        name: &str,
    ) -> Vec<&'a Spanned<DeValue<'i>>> {
        match value.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if matches!(item.get_ref(), DeValue::Table(_)) {
                        out.push(item);
                    } else {
                        self.problem(
                            item.span(),
                            format!("`{name}` entries must be tables (`[[{name}]]`)"),
                        );
                    }
                }
                out
            }
            _ => {
                self.problem(
                    key.span(),
                    format!("`{name}` must be an array of tables (`[[{name}]]`)"),
                );
                Vec::new()
            }
        }
    }

    fn component(&mut self, entry: &Spanned<DeValue<'_>>) -> Option<Component> {
        let DeValue::Table(table) = entry.get_ref() else {
            return None;
        };
        let before = self.problems.len();
        self.unknown_keys(table, COMPONENT_KEYS, "[[component]]");
        let header_line = self.lines.line(entry.span().start);

        let name = self.required_string(table, "name", entry.span(), "[[component]]");
        let line = table
            .iter()
            .find(|(k, _)| k.get_ref() == "name")
            .map_or(header_line, |(k, _)| self.lines.line(k.span().start));
        if let Some((name, span)) = &name {
            if !valid_name(name) {
                self.problem(
                    span.clone(),
                    format!("component name `{name}` is invalid: use lower-case letters, digits, `.`, `_` and `-`, starting with a letter or digit"),
                );
            }
        }
        let inputs = self.string_list(table, "inputs");
        let exclude = self.string_list(table, "exclude").unwrap_or_default();
        let outputs = self.string_list(table, "outputs").unwrap_or_default();
        let image = self.optional_string(table, "image");
        let platform = self
            .optional_spanned_string(table, "platform")
            .and_then(|(p, span)| match p.parse::<crate::registry::Platform>() {
                Ok(p) => Some(p),
                Err(e) => {
                    self.problem(span, e.to_string());
                    None
                }
            });
        let dockerfile = self.optional_string(table, "dockerfile");
        let deploy = self.optional_string(table, "deploy");
        let nix = self.nix_spec(table);
        let allow_outside = self.optional_bool(table, "allow_outside").unwrap_or(false);

        let label = name
            .as_ref()
            .map_or_else(String::new, |(n, _)| format!(" `{n}`"));
        match &inputs {
            None => self
                .problems
                .push((line, format!("component{label} has no `inputs`"))),
            Some(list) if list.is_empty() => {
                self.problems
                    .push((line, format!("component{label} has an empty `inputs` list")));
            }
            Some(_) => {}
        }
        if outputs.is_empty() && image.is_none() {
            self.problems.push((
                line,
                format!("component{label} has no `outputs` and no `image`: declare what its build produces"),
            ));
        }
        for pattern in inputs.iter().flatten().chain(&exclude) {
            if let Err(e) = globset::Glob::new(pattern) {
                self.problems
                    .push((line, format!("invalid glob `{pattern}`: {}", e.kind())));
            }
            // Inputs are selected below the config directory; a pattern that leaves it
            // could never match, and would silently select nothing.
            if pattern.starts_with('/') || pattern.split('/').any(|c| c == "..") {
                self.problems.push((
                    line,
                    format!("input pattern `{pattern}` leaves the config directory; patterns are relative to it (move buildproof.toml up instead)"),
                ));
            }
        }
        for (key, path) in outputs
            .iter()
            .map(|o| ("outputs", o))
            .chain(image.iter().map(|i| ("image", i)))
            .chain(dockerfile.iter().map(|d| ("dockerfile", d)))
            .chain(deploy.iter().map(|d| ("deploy", d)))
        {
            if path.trim().is_empty() {
                self.problems
                    .push((line, format!("component{label} has an empty `{key}` value")));
            }
        }
        // A file the config names is read and, when it does not parse, quoted in part:
        // it must be the project's own, never `/proc/self/environ` or `../secret`.
        let nix_file = match &nix {
            Some(NixSpec::File { file, .. }) => Some(file),
            _ => None,
        };
        for (key, path) in dockerfile
            .iter()
            .map(|d| ("dockerfile", d))
            .chain(nix_file.map(|f| ("nix.file", f)))
        {
            if leaves_directory(path) {
                self.problems.push((
                    line,
                    format!("`{key}` = `{path}` leaves the config directory; name a file inside it (paths are relative to the config)"),
                ));
            }
        }
        // Outputs outside the project are allowed when said so: a store path, or a
        // deliberate `allow_outside = true` (`/opt/app`); a typo such as `../out` is
        // not silently hashed from somewhere else.
        for o in &outputs {
            if leaves_directory(o) && !o.starts_with("/nix/store/") && !allow_outside {
                self.problems.push((
                    line,
                    format!("output `{o}` is outside the config directory; set `allow_outside = true` on the component if that is meant"),
                ));
            }
        }
        // `./out`, `out/` and `out` are one output: compare them as one.
        let outputs: Vec<String> = outputs.iter().map(|o| normalize_path(o)).collect();
        let mut seen_outputs = BTreeSet::new();
        for o in &outputs {
            if !seen_outputs.insert(o) {
                self.problems.push((
                    line,
                    format!("component{label} declares output `{o}` twice"),
                ));
            }
        }
        if self.problems.len() > before {
            return None;
        }
        Some(Component {
            name: name?.0,
            line,
            inputs: inputs?,
            exclude,
            outputs,
            nix,
            image,
            platform,
            dockerfile,
            deploy,
            allow_outside,
            nix_drv: None,
        })
    }

    fn accept(&mut self, entry: &Spanned<DeValue<'_>>) -> Option<Accept> {
        let DeValue::Table(table) = entry.get_ref() else {
            return None;
        };
        let before = self.problems.len();
        self.unknown_keys(table, ACCEPT_KEYS, "[[accept]]");
        let line = self.lines.line(entry.span().start);
        let component = self.required_string(table, "component", entry.span(), "[[accept]]");
        let rule = self.required_string(table, "rule", entry.span(), "[[accept]]");
        let fingerprint = self.required_string(table, "fingerprint", entry.span(), "[[accept]]");
        let reason = self.required_string(table, "reason", entry.span(), "[[accept]]");
        let expires = self.optional_spanned_string(table, "expires");

        let rule = rule.and_then(|(r, span)| match r.parse::<RuleId>() {
            Ok(id) => Some(id),
            Err(e) => {
                self.problem(span, e);
                None
            }
        });
        let fingerprint = fingerprint.and_then(|(f, span)| match f.parse::<Digest>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(span, format!("invalid fingerprint: {e}"));
                None
            }
        });
        if let Some((r, span)) = &reason {
            if !r.chars().any(visible) {
                self.problem(
                    span.clone(),
                    "`reason` must say why the finding is accepted".to_owned(),
                );
            }
        }
        let expires = expires.and_then(|(text, span)| match plain_date(&text) {
            Some(d) => Some(Some(d)),
            None => {
                self.problem(
                    span,
                    format!("`expires` = `{text}` is not a date (YYYY-MM-DD)"),
                );
                None
            }
        });
        if self.problems.len() > before {
            return None;
        }
        Some(Accept {
            component: component?.0,
            rule: rule?,
            fingerprint: fingerprint?,
            reason: reason?.0,
            expires: expires.unwrap_or(None),
            line,
        })
    }

    fn unknown_keys(&mut self, table: &Table<'_>, allowed: &[&str], context: &str) {
        for (key, _) in table.iter() {
            let k: &str = key.get_ref();
            if !allowed.contains(&k) {
                self.problem(
                    key.span(),
                    format!(
                        "unknown key `{k}` in `{context}` (expected one of: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn get<'a, 'i>(table: &'a Table<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        table
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v)
    }

    fn required_string(
        &mut self,
        table: &Table<'_>,
        key: &str,
        table_span: Range<usize>,
        context: &str,
    ) -> Option<(String, Range<usize>)> {
        if Self::get(table, key).is_none() {
            self.problem(table_span, format!("`{context}` is missing `{key}`"));
            return None;
        }
        self.optional_spanned_string(table, key)
    }

    fn optional_string(&mut self, table: &Table<'_>, key: &str) -> Option<String> {
        self.optional_spanned_string(table, key).map(|(s, _)| s)
    }

    fn optional_spanned_string(
        &mut self,
        table: &Table<'_>,
        key: &str,
    ) -> Option<(String, Range<usize>)> {
        let value = Self::get(table, key)?;
        match value.get_ref() {
            DeValue::String(s) => Some((s.to_string(), value.span())),
            // `expires = 2027-01-31` (a bare TOML date) is as natural as a string.
            DeValue::Datetime(d) if key == "expires" => Some((d.to_string(), value.span())),
            other => {
                self.problem(
                    value.span(),
                    format!("`{key}` must be a string, not {}", other.type_str()),
                );
                None
            }
        }
    }

    fn string_list(&mut self, table: &Table<'_>, key: &str) -> Option<Vec<String>> {
        let value = Self::get(table, key)?;
        match value.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(s.to_string()),
                        other => self.problem(
                            item.span(),
                            format!("`{key}` entries must be strings, not {}", other.type_str()),
                        ),
                    }
                }
                Some(out)
            }
            // A single string is a one-element list; users write it often.
            DeValue::String(s) => Some(vec![s.to_string()]),
            other => {
                self.problem(
                    value.span(),
                    format!(
                        "`{key}` must be a list of strings, not {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    fn optional_bool(&mut self, table: &Table<'_>, key: &str) -> Option<bool> {
        let value = Self::get(table, key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.problem(
                    value.span(),
                    format!("`{key}` must be true or false, not {}", other.type_str()),
                );
                None
            }
        }
    }

    fn nix_spec(&mut self, table: &Table<'_>) -> Option<NixSpec> {
        let value = Self::get(table, "nix")?;
        match value.get_ref() {
            DeValue::String(s) => Some(NixSpec::Installable(s.to_string())),
            DeValue::Table(inner) => {
                let before = self.problems.len();
                self.unknown_keys(inner, &["file", "attr"], "nix");
                let file = self.required_string(inner, "file", value.span(), "nix");
                let attr = self.required_string(inner, "attr", value.span(), "nix");
                if self.problems.len() > before {
                    return None;
                }
                Some(NixSpec::File {
                    file: file?.0,
                    attr: attr?.0,
                })
            }
            other => {
                self.problem(
                    value.span(),
                    format!(
                        "`nix` must be an installable string or {{ file, attr }}, not {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }
}

/// Whether a config path leaves the config directory: absolute, or with more `..`
/// than directories before it (`a/../b` stays inside, `a/../../b` does not).
fn leaves_directory(path: &str) -> bool {
    if path.starts_with('/') {
        return true;
    }
    let mut depth = 0usize;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// A path as written, without a leading `./` or trailing `/` (but `/` stays `/`).
fn normalize_path(path: &str) -> String {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        p.to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(u32, String)> {
        match Config::parse(text, Path::new("buildproof.toml"), PathBuf::from(".")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid { problems, .. }) => problems,
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    const GOOD: &str = r#"
[[component]]
name = "goinstance"
inputs = ["goinstance/**", "go.mod"]
exclude = ["**/*_test.go"]
outputs = ["result-goinstance"]
nix = { file = "default.nix", attr = "goinstance" }

[[component]]
name = "web"
inputs = ["web/**"]
image = "build/web.oci:latest"
dockerfile = "web/Dockerfile"
deploy = "web"

[[accept]]
component = "web"
rule = "startup-changed"
fingerprint = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
reason = "new entrypoint reviewed in PR 812"
expires = "2027-01-31"
"#;

    #[test]
    fn spec_example_is_valid() {
        let c = Config::parse(GOOD, Path::new("b.toml"), PathBuf::from("/r")).unwrap();
        assert_eq!(c.components.len(), 2);
        assert_eq!(c.components[0].line, 3);
        assert_eq!(
            c.components[0].nix,
            Some(NixSpec::File {
                file: "default.nix".into(),
                attr: "goinstance".into()
            })
        );
        assert_eq!(c.accepts[0].rule, RuleId::StartupChanged);
        assert_eq!(c.accepts[0].expires.unwrap().to_string(), "2027-01-31");
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "[[component]]\nname = \"a\"\ninputs = [\"x\"]\noutputs = [\"o\"]\ncolour = 1\n\n[[component]]\nname = \"a\"\ninputs = [\"y\"]\n\n[[component]]\nname = \"Bad Name\"\ninputs = [\"z\"]\noutputs = [\"o\"]\n";
        let got = problems(text);
        let lines: Vec<u32> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![5, 8, 12], "{got:?}");
        assert!(got[0].1.contains("unknown key `colour`"), "{got:?}");
        assert!(got[1].1.contains("no `outputs` and no `image`"), "{got:?}");
        assert!(got[2].1.contains("`Bad Name` is invalid"), "{got:?}");
    }

    #[test]
    fn duplicate_names_and_dangling_accepts() {
        let text = "[[component]]\nname = \"a\"\ninputs = [\"x\"]\noutputs = [\"o\"]\n[[component]]\nname = \"a\"\ninputs = [\"x\"]\noutputs = [\"o\"]\n[[accept]]\ncomponent = \"zz\"\nrule = \"stale-artifact\"\nfingerprint = \"sha256:00\"\nreason = \"r\"\n";
        let got = problems(text);
        assert!(
            got.iter()
                .any(|(l, p)| *l == 6 && p.contains("duplicate component name `a`")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|(l, p)| *l == 12 && p.contains("invalid fingerprint")),
            "{got:?}"
        );
    }

    #[test]
    fn patterns_must_stay_below_the_config_directory() {
        for bad in ["../shared/**", "/etc/**", "a/../../b"] {
            let text =
                format!("[[component]]\nname = \"a\"\ninputs = [\"{bad}\"]\noutputs = [\"o\"]\n");
            let got = problems(&text);
            assert!(
                got.iter()
                    .any(|(_, p)| p.contains("leaves the config directory")),
                "{bad}: {got:?}"
            );
        }
    }

    #[test]
    fn toml_syntax_error_has_a_line() {
        let got = problems("[[component]]\nname = \"a\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 2);
        assert!(got[0].1.starts_with("invalid TOML"), "{got:?}");
    }

    #[test]
    fn names() {
        for ok in ["a", "0", "go.instance_x-1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "A", "-a", ".a", "a b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn expires_is_a_plain_date_and_a_reason_is_visible() {
        let accept = |extra: &str| {
            format!(
                "[[component]]\nname = \"a\"\ninputs = [\"x\"]\noutputs = [\"o\"]\n[[accept]]\ncomponent = \"a\"\nrule = \"stale-artifact\"\nfingerprint = \"sha256:{}\"\n{extra}\n",
                "0".repeat(64)
            )
        };
        assert_eq!(
            problems(&accept("reason = \"ok\"\nexpires = \"2027-01-31\"")),
            []
        );
        assert_eq!(
            problems(&accept("reason = \"ok\"\nexpires = 2027-01-31")),
            []
        );
        for bad in [
            "expires = \"20270131\"",
            "expires = \"2027-01-31T00:00:00\"",
            "expires = 2027-01-31T00:00:00",
            "expires = \"2027-1-31\"",
            "expires = \"2027-02-30\"",
        ] {
            let p = problems(&accept(&format!("reason = \"ok\"\n{bad}")));
            assert!(
                p.iter()
                    .any(|(_, m)| m.contains("is not a date (YYYY-MM-DD)")),
                "{bad}: {p:?}"
            );
        }
        for blank in ["\" \"", "\"\\u200b\"", "\"\\t\\n\"", "\"\\u00ad\\ufeff\""] {
            let p = problems(&accept(&format!("reason = {blank}")));
            assert!(
                p.iter().any(|(_, m)| m.contains("must say why")),
                "{blank}: {p:?}"
            );
        }
    }
}
