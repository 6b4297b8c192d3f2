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
//! 3. Paths resolve inside the image root ([`resolve`]): `..` stops at `/`, absolute
//!    symlink targets restart at the image root, at most [`MAX_LINKS`] links, and a
//!    link seen twice in the same state is a loop. The host filesystem is never
//!    consulted. A missing path names the links that led to it, and the layer that
//!    removed it when an earlier layer had it.
//! 4. The target must be a regular file executable for the user (root needs any
//!    execute bit; others the owner, group or other bit that applies, supplementary
//!    groups from `/etc/group` included).
//! 5. `#!` scripts: the interpreter is checked the same way, recursively, at most
//!    [`MAX_INTERP_DEPTH`] deep (the kernel's limit); it is run by its path (the
//!    kernel never searches PATH), and it must be able to read the script: a script
//!    the user may execute but not read fails in the interpreter. What the
//!    interpreter then does with the script is judged like argv (below): `#!/usr/bin/env
//!    prog` has `prog` searched in PATH. A `#!` line ending in `\r` (Windows line
//!    endings) names an interpreter with `\r`.
//! 6. ELF: the `PT_INTERP` loader must exist and match the program's class and
//!    machine; every library must be found the way `ld.so` finds it ([`ldso`]).
//! 7. A named user (and group) must exist in `/etc/passwd` (`/etc/group`), read
//!    through whatever they resolve to (symlink or hardlink) in the image.
//! 8. What the program does with its arguments ([`args`]): a shell's `-c` command
//!    (its first simple command, after assignments and `exec`), a wrapper's command
//!    (`tini`, `dumb-init`, `catatonit`, `env`, `gosu`, `su-exec`, `setpriv`; for the
//!    last three as the user they switch to), an interpreter's script or jar (which
//!    must exist relative to the working dir and be readable by the user) are
//!    checked by the same rules, at most [`MAX_WRAPPERS`] deep.
//!
//! Not judged: directory search permissions along the path, capabilities, seccomp,
//! whether a wrapper that switches users runs as root, modules (`python -m`), and
//! what a program does once it runs.

mod args;
mod ldso;
#[cfg(test)]
mod tests;

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};

use super::elf::ElfInfo;
use super::layers::{Head, Kind, MergedFs, Node};
use crate::model::image::{DEFAULT_PATH, MAX_INTERP_DEPTH, Problem, ProblemKind, Startup};
use args::{EnvOp, Groups, ScriptArg, Switch, Wrapped, basename};

/// Symlinks followed while resolving one path (Linux's `MAXSYMLINKS`).
pub const MAX_LINKS: usize = 40;
/// Commands run by commands (a shell's, a wrapper's) followed at most:
/// `tini -- gosu app env python3 app.py` is three.
pub const MAX_WRAPPERS: usize = 8;
/// glibc's `execvp` search path when `PATH` is unset (`confstr(_CS_PATH)`): what a
/// wrapper uses after `env -i`.
const EXECVP_DEFAULT_PATH: &str = "/bin:/usr/bin";

/// Who the process runs as.
#[derive(Debug, Clone)]
struct Creds {
    uid: u64,
    gid: u64,
    groups: BTreeSet<u64>,
}

impl Creds {
    fn root() -> Self {
        Self {
            uid: 0,
            gid: 0,
            groups: BTreeSet::new(),
        }
    }
}

/// The environment a command starts with, as far as finding things goes.
#[derive(Debug, Clone, Default)]
struct Env(BTreeMap<String, String>);

