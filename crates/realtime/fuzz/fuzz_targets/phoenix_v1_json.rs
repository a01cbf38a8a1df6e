//! vsn 1.0.0 text frames: decoding must never panic, and what decodes re-encodes and decodes
//! to the same frame (minus `join_ref`, which Phoenix's V1 serializer does not send back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use supalove_phoenix::serializer::{decode_text, encode_text};
use supalove_phoenix::Vsn;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = decode_text(Vsn::V1, text) {
        let again = decode_text(Vsn::V1, &encode_text(Vsn::V1, &frame)).expect("re-decode");
        assert_eq!(again.join_ref, None);
        assert_eq!(
            (again.msg_ref, again.topic, again.event, again.payload),
            (frame.msg_ref, frame.topic, frame.event, frame.payload)
        );
    }
});
