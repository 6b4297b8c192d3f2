//! Image rules: `startup-changed`, `env-changed` (image config), `startup-broken` and
//! `library-missing` (from the recorded static startup verification).
//!
//! Fingerprints: a startup change is identified by the field and its old and new
//! values; an environment change by the variable and its old and new values; a
//! startup problem by its kind and the failing path (a problem recorded before
//! problems were typed: its path and message). An `[[accept]]` therefore stops
//! applying as soon as the values differ from the reviewed ones.
//!
//! `library-missing` is an error when the library is nowhere in the image, a
//! warning when a file of that name exists outside the loader's paths (what
//! `LD_LIBRARY_PATH` set at run time may still reach). With the file-level diff of
//! `image diff`, a startup finding names the changed or removed files that cause it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::RuleId;
use crate::model::dockerfile::DockerfileRecord;
use crate::model::finding::Location;
use crate::model::finding::{Finding, Level};
use crate::model::image::{
    FileChange, ImageRecord, MAX_INTERP_DEPTH, Problem, ProblemKind, Startup,
};

fn show(v: Option<&Value>) -> String {
    match v {
        None => "unset".to_owned(),
        Some(Value::String(s)) => format!("`{s}`"),
        Some(other) => format!("`{other}`"),
    }
}

/// Change rules between two startups (image configs). Public so `image diff` uses
/// exactly what `diff` and `check` use.
#[must_use]
pub fn compare_startup(component: &str, base: &Startup, new: &Startup) -> Vec<Finding> {
    let mut findings = Vec::new();
    for ((field, old), (_, now)) in base.startup_fields().into_iter().zip(new.startup_fields()) {
        let field = field.key();
        if old == now {
            continue;
        }
        if let (true, Some(Value::String(o)), Some(Value::String(n))) =
            (field == "stop_signal", &old, &now)
        {
            if super::signal::same(o, n) {
                continue;
            }
        }
        // No user, `0`, `root`, `0:0`: the runtime starts all of them as root.
        if field == "user"
            && is_root(old.as_ref().and_then(Value::as_str))
            && is_root(now.as_ref().and_then(Value::as_str))
        {
            continue;
        }
        let (o, n) = (show(old.as_ref()), show(now.as_ref()));
        let message = format!(
            "{field} changed: {o} → {n}; the container now starts differently — review it, then accept this fingerprint"
        );
        let identity = [field, &o, &n];
        findings.push(
            Finding::new(RuleId::StartupChanged, component, message, &identity)
                .with_detail("field", field)
                .with_detail("old", &old)
                .with_detail("new", &now),
        );
    }
    let env = |s: &Startup| -> BTreeMap<String, String> {
        s.env
            .iter()
            .flatten()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (e.clone(), String::new()),
            })
            .collect()
    };
    let (old_env, new_env) = (env(base), env(new));
    let names: std::collections::BTreeSet<&String> = old_env.keys().chain(new_env.keys()).collect();
    for name in names {
        let (o, n) = (old_env.get(name), new_env.get(name));
        if o == n {
            continue;
        }
        let fmt = |v: Option<&String>| v.map_or_else(|| "unset".to_owned(), |v| format!("`{v}`"));
        let what = match (o, n) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "changed",
        };
        let message = format!(
            "environment variable `{name}` {what}: {} → {}; check the program still reads what it expects",
            fmt(o),
            fmt(n)
        );
        let (os, ns) = (fmt(o), fmt(n));
        findings.push(
            Finding::new(RuleId::EnvChanged, component, message, &[name, &os, &ns])
                .with_detail("variable", name)
                .with_detail("old", o)
                .with_detail("new", n),
        );
    }
    findings
}

/// Whether a `User` value (image config or `USER`) starts the process as root with
/// root's group: unset, empty, `0`, `root`, or either with `:0`/`:root`. Spelling
/// root differently is no startup change.
#[must_use]
pub(crate) fn is_root(user: Option<&str>) -> bool {
    let Some(user) = user.map(str::trim).filter(|u| !u.is_empty()) else {
        return true;
    };
    let root = |part: &str| part == "0" || part == "root";
    match user.split_once(':') {
        Some((u, g)) => root(u) && root(g),
        None => root(user),
    }
}

