//! Image rules: `startup-changed`, `env-changed` (image config), `startup-broken` and
//! `library-missing` (from the recorded static startup verification).

use crate::finding::Finding;
use crate::image::ImageRecord;

/// Change rules between two recordings of one component's image.
#[must_use]
pub fn compare(_component: &str, _base: &ImageRecord, _new: &ImageRecord) -> Vec<Finding> {
    Vec::new()
}

/// State rules on the new image alone.
#[must_use]
pub fn state(_component: &str, _new: &ImageRecord) -> Vec<Finding> {
    Vec::new()
}
