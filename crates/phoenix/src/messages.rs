//! Typed client messages: what a Realtime client can ask of the server.
//!
//! Interpretation follows the official server: unknown or malformed parts of a known event
//! are not errors of the socket. Only a join whose `postgres_changes` list cannot be read is
//! refused (the engine replies with the reason).

use serde_json::{Map, Value};

use crate::binary::{BroadcastBody, UserBroadcast};
use crate::error::DecodeError;
use crate::frame::Frame;

/// One entry of `config.postgres_changes` in a join payload.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresChangeParams {
    /// `*`, `INSERT`, `UPDATE` or `DELETE` (echoed back verbatim).
    pub event: String,
    /// Schema; `public` when only a table is given.
    pub schema: Option<String>,
    /// Table name, or `*` / absent for every published table of the schema.
    pub table: Option<String>,
    /// Optional `column=op.value[,...]` filter.
    pub filter: Option<String>,
    /// Optional `select` column list, as sent (validated by the engine).
    pub select: Option<Value>,
    /// The object exactly as the client sent it, echoed in the join reply.
    pub raw: Map<String, Value>,
}

/// Broadcast options of a join.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BroadcastConfig {
    /// Deliver the sender's own broadcasts back to it.
    pub self_: bool,
    /// Reply `ok` to each broadcast push.
    pub ack: bool,
}

/// Presence options of a join.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresenceConfig {
    /// Presence key; empty means a server-generated one.
    pub key: String,
    /// `presence.enabled` as sent.
    pub enabled: bool,
}

/// `config.postgres_changes_options`: whether the join reply waits for the bindings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostgresChangesOptions {
    /// Reply to the join only once postgres_changes are attached (or failed).
    pub wait: bool,
    /// How long the client is willing to wait, in milliseconds.
    pub timeout: Option<u64>,
}

/// The `config` object of a `phx_join` payload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinConfig {
    /// Broadcast options.
    pub broadcast: BroadcastConfig,
    /// Presence options.
    pub presence: PresenceConfig,
    /// Requested postgres_changes bindings, in client order.
    pub postgres_changes: Vec<PostgresChangeParams>,
    /// Private channel flag.
    pub private: bool,
    /// Options of newer clients for postgres_changes subscription.
    pub postgres_changes_options: PostgresChangesOptions,
}

/// A presence push (`event: "presence"`), as the official presence handler reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum PresenceRequest {
    /// `track` (any case) with a map payload (`{}` when `payload` is absent).
    Track(Map<String, Value>),
    /// `track` whose `payload` is not a map (also `null`).
    TrackInvalidPayload,
    /// `untrack` (any case).
    Untrack,
    /// The push payload is not a map or has no `event`: a no-op answered `ok`.
    Noop,
    /// An event other than track/untrack.
    Unknown(String),
    /// `event` is not a string: the official channel process crashes on it.
    NonStringEvent,
}

/// What a client frame asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `phoenix` / `heartbeat`.
    Heartbeat,
    /// `phx_join` with its config and optional tokens.
    Join {
        /// Channel options.
        config: JoinConfig,
        /// `access_token` from the payload, when a string.
        access_token: Option<String>,
        /// `user_token` from the payload, when a string.
        user_token: Option<String>,
    },
    /// `phx_leave`.
    Leave,
    /// `access_token` refresh; `None` when the value is null, missing or not a string
    /// (the official server ignores those).
    AccessToken(Option<String>),
    /// A user broadcast (text form).
    Broadcast(UserBroadcast),
    /// A broadcast push whose payload is not an object with a string `event`.
    BadBroadcast,
    /// Presence track/untrack.
    Presence(PresenceRequest),
    /// Any other event; the server ignores it.
    Other(String),
}