impl Env {
    /// The image config's `Env`; the runtime supplies Docker's default `PATH` when
    /// the image sets none.
    fn of_image(env: Option<&Vec<String>>) -> Self {
        let mut vars: BTreeMap<String, String> = env
            .into_iter()
            .flatten()
            .filter_map(|e| e.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        vars.entry("PATH".to_owned())
            .or_insert_with(|| DEFAULT_PATH.to_owned());
        Self(vars)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The search path for a command without `/`.
    fn path(&self) -> &str {
        self.get("PATH").unwrap_or(EXECVP_DEFAULT_PATH)
    }

    fn apply(&mut self, op: &EnvOp) {
        match op {
            EnvOp::Clear => self.0.clear(),
            EnvOp::Set(k, v) => {
                self.0.insert(k.clone(), v.clone());
            }
            EnvOp::Unset(k) => {
                self.0.remove(k);
            }
        }
    }
}

/// Who runs a command, where, with what environment.
#[derive(Debug, Clone)]
struct Run {
    creds: Creds,
    cwd: String,
    env: Env,
    /// The command's words are all known (a shell-form command's words stop at the
    /// first buildproof does not expand): only then is a wrapper given no command a
    /// problem.
    complete: bool,
}

/// Runs every check; an empty list means the container would start.
#[must_use]
pub fn verify(s: &Startup, fs: &MergedFs) -> Vec<Problem> {
    let mut problems = Vec::new();
    let creds = match creds_of(s.user.as_deref().unwrap_or(""), fs, None) {
        Ok(c) => c,
        Err(p) => {
            problems.push(*p);
            // Keep judging the rest as root, so every problem is named at once.
            Creds::root()
        }
    };
    let argv = argv_of(s);
    let Some(program) = argv.first() else {
        problems.push(Problem::new(
            ProblemKind::NothingToStart,
            "",
            "the image sets neither entrypoint nor cmd: there is nothing to start".to_owned(),
        ));
        return problems;
    };
    let ctx = Ctx::new(fs);
    let run = Run {
        creds,
        cwd: cwd_of(s),
        env: Env::of_image(s.env.as_ref()),
        complete: true,
    };
    if program.is_empty() {
        problems.push(Problem::new(
            ProblemKind::EmptyCommand,
            "",
            "the command is an empty string".to_owned(),
        ));
    } else {
        ctx.check_command(&argv, &run, 0, &|p| p, &mut problems);
    }
    // One problem reached by two routes (a library both the wrapper and its
    // command need, a script checked by its `#!` line and its interpreter) once.
    let mut seen = BTreeSet::new();
    problems.retain(|p| seen.insert((p.kind.id(), p.path.clone())));
    problems
}

/// entrypoint + cmd; `ENTRYPOINT [""]` (how a Dockerfile clears an inherited
/// entrypoint) is none.
fn argv_of(s: &Startup) -> Vec<String> {
    let entrypoint = s
        .entrypoint
        .as_ref()
        .filter(|e| !(e.len() == 1 && e[0].is_empty()));
    entrypoint
        .into_iter()
        .flatten()
        .chain(s.cmd.iter().flatten())
        .cloned()
        .collect()
}

fn cwd_of(s: &Startup) -> String {
    s.working_dir
        .as_deref()
        .filter(|w| !w.is_empty())
        .unwrap_or("/")
        .to_owned()
}

/// How argv[0] resolves, for people: the name as written, the PATH entry it was
/// found at, each symlink followed, the file (`awk` → `/usr/bin/awk` →
/// `/etc/alternatives/awk` → `/usr/bin/mawk`). `None` when it does not resolve
/// (the problems say why).
#[must_use]
pub fn command_path(s: &Startup, fs: &MergedFs) -> Option<Vec<String>> {
    let argv = argv_of(s);
    let program = argv.first().filter(|p| !p.is_empty())?;
    let run = Run {
        creds: Creds::root(),
        cwd: cwd_of(s),
        env: Env::of_image(s.env.as_ref()),
        complete: true,
    };
    let found = Ctx::new(fs).find(program, &run).ok()?;
    let mut chain = vec![program.clone()];
    for step in found.links.iter().chain([&found.real]) {
        if chain.last() != Some(step) {
            chain.push(step.clone());
        }
    }
    Some(chain)
}

/// A program found in the image.
struct Found<'a> {
    /// The absolute path asked for.
    wanted: String,
    /// What it resolves to.
    real: String,
    node: &'a Node,
    /// `wanted`, then the path after each symlink followed (empty: no link).
    links: Vec<String>,
}

impl Found<'_> {
    /// `` `/usr/bin/python3` (→ `/usr/bin/python3.11`) `` for messages.
    fn shown(&self) -> String {
        if self.real == self.wanted {
            format!("`{}`", self.wanted)
        } else {
            format!("`{}` (→ `{}`)", self.wanted, self.real)
        }
    }
}

/// How a command reached the program being checked, for the kind of a missing one.
#[derive(Clone, Copy)]
enum Origin<'s> {
    /// argv, a shell's command, a wrapper's command.
    Argv,
    /// The arguments the kernel gives a `#!` script's interpreter.
    Shebang { script: &'s str },
}

/// One verification: the filesystem and what is read from it at most once.
struct Ctx<'a> {
    fs: &'a MergedFs,
    /// The loader's cache and configuration, read when a dynamic binary is met.
    loader: OnceCell<ldso::LoaderFiles>,
    /// File names to their paths, built when a library is missing where the
    /// loader looks (to say whether it is elsewhere in the image).
    names: OnceCell<BTreeMap<&'a str, Vec<&'a str>>>,
}

impl<'a> Ctx<'a> {
    fn new(fs: &'a MergedFs) -> Self {
        Self {
            fs,
            loader: OnceCell::new(),
            names: OnceCell::new(),
        }
    }

