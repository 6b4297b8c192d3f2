//! What a program does with its arguments, as far as starting the container goes:
//! pure functions from argv to meaning, no filesystem.
//!
//! - **Wrappers** run a command of their own: `tini`, `dumb-init`, `catatonit`, `env`,
//!   `gosu`, `su-exec`, `setpriv` ([`wrapper`]). Each is parsed as its own option
//!   parser does (`getopt` with `+` for dumb-init, env and setpriv; gosu and su-exec
//!   take a user spec first); an option buildproof does not know makes the rest
//!   unjudged rather than guessed.
//! - **Interpreters** named in argv open a script or jar ([`script`]): `python*`,
//!   `node`, `ruby`, `perl`, `php`, `sh`/`bash` and friends, `java -jar`. `-c`, `-m`,
//!   `-e`, stdin and the REPL have no script; an option whose value may be the next
//!   word makes the script uncertain, and an uncertain script is never reported
//!   missing.
//! - **Shell form** (`[sh, "-c", SCRIPT]`): the plain words of the first simple
//!   command ([`simple_command`]), after assignments and `exec`; quoting,
//!   expansions, redirections and the like end the words that are judged.

/// The last `/`-separated component of a path.
pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How a wrapper changes the environment of the command it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EnvOp {
    /// Start from an empty environment (`env -i`).
    Clear,
    Set(String, String),
    Unset(String),
}

/// Supplementary groups after `setpriv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Groups {
    Keep,
    Clear,
    /// Those of the target user in `/etc/group`.
    Init,
    /// Names or numbers.
    List(Vec<String>),
}

/// Whom a wrapper runs its command as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Switch {
    /// `gosu`/`su-exec`: a user spec as `USER` takes it (`name`, `uid`, `name:group`).
    Spec(String),
    /// `setpriv`: effective uid and gid (names or numbers), and the groups.
    Setpriv {
        uid: Option<String>,
        gid: Option<String>,
        groups: Groups,
    },
}

/// A wrapper's reading of its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Wrapped {
    /// The wrapper's name (`tini`, `env`, …).
    pub name: &'static str,
    /// The command it runs; empty when it runs none.
    pub argv: Vec<String>,
    /// Without a command, the wrapper prints its usage and fails (`env` instead
    /// prints the environment, `catatonit -P` pauses).
    pub needs_command: bool,
    pub switch: Option<Switch>,
    pub env: Vec<EnvOp>,
    /// `env -C DIR`: the directory the command starts in.
    pub chdir: Option<String>,
}

impl Wrapped {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            argv: Vec::new(),
            needs_command: true,
            switch: None,
            env: Vec::new(),
            chdir: None,
        }
    }

    fn runs(mut self, rest: &[String]) -> Self {
        self.argv = rest.to_vec();
        self
    }
}

/// Which wrapper a program name is.
fn wrapper_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "tini" | "tini-static" | "docker-init" => "tini",
        "dumb-init" => "dumb-init",
        "catatonit" => "catatonit",
        "env" => "env",
        "gosu" => "gosu",
        "su-exec" => "su-exec",
        "setpriv" => "setpriv",
        _ => return None,
    })
}

/// The command a wrapper runs. `names` are the program's names (as written in argv,
/// and of the file it resolves to); `args` its arguments. `None`: not a wrapper, or
/// one asked to do something else (`--help`, `--version`) or given options
/// buildproof does not follow.
pub(super) fn wrapper(names: &[&str], args: &[String]) -> Option<Wrapped> {
    let name = names.iter().find_map(|n| wrapper_name(n))?;
    match name {
        "tini" => getopt_short(name, args, "p:hvwgle:sak:", "hl"),
        "dumb-init" => {
            let long = [
                ("--single-child", false),
                ("--rewrite", true),
                ("--verbose", false),
            ];
            getopt_long(name, args, "hvVcr:", "hV", &long, &["--help", "--version"])
        }
        "catatonit" => {
            let w = getopt_short(name, args, "ghLPV", "hLV")?;
            // `-P`: pause mode, no program.
            let pause = args
                .iter()
                .take_while(|a| a.starts_with('-') && *a != "--")
                .any(|a| !a.starts_with("--") && a.contains('P'));
            Some(Wrapped {
                needs_command: !pause,
                ..w
            })
        }
        "env" => env(args),
        "gosu" | "su-exec" => {
            let first = args.first()?;
            if first.starts_with('-') {
                return None; // --help, --version
            }
            let mut w = Wrapped::new(name).runs(&args[1..]);
            w.switch = Some(Switch::Spec(first.clone()));
            Some(w)
        }
        "setpriv" => setpriv(args),
        _ => None,
    }
}

