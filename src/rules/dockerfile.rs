//! Dockerfile rules: `startup-changed` and `env-changed` between two final stages, and
//! the `.dockerignore` half of `input-excluded`.
//!
//! Every finding points at the NEW Dockerfile's line that set the value (or, when the
//! new Dockerfile no longer sets it, at the final stage's `FROM`), so the person
//! reviewing the pull request lands on the instruction that changed.
//!
//! Values are compared and shown as [`shortened`]: a long value (a record of this
//! version already holds it so) is its first characters, length and digest, so a
//! finding stays small while two different values never compare equal.

use std::borrow::Cow;

use crate::model::RuleId;
use crate::model::dockerfile::{DockerfileRecord, ExcludeReason, Field, shortened};
use crate::model::finding::{Finding, Location};
use crate::model::image::StartupField;

/// The image-config name of a startup field, from the Dockerfile instruction that sets
/// it (`WORKDIR` → `working_dir`), so the two rule families can be matched.
#[must_use]
pub fn config_field(instruction: &str) -> &str {
    match StartupField::from_instruction(instruction) {
        Some(field) => field.key(),
        None => instruction,
    }
}

/// Change rules between two recordings of one component's Dockerfile.
#[must_use]
pub fn compare(component: &str, base: &DockerfileRecord, new: &DockerfileRecord) -> Vec<Finding> {
    let mut findings = Vec::new();
    let old_fields = base.startup.compared();
    for ((name, old), (_, now)) in old_fields.into_iter().zip(new.startup.compared()) {
        if value(old) == value(now) {
            continue;
        }
        if let (true, Some(o), Some(n)) = (name == "STOPSIGNAL", old, now) {
            if super::signal::same(&o.value, &n.value) {
                continue;
            }
        }
        // `USER 0` and no `USER` both start as root, when the stage chain starts from
        // `scratch`; from a base image, no `USER` means the base image's user, which
        // the Dockerfile does not show, so that stays a change.
        if name == "USER"
            && super::image::is_root(old.map(|f| f.value.as_str()))
            && super::image::is_root(now.map(|f| f.value.as_str()))
            && (old.is_some() || base.stage.base_image.is_none())
            && (now.is_some() || new.stage.base_image.is_none())
        {
            continue;
        }
        let location = location_in(new, now);
        let message = format!(
            "{name} changed from {} to {} ({}); {}",
            shown(old, base),
            shown(now, new),
            at(&location),
            advice(name)
        );
        findings.push(change_finding(
            RuleId::StartupChanged,
            component,
            message,
            ("field", name),
            (old, now),
            new,
            location,
        ));
    }

    let names: std::collections::BTreeSet<&String> = base
        .startup
        .env
        .keys()
        .chain(new.startup.env.keys())
        .collect();
    for name in names {
        let old = base.startup.env.get(name);
        let now = new.startup.env.get(name);
        if value(old) == value(now) {
            continue;
        }
        let location = location_in(new, now);
        let what = match (old, now) {
            (None, Some(n)) => format!("added with `{}`", shortened(&n.value)),
            (Some(o), None) => match &new.stage.base_image {
                Some(image) => format!(
                    "no longer set here (was `{}`): base image `{image}` decides it now",
                    shortened(&o.value)
                ),
                None => format!("removed (was `{}`)", shortened(&o.value)),
            },
            (Some(o), Some(n)) => format!(
                "changed from `{}` to `{}`",
                shortened(&o.value),
                shortened(&n.value)
            ),
            (None, None) => continue,
        };
        let message = format!(
            "ENV `{name}` {what} ({}); check the service expects it; accept with a reason if so",
            at(&location)
        );
        findings.push(change_finding(
            RuleId::EnvChanged,
            component,
            message,
            ("variable", name),
            (old, now),
            new,
            location,
        ));
    }
    findings
}

/// A change of one field or variable: fingerprinted by its name and both values (not
/// its line, so moving an instruction is no change), with both values and lines in
/// the details, located at the NEW line.
fn change_finding(
    rule: RuleId,
    component: &str,
    message: String,
    (key, name): (&str, &str),
    (old, now): (Option<&Field>, Option<&Field>),
    new: &DockerfileRecord,
    location: Location,
) -> Finding {
    Finding::new(
        rule,
        component,
        message,
        &[name, &identity(old), &identity(now)],
    )
    .with_detail(key, name)
    .with_detail("old", value(old))
    .with_detail("old_line", old.map(|f| f.line))
    .with_detail("new", value(now))
    .with_detail("new_line", now.map(|f| f.line))
    .with_detail("dockerfile", &new.path)
    .with_location(Some(location))
}