    /// Checks one command: finds argv[0], checks that it can be executed (and what
    /// the kernel loads with it), then what it does with its arguments.
    /// `missing` turns "argv[0] is not found" into the kind its origin calls for.
    fn check_command(
        &self,
        argv: &[String],
        run: &Run,
        depth: usize,
        missing: &dyn Fn(Problem) -> Problem,
        problems: &mut Vec<Problem>,
    ) {
        let Some(program) = argv.first() else {
            return;
        };
        let found = match self.find(program, run) {
            Ok(found) => found,
            Err(p) => {
                problems.push(missing(*p));
                return;
            }
        };
        if self.check_exec(&found, run, 0, depth, problems) {
            self.check_arguments(argv, &found, run, depth, Origin::Argv, problems);
        }
    }

    /// argv[0]: a path (relative to the working dir), or a name searched in PATH.
    fn find(&self, program: &str, run: &Run) -> Result<Found<'a>, Box<Problem>> {
        if program.contains('/') {
            self.find_path(program, run)
        } else {
            self.search_path(program, run.env.path())
        }
    }

    /// A program named by its path; a relative one resolves against the working dir.
    fn find_path(&self, path: &str, run: &Run) -> Result<Found<'a>, Box<Problem>> {
        let wanted = absolute(path, &run.cwd);
        match resolve_traced(self.fs, &wanted) {
            Ok(r) => Ok(Found {
                wanted,
                real: r.real,
                node: r.node,
                links: r.links,
            }),
            Err(why) => {
                let relative = !path.starts_with('/');
                let kind = if relative {
                    ProblemKind::NotFound {
                        workdir: Some(run.cwd.clone()),
                    }
                } else if why.missing {
                    ProblemKind::NotFound { workdir: None }
                } else {
                    ProblemKind::Unresolvable
                };
                let mut message = self.unreachable_text(&why);
                if relative {
                    message = format!(
                        "{message}: `{path}` is relative to the working dir `{}`",
                        run.cwd
                    );
                }
                Err(Box::new(
                    Problem::new(kind, &wanted, message).with_files(why.files()),
                ))
            }
        }
    }

    /// Why a path is unreachable, with the layer that removed it if one did.
    fn unreachable_text(&self, why: &Unreachable) -> String {
        match self.removed_in([why.full.as_str(), why.at.as_str()]) {
            Some(layer) => format!("{} (removed in layer {layer})", why.message),
            None => why.message.clone(),
        }
    }

    /// The layer that removed the first of `paths` that a layer removed.
    fn removed_in<'p>(&self, paths: impl IntoIterator<Item = &'p str>) -> Option<u32> {
        paths
            .into_iter()
            .find_map(|p| self.fs.removed.get(p).copied())
    }

    fn search_path(&self, program: &str, path_var: &str) -> Result<Found<'a>, Box<Problem>> {
        let mut near_miss = None;
        let mut dangling = None;
        for dir in path_var.split(':').filter(|d| d.starts_with('/')) {
            let candidate = format!("{}/{program}", dir.trim_end_matches('/'));
            match resolve_traced(self.fs, &candidate) {
                Ok(r) => {
                    let found = Found {
                        wanted: candidate,
                        real: r.real,
                        node: r.node,
                        links: r.links,
                    };
                    // The runtime (runc, Go's LookPath) takes the first regular file
                    // with any execute bit; whether this user may run it is judged
                    // afterwards.
                    if found.node.kind == Kind::File && found.node.mode & 0o111 != 0 {
                        return Ok(found);
                    }
                    near_miss.get_or_insert(found);
                }
                // A symlink that leads nowhere (`/usr/bin/awk` → `/etc/alternatives/awk`
                // → a deleted file): worth naming when nothing is found.
                Err(why)
                    if why.missing
                        && self
                            .fs
                            .nodes
                            .get(&physical(self.fs, &candidate))
                            .is_some_and(|n| n.kind == Kind::Symlink) =>
                {
                    dangling.get_or_insert(why);
                }
                Err(_) => {}
            }
        }
        if let Some(found) = near_miss {
            // Found but unusable: report why for that file.
            return Ok(found);
        }
        let kind = ProblemKind::NotInPath {
            program: program.to_owned(),
            path_var: path_var.to_owned(),
        };
        let mut message = format!("`{program}` is not found in PATH ({path_var})");
        let mut files = Vec::new();
        if let Some(why) = dangling {
            message = format!("{message}: {}", self.unreachable_text(&why));
            files = why.files();
        }
        Err(Box::new(
            Problem::new(kind, program, message).with_files(files),
        ))
    }

    /// An ELF binary: its `PT_INTERP` loader must be a regular file of the program's
    /// class and machine; then every library, as the loader finds it ([`ldso`]).
    /// `false` when the loader is unusable (the exec fails).
    fn check_elf(
        &self,
        found: &Found<'a>,
        info: &'a ElfInfo,
        run: &Run,
        problems: &mut Vec<Problem>,
    ) -> bool {
        let Some(interp) = &info.interp else {
            return true; // static: nothing else to load
        };
        let shown = found.shown();
        let loader_missing = |message: String| {
            Problem::new(
                ProblemKind::LoaderMissing {
                    loader: interp.clone(),
                },
                interp,
                message,
            )
        };
        match resolve_traced(self.fs, &absolute(interp, &run.cwd)) {
            Ok(r) if r.node.kind == Kind::File => {
                let loader = match &r.node.head {
                    Head::Elf(l) => Some(l),
                    _ => None,
                };
                if let Some(l) = loader.filter(|l| !l.same_arch(info)) {
                    problems.push(
                        Problem::new(
                            ProblemKind::LoaderMismatch {
                                loader: interp.clone(),
                                wanted: info.arch(),
                                found: l.arch(),
                            },
                            interp,
                            format!(
                                "ELF loader `{interp}` of {shown} is {}, the program is {}",
                                l.arch(),
                                info.arch()
                            ),
                        )
                        .with_files(vec![r.real]),
                    );
                    return false;
                }
                self.check_libraries(found, info, interp, loader, run, problems);
                true
            }
            Ok(r) => {
                problems.push(
                    loader_missing(format!(
                        "ELF loader `{interp}` of {shown} is not a regular file"
                    ))
                    .with_files(vec![r.real]),
                );
                false
            }
            Err(why) => {
                problems.push(
                    loader_missing(format!(
                        "ELF loader `{interp}` of {shown} is missing: {}",
                        self.unreachable_text(&why)
                    ))
                    .with_files(why.files()),
                );
                false
            }
        }
    }

    /// Whether the kernel can execute `found` for this user: a regular file with the
    /// execute bit that applies, and then what the kernel loads (a `#!` script's
    /// interpreter, an ELF binary's loader and libraries). `false` when the exec
    /// itself fails; a missing library still lets the rest be judged.
    fn check_exec(
        &self,
        found: &Found<'a>,
        run: &Run,
        interp_depth: usize,
        depth: usize,
        problems: &mut Vec<Problem>,
    ) -> bool {
        let shown = found.shown();
        let node = found.node;
        if node.kind != Kind::File {
            let what = match node.kind {
                Kind::Dir => "a directory",
                _ => "not a regular file",
            };
            problems.push(
                Problem::new(
                    ProblemKind::NotRegularFile,
                    &found.wanted,
                    format!("{shown} is {what}"),
                )
                .with_files(vec![found.real.clone()]),
            );
            return false;
        }
        if !executable(node, &run.creds) {
            problems.push(
                Problem::new(
                    ProblemKind::NotExecutable {
                        uid: run.creds.uid,
                        mode: node.mode,
                        owner: format!("{}:{}", node.uid, node.gid),
                    },
                    &found.wanted,
                    format!(
                        "{shown} is not executable by uid {}: mode {:04o}, owner {}:{}",
                        run.creds.uid, node.mode, node.uid, node.gid
                    ),
                )
                .with_files(vec![found.real.clone()]),
            );
            return false;
        }
        match &node.head {
            Head::Script(line) => {
                self.check_shebang(found, line, run, interp_depth, depth, problems)
            }
            Head::Elf(info) => self.check_elf(found, info, run, problems),
            Head::Other => {
                problems.push(
                    Problem::new(
                        ProblemKind::ExecFormat,
                        &found.wanted,
                        format!(
                            "{shown} is neither an ELF binary nor a `#!` script (exec format error)"
                        ),
                    )
                    .with_files(vec![found.real.clone()]),
                );
                false
            }
        }
    }

    /// A `#!` script: the interpreter its first line names, checked like a program,
    /// one level deeper; the script must be readable by the user (the interpreter
    /// opens it); then the interpreter's arguments are judged like argv.
    fn check_shebang(
        &self,
        found: &Found<'_>,
        line: &str,
        run: &Run,
        interp_depth: usize,
        depth: usize,
        problems: &mut Vec<Problem>,
    ) -> bool {
        let wanted = found.wanted.as_str();
        let shown = found.shown();
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
            return false;
        }
        if interp.contains('\r') && resolve(self.fs, &absolute(interp, &run.cwd)).is_err() {
            problems.push(Problem::new(
                ProblemKind::ShebangCrlf,
                wanted,
                format!(
                    "{shown} has a `#!` line ending in `\\r` (Windows line endings): the kernel looks for the interpreter `{}`",
                    interp.escape_debug()
                ),
            ));
            return false;
        }
        if interp_depth >= MAX_INTERP_DEPTH {
            problems.push(Problem::new(
                ProblemKind::InterpreterDepth,
                wanted,
                format!("{shown}: too many levels of `#!` interpreters"),
            ));
            return false;
        }
        let before = problems.len();
        let mut unreadable = None;
        // The kernel runs the interpreter by its path, never through PATH.
        let ok = match self.find_path(interp, run) {
            Ok(interp_found) => {
                let ok = self.check_exec(&interp_found, run, interp_depth + 1, depth, problems);
                if ok {
                    if !readable(found.node, &run.creds) {
                        unreadable = Some(problems.len());
                        problems.push(not_readable(
                            wanted,
                            &found.real,
                            found.node,
                            &run.creds,
                            &format!(
                                "{shown} is a `#!{interp}` script, which its interpreter reads"
                            ),
                        ));
                    }
                    // The interpreter's argv: [interp, arg?, script].
                    let mut argv = vec![interp.to_owned()];
                    if !arg.is_empty() {
                        argv.push(arg.to_owned());
                    }
                    argv.push(wanted.to_owned());
                    let origin = Origin::Shebang { script: wanted };
                    self.check_arguments(&argv, &interp_found, run, depth, origin, problems);
                }
                ok
            }
            Err(p) => {
                let mut p = *p;
                if matches!(p.kind, ProblemKind::NotFound { .. }) {
                    p.kind = ProblemKind::InterpreterMissing {
                        interpreter: interp.to_owned(),
                        script: wanted.to_owned(),
                    };
                }
                problems.push(p);
                false
            }
        };
        for (i, p) in problems.iter_mut().enumerate().skip(before) {
            if Some(i) != unreadable {
                p.message = format!("interpreter of {shown}: {}", p.message);
            }
        }
        ok
    }

    /// What the program does with its arguments: a shell's `-c` command, a
    /// wrapper's command, an interpreter's script.
    fn check_arguments(
        &self,
        argv: &[String],
        found: &Found<'_>,
        run: &Run,
        depth: usize,
        origin: Origin<'_>,
        problems: &mut Vec<Problem>,
    ) {
        let names = [basename(&argv[0]), basename(&found.real)];
        let rest = &argv[1..];
        if let Some(script) = args::shell_script(&names, rest) {
            let Some(command) = args::simple_command(script) else {
                return;
            };
            if depth >= MAX_WRAPPERS {
                return;
            }
            let inner = Run {
                complete: command.complete && run.complete,
                ..run.clone()
            };
            let before = problems.len();
            self.check_command(&command.words, &inner, depth + 1, &|p| p, problems);
            for p in &mut problems[before..] {
                p.message = format!("the shell-form command `{script}`: {}", p.message);
            }
            return;
        }
        if let Some(wrapped) = args::wrapper(&names, rest) {
            self.check_wrapped(&wrapped, run, depth, origin, problems);
            return;
        }
        if let Some(script) = args::script(&names, rest) {
            if matches!(origin, Origin::Argv) {
                self.check_script_arg(&argv[0], &script, run, problems);
            }
        }
    }

    /// A wrapper's command, as the user it switches to, with the environment and
    /// directory it sets up.
    fn check_wrapped(
        &self,
        w: &Wrapped,
        run: &Run,
        depth: usize,
        origin: Origin<'_>,
        problems: &mut Vec<Problem>,
    ) {
        let Some(program) = w.argv.first() else {
            if w.needs_command && run.complete {
                problems.push(Problem::new(
                    ProblemKind::WrapperWithoutCommand {
                        wrapper: w.name.to_owned(),
                    },
                    w.name,
                    format!(
                        "`{}` is given no command to run: it prints its usage and exits",
                        w.name
                    ),
                ));
            }
            return;
        };
        if depth >= MAX_WRAPPERS {
            return;
        }
        let mut inner = run.clone();
        let mut as_whom = String::new();
        if let Some(switch) = &w.switch {
            let creds = match switch {
                Switch::Spec(spec) => {
                    as_whom = format!(" as `{spec}`");
                    creds_of(spec, self.fs, Some(w.name))
                }
                Switch::Setpriv { uid, gid, groups } => {
                    self.setpriv_creds(&run.creds, uid.as_deref(), gid.as_deref(), groups)
                }
            };
            match creds {
                Ok(c) => {
                    if as_whom.is_empty() {
                        as_whom = format!(" as uid {}", c.uid);
                    }
                    inner.creds = c;
                }
                Err(p) => {
                    let mut p = *p;
                    p.message = format!("`{}` runs `{program}`: {}", w.name, p.message);
                    problems.push(p);
                    return;
                }
            }
        }
        for op in &w.env {
            inner.env.apply(op);
        }
        if let Some(dir) = &w.chdir {
            inner.cwd = absolute(dir, &run.cwd);
        }
        let wrapper = w.name;
        let missing = |mut p: Problem| -> Problem {
            if !matches!(
                p.kind,
                ProblemKind::NotInPath { .. } | ProblemKind::NotFound { .. }
            ) {
                return p;
            }
            match origin {
                Origin::Shebang { script } if wrapper == "env" && program.ends_with('\r') => {
                    return Problem::new(
                        ProblemKind::ShebangCrlf,
                        script,
                        format!(
                            "the `#!` line ends in `\\r` (Windows line endings): `env` looks for `{}`",
                            program.escape_debug()
                        ),
                    );
                }
                Origin::Shebang { .. } if wrapper == "env" => {
                    p.kind = ProblemKind::EnvProgramMissing {
                        program: program.clone(),
                    };
                }
                _ => {
                    p.kind = ProblemKind::WrappedCommandMissing {
                        wrapper: wrapper.to_owned(),
                        program: program.clone(),
                    };
                }
            }
            p
        };
        let before = problems.len();
        self.check_command(&w.argv, &inner, depth + 1, &missing, problems);
        for p in &mut problems[before..] {
            if !matches!(p.kind, ProblemKind::ShebangCrlf) {
                p.message = format!("`{wrapper}` runs `{program}`{as_whom}: {}", p.message);
            }
        }
    }

    /// `setpriv`'s user and groups: `--reuid`/`--euid` and `--regid`/`--egid` (names
    /// or numbers), `--clear-groups`, `--keep-groups`, `--init-groups`, `--groups`.
    fn setpriv_creds(
        &self,
        base: &Creds,
        uid: Option<&str>,
        gid: Option<&str>,
        groups: &Groups,
    ) -> Result<Creds, Box<Problem>> {
        let passwd = lines_of(self.fs, "/etc/passwd");
        let group_file = lines_of(self.fs, "/etc/group");
        let unknown_user = |user: &str| {
            Box::new(Problem::new(
                ProblemKind::UserUnknown {
                    user: user.to_owned(),
                    wrapper: Some("setpriv".to_owned()),
                },
                user,
                format!("user `{user}` does not exist in the image's /etc/passwd"),
            ))
        };
        let gid_of = |g: &str| -> Result<u64, Box<Problem>> {
            g.parse().or_else(|_| {
                group_file
                    .iter()
                    .flatten()
                    .find(|f| f.first() == Some(&g))
                    .and_then(|f| f.get(2)?.parse().ok())
                    .ok_or_else(|| {
                        Box::new(Problem::new(
                            ProblemKind::GroupUnknown {
                                group: g.to_owned(),
                                wrapper: Some("setpriv".to_owned()),
                            },
                            g,
                            format!("group `{g}` does not exist in the image's /etc/group"),
                        ))
                    })
            })
        };
        let mut creds = base.clone();
        let mut name = None;
        if let Some(u) = uid {
            if let Ok(n) = u.parse() {
                creds.uid = n;
                name = passwd.iter().flatten().find_map(|f| {
                    (f.get(2).and_then(|x| x.parse::<u64>().ok()) == Some(n))
                        .then(|| f.first().map(|s| (*s).to_owned()))
                        .flatten()
                });
            } else {
                let entry = passwd
                    .iter()
                    .flatten()
                    .find(|f| f.first() == Some(&u))
                    .ok_or_else(|| unknown_user(u))?;
                creds.uid = entry.get(2).and_then(|x| x.parse().ok()).unwrap_or(0);
                name = Some(u.to_owned());
            }
        }
        if let Some(g) = gid {
            creds.gid = gid_of(g)?;
        }
        creds.groups = match groups {
            Groups::Keep => base.groups.clone(),
            Groups::Clear => BTreeSet::new(),
            Groups::Init => member_groups(group_file.as_deref(), name.as_deref()),
            Groups::List(list) => list.iter().map(|g| gid_of(g)).collect::<Result<_, _>>()?,
        };
        Ok(creds)
    }

    /// An interpreter's script (or jar): it must exist, relative to the working dir,
    /// and be readable by the user.
    fn check_script_arg(
        &self,
        interpreter: &str,
        s: &ScriptArg,
        run: &Run,
        problems: &mut Vec<Problem>,
    ) {
        let dir = s
            .chdir
            .as_deref()
            .map_or_else(|| run.cwd.clone(), |d| absolute(d, &run.cwd));
        let path = absolute(&s.script, &dir);
        // node finds `app` as `app.js`, `app.json`, `app.node` or a directory.
        let suffixes: &[&str] = if s.interpreter == "node" {
            &["", ".js", ".json", ".node"]
        } else {
            &[""]
        };
        let hit = suffixes
            .iter()
            .find_map(|suffix| resolve(self.fs, &format!("{path}{suffix}")).ok());
        let Some((real, node)) = hit else {
            // bash looks in PATH for a script named without `/` that is not here.
            if s.interpreter == "bash"
                && !s.script.contains('/')
                && run.env.path().split(':').any(|d| {
                    d.starts_with('/')
                        && resolve(self.fs, &format!("{d}/{}", s.script))
                            .is_ok_and(|(_, n)| n.kind == Kind::File)
                })
            {
                return;
            }
            // Options come before the script: words cut after it do not matter.
            if !s.certain {
                return;
            }
            let relative = !s.script.starts_with('/');
            let mut message = format!(
                "`{interpreter}` is given the script `{}`, which does not exist: no `{path}`",
                s.script
            );
            if relative {
                message.push_str(&format!(" (relative to the working dir `{dir}`)"));
            }
            let physical = physical(self.fs, &path);
            if let Some(layer) = self.removed_in([physical.as_str()]) {
                message.push_str(&format!(" (removed in layer {layer})"));
            }
            problems.push(
                Problem::new(
                    ProblemKind::ScriptMissing {
                        interpreter: interpreter.to_owned(),
                        script: s.script.clone(),
                        workdir: relative.then(|| dir.clone()),
                    },
                    &path,
                    message,
                )
                .with_files(vec![physical]),
            );
            return;
        };
        if node.kind == Kind::File && !readable(node, &run.creds) {
            problems.push(not_readable(
                &path,
                &real,
                node,
                &run.creds,
                &format!("`{interpreter}` reads the script `{path}`"),
            ));
        }
    }
}

