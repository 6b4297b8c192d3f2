//! Static startup verification (SPEC.md, "Static startup verification"): would the
//! container's process start, judged from the merged layers alone?
//!
//! 1. argv = entrypoint + cmd; both empty is broken. A `[""]` entrypoint (how a
//!    Dockerfile clears an inherited one) is no entrypoint. Shell form is argv
//!    `[shell, "-c", …]`, so the shell is checked like any other program.
//! 2. A command without `/` is searched in the config's `PATH` (Docker's default when
//!    unset), taking the first regular file with any execute bit, as runc does; then
//!    whether the user may execute it is judged. A relative path with `/` resolves
//!    against the working dir.
//! 3. Paths resolve inside the image root: `..` stops at `/`, absolute symlink
//!    targets restart at the image root, at most [`MAX_LINKS`] links, and a link seen
//!    twice in the same state is a loop. The host filesystem is never consulted.
//! 4. The target must be a regular file executable for the configured user (root
//!    needs any execute bit; others the owner, group or other bit that applies).
//! 5. `#!` scripts: the interpreter is checked the same way, recursively, at most
//!    [`MAX_INTERP_DEPTH`] deep (the kernel's limit). ELF: the `PT_INTERP` loader must
//!    exist; a `DT_NEEDED` library found in neither `DT_RUNPATH`/`DT_RPATH` nor the
//!    loader's default directories is a warning (`library-missing`), since
//!    `LD_LIBRARY_PATH` or `ld.so.cache` may still find it.
//!    A `#!/usr/bin/env prog` line has `prog` searched in the image's PATH; a `#!`
//!    line ending in `\r` (Windows line endings) names an interpreter with `\r`.
//! 6. A named user (and named group) must exist in `/etc/passwd` (`/etc/group`),
//!    read through whatever they resolve to (symlink or hardlink) in the image.
//!
//! 7. Shell form (`[sh, "-c", script]`): when the script starts with a plain command
//!    word (optionally after `exec`), that command must resolve too; quoting,
//!    expansions, redirections, reserved words and builtins are left to the shell.
//!
//! Not judged: directory search permissions along the path, capabilities, seccomp,
//! `ld.so.conf` directories beyond the defaults.

use std::collections::BTreeSet;

use super::elf::ElfInfo;
use super::layers::{Head, Kind, MergedFs, Node};
use crate::model::image::{DEFAULT_PATH, MAX_INTERP_DEPTH, Problem, ProblemKind, Startup};

/// Symlinks followed while resolving one path (Linux's `MAXSYMLINKS`).
pub const MAX_LINKS: usize = 40;
/// Directories the loaders search by default (glibc and musl, multiarch included).
const LIB_DIRS: [&str; 10] = [
    "/lib",
    "/usr/lib",
    "/lib64",
    "/usr/lib64",
    "/usr/local/lib",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/local/lib64",
];

/// Who the process runs as.
#[derive(Debug, Clone)]
struct Creds {
    uid: u64,
    gid: u64,
    groups: BTreeSet<u64>,
}

/// Runs every check; an empty list means the container would start.
#[must_use]
pub fn verify(s: &Startup, fs: &MergedFs) -> Vec<Problem> {
    let mut problems = Vec::new();
    let creds = match creds_of(s.user.as_deref().unwrap_or(""), fs) {
        Ok(c) => c,
        Err(p) => {
            problems.push(*p);
            // Keep judging the rest as root, so every problem is named at once.
            Creds {
                uid: 0,
                gid: 0,
                groups: BTreeSet::new(),
            }
        }
    };
    // `ENTRYPOINT [""]` is how a Dockerfile clears an inherited entrypoint: none.
    let entrypoint = s
        .entrypoint
        .as_ref()
        .filter(|e| !(e.len() == 1 && e[0].is_empty()));
    let argv: Vec<&String> = entrypoint
        .into_iter()
        .flatten()
        .chain(s.cmd.iter().flatten())
        .collect();
    let Some(program) = argv.first() else {
        problems.push(Problem::new(
            ProblemKind::NothingToStart,
            "",
            "the image sets neither entrypoint nor cmd: there is nothing to start".to_owned(),
        ));
        return problems;
    };
    let path_var = s
        .env
        .iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let cwd = s
        .working_dir
        .as_deref()
        .filter(|w| !w.is_empty())
        .unwrap_or("/");
    let ctx = Ctx {
        fs,
        creds: &creds,
        cwd,
        path_var,
    };
    if program.is_empty() {
        problems.push(Problem::new(
            ProblemKind::EmptyCommand,
            "",
            "the command is an empty string".to_owned(),
        ));
    } else if program.contains('/') {
        ctx.check_program(program, 0, &mut problems);
    } else {
        match ctx.search_path(program, path_var) {
            Ok(found) => ctx.check_program(&found, 0, &mut problems),
            Err(p) => problems.push(*p),
        }
    }
    if problems.is_empty() {
        if let Some(word) = shell_form_command(&argv) {
            let before = problems.len();
            if word.contains('/') {
                ctx.check_program(word, 0, &mut problems);
            } else {
                match ctx.search_path(word, path_var) {
                    Ok(found) => ctx.check_program(&found, 0, &mut problems),
                    Err(p) => problems.push(*p),
                }
            }
            for p in &mut problems[before..] {
                p.message = format!("the shell-form command `{}`: {}", argv[2], p.message);
            }
        }
    }
    problems
}

