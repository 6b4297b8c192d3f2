//! The Dockerfile parser on arbitrary text: it may refuse the input (an error with a
//! line inside the file), never panic or hang, and a record it returns points at
//! lines that exist.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = u32::try_from(text.split('\n').count()).unwrap_or(u32::MAX);
    match buildproof::dockerfile::parse("Dockerfile", text) {
        Ok(record) => {
            assert!(record.stage.line >= 1 && record.stage.line <= lines);
            let startup = &record.startup;
            for (_, field) in startup.compared() {
                if let Some(f) = field {
                    assert!(f.line >= 1 && f.line <= lines, "line {} of {lines}", f.line);
                }
            }
            for f in startup
                .env
                .values()
                .chain(&startup.expose)
                .chain(&startup.volumes)
            {
                assert!(f.line >= 1 && f.line <= lines, "line {} of {lines}", f.line);
            }
        }
        Err(buildproof::dockerfile::DockerfileError::Syntax { line, .. }) => {
            assert!(line >= 1 && line <= lines, "error line {line} of {lines}");
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    }
});
