//! What a subscription receives, typed.

use serde::Serialize;
use serde_json::Value;
use supalove_phoenix::Frame;

/// One thing the server told a channel (or the connection).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A database change: `ids` of the matching bindings and the change itself.
    PostgresChanges {
        topic: String,
        ids: Vec<u64>,
        data: Value,
    },
    /// A broadcast message.
    Broadcast {
        topic: String,
        event: String,
        payload: Value,
    },
    /// The full presence state, after joining.
    PresenceState { topic: String, state: Value },
    /// Who joined and left.
    PresenceDiff {
        topic: String,
        joins: Value,
        leaves: Value,
    },
    /// A `system` message (`Subscribed to PostgreSQL`, errors).
    System { topic: String, payload: Value },
    /// The server closed the channel.
    ChannelClosed { topic: String },
    /// The channel crashed on the server.
    ChannelError { topic: String, payload: Value },
    /// The websocket dropped; the client reconnects and rejoins by itself.
    Disconnected { reason: String },
    /// The websocket is back and channels were rejoined.
    Reconnected,
}

impl Event {
    /// The event a server push means, if any (replies are handled by the connection).
    pub fn from_push(frame: &Frame) -> Option<Event> {
        let topic = frame.topic.clone();
        let p = &frame.payload;
        Some(match frame.event.as_str() {
            "postgres_changes" => Event::PostgresChanges {
                topic,
                ids: p["ids"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default(),
                data: p["data"].clone(),
            },
            "broadcast" => Event::Broadcast {
                topic,
                event: p["event"].as_str().unwrap_or_default().to_string(),
                payload: p["payload"].clone(),
            },
            "presence_state" => Event::PresenceState {
                topic,
                state: p.clone(),
            },
            "presence_diff" => Event::PresenceDiff {
                topic,
                joins: p["joins"].clone(),
                leaves: p["leaves"].clone(),
            },
            "system" => Event::System {
                topic,
                payload: p.clone(),
            },
            "phx_close" => Event::ChannelClosed { topic },
            "phx_error" => Event::ChannelError {
                topic,
                payload: p.clone(),
            },
            _ => return None,
        })
    }

    /// The channel topic the event belongs to, if any.
    pub fn topic(&self) -> Option<&str> {
        match self {
            Event::PostgresChanges { topic, .. }
            | Event::Broadcast { topic, .. }
            | Event::PresenceState { topic, .. }
            | Event::PresenceDiff { topic, .. }
            | Event::System { topic, .. }
            | Event::ChannelClosed { topic }
            | Event::ChannelError { topic, .. } => Some(topic),
            _ => None,
        }
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 time such as `2026-11-24T14:00:00.123Z`
/// or `2026-11-24T14:00:00.123456+00:00` (what `commit_timestamp` carries). Postgres' own
/// spelling (`2026-11-24 14:00:00.1+00`, or no offset for UTC) is accepted too.
pub fn parse_rfc3339_ms(text: &str) -> Option<f64> {
    let mut norm = text.to_string();
    if norm.get(10..11) == Some(" ") {
        norm.replace_range(10..11, "T");
    }
    // What follows the seconds and their fraction: the offset, if any.
    let offset_at = norm
        .get(19..)?
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|i| i + 19);
    match offset_at.map(|i| &norm[i..]) {
        None => norm.push('Z'),
        Some(off) if off.len() == 3 && (off.starts_with('+') || off.starts_with('-')) => {
            norm.push_str(":00")
        }
        Some(_) => {}
    }
    let t =
        time::OffsetDateTime::parse(&norm, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp() as f64 * 1000.0 + f64::from(t.nanosecond()) / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1500.0));
        assert_eq!(
            parse_rfc3339_ms("2026-11-24T00:00:00Z"),
            Some(1_795_478_400_000.0)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-24T01:00:00+01:00"),
            Some(1_795_478_400_000.0)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-24T00:00:00.250000+00:00"),
            Some(1_795_478_400_250.0)
        );
        assert_eq!(parse_rfc3339_ms("nonsense"), None);
    }

    #[test]
    fn pushes_become_events() {
        let f = Frame::push(
            "realtime:x",
            "postgres_changes",
            serde_json::json!({"ids": [3, 4], "data": {"type": "INSERT"}}),
        );
        match Event::from_push(&f).unwrap() {
            Event::PostgresChanges { ids, data, .. } => {
                assert_eq!(ids, vec![3, 4]);
                assert_eq!(data["type"], "INSERT");
            }
            other => panic!("{other:?}"),
        }
        assert!(Event::from_push(&Frame::push("phoenix", "phx_reply", Value::Null)).is_none());
    }
}