/// Shell reserved words and builtins: a first word the shell runs itself. POSIX
/// reserved words, special and regular builtins, and the common bash/ash/ksh ones.
const SHELL_BUILTINS: &[&str] = &[
    // reserved words
    "!",
    "{",
    "}",
    "(",
    "case",
    "do",
    "done",
    "elif",
    "else",
    "esac",
    "fi",
    "for",
    "if",
    "in",
    "then",
    "until",
    "while",
    "[[",
    "]]",
    "function",
    "select",
    "time",
    "coproc",
    // special builtins
    ":",
    ".",
    "break",
    "continue",
    "eval",
    "exec",
    "exit",
    "export",
    "readonly",
    "return",
    "set",
    "shift",
    "times",
    "trap",
    "unset",
    // regular builtins
    "[",
    "alias",
    "bg",
    "cd",
    "command",
    "echo",
    "false",
    "fc",
    "fg",
    "getopts",
    "hash",
    "jobs",
    "kill",
    "newgrp",
    "printf",
    "pwd",
    "read",
    "test",
    "true",
    "type",
    "ulimit",
    "umask",
    "unalias",
    "wait",
    // bash, ash, ksh
    "source",
    "local",
    "let",
    "declare",
    "typeset",
    "builtin",
    "caller",
    "compgen",
    "complete",
    "dirs",
    "disown",
    "enable",
    "help",
    "history",
    "logout",
    "mapfile",
    "popd",
    "pushd",
    "readarray",
    "shopt",
    "suspend",
    "print",
    "whence",
    "ulimit",
];

/// The program a shell-form command (`[sh, "-c", "server --port 80"]`) runs first,
/// when that is plain: one word without quoting, expansion or redirection, after an
/// optional `exec`. Anything cleverer is left to the shell, unjudged.
fn shell_form_command<'a>(argv: &[&'a String]) -> Option<&'a str> {
    let [shell, flag, script, ..] = argv else {
        return None;
    };
    let name = shell.rsplit('/').next().unwrap_or(shell);
    if flag.as_str() != "-c" || !["sh", "bash", "ash", "dash", "zsh", "ksh"].contains(&name) {
        return None;
    }
    let mut words = script.split_whitespace();
    let mut word = words.next()?;
    if word == "exec" {
        word = words.next()?;
    }
    let plain = word
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-/+@%,".contains(&b));
    (plain && !SHELL_BUILTINS.contains(&word)).then_some(word)
}

struct Ctx<'a> {
    fs: &'a MergedFs,
    creds: &'a Creds,
    cwd: &'a str,
    path_var: &'a str,
}