/// A script the user may not read.
fn not_readable(path: &str, real: &str, node: &Node, creds: &Creds, what: &str) -> Problem {
    Problem::new(
        ProblemKind::NotReadable {
            uid: creds.uid,
            mode: node.mode,
            owner: format!("{}:{}", node.uid, node.gid),
        },
        path,
        format!(
            "{what}; uid {} may not read it: mode {:04o}, owner {}:{}",
            creds.uid, node.mode, node.uid, node.gid
        ),
    )
    .with_files(vec![real.to_owned()])
}

/// `path` made absolute against `cwd`, `.` and empty parts dropped (`..` is left for
/// [`resolve`], which knows about symlinks).
fn absolute(path: &str, cwd: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{cwd}/{path}")
    };
    let parts: Vec<&str> = joined
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// Where `path` is on disk with its directory resolved (`/lib/x/libz.so.1` is
/// `/usr/lib/x/libz.so.1` under merged /usr), whether or not the file exists: the
/// form `image diff` and the removed-files record use.
fn physical(fs: &MergedFs, path: &str) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if dir.is_empty() {
        return format!("/{name}");
    }
    match resolve(fs, dir) {
        Ok((real, n)) if n.kind == Kind::Dir => format!("{real}/{name}"),
        _ => path.to_owned(),
    }
}

