//! `buildproof nar-hash PATH...`: one hash per line, in the order given, exactly as
//! `nix hash path` prints them.

use std::fmt::Write as _;

use crate::cli::NarHashArgs;
use crate::nar;

pub(super) fn run(args: &NarHashArgs, io: &mut super::Streams<'_>) -> anyhow::Result<u8> {
    let mut out = String::new();
    for path in &args.paths {
        let (digest, _size) = nar::digest_path(path)?;
        let text = if args.spelling.base16 {
            digest.hex()
        } else if args.spelling.base32 {
            digest.nix_base32()
        } else {
            digest.sri()
        };
        let _ = writeln!(out, "{text}");
    }
    super::emit(None, out.as_bytes(), io)?;
    Ok(0)
}
