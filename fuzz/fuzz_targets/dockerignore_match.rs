//! `.dockerignore` patterns on arbitrary text, matched against a path taken from the
//! input's first line: parsing may refuse a pattern, matching never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, patterns) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(ignore) = buildproof::dockerfile::dockerignore::Ignore::parse(patterns) {
        if let Some(p) = ignore.excluding(path) {
            assert!(!p.exception);
        }
    }
});