impl ClientMessage {
    /// Interprets a decoded frame; only an unreadable `postgres_changes` list is an error.
    pub fn from_frame(frame: &Frame) -> Result<ClientMessage, DecodeError> {
        let p = &frame.payload;
        Ok(match (frame.topic.as_str(), frame.event.as_str()) {
            ("phoenix", "heartbeat") => ClientMessage::Heartbeat,
            (_, "phx_join") => parse_join(p)?,
            (_, "phx_leave") => ClientMessage::Leave,
            (_, "access_token") => ClientMessage::AccessToken(
                p.get("access_token")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
            (_, "broadcast") => match (p.as_object(), p.get("event")) {
                (Some(_), Some(Value::String(event))) => ClientMessage::Broadcast(UserBroadcast {
                    join_ref: frame.join_ref.clone(),
                    msg_ref: frame.msg_ref.clone(),
                    topic: frame.topic.clone(),
                    event: event.clone(),
                    meta: p.get("meta").cloned(),
                    body: BroadcastBody::Json(p.get("payload").cloned().unwrap_or(Value::Null)),
                }),
                _ => ClientMessage::BadBroadcast,
            },
            (_, "presence") => ClientMessage::Presence(parse_presence(p)),
            (_, other) => ClientMessage::Other(other.to_string()),
        })
    }
}

/// R:lib/realtime_web/channels/realtime_channel/presence_handler.ex:69-139.
fn parse_presence(p: &Value) -> PresenceRequest {
    let Some(event) = p.as_object().and_then(|m| m.get("event")) else {
        return PresenceRequest::Noop;
    };
    let Value::String(event) = event else {
        return PresenceRequest::NonStringEvent;
    };
    match event.to_ascii_lowercase().as_str() {
        "track" => match p.get("payload") {
            None => PresenceRequest::Track(Map::new()),
            Some(Value::Object(m)) => PresenceRequest::Track(m.clone()),
            Some(_) => PresenceRequest::TrackInvalidPayload,
        },
        "untrack" => PresenceRequest::Untrack,
        _ => PresenceRequest::Unknown(event.clone()),
    }
}

/// Booleans or "true"/"false" in any case, like the official `FlexibleBoolean`
/// (R:lib/realtime_web/channels/payloads/flexible_boolean.ex:17-27); anything else is false.
fn flexible_bool(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn parse_join(p: &Value) -> Result<ClientMessage, DecodeError> {
    let empty = Map::new();
    let payload = p.as_object().unwrap_or(&empty);
    let string = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut config = JoinConfig::default();
    // Invalid config parts are ignored (the official server logs InvalidJoinPayload and joins
    // with what it could read).
    if let Some(c) = payload.get("config").and_then(Value::as_object) {
        if let Some(b) = c.get("broadcast").and_then(Value::as_object) {
            config.broadcast = BroadcastConfig {
                self_: flexible_bool(b.get("self")),
                ack: flexible_bool(b.get("ack")),
            };
        }
        if let Some(pr) = c.get("presence").and_then(Value::as_object) {
            config.presence = PresenceConfig {
                key: match pr.get("key") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => String::new(),
                },
                enabled: flexible_bool(pr.get("enabled")),
            };
        }
        config.private = flexible_bool(c.get("private"));
        if let Some(o) = c.get("postgres_changes_options").and_then(Value::as_object) {
            config.postgres_changes_options = PostgresChangesOptions {
                wait: flexible_bool(o.get("wait")),
                timeout: o.get("timeout").and_then(Value::as_u64),
            };
        }
        if let Some(list) = c.get("postgres_changes").filter(|v| !v.is_null()) {
            let list = list.as_array().ok_or(DecodeError::Shape(
                "config.postgres_changes must be an array",
            ))?;
            for item in list {
                config.postgres_changes.push(parse_change(item)?);
            }
        }
    }
    Ok(ClientMessage::Join {
        config,
        access_token: string("access_token"),
        user_token: string("user_token"),
    })
}

fn parse_change(v: &Value) -> Result<PostgresChangeParams, DecodeError> {
    let raw = v.as_object().ok_or(DecodeError::Shape(
        "postgres_changes entries must be objects",
    ))?;
    let field = |k: &str| -> Result<Option<String>, DecodeError> {
        match raw.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(DecodeError::Shape(
                "postgres_changes fields must be strings",
            )),
        }
    };
    Ok(PostgresChangeParams {
        event: field("event")?.ok_or(DecodeError::Shape("postgres_changes entry needs `event`"))?,
        schema: field("schema")?,
        table: field("table")?,
        filter: field("filter")?,
        select: raw.get("select").filter(|v| !v.is_null()).cloned(),
        raw: raw.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serializer::{decode_text, Vsn};
    use serde_json::json;

    #[test]
    fn parses_a_realtime_js_join() {
        let f = decode_text(
            Vsn::V2,
            r#"["1","1","realtime:room1","phx_join",{"config":{"broadcast":{"ack":true,"self":false},"presence":{"key":"u1","enabled":true},"postgres_changes":[{"event":"*","schema":"public","table":"todos","filter":"id=eq.5"}],"private":false},"access_token":"tok"}]"#,
        )
        .unwrap();
        let ClientMessage::Join {
            config,
            access_token,
            ..
        } = ClientMessage::from_frame(&f).unwrap()
        else {
            panic!("not a join");
        };
        assert_eq!(access_token.as_deref(), Some("tok"));
        assert!(config.broadcast.ack && !config.broadcast.self_);
        assert_eq!(config.presence.key, "u1");
        assert_eq!(
            config.postgres_changes[0].filter.as_deref(),
            Some("id=eq.5")
        );
        assert_eq!(config.postgres_changes[0].raw["table"], json!("todos"));
        assert!(!config.postgres_changes_options.wait);
    }

    #[test]
    fn parses_wait_option() {
        let f = Frame::push(
            "realtime:a",
            "phx_join",
            json!({"config": {"postgres_changes_options": {"wait": true, "timeout": 2000}}}),
        );
        let ClientMessage::Join { config, .. } = ClientMessage::from_frame(&f).unwrap() else {
            panic!("not a join");
        };
        assert_eq!(
            config.postgres_changes_options,
            PostgresChangesOptions {
                wait: true,
                timeout: Some(2000)
            }
        );
    }

    #[test]
    fn join_without_config_is_default() {
        let f = Frame::push("realtime:a", "phx_join", json!({}));
        assert_eq!(
            ClientMessage::from_frame(&f).unwrap(),
            ClientMessage::Join {
                config: JoinConfig::default(),
                access_token: None,
                user_token: None,
            }
        );
    }

    #[test]
    fn unreadable_postgres_changes_are_errors() {
        for payload in [
            json!({"config":{"postgres_changes":{}}}),
            json!({"config":{"postgres_changes":[{"schema":"public"}]}}),
        ] {
            let f = Frame::push("realtime:a", "phx_join", payload.clone());
            assert!(ClientMessage::from_frame(&f).is_err(), "{payload}");
        }
    }

    #[test]
    fn lenient_like_the_official_server() {
        let m = |event: &str, payload: Value| {
            ClientMessage::from_frame(&Frame::push("realtime:a", event, payload)).unwrap()
        };
        assert!(matches!(
            m("phx_join", json!([])),
            ClientMessage::Join { .. }
        ));
        assert_eq!(
            m("access_token", json!({})),
            ClientMessage::AccessToken(None)
        );
        assert_eq!(
            m("access_token", json!({"access_token": null})),
            ClientMessage::AccessToken(None)
        );
        assert_eq!(
            m("broadcast", json!({"payload":{}})),
            ClientMessage::BadBroadcast
        );
        let pres = |p: Value| match m("presence", p) {
            ClientMessage::Presence(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            pres(json!({"event":"nope"})),
            PresenceRequest::Unknown("nope".into())
        );
        assert_eq!(
            pres(json!({"event":"TRACK"})),
            PresenceRequest::Track(Map::new())
        );
        assert_eq!(pres(json!({"event":"UnTrack"})), PresenceRequest::Untrack);
        assert_eq!(pres(json!({})), PresenceRequest::Noop);
        assert_eq!(pres(json!([1])), PresenceRequest::Noop);
        assert_eq!(pres(json!({"event": 1})), PresenceRequest::NonStringEvent);
        assert_eq!(
            pres(json!({"event":"track","payload":null})),
            PresenceRequest::TrackInvalidPayload
        );
        let ClientMessage::Join { config, .. } = m(
            "phx_join",
            json!({"config":{"private":"TRUE","broadcast":{"self":"true","ack":1},"presence":{"enabled":true}}}),
        ) else {
            panic!("not a join")
        };
        assert!(config.private && config.broadcast.self_ && !config.broadcast.ack);
        assert!(config.presence.enabled);
    }

    #[test]
    fn presence_and_heartbeat() {
        let hb = Frame::push("phoenix", "heartbeat", json!({}));
        assert_eq!(
            ClientMessage::from_frame(&hb).unwrap(),
            ClientMessage::Heartbeat
        );
        let t = Frame::push(
            "realtime:a",
            "presence",
            json!({"type":"presence","event":"track","payload":{"user":"x"}}),
        );
        assert!(
            matches!(ClientMessage::from_frame(&t).unwrap(), ClientMessage::Presence(PresenceRequest::Track(m)) if m["user"] == "x")
        );
    }
}