/// Which permission bits apply to `creds` for a file: owner, group (primary or
/// supplementary), or other, shifted down to `rwx`.
fn bits_for(node: &Node, creds: &Creds) -> u32 {
    if node.uid == creds.uid {
        (node.mode >> 6) & 7
    } else if node.gid == creds.gid || creds.groups.contains(&node.gid) {
        (node.mode >> 3) & 7
    } else {
        node.mode & 7
    }
}

fn executable(node: &Node, creds: &Creds) -> bool {
    if creds.uid == 0 {
        return node.mode & 0o111 != 0;
    }
    bits_for(node, creds) & 1 != 0
}

/// Root reads anything (`CAP_DAC_OVERRIDE`, which runtimes grant by default).
fn readable(node: &Node, creds: &Creds) -> bool {
    creds.uid == 0 || bits_for(node, creds) & 4 != 0
}

/// A path resolved inside the image.
#[derive(Debug)]
pub struct Resolved<'a> {
    pub real: String,
    pub node: &'a Node,
    /// The path asked for, then the path after each symlink followed; empty when no
    /// symlink was followed.
    pub links: Vec<String>,
}

/// Why a path cannot be reached in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// A component does not exist (rather than a loop, too many links, or a file
    /// where a directory should be).
    pub missing: bool,
    pub message: String,
    /// The path (symlinks resolved) whose lookup failed.
    pub at: String,
    /// Where the whole path would be, symlinks resolved so far.
    pub full: String,
    /// As [`Resolved::links`].
    pub links: Vec<String>,
}