/// Change rules between two recordings of one component's image.
#[must_use]
pub fn compare(component: &str, base: &ImageRecord, new: &ImageRecord) -> Vec<Finding> {
    compare_startup(component, &base.startup, &new.startup)
        .into_iter()
        .map(|f| {
            f.with_detail("old_manifest", base.manifest_digest)
                .with_detail("new_manifest", new.manifest_digest)
        })
        .collect()
}

/// State rules on the new image alone: one finding per startup problem. With the
/// component's Dockerfile, each finding points at the instruction that sets what
/// failed: `USER` for an unknown user or group, else the command (`ENTRYPOINT`, else
/// `CMD`), else the final `FROM`.
#[must_use]
pub fn state(
    component: &str,
    new: &ImageRecord,
    dockerfile: Option<&DockerfileRecord>,
) -> Vec<Finding> {
    judged(component, new, dockerfile, None)
}

/// [`state`] for `image diff`: each finding also names the files that changed
/// between the two images and cause it (a removed library, a script whose mode
/// changed, the target a symlink lost).
#[must_use]
pub fn state_since(component: &str, new: &ImageRecord, changes: &[FileChange]) -> Vec<Finding> {
    judged(component, new, None, Some(changes))
}

/// The changes among `changes` that explain `p`: those to the files it names, and
/// for a missing library any file of that name removed or changed.
fn causes<'c>(p: &Problem, changes: &'c [FileChange]) -> Vec<&'c FileChange> {
    changes
        .iter()
        .filter(|c| !matches!(c, FileChange::Added { .. }))
        .filter(|c| {
            p.files.iter().any(|f| f == c.path())
                || matches!(&p.kind, ProblemKind::LibraryMissing { library, .. }
                    if c.path().rsplit('/').next() == Some(library.as_str()))
        })
        .collect()
}

/// A file change in words: "`/usr/bin/mawk` removed", "`/app/run.sh` mode 0755 → 0711".
fn change_text(c: &FileChange) -> String {
    match c {
        FileChange::Added { path, .. } => format!("`{path}` added"),
        FileChange::Removed { path, old } => match &old.target {
            Some(t) => format!("`{path}` removed (a symlink to `{t}`)"),
            None => format!("`{path}` removed"),
        },
        FileChange::Modified { path, old, new } => {
            let mut what = Vec::new();
            if old.kind != new.kind {
                what.push(format!("{} → {}", old.kind, new.kind));
            }
            if old.mode != new.mode {
                what.push(format!("mode {:04o} → {:04o}", old.mode, new.mode));
            }
            if (old.uid, old.gid) != (new.uid, new.gid) {
                what.push(format!(
                    "owner {}:{} → {}:{}",
                    old.uid, old.gid, new.uid, new.gid
                ));
            }
            if old.target != new.target {
                what.push(format!(
                    "target `{}` → `{}`",
                    old.target.as_deref().unwrap_or(""),
                    new.target.as_deref().unwrap_or("")
                ));
            } else if old.digest != new.digest || old.size != new.size {
                what.push("content changed".to_owned());
            }
            format!("`{path}` {}", what.join(", "))
        }
    }
}

