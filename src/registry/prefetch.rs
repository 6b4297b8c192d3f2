//! Layers downloaded ahead while earlier ones are read.
//!
//! The layer reader consumes layers strictly in order, and each one is streamed
//! through a decompressor and a tar reader, usually slower than the network. So
//! [`Prefetch`] keeps up to `parallel` downloads running — the blob being read and
//! the next ones — each on its own thread, each verified by a [`BlobReader`] as it
//! arrives, each spooled into an anonymous temporary file (unlinked at creation,
//! so nothing is left behind even on a crash). The consumer reads a blob from its
//! spool while it is still downloading, waiting only when it catches up.
//!
//! What is bounded, and why a file and not a memory pipe:
//! - threads and connections: at most `parallel` downloads at once;
//! - memory: one 256 KiB buffer per download, whatever the layer sizes;
//! - disk: the blobs in flight (at most `parallel`, plus the one being read),
//!   freed as each reader is dropped.
//!
//! A bounded in-memory pipe would stall a download whenever its window filled,
//! leaving a connection idle for as long as the layer before it takes to read
//! (registries and CDNs drop idle connections); with a spool every download runs
//! at the network's pace and memory stays fixed.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write as _};
use std::os::unix::fs::FileExt as _;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::{Client, Reference, RegistryError};
use crate::blob::Expected;

const BUF: usize = 256 * 1024;

/// An in-order iterator of blobs downloading ahead; see the module docs.
pub struct Prefetch {
    client: Client,
    reference: Reference,
    pending: VecDeque<Expected>,
    started: VecDeque<PrefetchedBlob>,
    parallel: usize,
}

/// One blob of a [`Prefetch`]: reads what has arrived, waits for the rest, and
/// fails with the download's error (`InvalidData` naming the blob on a digest or
/// size mismatch) where the download failed.
pub struct PrefetchedBlob {
    expected: Expected,
    shared: Arc<Shared>,
    file: File,
    pos: u64,
}

struct Shared {
    state: Mutex<Spool>,
    cond: Condvar,
}

#[derive(Default)]
struct Spool {
    written: u64,
    done: Option<Result<(), (io::ErrorKind, String)>>,
    cancelled: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Spool> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Client {
    /// Starts downloading `blobs` of `reference`'s repository, up to
    /// [`Options::parallel`](super::Options::parallel) at a time, and yields them
    /// in order.
    #[must_use]
    pub fn prefetch(&self, reference: &Reference, blobs: Vec<Expected>) -> Prefetch {
        Prefetch {
            client: self.clone(),
            reference: reference.clone(),
            pending: blobs.into(),
            started: VecDeque::new(),
            parallel: self.inner.opts.parallel.max(1),
        }
    }
}

impl Prefetch {
    fn start(&self, expected: Expected) -> Result<PrefetchedBlob, RegistryError> {
        let io_err = |context: &str, source: io::Error| RegistryError::Io {
            context: context.to_owned(),
            source,
        };
        let file = tempfile::tempfile().map_err(|e| io_err("cannot create a spool file", e))?;
        let mut writer = file
            .try_clone()
            .map_err(|e| io_err("cannot open the spool file twice", e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(Spool::default()),
            cond: Condvar::new(),
        });
        let client = self.client.clone();
        let reference = self.reference.clone();
        let theirs = Arc::clone(&shared);
        let want = expected.clone();
        std::thread::Builder::new()
            .name(format!("blob-{}", want.digest.short()))
            .spawn(move || {
                let result = download(&client, &reference, &want, &mut writer, &theirs);
                theirs.lock().done = Some(result);
                theirs.cond.notify_all();
            })
            .map_err(|e| io_err("cannot start a download thread", e))?;
        Ok(PrefetchedBlob {
            expected,
            shared,
            file,
            pos: 0,
        })
    }
}

fn download(
    client: &Client,
    reference: &Reference,
    want: &Expected,
    spool: &mut File,
    shared: &Shared,
) -> Result<(), (io::ErrorKind, String)> {
    let mut blob = client
        .blob(reference, &want.digest, want.size)
        .map_err(|e| (io::ErrorKind::Other, e.to_string()))?;
    let mut buf = vec![0u8; BUF];
    loop {
        if shared.lock().cancelled {
            return Ok(());
        }
        let n = match blob.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((e.kind(), e.to_string())),
        };
        spool.write_all(&buf[..n]).map_err(|e| {
            (
                e.kind(),
                format!(
                    "blob `{}` from `{}/{}`: writing the spool file failed: {e}",
                    want.digest, reference.registry, reference.repository
                ),
            )
        })?;
        shared.lock().written += n as u64;
        shared.cond.notify_all();
    }
}

impl Iterator for Prefetch {
    type Item = Result<PrefetchedBlob, RegistryError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.started.len() < self.parallel {
            let Some(e) = self.pending.pop_front() else {
                break;
            };
            match self.start(e) {
                Ok(b) => self.started.push_back(b),
                Err(err) => return Some(Err(err)),
            }
        }
        self.started.pop_front().map(Ok)
    }
}

impl PrefetchedBlob {
    /// What the descriptor promises.
    #[must_use]
    pub fn expected(&self) -> &Expected {
        &self.expected
    }
}

impl Read for PrefetchedBlob {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = self.shared.lock();
        loop {
            if self.pos < st.written {
                let avail = usize::try_from(st.written - self.pos).unwrap_or(usize::MAX);
                drop(st);
                let want = avail.min(buf.len());
                let n = self.file.read_at(&mut buf[..want], self.pos)?;
                self.pos += n as u64;
                return Ok(n);
            }
            match &st.done {
                Some(Ok(())) => return Ok(0),
                Some(Err((kind, msg))) => return Err(io::Error::new(*kind, msg.clone())),
                None => {
                    st = self
                        .shared
                        .cond
                        .wait(st)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            }
        }
    }
}

impl Drop for PrefetchedBlob {
    fn drop(&mut self) {
        // The download thread stops at its next chunk; the spool file is freed when
        // both handles are closed.
        self.shared.lock().cancelled = true;
    }
}
