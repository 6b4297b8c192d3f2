//! Just enough ELF to judge startup: the class and machine (so a loader or library
//! of another architecture is told apart), the `PT_INTERP` loader path and the
//! `DT_NEEDED` / `DT_SONAME` / `DT_RUNPATH` / `DT_RPATH` / `DT_FLAGS_1` entries, read
//! from a bounded prefix of the file captured while the layer streams past. For a
//! dynamic loader itself (glibc's `ld.so`), also the library directories compiled
//! into it ([`system_dirs`]), so "the default directories" are the ones that loader
//! searches rather than a list that fits one distribution.
//!
//! Written by hand rather than with `goblin`'s full parser because goblin wants the
//! whole file in memory and fails on a truncated buffer; here a binary whose dynamic
//! section lies beyond the captured prefix simply reports its libraries as unknown.
//! Every offset is bounds-checked: a hostile header yields `None`, never a panic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How many leading bytes of each ELF file are kept while streaming.
pub const PREFIX: usize = 1024 * 1024;

/// What startup verification needs from an ELF file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfInfo {
    /// `ELFCLASS64` (rather than `ELFCLASS32`).
    pub wide: bool,
    /// `e_machine`: 62 x86-64, 3 i386, 183 AArch64, 40 ARM, ….
    pub machine: u16,
    /// `e_flags` (ARM's float ABI, RISC-V's and LoongArch's).
    pub flags: u32,
    /// The `PT_INTERP` loader, if the binary is dynamically linked.
    pub interp: Option<String>,
    /// `DT_NEEDED` libraries; `None` when the dynamic section was out of reach.
    pub needed: Option<Vec<String>>,
    /// `DT_SONAME`.
    pub soname: Option<String>,
    /// `DT_RPATH` directories (ignored by `ld.so` when `DT_RUNPATH` is present).
    pub rpath: Vec<String>,
    /// `DT_RUNPATH` directories.
    pub runpath: Vec<String>,
    /// `DF_1_NODEFLIB`: the loader skips its cache and default directories.
    pub nodeflib: bool,
    /// For a glibc dynamic loader: its built-in library directories, in search order,
    /// without trailing `/` (see [`system_dirs`]); empty otherwise.
    pub system_dirs: Vec<String>,
}

impl ElfInfo {
    /// Whether `other` can be loaded into the same process: same class and machine
    /// (what `ld.so`'s `open_verify` checks before it takes a candidate).
    #[must_use]
    pub fn same_arch(&self, other: &ElfInfo) -> bool {
        self.wide == other.wide && self.machine == other.machine
    }

    /// "ELF64 x86-64", "ELF32 i386", …: the class and machine, for messages.
    #[must_use]
    pub fn arch(&self) -> String {
        let machine = match self.machine {
            3 => "i386".to_owned(),
            8 => "MIPS".to_owned(),
            20 => "PowerPC".to_owned(),
            21 => "PowerPC64".to_owned(),
            22 => "S/390".to_owned(),
            40 => "ARM".to_owned(),
            43 => "SPARC V9".to_owned(),
            62 => "x86-64".to_owned(),
            183 => "AArch64".to_owned(),
            243 => "RISC-V".to_owned(),
            258 => "LoongArch".to_owned(),
            other => format!("machine {other}"),
        };
        format!("ELF{} {machine}", if self.wide { 64 } else { 32 })
    }
}

