//! Nix rules: `output-not-current`, `store-mismatch`, and the Nix half of `input-excluded`.
//!
//! All three are state rules on facts `nix::record` wrote into the new manifest.

use crate::model::RuleId;
use crate::model::finding::{Finding, Level};
use crate::model::nix::NixRecord;

/// How many excluded files the one-line message names.
const MESSAGE_LIMIT: usize = 3;

/// State rules on the new Nix record alone.
#[must_use]
pub fn state(component: &str, new: &NixRecord) -> Vec<Finding> {
    let mut findings = Vec::new();
    let drv = new.derivation.as_deref().unwrap_or("the derivation");
    if !new.out_paths.is_empty() {
        for sp in &new.store_paths {
            if new.out_paths.values().any(|p| *p == sp.store_path) {
                continue;
            }
            let current: Vec<&str> = new.out_paths.values().map(String::as_str).collect();
            findings.push(
                Finding::new(
                    RuleId::OutputNotCurrent,
                    component,
                    format!(
                        "`{}` points at `{}`, but the installable evaluates to `{}` now: the build left an old artifact in place, so the changes did not go live; rebuild and update the link",
                        sp.output,
                        sp.store_path,
                        current.join("`, `")
                    ),
                    &[&sp.output, &sp.store_path],
                )
                .with_detail("output", &sp.output)
                .with_detail("store_path", &sp.store_path)
                .with_detail("derivation", drv)
                .with_detail("out_paths", &new.out_paths)
                .with_help("rebuild the component (e.g. `nix-build -A …` or `nix build .#…`) so the link points at the current out path"),
            );
        }
    }
    for sp in &new.store_paths {
        let Some(why) = &sp.db_unavailable else {
            continue;
        };
        let mut f = Finding::new(
            RuleId::StoreMismatch,
            component,
            format!(
                "not judged for `{}` (`{}`): the Nix store database could not be queried ({why}); its NAR hash {} was recorded, not checked",
                sp.output, sp.store_path, sp.nar_hash
            ),
            &[&sp.store_path, "unavailable"],
        )
        .with_detail("output", &sp.output)
        .with_detail("store_path", &sp.store_path)
        .with_detail("nar_hash", &sp.nar_hash)
        .with_help("run buildproof where `nix path-info` works (outside the build sandbox, as a user in `nix-users`) to check the store path against the database");
        f.level = Level::Note;
        findings.push(f);
    }
    for sp in new.store_paths.iter().filter(|s| s.mismatched()) {
        let db = sp.db_nar_hash.as_deref().unwrap_or_default();
        findings.push(
            Finding::new(
                RuleId::StoreMismatch,
                component,
                format!(
                    "`{}` (`{}`) has NAR hash {}, but the Nix store database records {}: the store path was altered after it was built",
                    sp.output, sp.store_path, sp.nar_hash, db
                ),
                &[&sp.store_path, &sp.nar_hash, db],
            )
            .with_detail("output", &sp.output)
            .with_detail("store_path", &sp.store_path)
            .with_detail("nar_hash", &sp.nar_hash)
            .with_detail("db_nar_hash", db)
            .with_help("run `nix-store --verify --check-contents --repair` or rebuild; do not ship this path"),
        );
    }
    if !new.excluded_inputs.is_empty() {
        let files = &new.excluded_inputs;
        let named: Vec<String> = files
            .iter()
            .take(MESSAGE_LIMIT)
            .map(|f| format!("`{f}`"))
            .collect();
        let more = files.len().saturating_sub(MESSAGE_LIMIT);
        let list = if more > 0 {
            format!("{} and {more} more", named.join(", "))
        } else {
            named.join(", ")
        };
        let (verb, pronoun) = if files.len() == 1 {
            ("is a declared input", "it")
        } else {
            ("are declared inputs", "them")
        };
        // A flake copies only what git tracks: a new file that was never `git add`ed is
        // excluded without any filter.
        let flake_hint = if matches!(
            new.installable,
            Some(crate::model::nix::NixSpec::Installable(_))
        ) {
            format!(
                "; a flake sees only files git tracks, so if {pronoun} {} new, `git add` {pronoun}",
                if files.len() == 1 { "is" } else { "are" }
            )
        } else {
            String::new()
        };
        let identity: Vec<&str> = files.iter().map(String::as_str).collect();
        // The filter itself is not in the derivation, but the source it produced is,
        // under the name the filter call gave it (`builtins.path { name = …; }`).
        let sources = source_names(&new.sources);
        findings.push(
            Finding::new(
                RuleId::InputExcluded,
                component,
                format!(
                    "{list} {verb}, but the derivation's sources{sources} exclude {pronoun} (a source filter, or a `src` that does not cover {pronoun}): changing {pronoun} cannot change `{drv}`; fix the filter, or drop {pronoun} from `inputs`{flake_hint}"
                ),
                &identity,
            )
            .with_detail("files", files)
            .with_detail("derivation", drv)
            .with_detail("sources", &new.sources),
        );
    }
    findings
}

/// ` (`goinstance-src`, `go.mod`)`: the sources' names without store dir and hash,
/// at most [`MESSAGE_LIMIT`] of them; empty when there are none.
fn source_names(sources: &[String]) -> String {
    if sources.is_empty() {
        return String::new();
    }
    let names: Vec<String> = sources
        .iter()
        .take(MESSAGE_LIMIT)
        .map(|s| {
            let base = s.rsplit('/').next().unwrap_or(s);
            let name = base.split_once('-').map_or(base, |(_, name)| name);
            format!("`{name}`")
        })
        .collect();
    let more = sources.len().saturating_sub(MESSAGE_LIMIT);
    if more > 0 {
        format!(" ({} and {more} more)", names.join(", "))
    } else {
        format!(" ({})", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::nix::StorePathRecord;

    fn record() -> NixRecord {
        NixRecord {
            installable: None,
            derivation: Some("/nix/store/d-app.drv".into()),
            out_paths: [("out".to_owned(), "/nix/store/new-app".to_owned())].into(),
            sources: vec!["/nix/store/s-src".into()],
            store_paths: vec![StorePathRecord {
                output: "result".into(),
                store_path: "/nix/store/new-app".into(),
                nar_hash: "sha256-a".into(),
                nar_size: 1,
                db_nar_hash: Some("sha256-a".into()),
                db_unavailable: None,
            }],
            excluded_inputs: Vec::new(),
        }
    }

    fn rules(r: &NixRecord) -> Vec<RuleId> {
        state("app", r).iter().map(|f| f.rule).collect()
    }

    #[test]
    fn clean_record_has_no_findings() {
        assert!(rules(&record()).is_empty());
    }

    #[test]
    fn old_link_is_not_current() {
        let mut r = record();
        r.store_paths[0].store_path = "/nix/store/old-app".into();
        assert_eq!(rules(&r), [RuleId::OutputNotCurrent]);
        // Without an installable there is nothing to be current against.
        r.out_paths.clear();
        assert!(rules(&r).is_empty());
    }

    #[test]
    fn altered_store_path_mismatches() {
        let mut r = record();
        r.store_paths[0].db_nar_hash = Some("sha256-b".into());
        assert_eq!(rules(&r), [RuleId::StoreMismatch]);
    }

    #[test]
    fn excluded_inputs_are_named() {
        let mut r = record();
        r.excluded_inputs = vec!["goinstance/main.go".into()];
        let f = state("app", &r);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("`goinstance/main.go` is a declared input"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("/nix/store/d-app.drv"));
        assert!(
            f[0].message
                .contains("the derivation's sources (`src`) exclude it"),
            "{}",
            f[0].message
        );
    }
}