/// POSIX `getopt` with a leading `+` (stop at the first operand): `spec` as getopt
/// takes it, `exits` the letters that print something and exit.
fn getopt_short(name: &'static str, args: &[String], spec: &str, exits: &str) -> Option<Wrapped> {
    getopt_long(name, args, spec, exits, &[], &[])
}

/// [`getopt_short`] with long options: `(name, takes a value)`, and those that exit.
fn getopt_long(
    name: &'static str,
    args: &[String],
    spec: &str,
    exits: &str,
    long: &[(&str, bool)],
    long_exits: &[&str],
) -> Option<Wrapped> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if a == "--version" || long_exits.contains(&a.as_str()) {
            return None;
        }
        if let Some(body) = a.strip_prefix("--") {
            let key = body.split('=').next().unwrap_or(body);
            let (_, takes) = long.iter().find(|(l, _)| &l[2..] == key)?;
            i += if *takes && !body.contains('=') { 2 } else { 1 };
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let letters: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        let mut skip_next = false;
        while let Some(&c) = letters.get(j) {
            if exits.contains(c) || c == ':' {
                return None;
            }
            let at = spec.find(c)?;
            if spec[at + 1..].starts_with(':') {
                // The value is the rest of this word, or the next word.
                skip_next = j + 1 == letters.len();
                break;
            }
            j += 1;
        }
        i += if skip_next { 2 } else { 1 };
    }
    Some(Wrapped::new(name).runs(args.get(i..).unwrap_or_default()))
}