/// Byte windows of the file: the prefix at offset 0, and the dynamic section; and
/// the strings [`Sniffer`] caught beyond the prefix, by file offset.
struct Reader<'a> {
    windows: [(u64, &'a [u8]); 2],
    strings: Option<&'a BTreeMap<u64, String>>,
    big: bool,
    wide: bool,
}

impl<'a> Reader<'a> {
    /// The bytes from file offset `at` to the end of the window holding it.
    fn slice(&self, at: u64) -> Option<&'a [u8]> {
        self.windows.iter().find_map(|&(start, data)| {
            let rel = usize::try_from(at.checked_sub(start)?).ok()?;
            data.get(rel..)
        })
    }
    fn bytes<const N: usize>(&self, at: u64) -> Option<[u8; N]> {
        self.slice(at)?.get(..N)?.try_into().ok()
    }
    fn u16(&self, at: u64) -> Option<u64> {
        let b = self.bytes::<2>(at)?;
        Some(u64::from(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }))
    }
    fn u32(&self, at: u64) -> Option<u64> {
        let b = self.bytes::<4>(at)?;
        Some(u64::from(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }))
    }
    fn u64(&self, at: u64) -> Option<u64> {
        let b = self.bytes::<8>(at)?;
        Some(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
    /// A word: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, at: u64) -> Option<u64> {
        if self.wide {
            self.u64(at)
        } else {
            self.u32(at)
        }
    }
    fn cstr(&self, at: u64) -> Option<String> {
        if let Some(rest) = self.slice(at) {
            if let Some(end) = rest.iter().position(|&b| b == 0) {
                return Some(String::from_utf8_lossy(&rest[..end]).into_owned());
            }
        }
        // A caught string holding `at`: string tables share tails, so an offset may
        // point into the middle of one.
        let (&start, text) = self.strings?.range(..=at).next_back()?;
        let skip = usize::try_from(at - start).ok()?;
        text.get(skip..).map(str::to_owned)
    }
}

struct Segment {
    kind: u64,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// Whether `head` starts like an ELF file.
#[must_use]
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// The file range of the dynamic section (`PT_DYNAMIC`), read from the program
/// headers in `prefix`, so a streaming reader can capture it when it lies beyond the
/// prefix (large binaries keep it near the end). At most 64 KiB.
#[must_use]
pub fn dynamic_range(prefix: &[u8]) -> Option<(u64, u64)> {
    let r = reader(prefix, (0, &[]), None)?;
    let d = segments(&r)?.into_iter().find(|s| s.kind == PT_DYNAMIC)?;
    (d.filesz <= 64 * 1024).then_some((d.offset, d.filesz))
}

/// Where the dynamic string table may lie beyond `prefix`: up to the end of the
/// first loadable segment, which holds `.dynstr` in what every linker writes. `None`
/// when that segment ends within the prefix (everything needed is in it).
#[must_use]
pub fn strings_end(prefix: &[u8]) -> Option<u64> {
    let r = reader(prefix, (0, &[]), None)?;
    let first = segments(&r)?
        .into_iter()
        .filter(|s| s.kind == PT_LOAD)
        .min_by_key(|s| s.offset)?;
    let end = first.offset.checked_add(first.filesz)?;
    (end > prefix.len() as u64).then_some(end)
}

/// The longest string caught beyond the prefix (`PATH_MAX` without its NUL).
const SNIFF_STRING_MAX: usize = 4095;
/// At most this many strings, and this many bytes of them, are caught per file.
const SNIFF_COUNT_MAX: usize = 4096;
const SNIFF_BYTES_MAX: usize = 256 * 1024;

/// Catches, as a large ELF file streams past its prefix, the strings the dynamic
/// section may point to: library names (holding `.so`) and search paths (starting
/// with `/` or `$`). A big library keeps `.dynstr` beyond the first MiB, and its
/// `DT_NEEDED` names at the end of it (libnode: 5 MB of symbol names, then the
/// libraries), while its dynamic section comes last; there is no going back in a
/// stream, so the candidates are kept, by offset, until the dynamic section says
/// which were meant. Bounded: [`SNIFF_COUNT_MAX`] strings, [`SNIFF_BYTES_MAX`]
/// bytes; past that, what was not caught reads as unknown, never as absent.
#[derive(Debug, Default)]
pub struct Sniffer {
    /// Bytes since the last NUL, and their file offset.
    partial: Vec<u8>,
    partial_at: u64,
    /// The current string grew past [`SNIFF_STRING_MAX`]: skip to its NUL.
    too_long: bool,
    bytes: usize,
    pub strings: BTreeMap<u64, String>,
}

impl Sniffer {
    /// A sniffer that starts at file offset `at`, with `before` the bytes just
    /// before it (the prefix), so a string straddling `at` is caught whole.
    #[must_use]
    pub fn new(at: u64, before: &[u8]) -> Self {
        let tail = before
            .iter()
            .rposition(|&b| b == 0)
            .map_or(before, |i| &before[i + 1..]);
        let mut s = Self {
            partial_at: at - tail.len() as u64,
            ..Self::default()
        };
        if tail.len() > SNIFF_STRING_MAX {
            s.too_long = true;
        } else {
            s.partial.extend_from_slice(tail);
        }
        s
    }

