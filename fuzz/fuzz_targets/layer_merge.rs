//! Fuzz the layer reader, the merger and startup verification. The input is read two
//! ways: as a raw layer (uncompressed, gzip, zstd) and, structure-aware, as a list of
//! tar entries (names with `..`, whiteouts, hardlinks, symlinks, odd modes) written
//! into two layers, so whiteouts and hardlinks meet a lower layer. Then several
//! entrypoints are resolved in the result. Must never panic or hang.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run layer_merge -- -max_total_time=60`.
#![no_main]

use buildproof::digest::Digest;
use buildproof::image::layers::{Budget, Options, read_layer};
use buildproof::image::{MergedFs, startup};
use buildproof::model::image::Startup;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const MEDIA: [&str; 3] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
];
const NAMES: [&str; 12] = [
    "bin/sh",
    "app",
    "app/server",
    "app/.wh..wh..opq",
    "app/.wh.server",
    "../x",
    "/abs",
    "etc/passwd",
    "etc/group",
    "a",
    "a/b",
    "lib64/ld-linux-x86-64.so.2",
];

fn layer(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for _ in 0..u.int_in_range(0..=12)? {
        let name = if u.arbitrary()? {
            (*u.choose(&NAMES)?).to_owned()
        } else {
            u.arbitrary::<String>()?
        };
        let kind = *u.choose(&[
            tar::EntryType::Regular,
            tar::EntryType::Directory,
            tar::EntryType::Symlink,
            tar::EntryType::Link,
            tar::EntryType::Fifo,
        ])?;
        let data: Vec<u8> = match u.int_in_range(0..=3)? {
            0 => b"#!/bin/sh\n".to_vec(),
            1 => {
                let mut e = b"\x7fELF\x02\x01\x01".to_vec();
                e.extend(u.arbitrary::<Vec<u8>>()?);
                e
            }
            _ => u.arbitrary()?,
        };
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(u.arbitrary::<u32>()? & 0o7777);
        h.set_size(data.len() as u64);
        let link = if u.arbitrary()? {
            (*u.choose(&NAMES)?).to_owned()
        } else {
            u.arbitrary::<String>()?
        };
        let _ = h.set_link_name(&link);
        let raw = &mut h.as_old_mut().name;
        let n = name.len().min(raw.len());
        raw[..n].copy_from_slice(&name.as_bytes()[..n]);
        h.set_cksum();
        let _ = b.append(&h, &data[..]);
    }
    Ok(b.into_inner().unwrap_or_default())
}

fn verify_all(fs: &MergedFs) {
    for entry in ["/bin/sh", "sh", "./server", "/a/b/../b", "/app/server"] {
        let s = Startup {
            entrypoint: Some(vec![entry.to_owned()]),
            cmd: Some(vec!["-c".to_owned(), "server --x".to_owned()]),
            user: Some("app:app".to_owned()),
            working_dir: Some("/app".to_owned()),
            ..Startup::default()
        };
        let _ = startup::verify(&s, fs);
        let _ = startup::command_path(&s, fs);
    }
    // Wrappers and interpreters follow the layers' files further.
    for argv in [
        &["tini", "--", "gosu", "app", "env", "-i", "python3", "-u", "a.py"][..],
        &["/bin/sh", "-c", "exec setpriv --reuid=app node server"],
        &["dumb-init", "bash", "-e", "run.sh"],
    ] {
        let s = Startup {
            entrypoint: Some(argv.iter().map(|a| (*a).to_owned()).collect()),
            env: Some(vec!["LD_LIBRARY_PATH=/lib:$ORIGIN".to_owned()]),
            working_dir: Some("/app".to_owned()),
            ..Startup::default()
        };
        let _ = startup::verify(&s, fs);
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = Options::default();
    // Small, so that the budget's refusals are exercised too.
    let budget = Budget::new(64 << 20);
    // Raw bytes as a layer of each media type.
    let mut fs = MergedFs::default();
    let diff_id = Digest::of(data);
    for media in MEDIA {
        if let Ok(changes) =
            read_layer(data, media, data.len() as u64, None, Some(diff_id), opts, &budget)
        {
            let _ = changes.apply(&mut fs, &budget);
        }
    }
    verify_all(&fs);
    // Structure-aware: two generated layers, merged as usual and, for reference,
    // entry by entry (the first layer's shortcut must give the same filesystem).
    let mut u = Unstructured::new(data);
    let mut fs = MergedFs::default();
    let mut reference = MergedFs::default();
    for _ in 0..2 {
        let Ok(tar) = layer(&mut u) else { break };
        let d = Digest::of(&tar);
        if let Ok(changes) =
            read_layer(&tar[..], MEDIA[0], tar.len() as u64, None, Some(d), opts, &budget)
        {
            let ours = changes.clone().apply(&mut fs, &budget).is_ok();
            let theirs = changes
                .apply_entry_by_entry(&mut reference, &Budget::new(64 << 20))
                .is_ok();
            if ours && theirs {
                assert_eq!(format!("{fs:?}"), format!("{reference:?}"));
            }
        }
    }
    verify_all(&fs);
});
