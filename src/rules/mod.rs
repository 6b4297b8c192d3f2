//! Rules: compare manifests and return findings. One file per rule family; the ids,
//! levels and descriptions live in `ids.rs`.
//!
//! Two kinds of rule run here:
//! - *change* rules compare a component in BASE with the same component in NEW
//!   (`stale-artifact`, `unexplained-change`, `startup-changed`, …);
//! - *state* rules judge NEW alone from facts its snapshot recorded
//!   (`unmatched-pattern`, `startup-broken`, `input-excluded`, `output-not-current`,
//!   `store-mismatch`, `library-missing`), so `diff` of two manifests reports them too.
//!
//! Then `[[accept]]` entries are applied and config locations attached.

mod accept;
mod artifacts;
pub mod changes;
pub mod deploy;
pub mod dockerfile;
pub mod image;
pub mod nix;
mod signal;

pub use crate::model::RuleId;

use std::collections::BTreeSet;

use crate::config::Config;
use crate::model::finding::Finding;
use crate::model::manifest::{ComponentRecord, Manifest};

/// What the rules may consult besides the manifests.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The config, for `[[accept]]` entries and locations, when there is one.
    pub config: Option<&'a Config>,
    /// Today's date, for `expires`.
    pub today: jiff::civil::Date,
}

impl Context<'_> {
    /// A context for today (UTC) with the given config.
    #[must_use]
    pub fn today(config: Option<&Config>) -> Context<'_> {
        Context {
            config,
            today: jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date(),
        }
    }
}

/// The rules `diff` and `check` evaluate, for reports that list their checks: all
/// but the ones only `verify` can judge.
#[must_use]
pub fn diff_rules() -> Vec<RuleId> {
    RuleId::ALL
        .into_iter()
        .filter(|r| {
            !matches!(
                r,
                RuleId::DeployedMismatch | RuleId::NotDeployed | RuleId::UnpinnedImage
            )
        })
        .collect()
}

/// Compares BASE with NEW: change rules for every component, state rules for NEW.
#[must_use]
pub fn diff(base: &Manifest, new: &Manifest, ctx: Context<'_>) -> Vec<Finding> {
    let names: BTreeSet<&String> = base
        .components
        .keys()
        .chain(new.components.keys())
        .collect();
    let mut findings = Vec::new();
    for name in names {
        match (base.components.get(name), new.components.get(name)) {
            (None, Some(n)) => {
                findings.push(artifacts::added(name, n));
                findings.extend(state_of(name, n));
            }
            (Some(b), None) => findings.push(artifacts::removed(name, b)),
            (Some(b), Some(n)) => {
                let mut own = artifacts::compare(name, b, n);
                let from_dockerfile = match (&b.dockerfile, &n.dockerfile) {
                    (Some(bd), Some(nd)) => dockerfile::compare(name, bd, nd),
                    _ => Vec::new(),
                };
                if let (Some(bi), Some(ni)) = (&b.image, &n.image) {
                    own.extend(drop_explained(
                        image::compare(name, bi, ni),
                        &from_dockerfile,
                    ));
                }
                own.extend(from_dockerfile);
                own.extend(state_of(name, n));
                link_one_cause(b, n, &mut own);
                findings.extend(own);
            }
            (None, None) => {}
        }
    }
    finish(findings, ctx)
}

/// A startup or environment change that the Dockerfile's final stage shows is
/// reported once, by the Dockerfile rule, which points at the instruction's line; the
/// image config's finding for the same field or variable is dropped, so one change
/// needs one review and one `[[accept]]`.
fn drop_explained(from_image: Vec<Finding>, from_dockerfile: &[Finding]) -> Vec<Finding> {
    let key = |f: &Finding| -> Option<(RuleId, String)> {
        let detail = |k: &str| f.details.get(k).and_then(serde_json::Value::as_str);
        match f.rule {
            RuleId::StartupChanged => {
                detail("field").map(|name| (f.rule, dockerfile::config_field(name).to_owned()))
            }
            RuleId::EnvChanged => detail("variable").map(|name| (f.rule, name.to_owned())),
            _ => None,
        }
    };
    let explained: BTreeSet<(RuleId, String)> = from_dockerfile.iter().filter_map(key).collect();
    from_image
        .into_iter()
        .filter(|f| key(f).is_none_or(|k| !explained.contains(&k)))
        .collect()
}

/// `verify`: BUILT against what runs (`deploy.rs`), then accepts and locations.
#[must_use]
pub fn verify(
    built: &Manifest,
    running: &crate::model::running::Running,
    ctx: Context<'_>,
) -> Vec<Finding> {
    finish(deploy::check(built, running), ctx)
}

/// State rules only: what a snapshot alone can tell about NEW.
#[must_use]
pub fn state(new: &Manifest, ctx: Context<'_>) -> Vec<Finding> {
    let findings = new
        .components
        .iter()
        .flat_map(|(name, record)| state_of(name, record))
        .collect();
    finish(findings, ctx)
}

fn state_of(name: &str, record: &ComponentRecord) -> Vec<Finding> {
    let mut findings = artifacts::unmatched(name, record);
    if let Some(i) = &record.image {
        let mut of_image = image::state(name, i, record.dockerfile.as_ref());
        point_at_scripts(i, record, &mut of_image);
        findings.extend(of_image);
    }
    if let Some(d) = &record.dockerfile {
        findings.extend(dockerfile::state(name, d));
    }
    if let Some(n) = &record.nix {
        findings.extend(nix::state(name, n));
    }
    findings
}

