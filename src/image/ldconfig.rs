//! What glibc's dynamic loader knows beyond its built-in directories: the
//! `/etc/ld.so.cache` that `ldconfig` writes, and the `/etc/ld.so.conf` it reads to
//! write it. Pure parsers: this module does no I/O. The cache comes in as bytes; the
//! configuration's files and directory listings come from caller-supplied closures,
//! so both can be served from an image's merged filesystem as well as from disk.
//!
//! Why both: `ld.so` reads only the cache (plus `LD_LIBRARY_PATH`, `DT_RUNPATH` and
//! its built-in directories), never `ld.so.conf`. A library in a directory listed in
//! `ld.so.conf.d` is found only if `ldconfig` ran after it was installed; the cache
//! says what the loader will find, the configuration says what a later `ldconfig`
//! would add (testdata/debian: `ok-ldconf-ldconfig` starts, `broken-ldconf-no-ldconfig`
//! does not).
//!
//! # `ld.so.cache` (glibc `sysdeps/generic/dl-cache.h`, `elf/cache.c`)
//!
//! Three layouts; integers are in the writer's byte order:
//!
//! - **old** (libc5, glibc ≤ 2.1): `"ld.so-1.7.0"` (11 bytes), 1 byte padding,
//!   `u32 nlibs`, then `nlibs` entries of 12 bytes `{i32 flags, u32 key, u32 value}`.
//!   `key` (the soname) and `value` (the path) are offsets of NUL-terminated strings
//!   counted from the end of the entry array.
//! - **new** (what glibc ≥ 2.32 writes by default; Debian bookworm's glibc 2.36
//!   does): a 48-byte header `"glibc-ld.so.cache"` `"1.1"`, `u32 nlibs`,
//!   `u32 len_strings`, `u8 flags` (byte order: 0 unknown, 1 invalid, 2 little,
//!   3 big), 3 bytes padding, `u32 extension_offset`, 3 × `u32` unused; then `nlibs`
//!   entries of 24 bytes `{i32 flags, u32 key, u32 value, u32 osversion, u64 hwcap}`
//!   whose string offsets count from the start of this header; then the strings.
//!   `extension_offset` (a file offset, multiple of 4; 0 = none) points to
//!   `{u32 magic 0xeaa42174, u32 count}` and `count` sections of
//!   `{u32 tag, u32 flags, u32 offset, u32 size}` (file offsets): tag 0 is the
//!   generator string (`ldconfig (Debian GLIBC 2.36-9) …`), tag 1 the glibc-hwcaps
//!   subdirectory names, an array of `u32` string offsets (counted like `key`).
//!   An entry whose `hwcap` has bit 62 set (and nothing else in the upper half but
//!   the 10 ISA-level bits) lives in a glibc-hwcaps subdirectory; its low 32 bits
//!   index that array.
//! - **compat** (`ldconfig -c compat`): an old-format file whose string area starts
//!   with a complete new-format header and entries, at the first 8-byte-aligned
//!   offset after the old entries. `ld.so` then uses the new table only, and so do we.
//!   (glibc 2.36's `ldconfig -p` prints the hwcaps names of a compat file as `""`:
//!   it resolves them from the file start; the writer counts from the new header.)
//!
//! Entry `flags`: the low byte is the type ([`FLAG_ELF`] = 1, [`FLAG_ELF_LIBC6`] = 3);
//! the next byte the ABI ([`FLAG_X8664_LIB64`] 0x0300, [`FLAG_AARCH64_LIB64`]
//! 0x0a00, …, 0 for i386 and other 32-bit defaults). `ld.so` accepts an entry whose
//! flags are exactly its `_DL_CACHE_DEFAULT_ID` ([`expected_flags`]), or 1.
//!
//! Parsing is bounded: at most [`MAX_CACHE_BYTES`] of input, [`MAX_CACHE_ENTRIES`]
//! entries, strings of at most [`MAX_CACHE_STRING`] bytes, every offset checked;
//! anything else is an `io::Error` of kind `InvalidData` naming the offset.
//!
//! # `ld.so.conf` (glibc `elf/ldconfig.c`, `parse_conf`)
//!
//! Line by line: everything from `#` on is a comment; leading whitespace is skipped;
//! blank lines are ignored. `include` followed by a space or tab takes the rest of
//! the line as glob patterns separated by spaces or tabs; a relative pattern is
//! relative to the including file's directory; each pattern's matches are read in
//! sorted (byte) order, depth first. `hwcap` (any case) followed by a blank is
//! ignored (glibc says so too). Any other line is one directory (no splitting on
//! spaces), with trailing whitespace and trailing `/` removed; an empty result is
//! ignored. `ldconfig` then adds its built-in directories (on Debian amd64:
//! `/lib/x86_64-linux-gnu`, `/usr/lib/x86_64-linux-gnu`), which are not listed here.
//!
//! Glob patterns support `*`, `?`, `[…]` (with `!`/`^` negation and ranges) and `\`
//! escapes, per path component; wildcards do not match a leading `.`, as glob(3)
//! without `GLOB_PERIOD`. Includes nest at most [`MAX_INCLUDE_DEPTH`] deep, a file
//! already on the include stack is not read again (a cycle), and at most
//! [`MAX_CONF_FILES`] files and [`MAX_CONF_DIRS`] directories are taken; each limit
//! hit is reported as a [`ConfWarning`], never an error.

use std::io;

// ---------------------------------------------------------------------------------
// ld.so.cache
// ---------------------------------------------------------------------------------

/// The largest cache accepted (real ones are tens to hundreds of KiB).
pub const MAX_CACHE_BYTES: usize = 64 << 20;
/// The most entries accepted in one table (a full desktop has a few thousand).
pub const MAX_CACHE_ENTRIES: usize = 1 << 18;
/// The longest soname or path accepted, without its NUL (`PATH_MAX`).
pub const MAX_CACHE_STRING: usize = 4096;

/// Magic of the old format.
pub const CACHE_MAGIC_OLD: &[u8; 11] = b"ld.so-1.7.0";
/// Magic and version of the new format.
pub const CACHE_MAGIC_NEW: &[u8; 20] = b"glibc-ld.so.cache1.1";
/// Magic of the new format's extension directory.
pub const CACHE_EXTENSION_MAGIC: u32 = 0xeaa4_2174;

/// Entry type mask and values (`ldconfig.h`).
pub const FLAG_TYPE_MASK: u32 = 0x00ff;
pub const FLAG_LIBC4: u32 = 0x0000;
pub const FLAG_ELF: u32 = 0x0001;
pub const FLAG_ELF_LIBC5: u32 = 0x0002;
pub const FLAG_ELF_LIBC6: u32 = 0x0003;
/// Entry ABI mask and values (`ldconfig.h`).
pub const FLAG_REQUIRED_MASK: u32 = 0xff00;
pub const FLAG_SPARC_LIB64: u32 = 0x0100;
pub const FLAG_IA64_LIB64: u32 = 0x0200;
pub const FLAG_X8664_LIB64: u32 = 0x0300;
pub const FLAG_S390_LIB64: u32 = 0x0400;
pub const FLAG_POWERPC_LIB64: u32 = 0x0500;
pub const FLAG_MIPS64_LIBN32: u32 = 0x0600;
pub const FLAG_MIPS64_LIBN64: u32 = 0x0700;
pub const FLAG_X8664_LIBX32: u32 = 0x0800;
pub const FLAG_ARM_LIBHF: u32 = 0x0900;
pub const FLAG_AARCH64_LIB64: u32 = 0x0a00;
pub const FLAG_ARM_LIBSF: u32 = 0x0b00;
pub const FLAG_MIPS_LIB32_NAN2008: u32 = 0x0c00;
pub const FLAG_MIPS64_LIBN32_NAN2008: u32 = 0x0d00;
pub const FLAG_MIPS64_LIBN64_NAN2008: u32 = 0x0e00;
pub const FLAG_RISCV_FLOAT_ABI_SOFT: u32 = 0x0f00;
pub const FLAG_RISCV_FLOAT_ABI_DOUBLE: u32 = 0x1000;
pub const FLAG_LARCH_FLOAT_ABI_SOFT: u32 = 0x1100;
pub const FLAG_LARCH_FLOAT_ABI_DOUBLE: u32 = 0x1200;

