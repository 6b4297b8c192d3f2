//! A streaming tar reader with every allocation bounded: what layers and image
//! archives are read with.
//!
//! Why not the `tar` crate: it reads PAX extended headers and GNU long names whole,
//! however large they say they are. A layer of a few hundred kilobytes of zstd can
//! inflate to a 10 GiB "long name", and the process dies of memory. Here those
//! records are refused beyond [`MAX_SPECIAL`] (1 MiB, the bound Go's `archive/tar`,
//! and so Docker, containerd and buildah, apply too), and a GNU sparse map beyond
//! [`MAX_SPARSE_BLOCKS`] extension blocks.
//!
//! Formats read: v7, ustar (with its name prefix), GNU (long names `L`/`K`, old sparse
//! files `S`, incremental dump directories `D`, base-256 numbers) and PAX (`path`, `linkpath`, `size`, `uid`, `gid`, and
//! GNU's sparse formats 0.0, 0.1 and 1.0; global headers are skipped, as Docker and
//! containerd skip them). Of consecutive PAX extended headers only the last applies to
//! the entry, as in Go's `archive/tar` (what Docker and containerd read layers with):
//! where this reader and Go's could disagree on what an entry is, Go's test archives
//! (`src/archive/tar/testdata`, recreated in `testdata/tar/`) decide. Header checksums
//! are verified. Two zero blocks, one followed by the end of the stream, or the end of
//! the stream at a header boundary end the archive (extended headers with no entry after them apply to nothing, as in Go
//! and GNU tar); the end of the stream anywhere else is an error naming the offset.
//!
//! Nothing is extracted or resolved here: an entry is its raw name and metadata, and
//! its data is read through [`TarReader::read_data`] (sparse files with their holes
//! filled with zeros, as extraction would write them).

use std::io::{self, BufRead, Read, Seek, SeekFrom};

const BLOCK: u64 = 512;
/// Largest PAX extended header or GNU long name accepted.
pub const MAX_SPECIAL: u64 = 1 << 20;
/// Most GNU sparse extension blocks accepted for one file (21 segments each).
pub const MAX_SPARSE_BLOCKS: usize = 2048;
/// Most segments accepted in a PAX sparse map: as many as [`MAX_SPARSE_BLOCKS`] hold.
const MAX_SPARSE_SEGMENTS: usize = MAX_SPARSE_BLOCKS * 21;

/// What an entry is, from its type flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// `0`, NUL, `7` (contiguous) and `S` (GNU sparse). A NUL type flag on a name
    /// ending with `/` is a directory, as Go reads old archives.
    File,
    /// `1`: another name for a file earlier in the archive (or, in a layer, a lower one).
    HardLink,
    /// `2`.
    Symlink,
    /// `5`, and GNU's `D` (an incremental dump's directory: its data, the listing of
    /// the directory's names, is skipped).
    Dir,
    /// Devices, FIFOs and anything unknown: the type flag.
    Other(u8),
}

/// One entry's header, extensions applied.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name as written (PAX `path`, GNU long name, or ustar prefix + name).
    pub path: Vec<u8>,
    /// Link target (PAX `linkpath`, GNU long link, or the header field).
    pub link: Vec<u8>,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// The file's size (for a sparse file, with its holes); 0 for the types that have
    /// no data (links, devices, directories, FIFOs), whatever their header says.
    pub size: u64,
    /// Offset in the stream of the entry's first data byte.
    pub data_offset: u64,
    /// Whether the data is stored contiguously (`data_offset .. + size`): false for
    /// sparse files.
    pub contiguous: bool,
}

/// A source of archive bytes that may skip faster than by reading.
pub trait Source: Read {
    /// The bytes the source already holds in memory, if it is buffered (`None`: it
    /// is not; empty: the end of the stream). Entry data is then shown where it
    /// lies instead of being copied out ([`TarReader::with_data`]).
    fn buffered(&mut self) -> io::Result<Option<&[u8]>> {
        Ok(None)
    }

    /// Marks `n` bytes of [`buffered`](Self::buffered) as read.
    fn consume(&mut self, _n: usize) {}

    fn skip(&mut self, n: u64) -> io::Result<()> {
        let copied = io::copy(&mut self.take(n), &mut io::sink())?;
        if copied < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// A buffered reader, skipped without copying, whose entry data
/// [`TarReader::with_data`] shows where it lies (a layer stream handed over in
/// buffers by the inflating thread).
pub struct Buffered<R>(pub R);

impl<R: BufRead> Read for Buffered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: BufRead> Buffered<R> {
    fn fill(&mut self) -> io::Result<&[u8]> {
        loop {
            match self.0.fill_buf() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
                // Asked again below: the borrow of a returned slice cannot cross
                // the loop, and a filled buffer is handed out at once.
                Ok(_) => break,
            }
        }
        self.0.fill_buf()
    }
}

impl<R: BufRead> Source for Buffered<R> {
    fn skip(&mut self, mut n: u64) -> io::Result<()> {
        while n > 0 {
            let avail = self.fill()?.len();
            if avail == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let k = avail.min(usize::try_from(n).unwrap_or(usize::MAX));
            self.0.consume(k);
            n -= k as u64;
        }
        Ok(())
    }

    fn buffered(&mut self) -> io::Result<Option<&[u8]>> {
        self.fill().map(Some)
    }

    fn consume(&mut self, n: usize) {
        self.0.consume(n);
    }
}

/// Any reader, skipped by reading (a decompressing layer stream).
pub struct Stream<R>(pub R);

impl<R: Read> Read for Stream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Source for Stream<R> {}

/// A seekable file, skipped by seeking (an image archive: its layers are not read
/// while indexing it).
pub struct Seekable<F> {
    file: F,
    len: u64,
}

impl<F: Seek> Seekable<F> {
    /// Reads from the current position of `file`.
    pub fn new(mut file: F) -> io::Result<Self> {
        let here = file.stream_position()?;
        let len = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(here))?;
        Ok(Self { file, len })
    }
}

