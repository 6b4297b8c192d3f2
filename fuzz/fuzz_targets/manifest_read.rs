//! A BASE from an attacker: arbitrary bytes read as a manifest (plain, or inside an
//! in-toto statement, DSSE envelope or Sigstore bundle) and as running state. What is
//! refused must be refused with an error; what is accepted is compared with itself
//! under every rule and rendered in every report format. Nothing may panic or hang,
//! and comparing a manifest with itself may never report a change.
//!
//! Run: `cargo +nightly fuzz run manifest_read -- -max_total_time=600`.
#![no_main]

use std::path::Path;

use buildproof::model::RuleId;
use buildproof::report::{Format, RenderOptions, Report, render};
use buildproof::rules::{self, Context};
use libfuzzer_sys::fuzz_target;

const FORMATS: [Format; 6] = [
    Format::Text,
    Format::Json,
    Format::Sarif,
    Format::Junit,
    Format::Markdown,
    Format::Github,
];

fuzz_target!(|data: &[u8]| {
    let _ = buildproof::deploy::parse(data, Path::new("running.json"));
    let from_bytes = buildproof::load::manifest_from_json(data, Path::new("base.json"));
    // A file is read as it streams when it is a plain manifest: that path must accept
    // exactly what the in-memory one accepts, as the same manifest.
    let file = std::env::temp_dir().join(format!("manifest-read-{}.json", std::process::id()));
    std::fs::write(&file, data).expect("writes the input to a temporary file");
    let from_file = buildproof::load::manifest(&file);
    match (&from_bytes, &from_file) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("bytes: {a:?}; file: {b:?}"),
    }
    let Ok(manifest) = from_bytes else {
        return;
    };
    let ctx = Context {
        config: None,
        today: jiff::civil::date(2026, 11, 29),
    };
    let findings = rules::diff(&manifest, &manifest, ctx);
    // Against itself nothing changed: only what the new side shows on its own.
    for f in &findings {
        assert!(
            !matches!(
                f.rule,
                RuleId::StaleArtifact
                    | RuleId::UnexplainedChange
                    | RuleId::StartupChanged
                    | RuleId::EnvChanged
                    | RuleId::ComponentAdded
                    | RuleId::ComponentRemoved
            ),
            "{f:?}"
        );
    }
    let report = Report::new(
        "diff",
        manifest.components.keys().cloned().collect(),
        rules::diff_rules(),
        findings,
    );
    for format in FORMATS {
        let mut out = Vec::new();
        render(&report, format, &RenderOptions::default(), &mut out).expect("renders to memory");
    }
    // What was read writes back, and reads again as the same manifest.
    let again = manifest.to_json().expect("serialises");
    let back = buildproof::load::manifest_from_json(&again, Path::new("again.json"))
        .expect("a written manifest reads back");
    assert_eq!(back, manifest);
});
