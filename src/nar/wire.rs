//! The NAR (Nix ARchive) wire format: token framing only, no I/O.
//!
//! ```text
//! nar       = str("nix-archive-1"), node
//! node      = str("("), str("type"), body, str(")")
//! body      = str("regular"), [ str("executable"), str("") ], str("contents"), str(BYTES)
//!           | str("symlink"), str("target"), str(TARGET)
//!           | str("directory"), { entry }
//! entry     = str("entry"), str("("), str("name"), str(NAME), str("node"), node, str(")")
//! str(s)    = u64-le(len(s)), s, zero bytes up to a multiple of 8
//! ```
//!
//! Directory entries appear in ascending byte order of their names. A regular file is
//! `executable` when its owner-execute bit is set (Nix looks at `S_IXUSR` only).
//! Nothing else is representable: FIFOs, sockets and devices make `nix hash path`
//! fail, and so does buildproof. Names are raw bytes; `/`, `.`, `..` and empty names
//! cannot occur in a directory listing.

/// Writes the framing of a string of `len` bytes whose contents the caller sends
/// separately (file contents are streamed): the length prefix.
#[must_use]
pub fn len_prefix(len: u64) -> [u8; 8] {
    len.to_le_bytes()
}

/// The zero padding that follows `len` bytes of string contents.
#[must_use]
pub fn padding(len: u64) -> &'static [u8] {
    const ZEROS: [u8; 8] = [0; 8];
    let rem = usize::try_from(len % 8).unwrap_or(0);
    if rem == 0 { &[] } else { &ZEROS[..8 - rem] }
}

/// A whole short string token: prefix, bytes, padding.
pub fn token(out: &mut impl Extend<u8>, s: &[u8]) {
    out.extend(len_prefix(s.len() as u64));
    out.extend(s.iter().copied());
    out.extend(padding(s.len() as u64).iter().copied());
}

/// Tokens that open a NAR: the magic and the root node's `( type`.
pub fn archive_start(out: &mut impl Extend<u8>) {
    token(out, b"nix-archive-1");
}

/// `( type regular [executable ""] contents` followed by the contents' length prefix;
/// the caller streams the contents, then [`regular_end`].
pub fn regular_start(out: &mut impl Extend<u8>, executable: bool, len: u64) {
    token(out, b"(");
    token(out, b"type");
    token(out, b"regular");
    if executable {
        token(out, b"executable");
        token(out, b"");
    }
    token(out, b"contents");
    out.extend(len_prefix(len));
}

/// Padding after the contents, and the node's `)`.
pub fn regular_end(out: &mut impl Extend<u8>, len: u64) {
    out.extend(padding(len).iter().copied());
    token(out, b")");
}

/// A whole symlink node.
pub fn symlink(out: &mut impl Extend<u8>, target: &[u8]) {
    token(out, b"(");
    token(out, b"type");
    token(out, b"symlink");
    token(out, b"target");
    token(out, target);
    token(out, b")");
}

/// `( type directory`; entries follow, then [`directory_end`].
pub fn directory_start(out: &mut impl Extend<u8>) {
    token(out, b"(");
    token(out, b"type");
    token(out, b"directory");
}

/// `entry ( name NAME node`; the child node follows, then [`entry_end`].
pub fn entry_start(out: &mut impl Extend<u8>, name: &[u8]) {
    token(out, b"entry");
    token(out, b"(");
    token(out, b"name");
    token(out, name);
    token(out, b"node");
}

/// Closes an entry.
pub fn entry_end(out: &mut impl Extend<u8>) {
    token(out, b")");
}

/// Closes a directory node.
pub fn directory_end(out: &mut impl Extend<u8>) {
    token(out, b")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_padded_to_eight() {
        let mut v = Vec::new();
        token(&mut v, b"abc");
        assert_eq!(v, [3, 0, 0, 0, 0, 0, 0, 0, b'a', b'b', b'c', 0, 0, 0, 0, 0]);
        let mut v = Vec::new();
        token(&mut v, b"");
        assert_eq!(v, [0u8; 8]);
        assert!(padding(16).is_empty());
        assert_eq!(padding(1).len(), 7);
    }
}