impl<F: Read> Read for Seekable<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl<F: Read + Seek> Source for Seekable<F> {
    /// A skip past the end is a truncated archive, as when reading.
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let n = i64::try_from(n).map_err(|_| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        let to = self.file.seek(SeekFrom::Current(n))?;
        if to > self.len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// Where the current entry's data is.
#[derive(Debug, Default)]
struct Data {
    /// Stored bytes of the entry not yet consumed, and the padding after them.
    stored_left: u64,
    padding: u64,
    /// Sparse files: the segments (logical offset, length) still to come, in order,
    /// the logical position, and the logical size.
    segments: std::collections::VecDeque<(u64, u64)>,
    logical_pos: u64,
    logical_size: u64,
    sparse: bool,
}

/// Reads a tar stream entry by entry.
pub struct TarReader<S> {
    src: S,
    /// Offset in the stream of the next byte `src` yields.
    pos: u64,
    data: Data,
    done: bool,
}

impl<S: Source> TarReader<S> {
    pub fn new(src: S) -> Self {
        Self {
            src,
            pos: 0,
            data: Data::default(),
            done: false,
        }
    }

    /// The next entry, or `None` at the end of the archive. The rest of the previous
    /// entry's data is skipped.
    pub fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        if self.done {
            return Ok(None);
        }
        self.skip_rest()?;
        let mut ext = Extensions::default();
        loop {
            let at = self.pos;
            // Extended headers with no entry after them, then the end: an archive with
            // no entries, as Go's reader and GNU tar read it.
            let Some(block) = self.read_header()? else {
                self.done = true;
                return Ok(None);
            };
            let header = Header(&block);
            let flag = header.flag();
            let size = header.size().map_err(|e| bad(at, e))?;
            match flag {
                b'x' | b'g' | b'L' | b'K' => {
                    let stored = u64::try_from(size).map_err(|_| bad(at, "a negative size"))?;
                    if stored > MAX_SPECIAL {
                        return Err(bad(
                            at,
                            &format!(
                                "a {} of {stored} bytes (more than {MAX_SPECIAL} accepted)",
                                special_name(flag)
                            ),
                        ));
                    }
                    let body = self.read_special(stored)?;
                    match flag {
                        // Only the last extended header before an entry applies: each
                        // replaces the records of the one before (POSIX; Go's reader,
                        // whose pax-multi-hdrs.tar reads as `bar`, and GNU and BSD tar).
                        b'x' => ext.pax = Pax::parse(&body, at).map_err(|e| bad(at, e))?,
                        b'L' => ext.long_name = Some(trim_nul(body)),
                        b'K' => ext.long_link = Some(trim_nul(body)),
                        // Global headers: skipped, as Docker and containerd skip them. Go's
                        // reader parses the records (a malformed one is an error) and
                        // returns the header as an entry of its own, so whatever extended
                        // headers came before it apply to nothing.
                        _ => {
                            Pax::parse(&body, at).map_err(|e| bad(at, e))?;
                            ext = Extensions::default();
                        }
                    }
                    continue;
                }
                _ => {}
            }
            return self.entry(at, &header, size, ext).map(Some);
        }
    }

    /// Shows the current entry's next bytes to `each`: where they lie when the
    /// source is buffered and the entry is stored in one piece (no copy), else read
    /// into `scratch`. Returns how many, 0 at the entry's end.
    pub fn with_data(
        &mut self,
        scratch: &mut [u8],
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<usize> {
        let left = self.data.stored_left;
        if !self.data.sparse && left > 0 {
            if let Some(avail) = self.src.buffered()? {
                if avail.is_empty() {
                    return Err(truncated(self.pos, "entry data"));
                }
                let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                each(&avail[..n]);
                self.src.consume(n);
                self.pos += n as u64;
                self.data.stored_left -= n as u64;
                return Ok(n);
            }
        }
        let n = self.read_data(scratch)?;
        if n > 0 {
            each(&scratch[..n]);
        }
        Ok(n)
    }

    /// Reads the current entry's data; 0 at its end.
    pub fn read_data(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.data.sparse {
            let want = usize::try_from(self.data.stored_left)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            return self.read_stored(&mut buf[..want]);
        }
        // Sparse: zeros up to the next segment, then its bytes; zeros to the end.
        let d = &mut self.data;
        // Segments already read, and empty ones (GNU tar ends its map with one at the
        // file's size), are behind us.
        while d
            .segments
            .front()
            .is_some_and(|&(start, len)| d.logical_pos >= start + len)
        {
            d.segments.pop_front();
        }
        if d.logical_pos >= d.logical_size || buf.is_empty() {
            return Ok(0);
        }
        let (seg_start, seg_len) = d.segments.front().copied().unwrap_or((d.logical_size, 0));
        if d.logical_pos < seg_start {
            let n = usize::try_from(seg_start - d.logical_pos)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            buf[..n].fill(0);
            d.logical_pos += n as u64;
            return Ok(n);
        }
        let left_in_seg = seg_start + seg_len - d.logical_pos;
        let want = usize::try_from(left_in_seg)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.read_stored(&mut buf[..want])?;
        self.data.logical_pos += n as u64;
        Ok(n)
    }

    fn entry(&mut self, at: u64, header: &Header, size: i64, ext: Extensions) -> io::Result<Entry> {
        let flag = header.flag();
        let kind = match flag {
            b'0' | 0 | b'7' | b'S' => EntryKind::File,
            b'1' => EntryKind::HardLink,
            b'2' => EntryKind::Symlink,
            b'5' | b'D' => EntryKind::Dir,
            other => EntryKind::Other(other),
        };
        let num = |field: &[u8]| parse_number(field).map_err(|e| bad(at, e));
        // The permission bits (of a negative base-256 mode too, as Go keeps its bits).
        let mode = go_numeric(&header.0[100..108]).map_err(|e| bad(at, e))?;
        let mode = u32::try_from(mode & 0o7777).unwrap_or(0);
        let (mut uid, mut gid) = (num(&header.0[108..116])?, num(&header.0[116..124])?);
        let mut path = header.name();
        let mut link = field_bytes(&header.0[157..257]).to_vec();
        // Negative: refused below, unless the type has no data anyway (as in Go).
        let stored = u64::try_from(size).ok();
        // The PAX records, as Go's mergePAX applies them: each value checked as it is
        // applied (the header's offset named), an empty one leaving the header's field.
        let mut pax = ext.pax;
        let pax_number = |key: &str, value: &[u8]| {
            go_int(value)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| {
                    bad(
                        pax.at,
                        &format!(
                            "a PAX `{key}` that is not a number ≥ 0 (`{}`)",
                            shown(value)
                        ),
                    )
                })
        };
        if let Some(v) = &pax.path {
            path.clone_from(v);
        }
        if let Some(v) = &pax.linkpath {
            link.clone_from(v);
        }
        // GNU long names over PAX records, whichever came first; an empty one leaves the
        // name as it was (Go's reader: `if gnuLongName != ""`, after mergePAX).
        if let Some(name) = ext.long_name.filter(|n| !n.is_empty()) {
            path = name;
        }
        if let Some(name) = ext.long_link.filter(|n| !n.is_empty()) {
            link = name;
        }
        // Old archives mark directories with a trailing slash on a NUL type flag: Go's
        // reader makes them directories (TypeRegA), so no data either.
        let old_dir = flag == 0 && path.ends_with(b"/");
        let kind = if old_dir { EntryKind::Dir } else { kind };
        if let Some(v) = &pax.uid {
            uid = pax_number("uid", v)?;
        }
        if let Some(v) = &pax.gid {
            gid = pax_number("gid", v)?;
        }
        // A negative size is refused below, unless the type has no data anyway (Go).
        let pax_size = match &pax.size {
            Some(v) => Some(go_int(v).ok_or_else(|| {
                bad(
                    pax.at,
                    &format!("a PAX `size` that is not a number (`{}`)", shown(v)),
                )
            })?),
            None => None,
        };
        for (key, value) in [
            ("atime", &pax.atime),
            ("mtime", &pax.mtime),
            ("ctime", &pax.ctime),
        ] {
            if let Some(v) = value
                && !valid_pax_time(v)
            {
                return Err(bad(
                    pax.at,
                    &format!("a PAX `{key}` that is not a time (`{}`)", shown(v)),
                ));
            }
        }
        // GNU's PAX sparse formats, as Go's readGNUSparsePAXHeaders reads them (not for
        // an old GNU sparse file, whose map is in its header): only then do the sparse
        // name and size apply.
        let header_only = matches!(flag, b'1'..=b'6') || old_dir;
        let pax_sparse = match pax.sparse.format() {
            Some(_) if flag == b'S' => None,
            Some(_) if header_only => {
                return Err(bad(
                    pax.at,
                    "a GNU sparse map for an entry that has no data",
                ));
            }
            Some(map_in_data) => {
                if let Some(name) = pax.sparse.name.take() {
                    path = name;
                }
                let size = match pax.sparse.size.as_ref().or(pax.sparse.realsize.as_ref()) {
                    Some(v) => Some(go_int(v).and_then(|n| u64::try_from(n).ok()).ok_or_else(
                        || bad(pax.at, &format!("a bad GNU sparse size (`{}`)", shown(v))),
                    )?),
                    None => None,
                };
                Some((size, map_in_data))
            }
            None => None,
        };
        let mut entry = Entry {
            path,
            link,
            kind,
            mode,
            uid,
            gid,
            size: 0,
            data_offset: 0,
            contiguous: true,
        };
        // Links, devices, directories and FIFOs have no data, whatever their size says:
        // Go's reader reads the next header right after theirs (isHeaderOnlyType; its
        // hdr-only.tar), and so Docker and containerd create what follows.
        let stored = if header_only {
            0
        } else if let Some(size) = pax_size {
            u64::try_from(size)
                .map_err(|_| bad(pax.at, &format!("a PAX `size` that is negative ({size})")))?
        } else {
            stored.ok_or_else(|| bad(at, "a negative size"))?
        };
        self.data = Data {
            stored_left: stored,
            padding: (BLOCK - stored % BLOCK) % BLOCK,
            ..Data::default()
        };
        let sparse = if flag == b'S' {
            // Go's readOldGNUSparseMap: only in a GNU header (STAR's `S` differs).
            if &header.0[257..265] != b"ustar  \0" {
                return Err(bad(
                    at,
                    "a GNU sparse file (`S`) in a header that is not GNU's",
                ));
            }
            Some((self.sparse_map(at, header)?, num(&header.0[483..495])?))
        } else if let Some((size, map_in_data)) = pax_sparse {
            let numbers = if map_in_data {
                self.sparse_map_in_data(at)?
            } else {
                pax.sparse.map_numbers().map_err(|e| bad(pax.at, e))?
            };
            if numbers.len() % 2 != 0 || numbers.len() / 2 > MAX_SPARSE_SEGMENTS {
                return Err(bad(at, "a bad sparse map"));
            }
            let pairs = numbers.chunks(2).map(|p| (p[0], p[1]));
            // Without a sparse size, the size is the entry's, map blocks included, as in
            // Go (only a sparse size record replaces it).
            Some((pairs.collect(), size.unwrap_or(stored)))
        } else {
            None
        };
        if let Some((segments, logical_size)) = sparse {
            let stored = self.data.stored_left;
            check_sparse_map(&segments, stored, logical_size).map_err(|e| bad(at, e))?;
            self.data.segments = segments.into();
            self.data.logical_size = logical_size;
            self.data.sparse = true;
            entry.size = logical_size;
            entry.contiguous = false;
        } else {
            entry.size = stored;
        }
        entry.data_offset = self.pos;
        Ok(entry)
    }

    /// The numbers of a PAX 1.0 sparse map: decimal lines at the start of the data (a
    /// count, then offset and length per segment), padded to whole blocks, which are
    /// taken off the entry's stored bytes.
    fn sparse_map_in_data(&mut self, at: u64) -> io::Result<Vec<u64>> {
        let mut numbers = Vec::new();
        let mut count: Option<usize> = None;
        let mut current: Option<u64> = None;
        let mut block = [0u8; BLOCK as usize];
        loop {
            if self.data.stored_left < BLOCK || numbers.len() / 2 > MAX_SPARSE_SEGMENTS {
                return Err(bad(at, "a bad sparse map"));
            }
            self.read_exact_at(&mut block)?;
            self.data.stored_left -= BLOCK;
            for &b in &block {
                if b == b'\n' {
                    let n = current.take().ok_or_else(|| bad(at, "a bad sparse map"))?;
                    match count {
                        None => count = Some(usize::try_from(n).unwrap_or(usize::MAX)),
                        Some(_) => numbers.push(n),
                    }
                    if count.is_some_and(|c| numbers.len() == c.saturating_mul(2)) {
                        // The rest of this block is padding.
                        return Ok(numbers);
                    }
                } else if b.is_ascii_digit() {
                    let n = current.unwrap_or(0);
                    current = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(b - b'0')));
                    if current.is_none() {
                        return Err(bad(at, "a bad sparse map"));
                    }
                } else {
                    return Err(bad(at, "a bad sparse map"));
                }
            }
        }
    }

    /// The segments of a GNU sparse file: 4 in the header, 21 per extension block.
    fn sparse_map(&mut self, at: u64, header: &Header) -> io::Result<Vec<(u64, u64)>> {
        let mut segments = Vec::new();
        let mut push = |table: &[u8], count: usize| -> io::Result<()> {
            for i in 0..count {
                let e = &table[i * 24..i * 24 + 24];
                // A table ends at an entry whose offset starts with NUL, as in GNU, BSD
                // and Go's readers (the extension blocks are still read).
                if e[0] == 0 {
                    break;
                }
                segments.push((
                    parse_number(&e[..12]).map_err(|m| bad(at, m))?,
                    parse_number(&e[12..]).map_err(|m| bad(at, m))?,
                ));
            }
            Ok(())
        };
        push(&header.0[386..482], 4)?;
        let mut extended = header.0[482] != 0;
        let mut blocks = 0;
        while extended {
            blocks += 1;
            if blocks > MAX_SPARSE_BLOCKS {
                return Err(bad(
                    at,
                    &format!("a sparse map of more than {MAX_SPARSE_BLOCKS} blocks"),
                ));
            }
            let mut block = [0u8; BLOCK as usize];
            self.read_exact_at(&mut block)?;
            push(&block[..504], 21)?;
            extended = block[504] != 0;
        }
        Ok(segments)
    }

    /// Skips what is left of the current entry's data and its padding.
    fn skip_rest(&mut self) -> io::Result<()> {
        let n = self.data.stored_left + self.data.padding;
        if n > 0 {
            let at = self.pos;
            self.src
                .skip(n)
                .map_err(|e| truncated_or(e, at + n, "entry data"))?;
            self.pos += n;
        }
        self.data = Data::default();
        Ok(())
    }

    fn read_stored(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = loop {
            match self.src.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if n == 0 {
            return Err(truncated(self.pos, "entry data"));
        }
        self.pos += n as u64;
        self.data.stored_left -= n as u64;
        Ok(n)
    }

    /// The data of an extended header, then its padding.
    fn read_special(&mut self, len: u64) -> io::Result<Vec<u8>> {
        let mut body = vec![0u8; usize::try_from(len).unwrap_or(0)];
        self.read_exact_at(&mut body)?;
        let padding = (BLOCK - len % BLOCK) % BLOCK;
        let at = self.pos;
        self.src
            .skip(padding)
            .map_err(|e| truncated_or(e, at, "extended header"))?;
        self.pos += padding;
        Ok(body)
    }

    /// A header block, or `None` at the end of the archive.
    fn read_header(&mut self) -> io::Result<Option<[u8; BLOCK as usize]>> {
        let at = self.pos;
        let Some(block) = self.read_block()? else {
            return Ok(None);
        };
        if block.iter().all(|&b| b == 0) {
            // The end marker is two zero blocks; after one, as in Go's reader, only the
            // end of the stream or a second zero block ends the archive. Anything else
            // is refused, not skipped: it would be entries no reader agrees on.
            let second = self.pos;
            return match self.read_block()? {
                Some(next) if next.iter().any(|&b| b != 0) => Err(bad(
                    second,
                    "a block after a single zero block (the end-of-archive marker is two)",
                )),
                _ => Ok(None),
            };
        }
        Header(&block).verify_checksum().map_err(|e| bad(at, e))?;
        Header(&block).check_numbers().map_err(|e| bad(at, e))?;
        Ok(Some(block))
    }

    /// The next 512 bytes, or `None` at the end of the stream; the end of the stream
    /// within them is a truncated archive.
    fn read_block(&mut self) -> io::Result<Option<[u8; BLOCK as usize]>> {
        let at = self.pos;
        let mut block = [0u8; BLOCK as usize];
        let mut filled = 0;
        while filled < block.len() {
            match self.src.read(&mut block[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => return Err(truncated(at, "header")),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pos += BLOCK;
        Ok(Some(block))
    }

    fn read_exact_at(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let at = self.pos;
        self.src
            .read_exact(buf)
            .map_err(|e| truncated_or(e, at, "extended header"))?;
        self.pos += buf.len() as u64;
        Ok(())
    }
}

/// What PAX and GNU extension records say of the next entry.
#[derive(Default)]
struct Extensions {
    /// The last PAX extended header: each replaces the one before it.
    pax: Pax,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
}

/// The records of one PAX extended header that say what an entry is, as Go's
/// `parsePAX` leaves them: a later record of a key replaces an earlier one, and an
/// empty value is as good as none (Go's `mergePAX` keeps the header's field then).
/// Values are checked when they are applied to the entry, as `mergePAX` does.
#[derive(Default)]
struct Pax {
    /// Offset of the extended header, named by the errors found applying it.
    at: u64,
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    size: Option<Vec<u8>>,
    uid: Option<Vec<u8>>,
    gid: Option<Vec<u8>>,
    /// Not used here, but Go refuses an entry whose times are not numbers.
    atime: Option<Vec<u8>>,
    mtime: Option<Vec<u8>>,
    ctime: Option<Vec<u8>>,
    sparse: PaxSparse,
}

/// GNU's PAX sparse formats: 0.0 lists `GNU.sparse.offset`/`numbytes` records, 0.1 a
/// `GNU.sparse.map`, both with `GNU.sparse.numblocks` and the size with holes in
/// `GNU.sparse.size`; 1.0 puts the map at the start of the data, the size in
/// `GNU.sparse.realsize`. All name the file in `GNU.sparse.name`. Raw values, empty
/// ones none, as [`Pax`].
#[derive(Default)]
struct PaxSparse {
    major: Option<Vec<u8>>,
    minor: Option<Vec<u8>>,
    name: Option<Vec<u8>>,
    size: Option<Vec<u8>>,
    realsize: Option<Vec<u8>>,
    numblocks: Option<Vec<u8>>,
    /// `GNU.sparse.map`, or the 0.0 records' values joined with commas (Go's parsePAX
    /// turns them into the map).
    map: Option<Vec<u8>>,
}

impl PaxSparse {
    /// Go's readGNUSparsePAXHeaders: the format the records say, if any (whether the
    /// map is in the data, for 1.0). An unknown version is a regular file.
    fn format(&self) -> Option<bool> {
        match (self.major.as_deref(), self.minor.as_deref()) {
            (Some(b"0"), Some(b"0" | b"1")) => Some(false),
            (Some(b"1"), Some(b"0")) => Some(true),
            (None, None) if self.map.is_some() => Some(false),
            _ => None,
        }
    }

    /// The numbers of a 0.x map: exactly `numblocks` pairs (Go's readGNUSparseMap0x1).
    fn map_numbers(&self) -> Result<Vec<u64>, &'static str> {
        const BAD: &str = "a bad GNU sparse map (GNU.sparse.numblocks, GNU.sparse.map)";
        let blocks = self.numblocks.as_deref().and_then(go_int).ok_or(BAD)?;
        let blocks = usize::try_from(blocks).map_err(|_| BAD)?;
        let map = self.map.as_deref().unwrap_or_default();
        let fields = if map.is_empty() {
            0
        } else {
            map.iter().filter(|&&b| b == b',').count() + 1
        };
        if Some(fields) != blocks.checked_mul(2) || blocks > MAX_SPARSE_SEGMENTS {
            return Err(BAD);
        }
        map.split(|&b| b == b',')
            .filter(|_| fields > 0)
            .map(|n| go_int(n).and_then(|n| u64::try_from(n).ok()).ok_or(BAD))
            .collect()
    }
}

impl Pax {
    /// Parses PAX records: `"<len> <key>=<value>\n"`, `len` counting the whole record.
    fn parse(mut body: &[u8], at: u64) -> Result<Self, &'static str> {
        const BAD: &str = "a malformed PAX record";
        let mut pax = Self {
            at,
            ..Self::default()
        };
        let (mut pairs, mut pairs_seen) = (Vec::new(), 0usize);
        // Records to the end: NUL padding within the stated size is a malformed record,
        // as in Go's parsePAX.
        while !body.is_empty() {
            let space = body.iter().position(|&b| b == b' ').ok_or(BAD)?;
            let len: usize = std::str::from_utf8(&body[..space])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(BAD)?;
            if len < 5 || len <= space + 1 || len > body.len() || body[len - 1] != b'\n' {
                return Err(BAD);
            }
            let record = &body[space + 1..len - 1];
            let eq = record.iter().position(|&b| b == b'=').ok_or(BAD)?;
            let (key, value) = (&record[..eq], &record[eq + 1..]);
            // As Go's validPAXRecord: no empty key, no NUL in a key (an xattr name is
            // one), none in a value that stands for a header's C string.
            if key.is_empty() || key.contains(&0) {
                return Err("a PAX record whose key is empty or has a NUL byte");
            }
            if value.contains(&0) {
                match key {
                    b"path" => return Err("a PAX `path` with a NUL byte"),
                    b"linkpath" => return Err("a PAX `linkpath` with a NUL byte"),
                    b"uname" => return Err("a PAX `uname` with a NUL byte"),
                    b"gname" => return Err("a PAX `gname` with a NUL byte"),
                    _ => {}
                }
            }
            let raw = || (!value.is_empty()).then(|| value.to_vec());
            match key {
                b"path" => pax.path = raw(),
                b"linkpath" => pax.linkpath = raw(),
                b"size" => pax.size = raw(),
                b"uid" => pax.uid = raw(),
                b"gid" => pax.gid = raw(),
                b"atime" => pax.atime = raw(),
                b"mtime" => pax.mtime = raw(),
                b"ctime" => pax.ctime = raw(),
                b"GNU.sparse.major" => pax.sparse.major = raw(),
                b"GNU.sparse.minor" => pax.sparse.minor = raw(),
                b"GNU.sparse.name" => pax.sparse.name = raw(),
                b"GNU.sparse.size" => pax.sparse.size = raw(),
                b"GNU.sparse.realsize" => pax.sparse.realsize = raw(),
                b"GNU.sparse.numblocks" => pax.sparse.numblocks = raw(),
                b"GNU.sparse.map" => pax.sparse.map = raw(),
                // Format 0.0: offset, numbytes, offset... in turn, no commas (Go).
                b"GNU.sparse.offset" | b"GNU.sparse.numbytes" => {
                    let want: &[u8] = if pairs_seen % 2 == 0 {
                        b"GNU.sparse.offset"
                    } else {
                        b"GNU.sparse.numbytes"
                    };
                    if key != want || value.contains(&b',') {
                        return Err("GNU sparse offset and numbytes records out of turn");
                    }
                    if pairs_seen > 0 {
                        pairs.push(b',');
                    }
                    pairs.extend_from_slice(value);
                    pairs_seen += 1;
                }
                _ => {}
            }
            body = &body[len..];
        }
        if pairs_seen > 0 {
            pax.sparse.map = (!pairs.is_empty()).then_some(pairs);
        }
        Ok(pax)
    }
}

/// A decimal number as Go's `strconv.ParseInt(s, 10, 64)` reads it: an optional sign,
/// then digits.
fn go_int(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A PAX time as Go's `parsePAXTime` accepts it: seconds (a sign allowed), then
/// optionally `.` and digits.
fn valid_pax_time(value: &[u8]) -> bool {
    let (secs, fraction) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &[][..]),
    };
    go_int(secs).is_some() && fraction.iter().all(u8::is_ascii_digit)
}