/// A `stale-artifact` and an `input-excluded` with one cause say so: the changed
/// input cannot reach the build, which is why the artifact did not change. Each
/// message names the other finding, so the reader fixes the cause once.
fn link_one_cause(base: &ComponentRecord, new: &ComponentRecord, findings: &mut [Finding]) {
    let Some(stale) = findings
        .iter()
        .position(|f| f.rule == RuleId::StaleArtifact)
    else {
        return;
    };
    let changed: BTreeSet<String> = artifacts::file_changes(&base.inputs.files, &new.inputs.files)
        .into_iter()
        .map(|c| c.path)
        .collect();
    let mut excluded = BTreeSet::new();
    for f in findings
        .iter_mut()
        .filter(|f| f.rule == RuleId::InputExcluded)
    {
        let named: Vec<String> = match (f.details.get("input"), f.details.get("files")) {
            (Some(serde_json::Value::String(one)), _) => vec![one.clone()],
            (_, Some(serde_json::Value::Array(many))) => many
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let causes: Vec<String> = named.into_iter().filter(|p| changed.contains(p)).collect();
        if causes.is_empty() {
            continue;
        }
        f.message.push_str(
            "; this is why `stale-artifact` fired for this component: the change cannot reach the artifact",
        );
        excluded.extend(causes);
    }
    if excluded.is_empty() {
        return;
    }
    let names: Vec<String> = excluded.iter().map(|p| format!("`{p}`")).collect();
    let f = &mut findings[stale];
    f.message.push_str(&format!(
        "; {} cannot reach the build at all (see `input-excluded`)",
        names.join(", ")
    ));
}

/// A startup problem in a script the component's inputs hold (a `#!` line ending in
/// CRLF, from a checkout with Windows line endings) points at that input, where the
/// fix is made, besides the Dockerfile line that runs it.
fn point_at_scripts(
    image: &crate::model::image::ImageRecord,
    record: &ComponentRecord,
    findings: &mut [Finding],
) {
    use crate::model::image::ProblemKind;
    for p in image
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::ShebangCrlf)
    {
        let Some(file_name) = p.path.rsplit('/').next().filter(|n| !n.is_empty()) else {
            continue;
        };
        // Inputs of that name; the one sharing the longest tail of the image path
        // first (`app/bin/start.sh` for `/srv/app/bin/start.sh`).
        let mut candidates: Vec<(usize, &str)> = record
            .inputs
            .files
            .iter()
            .map(|f| f.path.as_str())
            .filter(|path| path.rsplit('/').next() == Some(file_name))
            .map(|path| {
                let shared = path
                    .rsplit('/')
                    .zip(p.path.rsplit('/'))
                    .take_while(|(a, b)| a == b)
                    .count();
                (shared, path)
            })
            .collect();
        if candidates.is_empty() {
            continue;
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let best = candidates[0].0;
        let scripts: Vec<&str> = candidates
            .iter()
            .take_while(|(shared, _)| *shared == best)
            .take(3)
            .map(|(_, path)| *path)
            .collect();
        for f in findings.iter_mut().filter(|f| {
            f.rule == RuleId::StartupBroken
                && f.details.get("path").and_then(serde_json::Value::as_str) == Some(&p.path)
        }) {
            let listed: Vec<String> = scripts.iter().map(|s| format!("`{s}`")).collect();
            f.message.push_str(&format!(
                "; the script is {} among the inputs: convert it there, and add `*.sh text eol=lf` to `.gitattributes` so a checkout cannot bring CRLF back",
                listed.join(" or ")
            ));
            f.related = scripts
                .iter()
                .map(|s| crate::model::finding::Location {
                    file: (*s).to_owned(),
                    line: Some(1),
                })
                .collect();
        }
    }
}

/// Makes locations usable where the user stands, then applies accepts.
///
/// Rules work on manifests, whose paths are relative to the config directory; a
/// location they set (a Dockerfile line) is rebased onto that directory here, so it
/// reads like the config's own location (`testdata/demo/web/Dockerfile:8`). A finding
/// with no location of its own points at its component's entry in the config.
fn finish(mut findings: Vec<Finding>, ctx: Context<'_>) -> Vec<Finding> {
    if let Some(config) = ctx.config {
        for f in &mut findings {
            for related in &mut f.related {
                related.file = crate::fsio::join(&config.root, std::path::Path::new(&related.file))
                    .display()
                    .to_string();
            }
            let location = match f.location.take() {
                Some(mut own) => {
                    own.file = crate::fsio::join(&config.root, std::path::Path::new(&own.file))
                        .display()
                        .to_string();
                    Some(own)
                }
                None => config.location_of(&f.component),
            };
            f.location = location;
        }
        accept::apply(&mut findings, &config.accepts, ctx.today);
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_the_dockerfile_shows_is_reported_once() {
        let image = vec![
            Finding::new(
                RuleId::StartupChanged,
                "web",
                "entrypoint changed".into(),
                &["a"],
            )
            .with_detail("field", "entrypoint"),
            Finding::new(RuleId::StartupChanged, "web", "user changed".into(), &["b"])
                .with_detail("field", "user"),
            Finding::new(RuleId::EnvChanged, "web", "PORT changed".into(), &["c"])
                .with_detail("variable", "PORT"),
            Finding::new(RuleId::StartupBroken, "web", "broken".into(), &["d"]),
        ];
        let dockerfile = vec![
            Finding::new(
                RuleId::StartupChanged,
                "web",
                "ENTRYPOINT changed".into(),
                &["e"],
            )
            .with_detail("field", "ENTRYPOINT"),
            Finding::new(RuleId::EnvChanged, "web", "PORT changed".into(), &["f"])
                .with_detail("variable", "PORT"),
        ];
        let kept: Vec<String> = drop_explained(image, &dockerfile)
            .into_iter()
            .map(|f| f.message)
            .collect();
        // `user` changed in the image only (e.g. through the base image): still reported.
        assert_eq!(kept, ["user changed", "broken"]);
    }
}