/// `hwcap` bit 62: the entry is in a glibc-hwcaps subdirectory.
pub const HWCAP_EXTENSION: u64 = 1 << 62;
/// The ISA-level bits in the upper half of `hwcap`.
const HWCAP_ISA_LEVEL_MASK: u64 = (1 << 10) - 1;

const OLD_HEADER: usize = 16;
const OLD_ENTRY: usize = 12;
const NEW_HEADER: usize = 48;
const NEW_ENTRY: usize = 24;

/// Which layout a cache file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheFormat {
    /// `ld.so-1.7.0` only.
    Old,
    /// `glibc-ld.so.cache1.1` only.
    New,
    /// `ld.so-1.7.0` with a new-format table embedded (entries come from the latter).
    Compat,
}

/// The byte order the cache was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

/// One cache entry: `ld.so` maps `soname` to `path` when `flags` fit its ABI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub flags: u32,
    pub soname: String,
    pub path: String,
    /// Required OS version (new format; unused by glibc ≥ 2.33, 0 otherwise).
    pub osversion: u32,
    /// Hardware capabilities (new format; 0 for the baseline entry).
    pub hwcap: u64,
}

impl CacheEntry {
    /// The type byte: [`FLAG_ELF_LIBC6`] for every glibc library.
    pub fn kind(&self) -> u32 {
        self.flags & FLAG_TYPE_MASK
    }

    /// The ABI byte: [`FLAG_X8664_LIB64`], [`FLAG_AARCH64_LIB64`], … (0 for i386).
    pub fn abi(&self) -> u32 {
        self.flags & FLAG_REQUIRED_MASK
    }

    /// How `ldconfig -p` describes the flags: `"libc6,x86-64"`, `"libc6"`, ….
    pub fn describe_flags(&self) -> String {
        let kind = match self.kind() {
            FLAG_LIBC4 => "libc4",
            FLAG_ELF => "ELF",
            FLAG_ELF_LIBC5 => "libc5",
            FLAG_ELF_LIBC6 => "libc6",
            _ => "unknown",
        };
        let abi = match self.abi() {
            0 => return kind.to_string(),
            FLAG_SPARC_LIB64 | FLAG_S390_LIB64 | FLAG_POWERPC_LIB64 | FLAG_MIPS64_LIBN64 => "64bit",
            FLAG_IA64_LIB64 => "IA-64",
            FLAG_X8664_LIB64 => "x86-64",
            FLAG_MIPS64_LIBN32 => "N32",
            FLAG_X8664_LIBX32 => "x32",
            FLAG_ARM_LIBHF => "hard-float",
            FLAG_AARCH64_LIB64 => "AArch64",
            FLAG_ARM_LIBSF | FLAG_RISCV_FLOAT_ABI_SOFT | FLAG_LARCH_FLOAT_ABI_SOFT => "soft-float",
            FLAG_MIPS_LIB32_NAN2008 => "nan2008",
            FLAG_MIPS64_LIBN32_NAN2008 => "N32,nan2008",
            FLAG_MIPS64_LIBN64_NAN2008 => "64bit,nan2008",
            FLAG_RISCV_FLOAT_ABI_DOUBLE | FLAG_LARCH_FLOAT_ABI_DOUBLE => "double-float",
            other => return format!("{kind},{other}"),
        };
        format!("{kind},{abi}")
    }

    /// For an entry in a glibc-hwcaps subdirectory, its index into
    /// [`LdCache::hwcaps`]; `None` for ordinary entries.
    pub fn hwcaps_index(&self) -> Option<u32> {
        ((self.hwcap >> 32) & !HWCAP_ISA_LEVEL_MASK == HWCAP_EXTENSION >> 32)
            .then_some(self.hwcap as u32)
    }

    /// The x86 ISA level the entry needs (bits 32..42 of `hwcap`; 0 = any).
    pub fn isa_level(&self) -> u32 {
        ((self.hwcap >> 32) & HWCAP_ISA_LEVEL_MASK) as u32
    }
}

/// A parsed `ld.so.cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdCache {
    pub format: CacheFormat,
    pub byte_order: ByteOrder,
    /// The table `ld.so` searches (the new one when present), in file order: sorted
    /// by soname, most specific first (glibc-hwcaps entries before the baseline).
    pub entries: Vec<CacheEntry>,
    /// The generator extension: which ldconfig wrote the file.
    pub generator: Option<String>,
    /// The glibc-hwcaps extension: subdirectory names (`x86-64-v3`, …).
    pub hwcaps: Vec<String>,
}

impl LdCache {
    /// Every entry for `soname`, in file order.
    pub fn entries_for<'a>(&'a self, soname: &'a str) -> impl Iterator<Item = &'a CacheEntry> {
        self.entries.iter().filter(move |e| e.soname == soname)
    }

    /// The path `ld.so` takes from the cache for `soname` on a CPU without any
    /// optional hardware capability: among the entries without `hwcap` whose flags
    /// are `expected` or [`FLAG_ELF`], an exact match wins, else the first generic
    /// one (`search_cache` in glibc's `elf/dl-cache.c`).
    pub fn lookup(&self, soname: &str, expected: u32) -> Option<&CacheEntry> {
        let mut generic = None;
        let baseline = self
            .entries
            .iter()
            .filter(|e| e.soname == soname && e.hwcap == 0);
        for entry in baseline {
            if entry.flags == expected {
                return Some(entry);
            }
            if entry.flags == FLAG_ELF && generic.is_none() {
                generic = Some(entry);
            }
        }
        generic
    }
}

