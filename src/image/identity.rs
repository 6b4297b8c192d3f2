//! The image's content identity (SPEC.md, "What counts as changed"): what decides
//! whether an image artifact changed.
//!
//! SHA-256 over, in this order:
//!
//! 1. the line `buildproof.image-identity/v1`;
//! 2. the runtime config: the recorded [`Startup`] as compact JSON (entrypoint, cmd,
//!    env, user, working dir, shell, healthcheck, stop signal, exposed ports,
//!    volumes; empty and absent alike), then a newline. Labels, `created`, `history`,
//!    the diff_ids and everything else in the config are left out;
//! 3. every path of the merged filesystem (whiteouts and opaque directories applied;
//!    implied parent directories as `0755 0:0`), in byte order, one JSON array per
//!    line: `["/bin/sh","file",493,0,0,"sha256:…",null]` — path, kind (`file`,
//!    `dir`, `symlink`, `other`), permission bits (`mode & 0o7777`), uid, gid,
//!    content digest (files; a symlink's covers its target text; `null` for the
//!    rest) and link target.
//!
//! File times, user and group *names*, the tar's own layout (entry order, header
//! format, which layer a file came from) and compression are left out, so the same
//! files built twice by a builder that stamps the build time, or re-layered, or
//! re-compressed on push, have the same identity. Extended attributes and device
//! numbers are not recorded by the layer reader, so they are not covered either.

use super::layers::{Kind, MergedFs};
use crate::digest::{Digest, Hasher};
use crate::model::image::Startup;
use crate::model::{push_decimal, push_json_string as string};

const HEADER: &[u8] = b"buildproof.image-identity/v1\n";

/// The identity of `fs` with `startup`; `None` when the layers were read without
/// content digests (then there is nothing to identify the files by).
#[must_use]
pub fn of(fs: &MergedFs, startup: &Startup) -> Option<Digest> {
    let mut h = Hasher::new();
    h.update(HEADER);
    // Writing into a hasher cannot fail.
    serde_json::to_writer(&mut h, startup).ok()?;
    h.update(b"\n");
    let mut line = Vec::with_capacity(256);
    for (path, node) in &fs.nodes {
        let kind = match node.kind {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Other => "other",
        };
        if node.kind == Kind::File && node.digest.is_none() {
            return None;
        }
        let digest = match node.kind {
            Kind::File | Kind::Symlink => node.digest,
            Kind::Dir | Kind::Other => None,
        };
        let fields = (
            path.as_str(),
            kind,
            node.mode & 0o7777,
            node.uid,
            node.gid,
            digest,
            &node.target,
        );
        // One line, then one update: the JSON writer's many small writes straight
        // into the hasher cost more than the hashing.
        line.clear();
        write_line(&mut line, fields).ok()?;
        h.update(&line);
    }
    Some(h.finish())
}

/// `["/bin/sh","file",493,0,0,"sha256:…",null]` and a newline, exactly as
/// `serde_json` writes that tuple (a test holds them equal), without its
/// formatting machinery: this runs once per path of the image.
fn write_line(
    line: &mut Vec<u8>,
    (path, kind, mode, uid, gid, digest, target): Line<'_>,
) -> std::io::Result<()> {
    line.push(b'[');
    string(line, path)?;
    line.extend_from_slice(b",\"");
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(b"\",");
    push_decimal(line, u64::from(mode));
    line.push(b',');
    push_decimal(line, uid);
    line.push(b',');
    push_decimal(line, gid);
    line.push(b',');
    match digest {
        Some(d) => {
            line.extend_from_slice(b"\"sha256:");
            d.write_hex(line);
            line.push(b'"');
        }
        None => line.extend_from_slice(b"null"),
    }
    line.push(b',');
    match target {
        Some(t) => string(line, t)?,
        None => line.extend_from_slice(b"null"),
    }
    line.extend_from_slice(b"]\n");
    Ok(())
}

/// The fields of one identity line.
type Line<'a> = (
    &'a str,
    &'static str,
    u32,
    u64,
    u64,
    Option<Digest>,
    &'a Option<String>,
);

#[cfg(test)]
mod tests {
    use super::super::layers::{Head, Node};
    use super::*;

    fn node(kind: Kind, mode: u32, digest: Option<Digest>) -> Node {
        Node {
            layer: 0,
            kind,
            mode,
            uid: 0,
            gid: 0,
            size: 1,
            target: None,
            digest,
            head: Head::Other,
        }
    }

    /// The hand-written line is byte for byte what `serde_json` writes, for plain
    /// and escaped names, every kind of value, and the largest numbers.
    #[test]
    fn lines_are_written_as_serde_json_writes_them() {
        let target = Some("../lib/ld \"x\"\\\u{1}é".to_owned());
        let none = None;
        for fields in [
            (
                "/bin/sh",
                "file",
                0o755,
                0,
                0,
                Some(Digest::of(b"x")),
                &none,
            ),
            (
                "/a\nb\t\"c\"\\d\u{7f}é",
                "symlink",
                0o7777,
                u64::MAX,
                1,
                None,
                &target,
            ),
            ("/", "dir", 0, 4_294_967_295, u64::MAX, None, &none),
        ] {
            let mut ours = Vec::new();
            write_line(&mut ours, fields).unwrap();
            let mut theirs = serde_json::to_vec(&fields).unwrap();
            theirs.push(b'\n');
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
        }
    }

    #[test]
    fn covers_content_mode_owner_and_startup_not_the_rest() {
        let mut fs = MergedFs::default();
        fs.nodes
            .insert("/app".into(), node(Kind::Dir, 0o40755, None));
        fs.nodes.insert(
            "/app/run".into(),
            node(Kind::File, 0o100755, Some(Digest::of(b"x"))),
        );
        let startup = Startup {
            entrypoint: Some(vec!["/app/run".into()]),
            ..Startup::default()
        };
        let base = of(&fs, &startup).unwrap();
        // File type bits in the tar mode (some writers set them) do not count.
        let mut same = MergedFs::default();
        same.nodes
            .insert("/app".into(), node(Kind::Dir, 0o755, None));
        let mut run = node(Kind::File, 0o755, Some(Digest::of(b"x")));
        run.size = 99; // the size follows from the digest
        same.nodes.insert("/app/run".into(), run);
        assert_eq!(of(&same, &startup), Some(base));

        let changed = |f: &dyn Fn(&mut MergedFs)| {
            let mut c = MergedFs {
                nodes: fs.nodes.clone(),
                ..MergedFs::default()
            };
            f(&mut c);
            of(&c, &startup).unwrap()
        };
        assert_ne!(
            changed(&|c| c.nodes.get_mut("/app/run").unwrap().mode = 0o644),
            base
        );
        assert_ne!(
            changed(&|c| c.nodes.get_mut("/app/run").unwrap().uid = 1000),
            base
        );
        assert_ne!(
            changed(&|c| c.nodes.get_mut("/app/run").unwrap().digest = Some(Digest::of(b"y"))),
            base
        );
        assert_ne!(
            changed(&|c| {
                c.nodes.insert("/etc".into(), node(Kind::Dir, 0o755, None));
            }),
            base
        );
        let other_cmd = Startup {
            cmd: Some(vec!["-v".into()]),
            ..startup.clone()
        };
        assert_ne!(of(&fs, &other_cmd), Some(base));
        // Without content digests there is no identity.
        let mut blind = MergedFs::default();
        blind
            .nodes
            .insert("/f".into(), node(Kind::File, 0o644, None));
        assert_eq!(of(&blind, &startup), None);
    }
}