/// coreutils `env` (and busybox's): `[-i] [-0] [-u NAME] [-C DIR] [-S STRING] [-v]
/// [--] [NAME=VALUE]... [COMMAND [ARG]...]`. Without a command it prints the
/// environment, which is no failure. `-S` splits its string into words the way a
/// `#!/usr/bin/env -S` line needs; a string with quotes, escapes or `${…}` is not
/// followed.
fn env(args: &[String]) -> Option<Wrapped> {
    let mut w = Wrapped::new("env");
    w.needs_command = false;
    let mut args = args.to_vec();
    let mut i = 0;
    let mut split: Option<Vec<String>> = None;
    let mut splits = 0;
    while let Some(a) = args.get(i).cloned() {
        i += 1;
        match a.as_str() {
            "--" => break,
            "-" | "-i" | "--ignore-environment" => w.env.push(EnvOp::Clear),
            "-0" | "--null" | "-v" | "--debug" => {}
            "--help" | "--version" | "--list-signal-handling" => return None,
            "-u" | "--unset" => {
                w.env.push(EnvOp::Unset(args.get(i)?.clone()));
                i += 1;
            }
            "-C" | "--chdir" => {
                w.chdir = Some(args.get(i)?.clone());
                i += 1;
            }
            "-S" | "--split-string" => {
                split = Some(split_string(args.get(i)?)?);
                i += 1;
            }
            _ if a.starts_with("--unset=") => w.env.push(EnvOp::Unset(a[8..].to_owned())),
            _ if a.starts_with("--chdir=") => w.chdir = Some(a[8..].to_owned()),
            _ if a.starts_with("--split-string=") => split = Some(split_string(&a[15..])?),
            _ if a.starts_with("--") => return None,
            _ if a.starts_with('-') && a.len() > 1 => {
                // A cluster: `-iS…`, `-u NAME`, `-SSTRING` (what a `#!` line gives).
                let body = &a[1..];
                for (k, c) in body.char_indices() {
                    let rest = &body[k + c.len_utf8()..];
                    match c {
                        'i' => w.env.push(EnvOp::Clear),
                        '0' | 'v' => {}
                        'u' | 'C' | 'S' => {
                            let value = if rest.is_empty() {
                                i += 1;
                                args.get(i - 1)?.clone()
                            } else {
                                rest.to_owned()
                            };
                            match c {
                                'u' => w.env.push(EnvOp::Unset(value)),
                                'C' => w.chdir = Some(value),
                                _ => split = Some(split_string(&value)?),
                            }
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            _ => {
                i -= 1;
                break;
            }
        }
        // `-S` words take the place of the option, and are parsed on: they may hold
        // options themselves (`#!/usr/bin/env -S -i sh -e`).
        if let Some(words) = split.take() {
            splits += 1;
            if splits > 16 {
                return None;
            }
            let rest = args.split_off(i.min(args.len()));
            args = words;
            args.extend(rest);
            i = 0;
        }
    }
    let mut operands = args.get(i..).unwrap_or_default().iter().cloned().peekable();
    while let Some(word) = operands.next_if(|w| is_assignment(w)) {
        if let Some((k, v)) = word.split_once('=') {
            w.env.push(EnvOp::Set(k.to_owned(), v.to_owned()));
        }
    }
    w.argv = operands.collect();
    Some(w)
}

/// `NAME=value`, as `env` reads an operand.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(k, _)| !k.is_empty())
}

/// `env -S`: words split at spaces and tabs; quotes, backslashes and `${…}` are
/// `env`'s own mini-language, not followed (`None`).
fn split_string(s: &str) -> Option<Vec<String>> {
    if s.contains(['"', '\'', '\\', '$', '#']) {
        return None;
    }
    Some(
        s.split([' ', '\t', '\n'])
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// util-linux `setpriv [options] PROGRAM [ARGS]` (`getopt_long` with `+dhV`).
fn setpriv(args: &[String]) -> Option<Wrapped> {
    const VALUED: [&str; 17] = [
        "ruid",
        "euid",
        "rgid",
        "egid",
        "reuid",
        "regid",
        "groups",
        "inh-caps",
        "ambient-caps",
        "bounding-set",
        "securebits",
        "pdeathsig",
        "selinux-label",
        "apparmor-profile",
        "landlock-access",
        "landlock-rule",
        "seccomp-filter",
    ];
    const FLAGS: [&str; 6] = [
        "nnp",
        "no-new-privs",
        "clear-groups",
        "keep-groups",
        "init-groups",
        "reset-env",
    ];
    let mut w = Wrapped::new("setpriv");
    let (mut uid, mut gid, mut groups) = (None, None, Groups::Keep);
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            break;
        }
        if matches!(
            a.as_str(),
            "-d" | "--dump" | "-h" | "--help" | "-V" | "--version"
        ) {
            return None;
        }
        let Some(body) = a.strip_prefix("--") else {
            if a.starts_with('-') && a.len() > 1 {
                return None;
            }
            i -= 1;
            break;
        };
        let (key, value) = match body.split_once('=') {
            Some((k, v)) => (k, Some(v.to_owned())),
            None => (body, None),
        };
        if FLAGS.contains(&key) {
            match key {
                "clear-groups" => groups = Groups::Clear,
                "init-groups" => groups = Groups::Init,
                "keep-groups" => groups = Groups::Keep,
                "reset-env" => w.env.push(EnvOp::Clear),
                _ => {}
            }
            continue;
        }
        if !VALUED.contains(&key) {
            return None; // abbreviations and newer options: not followed
        }
        let value = match value {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i - 1)?.clone()
            }
        };
        match key {
            "euid" | "reuid" => uid = Some(value),
            "egid" | "regid" => gid = Some(value),
            "groups" => groups = Groups::List(value.split(',').map(str::to_owned).collect()),
            _ => {}
        }
    }
    w.argv = args.get(i..).unwrap_or_default().to_vec();
    w.switch = (uid.is_some() || gid.is_some() || groups != Groups::Keep)
        .then_some(Switch::Setpriv { uid, gid, groups });
    Some(w)
}

/// What an interpreter is given to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ScriptArg {
    /// `python`, `node`, `ruby`, `perl`, `php`, `sh`, `bash` or `java`.
    pub interpreter: &'static str,
    /// The script (or jar) as written.
    pub script: String,
    /// Whether no option before it may have taken it as its value: only a certain
    /// script is reported missing.
    pub certain: bool,
    /// `ruby -C DIR`: the directory a relative script is found in.
    pub chdir: Option<String>,
}

/// Which interpreter a program name is: `python3.11` is `python`, `ruby3.1` is
/// `ruby`.
fn interpreter_name(name: &str) -> Option<&'static str> {
    let versioned = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    };
    Some(match name {
        "node" | "nodejs" => "node",
        "sh" | "dash" | "ash" | "ksh" | "mksh" | "zsh" => "sh",
        "bash" => "bash",
        "java" => "java",
        _ if versioned("python") || versioned("pypy") => "python",
        _ if versioned("ruby") => "ruby",
        _ if versioned("perl") => "perl",
        _ if versioned("php") => "php",
        _ => return None,
    })
}

