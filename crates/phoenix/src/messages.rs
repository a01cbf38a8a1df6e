//! Typed client messages: what a Realtime client can ask of the server.

use serde::Deserialize;
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
    /// Optional `column=op.value` filter.
    pub filter: Option<String>,
    /// The object exactly as the client sent it, echoed in the join reply.
    pub raw: Map<String, Value>,
}

/// Broadcast options of a join.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct BroadcastConfig {
    /// Deliver the sender's own broadcasts back to it.
    #[serde(rename = "self")]
    pub self_: bool,
    /// Reply `ok` to each broadcast push.
    pub ack: bool,
}

/// Presence options of a join.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PresenceConfig {
    /// Presence key; empty means a server-generated one.
    pub key: String,
}

/// `config.postgres_changes_options`: whether the join reply waits for the bindings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
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

/// What a client frame asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `phoenix` / `heartbeat`.
    Heartbeat,
    /// `phx_join` with its config and optional access token.
    Join {
        /// Channel options.
        config: JoinConfig,
        /// `user_token` or `access_token` from the payload.
        access_token: Option<String>,
    },
    /// `phx_leave`.
    Leave,
    /// `access_token` refresh.
    AccessToken(String),
    /// A user broadcast (text form).
    Broadcast(UserBroadcast),
    /// Presence track with its meta object.
    PresenceTrack(Map<String, Value>),
    /// Presence untrack.
    PresenceUntrack,
    /// Any other event; the server ignores or rejects it.
    Other(String),
}

impl ClientMessage {
    /// Interprets a decoded frame; malformed payloads of known events are errors.
    pub fn from_frame(frame: &Frame) -> Result<ClientMessage, DecodeError> {
        let p = &frame.payload;
        Ok(match (frame.topic.as_str(), frame.event.as_str()) {
            ("phoenix", "heartbeat") => ClientMessage::Heartbeat,
            (_, "phx_join") => parse_join(p)?,
            (_, "phx_leave") => ClientMessage::Leave,
            (_, "access_token") => match p.get("access_token") {
                Some(Value::String(t)) => ClientMessage::AccessToken(t.clone()),
                _ => {
                    return Err(DecodeError::Shape(
                        "access_token needs a string `access_token`",
                    ))
                }
            },
            (_, "broadcast") => {
                let event = match p.get("event") {
                    Some(Value::String(e)) => e.clone(),
                    _ => return Err(DecodeError::Shape("broadcast needs a string `event`")),
                };
                ClientMessage::Broadcast(UserBroadcast {
                    join_ref: frame.join_ref.clone(),
                    msg_ref: frame.msg_ref.clone(),
                    topic: frame.topic.clone(),
                    event,
                    meta: p.get("meta").cloned(),
                    body: BroadcastBody::Json(p.get("payload").cloned().unwrap_or(Value::Null)),
                })
            }
            (_, "presence") => match p.get("event").and_then(Value::as_str) {
                Some("track") => match p.get("payload") {
                    Some(Value::Object(m)) => ClientMessage::PresenceTrack(m.clone()),
                    None | Some(Value::Null) => ClientMessage::PresenceTrack(Map::new()),
                    Some(_) => {
                        return Err(DecodeError::Shape("presence payload must be an object"))
                    }
                },
                Some("untrack") => ClientMessage::PresenceUntrack,
                _ => {
                    return Err(DecodeError::Shape(
                        "presence event must be track or untrack",
                    ))
                }
            },
            (_, other) => ClientMessage::Other(other.to_string()),
        })
    }
}

fn parse_join(p: &Value) -> Result<ClientMessage, DecodeError> {
    let payload = p
        .as_object()
        .ok_or(DecodeError::Shape("phx_join payload must be an object"))?;
    let token = ["user_token", "access_token"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    let mut config = JoinConfig::default();
    if let Some(c) = payload.get("config").filter(|c| !c.is_null()) {
        let c = c
            .as_object()
            .ok_or(DecodeError::Shape("config must be an object"))?;
        if let Some(b) = c.get("broadcast").filter(|v| !v.is_null()) {
            config.broadcast = BroadcastConfig::deserialize(b)
                .map_err(|_| DecodeError::Shape("config.broadcast has the wrong shape"))?;
        }
        if let Some(pr) = c.get("presence").filter(|v| !v.is_null()) {
            config.presence = PresenceConfig::deserialize(pr)
                .map_err(|_| DecodeError::Shape("config.presence has the wrong shape"))?;
        }
        config.private = c.get("private").and_then(Value::as_bool).unwrap_or(false);
        if let Some(o) = c.get("postgres_changes_options").filter(|v| !v.is_null()) {
            config.postgres_changes_options =
                PostgresChangesOptions::deserialize(o).map_err(|_| {
                    DecodeError::Shape("config.postgres_changes_options has the wrong shape")
                })?;
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
        access_token: token,
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
                access_token: None
            }
        );
    }

    #[test]
    fn bad_payloads_are_errors() {
        for (event, payload) in [
            ("phx_join", json!([])),
            ("phx_join", json!({"config":{"postgres_changes":{}}})),
            (
                "phx_join",
                json!({"config":{"postgres_changes":[{"schema":"public"}]}}),
            ),
            ("access_token", json!({})),
            ("broadcast", json!({"payload":{}})),
            ("presence", json!({"event":"nope"})),
        ] {
            let f = Frame::push("realtime:a", event, payload.clone());
            assert!(ClientMessage::from_frame(&f).is_err(), "{event} {payload}");
        }
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
            matches!(ClientMessage::from_frame(&t).unwrap(), ClientMessage::PresenceTrack(m) if m["user"] == "x")
        );
    }
}
