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

use std::path::Path;

use crate::model::dockerfile::{DockerfileRecord, ExcludeReason, ExcludedInput};
use crate::model::manifest::FileRecord;

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
/// refused without blocking, by [`crate::fsio::open_file`]).
fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    crate::fsio::open_file(path)?
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

/// Reads and parses a Dockerfile named on the command line: a path, `-` for standard
/// input, a pipe (`<(git show HEAD:web/Dockerfile)`), or `git:REV:PATH`.
///
/// # Errors
/// Unreadable (also: not UTF-8) or unparsable.
pub fn read_argument(arg: &Path, display: &str) -> Result<DockerfileRecord, DockerfileError> {
    let Some(what) = crate::argfile::special(arg) else {
        return read(arg, display);
    };
    let unreadable = |message: String| DockerfileError::Unreadable {
        path: display.to_owned(),
        message,
    };
    let bytes =
        crate::argfile::read(arg, &what, MAX_FILE).map_err(|e| unreadable(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        unreadable(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
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
    let file = root.join(dockerfile);
    // A link inside the project may still point outside it; what it names is read
    // and may be quoted in a syntax error, so it must be the project's own file.
    if let (Ok(real), Ok(real_root)) = (file.canonicalize(), root.canonicalize()) {
        if !real.starts_with(&real_root) {
            return Err(DockerfileError::Unreadable {
                path: dockerfile.to_owned(),
                message: format!(
                    "it resolves to `{}`, outside the config directory",
                    real.display()
                ),
            });
        }
    }
    let mut record = read(&file, dockerfile)?;
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
/// The ignore file that applies to the Dockerfile `dockerfile` (relative to `root`,
/// normalised) with the build context `context`: BuildKit's
/// `<Dockerfile>.dockerignore`, else the context's `.dockerignore`, else none; with
/// the path of the one read.
///
/// # Errors
/// The ignore file cannot be read or parsed.
pub fn read_ignore(
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
    use crate::model::manifest::FileKind;

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