/// The script an interpreter is given. `names` as for [`wrapper`]; the name of the
/// file the program resolves to decides (`sh` that is bash searches PATH for a
/// script). `None`: not an interpreter, or no script (`-c`, `-m`, `-e`, stdin, the
/// REPL, `ruby -S`, …).
pub(super) fn script(names: &[&str], args: &[String]) -> Option<ScriptArg> {
    // The real file's name first: `/bin/sh` → `dash` or `bash`.
    let interpreter = names.iter().rev().find_map(|n| interpreter_name(n))?;
    let found = match interpreter {
        "python" => python(args),
        "node" => node(args),
        "ruby" => ruby(args),
        "perl" => perl(args),
        "php" => php(args),
        "sh" | "bash" => shell(args),
        _ => java(args),
    }?;
    Some(ScriptArg {
        interpreter,
        ..found
    })
}

fn found(script: &str, certain: bool) -> Option<ScriptArg> {
    Some(ScriptArg {
        interpreter: "",
        script: script.to_owned(),
        certain,
        chdir: None,
    })
}

/// CPython's `_PyOS_GetOpt` (`bBc:dEhiIJm:OPqRsStuvVW:xX:?`) and its long options.
fn python(args: &[String]) -> Option<ScriptArg> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if a == "--check-hash-based-pycs" {
            i += 2;
            continue;
        }
        if a.starts_with("--") || a == "-" {
            return None; // --help, --version, stdin
        }
        let Some(body) = a.strip_prefix('-') else {
            break;
        };
        let mut skip_next = false;
        for (k, c) in body.char_indices() {
            match c {
                'b' | 'B' | 'd' | 'E' | 'i' | 'I' | 'J' | 'O' | 'P' | 'q' | 'R' | 's' | 'S'
                | 't' | 'u' | 'v' | 'x' => {}
                'W' | 'X' => {
                    skip_next = k + c.len_utf8() == body.len();
                    break;
                }
                _ => return None, // -c, -m, -h, -V, unknown
            }
        }
        i += if skip_next { 2 } else { 1 };
    }
    found(args.get(i)?, true)
}

/// node: the first operand after options; `-e`/`-p`/`-i`, `-` and `--run` have none.
fn node(args: &[String]) -> Option<ScriptArg> {
    const VALUED: [&str; 24] = [
        "-r",
        "--require",
        "--import",
        "--loader",
        "--experimental-loader",
        "-C",
        "--conditions",
        "--inspect-port",
        "--debug-port",
        "--title",
        "--input-type",
        "--env-file",
        "--icu-data-dir",
        "--openssl-config",
        "--redirect-warnings",
        "--diagnostic-dir",
        "--report-dir",
        "--report-directory",
        "--report-filename",
        "--unhandled-rejections",
        "--dns-result-order",
        "--experimental-policy",
        "--watch-path",
        "--test-reporter",
    ];
    const NONE: [&str; 11] = [
        "-e",
        "--eval",
        "-p",
        "--print",
        "-i",
        "--interactive",
        "-v",
        "--version",
        "-h",
        "--help",
        "--run",
    ];
    let mut certain = true;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            break;
        }
        if a == "-" || NONE.contains(&a.as_str()) {
            return None;
        }
        if !a.starts_with('-') {
            i -= 1;
            break;
        }
        if VALUED.contains(&a.as_str()) {
            i += 1;
        } else if !a.contains('=') {
            // Most options are flags, a few take the next word: unknown ones leave
            // the script uncertain.
            certain &= KNOWN_NODE_FLAGS.contains(&a.as_str());
        }
    }
    found(args.get(i)?, certain)
}

/// node flags that take no value (the common ones in container entrypoints).
const KNOWN_NODE_FLAGS: [&str; 22] = [
    "--inspect",
    "--inspect-brk",
    "--enable-source-maps",
    "--no-warnings",
    "--trace-warnings",
    "--no-deprecation",
    "--throw-deprecation",
    "--trace-deprecation",
    "--preserve-symlinks",
    "--preserve-symlinks-main",
    "--abort-on-uncaught-exception",
    "--expose-gc",
    "--use-strict",
    "--experimental-modules",
    "--experimental-vm-modules",
    "--experimental-specifier-resolution",
    "--watch",
    "--no-experimental-fetch",
    "--trace-uncaught",
    "--frozen-intrinsics",
    "-c",
    "--check",
];