/// At most 40 bytes of a value, escaped, for a message.
fn shown(value: &[u8]) -> String {
    value[..value.len().min(40)].escape_ascii().to_string()
}

struct Header<'a>(&'a [u8; BLOCK as usize]);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    V7,
    Ustar,
    Star,
    Gnu,
}

impl Header<'_> {
    fn flag(&self) -> u8 {
        self.0[156]
    }

    fn size(&self) -> Result<i64, &'static str> {
        go_numeric(&self.0[124..136])
    }

    /// Go's `getFormat`, from the magic (and STAR's trailer).
    fn format(&self) -> Format {
        match (&self.0[257..263], &self.0[263..265], &self.0[508..512]) {
            (b"ustar\0", _, b"tar\0") => Format::Star,
            (b"ustar\0", _, _) => Format::Ustar,
            (b"ustar ", b" \0", _) => Format::Gnu,
            _ => Format::V7,
        }
    }

    /// The name, with the prefix Go's reader joins to it: ustar's (155 bytes), STAR's
    /// (131, its times after it), and in a GNU header, which has none, the same bytes
    /// when its atime and ctime do not parse and they are ASCII (archives of Go's
    /// writer before 1.8 put a prefix there).
    fn name(&self) -> Vec<u8> {
        let name = field_bytes(&self.0[..100]);
        let prefix = match self.format() {
            Format::Ustar => field_bytes(&self.0[345..500]),
            Format::Star => field_bytes(&self.0[345..476]),
            Format::Gnu => {
                let bad_time = |t: &[u8]| t[0] != 0 && go_numeric(t).is_err();
                let prefix = field_bytes(&self.0[345..500]);
                if (bad_time(&self.0[345..357]) || bad_time(&self.0[357..369])) && prefix.is_ascii()
                {
                    prefix
                } else {
                    &[]
                }
            }
            Format::V7 => &[],
        };
        if prefix.is_empty() {
            name.to_vec()
        } else {
            [prefix, b"/", name].concat()
        }
    }

    /// The numeric fields Go's `readHeader` parses in every header, refusing the
    /// header when one is malformed, whether used here or not: mode, ids, size and
    /// modification time, the device numbers past v7, STAR's times.
    fn check_numbers(&self) -> Result<(), &'static str> {
        let format = self.format();
        let mut fields = vec![100..108, 108..116, 116..124, 124..136, 136..148];
        if format != Format::V7 {
            fields.extend([329..337, 337..345]);
        }
        if format == Format::Star {
            fields.extend([476..488, 488..500]);
        }
        for range in fields {
            go_numeric(&self.0[range])?;
        }
        Ok(())
    }

    /// The checksum is the sum of the header's bytes with its own field read as
    /// spaces; historic writers summed signed bytes, which is accepted too.
    fn verify_checksum(&self) -> Result<(), &'static str> {
        // Sums of the whole block (a loop without a branch, which the compiler
        // vectorises: the per-byte check for the field was 1 % of reading a
        // layer's entries), then the field's own bytes traded for eight spaces.
        fn sums(bytes: &[u8]) -> (u32, i32) {
            bytes.iter().fold((0, 0), |(u, s), &b| {
                (u + u32::from(b), s + i32::from(i8::from_ne_bytes([b])))
            })
        }
        const SPACES: u32 = 8 * b' ' as u32;
        const SIGNED_SPACES: i32 = 8 * b' ' as i32;
        let stated = go_octal(&self.0[148..156])?;
        let (all, all_signed) = sums(self.0);
        let (field, field_signed) = sums(&self.0[148..156]);
        let unsigned = all - field + SPACES;
        let signed = all_signed - field_signed + SIGNED_SPACES;
        if stated == u64::from(unsigned) || i64::try_from(stated) == Ok(i64::from(signed)) {
            Ok(())
        } else {
            Err("a bad header checksum (not a tar archive, or corrupt)")
        }
    }
}

