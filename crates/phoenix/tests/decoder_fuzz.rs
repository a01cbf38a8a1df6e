//! Property tests: the decoders return errors, never panic, on arbitrary input, and
//! well-formed frames survive an encode/decode round trip.

use proptest::prelude::*;
use serde_json::json;
use supalove_phoenix::binary::{
    decode_user_broadcast, decode_user_broadcast_push, encode_user_broadcast,
    encode_user_broadcast_push,
};
use supalove_phoenix::serializer::{decode_binary, decode_text, encode_text};
use supalove_phoenix::{BroadcastBody, ClientMessage, Frame, UserBroadcast, Vsn};

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4).prop_map(|m| json!(m)),
        ]
    })
}

proptest! {
    #[test]
    fn text_decoders_never_panic(s in ".{0,200}") {
        for vsn in [Vsn::V1, Vsn::V2] {
            if let Ok(frame) = decode_text(vsn, &s) {
                let _ = ClientMessage::from_frame(&frame);
            }
        }
    }

    #[test]
    fn json_shaped_text_never_panics(v in arb_json(), event in "phx_join|broadcast|presence|access_token|heartbeat|x") {
        let arr = json!([null, "1", "realtime:a", event, v.clone()]).to_string();
        if let Ok(frame) = decode_text(Vsn::V2, &arr) {
            let _ = ClientMessage::from_frame(&frame);
        }
        let _ = decode_text(Vsn::V1, &v.to_string());
        let _ = decode_text(Vsn::V2, &v.to_string());
    }

    #[test]
    fn binary_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_binary(Vsn::V2, &bytes);
        let _ = decode_binary(Vsn::V1, &bytes);
        let _ = decode_user_broadcast(&bytes);
    }

    #[test]
    fn binary_push_with_valid_header_never_panics(
        lens in prop::collection::vec(0u8..20, 5),
        enc in 0u8..3,
        tail in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut bytes = vec![3u8];
        bytes.extend_from_slice(&lens);
        bytes.push(enc);
        bytes.extend_from_slice(&tail);
        let _ = decode_user_broadcast_push(&bytes);
    }

    #[test]
    fn text_round_trip(join_ref in proptest::option::of("[0-9]{1,4}"), r in proptest::option::of("[0-9]{1,4}"),
                       topic in "realtime:[a-z]{1,10}", event in "[a-z_]{1,10}", payload in arb_json()) {
        let f = Frame { join_ref, msg_ref: r, topic, event, payload };
        let back = decode_text(Vsn::V2, &encode_text(Vsn::V2, &f)).unwrap();
        prop_assert_eq!(back, f.clone());
        let back1 = decode_text(Vsn::V1, &encode_text(Vsn::V1, &f)).unwrap();
        prop_assert_eq!(back1.payload, f.payload);
        prop_assert_eq!(back1.msg_ref, f.msg_ref);
    }

    #[test]
    fn binary_round_trip(topic in "realtime:[a-z]{1,20}", event in "[a-z]{1,20}", payload in arb_json(),
                         raw in prop::collection::vec(any::<u8>(), 0..50), use_raw in any::<bool>()) {
        let body = if use_raw { BroadcastBody::Binary(raw) } else { BroadcastBody::Json(payload) };
        let b = UserBroadcast { join_ref: Some("1".into()), msg_ref: Some("2".into()), topic, event, meta: None, body };
        let push = encode_user_broadcast_push(&b).unwrap();
        prop_assert_eq!(decode_user_broadcast_push(&push).unwrap(), b.clone());
        let out = encode_user_broadcast(&b).unwrap();
        let back = decode_user_broadcast(&out).unwrap();
        prop_assert_eq!(back.body, b.body);
    }
}
