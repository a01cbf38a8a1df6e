//! Binary user-broadcast frames of serializer 2.0.0.
//!
//! Client → server (kind 3): `kind, join_ref_len, ref_len, topic_len, event_len, meta_len,
//! encoding, join_ref, ref, topic, event, meta, payload`. Server → client (kind 4):
//! `kind, topic_len, event_len, meta_len, encoding, topic, event, meta, payload`. Lengths are
//! single bytes; `encoding` is 0 for raw bytes and 1 for JSON.

use serde_json::{json, Value};

use crate::error::DecodeError;

/// Kind byte of a client push with a binary payload.
pub const KIND_PUSH: u8 = 0;
/// Kind byte of a client user broadcast push.
pub const KIND_USER_BROADCAST_PUSH: u8 = 3;
/// Kind byte of a server user broadcast.
pub const KIND_USER_BROADCAST: u8 = 4;
const ENCODING_BINARY: u8 = 0;
const ENCODING_JSON: u8 = 1;

/// The user payload of a broadcast: JSON or opaque bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum BroadcastBody {
    /// A JSON value (text broadcasts and binary frames with encoding 1).
    Json(Value),
    /// Raw bytes (binary frames with encoding 0).
    Binary(Vec<u8>),
}

/// A user broadcast, as decoded from a kind-3 frame or built from a text `broadcast` push.
#[derive(Debug, Clone, PartialEq)]
pub struct UserBroadcast {
    /// Join ref of the sending channel.
    pub join_ref: Option<String>,
    /// Push ref, used for the ack reply.
    pub msg_ref: Option<String>,
    /// Channel topic.
    pub topic: String,
    /// User event name (`payload.event` in the text form).
    pub event: String,
    /// Optional metadata object sent alongside.
    pub meta: Option<Value>,
    /// The user payload.
    pub body: BroadcastBody,
}

impl UserBroadcast {
    /// The text-frame payload `{type:"broadcast", event, payload[, meta]}`, when the body is JSON.
    pub fn text_payload(&self) -> Option<Value> {
        let BroadcastBody::Json(payload) = &self.body else {
            return None;
        };
        let mut out = json!({ "type": "broadcast", "event": self.event, "payload": payload });
        if let Some(meta) = &self.meta {
            out["meta"] = meta.clone();
        }
        Some(out)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated {
            needed: usize::MAX,
            len: self.bytes.len(),
        })?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated {
                needed: end,
                len: self.bytes.len(),
            })?;
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn string(&mut self, n: u8, field: &'static str) -> Result<String, DecodeError> {
        let raw = self.take(n as usize)?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Utf8(field))
    }
}

/// A binary frame a client may send (vsn 2.0.0).
#[derive(Debug, Clone, PartialEq)]
pub enum BinaryIn {
    /// Kind 0: a regular push whose payload is raw bytes.
    Push {
        /// Join ref (empty when not sent).
        join_ref: String,
        /// Push ref.
        msg_ref: String,
        /// Topic.
        topic: String,
        /// Event.
        event: String,
        /// Raw payload bytes.
        payload: Vec<u8>,
    },
    /// Kind 3: a user broadcast push.
    UserBroadcast(UserBroadcast),
}

/// Decodes any binary frame a client may send: kind 0 (push) or kind 3 (user broadcast);
/// other kinds and truncated headers are errors (the server ignores them), as in the
/// official V2 serializer (R:lib/realtime_web/socket/v2_serializer.ex:169-223).
pub fn decode_client_binary(bytes: &[u8]) -> Result<BinaryIn, DecodeError> {
    match bytes.first() {
        Some(&KIND_PUSH) => {
            let mut r = Reader { bytes, pos: 1 };
            let (jl, rl, tl, el) = (r.byte()?, r.byte()?, r.byte()?, r.byte()?);
            let join_ref = r.string(jl, "join_ref")?;
            let msg_ref = r.string(rl, "ref")?;
            let topic = r.string(tl, "topic")?;
            let event = r.string(el, "event")?;
            Ok(BinaryIn::Push {
                join_ref,
                msg_ref,
                topic,
                event,
                payload: bytes[r.pos..].to_vec(),
            })
        }
        _ => decode_user_broadcast_push(bytes).map(BinaryIn::UserBroadcast),
    }
}