/// A NUL-terminated field's bytes.
fn field_bytes(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    v.truncate(end);
    v
}

/// A numeric field that must not be negative (ids, sizes, sparse maps).
fn parse_number(field: &[u8]) -> Result<u64, &'static str> {
    u64::try_from(go_numeric(field)?).map_err(|_| "a negative number")
}

/// A numeric field as Go's `parseNumeric` reads it: GNU base-256 (two's complement,
/// so possibly negative) when the first byte's high bit is set, else octal text.
fn go_numeric(field: &[u8]) -> Result<i64, &'static str> {
    const BAD: &str = "a bad numeric field";
    let Some(&first) = field.first() else {
        return Ok(0);
    };
    if first & 0x80 == 0 {
        return go_octal(field).and_then(|n| i64::try_from(n).map_err(|_| BAD));
    }
    let invert = if first & 0x40 != 0 { 0xff } else { 0 };
    let mut x = 0u64;
    for (i, &b) in field.iter().enumerate() {
        let c = if i == 0 {
            (b ^ invert) & 0x7f
        } else {
            b ^ invert
        };
        if x >> 56 != 0 {
            return Err(BAD);
        }
        x = x << 8 | u64::from(c);
    }
    let x = i64::try_from(x).map_err(|_| BAD)?;
    Ok(if invert == 0xff { !x } else { x })
}