impl Unreachable {
    /// The paths involved, for `image diff`: the links followed and where it ends.
    fn files(&self) -> Vec<String> {
        let mut files = self.links.clone();
        for p in [&self.full, &self.at] {
            if !files.contains(p) {
                files.push(p.clone());
            }
        }
        files
    }
}

/// `parts` as an absolute path with `.` and `..` applied lexically (for display).
fn lexical(parts: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        for c in p.as_ref().split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                c => out.push(c.to_owned()),
            }
        }
    }
    format!("/{}", out.join("/"))
}

/// Resolves `path` (absolute) inside the image root, following symlinks. Returns the
/// real path and its node, or why it cannot be reached.
pub fn resolve<'a>(fs: &'a MergedFs, path: &str) -> Result<(String, &'a Node), Unreachable> {
    resolve_traced(fs, path).map(|r| (r.real, r.node))
}

/// [`resolve`], keeping the symlinks followed.
pub fn resolve_traced<'a>(fs: &'a MergedFs, path: &str) -> Result<Resolved<'a>, Unreachable> {
    let mut pending: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    let mut seen = BTreeSet::new();
    let mut node: Option<&Node> = None;
    let mut links: Vec<String> = Vec::new();
    let other = |message: String, at: String, links: &[String]| Unreachable {
        missing: false,
        message,
        full: at.clone(),
        at,
        links: links.to_vec(),
    };
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
            let full = lexical(
                [here.as_str()]
                    .into_iter()
                    .chain(pending.iter().rev().map(String::as_str)),
            );
            let message = match links.last() {
                Some(last) => {
                    let chain = links
                        .iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(" → ");
                    if *last == here || *last == full {
                        format!("{chain}, which does not exist in the image")
                    } else {
                        format!("{chain}, which does not exist in the image (no `{here}`)")
                    }
                }
                None if here == path => format!("`{path}` does not exist in the image"),
                None => format!("`{path}` does not exist in the image (no `{here}`)"),
            };
            return Err(Unreachable {
                missing: true,
                message,
                at: here,
                full,
                links,
            });
        };
        match n.kind {
            Kind::Symlink => {
                hops += 1;
                if hops > MAX_LINKS {
                    return Err(other(
                        format!(
                            "too many levels of symbolic links resolving `{path}` (at `{here}`)"
                        ),
                        here,
                        &links,
                    ));
                }
                if !seen.insert((here.clone(), pending.clone())) {
                    return Err(other(
                        format!("symbolic link loop at `{here}` resolving `{path}`"),
                        here,
                        &links,
                    ));
                }
                let target = n.target.clone().unwrap_or_default();
                if target.starts_with('/') {
                    cur.clear();
                }
                pending.extend(target.split('/').rev().map(str::to_owned));
                node = None;
                if links.is_empty() {
                    links.push(lexical([path]));
                }
                let next = lexical(
                    cur.iter()
                        .map(String::as_str)
                        .chain(pending.iter().rev().map(String::as_str)),
                );
                if links.last() != Some(&next) {
                    links.push(next);
                }
            }
            Kind::Dir => {
                cur.push(comp);
                node = Some(n);
            }
            Kind::File | Kind::Other => {
                if pending.iter().any(|c| !c.is_empty() && c != ".") {
                    return Err(other(format!("`{here}` is not a directory"), here, &links));
                }
                cur.push(comp);
                node = Some(n);
            }
        }
    }
    let real = format!("/{}", cur.join("/"));
    let node = match node {
        Some(n) => n,
        None => fs.nodes.get(&real).ok_or_else(|| {
            other(
                format!("`{path}` resolves to the image root, a directory"),
                real.clone(),
                &links,
            )
        })?,
    };
    Ok(Resolved { real, node, links })
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