/// Decodes a kind-3 user broadcast push sent by realtime-js (vsn 2.0.0).
///
/// Encoding 0 is raw bytes; any other value means JSON, as the official decoder reads it.
pub fn decode_user_broadcast_push(bytes: &[u8]) -> Result<UserBroadcast, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let kind = r.byte()?;
    if kind != KIND_USER_BROADCAST_PUSH {
        return Err(DecodeError::UnsupportedKind(kind));
    }
    let join_ref_len = r.byte()?;
    let ref_len = r.byte()?;
    let topic_len = r.byte()?;
    let event_len = r.byte()?;
    let meta_len = r.byte()?;
    let encoding = r.byte()?;
    let join_ref = r.string(join_ref_len, "join_ref")?;
    let msg_ref = r.string(ref_len, "ref")?;
    let topic = r.string(topic_len, "topic")?;
    let event = r.string(event_len, "event")?;
    let meta_raw = r.take(meta_len as usize)?;
    let rest = &bytes[r.pos..];
    let meta = if meta_raw.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(meta_raw).map_err(|e| DecodeError::Json(e.to_string()))?)
    };
    let body = match encoding {
        ENCODING_BINARY => BroadcastBody::Binary(rest.to_vec()),
        _ => BroadcastBody::Json(
            serde_json::from_slice(rest).map_err(|e| DecodeError::Json(e.to_string()))?,
        ),
    };
    Ok(UserBroadcast {
        join_ref: non_empty(join_ref),
        msg_ref: non_empty(msg_ref),
        topic,
        event,
        meta,
        body,
    })
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Encodes a kind-4 user broadcast for a vsn 2.0.0 client; `None` if a field exceeds 255 bytes.
pub fn encode_user_broadcast(b: &UserBroadcast) -> Option<Vec<u8>> {
    let meta = b.meta.as_ref().map(Value::to_string).unwrap_or_default();
    let (encoding, payload) = match &b.body {
        BroadcastBody::Json(v) => (ENCODING_JSON, v.to_string().into_bytes()),
        BroadcastBody::Binary(bytes) => (ENCODING_BINARY, bytes.clone()),
    };
    let topic_len = u8::try_from(b.topic.len()).ok()?;
    let event_len = u8::try_from(b.event.len()).ok()?;
    let meta_len = u8::try_from(meta.len()).ok()?;
    let mut out =
        Vec::with_capacity(5 + b.topic.len() + b.event.len() + meta.len() + payload.len());
    out.extend_from_slice(&[
        KIND_USER_BROADCAST,
        topic_len,
        event_len,
        meta_len,
        encoding,
    ]);
    out.extend_from_slice(b.topic.as_bytes());
    out.extend_from_slice(b.event.as_bytes());
    out.extend_from_slice(meta.as_bytes());
    out.extend_from_slice(&payload);
    Some(out)
}