/// Octal text as Go's `parseOctal` reads it: spaces and NULs trimmed at both ends,
/// then digits up to a NUL (some writers leave stale bytes past one), nothing else.
fn go_octal(field: &[u8]) -> Result<u64, &'static str> {
    const BAD: &str = "a bad numeric field";
    let blank = |b: &u8| *b == b' ' || *b == 0;
    let start = field.iter().position(|b| !blank(b)).unwrap_or(field.len());
    let end = field
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    let digits = field_bytes(&field[start..end]);
    digits.iter().try_fold(0u64, |n, &b| {
        if !(b'0'..=b'7').contains(&b) {
            return Err(BAD);
        }
        n.checked_mul(8)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(BAD)
    })
}

/// Segments must be in order, apart, within the file, and hold exactly the stored bytes.
fn check_sparse_map(segments: &[(u64, u64)], stored: u64, size: u64) -> Result<(), &'static str> {
    const BAD: &str = "a bad sparse map";
    let mut end = 0u64;
    let mut total = 0u64;
    for &(offset, len) in segments {
        let seg_end = offset.checked_add(len).ok_or(BAD)?;
        if offset < end || seg_end > size {
            return Err(BAD);
        }
        end = seg_end;
        total = total.checked_add(len).ok_or(BAD)?;
    }
    if total == stored { Ok(()) } else { Err(BAD) }
}

fn special_name(flag: u8) -> &'static str {
    match flag {
        b'x' => "PAX extended header",
        b'g' => "PAX global header",
        b'L' => "GNU long name",
        _ => "GNU long link name",
    }
}

fn bad(at: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("tar header at byte {at}: {what}"),
    )
}

fn truncated(at: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("tar stream truncated in the {what} at byte {at}"),
    )
}

