//! Dockerfile parsing down to the final stage's startup instructions, and the
//! `.dockerignore` check of a component's inputs.
//!
//! - [`parser`] lexes the file (directives, comments, continuations, heredocs);
//! - [`stage`] evaluates stages, `ARG`/`ENV` substitution and inheritance down to the
//!   final stage's startup;
//! - [`shell`] is the word processing (quotes, escapes, `${VAR:-default}`);
//! - [`duration`] reads and writes Go durations (`HEALTHCHECK --interval=1m30s`);
//! - [`dockerignore`] decides which files of the build context the builder sees.
//!
//! The supported Dockerfile subset is documented in [`parser`].

pub mod dockerignore;
pub mod duration;
pub mod parser;
pub mod shell;
pub mod stage;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::manifest::FileRecord;

/// The longest value shown and recorded as it is, in bytes.
pub const MAX_SHOWN: usize = 1024;

/// How many characters of a longer value are kept.
const SHOWN_PREFIX: usize = 200;

/// A value as records and findings show it: itself up to [`MAX_SHOWN`] bytes, else its
/// first 200 characters, its length and its digest
/// (`aaaa… (524288 bytes, sha256:…)`). Two values show the same exactly when they
/// are equal (up to a SHA-256 collision), so comparing shown values compares the full
/// ones. A shown value is itself short, so showing it again changes nothing.
#[must_use]
pub fn shortened(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_SHOWN {
        return Cow::Borrowed(value);
    }
    let end = value
        .char_indices()
        .nth(SHOWN_PREFIX)
        .map_or(value.len(), |(i, _)| i);
    Cow::Owned(format!(
        "{}\u{2026} ({} bytes, {})",
        &value[..end],
        value.len(),
        crate::digest::Digest::of(value.as_bytes())
    ))
}

/// What a manifest records of a component's Dockerfile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerfileRecord {
    /// The Dockerfile, relative to the config directory (or as given on the command line).
    pub path: String,
    /// The final stage.
    pub stage: StageRecord,
    /// The final stage's startup configuration.
    pub startup: Startup,
    /// Declared inputs that cannot reach the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<ExcludedInput>,
}

/// The final stage: its name, what it is `FROM`, and the external image its chain of
/// stages starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `FROM` argument after substitution: an image or an earlier stage's name.
    pub base: String,
    /// The line of its `FROM`.
    pub line: u32,
    /// The external image the stage inherits its configuration from (`None` when the
    /// chain starts from `scratch`). A startup field the Dockerfile does not set is
    /// then the base image's, which the Dockerfile does not show: unknown here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_image: Option<String>,
}

/// One value and the Dockerfile line that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub value: String,
    pub line: u32,
}

/// The startup configuration of a stage. `ENTRYPOINT`/`CMD`/`SHELL` values are JSON
/// arrays as Docker stores them; an absent field was not set by the Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Startup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopsignal: Option<Field>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Field>,
}

impl Startup {
    /// The fields `startup-changed` compares, with their instruction names.
    #[must_use]
    pub fn compared(&self) -> [(&'static str, Option<&Field>); 7] {
        [
            ("ENTRYPOINT", self.entrypoint.as_ref()),
            ("CMD", self.cmd.as_ref()),
            ("USER", self.user.as_ref()),
            ("WORKDIR", self.workdir.as_ref()),
            ("SHELL", self.shell.as_ref()),
            ("HEALTHCHECK", self.healthcheck.as_ref()),
            ("STOPSIGNAL", self.stopsignal.as_ref()),
        ]
    }
}

/// A declared input the build cannot see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludedInput {
    /// The input, relative to the config directory.
    pub path: String,
    pub reason: ExcludeReason,
    /// The `.dockerignore` pattern that excluded it, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The ignore file (relative to the config directory) and the pattern's line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// Why an input cannot reach the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExcludeReason {
    /// A `.dockerignore` pattern excludes it.
    Dockerignore,
    /// It lies outside the build context (the Dockerfile's directory).
    OutsideContext,
}

/// Why a Dockerfile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    #[error("cannot read Dockerfile `{path}`: {message}")]
    Unreadable { path: String, message: String },
    #[error("cannot parse Dockerfile `{path}` at line {line}: {message}")]
    Syntax {
        path: String,
        line: u32,
        message: String,
    },
    #[error("cannot read `{path}`: {message}")]
    IgnoreUnreadable { path: String, message: String },
    #[error("cannot parse `{path}` at line {line}: {message}")]
    IgnoreSyntax {
        path: String,
        line: u32,
        message: String,
    },
}

/// Parses Dockerfile text; `path` names it in errors and in the record.
///
/// # Errors
/// A Dockerfile Docker would refuse, with its line.
pub fn parse(path: &str, text: &str) -> Result<DockerfileRecord, DockerfileError> {
    let syntax = |e: parser::SyntaxError| DockerfileError::Syntax {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
    };
    let parsed = parser::parse(text).map_err(syntax)?;
    let (stage, startup) = stage::evaluate(&parsed).map_err(syntax)?;
    Ok(DockerfileRecord {
        path: path.to_owned(),
        stage,
        startup,
        excluded: Vec::new(),
    })
}

/// The largest Dockerfile or ignore file read: far beyond any real one, and a bound on
/// what a file planted there can make the parser hold.
pub const MAX_FILE: u64 = 16 << 20;

