//! `[[accept]]`: an accepted finding drops to level `note` and carries its reason; an
//! accept whose `expires` date has passed no longer applies, and the finding says so.

use crate::config::Accept;
use crate::model::finding::{Acceptance, Finding, Level};

pub(super) fn apply(findings: &mut [Finding], accepts: &[Accept], today: jiff::civil::Date) {
    for f in findings {
        let Some(a) = accepts.iter().find(|a| {
            a.component == f.component && a.rule == f.rule && a.fingerprint == f.fingerprint
        }) else {
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
