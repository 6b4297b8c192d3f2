//! The progress bar of long runs: drawn with `indicatif` on stderr, only when `main`
//! says stderr is a terminal, only once the run has taken about a second, and never
//! with `--quiet`. A log file, a CI job's output or a pipe never gets a byte of it.
//!
//! The work runs on a scoped thread and bumps [`Progress`] counters; this thread
//! redraws from them a few times a second. indicatif renders into a buffer (its
//! terminal is [`Buffer`]), which is copied into the stderr stream the command was
//! given: the library writes only to the streams `main` hands it.
//!
//! `BUILDPROOF_PROGRESS_DELAY_MS` replaces the one-second delay; the tests use it to
//! see a bar on runs that are fast.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use super::Streams;
use crate::progress::Progress;

/// How long a run goes without a bar: short runs stay silent.
const DELAY: Duration = Duration::from_secs(1);
/// Time between redraws.
const TICK: Duration = Duration::from_millis(100);

/// Runs `work`, drawing its progress on stderr when that is a terminal and `quiet`
/// is not set, and returns what it returns.
pub(super) fn with_progress<T: Send>(
    io: &mut Streams<'_>,
    quiet: bool,
    work: impl FnOnce(&Progress) -> T + Send,
) -> T {
    let progress = Progress::new();
    let width = match io.stderr_terminal {
        Some(width) if !quiet => width,
        _ => return work(&progress),
    };
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let progress = &progress;
        let worker = scope.spawn(move || {
            let out = work(progress);
            let _ = done_tx.send(());
            out
        });
        let start = Instant::now();
        let delay = std::env::var("BUILDPROOF_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(DELAY, Duration::from_millis);
        let mut bar: Option<Bar> = None;
        loop {
            let wait = if bar.is_some() {
                TICK
            } else {
                delay.saturating_sub(start.elapsed())
            };
            match done_rx.recv_timeout(wait) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // Finished (or the worker panicked, which `join` re-raises).
                _ => break,
            }
            let now = progress.read();
            if now.phase.is_empty() {
                // Not started yet: nothing to say.
                continue;
            }
            let bar = bar.get_or_insert_with(|| Bar::new(width));
            bar.update(&now);
            bar.drain(io);
        }
        if let Some(bar) = bar {
            bar.bar.finish_and_clear();
            bar.drain(io);
        }
        match worker.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

struct Bar {
    bar: ProgressBar,
    buffer: Buffer,
    phase: String,
}

impl Bar {
    fn new(width: u16) -> Self {
        let buffer = Buffer {
            bytes: Arc::new(Mutex::new(Vec::new())),
            width,
        };
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(buffer.clone()), 10);
        let bar = ProgressBar::with_draw_target(None, target).with_style(
            ProgressStyle::with_template(
                "{spinner} {msg} {binary_bytes} ({binary_bytes_per_sec}) {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Self {
            bar,
            buffer,
            phase: String::new(),
        }
    }

    fn update(&mut self, now: &crate::progress::Reading) {
        if now.phase != self.phase {
            // A new phase: its own byte count and rate.
            self.phase.clone_from(&now.phase);
            self.bar.reset();
        }
        let files = if now.files_total > 0 {
            format!("{}/{} files", now.files, now.files_total)
        } else if now.files > 0 {
            format!("{} files", now.files)
        } else {
            String::new()
        };
        self.bar.set_message(format!("{}: {files}", now.phase));
        self.bar.set_position(now.bytes);
        self.bar.tick();
    }

    /// Copies what indicatif drew into the stderr stream.
    fn drain(&self, io: &mut Streams<'_>) {
        let bytes = match self.buffer.bytes.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(_) => return,
        };
        if !bytes.is_empty() {
            // A progress bar that cannot be drawn is no reason to fail the run.
            let _ = io.stderr.write_all(&bytes).and_then(|()| io.stderr.flush());
        }
    }
}

/// indicatif's terminal: collects the bytes of each redraw (text and the ANSI
/// cursor movements indicatif asks for) for [`Bar::drain`].
#[derive(Debug, Clone)]
struct Buffer {
    bytes: Arc<Mutex<Vec<u8>>>,
    width: u16,
}

impl Buffer {
    fn put(&self, s: &str) -> std::io::Result<()> {
        if let Ok(mut b) = self.bytes.lock() {
            b.extend_from_slice(s.as_bytes());
        }
        Ok(())
    }
}

impl TermLike for Buffer {
    fn width(&self) -> u16 {
        self.width
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}A"))
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}B"))
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}C"))
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}D"))
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(s)?;
        self.put("\n")
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}
