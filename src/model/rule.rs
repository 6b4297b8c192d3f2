//! Stable rule ids, their levels and descriptions: the list SPEC.md's "Rules" table
//! defines. Reports (SARIF's rule list among them) are built from [`RuleId::ALL`], and a
//! test pins that list against SPEC.md, so adding a rule means adding it here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::finding::Level;

/// A rule id, serialised in kebab-case exactly as SPEC.md spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleId {
    StaleArtifact,
    UnexplainedChange,
    StartupChanged,
    EnvChanged,
    StartupBroken,
    ComponentAdded,
    ComponentRemoved,
    UnmatchedPattern,
    InputExcluded,
    OutputNotCurrent,
    StoreMismatch,
    DeployedMismatch,
    NotDeployed,
    UnpinnedImage,
    LibraryMissing,
}

impl RuleId {
    /// Every rule, in SPEC.md's order.
    pub const ALL: [RuleId; 15] = [
        RuleId::StaleArtifact,
        RuleId::UnexplainedChange,
        RuleId::StartupChanged,
        RuleId::EnvChanged,
        RuleId::StartupBroken,
        RuleId::ComponentAdded,
        RuleId::ComponentRemoved,
        RuleId::UnmatchedPattern,
        RuleId::InputExcluded,
        RuleId::OutputNotCurrent,
        RuleId::StoreMismatch,
        RuleId::DeployedMismatch,
        RuleId::NotDeployed,
        RuleId::UnpinnedImage,
        RuleId::LibraryMissing,
    ];

    /// The kebab-case id users see and put in `[[accept]]`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleId::StaleArtifact => "stale-artifact",
            RuleId::UnexplainedChange => "unexplained-change",
            RuleId::StartupChanged => "startup-changed",
            RuleId::EnvChanged => "env-changed",
            RuleId::StartupBroken => "startup-broken",
            RuleId::ComponentAdded => "component-added",
            RuleId::ComponentRemoved => "component-removed",
            RuleId::UnmatchedPattern => "unmatched-pattern",
            RuleId::InputExcluded => "input-excluded",
            RuleId::OutputNotCurrent => "output-not-current",
            RuleId::StoreMismatch => "store-mismatch",
            RuleId::DeployedMismatch => "deployed-mismatch",
            RuleId::NotDeployed => "not-deployed",
            RuleId::UnpinnedImage => "unpinned-image",
            RuleId::LibraryMissing => "library-missing",
        }
    }

    /// The level a finding of this rule has unless it is accepted.
    #[must_use]
    pub const fn level(self) -> Level {
        match self {
            RuleId::StaleArtifact
            | RuleId::StartupChanged
            | RuleId::StartupBroken
            | RuleId::OutputNotCurrent
            | RuleId::StoreMismatch
            | RuleId::DeployedMismatch
            | RuleId::NotDeployed => Level::Error,
            RuleId::UnexplainedChange
            | RuleId::EnvChanged
            | RuleId::ComponentRemoved
            | RuleId::UnmatchedPattern
            | RuleId::InputExcluded
            | RuleId::UnpinnedImage
            | RuleId::LibraryMissing => Level::Warning,
            RuleId::ComponentAdded => Level::Note,
        }
    }

    /// The levels SPEC.md's rule table gives: the default level, or "error or
    /// warning" for a rule whose findings take either (`library-missing`: error when
    /// the library exists nowhere in the image, warning when only outside the
    /// loader's paths).
    #[must_use]
    pub const fn spec_levels(self) -> &'static str {
        match self {
            RuleId::LibraryMissing => "error or warning",
            other => other.level().as_str(),
        }
    }

    /// One sentence: when the rule fires (SPEC.md's "when" column).
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            RuleId::StaleArtifact => {
                "A component's input digest changed and every output and image digest is unchanged: the build reused an old artifact."
            }
            RuleId::UnexplainedChange => {
                "The input digest is unchanged but an output or image changed: a non-reproducible build, or an undeclared input."
            }
            RuleId::StartupChanged => {
                "Entrypoint, cmd, user, working dir, shell, healthcheck or stop signal differ (image config, or the Dockerfile's final stage)."
            }
            RuleId::EnvChanged => {
                "Environment variables were added, removed or changed in the image or the Dockerfile's final stage."
            }
            RuleId::StartupBroken => {
                "Static startup verification of the new image fails: the container cannot start."
            }
            RuleId::ComponentAdded => "The component is in the new manifest but not in the base.",
            RuleId::ComponentRemoved => {
                "The component is in the base manifest but not in the new one."
            }
            RuleId::UnmatchedPattern => "An input pattern matches no file.",
            RuleId::InputExcluded => {
                "A declared input can never reach the build: excluded from its Dockerfile's context by .dockerignore, or absent from every source of its Nix derivation."
            }
            RuleId::OutputNotCurrent => {
                "An output (e.g. a `result` link) is not the out path the component's nix installable evaluates to now: the build left an old artifact in place."
            }
            RuleId::StoreMismatch => {
                "A store path's NAR hash differs from the one the Nix store database records."
            }
            RuleId::DeployedMismatch => "The running artifact's digest differs from the built one.",
            RuleId::NotDeployed => "A built component is not found running.",
            RuleId::UnpinnedImage => {
                "The running reference is a tag with no digest, so it cannot be verified."
            }
            RuleId::LibraryMissing => {
                "An ELF entrypoint's DT_NEEDED library is not found in the loader's default paths."
            }
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RuleId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown rule `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for r in RuleId::ALL {
            assert!(seen.insert(r.as_str()), "duplicate id {r}");
            assert_eq!(r.as_str().parse::<RuleId>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    /// The rule table in SPEC.md is the contract: every id and level there must be
    /// here, and nothing else.
    #[test]
    fn rule_list_matches_spec() {
        let spec_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/SPEC.md");
        let Ok(spec) = std::fs::read_to_string(spec_path) else {
            // The spec lives beside the repository, not in it; a packaged crate has none.
            // CI has it, and there its absence must fail, not pass unseen.
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "`{spec_path}` is missing; under CI the rule list must be checked against it"
            );
            return;
        };
        let mut from_spec = Vec::new();
        for line in spec.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() >= 4
                && cells[1].starts_with('`')
                && matches!(cells[2], "error" | "warning" | "note" | "error or warning")
            {
                from_spec.push((cells[1].trim_matches('`').to_owned(), cells[2].to_owned()));
            }
        }
        let ours: Vec<(String, String)> = RuleId::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), r.spec_levels().to_owned()))
            .collect();
        assert_eq!(ours, from_spec);
    }
}