fn judged(
    component: &str,
    new: &ImageRecord,
    dockerfile: Option<&DockerfileRecord>,
    changes: Option<&[FileChange]>,
) -> Vec<Finding> {
    new.problems
        .iter()
        .map(|p| {
            let verdict = judge(p);
            let causes = changes.map(|c| causes(p, c)).unwrap_or_default();
            let mut told = p.message.clone();
            if !causes.is_empty() {
                let list: Vec<String> = causes.iter().map(|c| change_text(c)).collect();
                told = format!("{told}; since the old image: {}", list.join(", "));
            }
            let message = match (verdict.level, verdict.fix.is_empty()) {
                (_, true) => told,
                (Level::Error, false) => {
                    format!("{told}; the container cannot start: {}", verdict.fix)
                }
                _ => format!("{told}; {}", verdict.fix),
            };
            // A typed problem is identified by what failed and where, never by its
            // wording; one recorded before problems were typed has only its message.
            let identity = match p.kind {
                ProblemKind::Unclassified => [p.path.as_str(), p.message.as_str()],
                ref kind => [kind.id(), p.path.as_str()],
            };
            let mut f = Finding::new(verdict.rule, component, message, &identity)
                .with_detail("path", &p.path)
                .with_detail("manifest_digest", new.manifest_digest)
                .with_detail("startup", startup_summary(&new.startup));
            if p.kind != ProblemKind::Unclassified {
                f = f.with_detail("kind", p.kind.id());
            }
            if !causes.is_empty() {
                f = f.with_detail("caused_by", &causes);
            }
            f.level = verdict.level;
            f.with_location(dockerfile.map(|d| instruction_of(p, d)))
        })
        .collect()
}

/// The Dockerfile line where the problem is fixed.
fn instruction_of(p: &Problem, d: &DockerfileRecord) -> Location {
    let about_user = match &p.kind {
        // Recorded before problems were typed: the message is all there is.
        ProblemKind::Unclassified => {
            p.message.starts_with("user `") || p.message.starts_with("group `")
        }
        kind => kind.about_user(),
    };
    let instruction = if about_user {
        d.startup.user.as_ref()
    } else {
        d.startup.entrypoint.as_ref().or(d.startup.cmd.as_ref())
    };
    Location {
        file: d.path.clone(),
        line: Some(instruction.map_or(d.stage.line, |field| field.line)),
    }
}

/// What a startup problem means for the user: its rule, level and fix.
struct Verdict {
    rule: RuleId,
    level: Level,
    fix: String,
}