    /// Feeds the file's bytes from offset `at`.
    pub fn feed(&mut self, at: u64, chunk: &[u8]) {
        let mut start = 0;
        for nul in memchr::memchr_iter(0, chunk) {
            let piece = &chunk[start..nul];
            if !self.too_long && self.partial.len() + piece.len() <= SNIFF_STRING_MAX {
                if self.partial.is_empty() {
                    self.offer(at + start as u64, piece);
                } else {
                    self.partial.extend_from_slice(piece);
                    let whole = std::mem::take(&mut self.partial);
                    self.offer(self.partial_at, &whole);
                }
            }
            self.partial.clear();
            self.too_long = false;
            self.partial_at = at + nul as u64 + 1;
            start = nul + 1;
        }
        let rest = &chunk[start..];
        if self.too_long || self.partial.len() + rest.len() > SNIFF_STRING_MAX {
            self.too_long = true;
            self.partial.clear();
        } else {
            if self.partial.is_empty() {
                self.partial_at = at + start as u64;
            }
            self.partial.extend_from_slice(rest);
        }
    }

    fn offer(&mut self, at: u64, s: &[u8]) {
        if s.len() < 2
            || self.strings.len() >= SNIFF_COUNT_MAX
            || self.bytes + s.len() > SNIFF_BYTES_MAX
        {
            return;
        }
        let path_like = |b: u8| b.is_ascii_alphanumeric() || b"._+-/$:{}@,=~".contains(&b);
        let wanted = (s[0] == b'/' || s[0] == b'$' || memchr::memmem::find(s, b".so").is_some())
            && s.iter().all(|&b| path_like(b));
        if wanted {
            self.bytes += s.len();
            self.strings
                .insert(at, String::from_utf8_lossy(s).into_owned());
        }
    }
}

const PT_LOAD: u64 = 1;
const PT_DYNAMIC: u64 = 2;
const PT_INTERP: u64 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
const DT_FLAGS_1: u64 = 0x6fff_fffb;
const DF_1_NODEFLIB: u64 = 0x800;

fn reader<'a>(
    prefix: &'a [u8],
    dynamic: (u64, &'a [u8]),
    strings: Option<&'a BTreeMap<u64, String>>,
) -> Option<Reader<'a>> {
    if !is_elf(prefix) {
        return None;
    }
    let wide = match prefix.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match prefix.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    Some(Reader {
        windows: [(0, prefix), dynamic],
        strings,
        big,
        wide,
    })
}

fn segments(r: &Reader<'_>) -> Option<Vec<Segment>> {
    let wide = r.wide;
    let (phoff, phentsize, phnum) = if wide {
        (r.u64(0x20)?, r.u16(0x36)?, r.u16(0x38)?)
    } else {
        (r.u32(0x1c)?, r.u16(0x2a)?, r.u16(0x2c)?)
    };
    let mut segments = Vec::new();
    for i in 0..phnum {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let seg = if wide {
            Segment {
                kind: r.u32(at)?,
                offset: r.u64(at.checked_add(8)?)?,
                vaddr: r.u64(at.checked_add(16)?)?,
                filesz: r.u64(at.checked_add(32)?)?,
            }
        } else {
            Segment {
                kind: r.u32(at)?,
                offset: r.u32(at.checked_add(4)?)?,
                vaddr: r.u32(at.checked_add(8)?)?,
                filesz: r.u32(at.checked_add(16)?)?,
            }
        };
        segments.push(seg);
    }
    Some(segments)
}

/// Parses what it can from `prefix` (the first bytes of the file). `None` when the
/// header itself is not valid ELF.
#[must_use]
pub fn parse(prefix: &[u8]) -> Option<ElfInfo> {
    parse_with(prefix, (0, &[]))
}

/// [`parse`], with the dynamic section captured separately (`(offset, bytes)`).
#[must_use]
pub fn parse_with(prefix: &[u8], dynamic: (u64, &[u8])) -> Option<ElfInfo> {
    parse_streamed(prefix, dynamic, None)
}