/// Encodes a kind-3 push as realtime-js does; used by tests and Rust clients.
pub fn encode_user_broadcast_push(b: &UserBroadcast) -> Option<Vec<u8>> {
    let join_ref = b.join_ref.clone().unwrap_or_default();
    let msg_ref = b.msg_ref.clone().unwrap_or_default();
    let meta = b.meta.as_ref().map(Value::to_string).unwrap_or_default();
    let (encoding, payload) = match &b.body {
        BroadcastBody::Json(v) => (ENCODING_JSON, v.to_string().into_bytes()),
        BroadcastBody::Binary(bytes) => (ENCODING_BINARY, bytes.clone()),
    };
    let lens = [
        u8::try_from(join_ref.len()).ok()?,
        u8::try_from(msg_ref.len()).ok()?,
        u8::try_from(b.topic.len()).ok()?,
        u8::try_from(b.event.len()).ok()?,
        u8::try_from(meta.len()).ok()?,
    ];
    let mut out = vec![KIND_USER_BROADCAST_PUSH];
    out.extend_from_slice(&lens);
    out.push(encoding);
    for part in [&join_ref, &msg_ref, &b.topic, &b.event, &meta] {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(&payload);
    Some(out)
}

/// Decodes a kind-4 server broadcast; used by tests and Rust clients.
pub fn decode_user_broadcast(bytes: &[u8]) -> Result<UserBroadcast, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let kind = r.byte()?;
    if kind != KIND_USER_BROADCAST {
        return Err(DecodeError::UnsupportedKind(kind));
    }
    let (topic_len, event_len, meta_len, encoding) = (r.byte()?, r.byte()?, r.byte()?, r.byte()?);
    let topic = r.string(topic_len, "topic")?;
    let event = r.string(event_len, "event")?;
    let meta_raw = r.take(meta_len as usize)?;
    let meta = if meta_raw.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(meta_raw).map_err(|e| DecodeError::Json(e.to_string()))?)
    };
    let rest = &bytes[r.pos..];
    let body = match encoding {
        ENCODING_BINARY => BroadcastBody::Binary(rest.to_vec()),
        ENCODING_JSON => BroadcastBody::Json(
            serde_json::from_slice(rest).map_err(|e| DecodeError::Json(e.to_string()))?,
        ),
        other => return Err(DecodeError::UnknownEncoding(other)),
    };
    Ok(UserBroadcast {
        join_ref: None,
        msg_ref: None,
        topic,
        event,
        meta,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `phoenix_v2_binary` fuzz target (seed `float-roundtrip-regression`):
    /// without serde_json's `float_roundtrip`, a long decimal parsed one ULP off, so the
    /// number relayed differed from what the sender's `JSON.parse` gives.
    #[test]
    fn long_decimals_survive_a_round_trip() {
        let mut bytes = vec![3, 1, 3, 1, 0, 0, b':', 0x16, b'!', b't', b'i', b'}'];
        bytes.extend_from_slice(b"22200000018888888888888888888888888483599");
        let b = decode_user_broadcast_push(&bytes).unwrap();
        assert_eq!(
            b.body,
            BroadcastBody::Json(serde_json::json!(2.220000001888889e40))
        );
        let again = decode_user_broadcast_push(&encode_user_broadcast_push(&b).unwrap()).unwrap();
        assert_eq!(again, b);
    }

    fn sample(body: BroadcastBody) -> UserBroadcast {
        UserBroadcast {
            join_ref: Some("1".into()),
            msg_ref: Some("5".into()),
            topic: "realtime:room1".into(),
            event: "cursor".into(),
            meta: None,
            body,
        }
    }

    #[test]
    fn push_layout_matches_realtime_js() {
        let b = sample(BroadcastBody::Json(json!({"x":1})));
        let bytes = encode_user_broadcast_push(&b).unwrap();
        assert_eq!(&bytes[..7], &[3, 1, 1, 14, 6, 0, 1]);
        assert_eq!(&bytes[7..], b"15realtime:room1cursor{\"x\":1}");
        assert_eq!(decode_user_broadcast_push(&bytes).unwrap(), b);
    }

    #[test]
    fn broadcast_round_trip_binary_with_meta() {
        let mut b = sample(BroadcastBody::Binary(vec![0, 255, 7]));
        b.meta = Some(json!({"id":"abc"}));
        let bytes = encode_user_broadcast(&b).unwrap();
        assert_eq!(bytes[0], 4);
        let back = decode_user_broadcast(&bytes).unwrap();
        assert_eq!(back.body, b.body);
        assert_eq!(back.meta, b.meta);
        assert_eq!(back.topic, b.topic);
    }

    #[test]
    fn text_payload_shape() {
        let b = sample(BroadcastBody::Json(json!({"x":1})));
        assert_eq!(
            b.text_payload().unwrap(),
            json!({"type":"broadcast","event":"cursor","payload":{"x":1}})
        );
        assert!(sample(BroadcastBody::Binary(vec![]))
            .text_payload()
            .is_none());
    }

    #[test]
    fn malformed_frames_are_errors() {
        assert!(decode_user_broadcast_push(&[]).is_err());
        assert!(matches!(
            decode_user_broadcast_push(&[0, 0, 0, 0, 0, 0, 1]),
            Err(DecodeError::UnsupportedKind(0))
        ));
        assert!(matches!(
            decode_user_broadcast_push(&[3, 200, 0, 0, 0, 0, 1]),
            Err(DecodeError::Truncated { .. })
        ));
        // Any encoding but 0 means JSON (R:v2_serializer.ex:205).
        assert_eq!(
            decode_user_broadcast_push(&[3, 0, 0, 0, 0, 0, 9, b'1'])
                .unwrap()
                .body,
            BroadcastBody::Json(json!(1))
        );
        assert!(matches!(
            decode_client_binary(&[0, 1, 1, 1, 1, b'a', b'b', b'c', b'd', 7]),
            Ok(BinaryIn::Push { ref payload, .. }) if payload == &[7]
        ));
        assert!(decode_client_binary(&[0, 9, 0]).is_err());
        assert!(matches!(
            decode_client_binary(&[2, 0]),
            Err(DecodeError::UnsupportedKind(2))
        ));
        assert!(matches!(
            decode_user_broadcast_push(&[3, 0, 0, 1, 0, 0, 0, 0xff]),
            Err(DecodeError::Utf8("topic"))
        ));
        assert!(decode_user_broadcast_push(&[3, 0, 0, 0, 0, 0, 1, b'{']).is_err());
    }
}
