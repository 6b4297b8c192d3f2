//! Progress counters that long-running producers bump as they work (files and bytes
//! done, the current phase) and that the command drawing a progress bar reads. Plain
//! atomics: updating them costs nothing measurable, and nobody here draws or prints.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a run has done so far. Shared by reference across worker threads.
#[derive(Debug, Default)]
pub struct Progress {
    phase: Mutex<String>,
    files: AtomicU64,
    files_total: AtomicU64,
    bytes: AtomicU64,
    bytes_total: AtomicU64,
}

/// A consistent-enough reading of [`Progress`] for one redraw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub phase: String,
    pub files: u64,
    /// 0 when unknown.
    pub files_total: u64,
    pub bytes: u64,
    /// 0 when unknown.
    pub bytes_total: u64,
}

impl Progress {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a phase (`hashing inputs`): counters restart; totals are 0 when unknown.
    pub fn phase(&self, name: impl Into<String>, files_total: u64, bytes_total: u64) {
        if let Ok(mut phase) = self.phase.lock() {
            *phase = name.into();
        }
        self.files.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        self.files_total.store(files_total, Ordering::Relaxed);
        self.bytes_total.store(bytes_total, Ordering::Relaxed);
    }

    /// Counts files and bytes done.
    pub fn add(&self, files: u64, bytes: u64) {
        if files > 0 {
            self.files.fetch_add(files, Ordering::Relaxed);
        }
        if bytes > 0 {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// The counters now.
    #[must_use]
    pub fn read(&self) -> Reading {
        Reading {
            phase: self.phase.lock().map(|p| p.clone()).unwrap_or_default(),
            files: self.files.load(Ordering::Relaxed),
            files_total: self.files_total.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
        }
    }
}
