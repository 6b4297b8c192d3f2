//! A gzip layer inflated member after member (RFC 1952), as `MultiGzDecoder` reads
//! it, with each member's CRC-32 checked off the inflating thread.
//!
//! Inflating is the slowest step of reading a gzip layer and has one thread; the
//! CRC-32 of the decompressed bytes was 3 % of that thread's time. [`Gunzip`]
//! inflates and checks each trailer's length, and reports where each member ended
//! with the CRC its trailer gives ([`MemberEnd`]); whichever thread hashes the
//! decompressed stream for the diff_id checks the CRCs too ([`CrcCheck`]). A member
//! whose CRC does not match is an error, as for a runtime unpacking the layer (Go's
//! gzip reader), though the diff_id alone would accept correct bytes under a wrong
//! checksum. A truncated member, a bad header, and bytes after the last member that
//! are not another member are errors, as before.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use flate2::bufread::DeflateDecoder;

/// Header flags (RFC 1952, 2.3.1).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0b1110_0000;

/// Where a member's data ends in the decompressed stream, and the CRC-32 its trailer
/// gives for that data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MemberEnd {
    pub end: u64,
    pub crc: u32,
}

/// The member ends [`Gunzip`] has read, until the caller takes them.
pub(super) type MemberEnds = Rc<RefCell<Vec<MemberEnd>>>;

/// The decompressed bytes of every member of a gzip stream.
pub(super) struct Gunzip<R: BufRead> {
    deflate: DeflateDecoder<R>,
    ends: MemberEnds,
    /// Bytes decompressed so far, all members.
    total: u64,
    /// Inside a member's deflate data (its header read, its trailer not yet).
    in_member: bool,
    /// Members started so far.
    members: u64,
    /// Bytes the current member has decompressed to.
    member_len: u64,
}

impl<R: BufRead> Gunzip<R> {
    /// Inflates `inner`, reporting each member's end into `ends`.
    pub(super) fn new(inner: R, ends: MemberEnds) -> Self {
        Self {
            deflate: DeflateDecoder::new(inner),
            ends,
            total: 0,
            in_member: false,
            members: 0,
            member_len: 0,
        }
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt gzip stream: {what}"),
    )
}

/// `read_exact`, with the end of the stream named as a truncated `what`.
fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> io::Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            invalid(&format!("it ends inside a member's {what}"))
        } else {
            e
        }
    })
}

/// Skips the rest of a NUL-terminated header field.
fn skip_terminated(r: &mut impl BufRead, what: &str) -> io::Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(invalid(&format!("it ends inside a member's {what}")));
        }
        if let Some(i) = memchr::memchr(0, buf) {
            r.consume(i + 1);
            return Ok(());
        }
        let n = buf.len();
        r.consume(n);
    }
}

/// Reads one member header.
fn header(r: &mut impl BufRead) -> io::Result<()> {
    let mut fixed = [0u8; 10];
    read_exact(r, &mut fixed, "header")?;
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(invalid("a member does not start with the gzip magic bytes"));
    }
    if fixed[2] != 8 {
        return Err(invalid(&format!("unknown compression method {}", fixed[2])));
    }
    let flags = fixed[3];
    if flags & FRESERVED != 0 {
        return Err(invalid("reserved header flags are set"));
    }
    if flags & FEXTRA != 0 {
        let mut len = [0u8; 2];
        read_exact(r, &mut len, "extra field")?;
        let len = u64::from(u16::from_le_bytes(len));
        let skipped = io::copy(&mut r.take(len), &mut io::sink())?;
        if skipped != len {
            return Err(invalid("it ends inside a member's extra field"));
        }
    }
    if flags & FNAME != 0 {
        skip_terminated(r, "file name")?;
    }
    if flags & FCOMMENT != 0 {
        skip_terminated(r, "comment")?;
    }
    if flags & FHCRC != 0 {
        let mut crc = [0u8; 2];
        read_exact(r, &mut crc, "header checksum")?;
    }
    Ok(())
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_member {
                let input = self.deflate.get_mut();
                // One member at least; after it, only more members or the end.
                if self.members > 0 && input.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                header(input)?;
                self.deflate.reset_data();
                self.in_member = true;
                self.members += 1;
                self.member_len = 0;
            }
            // zlib's own errors are `InvalidInput` ("corrupt deflate stream") and
            // `UnexpectedEof` (input ended inside the data); the reader's pass as
            // they are (a blob longer than its descriptor is `InvalidData`).
            let n = self.deflate.read(buf).map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => {
                    invalid("it ends inside a member's compressed data")
                }
                io::ErrorKind::InvalidInput => invalid(&e.to_string()),
                _ => e,
            })?;
            if n > 0 {
                self.member_len += n as u64;
                self.total += n as u64;
                return Ok(n);
            }
            // The deflate data ended (or the input did, which the trailer shows).
            let mut trailer = [0u8; 8];
            read_exact(self.deflate.get_mut(), &mut trailer, "trailer")?;
            let len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
            // ISIZE is the length modulo 2^32.
            if u64::from(len) != self.member_len & 0xffff_ffff {
                return Err(invalid(&format!(
                    "a member decompresses to {} bytes, its trailer says {len} (mod 2^32)",
                    self.member_len
                )));
            }
            self.ends.borrow_mut().push(MemberEnd {
                end: self.total,
                crc: u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]),
            });
            self.in_member = false;
        }
    }
}