impl Ctx<'_> {
    /// `path` made absolute against the working dir, `.` and empty parts dropped
    /// (`..` is left for [`resolve`], which knows about symlinks).
    fn absolute(&self, path: &str) -> String {
        let joined = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("{}/{path}", self.cwd)
        };
        let parts: Vec<&str> = joined
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        format!("/{}", parts.join("/"))
    }

    fn search_path(&self, program: &str, path_var: &str) -> Result<String, Box<Problem>> {
        let mut near_miss = None;
        for dir in path_var.split(':').filter(|d| d.starts_with('/')) {
            let candidate = format!("{}/{program}", dir.trim_end_matches('/'));
            if let Ok((_, node)) = resolve(self.fs, &candidate) {
                // The runtime (runc, Go's LookPath) takes the first regular file with any
                // execute bit; whether this user may run it is judged afterwards.
                if node.kind == Kind::File && node.mode & 0o111 != 0 {
                    return Ok(candidate);
                }
                near_miss.get_or_insert(candidate);
            }
        }
        match near_miss {
            // Found but unusable: report why for that file.
            Some(candidate) => Ok(candidate),
            None => Err(Box::new(Problem::new(
                ProblemKind::NotInPath {
                    program: program.to_owned(),
                    path_var: path_var.to_owned(),
                },
                program,
                format!("`{program}` is not found in PATH ({path_var})"),
            ))),
        }
    }

    /// Checks the program at `path` (absolute, or relative to the working dir): it
    /// must resolve to a regular file this user may execute, and then what the
    /// kernel does next must work too: a `#!` script's interpreter, an ELF binary's
    /// loader and libraries.
    fn check_program(&self, path: &str, depth: usize, problems: &mut Vec<Problem>) {
        let wanted = self.absolute(path);
        let (real, node) = match resolve(self.fs, &wanted) {
            Ok(found) => found,
            Err(why) if !path.starts_with('/') => {
                problems.push(Problem::new(
                    ProblemKind::NotFound {
                        workdir: Some(self.cwd.to_owned()),
                    },
                    &wanted,
                    format!(
                        "{}: `{path}` is relative to the working dir `{}`",
                        why.message, self.cwd
                    ),
                ));
                return;
            }
            Err(why) => {
                let kind = if why.missing {
                    ProblemKind::NotFound { workdir: None }
                } else {
                    ProblemKind::Unresolvable
                };
                problems.push(Problem::new(kind, &wanted, why.message));
                return;
            }
        };
        let shown = if real == wanted {
            format!("`{wanted}`")
        } else {
            format!("`{wanted}` (→ `{real}`)")
        };
        if node.kind != Kind::File {
            let what = match node.kind {
                Kind::Dir => "a directory",
                _ => "not a regular file",
            };
            problems.push(Problem::new(
                ProblemKind::NotRegularFile,
                &wanted,
                format!("{shown} is {what}"),
            ));
            return;
        }
        if !executable(node, self.creds) {
            problems.push(Problem::new(
                ProblemKind::NotExecutable {
                    uid: self.creds.uid,
                    mode: node.mode,
                    owner: format!("{}:{}", node.uid, node.gid),
                },
                &wanted,
                format!(
                    "{shown} is not executable by uid {}: mode {:04o}, owner {}:{}",
                    self.creds.uid, node.mode, node.uid, node.gid
                ),
            ));
            return;
        }
        match &node.head {
            Head::Script(line) => self.check_script(&wanted, &shown, line, depth, problems),
            Head::Elf(info) => self.check_elf(&real, &shown, info, problems),
            Head::Other => problems.push(Problem::new(
                ProblemKind::ExecFormat,
                &wanted,
                format!("{shown} is neither an ELF binary nor a `#!` script (exec format error)"),
            )),
        }
    }

    /// A `#!` script: the interpreter its first line names, checked like the
    /// program itself, one level deeper.
    fn check_script(
        &self,
        wanted: &str,
        shown: &str,
        line: &str,
        depth: usize,
        problems: &mut Vec<Problem>,
    ) {
        // The kernel splits the `#!` line once, at the first space or tab.
        let line = line.trim_matches([' ', '\t']);
        let (interp, arg) = line
            .split_once([' ', '\t'])
            .map_or((line, ""), |(i, a)| (i, a.trim_matches([' ', '\t'])));
        if interp.is_empty() {
            problems.push(Problem::new(
                ProblemKind::ShebangEmpty,
                wanted,
                format!("{shown} starts with `#!` but names no interpreter"),
            ));
            return;
        }
        if interp.contains('\r') && resolve(self.fs, &self.absolute(interp)).is_err() {
            problems.push(Problem::new(
                ProblemKind::ShebangCrlf,
                wanted,
                format!(
                    "{shown} has a `#!` line ending in `\\r` (Windows line endings): the kernel looks for the interpreter `{}`",
                    interp.escape_debug()
                ),
            ));
            return;
        }
        if depth >= MAX_INTERP_DEPTH {
            problems.push(Problem::new(
                ProblemKind::InterpreterDepth,
                wanted,
                format!("{shown}: too many levels of `#!` interpreters"),
            ));
            return;
        }
        let before = problems.len();
        self.check_program(interp, depth + 1, problems);
        let missing = problems.len() > before;
        let interp_path = self.absolute(interp);
        if !missing && interp.rsplit('/').next() == Some("env") {
            self.check_env_program(wanted, arg, depth + 1, problems);
        }
        for p in &mut problems[before..] {
            if matches!(p.kind, ProblemKind::LibraryMissing { .. }) {
                continue;
            }
            p.message = format!("interpreter of {shown}: {}", p.message);
            if p.path == interp_path && matches!(p.kind, ProblemKind::NotFound { .. }) {
                p.kind = ProblemKind::InterpreterMissing {
                    interpreter: interp.to_owned(),
                    script: wanted.to_owned(),
                };
            }
        }
    }

    /// An ELF binary: its `PT_INTERP` loader must be a regular file, and every
    /// `DT_NEEDED` library should be where the loader looks.
    fn check_elf(&self, real: &str, shown: &str, info: &ElfInfo, problems: &mut Vec<Problem>) {
        let Some(loader) = &info.interp else {
            return; // static: nothing else to load
        };
        let loader_missing = |message: String| {
            Problem::new(
                ProblemKind::LoaderMissing {
                    loader: loader.clone(),
                },
                loader,
                message,
            )
        };
        match resolve(self.fs, loader) {
            Ok((_, n)) if n.kind == Kind::File => {}
            Ok(_) => problems.push(loader_missing(format!(
                "ELF loader `{loader}` of {shown} is not a regular file"
            ))),
            Err(why) => {
                problems.push(loader_missing(format!(
                    "ELF loader `{loader}` of {shown} is missing: {}",
                    why.message
                )));
                return;
            }
        }
        let origin = real.rsplit_once('/').map_or("/", |(d, _)| d);
        for lib in info.needed.iter().flatten() {
            if !self.library_found(lib, &info.runpath, origin) {
                problems.push(Problem::new(
                    ProblemKind::LibraryMissing {
                        library: lib.clone(),
                        needed_by: vec![real.to_owned()],
                        elsewhere: None,
                    },
                    lib,
                    format!(
                        "library `{lib}` needed by {shown} is not in the loader's default paths ({})",
                        LIB_DIRS[..5].join(", ")
                    ),
                ));
            }
        }
    }

    /// `#!/usr/bin/env [options] program`: the program env runs, searched in the
    /// image's PATH. `-S`/`--split-string` splits the argument; `-i`, `-0`, `-u NAME`,
    /// `-C DIR` and `NAME=value` are skipped. Anything else unusual is not judged.
    fn check_env_program(
        &self,
        script: &str,
        arg: &str,
        depth: usize,
        problems: &mut Vec<Problem>,
    ) {
        let split = arg.starts_with("-S") || arg.starts_with("--split-string");
        if !split && arg.contains([' ', '\t']) {
            // Linux passes `python3 -u` as one word; not judged.
            return;
        }
        let mut words = arg.split([' ', '\t']).filter(|w| !w.is_empty());
        let mut program = None;
        while let Some(w) = words.next() {
            match w {
                "-S" | "--split-string" | "-i" | "--ignore-environment" | "-" | "-0" | "--null" => {
                }
                "-u" | "--unset" | "-C" | "--chdir" => {
                    words.next();
                }
                _ if w.starts_with("-S") => {
                    program = Some(&w[2..]);
                    break;
                }
                _ if w.starts_with('-') => return,
                _ if w.contains('=') && !w.starts_with('=') => {}
                _ => {
                    program = Some(w);
                    break;
                }
            }
        }
        let Some(program) = program.filter(|p| !p.is_empty()) else {
            return;
        };
        let before = problems.len();
        if program.contains('/') {
            self.check_program(program, depth, problems);
        } else {
            match self.search_path(program, self.path_var) {
                Ok(found) => self.check_program(&found, depth, problems),
                Err(p) => problems.push(*p),
            }
        }
        let crlf = program.ends_with('\r');
        for p in &mut problems[before..] {
            if matches!(p.kind, ProblemKind::LibraryMissing { .. }) {
                continue;
            }
            if crlf {
                *p = Problem::new(
                    ProblemKind::ShebangCrlf,
                    script,
                    format!(
                        "`env` runs `{}`: the `#!` line ends in `\\r` (Windows line endings)",
                        program.escape_debug()
                    ),
                );
            } else {
                p.message = format!("`env` runs `{program}`: {}", p.message);
                if matches!(
                    p.kind,
                    ProblemKind::NotInPath { .. } | ProblemKind::NotFound { .. }
                ) {
                    p.kind = ProblemKind::EnvProgramMissing {
                        program: program.to_owned(),
                    };
                }
            }
        }
    }

    fn library_found(&self, lib: &str, runpath: &[String], origin: &str) -> bool {
        if lib.contains('/') {
            return resolve(self.fs, &self.absolute(lib)).is_ok();
        }
        let extra = runpath
            .iter()
            .map(|d| d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin));
        extra
            .chain(LIB_DIRS.iter().map(|d| (*d).to_owned()))
            .filter(|d| d.starts_with('/'))
            .any(|d| {
                resolve(self.fs, &format!("{}/{lib}", d.trim_end_matches('/')))
                    .is_ok_and(|(_, n)| n.kind == Kind::File)
            })
    }
}

