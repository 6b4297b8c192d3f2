//! `[[accept]]`: an accepted finding drops to level `note` and carries its reason; an
//! accept whose `expires` date has passed no longer applies, and the finding says so.

use crate::config::Accept;
use crate::model::finding::{Acceptance, Finding, Level};

pub(super) fn apply(findings: &mut [Finding], accepts: &[Accept], today: jiff::civil::Date) {
    for f in findings {
        let matching = accepts.iter().filter(|a| {
            a.component == f.component && a.rule == f.rule && a.fingerprint == f.fingerprint
        });
        // An accept that still holds wins over expired ones for the same finding,
        // whatever their order in the config; with none holding, the one that
        // expired last explains why the finding is back.
        let Some(a) = matching.max_by_key(|a| (a.expires.is_none_or(|d| d >= today), a.expires))
        else {
            continue;
        };
        match a.expires {
            // `expires` is the last day the accept holds.
            Some(date) if date < today => {
                f.message = format!(
                    "{} (the accept for this finding expired on {date}: {})",
                    f.message, a.reason
                );
                f.acceptance = Some(Acceptance::Expired {
                    reason: a.reason.clone(),
                    expires: date.to_string(),
                });
            }
            _ => {
                f.level = Level::Note;
                f.message = format!("accepted: {} ({})", a.reason, f.message);
                f.acceptance = Some(Acceptance::Accepted {
                    reason: a.reason.clone(),
                    expires: a.expires.map(|d| d.to_string()),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RuleId;

    fn accept(f: &Finding, reason: &str, expires: Option<&str>) -> Accept {
        Accept {
            component: f.component.clone(),
            rule: f.rule,
            fingerprint: f.fingerprint,
            reason: reason.to_owned(),
            expires: expires.map(|d| d.parse().unwrap()),
            line: 1,
        }
    }

    // Two accepts for one fingerprint, the expired one first: the valid one applies.
    #[test]
    fn a_valid_accept_wins_over_an_expired_one_in_any_order() {
        let today: jiff::civil::Date = "2026-11-29".parse().unwrap();
        let finding = Finding::new(RuleId::StaleArtifact, "api", "stale".into(), &["x"]);
        let expired = accept(&finding, "old review", Some("2026-01-31"));
        let valid = accept(&finding, "re-reviewed", Some("2027-01-31"));
        for accepts in [
            vec![expired.clone(), valid.clone()],
            vec![valid.clone(), expired.clone()],
        ] {
            let mut findings = vec![finding.clone()];
            apply(&mut findings, &accepts, today);
            assert_eq!(findings[0].level, Level::Note, "{accepts:?}");
            assert_eq!(findings[0].accepted_reason(), Some("re-reviewed"));
        }
        let mut findings = vec![finding.clone()];
        apply(&mut findings, &[expired], today);
        assert_eq!(findings[0].level, Level::Error);
        assert!(findings[0].message.contains("expired on 2026-01-31"));
    }
}
