//! pgoutput logical replication messages: decoding must never panic, whatever the bytes.
//!
//! The decoder is the engine's own source file (`src/cdc/pgoutput.rs`, which needs only
//! thiserror), compiled into this target instead of linking the whole engine crate.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/cdc/pgoutput.rs"]
mod pgoutput;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pgoutput::decode(data);
});