/// [`parse_with`], also reading strings a [`Sniffer`] caught beyond the prefix.
#[must_use]
pub fn parse_streamed(
    prefix: &[u8],
    dynamic: (u64, &[u8]),
    strings: Option<&BTreeMap<u64, String>>,
) -> Option<ElfInfo> {
    let r = reader(prefix, dynamic, strings)?;
    let wide = r.wide;
    let segments = segments(&r)?;
    let mut info = ElfInfo {
        wide,
        machine: u16::try_from(r.u16(0x12)?).ok()?,
        flags: u32::try_from(r.u32(if wide { 0x30 } else { 0x24 })?).ok()?,
        ..ElfInfo::default()
    };
    if let Some(s) = segments.iter().find(|s| s.kind == PT_INTERP) {
        info.interp = Some(r.cstr(s.offset)?);
    }
    let Some(dynamic) = segments.iter().find(|s| s.kind == PT_DYNAMIC) else {
        info.needed = Some(Vec::new());
        return Some(info);
    };
    // Collect the dynamic entries; strtab is a virtual address mapped through PT_LOAD.
    let entry = if wide { 16 } else { 8 };
    let mut strtab = None;
    let mut needed_offs = Vec::new();
    let mut rpath_offs = Vec::new();
    let mut runpath_offs = Vec::new();
    let mut soname_off = None;
    let mut complete = true;
    let count = dynamic.filesz / entry;
    for i in 0..count.min(4096) {
        let at = dynamic.offset.saturating_add(i.saturating_mul(entry));
        let (Some(tag), Some(val)) = (r.word(at), r.word(at.saturating_add(entry / 2))) else {
            complete = false;
            break;
        };
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed_offs.push(val),
            DT_STRTAB => strtab = Some(val),
            DT_SONAME => soname_off = Some(val),
            DT_RPATH => rpath_offs.push(val),
            DT_RUNPATH => runpath_offs.push(val),
            DT_FLAGS_1 => info.nodeflib = val & DF_1_NODEFLIB != 0,
            _ => {}
        }
    }
    let strtab_off = strtab.and_then(|addr| {
        segments
            .iter()
            .find(|s| s.kind == PT_LOAD && addr >= s.vaddr && addr - s.vaddr < s.filesz)
            .and_then(|s| s.offset.checked_add(addr - s.vaddr))
    });
    let Some(base) = strtab_off else {
        return Some(info);
    };
    let mut needed = Vec::new();
    for off in needed_offs {
        match r.cstr(base.saturating_add(off)) {
            Some(name) => needed.push(name),
            None => complete = false,
        }
    }
    // A search path that cannot be read makes the libraries unknown: judging them
    // without it could call a library missing that the path finds.
    let mut paths = |offs: Vec<u64>| -> Vec<String> {
        let mut dirs = Vec::new();
        for off in offs {
            match r.cstr(base.saturating_add(off)) {
                Some(p) => dirs.extend(p.split(':').filter(|s| !s.is_empty()).map(str::to_owned)),
                None => complete = false,
            }
        }
        dirs
    };
    info.rpath = paths(rpath_offs);
    info.runpath = paths(runpath_offs);
    info.soname = soname_off.and_then(|off| r.cstr(base.saturating_add(off)));
    if complete {
        info.needed = Some(needed);
    }
    if info.interp.is_none() && info.soname.as_deref().is_some_and(is_loader_soname) {
        info.system_dirs = system_dirs(prefix);
    }
    Some(info)
}

/// Whether a `DT_SONAME` is a glibc dynamic loader's: `ld-linux-x86-64.so.2`,
/// `ld-linux.so.2`, `ld-linux-aarch64.so.1`, `ld64.so.2` (ppc64le), `ld.so.1` (MIPS).
fn is_loader_soname(soname: &str) -> bool {
    ["ld-linux", "ld64.so.", "ld.so."]
        .iter()
        .any(|p| soname.starts_with(p))
}

