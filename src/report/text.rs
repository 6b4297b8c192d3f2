//! `--format text`: for people. The releases compared, the command's facts (a list one
//! item per line), then one block per finding: a headline with level, rule and
//! component, the message, where to fix it, the details that say what changed, and
//! the fingerprint to put in `[[accept]]`. Then, for `diff` and `check`, the changes
//! in brief (counts and the first paths per component; `--format json` or `html` has
//! them all), and last the verdict. Colour only when the caller asks (a terminal with
//! `NO_COLOR` unset).

use std::borrow::Cow;
use std::io;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use super::Report;
use crate::model::changes::{Change, ComponentChanges, FileChange, Status};
use crate::model::finding::{Finding, Level};

/// Lists longer than this are cut, with a count of the rest.
const LIST_LIMIT: usize = 20;
/// How many paths a line of the changes names before counting the rest.
const BRIEF_PATHS: usize = 3;
/// How many unchanged components the changes name.
const BRIEF_UNCHANGED: usize = 10;

/// Renders the report, then defuses what a CI runner would obey in it (see
/// [`super::defuse`]): text reports are what CI logs show.
pub(super) fn render(report: &Report, color: bool, out: &mut dyn io::Write) -> io::Result<()> {
    let mut text = Vec::new();
    render_raw(report, color, &mut text)?;
    let text = String::from_utf8_lossy(&text);
    out.write_all(super::defuse(&text).as_bytes())
}

fn render_raw(report: &Report, color: bool, out: &mut dyn io::Write) -> io::Result<()> {
    let paint = |style: Style, text: &str| -> String {
        if color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    };
    let bold = Style::new().bold();

    if let Some(line) = super::releases_line(&report.releases) {
        writeln!(out, "{}: {}", paint(bold, "releases"), clean(&line))?;
        if report.facts.is_empty() {
            writeln!(out)?;
        }
    }
    for (key, value) in report.facts.iter() {
        match value {
            // A list one item per line: thousands of changed files must not make one
            // line of thousands of characters.
            Value::Array(items) if !items.is_empty() => {
                writeln!(out, "{}:", paint(bold, &clean(key)))?;
                for item in items {
                    writeln!(out, "  {}", inline(item))?;
                }
            }
            _ => writeln!(out, "{}: {}", paint(bold, &clean(key)), inline(value))?,
        }
    }
    if !report.facts.is_empty() {
        writeln!(out)?;
    }

    for f in &report.findings {
        write_finding(f, &paint, out)?;
        writeln!(out)?;
    }

    if let Some(changes) = &report.changes {
        write_changes(changes, &paint, out)?;
    }

    let verdict = if report.exit_code() == 1 {
        paint(level_style(Level::Error).bold(), "FAIL")
    } else {
        paint(AnsiColor::Green.on_default().bold(), "ok")
    };
    let line = report.verdict();
    // The plain line with its verdict word painted.
    let (head, tail) = line
        .split_once(&format!(": {}: ", report.verdict_word()))
        .unwrap_or((&line, ""));
    writeln!(out, "{head}: {verdict}: {tail}")
}

/// The changes in brief: one block per component that changed, then the unchanged
/// ones by name.
fn write_changes(
    changes: &[ComponentChanges],
    paint: &dyn Fn(Style, &str) -> String,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let changed = changes
        .iter()
        .filter(|c| c.status != Status::Unchanged)
        .count();
    writeln!(
        out,
        "{} {changed} of {} components changed",
        paint(Style::new().bold(), "changes:"),
        changes.len()
    )?;
    let mut unchanged = Vec::new();
    for c in changes {
        if c.status == Status::Unchanged {
            unchanged.push(c.component.as_str());
            continue;
        }
        for line in brief(c) {
            writeln!(out, "{line}")?;
        }
    }
    if !unchanged.is_empty() {
        let mut names: Vec<String> = unchanged
            .iter()
            .take(BRIEF_UNCHANGED)
            .map(|n| clean(n).into_owned())
            .collect();
        if unchanged.len() > BRIEF_UNCHANGED {
            names.push(format!("and {} more", unchanged.len() - BRIEF_UNCHANGED));
        }
        writeln!(out, "  unchanged: {}", names.join(", "))?;
    }
    writeln!(out)
}