/// ruby: `-e` has no script, `-S` searches PATH; `-r`, `-I`, `-C`, `-E` take a
/// value (attached or the next word); `-C DIR` changes directory first.
fn ruby(args: &[String]) -> Option<ScriptArg> {
    let mut chdir = None;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            break;
        }
        if a == "-" || matches!(a.as_str(), "--help" | "--version" | "--copyright") {
            return None;
        }
        if a.starts_with("--") {
            continue; // --disable=…, --enable=…, --jit, --verbose: flags or `=`
        }
        let Some(body) = a.strip_prefix('-') else {
            i -= 1;
            break;
        };
        for (k, c) in body.char_indices() {
            let rest = &body[k + c.len_utf8()..];
            match c {
                'e' | 'S' | 'h' => return None,
                'r' | 'I' | 'C' | 'E' => {
                    let value = if rest.is_empty() {
                        i += 1;
                        args.get(i - 1)?.clone()
                    } else {
                        rest.to_owned()
                    };
                    if c == 'C' {
                        chdir = Some(value);
                    }
                    break;
                }
                // Optional values, attached only.
                'x' | '0' | 'F' | 'i' | 'K' | 'T' | 'W' => break,
                'a' | 'c' | 'd' | 'l' | 'n' | 'p' | 's' | 'v' | 'w' | 'y' | 'U' => {}
                _ => return None,
            }
        }
    }
    let mut s = found(args.get(i)?, true)?;
    s.chdir = chdir;
    Some(s)
}

/// perl (`perlrun`): `-e`/`-E` have no script, `-S` searches PATH; `-I` takes a
/// value (attached or next); letters with attached values end their cluster.
fn perl(args: &[String]) -> Option<ScriptArg> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            break;
        }
        if a == "-" || a.starts_with("--") {
            return None;
        }
        let Some(body) = a.strip_prefix('-') else {
            i -= 1;
            break;
        };
        let mut chars = body.char_indices().peekable();
        while let Some((k, c)) = chars.next() {
            let rest = &body[k + c.len_utf8()..];
            match c {
                'e' | 'E' | 'S' | 'v' | 'V' | 'h' => return None,
                'I' => {
                    if rest.is_empty() {
                        i += 1;
                    }
                    break;
                }
                // `-l[octal]`, `-0[octal or xHEX]`: only digits attach.
                'l' | '0' => {
                    let hex = c == '0' && chars.next_if(|&(_, d)| d == 'x').is_some();
                    while chars
                        .next_if(|&(_, d)| {
                            if hex {
                                d.is_ascii_hexdigit()
                            } else {
                                ('0'..='7').contains(&d)
                            }
                        })
                        .is_some()
                    {}
                }
                'C' | 'd' | 'D' | 'F' | 'i' | 'x' | 'M' | 'm' => break,
                'a' | 'c' | 'n' | 'p' | 's' | 't' | 'T' | 'u' | 'U' | 'w' | 'W' | 'X' => {}
                _ => return None,
            }
        }
    }
    found(args.get(i)?, true)
}

/// php-cli: `-f FILE`, or the first operand; `-r`, `-a`, `-S` and the info options
/// have none.
fn php(args: &[String]) -> Option<ScriptArg> {
    let mut certain = true;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        match a.as_str() {
            "--" => return None, // stdin, then arguments
            "-f" | "--file" => return found(args.get(i)?, certain),
            "-c" | "-d" | "-z" | "-t" | "--php-ini" | "--define" | "--zend-extension"
            | "--docroot" => i += 1,
            "-n" | "-e" | "-H" | "-q" | "-s" | "-w" | "-l" | "-C" | "--no-php-ini"
            | "--profile-info" | "--hide-args" | "--syntax-check" | "--no-chdir" => {}
            _ if a.starts_with("-f") => return found(&a[2..], certain),
            _ if a.starts_with("-c") || a.starts_with("-d") || a.starts_with("-z") => {}
            _ if a.starts_with('-') => {
                if matches!(
                    a.as_str(),
                    "-r" | "-a" | "-S" | "-B" | "-R" | "-F" | "-E" | "-h" | "-v" | "-i" | "-m"
                ) || a.starts_with("--")
                {
                    return None;
                }
                certain = false;
            }
            _ => {
                i -= 1;
                break;
            }
        }
    }
    found(args.get(i)?, certain)
}

/// POSIX shells and bash: option clusters (`-e`, `+x`), `-o NAME`, `-O NAME` and
/// bash's `--rcfile FILE`; `-c` (shell form, judged elsewhere) and `-s` (stdin)
/// have no script.
fn shell(args: &[String]) -> Option<ScriptArg> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" || a == "-" {
            break;
        }
        if a.starts_with("--") {
            match a.as_str() {
                "--rcfile" | "--init-file" => i += 1,
                "--login" | "--noprofile" | "--norc" | "--posix" | "--restricted" | "--verbose"
                | "--noediting" | "--debugger" => {}
                _ => return None, // --help, --version, …
            }
            continue;
        }
        let Some(body) = a.strip_prefix('-').or_else(|| a.strip_prefix('+')) else {
            i -= 1;
            break;
        };
        for c in body.chars() {
            match c {
                'c' | 's' => return None,
                'o' | 'O' => i += 1,
                c if c.is_ascii_alphabetic() => {}
                _ => return None,
            }
        }
    }
    found(args.get(i)?, true)
}

