//! Image rules: `startup-changed`, `env-changed` (image config), `startup-broken` and
//! `library-missing` (from the recorded static startup verification).
//!
//! Fingerprints: a startup change is identified by the field and its old and new
//! values; an environment change by the variable and its old and new values; a
//! startup problem by the failing path and the message. An `[[accept]]` therefore
//! stops applying as soon as the values differ from the reviewed ones.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::RuleId;
use crate::model::finding::{Finding, Level};
use crate::model::image::{ImageRecord, Startup};

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

/// State rules on the new image alone: one finding per startup problem.
#[must_use]
pub fn state(component: &str, new: &ImageRecord) -> Vec<Finding> {
    new.problems
        .iter()
        .map(|p| {
            let rule = if p.level == Level::Error {
                RuleId::StartupBroken
            } else {
                RuleId::LibraryMissing
            };
            let message = if p.level == Level::Error && !p.fix.is_empty() {
                format!("{}; the container cannot start: {}", p.message, p.fix)
            } else if p.fix.is_empty() {
                p.message.clone()
            } else {
                format!("{}; {}", p.message, p.fix)
            };
            Finding::new(rule, component, message, &[&p.path, &p.message])
                .with_detail("path", &p.path)
                .with_detail("manifest_digest", new.manifest_digest)
                .with_detail("startup", startup_summary(&new.startup))
        })
        .collect()
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