/// State rules on the new Dockerfile record alone.
#[must_use]
pub fn state(component: &str, new: &DockerfileRecord) -> Vec<Finding> {
    new.excluded
        .iter()
        .map(|ex| {
            let (message, location, identity) = match ex.reason {
                ExcludeReason::Dockerignore => {
                    let pattern = ex.pattern.as_deref().unwrap_or_default();
                    let file = ex.file.as_deref().unwrap_or(".dockerignore");
                    let place = match ex.line {
                        Some(line) => format!("{file}:{line}"),
                        None => file.to_owned(),
                    };
                    (
                        format!(
                            "input `{}` cannot reach the build of `{}`: pattern `{pattern}` ({place}) excludes it; remove the pattern or re-include the file with `!`, or drop it from `inputs`",
                            ex.path, new.path
                        ),
                        Some(Location {
                            file: file.to_owned(),
                            line: ex.line,
                        }),
                        pattern.to_owned(),
                    )
                }
                ExcludeReason::OutsideContext => {
                    let context = context_of(&new.path);
                    (
                        format!(
                            "input `{}` cannot reach the build of `{}`: it lies outside the build context `{context}`; drop it from `inputs`, or move it into the context",
                            ex.path, new.path
                        ),
                        // The fix is in the component's `inputs`: the config location
                        // is attached by the caller.
                        None,
                        format!("outside {context}"),
                    )
                }
            };
            let mut finding =
                Finding::new(RuleId::InputExcluded, component, message, &[&ex.path, &identity])
                    .with_detail("input", &ex.path)
                    .with_detail("dockerfile", &new.path)
                    .with_detail("reason", ex.reason);
            if let Some(pattern) = &ex.pattern {
                finding = finding.with_detail("pattern", pattern);
            }
            finding.with_location(location)
        })
        .collect()
}

/// The build context's directory as users write it (`web/`, or `.` for the root).
fn context_of(dockerfile: &str) -> String {
    match dockerfile.rfind('/') {
        Some(i) => format!("{}/", &dockerfile[..i]),
        None => ".".to_owned(),
    }
}

/// The new line that set `field`, else the final stage's `FROM`.
fn location_in(new: &DockerfileRecord, field: Option<&Field>) -> Location {
    Location {
        file: new.path.clone(),
        line: Some(field.map_or(new.stage.line, |f| f.line)),
    }
}

fn at(location: &Location) -> String {
    match location.line {
        Some(line) => format!("{}:{line}", location.file),
        None => location.file.clone(),
    }
}

/// A value for a message; an unset field says where its value comes from instead.
fn shown(field: Option<&Field>, record: &DockerfileRecord) -> String {
    match (field, &record.stage.base_image) {
        (Some(f), _) if f.value.is_empty() => "\"\" (empty)".to_owned(),
        (Some(f), _) => shortened(&f.value).into_owned(),
        (None, Some(image)) => format!("(not set: base image `{image}`'s)"),
        (None, None) => "(not set)".to_owned(),
    }
}

/// A field's value as compared and shown.
fn value(field: Option<&Field>) -> Option<Cow<'_, str>> {
    field.map(|f| shortened(&f.value))
}

fn identity(field: Option<&Field>) -> String {
    value(field).map_or_else(|| "\u{1}unset".to_owned(), Cow::into_owned)
}

