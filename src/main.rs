//! The `buildproof` binary: parse arguments, decide colour, run, map the outcome to
//! SPEC.md's exit codes (0 clean, 1 a finding at the failing level, 2 could not
//! judge). It owns the process's streams; the library writes only where it is told.

use std::io::{self, IsTerminal as _, Write};
use std::process::ExitCode;

use buildproof::cli::{Cli, ColorChoice};
use buildproof::commands::{self, Streams};
use clap::Parser as _;

fn main() -> ExitCode {
    let cli = Cli::parse();
    remove_partial_files_on_signals();
    let color = color(cli.color);
    let verbosity = cli.verbosity();
    let mut stdout = ClosablePipe::new(io::stdout().lock());
    // A progress bar may be drawn on stderr only when it is a terminal.
    let stderr_terminal = io::stderr()
        .is_terminal()
        .then(|| console::Term::stderr().size().1);
    let mut stderr = io::stderr().lock();
    let mut streams = Streams {
        stdout: &mut stdout,
        stderr: &mut stderr,
        color,
        stderr_terminal,
        verbosity,
    };
    match commands::run(cli, &mut streams) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // `{:#}` is the whole cause chain on one line, `outer: inner: root`; each
            // error names only what it adds, its cause is printed after it once.
            let message = buildproof::report::log_safe(&format!("{err:#}")).into_owned();
            let _ = writeln!(stderr, "buildproof: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// On `SIGINT`, `SIGTERM` or `SIGHUP`, removes the temporary files being written and
/// exits as a shell reports a death by that signal (128 + its number: 130, 143,
/// 129). `SIGXFSZ` is caught and ignored, so exceeding a file-size limit fails the
/// write with `EFBIG` (exit 2, temporary file dropped) instead of killing the
/// process mid-file.
fn remove_partial_files_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGXFSZ};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGXFSZ])
    else {
        return;
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGXFSZ {
                continue;
            }
            buildproof::output::remove_partial_files();
            std::process::exit(128 + signal);
        }
    });
}

/// `--color`: `never` and `always` are final; `auto` colours a terminal unless
/// `NO_COLOR` is set, and `CLICOLOR_FORCE` colours whatever stdout is
/// (<https://no-color.org>, <https://bixense.com/clicolors/>).
fn color(choice: ColorChoice) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if set("CLICOLOR_FORCE") => {
            std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0")
        }
        ColorChoice::Auto => io::stdout().is_terminal(),
    }
}

/// Stdout that a reader may close early (`buildproof check | head`): once a write
/// fails with a broken pipe, later output is dropped instead of failing the run,
/// so the verdict's exit code survives (1 stays 1), as it would for `grep -q`.
struct ClosablePipe<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> ClosablePipe<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            closed: false,
        }
    }

    fn absorb(&mut self, result: io::Result<()>) -> io::Result<()> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

impl<W: Write> Write for ClosablePipe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.absorb(result)
    }
}