/// A component's changes as a few lines: a headline, then inputs, each output that
/// changed or stayed, the image, the Dockerfile and Nix.
pub(super) fn brief(c: &ComponentChanges) -> Vec<String> {
    let mut lines = vec![format!("  {}: {}", clean(&c.component), c.status.as_str())];
    if let Some(inputs) = &c.inputs {
        match c.status {
            Status::Added | Status::Removed => lines.push(format!(
                "    inputs: {} files",
                inputs.counts.changed() + inputs.counts.unchanged
            )),
            _ if inputs.counts.changed() == 0 && !inputs.digest.changed() => {
                lines.push("    inputs: unchanged".to_owned());
            }
            // The digest covers the file records; records without a file list (a
            // hand-written manifest) still differ by digest.
            _ if inputs.counts.changed() == 0 => lines.push(format!(
                "    inputs: digest {} → {}",
                short_opt(inputs.digest.old.as_ref()),
                short_opt(inputs.digest.new.as_ref())
            )),
            _ => lines.push(format!(
                "    inputs: {}: {}",
                inputs.counts.brief(),
                first_paths(&inputs.files)
            )),
        }
    }
    for o in &c.outputs {
        let digest = |side: Option<&crate::model::changes::OutputSide>| {
            side.map_or_else(|| "nothing".to_owned(), |s| short(&s.digest.to_string()))
        };
        let mut line = format!(
            "    output {}: {}",
            clean(&o.path),
            match o.change {
                Change::Unchanged => format!("unchanged ({})", digest(o.new.as_ref())),
                Change::Added => format!("added ({})", digest(o.new.as_ref())),
                Change::Removed => format!("removed (was {})", digest(o.old.as_ref())),
                Change::Modified =>
                    format!("{} → {}", digest(o.old.as_ref()), digest(o.new.as_ref())),
            }
        );
        if o.counts.changed() > 0 && o.change == Change::Modified {
            line.push_str(&format!(
                "; files {}: {}",
                o.counts.brief(),
                first_paths(&o.files)
            ));
        }
        if let (Some(a), Some(b)) = (
            o.old.as_ref().and_then(|s| s.store_path.as_deref()),
            o.new.as_ref().and_then(|s| s.store_path.as_deref()),
        ) {
            if a != b {
                line.push_str(&format!("; store path {} → {}", clean(a), clean(b)));
            }
        }
        lines.push(line);
    }
    if let Some(i) = &c.image {
        let mut line = format!("    image: {}", i.change.as_str());
        if i.identity.changed() {
            line.push_str(&format!(
                " (identity {} → {})",
                short_opt(i.identity.old.as_ref()),
                short_opt(i.identity.new.as_ref())
            ));
        }
        if i.manifest_digest.changed() {
            line.push_str(&format!(
                "; manifest {} → {}",
                short_opt(i.manifest_digest.old.as_ref()),
                short_opt(i.manifest_digest.new.as_ref())
            ));
        }
        let fields: Vec<&str> = i
            .startup
            .iter()
            .filter(|f| f.change != Change::Unchanged)
            .map(|f| f.field.as_str())
            .collect();
        if !fields.is_empty() {
            line.push_str(&format!("; startup: {} changed", fields.join(", ")));
        }
        let labels = i
            .labels
            .iter()
            .filter(|l| l.change != Change::Unchanged)
            .count();
        if labels > 0 {
            line.push_str(&format!(
                "; {labels} label{} changed",
                if labels == 1 { "" } else { "s" }
            ));
        }
        let layers = i
            .layers
            .iter()
            .filter(|l| l.change != Change::Unchanged)
            .count();
        if layers > 0 {
            line.push_str(&format!("; layers: {layers} of {} differ", i.layers.len()));
        }
        lines.push(line);
    }
    if let Some(d) = &c.dockerfile {
        let fields: Vec<String> = d
            .startup
            .iter()
            .filter(|f| f.change != Change::Unchanged)
            .map(|f| clean(&f.field).into_owned())
            .collect();
        let path = d
            .path
            .new
            .as_deref()
            .or(d.path.old.as_deref())
            .unwrap_or_default();
        let mut line = format!("    dockerfile {}: {}", clean(path), d.change.as_str());
        if d.base.changed() {
            line.push_str(&format!(
                "; FROM {} → {}",
                clean(d.base.old.as_deref().unwrap_or("nothing")),
                clean(d.base.new.as_deref().unwrap_or("nothing"))
            ));
        }
        if !fields.is_empty() {
            line.push_str(&format!("; {} changed", fields.join(", ")));
        }
        lines.push(line);
    }
    if let Some(n) = &c.nix {
        let mut line = format!("    nix: {}", n.change.as_str());
        if n.derivation.changed() {
            line.push_str(&format!(
                "; derivation {} → {}",
                clean(n.derivation.old.as_deref().unwrap_or("none")),
                clean(n.derivation.new.as_deref().unwrap_or("none"))
            ));
        }
        for o in n.out_paths.iter().filter(|o| o.change != Change::Unchanged) {
            line.push_str(&format!(
                "; {} {} → {}",
                clean(&o.output),
                clean(o.old.as_deref().unwrap_or("none")),
                clean(o.new.as_deref().unwrap_or("none"))
            ));
        }
        lines.push(line);
    }
    lines
}

