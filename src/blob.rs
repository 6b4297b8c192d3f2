//! Verified blob reads. A blob is named by its descriptor (digest and size); every
//! byte read is counted and hashed as it streams, and [`Verifier::finish`] fails when
//! the size or the SHA-256 differs from the descriptor. Reading past the declared
//! size is an error at once, so a blob can never make a reader run on forever.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use crate::digest::{Digest, Hasher};
use crate::digest_thread::HashThread;

/// What a descriptor promises about a blob.
#[derive(Debug, Clone)]
pub struct Expected {
    pub digest: Digest,
    pub size: u64,
}

/// Counting and hashing state, shared between the reader handed to a decoder and the
/// caller that checks the result once the decoder is done.
#[derive(Default)]
pub(crate) struct Tally {
    hasher: Option<Hashing>,
    pub(crate) count: u64,
}

/// Where a blob's bytes are hashed.
enum Hashing {
    Here(Hasher),
    /// On a thread of its own: for a reader whose own thread is the slowest of a
    /// pipeline (inflating a gzip layer), handing the hashing to a core with room.
    Thread(HashThread),
}

impl Tally {
    fn update(&mut self, data: &[u8]) {
        match self
            .hasher
            .get_or_insert_with(|| Hashing::Here(Hasher::new()))
        {
            Hashing::Here(h) => h.update(data),
            Hashing::Thread(t) => t.push(data),
        }
        self.count += data.len() as u64;
    }

    fn digest(&mut self) -> Digest {
        match self.hasher.take() {
            None => Hasher::new().finish(),
            Some(Hashing::Here(h)) => h.finish(),
            Some(Hashing::Thread(mut t)) => {
                t.end_file();
                t.finish().pop().unwrap_or_else(|| Hasher::new().finish())
            }
        }
    }
}

/// A reader that hashes and counts what passes through it into a shared [`Tally`],
/// and refuses to yield more than `limit` bytes.
pub(crate) struct Tallying<R> {
    inner: R,
    tally: Rc<RefCell<Tally>>,
    limit: u64,
}

impl<R: Read> Tallying<R> {
    pub(crate) fn new(inner: R, limit: u64) -> (Self, Rc<RefCell<Tally>>) {
        Self::with(inner, limit, Tally::default())
    }

    /// [`new`](Self::new), hashing on a thread of its own (see [`HashThread`]).
    pub(crate) fn hashing_on_a_thread(inner: R, limit: u64) -> (Self, Rc<RefCell<Tally>>) {
        let tally = Tally {
            hasher: Some(Hashing::Thread(HashThread::start(true))),
            count: 0,
        };
        Self::with(inner, limit, tally)
    }

    fn with(inner: R, limit: u64, tally: Tally) -> (Self, Rc<RefCell<Tally>>) {
        let tally = Rc::new(RefCell::new(tally));
        (
            Self {
                inner,
                tally: Rc::clone(&tally),
                limit,
            },
            tally,
        )
    }
}

impl<R: Read> Read for Tallying<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut t = self.tally.borrow_mut();
        t.update(&buf[..n]);
        if t.count > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("more than the {} bytes its descriptor declares", self.limit),
            ));
        }
        Ok(n)
    }
}

/// Checks a finished blob against its descriptor.
pub(crate) struct Verifier {
    pub(crate) tally: Rc<RefCell<Tally>>,
    pub(crate) expected: Expected,
}

/// The blob's content differs from its descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub expected: Expected,
    pub actual_digest: Digest,
    pub actual_size: u64,
}

impl PartialEq for Expected {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.size == other.size
    }
}
impl Eq for Expected {}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.actual_size == self.expected.size {
            write!(
                f,
                "content does not match its digest: expected {}, found {}",
                self.expected.digest, self.actual_digest
            )
        } else {
            write!(
                f,
                "content does not match its descriptor: expected {} ({} bytes), found {} ({} bytes)",
                self.expected.digest, self.expected.size, self.actual_digest, self.actual_size
            )
        }
    }
}

impl Verifier {
    /// Compares what was read with the descriptor.
    pub(crate) fn finish(&self) -> Result<(), Mismatch> {
        let mut t = self.tally.borrow_mut();
        let actual_size = t.count;
        let actual_digest = t.digest();
        if actual_digest == self.expected.digest && actual_size == self.expected.size {
            Ok(())
        } else {
            Err(Mismatch {
                expected: self.expected.clone(),
                actual_digest,
                actual_size,
            })
        }
    }
}

/// Reads a small blob (manifest, index, config) whole, verified. `max` bounds the
/// memory a hostile descriptor can make us allocate.
pub(crate) fn read_small(
    reader: impl Read,
    expected: &Expected,
    max: u64,
) -> io::Result<Result<Vec<u8>, Mismatch>> {
    if expected.size > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "its descriptor declares {} bytes, more than the {max} allowed for metadata",
                expected.size
            ),
        ));
    }
    let (mut r, tally) = Tallying::new(reader, expected.size);
    let mut buf = Vec::new();
    let res = r.read_to_end(&mut buf);
    let verifier = Verifier {
        tally,
        expected: expected.clone(),
    };
    match (res, verifier.finish()) {
        (_, Err(m)) => Ok(Err(m)),
        (Err(e), Ok(())) => Err(e),
        (Ok(_), Ok(())) => Ok(Ok(buf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_blob_verified() {
        let data = b"hello";
        let ok = Expected {
            digest: Digest::of(data),
            size: 5,
        };
        assert_eq!(read_small(&data[..], &ok, 100).unwrap().unwrap(), data);
        let bad = Expected {
            digest: Digest::of(b"other"),
            size: 5,
        };
        assert!(read_small(&data[..], &bad, 100).unwrap().is_err());
        let long = Expected {
            digest: Digest::of(data),
            size: 3,
        };
        assert!(read_small(&data[..], &long, 100).unwrap().is_err());
        assert!(read_small(&data[..], &ok, 2).is_err());
    }
}