/// `java [options] -jar JAR`: only the jar is judged (a main class is not a file).
fn java(args: &[String]) -> Option<ScriptArg> {
    const VALUED: [&str; 13] = [
        "-cp",
        "-classpath",
        "--class-path",
        "-p",
        "--module-path",
        "--upgrade-module-path",
        "--add-modules",
        "--limit-modules",
        "--add-reads",
        "--add-exports",
        "--add-opens",
        "--patch-module",
        "--enable-native-access",
    ];
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "-jar" {
            return found(args.get(i)?, true);
        }
        if VALUED.contains(&a.as_str()) {
            i += 1;
        } else if !a.starts_with('-') || matches!(a.as_str(), "-m" | "--module" | "--source") {
            return None; // a main class, a module, a source file, an @argfile
        }
    }
    None
}

/// The shells whose `-c` runs a command string.
const SHELLS: [&str; 7] = ["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"];

/// `[sh, [options], -c, SCRIPT, …]` (also `-ec`, `-o pipefail -c`, as a Dockerfile's
/// `SHELL` writes them): the command string.
pub(super) fn shell_script<'a>(names: &[&str], args: &'a [String]) -> Option<&'a str> {
    if !names.iter().any(|n| SHELLS.contains(n)) {
        return None;
    }
    let mut command = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" || a == "-" {
            break;
        }
        if !a.starts_with('-') && !a.starts_with('+') {
            i -= 1;
            break;
        }
        if a.starts_with("--") {
            continue;
        }
        for c in a[1..].chars() {
            match c {
                'c' => command = true,
                'o' | 'O' => i += 1,
                _ => {}
            }
        }
    }
    if command {
        args.get(i).map(String::as_str)
    } else {
        None
    }
}

/// The words of a shell command's first simple command that buildproof can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SimpleCommand {
    pub words: Vec<String>,
    /// All of the command's words are here (none was cut at quoting, an expansion
    /// or an operator).
    pub complete: bool,
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
    "unset", // regular builtins
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
    "wait", // bash, ash, ksh
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
];

/// A word that means the same to every shell: no quoting, expansion, globbing,
/// redirection or operator.
fn plain(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with('#')
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-/+@%,:=".contains(&b))
}

/// A shell variable assignment: `NAME=value` with `NAME` an identifier.
fn is_shell_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty()
            && !k.starts_with(|c: char| c.is_ascii_digit())
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// The first simple command of a `-c` script: leading `NAME=value` assignments and
/// `exec` skipped, then plain words up to the first that is not (quoting, `$`,
/// globs, an operator) or a `;`. `None` when the command is not plain, is a builtin
/// or reserved word, assigns `PATH` (the search would differ), or is followed by
/// `||` (a fallback runs when it fails).
pub(super) fn simple_command(script: &str) -> Option<SimpleCommand> {
    let line = script.lines().next().unwrap_or_default();
    let mut tokens = line.split([' ', '\t']).filter(|t| !t.is_empty()).peekable();
    while let Some(t) = tokens.next_if(|t| plain(t) && is_shell_assignment(t)) {
        if t.starts_with("PATH=") {
            return None;
        }
    }
    if tokens.next_if_eq(&"exec").is_some() && tokens.peek().is_some_and(|t| t.starts_with('-')) {
        return None; // exec -a NAME, exec -c: not followed
    }
    let mut words = Vec::new();
    let mut complete = true;
    for t in tokens {
        let (word, last) = match t.strip_suffix(';') {
            Some(w) if plain(w) => (w, true),
            _ => (t, false),
        };
        if plain(word) {
            words.push(word.to_owned());
            if last {
                break;
            }
            continue;
        }
        if t.starts_with("||") {
            return None;
        }
        complete = false;
        break;
    }
    let first = words.first()?;
    if SHELL_BUILTINS.contains(&first.as_str()) || first.contains('=') {
        return None;
    }
    Some(SimpleCommand { words, complete })
}

#[cfg(test)]
mod tests {
    use super::*;

