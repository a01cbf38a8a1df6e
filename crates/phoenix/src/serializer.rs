//! The text serializers (`vsn` 1.0.0 objects, 2.0.0 arrays) and frame dispatch by version.

use serde_json::{Map, Value};

use crate::binary::{self, UserBroadcast};
use crate::error::DecodeError;
use crate::frame::Frame;

/// Serializer version negotiated through the `vsn` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vsn {
    /// `1.0.0`: JSON objects `{topic,event,payload,ref,join_ref}`.
    V1,
    /// `2.0.0`: JSON arrays `[join_ref,ref,topic,event,payload]` plus binary broadcasts.
    V2,
}

impl Vsn {
    /// Parses the `vsn` query value; absent means 1.0.0 as in Phoenix.
    pub fn parse(raw: Option<&str>) -> Result<Vsn, DecodeError> {
        match raw {
            None | Some("1.0.0") => Ok(Vsn::V1),
            Some("2.0.0") => Ok(Vsn::V2),
            Some(other) => Err(DecodeError::UnsupportedVsn(other.to_string())),
        }
    }

    /// The version string as clients send it.
    pub fn as_str(self) -> &'static str {
        match self {
            Vsn::V1 => "1.0.0",
            Vsn::V2 => "2.0.0",
        }
    }
}

/// A decoded inbound websocket frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A regular text message.
    Text(Frame),
    /// A binary user broadcast push (kind 3, vsn 2.0.0 only).
    UserBroadcast(UserBroadcast),
}

/// The refs of an inbound frame exactly as the client sent them (any JSON value), so that
/// replies echo them with their type, as Phoenix does (numbers stay numbers).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Refs {
    /// `join_ref` as sent (`null` when absent).
    pub join_ref: Value,
    /// `ref` as sent.
    pub msg_ref: Value,
}

impl Refs {
    /// Refs made of optional strings (frames built by the server).
    pub fn of(frame: &Frame) -> Refs {
        Refs {
            join_ref: opt_string(&frame.join_ref),
            msg_ref: opt_string(&frame.msg_ref),
        }
    }
}

/// Decodes a text websocket frame according to `vsn`.
pub fn decode_text(vsn: Vsn, text: &str) -> Result<Frame, DecodeError> {
    decode_text_exact(vsn, text).map(|(frame, _)| frame)
}

/// Decodes a text frame and also returns its refs verbatim.
///
/// Accepts what Phoenix's serializers accept: vsn 2.0.0 takes any JSON array of at least five
/// elements (extra ones are ignored); vsn 1.0.0 takes an object with the keys `topic`,
/// `event`, `payload` and `ref` (`join_ref` optional). Refs may be any JSON value; `Frame`
/// carries them as text (strings as they are, other values as their JSON).
pub fn decode_text_exact(vsn: Vsn, text: &str) -> Result<(Frame, Refs), DecodeError> {
    let value: Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
    match vsn {
        Vsn::V1 => decode_object(value),
        Vsn::V2 => decode_array(value),
    }
}

/// Decodes a binary websocket frame (vsn 2.0.0 only): a kind-0 push or a kind-3 user
/// broadcast push.
pub fn decode_binary_frame(vsn: Vsn, bytes: &[u8]) -> Result<binary::BinaryIn, DecodeError> {
    match vsn {
        Vsn::V1 => Err(DecodeError::BinaryInV1),
        Vsn::V2 => binary::decode_client_binary(bytes),
    }
}

/// Decodes a binary websocket frame; only vsn 2.0.0 user broadcast pushes are valid.
pub fn decode_binary(vsn: Vsn, bytes: &[u8]) -> Result<UserBroadcast, DecodeError> {
    match vsn {
        Vsn::V1 => Err(DecodeError::BinaryInV1),
        Vsn::V2 => binary::decode_user_broadcast_push(bytes),
    }
}

/// Encodes a frame as the text the client expects for `vsn`.
pub fn encode_text(vsn: Vsn, frame: &Frame) -> String {
    encode_text_refs(vsn, frame, &Refs::of(frame))
}