fn judge(p: &Problem) -> Verdict {
    let error = |fix: String| Verdict {
        rule: RuleId::StartupBroken,
        level: Level::Error,
        fix,
    };
    let fixed = |fix: &str| error(fix.to_owned());
    match &p.kind {
        ProblemKind::Unclassified => {
            let level = p.level.unwrap_or(Level::Error);
            Verdict {
                rule: if level == Level::Error {
                    RuleId::StartupBroken
                } else {
                    RuleId::LibraryMissing
                },
                level,
                fix: p.fix.clone(),
            }
        }
        ProblemKind::NothingToStart => fixed("set ENTRYPOINT or CMD"),
        ProblemKind::EmptyCommand
        | ProblemKind::Unresolvable
        | ProblemKind::NotRegularFile => fixed("fix ENTRYPOINT/CMD or the files they name"),
        ProblemKind::NotInPath { .. } => {
            fixed("install it in the image, use its absolute path, or set PATH")
        }
        ProblemKind::NotFound { workdir: Some(_) } => {
            fixed("fix WORKDIR or use an absolute path in ENTRYPOINT/CMD")
        }
        ProblemKind::NotFound { workdir: None } => fixed(
            "COPY it into the final image (check `COPY --from` paths and WORKDIR), or fix ENTRYPOINT/CMD",
        ),
        ProblemKind::NotExecutable { .. } => {
            fixed("make it executable in the build (`chmod +x`, or `COPY --chmod=0755`)")
        }
        ProblemKind::NotReadable { .. } => fixed(
            "make it readable by the user it runs as (`chmod a+r`, or `COPY --chmod=0755`), or run as its owner",
        ),
        ProblemKind::ExecFormat => fixed("point ENTRYPOINT/CMD at a binary or a `#!` script"),
        ProblemKind::ShebangEmpty => fixed("fix the script's `#!` line"),
        ProblemKind::ShebangCrlf => error(format!(
            "convert `{}` to Unix line endings (`dos2unix`, or `sed -i 's/\\r$//'`)",
            p.path
        )),
        ProblemKind::InterpreterDepth => error(format!(
            "call the final interpreter directly: at most {MAX_INTERP_DEPTH} `#!` scripts may run one another"
        )),
        ProblemKind::InterpreterMissing {
            interpreter,
            script,
        } => error(format!(
            "install `{interpreter}` in the image, or change the `#!` line of `{script}`"
        )),
        ProblemKind::EnvProgramMissing { program } => error(format!(
            "install `{program}` in the image, or change the `#!` line"
        )),
        ProblemKind::LoaderMissing { .. } => {
            fixed("use a base image that has the C library, or link the binary statically")
        }
        ProblemKind::LoaderMismatch { .. } => fixed(
            "build the program for the image's platform, or install the loader of its architecture",
        ),
        ProblemKind::LibraryMissing {
            elsewhere: None, ..
        } => Verdict {
            rule: RuleId::LibraryMissing,
            level: Level::Error,
            fix: "install the package that provides it (or stop deleting it), or ship it with the program"
                .to_owned(),
        },
        ProblemKind::LibraryMissing {
            elsewhere: Some(_), ..
        } => Verdict {
            rule: RuleId::LibraryMissing,
            level: Level::Warning,
            fix: "put it where the loader looks (a RUNPATH, `ldconfig` after listing its directory in /etc/ld.so.conf.d, or `ENV LD_LIBRARY_PATH`), unless the runtime sets LD_LIBRARY_PATH".to_owned(),
        },
        ProblemKind::UserUnknown { wrapper: None, .. } => fixed(
            "create the user before USER (`adduser`/`useradd`), or use a numeric uid",
        ),
        ProblemKind::UserUnknown {
            wrapper: Some(w), ..
        } => error(format!(
            "create the user in the image (`adduser`/`useradd`), or give `{w}` a numeric uid"
        )),
        ProblemKind::GroupUnknown { wrapper: None, .. } => {
            fixed("create the group before USER, or use a numeric gid")
        }
        ProblemKind::GroupUnknown {
            wrapper: Some(w), ..
        } => error(format!(
            "create the group in the image, or give `{w}` a numeric gid"
        )),
        ProblemKind::WrappedCommandMissing { wrapper, .. } => error(format!(
            "install it in the image, fix the command `{wrapper}` is given (ENTRYPOINT/CMD), or set PATH"
        )),
        ProblemKind::WrapperWithoutCommand { wrapper } => error(format!(
            "give `{wrapper}` a command to run (CMD, or after `--` in ENTRYPOINT)"
        )),
        ProblemKind::ScriptMissing {
            workdir: Some(_), ..
        } => fixed("COPY the script into the image, or fix WORKDIR or the script's path"),
        ProblemKind::ScriptMissing { workdir: None, .. } => {
            fixed("COPY the script into the image, or fix its path in ENTRYPOINT/CMD")
        }
    }
}

