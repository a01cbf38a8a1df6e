//! vsn 2.0.0 text frames: decoding must never panic, and what decodes re-encodes and decodes
//! to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use supalove_phoenix::serializer::{decode_text, encode_text};
use supalove_phoenix::Vsn;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = decode_text(Vsn::V2, text) {
        let again = decode_text(Vsn::V2, &encode_text(Vsn::V2, &frame)).expect("re-decode");
        assert_eq!(again, frame);
    }
});
