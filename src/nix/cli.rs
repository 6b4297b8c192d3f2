//! Calling the nix CLI: evaluating an installable to its store derivation, and
//! reading the store database's record of a path.
//!
//! `{ file, attr }` goes through `nix-instantiate`, which needs no experimental
//! feature and behaves the same from Nix 2.8 (Debian) to current releases. A flake
//! installable goes through `nix path-info --derivation` with `nix-command` and
//! `flakes` enabled for that call only, and `--no-write-lock-file` so judging a
//! checkout never edits its `flake.lock`. `nix path-info --json` printed a list of
//! objects up to Nix 2.18 and an object keyed by store path since; both are read.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::NixError;

const FEATURES: &str = "nix-command flakes";

/// Whether `tool` can be run (found on PATH).
#[must_use]
pub fn available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `cmd`, returning stdout, or Nix's own message as the error.
fn run(mut cmd: Command, tool: &str, installable: &str) -> Result<String, NixError> {
    let out = cmd.output().map_err(|source| NixError::Spawn {
        tool: tool.to_owned(),
        source,
    })?;
    if !out.status.success() {
        return Err(NixError::Eval {
            installable: installable.to_owned(),
            message: nix_message(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| NixError::Eval {
        installable: installable.to_owned(),
        message: format!("`{tool}` printed something that is not UTF-8"),
    })
}

/// Nix's stderr without the noise buildproof causes on purpose (no GC root, no lock
/// file written) and without blank lines, trimmed.
fn nix_message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            let l = l.trim();
            !l.is_empty()
                && !l.contains("you did not specify '--add-root'")
                && !l.contains("not writing modified lock file")
        })
        .collect();
    // Warnings (a missing channel dir, say) are noise beside an error.
    let lines: Vec<&str> = if lines.iter().any(|l| l.trim_start().starts_with("error")) {
        lines
            .into_iter()
            .filter(|l| !l.trim_start().starts_with("warning:"))
            .collect()
    } else {
        lines
    };
    if lines.is_empty() {
        "nix failed without a message".to_owned()
    } else {
        lines.join("\n")
    }
}

/// The one store derivation that `nix-instantiate FILE -A ATTR` prints.
pub fn instantiate_file(root: &Path, file: &str, attr: &str) -> Result<String, NixError> {
    let label = format!("{file} -A {attr}");
    let mut cmd = Command::new("nix-instantiate");
    cmd.current_dir(root).arg(file).arg("-A").arg(attr);
    let out = run(cmd, "nix-instantiate", &label)?;
    single_drv(&out, &label)
}

/// The store derivation of a flake installable such as `.#goinstance`.
pub fn instantiate_flake(root: &Path, installable: &str) -> Result<String, NixError> {
    let mut cmd = Command::new("nix");
    cmd.current_dir(root)
        .args(["--extra-experimental-features", FEATURES])
        .args(["path-info", "--derivation", "--no-write-lock-file"])
        .arg(installable);
    let out = run(cmd, "nix", installable)?;
    single_drv(&out, installable)
}

/// `nix flake show --json` of the flake in `root`: its outputs as JSON text.
pub fn flake_show(root: &Path) -> Result<String, NixError> {
    let mut cmd = Command::new("nix");
    cmd.current_dir(root)
        .args(["--extra-experimental-features", FEATURES])
        .args(["flake", "show", "--json", "--no-write-lock-file"])
        .arg(".");
    run(cmd, "nix", "flake show")
}

fn single_drv(stdout: &str, installable: &str) -> Result<String, NixError> {
    let drvs: Vec<&str> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match drvs.as_slice() {
        [one] if one.ends_with(".drv") => Ok((*one).to_owned()),
        _ => Err(NixError::Eval {
            installable: installable.to_owned(),
            message: format!(
                "expected it to evaluate to one derivation, got: {}",
                if drvs.is_empty() {
                    "nothing".to_owned()
                } else {
                    drvs.join(", ")
                }
            ),
        }),
    }
}

/// What the store database records of a valid path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// As Nix prints it: SRI (`sha256-…`) since 2.4, `sha256:<base32>` before.
    pub nar_hash: String,
    pub nar_size: Option<u64>,
}

