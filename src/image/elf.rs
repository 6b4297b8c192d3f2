//! Just enough ELF to judge startup: the `PT_INTERP` loader path and the
//! `DT_NEEDED` / `DT_RUNPATH` / `DT_RPATH` entries, read from a bounded prefix of the
//! file captured while the layer streams past.
//!
//! Written by hand rather than with `goblin`'s full parser because goblin wants the
//! whole file in memory and fails on a truncated buffer; here a binary whose dynamic
//! section lies beyond the captured prefix simply reports its libraries as unknown.
//! Every offset is bounds-checked: a hostile header yields `None`, never a panic.

use serde::{Deserialize, Serialize};

/// How many leading bytes of each ELF file are kept while streaming.
pub const PREFIX: usize = 1024 * 1024;

/// What startup verification needs from an ELF file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfInfo {
    /// The `PT_INTERP` loader, if the binary is dynamically linked.
    pub interp: Option<String>,
    /// `DT_NEEDED` libraries; `None` when the dynamic section was out of reach.
    pub needed: Option<Vec<String>>,
    /// `DT_RUNPATH` and `DT_RPATH` directories.
    pub runpath: Vec<String>,
}

/// Byte windows of the file: the prefix at offset 0, and the dynamic section.
struct Reader<'a> {
    windows: [(u64, &'a [u8]); 2],
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
        let rest = self.slice(at)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
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
    let r = reader(prefix, (0, &[]))?;
    let d = segments(&r)?.into_iter().find(|s| s.kind == PT_DYNAMIC)?;
    (d.filesz <= 64 * 1024).then_some((d.offset, d.filesz))
}

const PT_LOAD: u64 = 1;
const PT_DYNAMIC: u64 = 2;
const PT_INTERP: u64 = 3;

fn reader<'a>(prefix: &'a [u8], dynamic: (u64, &'a [u8])) -> Option<Reader<'a>> {
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
    let r = reader(prefix, dynamic)?;
    let wide = r.wide;
    let segments = segments(&r)?;
    let mut info = ElfInfo::default();
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
    let mut path_offs = Vec::new();
    let mut complete = true;
    let count = dynamic.filesz / entry;
    for i in 0..count.min(4096) {
        let at = dynamic.offset.saturating_add(i.saturating_mul(entry));
        let (Some(tag), Some(val)) = (r.word(at), r.word(at.saturating_add(entry / 2))) else {
            complete = false;
            break;
        };
        match tag {
            0 => break,
            1 => needed_offs.push(val),
            5 => strtab = Some(val),
            15 | 29 => path_offs.push(val),
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
    for off in path_offs {
        if let Some(p) = r.cstr(base.saturating_add(off)) {
            info.runpath
                .extend(p.split(':').filter(|s| !s.is_empty()).map(str::to_owned));
        }
    }
    if complete {
        info.needed = Some(needed);
    }
    Some(info)
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
}
