//! `[[accept]]`: an accepted finding drops to level `note` and carries its reason; an
//! accept whose `expires` date has passed no longer applies, and the finding says so.

use serde_json::json;

use crate::config::Accept;
use crate::model::finding::{Finding, Level};

pub(super) fn apply(findings: &mut [Finding], accepts: &[Accept], today: jiff::civil::Date) {
    for f in findings {
        let Some(a) = accepts.iter().find(|a| {
            a.component == f.component && a.rule == f.rule && a.fingerprint == f.fingerprint
        }) else {
            continue;
        };
        let expires = a.expires.map(|d| d.to_string());
        match a.expires {
            // `expires` is the last day the accept holds.
            Some(date) if date < today => {
                f.message = format!(
                    "{} (the accept for this finding expired on {date}: {})",
                    f.message, a.reason
                );
                f.details.insert(
                    "accept_expired".into(),
                    json!({"reason": a.reason, "expires": expires}),
                );
            }
            _ => {
                f.level = Level::Note;
                f.message = format!("accepted: {} ({})", a.reason, f.message);
                f.details.insert(
                    "accepted".into(),
                    json!({"reason": a.reason, "expires": expires}),
                );
            }
        }
    }
}