    type WrapperCase<'a> = (&'a str, &'a [&'a str], Option<&'a [&'a str]>);
    type ScriptCase<'a> = (&'a str, &'a [&'a str], Option<(&'a str, bool)>);
    type ShellCase<'a> = (&'a [&'a str], Option<(&'a [&'a str], bool)>);

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn wrappers_find_their_command() {
        let cases: &[WrapperCase] = &[
            (
                "tini",
                &["--", "python3", "app.py"],
                Some(&["python3", "app.py"]),
            ),
            ("tini", &["-s", "-p", "SIGTERM", "--", "x"], Some(&["x"])),
            ("tini", &["-vvg", "x", "-y"], Some(&["x", "-y"])),
            ("tini", &["--version"], None),
            ("tini", &["-q", "x"], None),
            (
                "dumb-init",
                &["--", "python", "app.py"],
                Some(&["python", "app.py"]),
            ),
            ("dumb-init", &["-c", "--rewrite", "15:2", "x"], Some(&["x"])),
            (
                "dumb-init",
                &["--rewrite=15:2", "-r", "1:2", "x"],
                Some(&["x"]),
            ),
            ("catatonit", &["-g", "--", "/srv"], Some(&["/srv"])),
            ("gosu", &["nobody", "python3", "x"], Some(&["python3", "x"])),
            ("gosu", &["--help"], None),
            ("su-exec", &["app:app", "x"], Some(&["x"])),
            ("env", &["-i", "python3", "/a"], Some(&["python3", "/a"])),
            (
                "env",
                &["-S", "python3 -u /a"],
                Some(&["python3", "-u", "/a"]),
            ),
            (
                "env",
                &["-S python3 -u", "/a"],
                Some(&["python3", "-u", "/a"]),
            ),
            ("env", &["-Spython3", "/a"], Some(&["python3", "/a"])),
            ("env", &["A=1", "B=2", "x", "C=3"], Some(&["x", "C=3"])),
            ("env", &["-u", "HOME", "--", "x"], Some(&["x"])),
            ("env", &["-C", "/srv", "x"], Some(&["x"])),
            ("env", &["python3 -u"], Some(&["python3 -u"])),
            ("env", &["-S", "python3 \"$X\""], None),
            ("env", &[], Some(&[])),
            (
                "setpriv",
                &[
                    "--reuid=65534",
                    "--regid",
                    "65534",
                    "--clear-groups",
                    "python3",
                ],
                Some(&["python3"]),
            ),
            ("setpriv", &["--reu=1", "x"], None),
            ("setpriv", &["-d"], None),
            ("python3", &["x"], None),
            ("env", &["-é"], None),
            ("tini", &["-é", "x"], None),
            ("dumb-init", &["--é", "x"], None),
        ];
        for (name, args, want) in cases {
            let got = wrapper(&[name], &strings(args));
            let got_argv = got.as_ref().map(|w| w.argv.clone());
            assert_eq!(got_argv, want.map(strings), "{name} {args:?}");
        }
        let w = wrapper(&["env"], &strings(&["-i", "-u"])).is_none();
        assert!(w, "a missing value is not followed");
        let w = wrapper(&["env"], &strings(&["-i", "PATH=/x", "y"])).unwrap();
        assert_eq!(
            w.env,
            [EnvOp::Clear, EnvOp::Set("PATH".into(), "/x".into())]
        );
        assert!(!w.needs_command);
        let w = wrapper(&["catatonit"], &strings(&["-P"])).unwrap();
        assert!(!w.needs_command && w.argv.is_empty());
        let w = wrapper(&["x", "gosu"], &strings(&["app"])).unwrap();
        assert!(w.needs_command && w.argv.is_empty());
        assert_eq!(w.switch, Some(Switch::Spec("app".into())));
        let w = wrapper(
            &["setpriv"],
            &strings(&["--reuid=nobody", "--init-groups", "--reset-env", "x"]),
        )
        .unwrap();
        assert_eq!(
            w.switch,
            Some(Switch::Setpriv {
                uid: Some("nobody".into()),
                gid: None,
                groups: Groups::Init
            })
        );
        assert_eq!(w.env, [EnvOp::Clear]);
    }

    #[test]
    fn interpreter_scripts() {
        let cases: &[ScriptCase] = &[
            ("python3", &["-u", "/app/x.py"], Some(("/app/x.py", true))),
            (
                "python3.11",
                &["-uB", "-W", "ignore", "x.py", "-m"],
                Some(("x.py", true)),
            ),
            (
                "python3",
                &["-Wignore", "-X", "dev", "x.py"],
                Some(("x.py", true)),
            ),
            ("python3", &["-u", "-m", "mod"], None),
            ("python3", &["-c", "print(1)"], None),
            ("python3", &["-"], None),
            ("python3", &[], None),
            ("python", &["--", "-x.py"], Some(("-x.py", true))),
            ("node", &["/app/app.js"], Some(("/app/app.js", true))),
            (
                "node",
                &["--enable-source-maps", "-r", "dotenv/config", "a.js"],
                Some(("a.js", true)),
            ),
            (
                "node",
                &["--max-old-space-size=4096", "a.js"],
                Some(("a.js", true)),
            ),
            (
                "node",
                &["--some-new-option", "a.js"],
                Some(("a.js", false)),
            ),
            ("node", &["-e", "1"], None),
            ("nodejs", &["--", "a.js"], Some(("a.js", true))),
            (
                "ruby",
                &["-w", "-Ilib", "-r", "json", "app.rb"],
                Some(("app.rb", true)),
            ),
            ("ruby3.1", &["-e", "puts 1"], None),
            ("ruby", &["-S", "rake"], None),
            (
                "perl",
                &["-w", "-I", "lib", "app.pl"],
                Some(("app.pl", true)),
            ),
            ("perl", &["-Mstrict", "-le", "print"], None),
            ("perl5.36.0", &["-T", "x.pl"], Some(("x.pl", true))),
            ("php", &["/app/app.php"], Some(("/app/app.php", true))),
            (
                "php8.2",
                &["-d", "memory_limit=1G", "-f", "a.php"],
                Some(("a.php", true)),
            ),
            ("php", &["-S", "0.0.0.0:80"], None),
            ("php", &["-r", "echo 1;"], None),
            ("sh", &["/app/run.sh"], Some(("/app/run.sh", true))),
            (
                "bash",
                &["-e", "-o", "pipefail", "run.sh", "x"],
                Some(("run.sh", true)),
            ),
            ("dash", &["-c", "echo"], None),
            (
                "bash",
                &["--rcfile", "/x", "run.sh"],
                Some(("run.sh", true)),
            ),
            (
                "java",
                &["-Xmx1g", "-Dx=y", "-jar", "/app/app.jar"],
                Some(("/app/app.jar", true)),
            ),
            ("java", &["-cp", "/app", "Main"], None),
            ("awk", &["x"], None),
            // Not ASCII: unknown options, never a panic.
            ("ruby", &["-é", "x.rb"], None),
            ("perl", &["-wé", "x.pl"], None),
            ("python3", &["-é", "x.py"], None),
        ];
        for (name, args, want) in cases {
            let got = script(&[name], &strings(args)).map(|s| (s.script, s.certain));
            let want = want.map(|(s, c)| (s.to_owned(), c));
            assert_eq!(got, want, "{name} {args:?}");
        }
        let s = script(&["ruby"], &strings(&["-C", "/srv", "app.rb"])).unwrap();
        assert_eq!(s.chdir.as_deref(), Some("/srv"));
        // `sh` that is bash in the image: bash's rules.
        let s = script(&["sh", "bash"], &strings(&["x"])).unwrap();
        assert_eq!(s.interpreter, "bash");
    }

    #[test]
    fn shell_form_commands() {
        let cases: &[ShellCase] = &[
            (
                &["-c", "server --port 80"],
                Some((&["server", "--port", "80"], true)),
            ),
            (&["-c", "exec /app/server"], Some((&["/app/server"], true))),
            (
                &["-c", "exec python3 /app/app.py"],
                Some((&["python3", "/app/app.py"], true)),
            ),
            (
                &["-c", "exec gosu app \"$@\""],
                Some((&["gosu", "app"], false)),
            ),
            (&["-c", "FOO=1 server"], Some((&["server"], true))),
            (&["-c", "PATH=/x server"], None),
            (&["-c", "server && other"], Some((&["server"], false))),
            (&["-c", "server || fallback"], None),
            (&["-c", "echo hi"], None),
            (&["-c", "$APP run"], None),
            (&["-c", "\"quoted\""], None),
            (&["-c", "exec -a name server"], None),
            (&["-ec", "server"], Some((&["server"], true))),
            (
                &["-o", "pipefail", "-c", "server"],
                Some((&["server"], true)),
            ),
            (&["script.sh"], None),
        ];
        for (args, want) in cases {
            let got = shell_script(&["sh"], &strings(args))
                .and_then(simple_command)
                .map(|c| (c.words, c.complete));
            let want = want.map(|(w, c)| (strings(w), c));
            assert_eq!(got, want, "{args:?}");
        }
        assert_eq!(shell_script(&["python3"], &strings(&["-c", "x"])), None);
    }
}
