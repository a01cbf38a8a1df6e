//! pgoutput logical replication messages: decoding must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use supalove_realtime::cdc::pgoutput::decode;

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
});