/// The library directories compiled into a glibc `ld.so` (`SYSTEM_DIRS` in
/// `elf/dl-load.c`, generated by `gen-trusted-dirs.awk`): a run of NUL-terminated
/// absolute paths, each ending in `/`, e.g. Debian amd64's
/// `/lib/x86_64-linux-gnu/\0/usr/lib/x86_64-linux-gnu/\0/lib/\0/usr/lib/\0` or
/// Fedora's `/lib64/\0/usr/lib64/\0`. The first run of at least two such paths, one
/// of them naming `lib`, is taken; none found (a stripped or unusual loader, or one
/// beyond the prefix) gives an empty list, and the caller falls back to a generous
/// default.
#[must_use]
pub fn system_dirs(image: &[u8]) -> Vec<String> {
    let is_dir = |s: &[u8]| {
        s.len() >= 2
            && s.len() <= 256
            && s[0] == b'/'
            && s[s.len() - 1] == b'/'
            && s.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"/._+-".contains(&b))
    };
    let mut at = 0;
    while let Some(i) = image[at..].windows(2).position(|w| w == b"\0/") {
        let start = at + i + 1;
        let mut dirs = Vec::new();
        let mut pos = start;
        while let Some(len) = image[pos..].iter().take(257).position(|&b| b == 0) {
            let s = &image[pos..pos + len];
            if !is_dir(s) {
                break;
            }
            dirs.push(String::from_utf8_lossy(&s[..s.len() - 1]).into_owned());
            pos += len + 1;
        }
        if dirs.len() >= 2
            && dirs
                .iter()
                .any(|d| d.split('/').any(|c| c.starts_with("lib")))
        {
            return dirs
                .into_iter()
                .map(|d| if d.is_empty() { "/".to_owned() } else { d })
                .collect();
        }
        at = start;
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_headers_do_not_panic() {
        assert_eq!(parse(b"not elf"), None);
        let mut h = b"\x7fELF\x02\x01\x01".to_vec();
        h.resize(64, 0xff);
        let _ = parse(&h);
        h.resize(4096, 0xff);
        let _ = parse(&h);
        for len in 0..64 {
            let _ = parse(&h[..len]);
        }
        // Offsets at the top of the address space must not overflow.
        let mut wide = b"\x7fELF\x02\x01\x01".to_vec();
        wide.resize(64, 0);
        wide[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        wide[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        wide[0x38..0x3a].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(parse(&wide), None);
        assert_eq!(dynamic_range(&wide), None);
    }

    #[test]
    fn reads_a_real_binary() {
        // The test binary itself is a dynamically linked ELF on Linux.
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let Ok(bytes) = std::fs::read(exe) else {
            return;
        };
        let prefix = &bytes[..bytes.len().min(PREFIX)];
        let info = match dynamic_range(prefix) {
            Some((start, len)) => {
                let start_u = usize::try_from(start).unwrap();
                let window = &bytes[start_u..start_u + usize::try_from(len).unwrap()];
                parse_with(prefix, (start, window)).unwrap()
            }
            None => parse(prefix).unwrap(),
        };
        if let Some(interp) = info.interp {
            assert!(interp.starts_with('/'), "{interp}");
            let needed = info.needed.unwrap_or_default();
            assert!(needed.iter().any(|n| n.starts_with("libc.")), "{needed:?}");
        }
    }

    #[test]
    fn loader_system_dirs() {
        let debian = b"xx\0/etc/ld.so.cache\0/lib/x86_64-linux-gnu/\0/usr/lib/x86_64-linux-gnu/\0/lib/\0/usr/lib/\0\0";
        assert_eq!(
            system_dirs(debian),
            [
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib",
                "/usr/lib"
            ]
        );
        assert_eq!(
            system_dirs(b"\0/proc/self/\0\0/lib64/\0/usr/lib64/\0"),
            ["/lib64", "/usr/lib64"]
        );
        assert!(system_dirs(b"\0/lib/\0nothing").is_empty());
        assert!(system_dirs(b"").is_empty());
        // The host's own loader, where there is one (Debian CI: multiarch first).
        if let Ok(bytes) = std::fs::read("/lib64/ld-linux-x86-64.so.2") {
            let prefix = &bytes[..bytes.len().min(PREFIX)];
            let info = match dynamic_range(prefix) {
                Some((start, len)) if start as usize + len as usize <= bytes.len() => {
                    let at = usize::try_from(start).unwrap();
                    let window = &bytes[at..at + usize::try_from(len).unwrap()];
                    parse_with(prefix, (start, window)).unwrap()
                }
                _ => parse(prefix).unwrap(),
            };
            assert_eq!(info.soname.as_deref(), Some("ld-linux-x86-64.so.2"));
            assert!(info.interp.is_none());
            assert!(info.system_dirs.len() >= 2, "{:?}", info.system_dirs);
            assert_eq!(info.machine, 62);
            assert!(info.wide);
        }
    }
}