/// Checks each member's CRC-32, fed the decompressed stream in order and the member
/// ends as [`Gunzip`] reports them (at the latest with the bytes that follow them).
pub(super) struct CrcCheck {
    crc: flate2::Crc,
    /// Offset in the stream of the next byte fed.
    at: u64,
    pending: VecDeque<MemberEnd>,
    members: u64,
}

impl CrcCheck {
    pub(super) fn new() -> Self {
        Self {
            crc: flate2::Crc::new(),
            at: 0,
            pending: VecDeque::new(),
            members: 0,
        }
    }

    /// Feeds the member ends reported so far, then the next bytes of the stream.
    pub(super) fn feed(&mut self, ends: &[MemberEnd], data: &[u8]) -> io::Result<()> {
        self.pending.extend(ends);
        let mut start = 0;
        while let Some(&MemberEnd { end, crc }) = self.pending.front() {
            if end > self.at + data.len() as u64 {
                break;
            }
            // Never before what was fed already (ends come in order).
            let k = usize::try_from(end.saturating_sub(self.at))
                .unwrap_or(0)
                .max(start);
            self.crc.update(&data[start..k]);
            self.members += 1;
            if self.crc.sum() != crc {
                return Err(invalid(&format!(
                    "member {} does not match the CRC-32 in its trailer (the layer is corrupt)",
                    self.members
                )));
            }
            self.crc.reset();
            start = k;
            self.pending.pop_front();
        }
        self.crc.update(&data[start..]);
        self.at += data.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use std::io::Write as _;

    fn gz(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        let mut e = builder.write(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Inflates as a layer reader does: in pieces, each checked with the member
    /// ends reported by then.
    fn gunzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let ends = MemberEnds::default();
        let mut g = Gunzip::new(io::BufReader::with_capacity(7, bytes), Rc::clone(&ends));
        let mut check = CrcCheck::new();
        let mut out = Vec::new();
        let mut piece = [0u8; 1000];
        loop {
            let n = g.read(&mut piece)?;
            let reported = std::mem::take(&mut *ends.borrow_mut());
            check.feed(&reported, &piece[..n])?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&piece[..n]);
        }
    }

    fn theirs(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        flate2::bufread::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    /// Every header field, several members, an empty member: the bytes
    /// `MultiGzDecoder` gives.
    #[test]
    fn members_and_header_fields_read_as_multi_gz_decoder_reads_them() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut stream = gz(&big, flate2::GzBuilder::new());
        stream.extend(gz(
            b"second",
            flate2::GzBuilder::new()
                .filename("layer.tar")
                .comment("made by a test")
                .extra(vec![1, 2, 3, 4]),
        ));
        stream.extend(gz(b"", flate2::GzBuilder::new()));
        let ours = gunzip(&stream).unwrap();
        assert_eq!(ours, theirs(&stream).unwrap());
        assert_eq!(ours.len(), big.len() + 6);

        // A header checksum (FHCRC) is skipped.
        let mut with_hcrc = gz(b"hcrc", flate2::GzBuilder::new());
        with_hcrc[3] |= FHCRC;
        with_hcrc.splice(10..10, [0xab, 0xcd]);
        assert_eq!(gunzip(&with_hcrc).unwrap(), b"hcrc");
    }

    /// What `MultiGzDecoder` refuses is refused: no members, garbage after the last
    /// member, a truncated member, a bad magic, method or flags; and a wrong length
    /// in the trailer.
    #[test]
    fn broken_streams_are_errors() {
        let good = gz(
            b"some layer bytes, some layer bytes",
            flate2::GzBuilder::new(),
        );
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("garbage after", [&good[..], b"trailing"].concat()),
            ("truncated trailer", good[..good.len() - 3].to_vec()),
            ("truncated data", good[..good.len() / 2].to_vec()),
            ("truncated header", good[..5].to_vec()),
        ];
        let mut bad_magic = good.clone();
        bad_magic[0] = 0x1e;
        cases.push(("magic", bad_magic));
        let mut bad_method = good.clone();
        bad_method[2] = 7;
        cases.push(("method", bad_method));
        let mut reserved = good.clone();
        reserved[3] |= 0x80;
        cases.push(("reserved flags", reserved));
        let mut bad_len = good.clone();
        let n = bad_len.len();
        bad_len[n - 4] ^= 1;
        cases.push(("length", bad_len));
        for (what, bytes) in cases {
            let e = gunzip(&bytes).expect_err(what);
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{what}: {e}");
            assert!(
                e.to_string().starts_with("corrupt gzip stream"),
                "{what}: {e}"
            );
            assert!(theirs(&bytes).is_err(), "{what}: MultiGzDecoder accepts it");
        }
    }

    /// A wrong CRC-32 is an error even when the bytes are right, as for a runtime
    /// unpacking the layer; so is a wrong CRC of a later member.
    #[test]
    fn a_wrong_crc_is_an_error() {
        let one = gz(b"content", flate2::GzBuilder::new());
        let mut bytes = one.clone();
        let n = bytes.len();
        bytes[n - 8] ^= 1;
        let e = gunzip(&bytes).unwrap_err();
        assert!(
            e.to_string().contains("member 1 does not match the CRC-32"),
            "{e}"
        );
        let mut two = [&one[..], &one[..]].concat();
        let n = two.len();
        two[n - 5] ^= 0x80;
        let e = gunzip(&two).unwrap_err();
        assert!(e.to_string().contains("member 2 does not match"), "{e}");
        assert!(theirs(&two).is_err());
    }
}