/// The fields that decide what starts, set ones only.
fn startup_summary(s: &Startup) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    };
    put("entrypoint", s.entrypoint.clone().map(Value::from));
    put("cmd", s.cmd.clone().map(Value::from));
    put("user", s.user.clone().map(Value::from));
    put("working_dir", s.working_dir.clone().map(Value::from));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::model::image::FileState;

    fn record(problems: Vec<Problem>) -> ImageRecord {
        ImageRecord {
            manifest_digest: Digest::of(b"m"),
            names: Vec::new(),
            index_digests: Vec::new(),
            config_digest: None,
            content_digest: None,
            identity: None,
            transport: None,
            labels: std::collections::BTreeMap::new(),
            layers: Vec::new(),
            startup: Startup::default(),
            problems,
            rejected_entries: Vec::new(),
        }
    }

    fn state(mode: u32) -> FileState {
        FileState {
            kind: "file",
            size: 10,
            mode,
            uid: 0,
            gid: 0,
            digest: Some(Digest::of(b"x")),
            target: None,
        }
    }

    fn library(elsewhere: Option<&str>) -> Problem {
        Problem::new(
            ProblemKind::LibraryMissing {
                library: "libz.so.1".into(),
                needed_by: vec!["/usr/bin/python3.11".into()],
                elsewhere: elsewhere.map(str::to_owned),
            },
            "libz.so.1",
            "`/usr/bin/python3` → needs `libz.so.1`".into(),
        )
    }

    #[test]
    fn a_missing_library_is_an_error_unless_it_is_elsewhere_in_the_image() {
        let f = state_since_none(library(None));
        assert_eq!((f.rule, f.level), (RuleId::LibraryMissing, Level::Error));
        assert!(
            f.message.contains("the container cannot start"),
            "{}",
            f.message
        );
        let f = state_since_none(library(Some("/opt/lib/libz.so.1")));
        assert_eq!((f.rule, f.level), (RuleId::LibraryMissing, Level::Warning));
    }

    fn state_since_none(p: Problem) -> Finding {
        super::state("app", &record(vec![p]), None).remove(0)
    }

    #[test]
    fn image_diff_names_the_changes_behind_a_finding() {
        let script = Problem::new(
            ProblemKind::NotReadable {
                uid: 65534,
                mode: 0o711,
                owner: "0:0".into(),
            },
            "/app/run.sh",
            "`/app/run.sh` is a `#!/bin/sh` script".into(),
        )
        .with_files(vec!["/app/run.sh".into()]);
        let changes = vec![
            FileChange::Modified {
                path: "/app/run.sh".into(),
                old: state(0o755),
                new: state(0o711),
            },
            FileChange::Removed {
                path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13".into(),
                old: state(0o644),
            },
            FileChange::Added {
                path: "/app/other".into(),
                new: state(0o644),
            },
        ];
        let found = state_since("app", &record(vec![script, library(None)]), &changes);
        let by_rule = |rule| found.iter().find(|f| f.rule == rule).unwrap();
        let f = by_rule(RuleId::StartupBroken);
        assert!(
            f.message
                .contains("since the old image: `/app/run.sh` mode 0755 → 0711;"),
            "{}",
            f.message
        );
        // A library is matched by its file name wherever the loader looked.
        let f = by_rule(RuleId::LibraryMissing);
        assert!(!f.message.contains("libz.so.1.2.13"), "{}", f.message);
        let mut renamed = changes.clone();
        renamed[1] = FileChange::Removed {
            path: "/usr/lib/x86_64-linux-gnu/libz.so.1".into(),
            old: state(0o644),
        };
        let found = state_since("app", &record(vec![library(None)]), &renamed);
        assert!(
            found[0]
                .message
                .contains("since the old image: `/usr/lib/x86_64-linux-gnu/libz.so.1` removed;"),
            "{}",
            found[0].message
        );
        // The fingerprint is the problem's, whatever the diff adds to the message.
        let alone = super::state("app", &record(vec![library(None)]), None);
        assert_eq!(found[0].fingerprint, alone[0].fingerprint);
    }

    // `USER 0` → no user: both start as root; a real change of user still counts.
    #[test]
    fn spellings_of_root_are_no_startup_change() {
        let with_user = |u: Option<&str>| Startup {
            user: u.map(str::to_owned),
            ..Startup::default()
        };
        for (old, new) in [
            (Some("0"), None),
            (None, Some("root")),
            (Some("0:0"), Some("root")),
            (Some("root:root"), None),
        ] {
            let f = compare_startup("web", &with_user(old), &with_user(new));
            assert!(f.is_empty(), "{old:?} → {new:?}: {f:?}");
        }
        for (old, new) in [
            (Some("0"), Some("1000")),
            (None, Some("nobody")),
            (Some("0:1000"), None),
        ] {
            let f = compare_startup("web", &with_user(old), &with_user(new));
            assert_eq!(f.len(), 1, "{old:?} → {new:?}");
            assert_eq!(f[0].rule, RuleId::StartupChanged);
        }
    }
}
