//! Evaluating lexed instructions into build stages, down to the final stage's
//! startup configuration, with Docker's rules:
//!
//! - `ARG` before the first `FROM` is global: usable in `FROM` lines, and inside a
//!   stage after a bare `ARG NAME` redeclares it. A stage's `ARG`s end with the stage.
//! - `FROM image [AS name]`; stage names are case-insensitive. `FROM name` of an
//!   earlier stage starts from that stage's configuration (entrypoint, cmd, env, …);
//!   `FROM scratch` starts empty; any other image is external and its configuration
//!   is unknown, which the record says (`base_image`).
//! - Variables are substituted (see [`super::shell`]) where Docker does it: `FROM`,
//!   `ARG`, `ENV`, `WORKDIR`, `USER`, `EXPOSE`, `VOLUME`, `STOPSIGNAL`. `ENTRYPOINT`,
//!   `CMD`, `SHELL` and `HEALTHCHECK` keep their text: the shell expands it at run time.
//! - `ENTRYPOINT`/`CMD` in JSON (exec) form are recorded as the array; in shell form as
//!   the current `SHELL` (default `["/bin/sh","-c"]`) plus the text, as Docker stores
//!   them. `ENTRYPOINT` clears a `CMD` inherited from the parent (not one set earlier
//!   in the same stage).
//! - A stage from `scratch` starts with Docker's default `PATH` in its env, as
//!   BuildKit gives it.
//! - A relative `WORKDIR` joins the previous one (`/` when none is known).
//! - `ONBUILD` triggers are for images built *from* this one: ignored.
//! - `RUN`, `COPY`, `ADD`, `LABEL`, `MAINTAINER` do not change startup: passed over.
//!
//! Substitution is bounded twice: one value may grow to 1 MiB (see [`super::shell`]),
//! and all values substitution produces in the whole file, together with the
//! configuration copied when a stage starts `FROM` an earlier one, to
//! [`MAX_EXPANDED`] bytes. Without the second bound a few kilobytes of `ENV B1=$A`,
//! `ENV B2=$A`, … over one large `A` would hold gigabytes. Recorded values longer than
//! [`crate::model::dockerfile::MAX_SHOWN`] are shortened with their digest ([`crate::model::dockerfile::shortened`]).

use std::collections::BTreeMap;

use super::duration;
use super::parser::{Instruction, Parsed, SyntaxError, truncate};
use super::shell::{self, Vars};
use crate::model::dockerfile::{Field, StageRecord, Startup};
use crate::model::image::DEFAULT_PATH;

/// The default shell of shell-form commands on Linux.
const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// The most bytes substitution may produce in one Dockerfile (see the module doc).
pub const MAX_EXPANDED: usize = 16 << 20;

/// What is left of [`MAX_EXPANDED`].
struct Budget {
    left: usize,
}

impl Budget {
    fn charge(&mut self, bytes: usize, line: u32) -> Result<(), SyntaxError> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(SyntaxError::new(
                line,
                format!(
                    "variable substitution grows the Dockerfile's values beyond {} MiB in total",
                    MAX_EXPANDED >> 20
                ),
            )),
        }
    }
}

/// A stage's configuration while it is being built.
#[derive(Debug, Clone, Default)]
struct State {
    startup: Startup,
    /// Plain values of `startup.env`, for substitution.
    env: BTreeMap<String, String>,
    shell: Option<Vec<String>>,
    /// The external image the stage's chain starts from; `None` for `scratch`.
    base_image: Option<String>,
}

struct Stage {
    name: Option<String>,
    base: String,
    line: u32,
    state: State,
    args: BTreeMap<String, Option<String>>,
    cmd_set: bool,
}