/// The groups `/etc/group` lists `name` as a member of.
fn member_groups(group_file: Option<&[Vec<&str>]>, name: Option<&str>) -> BTreeSet<u64> {
    let Some(name) = name else {
        return BTreeSet::new();
    };
    group_file
        .into_iter()
        .flatten()
        .filter(|f| f.get(3).is_some_and(|m| m.split(',').any(|m| m == name)))
        .filter_map(|f| f.get(2)?.parse().ok())
        .collect()
}

/// The credentials of a user spec as `USER` (or `gosu`, `su-exec`) takes it:
/// `name`, `uid`, `name:group`, `uid:gid`. `wrapper` names who asked, for the kind
/// of an unknown user or group.
fn creds_of(spec: &str, fs: &MergedFs, wrapper: Option<&str>) -> Result<Creds, Box<Problem>> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = lines_of(fs, "/etc/passwd");
    let groups_file = lines_of(fs, "/etc/group");
    let unknown_user = |why: String| {
        Box::new(Problem::new(
            ProblemKind::UserUnknown {
                user: user.to_owned(),
                wrapper: wrapper.map(str::to_owned),
            },
            user,
            why,
        ))
    };
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
            return Err(unknown_user(format!(
                "user `{user}` does not exist: the image has no /etc/passwd"
            )));
        };
        let Some(f) = lines.iter().find(|f| f.first() == Some(&user)) else {
            return Err(unknown_user(format!(
                "user `{user}` does not exist in the image's /etc/passwd"
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
                            wrapper: wrapper.map(str::to_owned),
                        },
                        g,
                        format!("group `{g}` does not exist in the image's /etc/group"),
                    )));
                }
            }
        }
    }
    let groups = if group.is_none() {
        member_groups(groups_file.as_deref(), name.as_deref())
    } else {
        BTreeSet::new()
    };
    Ok(Creds { uid, gid, groups })
}