fn executable(node: &Node, creds: &Creds) -> bool {
    if creds.uid == 0 {
        return node.mode & 0o111 != 0;
    }
    if node.uid == creds.uid {
        node.mode & 0o100 != 0
    } else if node.gid == creds.gid || creds.groups.contains(&node.gid) {
        node.mode & 0o010 != 0
    } else {
        node.mode & 0o001 != 0
    }
}

/// Why a path cannot be reached in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// A component does not exist (rather than a loop, too many links, or a file
    /// where a directory should be).
    pub missing: bool,
    pub message: String,
}

impl Unreachable {
    fn missing(message: String) -> Self {
        Self {
            missing: true,
            message,
        }
    }

    fn other(message: String) -> Self {
        Self {
            missing: false,
            message,
        }
    }
}

/// Resolves `path` (absolute) inside the image root, following symlinks. Returns the
/// real path and its node, or why it cannot be reached.
pub fn resolve<'a>(fs: &'a MergedFs, path: &str) -> Result<(String, &'a Node), Unreachable> {
    let mut pending: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    let mut seen = BTreeSet::new();
    let mut node: Option<&Node> = None;
    while let Some(comp) = pending.pop() {
        match comp.as_str() {
            "" | "." => continue,
            ".." => {
                cur.pop();
                node = None;
                continue;
            }
            _ => {}
        }
        let here = format!(
            "/{}",
            cur.iter()
                .chain([&comp])
                .cloned()
                .collect::<Vec<_>>()
                .join("/")
        );
        let Some(n) = fs.nodes.get(&here) else {
            return Err(Unreachable::missing(if here == path {
                format!("`{path}` does not exist in the image")
            } else {
                format!("`{path}` does not exist in the image (no `{here}`)")
            }));
        };
        match n.kind {
            Kind::Symlink => {
                hops += 1;
                if hops > MAX_LINKS {
                    return Err(Unreachable::other(format!(
                        "too many levels of symbolic links resolving `{path}` (at `{here}`)"
                    )));
                }
                if !seen.insert((here.clone(), pending.clone())) {
                    return Err(Unreachable::other(format!(
                        "symbolic link loop at `{here}` resolving `{path}`"
                    )));
                }
                let target = n.target.clone().unwrap_or_default();
                if target.starts_with('/') {
                    cur.clear();
                }
                pending.extend(target.split('/').rev().map(str::to_owned));
                node = None;
            }
            Kind::Dir => {
                cur.push(comp);
                node = Some(n);
            }
            Kind::File | Kind::Other => {
                if pending.iter().any(|c| !c.is_empty() && c != ".") {
                    return Err(Unreachable::other(format!("`{here}` is not a directory")));
                }
                cur.push(comp);
                node = Some(n);
            }
        }
    }
    let real = format!("/{}", cur.join("/"));
    match node {
        Some(n) => Ok((real, n)),
        None => fs
            .nodes
            .get(&real)
            .map(|n| (real.clone(), n))
            .ok_or_else(|| {
                Unreachable::other(format!("`{path}` resolves to the image root, a directory"))
            }),
    }
}

