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

/// Decodes a text websocket frame according to `vsn`.
pub fn decode_text(vsn: Vsn, text: &str) -> Result<Frame, DecodeError> {
    let value: Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
    match vsn {
        Vsn::V1 => decode_object(value),
        Vsn::V2 => decode_array(value),
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
    let value = match vsn {
        Vsn::V1 => {
            // Phoenix's V1 serializer sends no join_ref to clients.
            let mut map = Map::with_capacity(4);
            map.insert("topic".into(), Value::String(frame.topic.clone()));
            map.insert("event".into(), Value::String(frame.event.clone()));
            map.insert("payload".into(), frame.payload.clone());
            map.insert("ref".into(), opt_string(&frame.msg_ref));
            Value::Object(map)
        }
        Vsn::V2 => Value::Array(vec![
            opt_string(&frame.join_ref),
            opt_string(&frame.msg_ref),
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

fn decode_object(value: Value) -> Result<Frame, DecodeError> {
    let Value::Object(mut map) = value else {
        return Err(DecodeError::Shape("vsn 1.0.0 frames are JSON objects"));
    };
    let topic = take_string(map.remove("topic"), "`topic` must be a string")?;
    let event = take_string(map.remove("event"), "`event` must be a string")?;
    let payload = map
        .remove("payload")
        .ok_or(DecodeError::Shape("`payload` is missing"))?;
    if !map.contains_key("ref") {
        return Err(DecodeError::Shape("`ref` is missing"));
    }
    let msg_ref = take_ref(map.remove("ref"))?;
    let join_ref = take_ref(map.remove("join_ref"))?;
    Ok(Frame {
        join_ref,
        msg_ref,
        topic,
        event,
        payload,
    })
}

fn decode_array(value: Value) -> Result<Frame, DecodeError> {
    let Value::Array(items) = value else {
        return Err(DecodeError::Shape("vsn 2.0.0 frames are JSON arrays"));
    };
    let Ok::<[Value; 5], _>([join_ref, msg_ref, topic, event, payload]) = items.try_into() else {
        return Err(DecodeError::Shape(
            "vsn 2.0.0 frames have exactly 5 elements",
        ));
    };
    Ok(Frame {
        join_ref: take_ref(Some(join_ref))?,
        msg_ref: take_ref(Some(msg_ref))?,
        topic: take_string(Some(topic), "topic must be a string")?,
        event: take_string(Some(event), "event must be a string")?,
        payload,
    })
}

fn take_string(v: Option<Value>, why: &'static str) -> Result<String, DecodeError> {
    match v {
        Some(Value::String(s)) => Ok(s),
        _ => Err(DecodeError::Shape(why)),
    }
}

/// Refs are strings in realtime-js; numbers are tolerated because other clients send them.
fn take_ref(v: Option<Value>) -> Result<Option<String>, DecodeError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(DecodeError::Shape("refs must be strings, numbers or null")),
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
            r#"[{},null,"t","e",{}]"#,
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