fn truncated_or(e: io::Error, at: u64, what: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        truncated(at, what)
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(bytes: &[u8]) -> io::Result<Vec<(Entry, Vec<u8>)>> {
        let mut r = TarReader::new(Stream(bytes));
        let mut out = Vec::new();
        while let Some(e) = r.next_entry()? {
            let mut data = Vec::new();
            let mut buf = [0u8; 7];
            loop {
                let n = r.read_data(&mut buf)?;
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            out.push((e, data));
        }
        Ok(out)
    }

    /// A header block with the given fields and a valid checksum.
    fn header(name: &[u8], flag: u8, size: u64, magic: &[u8; 8]) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name);
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0001750");
        h[116..123].copy_from_slice(b"0000012");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[156] = flag;
        h[257..265].copy_from_slice(magic);
        seal(&mut h);
        h
    }

    fn seal(h: &mut [u8; 512]) {
        h[148..156].fill(b' ');
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    }

    fn padded(data: &[u8]) -> Vec<u8> {
        let mut v = data.to_vec();
        v.resize(data.len().div_ceil(512) * 512, 0);
        v
    }

    /// `"<len> key=value\n"`, `len` counting itself.
    fn pax_record(key: &str, value: &str) -> String {
        let body = format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        while format!("{len}").len() + body.len() != len {
            len += 1;
        }
        format!("{len}{body}")
    }

    const GNU: &[u8; 8] = b"ustar  \0";
    const POSIX: &[u8; 8] = b"ustar\x0000";

    #[test]
    fn agrees_with_the_tar_crate_on_what_it_builds() {
        let mut b = tar::Builder::new(Vec::new());
        let long = "d/".repeat(80) + "file";
        for (path, kind, data) in [
            ("bin/sh", tar::EntryType::Regular, &b"#!/bin/sh\n"[..]),
            (long.as_str(), tar::EntryType::Regular, b"x"),
            ("etc/", tar::EntryType::Directory, b""),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(0o755);
            h.set_uid(1000);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, path, data).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "link", "t/".repeat(70) + "target")
            .unwrap();
        let bytes = b.into_inner().unwrap();
        let got = entries(&bytes).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].0.path, b"bin/sh");
        assert_eq!(got[0].0.kind, EntryKind::File);
        assert_eq!((got[0].0.mode, got[0].0.uid), (0o755, 1000));
        assert_eq!(got[0].1, b"#!/bin/sh\n");
        assert_eq!(got[1].0.path, long.as_bytes());
        assert_eq!(got[1].1, b"x");
        assert_eq!(got[2].0.kind, EntryKind::Dir);
        assert_eq!(got[3].0.kind, EntryKind::Symlink);
        assert_eq!(got[3].0.link, ("t/".repeat(70) + "target").as_bytes());
        // Offsets point at the data, as the archive index needs.
        let off = usize::try_from(got[0].0.data_offset).unwrap();
        assert_eq!(&bytes[off..off + 10], b"#!/bin/sh\n");
    }

    #[test]
    fn pax_records_override_the_header() {
        let records = [
            pax_record("path", "very/long/pax/name"),
            pax_record("uid", "42"),
            pax_record("size", "3"),
        ]
        .concat();
        let records = records.as_bytes();
        let mut t = header(b"PaxHeaders/x", b'x', records.len() as u64, POSIX).to_vec();
        t.extend(padded(records));
        t.extend(header(b"short", b'0', 0, POSIX));
        t.extend(padded(b"abc"));
        let got = entries(&t).unwrap();
        assert_eq!(got[0].0.path, b"very/long/pax/name");
        assert_eq!(got[0].0.uid, 42);
        assert_eq!(got[0].1, b"abc");
    }

    #[test]
    fn only_the_last_pax_header_applies() {
        // Go's pax-multi-hdrs.tar, recreated: four PAX headers (path, path, linkpath,
        // linkpath), then a symlink `bar` -> `foo`; Go's reader_test expects `bar` ->
        // `PAX4/PAX4/long-linkpath-name` ("matches the behavior of GNU and BSD tar").
        let got = entries(include_bytes!("../../testdata/tar/pax-multi-hdrs.tar")).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.path, b"bar");
        assert_eq!(got[0].0.kind, EntryKind::Symlink);
        assert_eq!(got[0].0.link, b"PAX4/PAX4/long-linkpath-name");

        // A GNU long name is not a PAX record: a later PAX header leaves it.
        let records = pax_record("uid", "7");
        let mut t = header(b"././@LongLink", b'L', 4, GNU).to_vec();
        t.extend(padded(b"long"));
        t.extend(header(b"PaxHeaders/x", b'x', records.len() as u64, POSIX));
        t.extend(padded(records.as_bytes()));
        t.extend(header(b"short", b'0', 0, POSIX));
        let got = entries(&t).unwrap();
        assert_eq!((got[0].0.path.as_slice(), got[0].0.uid), (&b"long"[..], 7));

        // A global header between an extended header and the entry: Go returns the
        // global header as an entry, and the extended header went with it.
        let records = pax_record("path", "not/this");
        let mut t = header(b"PaxHeaders/x", b'x', records.len() as u64, POSIX).to_vec();
        t.extend(padded(records.as_bytes()));
        t.extend(header(b"pax_global_header", b'g', 0, POSIX));
        t.extend(header(b"this", b'0', 0, POSIX));
        let got = entries(&t).unwrap();
        assert_eq!(got[0].0.path, b"this");
    }

    #[test]
    fn gnu_dumpdir_is_a_directory() {
        // Go's gnu-incremental.tar, recreated: `D` (GNU incremental dumpdir) with a
        // 14-byte listing as data, then a file. Go's reader_test reads `test2/` with its
        // size 14 and the file after it; GNU tar extracts a `D` as a directory.
        let got = entries(include_bytes!("../../testdata/tar/gnu-incremental.tar")).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.path, b"test2/");
        assert_eq!(got[0].0.kind, EntryKind::Dir);
        assert_eq!(got[1].0.path, b"test2/foo");
        assert_eq!(got[1].0.kind, EntryKind::File);
        assert_eq!(got[1].1, [b'f'; 64]);
    }

    #[test]
    fn nul_bytes_in_pax_keys_and_names_are_refused() {
        // Go's pax-nul-path.tar and pax-nul-xattrs.tar, recreated: Go's reader refuses
        // both (ErrHeader; "BSD tar v3.1.2 and GNU tar v1.27.1 both reject PAX records
        // with NULs in the key"; a NUL in a path is refused as BSD tar does).
        for (file, what) in [
            (
                &include_bytes!("../../testdata/tar/pax-nul-path.tar")[..],
                "`path`",
            ),
            (
                include_bytes!("../../testdata/tar/pax-nul-xattrs.tar"),
                "key",
            ),
        ] {
            let e = entries(file).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
            let e = e.to_string();
            assert!(
                e.contains("tar header at byte 0") && e.contains("NUL"),
                "{e}"
            );
            assert!(e.contains(what), "{e}");
        }
        for (key, value) in [("linkpath", "a\0b"), ("uname", "\0"), ("gname", "x\0")] {
            let records = pax_record(key, value);
            let mut t = header(b"PaxHeaders/x", b'x', records.len() as u64, POSIX).to_vec();
            t.extend(padded(records.as_bytes()));
            t.extend(header(b"f", b'0', 0, POSIX));
            let e = entries(&t).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`")) && e.contains("NUL"), "{e}");
        }
        // An empty key likewise; a NUL in another value is accepted, as Go does (an
        // SELinux label in an xattr ends with one).
        for (record, ok) in [
            ("7 =abc\n", false),
            ("38 SCHILY.xattr.security.selinux=a:b\0\n", true),
        ] {
            let mut t = header(b"PaxHeaders/x", b'x', record.len() as u64, POSIX).to_vec();
            t.extend(padded(record.as_bytes()));
            t.extend(header(b"f", b'0', 0, POSIX));
            assert_eq!(entries(&t).is_ok(), ok, "{record:?}");
        }
    }

    /// One PAX header with these records, then a file `f` with `data`.
    fn pax_then_file(records: &[(&str, &str)], data: &[u8]) -> Vec<u8> {
        let records: String = records.iter().map(|(k, v)| pax_record(k, v)).collect();
        let mut t = header(b"PaxHeaders/f", b'x', records.len() as u64, POSIX).to_vec();
        t.extend(padded(records.as_bytes()));
        t.extend(header(b"f", b'0', data.len() as u64, POSIX));
        t.extend(padded(data));
        t
    }

    #[test]
    fn pax_values_are_checked_as_go_applies_them() {
        // Go's pax-bad-mtime-file.tar, recreated: `mtime=999xxx9324.432432444444`.
        // Go's reader_test expects ErrHeader (mergePAX parses atime, mtime and ctime).
        let e = entries(include_bytes!("../../testdata/tar/pax-bad-mtime-file.tar")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        let e = e.to_string();
        assert!(e.contains("tar header at byte 0: a PAX `mtime`"), "{e}");
        for key in ["atime", "mtime", "ctime"] {
            for (value, ok) in [
                ("1350244992.023960108", true),
                ("-1.5", true),
                ("+7", true),
                ("1.", true),
                ("1.2.3", false),
                (".5", false),
                ("1e9", false),
                ("1.x", false),
            ] {
                let got = entries(&pax_then_file(&[(key, value)], b""));
                assert_eq!(got.is_ok(), ok, "{key}={value}");
            }
        }
        // The same checks for uid, gid and size, as Go's strconv.ParseInt; a leading
        // `+` and zeros are fine (Go's pax-pos-size-file.tar: size=000…0999).
        let got = entries(&pax_then_file(
            &[("size", "+000000000000000000000003")],
            b"abc",
        ));
        assert_eq!(got.unwrap()[0].1, b"abc");
        for (key, value) in [("uid", "x"), ("gid", "1.0"), ("size", "-1"), ("uid", "-1")] {
            let e = entries(&pax_then_file(&[(key, value)], b""))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("a PAX `{key}`")), "{e}");
        }
        // Values are checked only where they apply: a later record of the same key
        // replaces an earlier one, a later header the whole earlier one (Go's
        // TestParsePAX: `key1=val1` then `key1=` leaves `key1` empty).
        assert!(entries(&pax_then_file(&[("mtime", "bad"), ("mtime", "1")], b"")).is_ok());
        let mut t = pax_then_file(&[("mtime", "bad"), ("uid", "x")], b"");
        t.truncate(1024);
        t.extend(pax_then_file(&[("uid", "5")], b""));
        assert_eq!(entries(&t).unwrap()[0].0.uid, 5);
        // An empty value leaves the header's field (Go's mergePAX skips it).
        let got = entries(&pax_then_file(
            &[("path", ""), ("uid", ""), ("size", ""), ("mtime", "")],
            b"",
        ))
        .unwrap();
        assert_eq!(
            (got[0].0.path.as_slice(), got[0].0.uid),
            (&b"f"[..], 0o1750)
        );
    }

    #[test]
    fn header_only_types_have_no_data_whatever_their_size() {
        // Go's hdr-only.tar, recreated: an entry of each type 0-6, then the same with a
        // size of 512 and no data. Go's reader reads the next header right after a
        // link, device, directory or FIFO (isHeaderOnlyType), so all 14 are entries;
        // skipping the stated size swallowed the headers that follow.
        let got = entries(include_bytes!("../../testdata/tar/hdr-only.tar")).unwrap();
        let names: Vec<String> = got
            .iter()
            .map(|(e, _)| String::from_utf8_lossy(&e.path).into_owned())
            .collect();
        assert_eq!(got.len(), 14, "{names:?}");
        for (i, (entry, data)) in got.iter().enumerate() {
            assert_eq!((entry.size, data.len()), (0, 0), "{}", names[i]);
        }
        assert_eq!(got[12].0.kind, EntryKind::Dir);
        assert_eq!(names[13], "fifo-sized");
        // A PAX size does not give them data either; a negative one is no error for
        // them (Go ignores the size of a header-only type).
        for size in ["512", "-1"] {
            let records = pax_record("size", size);
            let mut t = header(b"PaxHeaders/d", b'x', records.len() as u64, POSIX).to_vec();
            t.extend(padded(records.as_bytes()));
            t.extend(header(b"d/", b'5', 0, POSIX));
            t.extend(header(b"d/f", b'0', 1, POSIX));
            t.extend(padded(b"1"));
            let got = entries(&t).unwrap();
            assert_eq!(got.len(), 2, "size={size}");
            assert_eq!(got[1].1, b"1");
        }
    }

    #[test]
    fn a_zero_block_then_a_header_is_refused() {
        // Go's TestReadTruncation: after one zero block, the end of the stream or a
        // second zero block ends the archive; a partial block is ErrUnexpectedEOF; a
        // block with anything in it is ErrHeader (the end marker is two zero blocks,
        // and what follows one is not skipped but refused).
        let mut t = header(b"a", b'0', 1, GNU).to_vec();
        t.extend(padded(b"1"));
        t.extend([0u8; 512]);
        assert_eq!(entries(&t).unwrap().len(), 1);
        let mut partial = t.clone();
        partial.push(b'g');
        let e = entries(&partial).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        let mut hidden = t.clone();
        hidden.extend(header(b"bin/sh", b'0', 0, GNU));
        let e = entries(&hidden).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        assert!(e.to_string().contains("tar header at byte 1536"), "{e}");
        let mut garbage = t;
        garbage.extend(b"garbage ".repeat(64));
        assert!(entries(&garbage).is_err());
    }

    #[test]
    fn names_are_resolved_as_go_resolves_them() {
        let long = |flag: u8, name: &[u8]| {
            let mut t = header(b"././@LongLink", flag, name.len() as u64, GNU).to_vec();
            t.extend(padded(name));
            t
        };
        let pax = |key: &str, value: &str| {
            let records = pax_record(key, value);
            let mut t = header(b"PaxHeaders/x", b'x', records.len() as u64, POSIX).to_vec();
            t.extend(padded(records.as_bytes()));
            t
        };
        // Go applies the PAX records, then the GNU long name and link over them,
        // whichever came first.
        for first_gnu in [true, false] {
            let (a, b) = (long(b'L', b"gnu/name"), pax("path", "pax/name"));
            let (c, d) = (long(b'K', b"gnu/link"), pax("linkpath", "pax/link"));
            let mut t = Vec::new();
            for part in if first_gnu {
                [a, c, b, d]
            } else {
                [b, d, a, c]
            } {
                t.extend(part);
            }
            // Only the last PAX header applies: repeat the path one.
            t.extend(pax("path", "pax/name"));
            t.extend(header(b"ustar-name", b'2', 0, POSIX));
            let got = entries(&t).unwrap();
            assert_eq!(got[0].0.path, b"gnu/name", "GNU first: {first_gnu}");
            assert_eq!(got[0].0.link, b"gnu/link", "GNU first: {first_gnu}");
        }
        // An empty long name leaves the header's (Go: `if gnuLongName != ""`).
        let mut t = long(b'L', b"\0\0");
        t.extend(header(b"ustar-name", b'0', 0, GNU));
        assert_eq!(entries(&t).unwrap()[0].0.path, b"ustar-name");
        // Typeflag NUL with a trailing slash is a directory, with no data (Go: "old
        // archives use trailing slash for directories"); `0` stays a file.
        let mut t = header(b"etc/", 0, 512, GNU).to_vec();
        t.extend(header(b"etc/passwd", b'0', 0, GNU));
        let got = entries(&t).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.kind, EntryKind::Dir);
        let mut t = header(b"etc/", b'0', 1, GNU).to_vec();
        t.extend(padded(b"x"));
        assert_eq!(entries(&t).unwrap()[0].0.kind, EntryKind::File);
    }

    #[test]
    fn global_headers_are_parsed_though_not_applied() {
        // Go's reader parses a global header's records as an extended header's
        // (parsePAX: a malformed record or a NUL in a key is ErrHeader) but ignores
        // what merging them would say (its mergePAX error is dropped for `g`).
        for (record, ok) in [
            ("13 mtime=bad\n", true),
            ("10 path=a\n", true),
            ("11 path=a\n", false),
            ("14 comment\0=x\n", false),
        ] {
            let mut t = header(b"pax_global_header", b'g', record.len() as u64, POSIX).to_vec();
            t.extend(padded(record.as_bytes()));
            t.extend(header(b"f", b'0', 0, POSIX));
            let got = entries(&t);
            assert_eq!(got.is_ok(), ok, "{record:?}: {got:?}");
            if let Ok(got) = got {
                assert_eq!(got[0].0.path, b"f");
            }
        }
    }

    #[test]
    fn pax_records_are_all_there_is_in_an_extended_header() {
        // Go's parsePAX reads records to the end of the stated size: NUL bytes after
        // them are a malformed record (ErrHeader), as is a record shorter than 5 bytes
        // or one without `=` (its TestParsePAX: "3 somelongkey=\n", "50 tooshort=\n").
        for body in [
            &b"10 path=a\n\0\0"[..],
            b"\0",
            b"3 somelongkey=\n",
            b"50 tooshort=\n",
            b"8 abcde\n",
        ] {
            let mut t = header(b"PaxHeaders/x", b'x', body.len() as u64, POSIX).to_vec();
            t.extend(padded(body));
            t.extend(header(b"f", b'0', 0, POSIX));
            let e = entries(&t).unwrap_err().to_string();
            assert!(
                e.contains("tar header at byte 0: a malformed PAX record"),
                "{e}"
            );
        }
    }

    #[test]
    fn pax_sparse_records_apply_as_go_reads_them() {
        // Go's readGNUSparsePAXHeaders: a file is GNU-sparse only for versions 0.0, 0.1
        // (major/minor records, or no version and a GNU.sparse.map) and 1.0. Otherwise
        // the records are ignored: GNU.sparse.name does not rename a regular file, and
        // an unknown version is read as the regular file it is.
        for records in [
            &[("GNU.sparse.name", "other/name")][..],
            &[("GNU.sparse.name", "other/name"), ("GNU.sparse.size", "8")],
            &[
                ("GNU.sparse.major", "2"),
                ("GNU.sparse.minor", "0"),
                ("GNU.sparse.name", "other/name"),
                ("GNU.sparse.realsize", "8"),
            ],
        ] {
            let got = entries(&pax_then_file(records, b"abc")).unwrap();
            assert_eq!(got[0].0.path, b"f", "{records:?}");
            assert_eq!((got[0].0.size, got[0].1.as_slice()), (3, &b"abc"[..]));
        }
        // Format 0.0 (offset/numbytes records, in turn), as GNU tar writes it with its
        // numblocks; 0.x without numblocks, or records out of turn, is ErrHeader in Go.
        let zero_zero = [
            ("GNU.sparse.size", "8"),
            ("GNU.sparse.numblocks", "2"),
            ("GNU.sparse.offset", "2"),
            ("GNU.sparse.numbytes", "2"),
            ("GNU.sparse.offset", "6"),
            ("GNU.sparse.numbytes", "1"),
        ];
        let got = entries(&pax_then_file(&zero_zero, b"abc")).unwrap();
        assert_eq!(got[0].1, b"\0\0ab\0\0c\0");
        for bad in [
            &[("GNU.sparse.size", "8"), ("GNU.sparse.map", "2,2,6,1")][..],
            &[
                ("GNU.sparse.size", "8"),
                ("GNU.sparse.numblocks", "1"),
                ("GNU.sparse.numbytes", "3"),
                ("GNU.sparse.offset", "0"),
            ],
        ] {
            assert!(entries(&pax_then_file(bad, b"abc")).is_err(), "{bad:?}");
        }
        // A sparse map on a type that has no data is ErrHeader in Go.
        let records = [
            pax_record("GNU.sparse.numblocks", "0"),
            pax_record("GNU.sparse.map", ","),
        ]
        .concat();
        let mut t = header(b"PaxHeaders/x", b'x', records.len() as u64, POSIX).to_vec();
        t.extend(padded(records.as_bytes()));
        t.extend(header(b"link", b'2', 0, POSIX));
        assert!(entries(&t).is_err());
        // An old GNU sparse file (`S`) must be in a GNU header (Go: ErrHeader).
        let mut h = header(b"sparse", b'S', 0, POSIX);
        h[483..495].copy_from_slice(b"00000000010\0");
        seal(&mut h);
        let e = entries(&h).unwrap_err().to_string();
        assert!(e.contains("tar header at byte 0"), "{e}");
    }

    #[test]
    fn header_fields_are_read_as_go_reads_them() {
        // Go's invalid-go17.tar, recreated: a GNU header whose atime/ctime bytes are a
        // name prefix (written by Go's writer before 1.8). Go's reader takes that
        // prefix when the times do not parse and it is ASCII: the entry is
        // `aaa…a/foo`, not `foo`.
        let mut h = header(b"foo", b'0', 0, GNU);
        h[345..345 + 99].fill(b'a');
        seal(&mut h);
        let got = entries(&h).unwrap();
        assert_eq!(got[0].0.path, [&[b'a'; 99][..], b"/foo"].concat());
        // A STAR header's prefix is 131 bytes; its times follow.
        let mut h = header(b"name", b'0', 0, POSIX);
        h[345..476].fill(b'p');
        h[476..488].copy_from_slice(b"00000000001\0");
        h[508..512].copy_from_slice(b"tar\0");
        seal(&mut h);
        assert_eq!(
            entries(&h).unwrap()[0].0.path,
            [&[b'p'; 131][..], b"/name"].concat()
        );
        // Fields Go parses and refuses when malformed, used here or not: the mode,
        // the modification time, the device numbers of a non-v7 header; octal text
        // with anything but spaces and NULs around it (up to a NUL).
        let v7 = [0u8; 8];
        for (range, value, magic, ok) in [
            (136..148, &b"xyz\0"[..], POSIX, false),
            (136..148, b"0000000001 \0", POSIX, true),
            (136..148, b"0000000001\0z", POSIX, true),
            (136..148, b"1 2\0", POSIX, false),
            (329..337, b"garbage\0", POSIX, false),
            (329..337, b"garbage\0", GNU, false),
            (329..337, b"garbage\0", &v7, true),
            (100..108, b"644 x\0", POSIX, false),
            (100..108, b"+644\0", POSIX, false),
            // Base-256, negative: a time may be; a size may not.
            (136..148, &[0xff; 12], POSIX, true),
            (124..136, &[0xff; 12], POSIX, false),
        ] {
            let mut h = header(b"f", b'0', 0, magic);
            h[range.clone()].fill(0);
            h[range.start..range.start + value.len()].copy_from_slice(value);
            seal(&mut h);
            assert_eq!(entries(&h).is_ok(), ok, "{range:?} {value:?}");
        }
        // A negative size is no error for a type that has no data, as in Go.
        let mut h = header(b"d/", b'5', 0, POSIX);
        h[124..136].fill(0xff);
        seal(&mut h);
        assert_eq!(entries(&h).unwrap()[0].0.size, 0);
    }

    #[test]
    fn pax_sparse_without_a_size_is_as_large_as_stored() {
        // GNU sparse 1.0 with no realsize: Go keeps the entry's size, map blocks
        // included (hdr.Size is only replaced by a sparse size record), and reads the
        // segments then holes to that size.
        let records = [
            pax_record("GNU.sparse.major", "1"),
            pax_record("GNU.sparse.minor", "0"),
        ]
        .concat();
        let mut t = header(b"PaxHeaders/x", b'x', records.len() as u64, POSIX).to_vec();
        t.extend(padded(records.as_bytes()));
        t.extend(header(b"f", b'0', 512 + 3, POSIX));
        t.extend(padded(b"1\n0\n3\n"));
        t.extend(padded(b"abc"));
        let got = entries(&t).unwrap();
        assert_eq!(got[0].0.size, 515);
        let mut want = b"abc".to_vec();
        want.resize(515, 0);
        assert_eq!(got[0].1, want);
    }

    #[test]
    fn ustar_prefix_is_joined_and_global_headers_are_skipped() {
        let mut t = header(b"pax_global_header", b'g', 0, POSIX).to_vec();
        let mut h = header(b"name", b'0', 0, POSIX);
        h[345..351].copy_from_slice(b"prefix");
        seal(&mut h);
        t.extend(h);
        let got = entries(&t).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.path, b"prefix/name");
    }

    #[test]
    fn sparse_files_read_with_their_holes() {
        // 10 bytes at 4 and 3 bytes at 20, in a 30-byte file; empty segments at 15
        // and at the end, as GNU tar writes them.
        let mut h = header(b"sparse", b'S', 13, GNU);
        for (i, (offset, len)) in [(4u64, 10u64), (15, 0), (20, 3), (30, 0)]
            .iter()
            .enumerate()
        {
            let at = 386 + i * 24;
            h[at..at + 12].copy_from_slice(format!("{offset:011o}\0").as_bytes());
            h[at + 12..at + 24].copy_from_slice(format!("{len:011o}\0").as_bytes());
        }
        h[483..495].copy_from_slice(b"00000000036\0");
        seal(&mut h);
        let mut t = h.to_vec();
        t.extend(padded(b"0123456789xyz"));
        let got = entries(&t).unwrap();
        assert_eq!(got[0].0.size, 30);
        assert!(!got[0].0.contiguous);
        let mut want = vec![0u8; 30];
        want[4..14].copy_from_slice(b"0123456789");
        want[20..23].copy_from_slice(b"xyz");
        assert_eq!(got[0].1, want);
    }

    #[test]
    fn pax_sparse_files_read_with_their_holes() {
        // Format 1.0 (map in the data) and 0.1 (map in a record): "ab" at 2 and "c" at
        // 6 of an 8-byte file.
        let want = b"\0\0ab\0\0c\0";
        let one = [
            pax_record("GNU.sparse.major", "1"),
            pax_record("GNU.sparse.minor", "0"),
            pax_record("GNU.sparse.name", "real/name"),
            pax_record("GNU.sparse.realsize", "8"),
        ]
        .concat();
        let mut t = header(b"PaxHeaders/x", b'x', one.len() as u64, POSIX).to_vec();
        t.extend(padded(one.as_bytes()));
        t.extend(header(b"GNUSparseFile.0/name", b'0', 512 + 3, POSIX));
        t.extend(padded(b"2\n2\n2\n6\n1\n"));
        t.extend(padded(b"abc"));
        // 0.1 with its numblocks, as GNU tar writes it (Go refuses a 0.x map without).
        let zero_one = [
            pax_record("GNU.sparse.name", "real/name"),
            pax_record("GNU.sparse.size", "8"),
            pax_record("GNU.sparse.numblocks", "2"),
            pax_record("GNU.sparse.map", "2,2,6,1"),
        ]
        .concat();
        t.extend(header(b"PaxHeaders/y", b'x', zero_one.len() as u64, POSIX));
        t.extend(padded(zero_one.as_bytes()));
        t.extend(header(b"GNUSparseFile.0/name", b'0', 3, POSIX));
        t.extend(padded(b"abc"));
        let got = entries(&t).unwrap();
        assert_eq!(got.len(), 2);
        for (entry, data) in got {
            assert_eq!(entry.path, b"real/name");
            assert_eq!(entry.size, 8);
            assert_eq!(data, want);
        }
    }

    #[test]
    fn oversized_extensions_are_refused_without_reading_them() {
        for flag in [b'x', b'L', b'K', b'g'] {
            let t = header(b"huge", flag, (8 << 30) - 1, GNU);
            let e = entries(&t).unwrap_err().to_string();
            assert!(e.contains("more than 1048576 accepted"), "{e}");
            assert!(e.contains("byte 0"), "{e}");
        }
    }

    /// Historic tars (old Sun and GNU writers) summed the header's bytes as signed
    /// chars: a name with bytes over 0x7f gives another checksum, accepted as well.
    #[test]
    fn checksums_of_signed_and_unsigned_sums() {
        let mut h = header(b"caf\xe9-\xff", b'0', 0, GNU);
        let unsigned = h;
        assert!(entries(&unsigned).is_ok());
        h[148..156].fill(b' ');
        let signed: i64 = h.iter().map(|&b| i64::from(i8::from_ne_bytes([b]))).sum();
        h[148..155].copy_from_slice(format!("{signed:06o}\0").as_bytes());
        assert_ne!(h, unsigned, "the two sums differ for this name");
        assert!(entries(&h).is_ok());
        h[148..155].copy_from_slice(format!("{:06o}\0", signed + 1).as_bytes());
        let e = entries(&h).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
    }

    #[test]
    fn base256_numbers_and_corruption() {
        let mut h = header(b"big", b'0', 0, GNU);
        h[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
        seal(&mut h);
        let mut t = h.to_vec();
        t.extend(padded(b"hello"));
        assert_eq!(entries(&t).unwrap()[0].1, b"hello");

        let mut corrupt = t.clone();
        corrupt[0] ^= 1;
        let e = entries(&corrupt).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");

        let e = entries(&t[..600]).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = entries(&t[..100]).unwrap_err().to_string();
        assert!(e.contains("truncated in the header at byte 0"), "{e}");
    }

    #[test]
    fn extended_headers_then_the_end_are_an_empty_archive() {
        // Go's pax-path-hdr.tar, recreated: a PAX header and nothing after it. Go's
        // TestReadTruncation: "PAX header without data is a valid tar file" (no entry,
        // io.EOF); a partial block after it is ErrUnexpectedEOF.
        let pax = include_bytes!("../../testdata/tar/pax-path-hdr.tar");
        assert_eq!(entries(pax).unwrap().len(), 0);
        let mut t = pax.to_vec();
        t.extend([0u8; 1024]);
        assert_eq!(entries(&t).unwrap().len(), 0);
        let mut t = pax.to_vec();
        t.push(b'g');
        let e = entries(&t).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        // A GNU long name likewise (Go returns io.EOF there too).
        let mut t = header(b"././@LongLink", b'L', 4, GNU).to_vec();
        t.extend(padded(b"name"));
        assert_eq!(entries(&t).unwrap().len(), 0);
    }

    #[test]
    fn numbers_as_writers_pad_them() {
        for (field, want) in [
            (&b"0000644\0"[..], 0o644),
            (b"    644 ", 0o644),
            (b"\0\0\x00644\0", 0o644),
            (b"0000644\0\xff\xfe", 0o644),
            (b"        ", 0),
            (b"\0\0\0\0", 0),
        ] {
            assert_eq!(parse_number(field), Ok(want), "{field:?}");
        }
        assert!(parse_number(b"0000689\0").is_err());
    }

    #[test]
    fn end_marker_and_bare_end_both_end_the_archive() {
        let mut t = header(b"a", b'0', 1, GNU).to_vec();
        t.extend(padded(b"1"));
        assert_eq!(entries(&t).unwrap().len(), 1);
        t.extend([0u8; 1024]);
        t.extend(header(b"after-end", b'0', 0, GNU));
        assert_eq!(entries(&t).unwrap().len(), 1);
    }
}