/// The cache flags `ld.so` accepts as exact for an ELF object (`_DL_CACHE_DEFAULT_ID`
/// in glibc's `sysdeps/*/dl-cache.h`): from `e_machine`, the class (64-bit or not)
/// and `e_flags` (ARM's float ABI, RISC-V's and LoongArch's float ABI). `None` for
/// machines not listed (MIPS, …).
pub fn expected_flags(e_machine: u16, is_64: bool, e_flags: u32) -> Option<u32> {
    const EM_SPARCV9: u16 = 43;
    const EM_386: u16 = 3;
    const EM_PPC: u16 = 20;
    const EM_PPC64: u16 = 21;
    const EM_S390: u16 = 22;
    const EM_ARM: u16 = 40;
    const EM_IA_64: u16 = 50;
    const EM_X86_64: u16 = 62;
    const EM_AARCH64: u16 = 183;
    const EM_RISCV: u16 = 243;
    const EM_LOONGARCH: u16 = 258;
    const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;
    const EF_RISCV_FLOAT_ABI: u32 = 0x6;
    const EF_RISCV_FLOAT_ABI_DOUBLE: u32 = 0x4;
    const EF_LARCH_ABI_MODIFIER_MASK: u32 = 0x7;
    const EF_LARCH_ABI_DOUBLE_FLOAT: u32 = 0x3;
    let abi = match (e_machine, is_64) {
        (EM_386 | EM_PPC, false) | (EM_S390, false) => 0,
        (EM_X86_64, true) => FLAG_X8664_LIB64,
        (EM_X86_64, false) => FLAG_X8664_LIBX32,
        (EM_AARCH64, true) => FLAG_AARCH64_LIB64,
        (EM_ARM, false) if e_flags & EF_ARM_ABI_FLOAT_HARD != 0 => FLAG_ARM_LIBHF,
        (EM_ARM, false) => FLAG_ARM_LIBSF,
        (EM_PPC64, true) => FLAG_POWERPC_LIB64,
        (EM_S390, true) => FLAG_S390_LIB64,
        (EM_SPARCV9, true) => FLAG_SPARC_LIB64,
        (EM_IA_64, true) => FLAG_IA64_LIB64,
        (EM_RISCV, _) if e_flags & EF_RISCV_FLOAT_ABI == EF_RISCV_FLOAT_ABI_DOUBLE => {
            FLAG_RISCV_FLOAT_ABI_DOUBLE
        }
        (EM_RISCV, _) if e_flags & EF_RISCV_FLOAT_ABI == 0 => FLAG_RISCV_FLOAT_ABI_SOFT,
        (EM_LOONGARCH, true)
            if e_flags & EF_LARCH_ABI_MODIFIER_MASK == EF_LARCH_ABI_DOUBLE_FLOAT =>
        {
            FLAG_LARCH_FLOAT_ABI_DOUBLE
        }
        (EM_LOONGARCH, true) => FLAG_LARCH_FLOAT_ABI_SOFT,
        _ => return None,
    };
    Some(abi | FLAG_ELF_LIBC6)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("ld.so.cache: {message}"),
    )
}

/// Bounds-checked reads in one byte order.
struct Bytes<'a> {
    data: &'a [u8],
    order: ByteOrder,
}

impl Bytes<'_> {
    fn array<const N: usize>(&self, at: usize, what: &str) -> io::Result<[u8; N]> {
        at.checked_add(N)
            .and_then(|end| self.data.get(at..end))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                invalid(format!(
                    "{what} at offset {at} runs past the end ({} bytes)",
                    self.data.len()
                ))
            })
    }
    fn u32(&self, at: usize, what: &str) -> io::Result<u32> {
        let b = self.array::<4>(at, what)?;
        Ok(match self.order {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        })
    }
    fn u64(&self, at: usize, what: &str) -> io::Result<u64> {
        let b = self.array::<8>(at, what)?;
        Ok(match self.order {
            ByteOrder::Little => u64::from_le_bytes(b),
            ByteOrder::Big => u64::from_be_bytes(b),
        })
    }
    /// The NUL-terminated string at `base + offset`; `field_at` names the field
    /// holding the offset, for the error.
    fn string(&self, base: usize, offset: u32, field_at: usize, what: &str) -> io::Result<String> {
        let start = base
            .checked_add(offset as usize)
            .filter(|&s| s < self.data.len())
            .ok_or_else(|| {
                invalid(format!(
                    "{what} offset {offset} (field at offset {field_at}) is outside the \
                     file ({} bytes)",
                    self.data.len()
                ))
            })?;
        let rest = &self.data[start..];
        let window = &rest[..rest.len().min(MAX_CACHE_STRING + 1)];
        let len = window.iter().position(|&b| b == 0).ok_or_else(|| {
            invalid(format!(
                "{what} at offset {start} (field at offset {field_at}) has no NUL within \
                 {MAX_CACHE_STRING} bytes or before the end"
            ))
        })?;
        Ok(String::from_utf8_lossy(&window[..len]).into_owned())
    }
}

/// Parses an `ld.so.cache` in any of glibc's layouts (see the module doc).
pub fn parse_cache(data: &[u8]) -> io::Result<LdCache> {
    if data.len() > MAX_CACHE_BYTES {
        return Err(invalid(format!(
            "{} bytes exceed the limit of {MAX_CACHE_BYTES}",
            data.len()
        )));
    }
    if data.starts_with(CACHE_MAGIC_NEW) {
        return parse_new(data, 0, CacheFormat::New);
    }
    if !data.starts_with(CACHE_MAGIC_OLD) {
        let head = &data[..data.len().min(20)];
        return Err(invalid(format!(
            "no ld.so.cache magic at offset 0 (found {:?})",
            String::from_utf8_lossy(head)
        )));
    }
    // The old format records no byte order: take the one whose entry count fits.
    let count_at = CACHE_MAGIC_OLD.len() + 1;
    let mut last = None;
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let b = Bytes { data, order };
        let nlibs = b.u32(count_at, "entry count")? as usize;
        match table_end(data.len(), OLD_HEADER, nlibs, OLD_ENTRY, count_at) {
            Ok(end) => return parse_old(&b, nlibs, end),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("both byte orders tried"))
}

/// Where a table of `nlibs` entries of `size` bytes from `start` ends, if it fits
/// the file and the limits.
fn table_end(
    len: usize,
    start: usize,
    nlibs: usize,
    size: usize,
    count_at: usize,
) -> io::Result<usize> {
    if nlibs > MAX_CACHE_ENTRIES {
        return Err(invalid(format!(
            "entry count {nlibs} at offset {count_at} exceeds the limit of \
             {MAX_CACHE_ENTRIES}"
        )));
    }
    start
        .checked_add(nlibs * size)
        .filter(|&end| end <= len)
        .ok_or_else(|| {
            invalid(format!(
                "entry count {nlibs} at offset {count_at} needs {} bytes of entries from \
                 offset {start}; the file has {len}",
                nlibs * size
            ))
        })
}

fn parse_old(b: &Bytes<'_>, nlibs: usize, strings: usize) -> io::Result<LdCache> {
    // A new-format table may follow, 8-byte aligned, in the string area.
    let new_at = strings.next_multiple_of(8);
    if b.data.len() >= new_at + NEW_HEADER && b.data[new_at..].starts_with(CACHE_MAGIC_NEW) {
        return parse_new(b.data, new_at, CacheFormat::Compat);
    }
    let mut entries = Vec::with_capacity(nlibs);
    for i in 0..nlibs {
        let at = OLD_HEADER + i * OLD_ENTRY;
        let flags = b.u32(at, "entry flags")?;
        let key = b.u32(at + 4, "entry key")?;
        let value = b.u32(at + 8, "entry value")?;
        entries.push(CacheEntry {
            flags,
            soname: b.string(strings, key, at + 4, "soname")?,
            path: b.string(strings, value, at + 8, "path")?,
            osversion: 0,
            hwcap: 0,
        });
    }
    Ok(LdCache {
        format: CacheFormat::Old,
        byte_order: b.order,
        entries,
        generator: None,
        hwcaps: Vec::new(),
    })
}