/// The final stage of `parsed` and its startup configuration.
///
/// # Errors
/// A Dockerfile Docker would refuse: no `FROM`, an instruction before it, an unknown
/// instruction, a malformed argument list.
pub fn evaluate(parsed: &Parsed) -> Result<(StageRecord, Startup), SyntaxError> {
    let escape = parsed.escape;
    let mut budget = Budget { left: MAX_EXPANDED };
    let mut globals: BTreeMap<String, Option<String>> = BTreeMap::new();
    // Finished stages that later ones can name in `FROM`.
    let mut named: BTreeMap<String, State> = BTreeMap::new();
    let mut current: Option<Stage> = None;
    for ins in &parsed.instructions {
        if ins.keyword == "FROM" {
            if let Some(stage) = current.take() {
                finish(&mut named, stage);
            }
            let stage = from(ins, escape, &globals, &named, &mut budget)?;
            if let Some(name) = &stage.name {
                if named.contains_key(name) {
                    return Err(SyntaxError::new(
                        ins.line,
                        format!("duplicate stage name `{}`", truncate(name)),
                    ));
                }
            }
            current = Some(stage);
            continue;
        }
        let Some(stage) = current.as_mut() else {
            if ins.keyword == "ARG" {
                declare_args(
                    ins,
                    escape,
                    (&mut globals, None),
                    &BTreeMap::new(),
                    false,
                    &mut budget,
                )?;
                continue;
            }
            return Err(SyntaxError::new(
                ins.line,
                format!("`{}` comes before the first FROM", ins.keyword),
            ));
        };
        apply(stage, ins, escape, &globals, &mut budget)?;
    }
    let mut stage = current.ok_or_else(|| {
        let line = parsed.instructions.last().map_or(1, |i| i.line);
        SyntaxError::new(
            line,
            "no FROM instruction: a Dockerfile needs at least one stage",
        )
    })?;
    sort_unique(&mut stage.state.startup.expose);
    sort_unique(&mut stage.state.startup.volumes);
    shorten(&mut stage.state.startup);
    let record = StageRecord {
        name: stage.name,
        base: stage.base,
        line: stage.line,
        base_image: stage.state.base_image,
    };
    Ok((record, stage.state.startup))
}

fn from(
    ins: &Instruction,
    escape: char,
    globals: &BTreeMap<String, Option<String>>,
    named: &BTreeMap<String, State>,
    budget: &mut Budget,
) -> Result<Stage, SyntaxError> {
    if let Some(flag) = ins.flags.iter().find(|f| !f.starts_with("platform=")) {
        return Err(unknown_flag(ins, flag));
    }
    let words: Vec<&str> = ins.args.split_whitespace().collect();
    let (image, name) = match words.as_slice() {
        [image] => (*image, None),
        [image, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
            (*image, Some(name.to_ascii_lowercase()))
        }
        _ => {
            return Err(SyntaxError::new(
                ins.line,
                "FROM takes an image and optionally `AS name`",
            ));
        }
    };
    if let Some(name) = &name {
        // BuildKit's `^[a-z][a-z0-9-_\.]*$`.
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !valid {
            return Err(SyntaxError::new(
                ins.line,
                format!(
                    "invalid stage name `{}`: use letters, digits, `-`, `_` and `.`, starting with a letter",
                    truncate(name)
                ),
            ));
        }
    }
    let empty = BTreeMap::new();
    let vars = Vars {
        env: &empty,
        args: globals,
        base_unknown: false,
    };
    let base = shell::process(image, escape, &vars).map_err(|e| SyntaxError::new(ins.line, e))?;
    budget.charge(base.len(), ins.line)?;
    if base.is_empty() {
        return Err(SyntaxError::new(ins.line, "FROM names no image"));
    }
    let lower = base.to_ascii_lowercase();
    let state = if let Some(parent) = named.get(&lower) {
        // The copy is charged like substitution: otherwise a chain of `FROM` lines
        // would multiply one large environment.
        budget.charge(size(parent), ins.line)?;
        parent.clone()
    } else if lower == "scratch" {
        // BuildKit (and buildah) give an image built from scratch Docker's default
        // PATH, so `ENV PATH=/app/bin:$PATH` means what it says.
        let mut state = State::default();
        state.env.insert("PATH".to_owned(), DEFAULT_PATH.to_owned());
        state.startup.env.insert(
            "PATH".to_owned(),
            Field {
                value: DEFAULT_PATH.to_owned(),
                line: ins.line,
            },
        );
        state
    } else {
        State {
            base_image: Some(base.clone()),
            ..State::default()
        }
    };
    Ok(Stage {
        name,
        base,
        line: ins.line,
        state,
        args: BTreeMap::new(),
        cmd_set: false,
    })
}

