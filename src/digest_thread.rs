//! SHA-256 of byte streams on a thread of its own, so a core with room hashes while
//! the caller's thread does the work only it can do: a gzip blob's compressed bytes
//! (`blob`), whose digest the inflating thread would otherwise compute on the one
//! core that inflating already fills.
//!
//! The caller copies the bytes into a batch and hands full batches over; the thread
//! hashes them in order and keeps one digest per stream ended with
//! [`end_file`](HashThread::end_file). A batch holds many short streams (their ends
//! are recorded as offsets), so a million tiny files cost a few thousand hand-overs,
//! not a million.
//!
//! Without a thread (not asked for, or none could be started), the bytes are hashed
//! in the caller's thread, straight from its buffer.
//!
//! Bounded: at most [`IN_FLIGHT`] batches of [`BATCH`] bytes are queued; when the
//! hasher falls behind, the reader waits. Buffers go back to the reader for reuse.
//! Dropping a [`HashThread`] without [`finish`](HashThread::finish) (a layer
//! that failed) ends the thread once it has drained what was queued.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::digest::{Digest, Hasher};

/// Bytes per batch: large enough that a hand-over is noise next to hashing it.
const BATCH: usize = 1024 * 1024;
/// Batches queued for the hasher at most (as deep as the layer reader's own pipe,
/// for the same reason: bursts pass without stalling the caller).
const IN_FLIGHT: usize = 16;

struct Batch {
    data: Vec<u8>,
    /// Offsets in `data` where a file ends (a file may span batches).
    ends: Vec<usize>,
}

/// The hashing side: the file being hashed and the digests of those done.
#[derive(Default)]
struct Digests {
    current: Hasher,
    done: Vec<Digest>,
}

impl Digests {
    /// Hashes a batch the reader's thread filled.
    fn take(&mut self, batch: &Batch) {
        let mut start = 0;
        for &end in &batch.ends {
            self.current
                .update_from_other_thread(&batch.data[start..end]);
            self.done.push(std::mem::take(&mut self.current).finish());
            start = end;
        }
        self.current.update_from_other_thread(&batch.data[start..]);
    }
}

/// Hashes byte streams in order, on a thread of its own or in place; see the module
/// docs.
pub(crate) struct HashThread {
    tx: Option<SyncSender<Batch>>,
    spare: Receiver<Vec<u8>>,
    batch: Batch,
    files: usize,
    thread: Option<JoinHandle<Vec<Digest>>>,
    /// Without a thread (not asked for, or it could not be started): the stream
    /// being hashed here, straight from the caller's buffer, and the digests so far.
    inline: Digests,
}

impl HashThread {
    /// A hasher; with `thread`, on a thread of its own, else in the caller's.
    pub(crate) fn start(thread: bool) -> Self {
        let (tx, rx) = sync_channel::<Batch>(IN_FLIGHT);
        let (spare_tx, spare) = sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
        let thread = if thread {
            std::thread::Builder::new()
                .name("hash".into())
                .spawn(move || {
                    let mut d = Digests::default();
                    for batch in rx {
                        d.take(&batch);
                        let _ = spare_tx.try_send(batch.data);
                    }
                    d.done
                })
                .ok()
        } else {
            None
        };
        Self {
            tx: Some(tx),
            spare,
            batch: Batch {
                data: Vec::with_capacity(BATCH),
                ends: Vec::new(),
            },
            files: 0,
            thread,
            inline: Digests::default(),
        }
    }

    /// Adds bytes of the current file.
    pub(crate) fn push(&mut self, mut data: &[u8]) {
        if self.thread.is_none() {
            // In this thread: hash straight from the caller's buffer, no copy.
            self.inline.current.update_from_other_thread(data);
            return;
        }
        while !data.is_empty() {
            let room = BATCH - self.batch.data.len();
            let n = room.min(data.len());
            self.batch.data.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.batch.data.len() == BATCH {
                self.send();
            }
        }
    }

    /// Ends the current file; returns its number (0, 1, … in the order of ends).
    pub(crate) fn end_file(&mut self) -> usize {
        if self.thread.is_none() {
            let d = std::mem::take(&mut self.inline.current).finish();
            self.inline.done.push(d);
        } else {
            self.batch.ends.push(self.batch.data.len());
        }
        self.files += 1;
        self.files - 1
    }

    fn send(&mut self) {
        let data = self.spare.try_recv().map_or_else(
            |_| Vec::with_capacity(BATCH),
            |mut v| {
                v.clear();
                v
            },
        );
        let full = std::mem::replace(
            &mut self.batch,
            Batch {
                data,
                ends: Vec::new(),
            },
        );
        // Only called with a thread, which ends only when the sender is dropped:
        // this send is received.
        if let Some(tx) = &self.tx {
            let _ = tx.send(full);
        }
    }

    /// The digest of every file ended, in order.
    pub(crate) fn finish(mut self) -> Vec<Digest> {
        if self.thread.is_some() && (!self.batch.data.is_empty() || !self.batch.ends.is_empty()) {
            self.send();
        }
        self.tx = None;
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_default(),
            None => std::mem::take(&mut self.inline.done),
        }
    }
}

/// A hasher dropped without [`HashThread::finish`] (a layer that failed to read)
/// still ends and joins its thread, so no thread outlives the read that started it.
impl Drop for HashThread {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_in_order_across_batches() {
        let files: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"small".to_vec(),
            vec![7u8; BATCH * 2 + 13],
            Vec::new(),
            vec![1u8; BATCH - 5],
            b"tail".to_vec(),
        ];
        for thread in [true, false] {
            let mut h = HashThread::start(thread);
            for f in &files {
                // Uneven pieces, as a tar reader hands them over.
                for piece in f.chunks(100_003) {
                    h.push(piece);
                }
                h.end_file();
            }
            let got = h.finish();
            let want: Vec<Digest> = files.iter().map(|f| Digest::of(f)).collect();
            assert_eq!(got, want);
        }
    }
}
