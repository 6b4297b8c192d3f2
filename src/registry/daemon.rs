//! `docker-daemon:NAME[:TAG]`: the image exported by a local Docker engine (or
//! podman's Docker-compatible service) with `GET /images/{name}/get`, which answers
//! with a docker-archive tar. The tar is streamed straight from the socket to the
//! caller (the docker-archive reader), never copied to disk or held in memory.
//!
//! `$DOCKER_HOST` picks the engine: `unix:///path/to.sock` (default
//! `unix:///var/run/docker.sock`) or `tcp://host:port` (plain HTTP; a TLS-protected
//! engine, `DOCKER_TLS_VERIFY`, is not supported).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::{DaemonReference, RegistryError};

/// Where the engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    Unix(PathBuf),
    Tcp(String),
}

impl DockerHost {
    /// `$DOCKER_HOST`, else the default socket.
    pub fn from_env() -> Result<Self, RegistryError> {
        match std::env::var("DOCKER_HOST") {
            Ok(v) if !v.is_empty() => Self::parse(&v),
            _ => Ok(Self::Unix(PathBuf::from("/var/run/docker.sock"))),
        }
    }

    /// Parses `unix:///path` or `tcp://host:port`.
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        if let Some(p) = s.strip_prefix("unix://") {
            if p.is_empty() {
                return Err(bad_host(s, "the socket path is empty"));
            }
            return Ok(Self::Unix(PathBuf::from(p)));
        }
        if let Some(h) = s
            .strip_prefix("tcp://")
            .or_else(|| s.strip_prefix("http://"))
        {
            let h = h.trim_end_matches('/');
            if h.is_empty() || h.contains('/') {
                return Err(bad_host(s, "expected `tcp://HOST:PORT`"));
            }
            return Ok(Self::Tcp(h.to_owned()));
        }
        Err(bad_host(
            s,
            "only `unix://` and `tcp://` engine addresses are supported",
        ))
    }

    fn endpoint(&self) -> String {
        match self {
            Self::Unix(p) => format!("unix://{}", p.display()),
            Self::Tcp(h) => format!("tcp://{h}"),
        }
    }
}

fn bad_host(s: &str, why: &str) -> RegistryError {
    RegistryError::Daemon {
        endpoint: s.to_owned(),
        detail: format!("`DOCKER_HOST` is not usable: {why}"),
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// The docker-archive tar of `reference`, as the engine streams it. Errors the
/// engine reports before the first byte (no such image) are returned here; a
/// stream cut short fails the read with `UnexpectedEof`.
pub fn export(
    reference: &DaemonReference,
    host: &DockerHost,
) -> Result<DaemonExport, RegistryError> {
    let endpoint = host.endpoint();
    let derr = |detail: String| RegistryError::Daemon {
        endpoint: endpoint.clone(),
        detail,
    };
    let mut stream: Box<dyn Stream> = match host {
        DockerHost::Unix(p) => {
            let s = UnixStream::connect(p).map_err(|e| derr(format!("cannot connect: {e}")))?;
            s.set_read_timeout(Some(Duration::from_secs(300))).ok();
            Box::new(s)
        }
        DockerHost::Tcp(h) => {
            let s = TcpStream::connect(h).map_err(|e| derr(format!("cannot connect: {e}")))?;
            s.set_read_timeout(Some(Duration::from_secs(300))).ok();
            Box::new(s)
        }
    };
    let path = format!("/images/{}/get", encode_name(&reference.name));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: buildproof/{}\r\nAccept: application/x-tar\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .and_then(|()| stream.flush())
    .map_err(|e| derr(format!("sending the request failed: {e}")))?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let head = read_head(&mut reader).map_err(|e| derr(format!("bad answer: {e}")))?;
    let body: Box<dyn Read + Send> = if head.chunked {
        Box::new(Chunked::new(reader))
    } else if let Some(n) = head.length {
        Box::new(Exact {
            inner: reader.take(n),
            left: n,
        })
    } else {
        Box::new(reader)
    };
    if head.status != 200 {
        let mut text = Vec::new();
        let _ = body.take(64 * 1024).read_to_end(&mut text);
        let message = super::error::server_message(&text);
        let detail = if head.status == 404 {
            format!("no image `{}`: {message}", reference.name)
        } else {
            format!(
                "exporting `{}` answered {}: {message}",
                reference.name, head.status
            )
        };
        return Err(derr(detail));
    }
    Ok(DaemonExport {
        inner: body,
        endpoint,
    })
}

/// The engine's tar stream; read errors name the engine.
pub struct DaemonExport {
    inner: Box<dyn Read + Send>,
    endpoint: String,
}

impl std::fmt::Debug for DaemonExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonExport")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Read for DaemonExport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("docker daemon at `{}`: {e}", self.endpoint),
            )
        })
    }
}

fn encode_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Head {
    status: u16,
    chunked: bool,
    length: Option<u64>,
}

fn read_head(r: &mut impl BufRead) -> io::Result<Head> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_owned());
    let status_line = read_line(r)?;
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not an HTTP/1 answer"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("no status code"))?;
    let mut chunked = false;
    let mut length = None;
    for _ in 0..200 {
        let line = read_line(r)?;
        if line.is_empty() {
            return Ok(Head {
                status,
                chunked,
                length,
            });
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim();
            match k.trim().to_ascii_lowercase().as_str() {
                "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
                "content-length" => {
                    length = Some(v.parse().map_err(|_| bad("bad Content-Length"))?);
                }
                _ => {}
            }
        }
    }
    Err(bad("too many header lines"))
}

/// One CRLF-terminated line, at most 8 KiB.
fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    let n = r.take(8 * 1024).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection closed mid-header",
        ));
    }
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a header line is too long",
        ));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a header is not UTF-8"))
}

/// A body of `Content-Length` bytes: ending early is an error, not an EOF.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the stream ended {} bytes early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// `Transfer-Encoding: chunked`.
struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            left: 0,
            done: false,
        }
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let line = read_line(&mut self.inner)?;
            let size = line.split(';').next().unwrap_or("").trim();
            self.left = u64::from_str_radix(size, 16).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "a chunk size is not hex")
            })?;
            if self.left == 0 {
                // Trailers, then the empty line.
                while !read_line(&mut self.inner)?.is_empty() {}
                self.done = true;
                return Ok(0);
            }
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream ended mid-chunk",
            ));
        }
        self.left -= n as u64;
        if self.left == 0 {
            let crlf = read_line(&mut self.inner)?;
            if !crlf.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a chunk is longer than its size",
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_decoding() {
        let wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: y\r\n\r\n";
        let mut out = String::new();
        Chunked::new(&wire[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
        let cut = b"5\r\nhel";
        let e = Chunked::new(&cut[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn hosts() {
        assert_eq!(
            DockerHost::parse("unix:///run/podman/podman.sock").unwrap(),
            DockerHost::Unix("/run/podman/podman.sock".into())
        );
        assert_eq!(
            DockerHost::parse("tcp://127.0.0.1:2375").unwrap(),
            DockerHost::Tcp("127.0.0.1:2375".into())
        );
        assert!(DockerHost::parse("ssh://x").is_err());
        assert_eq!(encode_name("a b:1"), "a%20b:1");
    }
}
