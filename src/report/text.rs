//! `--format text`: for people. One block per finding: a headline with level, rule
//! and component, the message, where to fix it, the details that say what changed,
//! and the fingerprint to put in `[[accept]]`. Colour only when the caller asks
//! (a terminal with `NO_COLOR` unset).

use std::borrow::Cow;
use std::io;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use super::Report;
use crate::model::finding::{Finding, Level};

/// Lists longer than this are cut, with a count of the rest.
const LIST_LIMIT: usize = 20;

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

    for (key, value) in &report.facts {
        writeln!(out, "{}: {}", paint(bold, &clean(key)), inline(value))?;
    }
    if !report.facts.is_empty() {
        writeln!(out)?;
    }

    for f in &report.findings {
        write_finding(f, &paint, out)?;
        writeln!(out)?;
    }

    let s = report.summary();
    let verdict = if report.exit_code() == 1 {
        paint(level_style(Level::Error).bold(), "FAIL")
    } else if s.errors > 0 {
        // `snapshot` fails only on `startup-broken`: say so rather than print "ok"
        // beside an error count.
        paint(
            AnsiColor::Yellow.on_default().bold(),
            &format!(
                "errors above do not fail `{}`; `check` fails on them",
                report.command
            ),
        )
    } else {
        paint(AnsiColor::Green.on_default().bold(), "ok")
    };
    writeln!(
        out,
        "buildproof {}: {verdict}: {} checked, {}",
        report.command,
        report.subjects.len(),
        s.counts(),
    )
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
                for (k, v) in map.iter().take(LIST_LIMIT) {
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