/// A whole regular file of at most [`MAX_FILE`] bytes (FIFOs and directories are
/// refused without blocking, by [`crate::tree::open_file`]).
fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    crate::tree::open_file(path)?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_FILE >> 20),
        ));
    }
    Ok(bytes)
}

/// Reads and parses the Dockerfile at `file`; `display` names it.
///
/// # Errors
/// Unreadable (also: not UTF-8) or unparsable.
pub fn read(file: &Path, display: &str) -> Result<DockerfileRecord, DockerfileError> {
    let bytes = read_small(file).map_err(|e| DockerfileError::Unreadable {
        path: display.to_owned(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| DockerfileError::Unreadable {
        path: display.to_owned(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    parse(display, &text)
}

/// Parses the Dockerfile at `dockerfile` (relative to `root`) and records its final
/// stage's startup; `inputs` are the component's input records, checked against the
/// build context (the Dockerfile's directory) and its `.dockerignore`.
///
/// # Errors
/// The Dockerfile or its ignore file cannot be read or parsed.
pub fn record(
    root: &Path,
    dockerfile: &str,
    inputs: &[FileRecord],
) -> Result<DockerfileRecord, DockerfileError> {
    let mut record = read(&root.join(dockerfile), dockerfile)?;
    let dockerfile_rel = normalise(dockerfile);
    let context = match dockerfile_rel.rfind('/') {
        Some(i) => dockerfile_rel[..i].to_owned(),
        None => String::new(),
    };
    let (ignore, ignore_path) = read_ignore(root, &dockerfile_rel, &context)?;
    for input in inputs {
        let path = input.path.as_str();
        // The builder always receives the Dockerfile and the ignore file themselves.
        if path == dockerfile_rel || Some(path) == ignore_path.as_deref() {
            continue;
        }
        let inside = if context.is_empty() {
            Some(path)
        } else {
            path.strip_prefix(context.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
        };
        let Some(relative) = inside else {
            record.excluded.push(ExcludedInput {
                path: path.to_owned(),
                reason: ExcludeReason::OutsideContext,
                pattern: None,
                file: None,
                line: None,
            });
            continue;
        };
        if let Some(pattern) = ignore.excluding(relative) {
            record.excluded.push(ExcludedInput {
                path: path.to_owned(),
                reason: ExcludeReason::Dockerignore,
                pattern: Some(pattern.text.clone()),
                file: ignore_path.clone(),
                line: Some(pattern.line),
            });
        }
    }
    Ok(record)
}

/// A config-relative path without `./` segments or doubled slashes.
fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The ignore file that applies: `<Dockerfile>.dockerignore`, else the context's
/// `.dockerignore`, else none.
fn read_ignore(
    root: &Path,
    dockerfile: &str,
    context: &str,
) -> Result<(dockerignore::Ignore, Option<String>), DockerfileError> {
    let in_context = if context.is_empty() {
        ".dockerignore".to_owned()
    } else {
        format!("{context}/.dockerignore")
    };
    for candidate in [format!("{dockerfile}.dockerignore"), in_context] {
        let file = root.join(&candidate);
        let text = match read_small(&file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(DockerfileError::IgnoreUnreadable {
                    path: candidate,
                    message: e.to_string(),
                });
            }
        };
        let ignore = dockerignore::Ignore::parse(&text).map_err(|(line, message)| {
            DockerfileError::IgnoreSyntax {
                path: candidate.clone(),
                line,
                message,
            }
        })?;
        return Ok((ignore, Some(candidate)));
    }
    Ok((dockerignore::Ignore::default(), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::manifest::FileKind;

    fn input(path: &str) -> FileRecord {
        FileRecord {
            path: path.to_owned(),
            kind: FileKind::File,
            size: 0,
            digest: Digest::of(b""),
        }
    }

    fn excluded(
        files: &[(&str, &str)],
        dockerfile: &str,
        inputs: &[&str],
    ) -> Vec<(String, ExcludeReason, Option<u32>)> {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let inputs: Vec<FileRecord> = inputs.iter().map(|p| input(p)).collect();
        record(dir.path(), dockerfile, &inputs)
            .unwrap()
            .excluded
            .into_iter()
            .map(|e| (e.path, e.reason, e.line))
            .collect()
    }

    #[test]
    fn root_context_sees_everything_not_ignored() {
        let got = excluded(
            &[
                ("Dockerfile", "FROM scratch\n"),
                (".dockerignore", "Dockerfile\n.dockerignore\ntarget\n"),
            ],
            "Dockerfile",
            &[
                "Dockerfile",
                ".dockerignore",
                "src/main.rs",
                "target/debug/x",
            ],
        );
        assert_eq!(
            got,
            [(
                "target/debug/x".to_owned(),
                ExcludeReason::Dockerignore,
                Some(3)
            )]
        );
    }

    #[test]
    fn dotted_dockerfile_path_is_normalised() {
        let got = excluded(
            &[("web/Dockerfile", "FROM scratch\n")],
            "./web//Dockerfile",
            &["web/app.js", "webapp/x.js"],
        );
        assert_eq!(
            got,
            [(
                "webapp/x.js".to_owned(),
                ExcludeReason::OutsideContext,
                None
            )]
        );
    }
}