fn apply(
    stage: &mut Stage,
    ins: &Instruction,
    escape: char,
    globals: &BTreeMap<String, Option<String>>,
    budget: &mut Budget,
) -> Result<(), SyntaxError> {
    let line = ins.line;
    let keyword = ins.keyword.as_str();
    match keyword {
        "RUN" | "COPY" | "ADD" | "LABEL" | "MAINTAINER" | "ONBUILD" => return Ok(()),
        "HEALTHCHECK" => {}
        _ => {
            if let Some(flag) = ins.flags.first() {
                return Err(unknown_flag(ins, flag));
            }
        }
    }
    let base_unknown = stage.state.base_image.is_some();
    if keyword == "ARG" {
        return declare_args(
            ins,
            escape,
            (&mut stage.args, Some(globals)),
            &stage.state.env,
            base_unknown,
            budget,
        );
    }
    if ins.args.is_empty() {
        return Err(SyntaxError::new(
            line,
            format!("{keyword} needs an argument"),
        ));
    }
    let vars = Vars {
        env: &stage.state.env,
        args: &stage.args,
        base_unknown,
    };
    let mut word = |text: &str| {
        let value = shell::process(text, escape, &vars).map_err(|e| SyntaxError::new(line, e))?;
        budget.charge(value.len(), line)?;
        Ok::<_, SyntaxError>(value)
    };
    let field = |value: String| Some(Field { value, line });
    match keyword {
        "ENTRYPOINT" | "CMD" => set_command(stage, ins),
        "USER" => stage.state.startup.user = field(word(&ins.args)?),
        "WORKDIR" => {
            let dir = word(&ins.args)?;
            let previous = stage
                .state
                .startup
                .workdir
                .as_ref()
                .map_or("/", |f| f.value.as_str());
            stage.state.startup.workdir = field(join_workdir(previous, &dir));
        }
        "SHELL" => {
            let argv = json_array(&ins.args)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    SyntaxError::new(
                        line,
                        "SHELL needs a JSON array, e.g. [\"/bin/bash\", \"-c\"]",
                    )
                })?;
            stage.state.startup.shell = field(to_json(&argv));
            stage.state.shell = Some(argv);
        }
        "HEALTHCHECK" => stage.state.startup.healthcheck = field(healthcheck(ins)?),
        "STOPSIGNAL" => stage.state.startup.stopsignal = field(word(&ins.args)?),
        "ENV" => {
            // All pairs of one ENV see the values from before it, as in Docker.
            let resolved = env_values(ins, escape, &mut word)?;
            for (key, value) in resolved {
                stage.state.env.insert(key.clone(), value.clone());
                stage.state.startup.env.insert(key, Field { value, line });
            }
        }
        "EXPOSE" => {
            let ports = exposed_ports(ins, &mut word)?;
            stage.state.startup.expose.extend(ports);
        }
        "VOLUME" => {
            let volumes = volume_paths(ins, &mut word)?;
            stage.state.startup.volumes.extend(volumes);
        }
        other => {
            return Err(SyntaxError::new(
                line,
                format!("unknown instruction `{}`", truncate(other)),
            ));
        }
    }
    Ok(())
}

/// `ENTRYPOINT` and `CMD`: the argv Docker stores (shell form through the stage's
/// shell). An `ENTRYPOINT` clears a `CMD` inherited from the base, not one this
/// stage set.
fn set_command(stage: &mut Stage, ins: &Instruction) {
    let argv = command(&ins.args, stage.state.shell.as_deref());
    let value = Some(Field {
        value: argv,
        line: ins.line,
    });
    if ins.keyword == "ENTRYPOINT" {
        stage.state.startup.entrypoint = value;
        if !stage.cmd_set {
            stage.state.startup.cmd = None;
        }
    } else {
        stage.state.startup.cmd = value;
        stage.cmd_set = true;
    }
}

/// One instruction word after substitution, charged to the stage's budget.
type Word<'a> = dyn FnMut(&str) -> Result<String, SyntaxError> + 'a;

/// `ENV`'s pairs with keys and values substituted.
fn env_values(
    ins: &Instruction,
    escape: char,
    word: &mut Word<'_>,
) -> Result<Vec<(String, String)>, SyntaxError> {
    env_pairs(&ins.args, escape, ins.line)?
        .into_iter()
        .map(|(key, value)| Ok((word(&key)?, word(&value)?)))
        .collect()
}

/// `EXPOSE`'s ports, `/tcp` when no protocol is given (as Docker records them).
fn exposed_ports(ins: &Instruction, word: &mut Word<'_>) -> Result<Vec<Field>, SyntaxError> {
    ins.args
        .split_whitespace()
        .map(|port| {
            let mut port = word(port)?;
            if !port.contains('/') {
                port.push_str("/tcp");
            }
            Ok(Field {
                value: port,
                line: ins.line,
            })
        })
        .collect()
}

/// `VOLUME`'s paths, as a JSON array or words; empty ones are dropped.
fn volume_paths(ins: &Instruction, word: &mut Word<'_>) -> Result<Vec<Field>, SyntaxError> {
    let paths = match json_array(&ins.args) {
        Some(paths) => paths,
        None => ins.args.split_whitespace().map(str::to_owned).collect(),
    };
    let mut out = Vec::new();
    for path in paths {
        let value = word(&path)?;
        if !value.is_empty() {
            out.push(Field {
                value,
                line: ins.line,
            });
        }
    }
    Ok(out)
}