/// `a/b.go, c.go and 12 more`.
fn first_paths(files: &[FileChange]) -> String {
    let mut names: Vec<String> = files
        .iter()
        .take(BRIEF_PATHS)
        .map(|f| clean(&f.path).into_owned())
        .collect();
    if files.len() > BRIEF_PATHS {
        names.push(format!("and {} more", files.len() - BRIEF_PATHS));
    }
    names.join(", ")
}

/// `sha256:d819d3f8ebb4…`: enough to tell digests apart by eye.
pub(super) fn short(digest: &str) -> String {
    match digest.char_indices().nth(19) {
        Some((i, _)) => format!("{}…", &digest[..i]),
        None => digest.to_owned(),
    }
}

fn short_opt(digest: Option<&crate::digest::Digest>) -> String {
    digest.map_or_else(|| "none".to_owned(), |d| short(&d.to_string()))
}

fn write_finding(
    f: &Finding,
    paint: &dyn Fn(Style, &str) -> String,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let head = format!("{}[{}]", f.level, f.rule);
    writeln!(
        out,
        "{} {}: {}",
        paint(level_style(f.level).bold(), &head),
        paint(Style::new().bold(), &clean(&f.component)),
        clean(&f.message)
    )?;
    if let Some(loc) = f.location.clone() {
        match loc.line {
            Some(line) => writeln!(out, "  --> {}:{line}", clean(&loc.file))?,
            None => writeln!(out, "  --> {}", clean(&loc.file))?,
        }
    }
    for (key, value) in &f.flat_details() {
        if matches!(key.as_str(), "location" | "help") {
            continue;
        }
        let key = clean(key);
        match value {
            Value::Array(items) if !items.is_empty() => {
                writeln!(out, "  {key}:")?;
                for item in items.iter().take(LIST_LIMIT) {
                    writeln!(out, "    {}", inline(item))?;
                }
                if items.len() > LIST_LIMIT {
                    writeln!(out, "    … and {} more", items.len() - LIST_LIMIT)?;
                }
            }
            Value::Object(map) if !map.is_empty() => {
                writeln!(out, "  {key}:")?;
                // An unset value says nothing (an accept without `expires`).
                for (k, v) in map.iter().filter(|(_, v)| !v.is_null()).take(LIST_LIMIT) {
                    writeln!(out, "    {}: {}", clean(k), inline(v))?;
                }
                if map.len() > LIST_LIMIT {
                    writeln!(out, "    … and {} more", map.len() - LIST_LIMIT)?;
                }
            }
            Value::Array(_) | Value::Object(_) | Value::Null => {}
            _ => writeln!(out, "  {key}: {}", inline(value))?,
        }
    }
    if let Some(help) = f.help.as_deref() {
        writeln!(
            out,
            "  {}: {}",
            paint(AnsiColor::Cyan.on_default().bold(), "help"),
            clean(help)
        )?;
    }
    writeln!(out, "  fingerprint: {}", f.fingerprint)
}

/// One value on one line: strings bare, a file change as `modified path: old -> new`,
/// other objects as `key=value` pairs.
fn inline(value: &Value) -> String {
    match value {
        Value::String(s) => clean(s).into_owned(),
        Value::Object(map) if map.contains_key("change") && map.contains_key("path") => {
            let field = |k: &str| {
                clean(map.get(k).and_then(Value::as_str).unwrap_or_default()).into_owned()
            };
            match (field("old").as_str(), field("new").as_str()) {
                ("", "") => format!("{} {}", field("change"), field("path")),
                (old, "") => format!("{} {}: was {old}", field("change"), field("path")),
                ("", new) => format!("{} {}: {new}", field("change"), field("path")),
                (old, new) => format!("{} {}: {old} -> {new}", field("change"), field("path")),
            }
        }
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{}={}", clean(k), inline(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Value::Array(items) => items.iter().map(inline).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Text from files, images and manifests, made safe for one terminal line: control
/// characters (newlines, carriage returns, escape sequences) are shown escaped. A file
/// named `x\n::error::…` must not start a line of its own, which a CI log would read
/// as a workflow command, nor move the cursor of the person reading.
fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn level_style(level: Level) -> Style {
    match level {
        Level::Error => AnsiColor::Red.on_default(),
        Level::Warning => AnsiColor::Yellow.on_default(),
        Level::Note => AnsiColor::Blue.on_default(),
    }
}