fn parse_new(data: &[u8], base: usize, format: CacheFormat) -> io::Result<LdCache> {
    if data.len() < base + NEW_HEADER {
        return Err(invalid(format!(
            "new-format header at offset {base} runs past the end ({} bytes)",
            data.len()
        )));
    }
    let flags_at = base + 28;
    let order = match data[flags_at] & 3 {
        2 => ByteOrder::Little,
        3 => ByteOrder::Big,
        1 => {
            return Err(invalid(format!(
                "header flags at offset {flags_at} mark the cache invalid"
            )));
        }
        // Unknown (an ldconfig before glibc 2.33): the order whose count fits.
        _ => {
            let fits = |order| {
                let b = Bytes { data, order };
                b.u32(base + 20, "entry count").is_ok_and(|n| {
                    table_end(
                        data.len(),
                        base + NEW_HEADER,
                        n as usize,
                        NEW_ENTRY,
                        base + 20,
                    )
                    .is_ok()
                })
            };
            if fits(ByteOrder::Little) || !fits(ByteOrder::Big) {
                ByteOrder::Little
            } else {
                ByteOrder::Big
            }
        }
    };
    let b = Bytes { data, order };
    let nlibs = b.u32(base + 20, "entry count")? as usize;
    table_end(data.len(), base + NEW_HEADER, nlibs, NEW_ENTRY, base + 20)?;
    let mut entries = Vec::with_capacity(nlibs);
    for i in 0..nlibs {
        let at = base + NEW_HEADER + i * NEW_ENTRY;
        let key = b.u32(at + 4, "entry key")?;
        let value = b.u32(at + 8, "entry value")?;
        entries.push(CacheEntry {
            flags: b.u32(at, "entry flags")?,
            soname: b.string(base, key, at + 4, "soname")?,
            path: b.string(base, value, at + 8, "path")?,
            osversion: b.u32(at + 12, "entry osversion")?,
            hwcap: b.u64(at + 16, "entry hwcap")?,
        });
    }
    let (generator, hwcaps) = parse_extensions(&b, base)?;
    Ok(LdCache {
        format,
        byte_order: order,
        entries,
        generator,
        hwcaps,
    })
}

/// The extension directory of the new-format header at `base`.
fn parse_extensions(b: &Bytes<'_>, base: usize) -> io::Result<(Option<String>, Vec<String>)> {
    let field_at = base + 32;
    let offset = b.u32(field_at, "extension offset")? as usize;
    if offset == 0 {
        return Ok((None, Vec::new()));
    }
    if offset % 4 != 0 || offset.saturating_add(8) > b.data.len() {
        return Err(invalid(format!(
            "extension offset {offset} (field at offset {field_at}) is misaligned or \
             outside the file ({} bytes)",
            b.data.len()
        )));
    }
    let magic = b.u32(offset, "extension magic")?;
    if magic != CACHE_EXTENSION_MAGIC {
        return Err(invalid(format!(
            "extension directory at offset {offset} has magic {magic:#x}, not \
             {CACHE_EXTENSION_MAGIC:#x}"
        )));
    }
    let count = b.u32(offset + 4, "extension count")? as usize;
    table_end(b.data.len(), offset + 8, count, 16, offset + 4)?;
    let (mut generator, mut hwcaps) = (None, Vec::new());
    for i in 0..count {
        let at = offset + 8 + i * 16;
        let tag = b.u32(at, "extension tag")?;
        let start = b.u32(at + 8, "extension section offset")? as usize;
        let size = b.u32(at + 12, "extension section size")? as usize;
        let section = start
            .checked_add(size)
            .and_then(|end| b.data.get(start..end))
            .ok_or_else(|| {
                invalid(format!(
                    "extension section {i} (at offset {at}) spans offsets {start}+{size}, \
                     outside the file ({} bytes)",
                    b.data.len()
                ))
            })?;
        match tag {
            0 => {
                let text = section.split(|&c| c == 0).next().unwrap_or_default();
                generator = Some(String::from_utf8_lossy(text).into_owned());
            }
            1 => {
                if start % 4 != 0 || size % 4 != 0 {
                    return Err(invalid(format!(
                        "glibc-hwcaps section at offset {start} (size {size}) is not \
                         4-byte aligned"
                    )));
                }
                for (j, _) in section.chunks_exact(4).enumerate() {
                    let index_at = start + 4 * j;
                    let index = b.u32(index_at, "glibc-hwcaps name")?;
                    hwcaps.push(b.string(base, index, index_at, "glibc-hwcaps name")?);
                }
            }
            _ => {} // unknown tags are skipped, as ld.so does
        }
    }
    Ok((generator, hwcaps))
}

// ---------------------------------------------------------------------------------
// ld.so.conf
// ---------------------------------------------------------------------------------

/// How deep `include`s nest (glibc has no limit and recurses until the stack ends).
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// How many configuration files are read in all.
pub const MAX_CONF_FILES: usize = 256;
/// How many directories are taken in all.
pub const MAX_CONF_DIRS: usize = 1024;

/// One meaningful line of an `ld.so.conf` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// A library directory, trailing whitespace and `/` removed.
    Dir(String),
    /// `include` with its glob patterns, as written.
    Include(Vec<String>),
    /// A `hwcap` line, which glibc ignores.
    Hwcap,
}

/// Parses one configuration file's text into `(line number, directive)` pairs.
pub fn parse_conf(text: &str) -> Vec<(u32, Directive)> {
    let mut out = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = line.split('#').next().unwrap_or_default();
        let line = line.trim_start_matches(is_c_space);
        if line.is_empty() {
            continue;
        }
        let blank_after = |word: &str| {
            line.len() > word.len()
                && line.is_char_boundary(word.len())
                && matches!(line.as_bytes()[word.len()], b' ' | b'\t')
        };
        if line.starts_with("include") && blank_after("include") {
            let patterns = line[8..]
                .split([' ', '\t'])
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            out.push((number, Directive::Include(patterns)));
        } else if line
            .get(..5)
            .is_some_and(|w| w.eq_ignore_ascii_case("hwcap"))
            && blank_after("hwcap")
        {
            out.push((number, Directive::Hwcap));
        } else {
            let dir = line.trim_end_matches(is_c_space).trim_end_matches('/');
            if !dir.is_empty() {
                out.push((number, Directive::Dir(dir.to_string())));
            }
        }
    }
    out
}

/// C's `isspace` in the C locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// A library directory, with the file and line that named it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfDir {
    pub path: String,
    pub file: String,
    pub line: u32,
}

/// Something in the configuration that `ldconfig` ignores or that a limit cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfWarning {
    /// A `hwcap` line (glibc: "hwcap directive ignored").
    HwcapIgnored { file: String, line: u32 },
    /// A directory that is not absolute: `ldconfig` would resolve it against its
    /// working directory, so it is not taken.
    RelativeDir {
        file: String,
        line: u32,
        dir: String,
    },
    /// A relative include pattern in a file named without a directory.
    RelativeInclude {
        file: String,
        line: u32,
        pattern: String,
    },
    /// An include of a file already on the include stack.
    IncludeCycle {
        file: String,
        line: u32,
        target: String,
    },
    /// An include nested deeper than [`MAX_INCLUDE_DEPTH`].
    TooDeep {
        file: String,
        line: u32,
        target: String,
    },
    /// More than [`MAX_CONF_FILES`] files: `target` and the rest were not read.
    TooManyFiles {
        file: String,
        line: u32,
        target: String,
    },
    /// More than [`MAX_CONF_DIRS`] directories: `dir` and the rest were not taken.
    TooManyDirs {
        file: String,
        line: u32,
        dir: String,
    },
}

/// The configuration as `ldconfig` reads it, starting from one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdSoConf {
    /// Library directories in order, each once (the first mention is kept).
    pub dirs: Vec<ConfDir>,
    /// The files read, in order (a file that `read` could not supply is absent).
    pub files: Vec<String>,
    pub warnings: Vec<ConfWarning>,
}

/// Reads the configuration from `path` (normally `/etc/ld.so.conf`) as `ldconfig`
/// does. `read(path)` supplies a file's text (`None`: missing or unreadable, which
/// `ldconfig` silently skips); `list_dir(path)` supplies a directory's entry names
/// (without `.` and `..`; `None`: not a directory), for glob patterns.
pub fn read_conf(
    path: &str,
    mut read: impl FnMut(&str) -> Option<String>,
    mut list_dir: impl FnMut(&str) -> Option<Vec<String>>,
) -> LdSoConf {
    let mut conf = LdSoConf::default();
    let mut stack = Vec::new();
    read_conf_file(path, &mut stack, &mut read, &mut list_dir, &mut conf);
    conf
}