/// Encodes a frame with refs given verbatim (replies echo the client's refs and types).
pub fn encode_text_refs(vsn: Vsn, frame: &Frame, refs: &Refs) -> String {
    let value = match vsn {
        Vsn::V1 => {
            // Phoenix's V1 serializer sends no join_ref to clients.
            let mut map = Map::with_capacity(4);
            map.insert("topic".into(), Value::String(frame.topic.clone()));
            map.insert("event".into(), Value::String(frame.event.clone()));
            map.insert("payload".into(), frame.payload.clone());
            map.insert("ref".into(), refs.msg_ref.clone());
            Value::Object(map)
        }
        Vsn::V2 => Value::Array(vec![
            refs.join_ref.clone(),
            refs.msg_ref.clone(),
            Value::String(frame.topic.clone()),
            Value::String(frame.event.clone()),
            frame.payload.clone(),
        ]),
    };
    value.to_string()
}

fn opt_string(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn decode_object(value: Value) -> Result<(Frame, Refs), DecodeError> {
    let Value::Object(mut map) = value else {
        return Err(DecodeError::Shape("vsn 1.0.0 frames are JSON objects"));
    };
    // Phoenix's Message.from_map! needs all four keys; join_ref is optional.
    let (Some(topic), Some(event), Some(payload), Some(msg_ref)) = (
        map.remove("topic"),
        map.remove("event"),
        map.remove("payload"),
        map.remove("ref"),
    ) else {
        return Err(DecodeError::Shape(
            "vsn 1.0.0 frames need `topic`, `event`, `payload` and `ref`",
        ));
    };
    let join_ref = map.remove("join_ref").unwrap_or(Value::Null);
    build(join_ref, msg_ref, topic, event, payload)
}

fn decode_array(value: Value) -> Result<(Frame, Refs), DecodeError> {
    let Value::Array(items) = value else {
        return Err(DecodeError::Shape("vsn 2.0.0 frames are JSON arrays"));
    };
    if items.len() < 5 {
        return Err(DecodeError::Shape(
            "vsn 2.0.0 frames have at least 5 elements",
        ));
    }
    let mut it = items.into_iter();
    let mut next = || it.next().unwrap_or(Value::Null);
    let (join_ref, msg_ref, topic, event, payload) = (next(), next(), next(), next(), next());
    build(join_ref, msg_ref, topic, event, payload)
}

fn build(
    join_ref: Value,
    msg_ref: Value,
    topic: Value,
    event: Value,
    payload: Value,
) -> Result<(Frame, Refs), DecodeError> {
    // Phoenix decodes any types here, but a non-string topic or event can never be routed
    // (the official socket logs the resulting exception and ignores the frame).
    let topic = take_string(Some(topic), "topic must be a string")?;
    let event = take_string(Some(event), "event must be a string")?;
    let frame = Frame {
        join_ref: ref_text(&join_ref),
        msg_ref: ref_text(&msg_ref),
        topic,
        event,
        payload,
    };
    Ok((frame, Refs { join_ref, msg_ref }))
}

fn take_string(v: Option<Value>, why: &'static str) -> Result<String, DecodeError> {
    match v {
        Some(Value::String(s)) => Ok(s),
        _ => Err(DecodeError::Shape(why)),
    }
}

/// A ref as text: strings as they are, `null` as none, anything else as its JSON.
fn ref_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v1_round_trip_drops_join_ref_on_encode() {
        let f = decode_text(
            Vsn::V1,
            r#"{"topic":"realtime:a","event":"phx_join","payload":{"x":1},"ref":"1","join_ref":"1"}"#,
        )
        .unwrap();
        assert_eq!(f.join_ref.as_deref(), Some("1"));
        assert_eq!(f.payload, json!({"x":1}));
        let out: Value = serde_json::from_str(&encode_text(Vsn::V1, &f)).unwrap();
        assert_eq!(
            out,
            json!({"topic":"realtime:a","event":"phx_join","payload":{"x":1},"ref":"1"})
        );
    }

    #[test]
    fn v2_round_trip() {
        let text = r#"[null,"3","phoenix","heartbeat",{}]"#;
        let f = decode_text(Vsn::V2, text).unwrap();
        assert_eq!(f.join_ref, None);
        assert_eq!(f.msg_ref.as_deref(), Some("3"));
        assert_eq!(encode_text(Vsn::V2, &f), text);
    }

    #[test]
    fn v1_requires_ref_key_and_payload() {
        assert!(decode_text(Vsn::V1, r#"{"topic":"t","event":"e","payload":{}}"#).is_err());
        assert!(decode_text(Vsn::V1, r#"{"topic":"t","event":"e","ref":null}"#).is_err());
        assert!(decode_text(
            Vsn::V1,
            r#"{"topic":"t","event":"e","payload":{},"ref":null}"#
        )
        .is_ok());
    }

    #[test]
    fn rejects_wrong_shapes() {
        for bad in [
            "",
            "[",
            "{}",
            "[1,2,3]",
            r#"[null,null,1,"e",{}]"#,
            r#"[null,null,"t",{},{}]"#,
        ] {
            assert!(decode_text(Vsn::V2, bad).is_err(), "{bad}");
        }
        assert!(decode_text(Vsn::V1, r#"[null,null,"t","e",{}]"#).is_err());
        assert!(decode_text(
            Vsn::V2,
            r#"{"topic":"t","event":"e","payload":{},"ref":null}"#
        )
        .is_err());
    }

    /// R:lib/realtime_web/socket/v2_serializer.ex:158-167 — `[join_ref, ref, topic, event,
    /// payload | _]`: five or more elements, extra ones ignored.
    #[test]
    fn v2_accepts_long_arrays_and_keeps_ref_types() {
        let (f, refs) =
            decode_text_exact(Vsn::V2, r#"[7,8.5,"realtime:a","phx_leave",{},"extra",1]"#).unwrap();
        assert_eq!(f.topic, "realtime:a");
        assert_eq!(refs.join_ref, json!(7));
        assert_eq!(refs.msg_ref, json!(8.5));
        assert_eq!(f.join_ref.as_deref(), Some("7"));
        let reply = Frame::reply(&f, "ok", json!({}));
        assert_eq!(
            encode_text_refs(Vsn::V2, &reply, &refs),
            r#"[7,8.5,"realtime:a","phx_reply",{"response":{},"status":"ok"}]"#
        );
        // Non-map payloads decode too (the channel decides what to do with them).
        assert!(decode_text(Vsn::V2, r#"[null,"1","realtime:a","x",[1]]"#).is_ok());
    }

    /// P:lib/phoenix/socket/serializers/v1_json_serializer.ex:30-46 — any types, keys required.
    #[test]
    fn v1_keeps_ref_types() {
        let (f, refs) = decode_text_exact(
            Vsn::V1,
            r#"{"topic":"phoenix","event":"heartbeat","payload":"x","ref":12}"#,
        )
        .unwrap();
        assert_eq!(refs.msg_ref, json!(12));
        assert_eq!(refs.join_ref, Value::Null);
        let out = encode_text_refs(Vsn::V1, &Frame::reply(&f, "ok", json!({})), &refs);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ref"], json!(12));
    }

    #[test]
    fn vsn_parse() {
        assert_eq!(Vsn::parse(None).unwrap(), Vsn::V1);
        assert_eq!(Vsn::parse(Some("2.0.0")).unwrap(), Vsn::V2);
        assert!(matches!(
            Vsn::parse(Some("3.0.0")),
            Err(DecodeError::UnsupportedVsn(_))
        ));
    }

    #[test]
    fn reply_keeps_refs() {
        let f = decode_text(Vsn::V2, r#"["1","2","realtime:a","phx_join",{}]"#).unwrap();
        let r = Frame::reply(&f, "ok", json!({}));
        assert_eq!(
            encode_text(Vsn::V2, &r),
            r#"["1","2","realtime:a","phx_reply",{"response":{},"status":"ok"}]"#
        );
    }
}
