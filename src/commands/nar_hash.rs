//! `buildproof nar-hash PATH...`: one line per path, the hash only for a single path
//! (as `nix hash path` prints), `hash  path` for several.

use std::fmt::Write as _;

use crate::cli::NarHashArgs;
use crate::nar;

pub(super) fn run(args: &NarHashArgs) -> anyhow::Result<u8> {
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
        if args.paths.len() == 1 {
            let _ = writeln!(out, "{text}");
        } else {
            let _ = writeln!(out, "{text}  {}", path.display());
        }
    }
    crate::output::emit(None, out.as_bytes())?;
    Ok(0)
}