fn read_conf_file(
    path: &str,
    stack: &mut Vec<String>,
    read: &mut dyn FnMut(&str) -> Option<String>,
    list_dir: &mut dyn FnMut(&str) -> Option<Vec<String>>,
    conf: &mut LdSoConf,
) {
    let Some(text) = read(path) else {
        return;
    };
    conf.files.push(path.to_string());
    stack.push(path.to_string());
    let here = |line| (path.to_string(), line);
    for (line, directive) in parse_conf(&text) {
        match directive {
            Directive::Hwcap => {
                let (file, line) = here(line);
                conf.warnings.push(ConfWarning::HwcapIgnored { file, line });
            }
            Directive::Dir(dir) => {
                let (file, line) = here(line);
                if !dir.starts_with('/') {
                    conf.warnings
                        .push(ConfWarning::RelativeDir { file, line, dir });
                } else if conf.dirs.iter().any(|d| d.path == dir) {
                    // ldconfig keeps the first position of a directory named twice.
                } else if conf.dirs.len() >= MAX_CONF_DIRS {
                    conf.warnings
                        .push(ConfWarning::TooManyDirs { file, line, dir });
                } else {
                    conf.dirs.push(ConfDir {
                        path: dir,
                        file,
                        line,
                    });
                }
            }
            Directive::Include(patterns) => {
                for pattern in patterns {
                    let pattern = if pattern.starts_with('/') {
                        pattern
                    } else if let Some(slash) = path.rfind('/') {
                        format!("{}/{pattern}", &path[..slash])
                    } else {
                        let (file, line) = here(line);
                        let warning = ConfWarning::RelativeInclude {
                            file,
                            line,
                            pattern,
                        };
                        conf.warnings.push(warning);
                        continue;
                    };
                    for target in expand_glob(&pattern, list_dir) {
                        let (file, line) = here(line);
                        if stack.contains(&target) {
                            conf.warnings
                                .push(ConfWarning::IncludeCycle { file, line, target });
                        } else if stack.len() >= MAX_INCLUDE_DEPTH {
                            conf.warnings
                                .push(ConfWarning::TooDeep { file, line, target });
                        } else if conf.files.len() >= MAX_CONF_FILES {
                            conf.warnings
                                .push(ConfWarning::TooManyFiles { file, line, target });
                        } else {
                            read_conf_file(&target, stack, read, list_dir, conf);
                        }
                    }
                }
            }
        }
    }
    stack.pop();
}

/// The paths an absolute glob `pattern` names, sorted, as glob(3) with no flags:
/// components without wildcards are taken as written (their existence is left to
/// whoever reads the result); components with wildcards are matched against
/// `list_dir` of the directory so far. At most [`MAX_CONF_FILES`] results.
pub fn expand_glob(
    pattern: &str,
    list_dir: &mut dyn FnMut(&str) -> Option<Vec<String>>,
) -> Vec<String> {
    let mut paths = vec![String::new()];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for prefix in &paths {
            if !has_wildcard(component) {
                next.push(format!("{prefix}/{}", unescape(component)));
                continue;
            }
            let dir = if prefix.is_empty() {
                "/"
            } else {
                prefix.as_str()
            };
            let Some(mut names) = list_dir(dir) else {
                continue;
            };
            names.sort();
            for name in names {
                if fnmatch(component.as_bytes(), name.as_bytes()) {
                    next.push(format!("{prefix}/{name}"));
                }
            }
        }
        next.truncate(MAX_CONF_FILES);
        paths = next;
    }
    if paths == [String::new()] {
        paths = vec!["/".to_string()];
    }
    paths.sort();
    paths
}

fn has_wildcard(component: &str) -> bool {
    let bytes = component.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn unescape(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        });
    }
    out
}

/// fnmatch(3) for one path component, without `FNM_PERIOD`'s escape hatch: a
/// leading `.` in `name` must be matched by a literal `.`.
fn fnmatch(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    matches_from(pattern, name)
}