fn unknown_flag(ins: &Instruction, flag: &str) -> SyntaxError {
    SyntaxError::new(
        ins.line,
        format!("unknown flag `--{}` on {}", truncate(flag), ins.keyword),
    )
}

/// Declared `ARG`s: a value, or none (declared without one).
type Args = BTreeMap<String, Option<String>>;

/// `ARG a b=1 …` into `args`. Inside a stage (`globals` given), a bare name takes the
/// global default.
fn declare_args(
    ins: &Instruction,
    escape: char,
    (args, globals): (&mut Args, Option<&Args>),
    env: &BTreeMap<String, String>,
    base_unknown: bool,
    budget: &mut Budget,
) -> Result<(), SyntaxError> {
    let words = shell::split_words(&ins.args, escape);
    if words.is_empty() {
        return Err(SyntaxError::new(ins.line, "ARG needs a name"));
    }
    for w in words {
        let (name, value) = match w.split_once('=') {
            Some((name, raw)) => {
                let vars = Vars {
                    env,
                    args,
                    base_unknown,
                };
                let v = shell::process(raw, escape, &vars)
                    .map_err(|e| SyntaxError::new(ins.line, e))?;
                budget.charge(v.len(), ins.line)?;
                (name.to_owned(), Some(v))
            }
            None => {
                let inherited = globals.and_then(|g| g.get(&w).cloned()).flatten();
                budget.charge(inherited.as_ref().map_or(0, String::len), ins.line)?;
                (w, inherited)
            }
        };
        if name.is_empty() {
            return Err(SyntaxError::new(ins.line, "ARG needs a name before `=`"));
        }
        args.insert(name, value);
    }
    Ok(())
}

/// `ENV a=b c=d` or the legacy `ENV a b c` (one variable, the rest of the line).
fn env_pairs(args: &str, escape: char, line: u32) -> Result<Vec<(String, String)>, SyntaxError> {
    let words = shell::split_words(args, escape);
    let Some(first) = words.first() else {
        return Err(SyntaxError::new(line, "ENV needs a name and a value"));
    };
    if !first.contains('=') {
        return match args.trim().split_once(char::is_whitespace) {
            Some((key, value)) => Ok(vec![(key.to_owned(), value.trim().to_owned())]),
            None => Err(SyntaxError::new(
                line,
                format!(
                    "ENV `{}` has no value: write `ENV name=value`",
                    truncate(first)
                ),
            )),
        };
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(SyntaxError::new(
                line,
                format!("ENV `{}` is not of the form name=value", truncate(&w)),
            )),
        })
        .collect()
}

