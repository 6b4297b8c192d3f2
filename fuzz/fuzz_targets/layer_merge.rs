//! Fuzz the layer merger and startup verification: arbitrary bytes as an
//! uncompressed, gzip and zstd layer (twice, so whiteouts and hardlinks meet a lower
//! layer), then resolve an entrypoint in the result. Must never panic or hang.
#![no_main]

use buildproof::digest::Digest;
use buildproof::image::layers::{Options, read_layer};
use buildproof::image::{MergedFs, Startup, startup};
use libfuzzer_sys::fuzz_target;

const MEDIA: [&str; 3] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
];

fuzz_target!(|data: &[u8]| {
    let mut fs = MergedFs::default();
    let diff_id = Digest::of(data);
    for media in MEDIA {
        for _ in 0..2 {
            let opts = Options { file_digests: true };
            if let Ok(changes) = read_layer(data, media, data.len() as u64, None, diff_id, opts) {
                changes.apply(&mut fs);
            }
        }
    }
    for entry in ["/bin/sh", "sh", "./a", "/a/b/../c"] {
        let s = Startup {
            entrypoint: Some(vec![entry.to_owned()]),
            user: Some("app:app".to_owned()),
            working_dir: Some("/a".to_owned()),
            ..Startup::default()
        };
        let _ = startup::verify(&s, &fs);
    }
});