fn matches_from(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative matching with one backtrack point for the last `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => match bracket(&pattern[p..], name[n]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                None => (name[n] == b'[').then_some(1), // unterminated: a literal `[`
            },
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == name[n]).then_some(2),
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                p += len;
                n += 1;
            }
            (None, Some((sp, sn))) => {
                p = sp;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the bracket expression at the start of `pattern`; returns
/// whether it matched and the expression's length, or `None` if unterminated.
fn bracket(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &lo = pattern.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = if lo == b'\\' {
            i += 1;
            *pattern.get(i)?
        } else {
            lo
        };
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = pattern[i + 2];
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/testdata/ldcache/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    const X86_64: u32 = FLAG_X8664_LIB64 | FLAG_ELF_LIBC6;

    /// The five libraries of testdata/ldcache/make.sh, as every format lists them.
    const SMALL: &[(&str, &str)] = &[
        (
            "libz.so.1",
            "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1.2.13",
        ),
        ("libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1"),
        ("libgreet.so.1", "/opt/greet/lib/libgreet.so.1"),
        ("libfoo.so.10", "/usr/local/lib/libfoo.so.10"),
        ("libfoo.so.2", "/usr/local/lib/libfoo.so.2"),
    ];

    #[test]
    fn real_caches_written_by_glibc_2_36() {
        let generator = "ldconfig (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36";
        // (fixture, format, entries, generator, hwcaps, hwcap of the first entry)
        type Row<'a> = (
            &'a str,
            CacheFormat,
            usize,
            Option<&'a str>,
            &'a [&'a str],
            u64,
        );
        let table: &[Row] = &[
            (
                "new.cache",
                CacheFormat::New,
                5,
                Some(generator),
                &["x86-64-v3"],
                HWCAP_EXTENSION,
            ),
            ("old.cache", CacheFormat::Old, 5, None, &[], 0),
            (
                "compat.cache",
                CacheFormat::Compat,
                5,
                Some(generator),
                &["x86-64-v3"],
                HWCAP_EXTENSION,
            ),
        ];
        for &(name, format, count, gen_, hwcaps, hwcap) in table {
            let cache = parse_cache(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(cache.format, format, "{name}");
            assert_eq!(cache.byte_order, ByteOrder::Little, "{name}");
            assert_eq!(cache.entries.len(), count, "{name}");
            assert_eq!(cache.generator.as_deref(), gen_, "{name}");
            assert_eq!(cache.hwcaps, hwcaps, "{name}");
            let pairs: Vec<_> = cache
                .entries
                .iter()
                .map(|e| (e.soname.as_str(), e.path.as_str()))
                .collect();
            assert_eq!(pairs, SMALL, "{name}");
            assert!(cache.entries.iter().all(|e| e.flags == X86_64), "{name}");
            assert_eq!(cache.entries[0].hwcap, hwcap, "{name}");
            assert_eq!(cache.entries[1].hwcap, 0, "{name}");
        }
    }

    #[test]
    fn lookups_take_the_baseline_entry() {
        // (fixture, soname, expected path)
        let table: &[(&str, &str, Option<&str>)] = &[
            (
                "new.cache",
                "libz.so.1",
                Some("/usr/lib/x86_64-linux-gnu/libz.so.1"),
            ),
            (
                "compat.cache",
                "libz.so.1",
                Some("/usr/lib/x86_64-linux-gnu/libz.so.1"),
            ),
            // The old format has no hwcap field: ld.so takes the first entry.
            (
                "old.cache",
                "libz.so.1",
                Some("/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1.2.13"),
            ),
            (
                "new.cache",
                "libfoo.so.2",
                Some("/usr/local/lib/libfoo.so.2"),
            ),
            ("new.cache", "libfoo.so.1", None),
            (
                "bookworm-base.cache",
                "libicuuc.so.72",
                Some("/lib/x86_64-linux-gnu/libicuuc.so.72"),
            ),
            (
                "bookworm-base.cache",
                "libz.so.1",
                Some("/lib/x86_64-linux-gnu/libz.so.1"),
            ),
            (
                "bookworm-base.cache",
                "libcrypto.so.3",
                Some("/lib/x86_64-linux-gnu/libcrypto.so.3"),
            ),
            ("bookworm-base.cache", "libgreet.so.1", None),
        ];
        for &(name, soname, path) in table {
            let cache = parse_cache(&fixture(name)).unwrap();
            let found = cache.lookup(soname, X86_64).map(|e| e.path.as_str());
            assert_eq!(found, path, "{name} {soname}");
            // Another ABI never matches these libc6,x86-64 entries.
            let aarch64 = FLAG_AARCH64_LIB64 | FLAG_ELF_LIBC6;
            assert_eq!(cache.lookup(soname, aarch64), None, "{name} {soname}");
        }
    }

    #[test]
    fn bookworm_base_cache() {
        let cache = parse_cache(&fixture("bookworm-base.cache")).unwrap();
        assert_eq!(cache.format, CacheFormat::New);
        assert_eq!(cache.entries.len(), 111);
        assert!(cache.generator.as_deref().unwrap().contains("GLIBC 2.36"));
        assert!(cache.hwcaps.is_empty());
        for e in &cache.entries {
            assert_eq!(e.describe_flags(), "libc6,x86-64", "{e:?}");
            assert!(e.path.starts_with("/lib/x86_64-linux-gnu/"), "{e:?}");
            assert_eq!(e.hwcaps_index(), None);
        }
    }

    #[test]
    fn hwcap_fields() {
        // (hwcap, index into hwcaps, ISA level)
        let table: &[(u64, Option<u32>, u32)] = &[
            (0, None, 0),
            (HWCAP_EXTENSION, Some(0), 0),
            (HWCAP_EXTENSION | 7, Some(7), 0),
            (HWCAP_EXTENSION | (3 << 32) | 1, Some(1), 3),
            ((1 << 63) | HWCAP_EXTENSION, None, 0), // another bit in the upper half
            (0x0000_0000_0000_0008, None, 0),       // a legacy hwcap bit
        ];
        for &(hwcap, index, level) in table {
            let e = CacheEntry {
                flags: X86_64,
                soname: String::new(),
                path: String::new(),
                osversion: 0,
                hwcap,
            };
            assert_eq!(e.hwcaps_index(), index, "{hwcap:#x}");
            assert_eq!(e.isa_level(), level, "{hwcap:#x}");
        }
    }

    #[test]
    fn flag_descriptions_and_expected_flags() {
        let table: &[(u32, &str)] = &[
            (0x0303, "libc6,x86-64"),
            (0x0003, "libc6"),
            (0x0a03, "libc6,AArch64"),
            (0x0903, "libc6,hard-float"),
            (0x0803, "libc6,x32"),
            (0x1003, "libc6,double-float"),
            (0x0001, "ELF"),
            (0x0000, "libc4"),
            (0x7703, "libc6,30464"),
        ];
        for &(flags, text) in table {
            let e = CacheEntry {
                flags,
                soname: String::new(),
                path: String::new(),
                osversion: 0,
                hwcap: 0,
            };
            assert_eq!(e.describe_flags(), text);
        }
        // (e_machine, 64-bit, e_flags, expected)
        let machines: &[(u16, bool, u32, Option<u32>)] = &[
            (62, true, 0, Some(0x0303)),
            (62, false, 0, Some(0x0803)),
            (3, false, 0, Some(0x0003)),
            (183, true, 0, Some(0x0a03)),
            (40, false, 0x0500_0400, Some(0x0903)),
            (40, false, 0x0500_0200, Some(0x0b03)),
            (21, true, 2, Some(0x0503)),
            (22, true, 0, Some(0x0403)),
            (243, true, 0x5, Some(0x1003)),
            (258, true, 0x43, Some(0x1203)),
            (8, false, 0, None), // MIPS
        ];
        for &(machine, wide, e_flags, want) in machines {
            assert_eq!(expected_flags(machine, wide, e_flags), want, "{machine}");
        }
    }

    /// A little test writer for layouts no ldconfig here produces.
    struct Writer {
        order: ByteOrder,
        out: Vec<u8>,
    }

    impl Writer {
        fn u32(&mut self, v: u32) {
            self.out.extend(match self.order {
                ByteOrder::Little => v.to_le_bytes(),
                ByteOrder::Big => v.to_be_bytes(),
            });
        }
        fn u64(&mut self, v: u64) {
            self.out.extend(match self.order {
                ByteOrder::Little => v.to_le_bytes(),
                ByteOrder::Big => v.to_be_bytes(),
            });
        }
    }

    /// A new-format cache of `(flags, soname, path)` with the given header flags byte.
    fn new_cache(order: ByteOrder, header_flags: u8, libs: &[(u32, &str, &str)]) -> Vec<u8> {
        let mut strings = Vec::new();
        let strings_at = (NEW_HEADER + libs.len() * NEW_ENTRY) as u32;
        let mut offsets = Vec::new();
        for &(_, key, value) in libs {
            let k = strings_at + strings.len() as u32;
            strings.extend(key.as_bytes());
            strings.push(0);
            let v = strings_at + strings.len() as u32;
            strings.extend(value.as_bytes());
            strings.push(0);
            offsets.push((k, v));
        }
        let mut w = Writer {
            order,
            out: CACHE_MAGIC_NEW.to_vec(),
        };
        w.u32(libs.len() as u32);
        w.u32(strings.len() as u32);
        w.out.extend([header_flags, 0, 0, 0]);
        for _ in 0..4 {
            w.u32(0); // extension offset, unused
        }
        for (&(flags, _, _), &(k, v)) in libs.iter().zip(&offsets) {
            w.u32(flags);
            w.u32(k);
            w.u32(v);
            w.u32(0);
            w.u64(0);
        }
        w.out.extend(strings);
        w.out
    }

    /// An old-format cache (strings counted from the end of the entries).
    fn old_cache(order: ByteOrder, libs: &[(u32, &str, &str)]) -> Vec<u8> {
        let mut w = Writer {
            order,
            out: CACHE_MAGIC_OLD.to_vec(),
        };
        w.out.push(0);
        w.u32(libs.len() as u32);
        let mut strings = Vec::new();
        for &(flags, key, value) in libs {
            w.u32(flags);
            w.u32(strings.len() as u32);
            strings.extend(key.as_bytes());
            strings.push(0);
            w.u32(strings.len() as u32);
            strings.extend(value.as_bytes());
            strings.push(0);
        }
        w.out.extend(strings);
        w.out
    }

    #[test]
    fn synthetic_layouts_and_byte_orders() {
        let libs: &[(u32, &str, &str)] = &[
            (0x0003, "libc.so.6", "/lib/i386-linux-gnu/libc.so.6"),
            (0x0a03, "libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"),
            (FLAG_ELF, "libm.so.6", "/lib/libm.so.6"),
            (0x0303, "libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6"),
        ];
        let table: &[(Vec<u8>, CacheFormat, ByteOrder)] = &[
            (
                new_cache(ByteOrder::Little, 2, libs),
                CacheFormat::New,
                ByteOrder::Little,
            ),
            (
                new_cache(ByteOrder::Big, 3, libs),
                CacheFormat::New,
                ByteOrder::Big,
            ),
            // Byte order unrecorded (an ldconfig before glibc 2.33): guessed.
            (
                new_cache(ByteOrder::Big, 0, libs),
                CacheFormat::New,
                ByteOrder::Big,
            ),
            (
                new_cache(ByteOrder::Little, 0, libs),
                CacheFormat::New,
                ByteOrder::Little,
            ),
            (
                old_cache(ByteOrder::Little, libs),
                CacheFormat::Old,
                ByteOrder::Little,
            ),
            (
                old_cache(ByteOrder::Big, libs),
                CacheFormat::Old,
                ByteOrder::Big,
            ),
        ];
        for (i, (data, format, order)) in table.iter().enumerate() {
            let cache = parse_cache(data).unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert_eq!(
                (cache.format, cache.byte_order),
                (*format, *order),
                "case {i}"
            );
            let got: Vec<_> = cache
                .entries
                .iter()
                .map(|e| (e.flags, e.soname.as_str(), e.path.as_str()))
                .collect();
            assert_eq!(got, libs, "case {i}");
            // (soname, expected flags, path)
            let lookups: &[(&str, u32, Option<&str>)] = &[
                ("libc.so.6", 0x0003, Some("/lib/i386-linux-gnu/libc.so.6")),
                (
                    "libc.so.6",
                    0x0a03,
                    Some("/lib/aarch64-linux-gnu/libc.so.6"),
                ),
                ("libc.so.6", 0x0303, None),
                // An exact match beats an earlier generic (flags 1) entry.
                ("libm.so.6", 0x0303, Some("/lib/x86_64-linux-gnu/libm.so.6")),
                ("libm.so.6", 0x0003, Some("/lib/libm.so.6")),
            ];
            for &(soname, flags, path) in lookups {
                let found = cache.lookup(soname, flags).map(|e| e.path.as_str());
                assert_eq!(found, path, "case {i}: {soname} {flags:#x}");
            }
        }
    }

    #[test]
    fn malformed_caches_are_invalid_data_naming_the_offset() {
        let good = fixture("new.cache");
        let old = fixture("old.cache");
        let mut unterminated = new_cache(ByteOrder::Little, 2, &[(X86_64, "liba.so.1", "/a")]);
        unterminated.pop();
        let patch = |data: &[u8], at: usize, bytes: &[u8]| {
            let mut d = data.to_vec();
            d[at..at + bytes.len()].copy_from_slice(bytes);
            d
        };
        // (description, input, text the error must contain)
        let table: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", Vec::new(), "no ld.so.cache magic at offset 0"),
            (
                "not a cache",
                b"hello world".to_vec(),
                "no ld.so.cache magic",
            ),
            (
                "truncated header",
                good[..30].to_vec(),
                "header at offset 0",
            ),
            (
                "huge count",
                patch(&good, 20, &u32::MAX.to_le_bytes()),
                "offset 20",
            ),
            (
                "count past the end",
                patch(&good, 20, &100u32.to_le_bytes()),
                "offset 20",
            ),
            ("invalid marker", patch(&good, 28, &[1]), "offset 28"),
            (
                "key out of range",
                patch(&good, 52, &0x00ff_ffffu32.to_le_bytes()),
                "offset 52",
            ),
            (
                "value out of range",
                patch(&good, 56, &0x00ff_ffffu32.to_le_bytes()),
                "offset 56",
            ),
            ("no NUL", unterminated, "no NUL"),
            (
                "extension misaligned",
                patch(&good, 32, &3u32.to_le_bytes()),
                "offset 32",
            ),
            (
                "extension past the end",
                patch(&good, 32, &0x00ff_fff0u32.to_le_bytes()),
                "offset 32",
            ),
            (
                "old count too big",
                patch(&old, 12, &0x0fff_ffffu32.to_le_bytes()),
                "offset 12",
            ),
            (
                "old key out of range",
                patch(&old, 20, &0x0fffu32.to_le_bytes()),
                "offset 20",
            ),
        ];
        for (what, data, needle) in table {
            let err = parse_cache(&data).expect_err(what);
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{what}");
            let text = err.to_string();
            assert!(text.contains(needle), "{what}: {text}");
            assert!(text.starts_with("ld.so.cache: "), "{what}: {text}");
        }
    }

    #[test]
    fn every_truncation_of_the_real_caches_errs_or_parses() {
        for name in ["new.cache", "old.cache", "compat.cache"] {
            let data = fixture(name);
            for len in 0..data.len() {
                let _ = parse_cache(&data[..len]); // never panics
            }
            for at in 0..data.len() {
                let mut d = data.clone();
                d[at] ^= 0xff;
                let _ = parse_cache(&d);
            }
        }
    }

    #[test]
    fn conf_lines() {
        // (text, directives)
        let table: &[(&str, &[Directive])] = &[
            ("", &[]),
            ("# only a comment\n\n   \n", &[]),
            (
                "/usr/local/lib\n",
                &[Directive::Dir(String::from("/usr/local/lib"))],
            ),
            (
                "  /opt/lib//  \t\r\n",
                &[Directive::Dir(String::from("/opt/lib"))],
            ),
            (
                "/opt/lib # trailing comment",
                &[Directive::Dir(String::from("/opt/lib"))],
            ),
            ("/a b\n", &[Directive::Dir(String::from("/a b"))]),
            ("/\n", &[]),
            (
                "include /etc/ld.so.conf.d/*.conf\n",
                &[Directive::Include(vec![String::from(
                    "/etc/ld.so.conf.d/*.conf",
                )])],
            ),
            (
                "include\t a.conf  b/*.conf\t\n",
                &[Directive::Include(vec![
                    String::from("a.conf"),
                    String::from("b/*.conf"),
                ])],
            ),
            ("include\n", &[Directive::Dir(String::from("include"))]),
            (
                "includes /x\n",
                &[Directive::Dir(String::from("includes /x"))],
            ),
            (
                "Include /x\n",
                &[Directive::Dir(String::from("Include /x"))],
            ),
            ("hwcap 1 nosegneg\n", &[Directive::Hwcap]),
            ("HWCAP 0 x\n", &[Directive::Hwcap]),
            ("hwcaps\n", &[Directive::Dir(String::from("hwcaps"))]),
            (
                "include /x#/y\n",
                &[Directive::Include(vec![String::from("/x")])],
            ),
        ];
        for &(text, want) in table {
            let got: Vec<_> = parse_conf(text).into_iter().map(|(_, d)| d).collect();
            assert_eq!(got, want, "{text:?}");
        }
        let numbered = parse_conf("# c\n/a\n\ninclude b\n");
        assert_eq!(numbered.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [2, 4]);
    }

    /// A little filesystem: file path → text; directories are implied.
    type Files<'a> = &'a [(&'a str, &'a str)];

    fn reader<'a>(files: Files<'a>) -> impl FnMut(&str) -> Option<String> + 'a {
        move |path: &str| {
            files
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, t)| t.to_string())
        }
    }

    fn lister<'a>(files: Files<'a>) -> impl FnMut(&str) -> Option<Vec<String>> + 'a {
        move |dir: &str| {
            let prefix = if dir == "/" {
                String::from("/")
            } else {
                format!("{dir}/")
            };
            let mut names: Vec<String> = files
                .iter()
                .filter_map(|(p, _)| p.strip_prefix(&prefix))
                .map(|rest| rest.split('/').next().unwrap_or_default().to_string())
                .collect();
            names.sort();
            names.dedup();
            (!names.is_empty()).then_some(names)
        }
    }

    #[test]
    fn conf_files_and_includes() {
        let bookworm: &[(&str, &str)] = &[
            ("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n\n"),
            (
                "/etc/ld.so.conf.d/libc.conf",
                "# libc default configuration\n/usr/local/lib\n",
            ),
            (
                "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
                "# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n\
                 /usr/lib/x86_64-linux-gnu\n",
            ),
            (
                "/etc/ld.so.conf.d/greet.conf",
                "# libgreet\n/opt/greet/lib\n",
            ),
            ("/etc/ld.so.conf.d/.hidden.conf", "/hidden\n"),
            ("/etc/ld.so.conf.d/notes.txt", "/not-included\n"),
        ];
        let conf = read_conf("/etc/ld.so.conf", reader(bookworm), lister(bookworm));
        let dirs: Vec<_> = conf.dirs.iter().map(|d| d.path.as_str()).collect();
        // Sorted includes: greet.conf < libc.conf < x86_64-linux-gnu.conf.
        assert_eq!(
            dirs,
            [
                "/opt/greet/lib",
                "/usr/local/lib",
                "/usr/local/lib/x86_64-linux-gnu",
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
            ]
        );
        assert_eq!(
            conf.dirs[0],
            ConfDir {
                path: String::from("/opt/greet/lib"),
                file: String::from("/etc/ld.so.conf.d/greet.conf"),
                line: 2,
            }
        );
        assert_eq!(conf.files.len(), 4);
        assert!(conf.warnings.is_empty(), "{:?}", conf.warnings);

        // (files, directories, warnings' kinds)
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a [&'a str]);
        let table: &[Case] = &[
            // A relative include is relative to the including file's directory.
            (
                &[
                    ("/etc/ld.so.conf", "include conf.d/*.conf\n/b\n"),
                    ("/etc/conf.d/1.conf", "/a\n"),
                ],
                &["/a", "/b"],
                &[],
            ),
            // A literal include of a missing file is silently nothing.
            (
                &[("/etc/ld.so.conf", "include /etc/none.conf\n/a\n")],
                &["/a"],
                &[],
            ),
            // Cycles: a file never includes itself or an ancestor.
            (
                &[
                    ("/etc/ld.so.conf", "/a\ninclude /etc/x.conf\n"),
                    ("/etc/x.conf", "/b\ninclude /etc/ld.so.conf /etc/x.conf\n"),
                ],
                &["/a", "/b"],
                &["IncludeCycle", "IncludeCycle"],
            ),
            // The same file included twice (not a cycle) is read twice; dirs once.
            (
                &[
                    ("/etc/ld.so.conf", "include /etc/x.conf /etc/x.conf\n"),
                    ("/etc/x.conf", "/b\n/b/\n"),
                ],
                &["/b"],
                &[],
            ),
            (
                &[("/etc/ld.so.conf", "hwcap 1 nosegneg\nlib\n/a\n")],
                &["/a"],
                &["HwcapIgnored", "RelativeDir"],
            ),
            // Wildcards in a directory component, bracket expressions, `?`.
            (
                &[
                    ("/etc/ld.so.conf", "include /etc/d*/[a-c]?.conf\n"),
                    ("/etc/d1/a1.conf", "/a1\n"),
                    ("/etc/d1/z1.conf", "/z1\n"),
                    ("/etc/d2/b2.conf", "/b2\n"),
                    ("/etc/e1/a1.conf", "/e1\n"),
                ],
                &["/a1", "/b2"],
                &[],
            ),
        ];
        for (i, &(files, want_dirs, want_warnings)) in table.iter().enumerate() {
            let conf = read_conf("/etc/ld.so.conf", reader(files), lister(files));
            let dirs: Vec<_> = conf.dirs.iter().map(|d| d.path.as_str()).collect();
            assert_eq!(dirs, want_dirs, "case {i}");
            let kinds: Vec<String> = conf
                .warnings
                .iter()
                .map(|w| {
                    format!("{w:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect();
            assert_eq!(kinds, want_warnings, "case {i}: {:?}", conf.warnings);
        }
    }

    #[test]
    fn deep_includes_are_bounded() {
        // /c0 includes /c1 includes … /c99: cut off at MAX_INCLUDE_DEPTH.
        let texts: Vec<(String, String)> = (0..100)
            .map(|i| (format!("/c{i}"), format!("/dir{i}\ninclude /c{}\n", i + 1)))
            .collect();
        let read = |path: &str| {
            texts
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, t)| t.clone())
        };
        let conf = read_conf("/c0", read, |_: &str| None);
        assert_eq!(conf.files.len(), MAX_INCLUDE_DEPTH);
        assert_eq!(conf.dirs.len(), MAX_INCLUDE_DEPTH);
        assert!(matches!(
            conf.warnings.as_slice(),
            [ConfWarning::TooDeep { .. }]
        ));

        // Every file includes two new ones (2^16 files within the depth limit):
        // bounded by the file count.
        let read = |path: &str| Some(format!("include {path}0 {path}1\n/x\n"));
        let conf = read_conf("/r", read, |_: &str| None);
        assert_eq!(conf.files.len(), MAX_CONF_FILES);
        assert_eq!(conf.dirs.len(), 1);
        let too_many = |w: &&ConfWarning| matches!(w, ConfWarning::TooManyFiles { .. });
        let too_deep = |w: &&ConfWarning| matches!(w, ConfWarning::TooDeep { .. });
        assert!(conf.warnings.iter().any(|w| too_many(&w)));
        assert!(conf.warnings.iter().all(|w| too_many(&w) || too_deep(&w)));
    }

    #[test]
    fn glob_matching() {
        // (pattern component, name, matches)
        let table: &[(&str, &str, bool)] = &[
            ("*.conf", "libc.conf", true),
            ("*.conf", "libc.conf.bak", false),
            ("*.conf", ".hidden.conf", false),
            (".*.conf", ".hidden.conf", true),
            ("*", "", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("?.conf", "a.conf", true),
            ("?.conf", "ab.conf", false),
            ("[a-c]1", "b1", true),
            ("[a-c]1", "d1", false),
            ("[!a-c]1", "d1", true),
            ("[^a-c]1", "a1", false),
            ("[]]", "]", true),
            ("[a-]", "-", true),
            ("[", "[", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("x[", "x[", true),
        ];
        for &(pattern, name, want) in table {
            assert_eq!(
                fnmatch(pattern.as_bytes(), name.as_bytes()),
                want,
                "{pattern} {name}"
            );
        }
        let files: &[(&str, &str)] = &[("/e/b.conf", ""), ("/e/a.conf", ""), ("/f/c.conf", "")];
        let mut list = lister(files);
        // (pattern, paths)
        let expansions: &[(&str, &[&str])] = &[
            ("/e/*.conf", &["/e/a.conf", "/e/b.conf"]),
            ("/*/*.conf", &["/e/a.conf", "/e/b.conf", "/f/c.conf"]),
            ("/e/literal.conf", &["/e/literal.conf"]),
            ("/e/\\*.conf", &["/e/*.conf"]),
            ("/none/*.conf", &[]),
            ("//e///a.conf", &["/e/a.conf"]),
            ("/", &["/"]),
        ];
        for &(pattern, want) in expansions {
            assert_eq!(expand_glob(pattern, &mut list), want, "{pattern}");
        }
    }
}
