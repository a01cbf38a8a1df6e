//! vsn 2.0.0 binary frames from clients (kinds 0 and 3): decoding must never panic, and a
//! decoded user broadcast re-encodes to bytes that decode to the same broadcast.
#![no_main]

use libfuzzer_sys::fuzz_target;
use supalove_phoenix::binary::{decode_user_broadcast_push, encode_user_broadcast_push};
use supalove_phoenix::serializer::decode_binary_frame;
use supalove_phoenix::{BinaryIn, Vsn};

fuzz_target!(|data: &[u8]| {
    if let Ok(BinaryIn::UserBroadcast(b)) = decode_binary_frame(Vsn::V2, data) {
        let _ = b.text_payload();
        if let Some(bytes) = encode_user_broadcast_push(&b) {
            assert_eq!(decode_user_broadcast_push(&bytes).expect("re-decode"), b);
        }
    }
});