/// `nix path-info --json PATH`: `None` when the path is not valid in the store.
/// Substituters are switched off: only the local database is asked.
pub fn path_info(store_path: &str) -> Result<Option<PathInfo>, NixError> {
    let mut cmd = Command::new("nix");
    cmd.args(["--extra-experimental-features", FEATURES])
        .args(["path-info", "--json", "--option", "substituters", ""])
        .arg(store_path);
    let out = cmd.output().map_err(|source| NixError::Spawn {
        tool: "nix".to_owned(),
        source,
    })?;
    if !out.status.success() {
        let message = nix_message(&String::from_utf8_lossy(&out.stderr));
        // Older releases fail on an invalid path instead of printing `valid: false`.
        if message.contains("is not valid") || message.contains("don't know how to build") {
            return Ok(None);
        }
        return Err(NixError::PathInfo {
            path: store_path.to_owned(),
            message,
        });
    }
    parse_path_info(&out.stdout, store_path).map_err(|message| NixError::PathInfo {
        path: store_path.to_owned(),
        message,
    })
}

/// Reads both JSON shapes of `nix path-info --json`.
pub fn parse_path_info(json: &[u8], store_path: &str) -> Result<Option<PathInfo>, String> {
    let v: Value =
        serde_json::from_slice(json).map_err(|e| format!("unexpected output of nix: {e}"))?;
    let entry = match &v {
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("path").and_then(Value::as_str) == Some(store_path))
            .or_else(|| items.first())
            .cloned(),
        Value::Object(map) => map.get(store_path).cloned().or_else(|| {
            // Keys without the store dir, should a release print them so.
            map.iter()
                .find(|(k, _)| store_path.ends_with(k.as_str()))
                .map(|(_, v)| v.clone())
        }),
        _ => None,
    };
    let Some(entry) = entry.filter(|e| !e.is_null()) else {
        return Ok(None);
    };
    if entry.get("valid").and_then(Value::as_bool) == Some(false) {
        return Ok(None);
    }
    let nar_hash = entry
        .get("narHash")
        .and_then(Value::as_str)
        .ok_or("nix printed no `narHash`")?
        .to_owned();
    Ok(Some(PathInfo {
        nar_hash,
        nar_size: entry.get("narSize").and_then(Value::as_u64),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "/nix/store/ni1cm20ydc8h9lbd4r793pgpnsl144xv-goinstance-t1";

    #[test]
    fn path_info_shapes() {
        let old = format!(
            r#"[{{"path":"{P}","narHash":"sha256-dripmXkQbDsbXxrgs6TcPSrafhYoMQC2AQJ5BFKzUH4=","narSize":288,"references":[]}}]"#
        );
        let new = format!(
            r#"{{"{P}":{{"narHash":"sha256-dripmXkQbDsbXxrgs6TcPSrafhYoMQC2AQJ5BFKzUH4=","narSize":288}}}}"#
        );
        for json in [old, new] {
            let info = parse_path_info(json.as_bytes(), P).unwrap().unwrap();
            assert_eq!(
                info.nar_hash,
                "sha256-dripmXkQbDsbXxrgs6TcPSrafhYoMQC2AQJ5BFKzUH4="
            );
            assert_eq!(info.nar_size, Some(288));
        }
        let invalid_old = format!(r#"[{{"path":"{P}","valid":false}}]"#);
        let invalid_new = format!(r#"{{"{P}":null}}"#);
        for json in [invalid_old, invalid_new] {
            assert_eq!(parse_path_info(json.as_bytes(), P).unwrap(), None);
        }
        assert!(parse_path_info(b"not json", P).is_err());
        assert!(parse_path_info(format!(r#"[{{"path":"{P}"}}]"#).as_bytes(), P).is_err());
    }

    #[test]
    fn one_derivation_only() {
        assert_eq!(
            single_drv("/nix/store/a-x.drv\n", "i").unwrap(),
            "/nix/store/a-x.drv"
        );
        assert!(single_drv("", "i").is_err());
        assert!(single_drv("/nix/store/a-x.drv\n/nix/store/b-y.drv\n", "i").is_err());
        assert!(single_drv("/nix/store/a-x\n", "i").is_err());
    }

    #[test]
    fn noise_is_dropped_from_messages() {
        let m = nix_message(
            "warning: you did not specify '--add-root'; the result might be removed by the garbage collector\nerror: attribute 'x' missing\n\n",
        );
        assert_eq!(m, "error: attribute 'x' missing");
        let m = nix_message(
            "warning: Nix search path entry '/nix/var/nix/profiles/per-user/root/channels' does not exist, ignoring\nerror: undefined variable 'x'\n       at /p/default.nix:1:3:\n",
        );
        assert_eq!(
            m,
            "error: undefined variable 'x'\n       at /p/default.nix:1:3:"
        );
        assert_eq!(nix_message("warning: only this\n"), "warning: only this");
    }
}
