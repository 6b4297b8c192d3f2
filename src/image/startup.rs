//! Static startup verification (SPEC.md, "Static startup verification"): would the
//! container's process start, judged from the merged layers alone?
//!
//! 1. argv = entrypoint + cmd; both empty is broken. Shell form is argv
//!    `[shell, "-c", …]`, so the shell is checked like any other program.
//! 2. A command without `/` is searched in the config's `PATH` (Docker's default when
//!    unset), taking the first executable regular file, as the runtime does; a
//!    relative path with `/` resolves against the working dir.
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
//! 6. A named user (and named group) must exist in `/etc/passwd` (`/etc/group`).
//!
//! 7. Shell form (`[sh, "-c", script]`): when the script starts with a plain command
//!    word (optionally after `exec`), that command must resolve too; quoting,
//!    expansions, redirections and builtins are left to the shell.
//!
//! Not judged: directory search permissions along the path, capabilities, seccomp,
//! `ld.so.conf` directories beyond the defaults.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Startup;
use super::layers::{Head, Kind, MergedFs, Node};
use crate::finding::Level;

/// Docker's default PATH when the config sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Symlinks followed while resolving one path (Linux's `MAXSYMLINKS`).
pub const MAX_LINKS: usize = 40;
/// `#!` nesting (Linux's `BINPRM_MAX_RECURSION` + 1).
pub const MAX_INTERP_DEPTH: usize = 5;
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

/// One thing that would stop (error) or may stop (warning) the container starting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub level: Level,
    /// The path (or user) that failed.
    pub path: String,
    pub message: String,
    /// What to change so it starts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Problem {
    fn error(path: &str, message: String) -> Self {
        let fix = fix_for(&message).to_owned();
        Self {
            level: Level::Error,
            path: path.to_owned(),
            message,
            fix,
        }
    }
}

/// The usual remedy for a problem, chosen by what the message says failed.
fn fix_for(message: &str) -> &'static str {
    const FIXES: [(&str, &str); 9] = [
        ("neither entrypoint nor cmd", "set ENTRYPOINT or CMD"),
        (
            "is not found in PATH",
            "install it in the image, use its absolute path, or set PATH",
        ),
        (
            "ELF loader",
            "use a base image that has the C library, or link the binary statically",
        ),
        (
            "is not executable",
            "make it executable in the build (`chmod +x`, or `COPY --chmod=0755`)",
        ),
        (
            "exec format error",
            "point ENTRYPOINT/CMD at a binary or a `#!` script",
        ),
        ("`#!`", "fix the script's `#!` line"),
        (
            "group `",
            "create the group before USER, or use a numeric gid",
        ),
        (
            "user `",
            "create the user before USER (`adduser`/`useradd`), or use a numeric uid",
        ),
        (
            "does not exist",
            "COPY it into the final image (check `COPY --from` paths and WORKDIR), or fix ENTRYPOINT/CMD",
        ),
    ];
    FIXES
        .iter()
        .find(|(needle, _)| message.contains(needle))
        .map_or("fix ENTRYPOINT/CMD or the files they name", |(_, fix)| fix)
}

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
            problems.push(p);
            // Keep judging the rest as root, so every problem is named at once.
            Creds {
                uid: 0,
                gid: 0,
                groups: BTreeSet::new(),
            }
        }
    };
    let argv: Vec<&String> = s
        .entrypoint
        .iter()
        .flatten()
        .chain(s.cmd.iter().flatten())
        .collect();
    let Some(program) = argv.first() else {
        problems.push(Problem::error(
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
    };
    if program.is_empty() {
        problems.push(Problem::error(
            "",
            "the command is an empty string".to_owned(),
        ));
    } else if program.contains('/') {
        ctx.check_program(program, 0, &mut problems);
    } else {
        match ctx.search_path(program, path_var) {
            Ok(found) => ctx.check_program(&found, 0, &mut problems),
            Err(p) => problems.push(p),
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
                    Err(p) => problems.push(p),
                }
            }
            for p in &mut problems[before..] {
                p.message = format!("the shell-form command `{}`: {}", argv[2], p.message);
            }
        }
    }
    problems
}