fn lines_of<'a>(fs: &'a MergedFs, file: &str) -> Option<Vec<Vec<&'a str>>> {
    // `/etc/passwd` may be a symlink or hardlink: read what it resolves to.
    let (real, node) = resolve(fs, file).ok()?;
    if node.kind != Kind::File {
        return None;
    }
    let bytes = fs.kept.get(&real)?;
    let text = std::str::from_utf8(bytes).ok()?;
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split(':').collect())
            .collect(),
    )
}

fn creds_of(spec: &str, fs: &MergedFs) -> Result<Creds, Box<Problem>> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = lines_of(fs, "/etc/passwd");
    let groups_file = lines_of(fs, "/etc/group");
    let (uid, mut gid, name) = if user.is_empty() {
        (0, 0, Some("root".to_owned()))
    } else if let Ok(uid) = user.parse::<u64>() {
        let entry = passwd
            .iter()
            .flatten()
            .find(|f| f.get(2).and_then(|u| u.parse::<u64>().ok()) == Some(uid));
        let gid = entry
            .and_then(|f| f.get(3))
            .and_then(|g| g.parse().ok())
            .unwrap_or(0);
        (
            uid,
            gid,
            entry.and_then(|f| f.first()).map(|s| (*s).to_owned()),
        )
    } else {
        let Some(lines) = &passwd else {
            return Err(Box::new(Problem::new(
                ProblemKind::UserUnknown {
                    user: user.to_owned(),
                },
                user,
                format!("user `{user}` does not exist: the image has no /etc/passwd"),
            )));
        };
        let Some(f) = lines.iter().find(|f| f.first() == Some(&user)) else {
            return Err(Box::new(Problem::new(
                ProblemKind::UserUnknown {
                    user: user.to_owned(),
                },
                user,
                format!("user `{user}` does not exist in the image's /etc/passwd"),
            )));
        };
        let uid = f.get(2).and_then(|u| u.parse().ok()).unwrap_or(0);
        let gid = f.get(3).and_then(|g| g.parse().ok()).unwrap_or(0);
        (uid, gid, Some(user.to_owned()))
    };
    if let Some(g) = group.filter(|g| !g.is_empty()) {
        if let Ok(n) = g.parse() {
            gid = n;
        } else {
            let found = groups_file
                .iter()
                .flatten()
                .find(|f| f.first() == Some(&g))
                .and_then(|f| f.get(2))
                .and_then(|x| x.parse().ok());
            match found {
                Some(n) => gid = n,
                None => {
                    return Err(Box::new(Problem::new(
                        ProblemKind::GroupUnknown {
                            group: g.to_owned(),
                        },
                        g,
                        format!("group `{g}` does not exist in the image's /etc/group"),
                    )));
                }
            }
        }
    }
    let mut groups = BTreeSet::new();
    if group.is_none() {
        if let Some(name) = &name {
            for f in groups_file.iter().flatten() {
                if f.get(3).is_some_and(|m| m.split(',').any(|m| m == name)) {
                    if let Some(g) = f.get(2).and_then(|x| x.parse().ok()) {
                        groups.insert(g);
                    }
                }
            }
        }
    }
    Ok(Creds { uid, gid, groups })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::elf::ElfInfo;

    fn node(kind: Kind, mode: u32, target: Option<&str>, head: Head) -> Node {
        Node {
            kind,
            mode,
            uid: 0,
            gid: 0,
            size: 0,
            target: target.map(str::to_owned),
            digest: None,
            head,
        }
    }

    fn fs(entries: &[(&str, Node)]) -> MergedFs {
        let mut fs = MergedFs::default();
        for (p, n) in entries {
            fs.nodes.insert((*p).to_owned(), n.clone());
        }
        fs
    }

    fn elf() -> Head {
        Head::Elf(ElfInfo {
            interp: None,
            needed: Some(Vec::new()),
            runpath: Vec::new(),
        })
    }

    #[test]
    fn resolve_table() {
        let d = || node(Kind::Dir, 0o755, None, Head::Other);
        let l = |t: &str| node(Kind::Symlink, 0o777, Some(t), Head::Other);
        let f = || node(Kind::File, 0o755, None, elf());
        let fs = fs(&[
            ("/bin", d()),
            ("/bin/app", f()),
            ("/up", l("../../../bin/app")),
            ("/abs", l("/bin/app")),
            ("/dirlink", l("bin")),
            ("/loop1", l("/loop2")),
            ("/loop2", l("loop1")),
            ("/self", l("self/x")),
        ]);
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("/bin/app", Ok("/bin/app")),
            ("/up", Ok("/bin/app")),
            ("/abs", Ok("/bin/app")),
            ("/dirlink/app", Ok("/bin/app")),
            ("/bin/../bin/./app", Ok("/bin/app")),
            ("/bin/app/x", Err("is not a directory")),
            ("/nope", Err("does not exist")),
            ("/loop1", Err("loop")),
            ("/self", Err("symbolic link")),
        ];
        for (input, want) in cases {
            match (resolve(&fs, input), want) {
                (Ok((real, _)), Ok(w)) => assert_eq!(real, *w, "{input}"),
                (Err(e), Err(w)) => assert!(e.message.contains(w), "{input}: {e:?}"),
                (got, _) => panic!("{input}: {got:?}"),
            }
        }
    }

    #[test]
    fn users_and_groups() {
        let f = || node(Kind::File, 0o644, None, Head::Other);
        let mut fs = fs(&[
            ("/etc", node(Kind::Dir, 0o755, None, Head::Other)),
            ("/etc/passwd", f()),
            ("/etc/group", f()),
        ]);
        fs.kept.insert(
            "/etc/passwd".into(),
            b"root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n".to_vec(),
        );
        fs.kept.insert(
            "/etc/group".into(),
            b"app:x:1001:\nextra:x:2000:app\n".to_vec(),
        );
        let c = creds_of("app", &fs).unwrap();
        assert_eq!((c.uid, c.gid), (1000, 1001));
        assert!(c.groups.contains(&2000));
        let c = creds_of("1000:extra", &fs).unwrap();
        assert_eq!((c.uid, c.gid), (1000, 2000));
        let c = creds_of("4242", &fs).unwrap();
        assert_eq!((c.uid, c.gid), (4242, 0));
        assert!(
            creds_of("ghost", &fs)
                .unwrap_err()
                .message
                .contains("`ghost`")
        );
        assert!(
            creds_of("app:ghosts", &fs)
                .unwrap_err()
                .message
                .contains("group `ghosts`")
        );
        assert!(
            creds_of("x", &MergedFs::default())
                .unwrap_err()
                .message
                .contains("no /etc/passwd")
        );
    }

    #[test]
    fn shell_form_first_word() {
        let words = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["/bin/sh", "-c", "server --port 80"], Some("server")),
            (&["/bin/sh", "-c", "exec /app/server"], Some("/app/server")),
            (&["/bin/sh", "-c", "echo hi"], None),
            (&["/bin/sh", "-c", "$APP run"], None),
            (&["/bin/sh", "-c", "FOO=1 server"], None),
            (&["/bin/sh", "-c", "\"quoted\""], None),
            (&["/usr/bin/python3", "-c", "print(1)"], None),
            (&["/bin/sh", "script.sh"], None),
        ];
        for (argv, want) in cases {
            let owned = words(argv);
            let refs: Vec<&String> = owned.iter().collect();
            assert_eq!(shell_form_command(&refs), *want, "{argv:?}");
        }
    }

    #[test]
    fn nothing_to_start_is_broken() {
        let problems = verify(&Startup::default(), &MergedFs::default());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("neither entrypoint nor cmd"));
    }

    /// A tar entry for [`layered`]: (name, kind, data or link target, mode).
    type Entry<'a> = (&'a str, tar::EntryType, &'a [u8], u32);

    fn tar_of(entries: &[Entry]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for &(name, kind, data, mode) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            let link = kind == tar::EntryType::Symlink || kind == tar::EntryType::Link;
            if link {
                h.set_link_name(std::str::from_utf8(data).unwrap()).unwrap();
                h.set_size(0);
            } else {
                h.set_size(data.len() as u64);
            }
            // Raw name: absolute names are written as a producer would.
            let raw = &mut h.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, if link { &[][..] } else { data }).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// The merged filesystem of these layers, read as an image's layers are.
    fn layered(layers: &[&[Entry]]) -> MergedFs {
        let mut fs = MergedFs::default();
        for entries in layers {
            let tar = tar_of(entries);
            let d = crate::digest::Digest::of(&tar);
            crate::image::layers::apply_layer(
                &mut fs,
                &tar[..],
                "application/vnd.oci.image.layer.v1.tar",
                tar.len() as u64,
                None,
                d,
                crate::image::layers::Options::default(),
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        }
        fs
    }

    const REG: tar::EntryType = tar::EntryType::Regular;
    const DIR: tar::EntryType = tar::EntryType::Directory;
    const SYM: tar::EntryType = tar::EntryType::Symlink;
    const HARD: tar::EntryType = tar::EntryType::Link;
    const PASSWD: &[u8] = b"root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n";
    const ROOT_ONLY: &[u8] = b"root:x:0:0::/:/bin/sh\n";

    fn tiny_elf() -> Vec<u8> {
        let mut h = b"\x7fELF\x02\x01\x01".to_vec();
        h.resize(64, 0);
        h
    }

    fn run_as(fs: &MergedFs, user: &str, argv: &[&str]) -> Vec<Problem> {
        let s = Startup {
            entrypoint: Some(argv.iter().map(|a| (*a).to_owned()).collect()),
            user: (!user.is_empty()).then(|| user.to_owned()),
            ..Startup::default()
        };
        verify(&s, fs)
    }

    fn base() -> Vec<(String, tar::EntryType, Vec<u8>, u32)> {
        vec![
            ("bin/".into(), DIR, Vec::new(), 0o755),
            ("bin/sh".into(), REG, tiny_elf(), 0o755),
            ("etc/".into(), DIR, Vec::new(), 0o755),
            ("etc/passwd".into(), REG, PASSWD.to_vec(), 0o644),
        ]
    }

    fn with_base(extra: &[Entry]) -> MergedFs {
        let b = base();
        let lower: Vec<Entry> = b
            .iter()
            .map(|(n, k, d, m)| (n.as_str(), *k, d.as_slice(), *m))
            .collect();
        layered(&[&lower, extra])
    }

    // podman: `unable to find user app` for each of these upper layers.
    #[test]
    fn deleted_or_replaced_passwd_is_not_used() {
        let cases: &[(&str, &[Entry])] = &[
            (
                "opaque /etc",
                &[
                    ("etc/", DIR, b"", 0o755),
                    ("etc/.wh..wh..opq", REG, b"", 0),
                    ("etc/hostname", REG, b"x\n", 0o644),
                ],
            ),
            ("whiteout of /etc", &[(".wh.etc", REG, b"", 0)]),
            (
                "symlink replacing /etc/passwd",
                &[
                    ("etc/root-only", REG, ROOT_ONLY, 0o644),
                    ("etc/passwd", SYM, b"root-only", 0o777),
                ],
            ),
            (
                "replaced twice in one layer",
                &[
                    ("etc/passwd", REG, PASSWD, 0o644),
                    ("etc/passwd", SYM, b"root-only", 0o777),
                    ("etc/root-only", REG, ROOT_ONLY, 0o644),
                ],
            ),
            (
                "directory replacing /etc/passwd",
                &[("etc/passwd/", DIR, b"", 0o755)],
            ),
        ];
        for (what, upper) in cases {
            let fs = with_base(upper);
            let problems = run_as(&fs, "app", &["/bin/sh"]);
            assert!(
                problems
                    .iter()
                    .any(|p| p.message.contains("user `app` does not exist")),
                "{what}: {problems:?}"
            );
        }
        // Untouched, the user exists.
        assert_eq!(run_as(&with_base(&[]), "app", &["/bin/sh"]), []);
    }

    #[test]
    fn linked_passwd_resolves_to_its_content() {
        let cases: &[(&str, &[Entry])] = &[
            (
                "hardlink in the same layer",
                &[
                    ("etc/passwd.real", REG, PASSWD, 0o644),
                    ("etc/passwd", HARD, b"etc/passwd.real", 0o644),
                ],
            ),
            (
                "relative symlink",
                &[
                    ("usr/", DIR, b"", 0o755),
                    ("usr/passwd", REG, PASSWD, 0o644),
                    ("etc/passwd", SYM, b"../usr/passwd", 0o777),
                ],
            ),
            (
                "absolute symlink, target after the link",
                &[
                    ("etc/passwd", SYM, b"/usr/passwd", 0o777),
                    ("usr/passwd", REG, PASSWD, 0o644),
                ],
            ),
        ];
        for (what, layer) in cases {
            let fs = layered(&[&[("bin/sh", REG, &tiny_elf(), 0o755)], layer]);
            assert_eq!(run_as(&fs, "app", &["/bin/sh"]), [], "{what}");
        }
        // A hardlink to a lower layer's file.
        let fs = layered(&[
            &[
                ("bin/sh", REG, &tiny_elf(), 0o755),
                ("etc/passwd.real", REG, PASSWD, 0o644),
            ],
            &[("etc/passwd", HARD, b"etc/passwd.real", 0o644)],
        ]);
        assert_eq!(run_as(&fs, "app", &["/bin/sh"]), [], "lower hardlink");
    }

    // podman: the absolute-named busybox starts.
    #[test]
    fn absolute_entry_names_apply_under_the_root() {
        let fs = layered(&[&[
            ("/bin/busybox", REG, &tiny_elf(), 0o755),
            ("../../escape", REG, b"x", 0o755),
        ]]);
        assert_eq!(run_as(&fs, "", &["/bin/busybox"]), []);
        assert_eq!(fs.rejected.len(), 1, "{:?}", fs.rejected);
        assert!(!fs.nodes.contains_key("/escape"));
    }

    #[test]
    fn empty_entrypoint_clears_it() {
        let fs = with_base(&[]);
        let s = Startup {
            entrypoint: Some(vec![String::new()]),
            cmd: Some(vec!["/bin/sh".into()]),
            ..Startup::default()
        };
        assert_eq!(verify(&s, &fs), []);
        let s = Startup {
            entrypoint: Some(vec![String::new()]),
            cmd: Some(vec!["/nope".into()]),
            ..Startup::default()
        };
        assert!(
            verify(&s, &fs)[0]
                .message
                .contains("`/nope` does not exist")
        );
    }

    #[test]
    fn shell_words_are_not_commands() {
        let fs = with_base(&[]);
        for script in [
            "until test -e /tmp/ready; do sleep 1; done; exec /bin/sh",
            "unset HOME && exec /bin/sh",
            "pwd && exec /bin/sh",
            "while true; do sleep 1; done",
            "! false",
            "{ echo; }",
            "local x=1",
            "getopts ab x",
            "hash sh",
            "kill -0 1",
            "[[ -e /x ]] && echo",
            "function f { :; }",
            "time sleep 1",
        ] {
            assert_eq!(run_as(&fs, "", &["/bin/sh", "-c", script]), [], "{script}");
        }
    }

    fn with_scripts(scripts: &[(&str, &[u8])]) -> MergedFs {
        let entries: Vec<Entry> = scripts
            .iter()
            .map(|(name, body)| (*name, REG, *body, 0o755))
            .collect();
        with_base(&entries)
    }

    // podman: `exec /app/run: no such file or directory` for both.
    #[test]
    fn crlf_shebang_and_env_programs() {
        let fs = with_scripts(&[
            ("app/crlf", b"#!/bin/sh\r\necho\r\n"),
            ("app/py", b"#!/usr/bin/env python3\nprint()\n"),
            ("app/split", b"#!/usr/bin/env -S python3 -u\nprint()\n"),
            ("app/ok", b"#!/usr/bin/env sh\necho\n"),
            ("app/envcrlf", b"#!/usr/bin/env sh\r\necho\r\n"),
            ("app/oksplit", b"#!/usr/bin/env -S -i sh -e\necho\n"),
            ("usr/bin/env", &tiny_elf()),
        ]);
        let p = run_as(&fs, "", &["/app/crlf"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message.contains("\\r") && p[0].message.contains("Windows"),
            "{p:?}"
        );
        for script in ["/app/py", "/app/split"] {
            let p = run_as(&fs, "", &[script]);
            assert_eq!(p.len(), 1, "{script}: {p:?}");
            assert!(
                p[0].message.contains("`python3` is not found in PATH"),
                "{p:?}"
            );
        }
        let p = run_as(&fs, "", &["/app/envcrlf"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("Windows line endings"), "{p:?}");
        assert_eq!(run_as(&fs, "", &["/app/ok"]), []);
        assert_eq!(run_as(&fs, "", &["/app/oksplit"]), []);
    }

    // podman: five chained scripts start; six fail with ELOOP.
    #[test]
    fn five_chained_scripts_start_six_do_not() {
        let fs = with_scripts(&[
            ("app/s1", b"#!/app/s2\n"),
            ("app/s2", b"#!/app/s3\n"),
            ("app/s3", b"#!/app/s4\n"),
            ("app/s4", b"#!/app/s5\n"),
            ("app/s5", b"#!/app/s6\n"),
            ("app/s6", b"#!/bin/sh\n"),
        ]);
        assert_eq!(run_as(&fs, "", &["/app/s2"]), []);
        let p = run_as(&fs, "", &["/app/s1"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("too many levels"), "{p:?}");
        assert_eq!(p[0].kind, ProblemKind::InterpreterDepth, "{p:?}");
    }

    // podman (runc): `exec: "tool": permission denied` — runc takes /usr/bin/tool
    // (mode 0700, root's) before /bin/tool.
    #[test]
    fn path_search_takes_the_first_file_with_an_execute_bit() {
        let fs = with_base(&[
            ("usr/bin/tool", REG, &tiny_elf(), 0o700),
            ("bin/tool", REG, &tiny_elf(), 0o755),
        ]);
        let p = run_as(&fs, "1000", &["tool"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message
                .contains("`/usr/bin/tool` is not executable by uid 1000"),
            "{p:?}"
        );
    }
}