/// A JSON array of strings, as Docker's exec form (anything else is shell form).
fn json_array(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

fn to_json(argv: &[String]) -> String {
    serde_json::to_string(argv).unwrap_or_default()
}

/// The argv Docker stores for `ENTRYPOINT`/`CMD`, as a JSON array.
fn command(args: &str, shell: Option<&[String]>) -> String {
    if let Some(argv) = json_array(args) {
        return to_json(&argv);
    }
    let mut argv: Vec<String> = match shell {
        Some(s) => s.to_vec(),
        None => DEFAULT_SHELL.iter().map(|s| (*s).to_owned()).collect(),
    };
    argv.push(args.trim().to_owned());
    to_json(&argv)
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [--options] CMD command`, as one comparable
/// value: the test as Docker stores it, then the options Docker stores as non-zero, in
/// a fixed order and normalised (durations as Go prints them, retries as a number), so
/// `--interval=30s` and `--interval=0.5m` record the same value, as they build the same
/// image.
fn healthcheck(ins: &Instruction) -> Result<String, SyntaxError> {
    const OPTIONS: [&str; 5] = [
        "interval",
        "timeout",
        "start-period",
        "start-interval",
        "retries",
    ];
    let (kind, rest) = ins
        .args
        .split_once(char::is_whitespace)
        .unwrap_or((ins.args.as_str(), ""));
    let mut options = BTreeMap::new();
    for flag in &ins.flags {
        let Some((name, value)) = flag.split_once('=') else {
            return Err(if OPTIONS.contains(&flag.as_str()) {
                SyntaxError::new(
                    ins.line,
                    format!("flag `--{flag}` on HEALTHCHECK needs a value"),
                )
            } else {
                unknown_flag(ins, flag)
            });
        };
        let Some(rank) = OPTIONS.iter().position(|o| *o == name) else {
            return Err(unknown_flag(ins, flag));
        };
        if let Some(value) = healthcheck_option(name, value)
            .map_err(|e| SyntaxError::new(ins.line, format!("HEALTHCHECK --{name}: {e}")))?
        {
            options.insert(rank, format!("--{name}={value}"));
        } else {
            // The last flag of a name counts: a later zero resets an earlier value.
            options.remove(&rank);
        }
    }
    if kind.eq_ignore_ascii_case("none") {
        if !rest.trim().is_empty() || !ins.flags.is_empty() {
            return Err(SyntaxError::new(
                ins.line,
                "HEALTHCHECK NONE takes no other arguments",
            ));
        }
        return Ok("NONE".to_owned());
    }
    if !kind.eq_ignore_ascii_case("cmd") || rest.trim().is_empty() {
        return Err(SyntaxError::new(
            ins.line,
            "HEALTHCHECK needs `NONE` or `CMD command`",
        ));
    }
    let test = match json_array(rest) {
        Some(mut argv) => {
            argv.insert(0, "CMD".to_owned());
            argv
        }
        None => vec!["CMD-SHELL".to_owned(), rest.trim().to_owned()],
    };
    let mut value = to_json(&test);
    for option in options.values() {
        value.push(' ');
        value.push_str(option);
    }
    Ok(value)
}

/// One `HEALTHCHECK` option as BuildKit reads it: durations with Go's
/// `time.ParseDuration`, zero (or empty) meaning "not set", anything else at least
/// 1ms; `retries` a non-negative 32-bit integer, zero meaning "not set". `None` for
/// "not set": Docker stores the same config as without the flag.
fn healthcheck_option(name: &str, value: &str) -> Result<Option<String>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    if name == "retries" {
        // Go's strconv.ParseInt(value, 10, 32): an optional sign, then ASCII digits.
        let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
        let parsed = if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
            value.parse::<i32>().ok()
        } else {
            None
        };
        return match parsed {
            Some(0) => Ok(None),
            Some(n) if n > 0 => Ok(Some(n.to_string())),
            Some(n) => Err(format!("cannot be negative ({n})")),
            None => Err(format!("`{}` is not a number", truncate(value))),
        };
    }
    let nanos = duration::parse(value).map_err(|e| format!("`{}`: {e}", truncate(value)))?;
    match nanos {
        0 => Ok(None),
        1_000_000.. => Ok(Some(duration::format(nanos))),
        _ => Err(format!(
            "`{}` is less than the minimum of 1ms",
            truncate(value)
        )),
    }
}

/// Docker's WORKDIR resolution: absolute replaces, relative joins; then cleaned.
fn join_workdir(previous: &str, dir: &str) -> String {
    let joined = if dir.starts_with('/') {
        dir.to_owned()
    } else {
        format!("{previous}/{dir}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The bytes of a stage's configuration: what inheriting it copies.
fn size(state: &State) -> usize {
    let startup = &state.startup;
    let fields = startup
        .compared()
        .into_iter()
        .filter_map(|(_, f)| f)
        .chain(startup.env.values())
        .chain(&startup.expose)
        .chain(&startup.volumes);
    let recorded: usize = fields.map(|f| f.value.len()).sum();
    let names: usize = startup.env.keys().map(String::len).sum();
    let plain: usize = state.env.iter().map(|(k, v)| k.len() + v.len()).sum();
    recorded + names + plain
}

/// The record keeps long values shortened, with their digest (see
/// [`crate::model::dockerfile::shortened`]).
fn shorten(startup: &mut Startup) {
    let short = |f: &mut Field| {
        if let std::borrow::Cow::Owned(s) = crate::model::dockerfile::shortened(&f.value) {
            f.value = s;
        }
    };
    for f in [
        &mut startup.entrypoint,
        &mut startup.cmd,
        &mut startup.user,
        &mut startup.workdir,
        &mut startup.shell,
        &mut startup.healthcheck,
        &mut startup.stopsignal,
    ]
    .into_iter()
    .flatten()
    {
        short(f);
    }
    startup.expose.iter_mut().for_each(short);
    startup.volumes.iter_mut().for_each(short);
    startup.env = std::mem::take(&mut startup.env)
        .into_iter()
        .map(|(k, mut f)| {
            short(&mut f);
            (crate::model::dockerfile::shortened(&k).into_owned(), f)
        })
        .collect();
}

/// Sorted by value, each value once, keeping the line that first set it.
fn sort_unique(list: &mut Vec<Field>) {
    list.sort_by(|a, b| a.value.cmp(&b.value));
    list.dedup_by(|later, first| later.value == first.value);
}

/// Keeps a finished stage's configuration when later stages can name it.
fn finish(named: &mut BTreeMap<String, State>, mut stage: Stage) {
    if let Some(name) = stage.name.take() {
        sort_unique(&mut stage.state.startup.expose);
        sort_unique(&mut stage.state.startup.volumes);
        named.insert(name, stage.state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parser::parse;

    fn eval(text: &str) -> Result<(StageRecord, Startup), SyntaxError> {
        evaluate(&parse(text)?)
    }

    fn value(f: &Option<Field>) -> Option<(&str, u32)> {
        f.as_ref().map(|f| (f.value.as_str(), f.line))
    }

    /// The final stage's (field, value, line) after evaluating the text.
    macro_rules! test {
        ($name:ident, $text:expr, $field:ident, $want:expr) => {
            #[test]
            fn $name() {
                let (_, s) = eval($text).expect("evaluates");
                assert_eq!(value(&s.$field), $want);
            }
        };
    }

    macro_rules! error {
        ($name:ident, $text:expr, $line:expr, $needle:expr) => {
            #[test]
            fn $name() {
                let err = eval($text).expect_err("fails");
                assert_eq!(err.line, $line, "{err}");
                assert!(err.message.contains($needle), "{err}");
            }
        };
    }

    test!(
        exec_form,
        "FROM a\nENTRYPOINT [\"/app/server\"]\n",
        entrypoint,
        Some(("[\"/app/server\"]", 2))
    );
    test!(
        shell_form,
        "FROM a\nCMD /app/server --port 80\n",
        cmd,
        Some(("[\"/bin/sh\",\"-c\",\"/app/server --port 80\"]", 2))
    );
    test!(
        shell_form_uses_shell,
        "FROM a\nSHELL [\"/bin/bash\", \"-eu\", \"-c\"]\nCMD run\n",
        cmd,
        Some(("[\"/bin/bash\",\"-eu\",\"-c\",\"run\"]", 3))
    );
    test!(
        bad_json_is_shell_form,
        "FROM a\nCMD [\"a\", 1]\n",
        cmd,
        Some(("[\"/bin/sh\",\"-c\",\"[\\\"a\\\", 1]\"]", 2))
    );
    test!(
        no_substitution_in_cmd,
        "FROM a\nARG X=1\nCMD [\"echo\", \"$X\"]\n",
        cmd,
        Some(("[\"echo\",\"$X\"]", 3))
    );
    test!(
        entrypoint_clears_inherited_cmd,
        "FROM a AS base\nCMD [\"x\"]\nFROM base\nENTRYPOINT [\"y\"]\n",
        cmd,
        None
    );
    test!(
        entrypoint_keeps_own_cmd,
        "FROM a\nCMD [\"x\"]\nENTRYPOINT [\"y\"]\n",
        cmd,
        Some(("[\"x\"]", 2))
    );
    test!(
        stage_inherits,
        "FROM alpine AS Build\nENTRYPOINT [\"/b\"]\nUSER app\nFROM build\nRUN true\n",
        entrypoint,
        Some(("[\"/b\"]", 2))
    );
    test!(
        inherits_user,
        "FROM alpine AS build\nUSER app\nFROM build\n",
        user,
        Some(("app", 2))
    );
    test!(
        external_base_resets,
        "FROM alpine AS build\nUSER app\nFROM debian\n",
        user,
        None
    );
    test!(
        later_stage_wins,
        "FROM a\nUSER one\nFROM b\nUSER two\n",
        user,
        Some(("two", 4))
    );
    test!(
        user_substituted,
        "FROM scratch\nARG UID=1000\nUSER ${UID}:${GID:-100}\n",
        user,
        Some(("1000:100", 3))
    );
    test!(
        env_substituted_in_user,
        "FROM scratch\nENV U=svc\nUSER $U\n",
        user,
        Some(("svc", 3))
    );
    test!(
        workdir_relative,
        "FROM a\nWORKDIR /app\nWORKDIR sub/../web\n",
        workdir,
        Some(("/app/web", 3))
    );
    test!(
        workdir_relative_first,
        "FROM a\nWORKDIR app\n",
        workdir,
        Some(("/app", 2))
    );
    test!(
        workdir_inherited_then_joined,
        "FROM a AS b\nWORKDIR /srv\nFROM b\nWORKDIR x\n",
        workdir,
        Some(("/srv/x", 4))
    );
    test!(
        healthcheck_none,
        "FROM a\nHEALTHCHECK NONE\n",
        healthcheck,
        Some(("NONE", 2))
    );
    test!(
        healthcheck_options,
        "FROM a\nHEALTHCHECK --retries=3 --interval=5s CMD curl -f http://x/\n",
        healthcheck,
        Some((
            "[\"CMD-SHELL\",\"curl -f http://x/\"] --interval=5s --retries=3",
            2
        ))
    );
    test!(
        healthcheck_durations_normalised,
        "FROM a\nHEALTHCHECK --interval=0.5m --timeout=3000ms --start-period=1m30s --start-interval=.5s --retries=+03 CMD x\n",
        healthcheck,
        Some((
            "[\"CMD-SHELL\",\"x\"] --interval=30s --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3",
            2
        ))
    );
    test!(
        healthcheck_zero_is_unset,
        "FROM a\nHEALTHCHECK --interval=0 --timeout=0s --start-period= --retries=0 CMD x\n",
        healthcheck,
        Some(("[\"CMD-SHELL\",\"x\"]", 2))
    );
    test!(
        healthcheck_exec,
        "FROM a\nHEALTHCHECK CMD [\"/bin/check\"]\n",
        healthcheck,
        Some(("[\"CMD\",\"/bin/check\"]", 2))
    );
    test!(
        stopsignal,
        "FROM a\nARG SIG=SIGTERM\nSTOPSIGNAL $SIG\n",
        stopsignal,
        Some(("SIGTERM", 3))
    );
    test!(
        onbuild_ignored,
        "FROM a\nONBUILD ENTRYPOINT [\"/x\"]\n",
        entrypoint,
        None
    );
    test!(
        heredoc_not_read,
        "FROM a\nRUN <<EOF\nENTRYPOINT [\"/x\"]\nEOF\n",
        entrypoint,
        None
    );
    test!(
        global_arg_in_from_and_redeclared,
        "ARG V=3.19\nFROM alpine:${V}\nARG V\nUSER u$V\n",
        user,
        Some(("u3.19", 4))
    );
    test!(
        global_arg_needs_redeclaring,
        "ARG V=3\nFROM scratch\nUSER u$V\n",
        user,
        Some(("u", 3))
    );
    test!(
        unknown_base_var_kept,
        "FROM alpine\nUSER $APP_USER\n",
        user,
        Some(("$APP_USER", 2))
    );

    #[test]
    fn env_forms() {
        let (_, s) =
            eval("FROM scratch\nENV A=1 B=\"x y\" C=${A}2\nENV LEGACY some value\nENV A=9 D=$A\n")
                .unwrap();
        let env: Vec<(&str, &str, u32)> = s
            .env
            .iter()
            .map(|(k, f)| (k.as_str(), f.value.as_str(), f.line))
            .collect();
        assert_eq!(
            env,
            [
                ("A", "9", 4),
                ("B", "x y", 2),
                ("C", "2", 2),
                ("D", "1", 4),
                ("LEGACY", "some value", 3),
                ("PATH", DEFAULT_PATH, 1)
            ]
        );
    }

    #[test]
    fn scratch_has_default_path() {
        let (_, s) = eval("FROM scratch\nENV PATH=/app/bin:$PATH\n").unwrap();
        assert_eq!(s.env["PATH"].value, format!("/app/bin:{DEFAULT_PATH}"));
        assert_eq!(s.env["PATH"].line, 2);
    }

    #[test]
    fn env_path_from_unknown_base() {
        let (stage, s) = eval("FROM node:20 AS app\nENV PATH=/app/bin:$PATH\n").unwrap();
        assert_eq!(s.env["PATH"].value, "/app/bin:$PATH");
        assert_eq!(stage.base_image.as_deref(), Some("node:20"));
        assert_eq!(stage.name.as_deref(), Some("app"));
    }

    #[test]
    fn base_image_through_stages() {
        let (stage, _) = eval("FROM scratch AS a\nFROM a AS b\nFROM b\n").unwrap();
        assert_eq!(
            (stage.base.as_str(), stage.base_image, stage.line),
            ("b", None, 3)
        );
        let (stage, _) = eval("FROM debian AS a\nFROM a\n").unwrap();
        assert_eq!(stage.base_image.as_deref(), Some("debian"));
    }

    #[test]
    fn expose_and_volume() {
        let (_, s) = eval("FROM a\nARG P=8080\nEXPOSE 80 $P/udp 80/tcp\nVOLUME [\"/data\"] \nVOLUME /logs /data\n").unwrap();
        let ports: Vec<&str> = s.expose.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(ports, ["80/tcp", "8080/udp"]);
        let vols: Vec<(&str, u32)> = s
            .volumes
            .iter()
            .map(|f| (f.value.as_str(), f.line))
            .collect();
        assert_eq!(vols, [("/data", 4), ("/logs", 5)]);
    }

    /// The reviewer's file: `A` doubled to 512 KiB, then `copies` lines `ENV Bi=$A`.
    fn doubling(copies: usize) -> String {
        let mut text = "FROM scratch\nENV A=x\n".to_owned();
        text.push_str(&"ENV A=$A$A\n".repeat(19));
        for i in 0..copies {
            text.push_str(&format!("ENV B{i}=$A\n"));
        }
        text
    }

    #[test]
    fn total_expansion_is_bounded_at_its_line() {
        // 51 KB that used to hold gigabytes: refused where the total passes 16 MiB
        // (the 30th copy, line 51), long before the end.
        let err = eval(&doubling(4000)).expect_err("refused");
        assert_eq!(err.line, 51, "{err}");
        assert!(
            err.message
                .contains("grows the Dockerfile's values beyond 16 MiB in total"),
            "{err}"
        );
        // Under the bound, nothing changes.
        let (_, s) = eval(&doubling(29)).expect("evaluates");
        assert_eq!(s.env.len(), 31);
    }

    #[test]
    fn inheriting_a_stage_counts_toward_the_bound() {
        // No substitution after the first stage: each `FROM` copies ~1 MiB of state.
        let mut text = doubling(0).replace("FROM scratch", "FROM scratch AS s0");
        for i in 1..64 {
            text.push_str(&format!("FROM s{} AS s{i}\n", i - 1));
        }
        let err = eval(&text).expect_err("refused");
        assert!(err.message.contains("beyond 16 MiB in total"), "{err}");
        let line = text.lines().nth(err.line as usize - 1).unwrap();
        assert!(line.starts_with("FROM s"), "{line}");
    }

    #[test]
    fn long_values_recorded_shortened_with_digest() {
        let text = "FROM scratch\nENV A=x\nENV A=$A$A$A$A\nENV A=$A$A$A$A\nENV A=$A$A$A$A\nENV A=$A$A$A$A\nENV A=$A$A$A$A$A$A$A$A\nUSER $A\n";
        let (_, s) = eval(text).unwrap();
        let full = "x".repeat(2048);
        let shown = format!(
            "{}\u{2026} (2048 bytes, {})",
            "x".repeat(200),
            crate::digest::Digest::of(full.as_bytes())
        );
        assert_eq!(s.env["A"].value, shown);
        assert_eq!(value(&s.user), Some((shown.as_str(), 8)));
        // Shown again, a shown value stays as it is.
        assert_eq!(crate::model::dockerfile::shortened(&shown), shown);
    }

    error!(no_from, "ARG A=1\n", 1, "no FROM");
    error!(before_from, "CMD x\nFROM a\n", 1, "before the first FROM");
    error!(
        unknown_instruction,
        "FROM a\nFROMM b\n", 2, "unknown instruction `FROMM`"
    );
    error!(bad_from, "FROM a b\n", 1, "FROM takes");
    error!(
        shell_not_json,
        "FROM a\nSHELL /bin/bash -c\n", 2, "JSON array"
    );
    error!(env_without_value, "FROM a\nENV ONLY\n", 2, "has no value");
    error!(env_bad_pair, "FROM a\nENV A=1 B\n", 2, "name=value");
    error!(cmd_flag, "FROM a\nCMD --help\n", 2, "unknown flag `--help`");
    error!(healthcheck_bad, "FROM a\nHEALTHCHECK curl\n", 2, "NONE");
    error!(
        healthcheck_flag,
        "FROM a\nHEALTHCHECK --bogus=1 CMD x\n", 2, "--bogus"
    );
    error!(
        healthcheck_no_unit,
        "FROM a\nHEALTHCHECK --interval=30 CMD x\n", 2, "--interval: `30`: missing unit"
    );
    error!(
        healthcheck_below_1ms,
        "FROM a\nHEALTHCHECK --timeout=500us CMD x\n", 2, "less than the minimum of 1ms"
    );
    error!(
        healthcheck_negative_retries,
        "FROM a\nHEALTHCHECK --retries=-1 CMD x\n", 2, "cannot be negative"
    );
    error!(
        healthcheck_retries_not_a_number,
        "FROM a\nHEALTHCHECK --retries=3x CMD x\n", 2, "`3x` is not a number"
    );
    error!(
        healthcheck_flag_without_value,
        "FROM a\nHEALTHCHECK --interval CMD x\n", 2, "needs a value"
    );
    error!(required_var, "FROM scratch\nUSER ${U:?set U}\n", 2, "set U");
    error!(
        duplicate_stage,
        "FROM a AS x\nFROM b AS X\n", 2, "duplicate stage name `x`"
    );
    error!(empty_user, "FROM a\nUSER\n", 2, "needs an argument");
}