fn advice(name: &str) -> &'static str {
    match name {
        "ENTRYPOINT" | "CMD" | "SHELL" => {
            "check the new command exists in the image and is intended; accept with a reason if so"
        }
        "USER" => {
            "check the user exists in the image and may run the service; accept with a reason if so"
        }
        "WORKDIR" => {
            "check relative paths of the command still resolve; accept with a reason if so"
        }
        _ => "check the change is intended; accept with a reason if so",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    fn findings(old: &str, new: &str) -> Vec<Finding> {
        let old = parse("web/Dockerfile", old).unwrap();
        let new = parse("web/Dockerfile", new).unwrap();
        compare("web", &old, &new)
    }

    #[test]
    fn entrypoint_message_names_new_line() {
        let f = findings(
            "FROM scratch\nENTRYPOINT [\"/app/server\"]\n",
            "FROM scratch\n\nENTRYPOINT [\"/app/server2\"]\n",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "ENTRYPOINT changed from [\"/app/server\"] to [\"/app/server2\"] (web/Dockerfile:3); check the new command exists in the image and is intended; accept with a reason if so"
        );
        assert_eq!(f[0].location.clone().and_then(|l| l.line), Some(3));
    }

    // `USER 0` removed: from `scratch` the process starts as root either way; from a
    // base image the base's user applies instead, which the Dockerfile does not show.
    #[test]
    fn user_root_spellings_are_no_change_from_scratch() {
        assert!(findings("FROM scratch\nUSER 0\n", "FROM scratch\n").is_empty());
        assert!(findings("FROM scratch\nUSER root\n", "FROM scratch\nUSER 0:0\n").is_empty());
        assert!(findings("FROM debian\nUSER 0\n", "FROM debian\nUSER root\n").is_empty());
        assert_eq!(findings("FROM debian\nUSER 0\n", "FROM debian\n").len(), 1);
        assert_eq!(
            findings("FROM scratch\nUSER 0\n", "FROM scratch\nUSER 1000\n").len(),
            1
        );
    }

    #[test]
    fn moving_a_line_is_not_a_change() {
        assert!(findings("FROM a\nUSER x\n", "FROM a\n# moved\nUSER x\n").is_empty());
    }

    #[test]
    fn fingerprint_pins_values() {
        let a = findings("FROM a\nUSER x\n", "FROM a\nUSER y\n");
        let b = findings("FROM a\nUSER x\n", "FROM a\n\nUSER y\n");
        let c = findings("FROM a\nUSER x\n", "FROM a\nUSER z\n");
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
        assert_ne!(a[0].fingerprint, c[0].fingerprint);
    }

    #[test]
    fn removed_field_points_at_from() {
        let f = findings("FROM node:20\nUSER app\n", "FROM node:20\n");
        assert_eq!(f[0].location.clone().and_then(|l| l.line), Some(1));
        assert!(
            f[0].message
                .contains("to (not set: base image `node:20`'s)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn env_left_to_the_base_image() {
        let f = findings("FROM scratch\n", "FROM alpine\n");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .starts_with("ENV `PATH` no longer set here (was `/usr/local/sbin:"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("base image `alpine` decides it now"));
    }

    #[test]
    fn long_values_compared_in_full_and_shown_short() {
        // The values differ only in their last byte, far past what is shown.
        let grow = "FROM a\nENV A=xxxxxxxx\nENV A=$A$A$A$A$A$A$A$A\nENV A=$A$A$A$A$A$A$A$A\nENV A=$A$A$A$A$A$A$A$A\n";
        let f = findings(
            &format!("{grow}ENV B=${{A}}1\nCMD $A\n"),
            &format!("{grow}ENV B=${{A}}2\nCMD $A\n"),
        );
        let rules: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["env-changed"]);
        let message = &f[0].message;
        assert!(message.len() < 1000, "{} bytes", message.len());
        assert_eq!(message.matches("\u{2026} (4097 bytes, sha256:").count(), 2);
        let old = f[0].details["old"].as_str().unwrap();
        let new = f[0].details["new"].as_str().unwrap();
        assert_ne!(old, new);
        assert!(
            new.len() < 1000 && new.starts_with(&"x".repeat(200)),
            "{new}"
        );
    }

    #[test]
    fn full_values_of_an_older_record_compare_shown() {
        // A record written before values were shortened holds the full value; it
        // equals the shortened one of the same value.
        let mut old = parse("Dockerfile", "FROM a\nUSER u\n").unwrap();
        let new = parse(
            "Dockerfile",
            &format!("FROM a\nUSER {}\n", "u".repeat(5000)),
        )
        .unwrap();
        old.startup.user.as_mut().unwrap().value = "u".repeat(5000);
        assert!(compare("web", &old, &new).is_empty());
        old.startup.user.as_mut().unwrap().value = "u".repeat(5001);
        let f = compare("web", &old, &new);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.len() < 1000, "{}", f[0].message);
    }

    #[test]
    fn env_added_removed_changed() {
        let f = findings("FROM a\nENV A=1 B=2\n", "FROM a\nENV A=1 C=3\nENV B=4\n");
        let rules: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.rule.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            rules,
            [
                (
                    "env-changed",
                    "ENV `B` changed from `2` to `4` (web/Dockerfile:3); check the service expects it; accept with a reason if so"
                ),
                (
                    "env-changed",
                    "ENV `C` added with `3` (web/Dockerfile:2); check the service expects it; accept with a reason if so"
                ),
            ]
        );
    }
}
