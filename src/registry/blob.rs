//! A blob read from a registry, verified as it streams: every byte is counted and
//! hashed; more bytes than the descriptor declares fail at once, and at the end the
//! size and SHA-256 must match or the read fails with `InvalidData` naming the blob.
//! Nothing is buffered beyond the reader's own small buffer.
//!
//! A connection that breaks mid-blob is resumed with a `Range` request from the
//! byte reached (a server that ignores `Range` is read again from the start and the
//! bytes already seen are skipped), at most [`RESUMES`] times.

use std::io::{self, Read};

use ureq::http::Method;

use super::client::Req;
use super::{Client, Reference, RegistryError};
use crate::blob::{Expected, Mismatch};
use crate::digest::{Digest, Hasher};

/// How many times a broken download is resumed.
pub const RESUMES: u32 = 3;

/// A verifying reader over a registry blob. `Send`, so it can be read on another
/// thread (see [`Client::prefetch`](super::Client::prefetch)).
pub struct BlobReader {
    inner: Box<dyn Read + Send>,
    hasher: Hasher,
    count: u64,
    expected: Expected,
    client: Client,
    reference: Reference,
    resumes_left: u32,
    state: State,
}

#[derive(PartialEq, Eq)]
enum State {
    Reading,
    Verified,
    Failed,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("digest", &self.expected.digest)
            .field("size", &self.expected.size)
            .field("read", &self.count)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Opens blob `digest` of `reference`'s repository, declared `size` bytes.
    /// Errors that come before the first byte (auth, 404, connection) are returned
    /// here; the returned reader verifies as it goes.
    pub fn blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        size: u64,
    ) -> Result<BlobReader, RegistryError> {
        let expected = Expected {
            digest: *digest,
            size,
        };
        let (body, _) = self.open_blob(reference, digest, 0)?;
        Ok(BlobReader {
            inner: body,
            hasher: Hasher::new(),
            count: 0,
            expected,
            client: self.clone(),
            reference: reference.clone(),
            resumes_left: RESUMES,
            state: State::Reading,
        })
    }

    /// Reads a small blob (a config) whole, verified; `max` bounds the size.
    pub fn blob_bytes(
        &self,
        reference: &Reference,
        digest: &Digest,
        size: u64,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        if size > max {
            return Err(blob_error(
                reference,
                digest,
                format!("its descriptor declares {size} bytes, more than the {max} allowed"),
            ));
        }
        let mut r = self.blob(reference, digest, size)?;
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        r.read_to_end(&mut buf)
            .map_err(|e| blob_error(reference, digest, strip_label(&e)))?;
        Ok(buf)
    }

    /// GETs a blob from `offset` on. Returns the body and whether the server
    /// honoured the range (206).
    pub(crate) fn open_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        offset: u64,
    ) -> Result<(Box<dyn Read + Send>, bool), RegistryError> {
        let mut headers = Vec::new();
        if offset > 0 {
            headers.push(("range", format!("bytes={offset}-")));
        }
        let req = Req {
            method: Method::GET,
            reference,
            path: format!("/v2/{}/blobs/{digest}", reference.repository),
            headers,
            body: None,
            actions: "pull",
            what: digest.to_string(),
        };
        let resp = match self.send(&req) {
            Ok(r) => r,
            Err(RegistryError::Status {
                status, message, ..
            }) => {
                return Err(blob_error(
                    reference,
                    digest,
                    format!("the registry answered {status}: {message}"),
                ));
            }
            Err(e) => return Err(e),
        };
        let status = resp.status().as_u16();
        match status {
            200 => Ok((Box::new(resp.into_body().into_reader()), false)),
            206 if offset > 0 => Ok((Box::new(resp.into_body().into_reader()), true)),
            404 => Err(RegistryError::NotFound {
                host: reference.api_host().to_owned(),
                what: format!("{}@{digest}", reference.repository),
                message: super::error::server_message(&super::client::read_small(resp)),
            }),
            _ => Err(blob_error(
                reference,
                digest,
                format!(
                    "the registry answered {status}: {}",
                    super::error::server_message(&super::client::read_small(resp))
                ),
            )),
        }
    }
}

pub(crate) fn blob_error(reference: &Reference, digest: &Digest, detail: String) -> RegistryError {
    RegistryError::Blob {
        host: reference.registry.clone(),
        repo: reference.repository.clone(),
        digest: digest.to_string(),
        detail,
    }
}

/// The detail of an error made by [`BlobReader`], without its `blob … from …: ` label.
fn strip_label(e: &io::Error) -> String {
    let s = e.to_string();
    match s.split_once("`: ") {
        Some((head, tail)) if head.starts_with("blob `") => tail.to_owned(),
        _ => s,
    }
}

impl BlobReader {
    /// What the descriptor promises.
    #[must_use]
    pub fn expected(&self) -> &Expected {
        &self.expected
    }

    /// Bytes read so far.
    #[must_use]
    pub fn bytes_read(&self) -> u64 {
        self.count
    }

    fn label(&self) -> String {
        format!(
            "blob `{}` from `{}/{}`",
            self.expected.digest, self.reference.registry, self.reference.repository
        )
    }

    fn fail(&mut self, kind: io::ErrorKind, detail: impl std::fmt::Display) -> io::Error {
        self.state = State::Failed;
        io::Error::new(kind, format!("{}: {detail}", self.label()))
    }

    fn resume(&mut self) -> Result<(), RegistryError> {
        let (mut body, ranged) =
            self.client
                .open_blob(&self.reference, &self.expected.digest, self.count)?;
        if !ranged && self.count > 0 {
            let skipped = io::copy(&mut (&mut body).take(self.count), &mut io::sink())
                .map_err(|e| blob_error(&self.reference, &self.expected.digest, e.to_string()))?;
            if skipped != self.count {
                return Err(blob_error(
                    &self.reference,
                    &self.expected.digest,
                    "the connection broke again while resuming".to_owned(),
                ));
            }
        }
        self.inner = body;
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.state {
            State::Verified => return Ok(0),
            State::Failed => {
                return Err(self.fail(io::ErrorKind::Other, "an earlier read failed"));
            }
            State::Reading => {}
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = match self.inner.read(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if self.resumes_left > 0 && self.count < self.expected.size => {
                    self.resumes_left -= 1;
                    if let Err(re) = self.resume() {
                        return Err(self.fail(e.kind(), format!("{e}; resuming failed: {re}")));
                    }
                    continue;
                }
                Err(e) => return Err(self.fail(e.kind(), e)),
            };
            if n == 0 {
                let actual_digest = std::mem::take(&mut self.hasher).finish();
                if actual_digest == self.expected.digest && self.count == self.expected.size {
                    self.state = State::Verified;
                    return Ok(0);
                }
                let m = Mismatch {
                    expected: self.expected.clone(),
                    actual_digest,
                    actual_size: self.count,
                };
                return Err(self.fail(io::ErrorKind::InvalidData, m));
            }
            self.count += n as u64;
            if self.count > self.expected.size {
                let limit = self.expected.size;
                return Err(self.fail(
                    io::ErrorKind::InvalidData,
                    format!("more than the {limit} bytes its descriptor declares"),
                ));
            }
            self.hasher.update(&buf[..n]);
            return Ok(n);
        }
    }
}
