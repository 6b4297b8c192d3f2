//! Fuzz the tar reader on raw bytes: every entry and all its data are read. Must never
//! panic, hang, or allocate more than its bounds (1 MiB per extension record).
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run tar_stream -- -max_total_time=60`.
#![no_main]

use buildproof::image::tar_stream::{Stream, TarReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = TarReader::new(Stream(data));
    let mut buf = [0u8; 4096];
    while let Ok(Some(_entry)) = reader.next_entry() {
        while let Ok(n) = reader.read_data(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }
});
