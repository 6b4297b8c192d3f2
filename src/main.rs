//! The `buildproof` binary: parse arguments, run, map the outcome to SPEC.md's exit
//! codes (0 clean, 1 error-level finding, 2 could not judge). Nothing else.

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = buildproof::cli::Cli::parse();
    match buildproof::commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed stdout (`buildproof … | head`) is not an error worth a word.
            if err
                .chain()
                .filter_map(|c| c.downcast_ref::<io::Error>())
                .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
            {
                return ExitCode::from(0);
            }
            let mut stderr = io::stderr().lock();
            let _ = writeln!(stderr, "buildproof: error: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, `outer: inner: root`, leaving out a cause
/// whose text the line already holds (library errors often name their source in
/// their own message, and the OS error would otherwise appear twice).
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