/// Shell builtins and keywords: a first word the shell runs itself.
const SHELL_BUILTINS: [&str; 33] = [
    ":", ".", "[", "alias", "break", "case", "cd", "command", "continue", "echo", "eval", "exec",
    "exit", "export", "false", "for", "if", "printf", "read", "readonly", "return", "set", "shift",
    "source", "test", "times", "trap", "true", "type", "ulimit", "umask", "wait", "while",
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

    fn search_path(&self, program: &str, path_var: &str) -> Result<String, Problem> {
        let mut near_miss = None;
        for dir in path_var.split(':').filter(|d| d.starts_with('/')) {
            let candidate = format!("{}/{program}", dir.trim_end_matches('/'));
            if let Ok((_, node)) = resolve(self.fs, &candidate) {
                if node.kind == Kind::File && executable(node, self.creds) {
                    return Ok(candidate);
                }
                near_miss.get_or_insert(candidate);
            }
        }
        match near_miss {
            // Found but unusable: report why for that file.
            Some(candidate) => Ok(candidate),
            None => Err(Problem::error(
                program,
                format!("`{program}` is not found in PATH ({path_var})"),
            )),
        }
    }

    fn check_program(&self, path: &str, depth: usize, problems: &mut Vec<Problem>) {
        let wanted = self.absolute(path);
        let (real, node) = match resolve(self.fs, &wanted) {
            Ok(found) => found,
            Err(why) if !path.starts_with('/') => {
                let why = format!(
                    "{why}: `{path}` is relative to the working dir `{}`",
                    self.cwd
                );
                let mut p = Problem::error(&wanted, why);
                p.fix = "fix WORKDIR or use an absolute path in ENTRYPOINT/CMD".to_owned();
                problems.push(p);
                return;
            }
            Err(why) => {
                problems.push(Problem::error(&wanted, why));
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
            problems.push(Problem::error(&wanted, format!("{shown} is {what}")));
            return;
        }
        if !executable(node, self.creds) {
            problems.push(Problem::error(
                &wanted,
                format!(
                    "{shown} is not executable by uid {}: mode {:04o}, owner {}:{}",
                    self.creds.uid, node.mode, node.uid, node.gid
                ),
            ));
            return;
        }
        match &node.head {
            Head::Script(line) => {
                let interp = line.split_whitespace().next().unwrap_or("");
                if interp.is_empty() {
                    problems.push(Problem::error(
                        &wanted,
                        format!("{shown} starts with `#!` but names no interpreter"),
                    ));
                } else if depth + 1 >= MAX_INTERP_DEPTH {
                    problems.push(Problem::error(
                        &wanted,
                        format!("{shown}: too many levels of `#!` interpreters"),
                    ));
                } else {
                    let before = problems.len();
                    self.check_program(interp, depth + 1, problems);
                    for p in &mut problems[before..] {
                        if p.level == Level::Error {
                            p.message = format!("interpreter of {shown}: {}", p.message);
                            p.fix = format!(
                                "install `{interp}` in the image, or change the `#!` line of `{wanted}`"
                            );
                        }
                    }
                }
            }
            Head::Elf(info) => {
                let Some(loader) = &info.interp else {
                    return; // static: nothing else to load
                };
                match resolve(self.fs, loader) {
                    Ok((_, n)) if n.kind == Kind::File => {}
                    Ok(_) => problems.push(Problem::error(
                        loader,
                        format!("ELF loader `{loader}` of {shown} is not a regular file"),
                    )),
                    Err(why) => {
                        problems.push(Problem::error(
                            loader,
                            format!("ELF loader `{loader}` of {shown} is missing: {why}"),
                        ));
                        return;
                    }
                }
                let origin = real.rsplit_once('/').map_or("/", |(d, _)| d);
                for lib in info.needed.iter().flatten() {
                    if !self.library_found(lib, &info.runpath, origin) {
                        problems.push(Problem {
                            level: Level::Warning,
                            fix: "add the library to the image, or confirm LD_LIBRARY_PATH or ld.so.cache provides it".to_owned(),
                            path: lib.clone(),
                            message: format!(
                                "library `{lib}` needed by {shown} is not in the loader's default paths ({})",
                                LIB_DIRS[..5].join(", ")
                            ),
                        });
                    }
                }
            }
            Head::Other => problems.push(Problem::error(
                &wanted,
                format!("{shown} is neither an ELF binary nor a `#!` script (exec format error)"),
            )),
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

/// Resolves `path` (absolute) inside the image root, following symlinks. Returns the
/// real path and its node, or why it cannot be reached.
pub fn resolve<'a>(fs: &'a MergedFs, path: &str) -> Result<(String, &'a Node), String> {
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
            return Err(if here == path {
                format!("`{path}` does not exist in the image")
            } else {
                format!("`{path}` does not exist in the image (no `{here}`)")
            });
        };
        match n.kind {
            Kind::Symlink => {
                hops += 1;
                if hops > MAX_LINKS {
                    return Err(format!(
                        "too many levels of symbolic links resolving `{path}` (at `{here}`)"
                    ));
                }
                if !seen.insert((here.clone(), pending.clone())) {
                    return Err(format!("symbolic link loop at `{here}` resolving `{path}`"));
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
                    return Err(format!("`{here}` is not a directory"));
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
            .ok_or_else(|| format!("`{path}` resolves to the image root, a directory")),
    }
}

fn lines_of<'a>(fs: &'a MergedFs, file: &str) -> Option<Vec<Vec<&'a str>>> {
    let bytes = fs.kept.get(file)?;
    let text = std::str::from_utf8(bytes).ok()?;
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split(':').collect())
            .collect(),
    )
}

fn creds_of(spec: &str, fs: &MergedFs) -> Result<Creds, Problem> {
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
            return Err(Problem::error(
                user,
                format!("user `{user}` does not exist: the image has no /etc/passwd"),
            ));
        };
        let Some(f) = lines.iter().find(|f| f.first() == Some(&user)) else {
            return Err(Problem::error(
                user,
                format!("user `{user}` does not exist in the image's /etc/passwd"),
            ));
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
                    return Err(Problem::error(
                        g,
                        format!("group `{g}` does not exist in the image's /etc/group"),
                    ));
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
                (Err(e), Err(w)) => assert!(e.contains(w), "{input}: {e}"),
                (got, _) => panic!("{input}: {got:?}"),
            }
        }
    }

    #[test]
    fn users_and_groups() {
        let mut fs = MergedFs::default();
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
}
