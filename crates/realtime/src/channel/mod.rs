//! Channel semantics of one socket: join, leave, broadcast, presence, token refresh.
//!
//! Routing and replies follow the current official server frame by frame; the comments cite
//! the source each rule comes from (`R:` supabase/realtime, `P:` supabase/phoenix, see
//! `/work/shared/realtime-current.md`).

mod join;
mod presence_limit;

use presence_limit::PresenceWindow;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use supalove_phoenix::{
    BinaryIn, BroadcastBody, ClientMessage, Frame, JoinConfig, PresenceRequest, Refs, UserBroadcast,
};
use tokio::task::JoinHandle;

use crate::auth;
use crate::authz::Permissions;
use crate::jwt::{self, Claims};
use crate::outbound::Mailbox;
use crate::payload_size;
use crate::state::State;

/// One decoded inbound frame with its refs as sent.
#[derive(Debug)]
pub enum Inbound {
    /// A text frame.
    Text(Frame, Refs),
    /// A binary frame (vsn 2.0.0).
    Binary(BinaryIn),
}

struct Joined {
    /// The join ref as the client sent it (any JSON value).
    join_ref: Value,
    /// The token the channel's claims come from, to ignore refreshes with the same one.
    token: Option<String>,
    room: String,
    perms: Permissions,
    config: JoinConfig,
    presence_key: String,
    /// Last tracked presence payload (a re-track of the same payload is a no-op).
    tracked: Option<Map<String, Value>>,
    /// This channel's client presence rate window.
    presence_calls: PresenceWindow,
    claims: Claims,
    subscriber: Option<JoinHandle<()>>,
}

/// Per-socket channel state.
pub struct Session {
    state: Arc<State>,
    mailbox: Mailbox,
    socket_claims: Claims,
    socket_token: Option<String>,
    joined: HashMap<String, Joined>,
}

fn channel_name(topic: &str) -> &str {
    topic.strip_prefix("realtime:").unwrap_or(topic)
}

fn refs(join_ref: Value, msg_ref: Value) -> Refs {
    Refs { join_ref, msg_ref }
}

fn text_ref(r: &str) -> Value {
    if r.is_empty() {
        Value::Null
    } else {
        Value::String(r.to_string())
    }
}

impl Session {
    /// A session for a socket authenticated with `claims` (from `token`, if one was given).
    pub fn new(
        state: Arc<State>,
        mailbox: Mailbox,
        claims: Claims,
        token: Option<String>,
    ) -> Session {
        Session {
            state,
            mailbox,
            socket_claims: claims,
            socket_token: token,
            joined: HashMap::new(),
        }
    }

    /// Resolves when the earliest channel token expires (never if none will).
    pub fn next_expiry(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let exp = self.joined.values().map(|j| j.claims.exp).min();
        match exp {
            Some(exp) if exp < i64::MAX / 2 => {
                let secs = (exp - jwt::now_secs()).max(0) as u64;
                Box::pin(tokio::time::sleep(Duration::from_secs(secs)))
            }
            _ => Box::pin(std::future::pending()),
        }
    }

    /// Closes channels whose token expired, telling the client why (the official periodic
    /// token check, R:lib/realtime_web/channels/realtime_channel.ex:409-429).
    pub async fn expire_tokens(&mut self) {
        let now = jwt::now_secs();
        let expired: Vec<(String, i64)> = self
            .joined
            .iter()
            .filter(|(_, j)| j.claims.exp <= now)
            .map(|(t, j)| (t.clone(), now - j.claims.exp))
            .collect();
        for (topic, ago) in expired {
            self.shutdown(&topic, format!("Token has expired {ago} seconds ago"))
                .await;
        }
    }

    /// Handles one decoded frame; `false` closes the socket.
    pub async fn handle(&mut self, inbound: Inbound) -> bool {
        match inbound {
            Inbound::Text(frame, refs) => return self.handle_text(frame, refs).await,
            Inbound::Binary(BinaryIn::UserBroadcast(b)) => {
                let r = refs(
                    text_ref(b.join_ref.as_deref().unwrap_or("")),
                    text_ref(b.msg_ref.as_deref().unwrap_or("")),
                );
                if self.joined.contains_key(&b.topic) {
                    self.broadcast(b, r).await;
                } else {
                    self.unmatched(&b.topic, r).await;
                }
            }
            Inbound::Binary(BinaryIn::Push {
                join_ref,
                msg_ref,
                topic,
                event,
                payload: _,
            }) => {
                // A push with a raw-bytes payload: routed like any frame, but no channel event
                // of the official server takes a binary payload, so a joined channel ignores it.
                let frame = Frame {
                    join_ref: Some(join_ref.clone()).filter(|s| !s.is_empty()),
                    msg_ref: Some(msg_ref.clone()).filter(|s| !s.is_empty()),
                    topic,
                    event,
                    payload: json!({}),
                };
                let r = refs(text_ref(&join_ref), text_ref(&msg_ref));
                match (frame.topic.as_str(), frame.event.as_str()) {
                    ("phoenix", "heartbeat") | (_, "phx_leave") => {
                        return self.handle_text(frame, r).await
                    }
                    _ if !self.joined.contains_key(&frame.topic) => {
                        self.unmatched(&frame.topic, r).await
                    }
                    _ => {
                        tracing::info!(topic = %frame.topic, event = %frame.event, "binary push ignored")
                    }
                }
            }
        }
        true
    }

    async fn handle_text(&mut self, frame: Frame, r: Refs) -> bool {
        let msg = ClientMessage::from_frame(&frame);
        let joined = self.joined.contains_key(&frame.topic);
        match msg {
            // P:lib/phoenix/socket.ex: heartbeats on `phoenix` are answered ok, refs echoed.
            Ok(ClientMessage::Heartbeat) => self.reply(&frame, &r, "ok", json!({})).await,
            Ok(ClientMessage::Join {
                config,
                access_token,
                user_token,
            }) => {
                if !frame.topic.starts_with("realtime:") {
                    // P:lib/phoenix/socket.ex:765-768: no channel matches the topic.
                    self.unmatched(&frame.topic, r).await;
                } else {
                    self.join(&frame, r, config, access_token, user_token).await;
                }
            }
            Err(e) if frame.event == "phx_join" => {
                if !frame.topic.starts_with("realtime:") {
                    self.unmatched(&frame.topic, r).await;
                } else {
                    self.reply(&frame, &r, "error", json!({ "reason": e.to_string() }))
                        .await;
                }
            }
            // P:lib/phoenix/socket.ex:820-835: leaving a topic never joined replies ok.
            Ok(ClientMessage::Leave) if !joined => {
                self.reply(&frame, &r, "ok", json!({})).await;
            }
            // P:lib/phoenix/socket.ex:837-841, 870-873: anything else needs a joined topic.
            _ if !joined => self.unmatched(&frame.topic, r).await,
            Ok(ClientMessage::Leave) => {
                // P:lib/phoenix/channel/server.ex:323-324: reply ok, then the channel stops
                // and the socket sends phx_close with the join ref.
                self.reply(&frame, &r, "ok", json!({})).await;
                self.close_channel(&frame.topic, true).await;
            }
            Ok(ClientMessage::AccessToken(token)) => self.refresh(&frame.topic, token).await,
            Ok(ClientMessage::Broadcast(b)) => {
                let size = payload_size::exceeds(&frame.payload, self.max_payload_kb());
                self.broadcast_checked(b, r, size, false).await;
            }
            Ok(ClientMessage::Presence(req)) => self.presence(&frame, r, req).await,
            // R:…/realtime_channel.ex:619-627: unknown events are logged, never answered.
            Ok(ClientMessage::BadBroadcast) | Ok(ClientMessage::Other(_)) | Err(_) => {
                tracing::info!(topic = %frame.topic, event = %frame.event,
                    "Unexpected message from client; ignored");
            }
        }
        true
    }

    fn max_payload_kb(&self) -> u64 {
        self.state.config.limits.max_payload_kb
    }

    /// `[null, ref, topic, "phx_reply", {"status":"error","response":{"reason":"unmatched topic"}}]`.
    async fn unmatched(&self, topic: &str, r: Refs) {
        let reply = Frame {
            join_ref: None,
            msg_ref: None,
            topic: topic.to_string(),
            event: "phx_reply".into(),
            payload: json!({"status": "error", "response": {"reason": "unmatched topic"}}),
        };
        self.mailbox
            .send_with_refs(reply, refs(Value::Null, r.msg_ref))
            .await;
    }

    async fn reply(&self, to: &Frame, r: &Refs, status: &str, response: Value) {
        self.mailbox
            .send_with_refs(Frame::reply(to, status, response), r.clone())
            .await;
    }

    /// A channel push (`[join_ref, null, topic, event, payload]`).
    async fn push(&self, topic: &str, event: &str, payload: Value) {
        let join_ref = self
            .joined
            .get(topic)
            .map_or(Value::Null, |j| j.join_ref.clone());
        self.mailbox
            .send_with_refs(
                Frame::push(topic, event, payload),
                refs(join_ref, Value::Null),
            )
            .await;
    }

    /// Presence pushes as the official presence handler answers them
    /// (R:lib/realtime_web/channels/realtime_channel/presence_handler.ex:69-189,
    /// R:lib/realtime_web/channels/realtime_channel.ex:473-521).
    async fn presence(&mut self, frame: &Frame, r: Refs, req: PresenceRequest) {
        let topic = frame.topic.as_str();
        let limits = &self.state.config.limits;
        let (max_calls, window) = (
            limits.client_presence_max_calls,
            Duration::from_millis(limits.client_presence_window_ms),
        );
        let Some(j) = self.joined.get_mut(topic) else {
            return;
        };
        // Every push with a string `event` counts, whatever the event (the check precedes the
        // dispatch); over the limit the channel is shut down.
        let counted = !matches!(req, PresenceRequest::Noop | PresenceRequest::NonStringEvent);
        if counted
            && !j
                .presence_calls
                .admit(tokio::time::Instant::now(), max_calls, window)
        {
            tracing::info!(topic, "ClientPresenceRateLimitReached");
            self.shutdown(topic, "Client presence rate limit exceeded".into())
                .await;
            return;
        }
        let Some(j) = self.joined.get(topic) else {
            return;
        };
        let can_write = j.perms.write;
        match req {
            PresenceRequest::Noop => self.reply(frame, &r, "ok", json!({})).await,
            PresenceRequest::NonStringEvent => {
                // `String.downcase/2` raises: the channel process crashes (phx_error).
                self.crash_channel(topic).await;
            }
            PresenceRequest::Unknown(event) => {
                tracing::info!(topic, event, "UnknownPresenceEvent");
                self.reply(frame, &r, "error", json!({})).await;
            }
            PresenceRequest::Untrack => {
                self.reply(frame, &r, "ok", json!({})).await;
                if let Some(j) = self.joined.get_mut(topic) {
                    j.tracked = None;
                    let (room, key) = (j.room.clone(), j.presence_key.clone());
                    self.state
                        .hub
                        .untrack(&room, topic, &key, self.mailbox.socket_id);
                }
            }
            PresenceRequest::Track(_) | PresenceRequest::TrackInvalidPayload if !can_write => {
                // Private channel without presence write: `{:reply, :error, socket}`.
                self.reply(frame, &r, "error", json!({})).await;
            }
            PresenceRequest::TrackInvalidPayload => {
                let reason = "Presence track payload must be a map";
                self.reply(frame, &r, "error", json!({ "reason": reason }))
                    .await;
            }
            PresenceRequest::Track(meta) => {
                if j.tracked.as_ref() == Some(&meta) {
                    // Same payload again: a no-op.
                    self.reply(frame, &r, "ok", json!({})).await;
                    return;
                }
                if payload_size::exceeds(&Value::Object(meta.clone()), self.max_payload_kb()) {
                    self.shutdown(topic, "Track message size exceeded".into())
                        .await;
                    return;
                }
                // Reply first, then fan out, as a Phoenix channel process does.
                self.reply(frame, &r, "ok", json!({})).await;
                if let Some(j) = self.joined.get_mut(topic) {
                    j.tracked = Some(meta.clone());
                    let (room, key) = (j.room.clone(), j.presence_key.clone());
                    self.state
                        .hub
                        .track(&room, topic, &key, self.mailbox.socket_id, meta);
                }
            }
        }
    }

    /// `access_token` pushes (R:lib/realtime_web/channels/realtime_channel.ex:524-617): none is
    /// answered; `sb_…` keys, `null`, non-strings and the current token are ignored.
    async fn refresh(&mut self, topic: &str, token: Option<String>) {
        let Some(token) = token else { return };
        if token.starts_with("sb_") {
            return;
        }
        if self
            .joined
            .get(topic)
            .is_some_and(|j| j.token.as_deref() == Some(token.as_str()))
        {
            return;
        }
        match auth::verify(&self.state.config, &token) {
            Ok(claims) => {
                if let Some(j) = self.joined.get(topic) {
                    if j.config.private {
                        // Read access lost with the new token ends the channel.
                        let name = channel_name(topic).to_string();
                        let perms =
                            crate::authz::permissions(&self.state.config.db, &name, &claims).await;
                        if !perms.as_ref().is_ok_and(|p| p.read) {
                            let msg = format!(
                                "You no longer have permission to read from this Channel topic: {name}"
                            );
                            self.shutdown(topic, msg).await;
                            return;
                        }
                        if let (Ok(p), Some(j)) = (perms, self.joined.get_mut(topic)) {
                            j.perms = p;
                        }
                    }
                }
                self.state.subs.update_claims(
                    self.mailbox.socket_id,
                    topic,
                    &claims.raw,
                    &claims.role,
                );
                if let Some(j) = self.joined.get_mut(topic) {
                    j.claims = claims;
                    j.token = Some(token);
                }
            }
            Err(_) if !self.state.config.secure_channels => {}
            Err(e) => self.shutdown(topic, auth::refresh_message(&e)).await,
        }
    }

    /// A binary (kind 3) user broadcast push.
    async fn broadcast(&mut self, b: UserBroadcast, r: Refs) {
        let size = match &b.body {
            BroadcastBody::Json(v) => payload_size::exceeds(
                &json!({"type": "broadcast", "event": b.event, "payload": v}),
                self.max_payload_kb(),
            ),
            BroadcastBody::Binary(bytes) => {
                bytes.len() + b.event.len() > self.max_payload_kb() as usize * 1000 + 500
            }
        };
        self.broadcast_checked(b, r, size, true).await;
    }

    /// R:lib/realtime_web/channels/realtime_channel/broadcast_handler.ex:45-117.
    async fn broadcast_checked(
        &mut self,
        b: UserBroadcast,
        r: Refs,
        too_large: bool,
        user_broadcast: bool,
    ) {
        let Some(j) = self.joined.get(&b.topic) else {
            return;
        };
        if !j.perms.write {
            // Private channel without write permission: dropped, no reply even with ack.
            return;
        }
        let ack = j.config.broadcast.ack;
        let to = Frame {
            join_ref: b.join_ref.clone(),
            msg_ref: b.msg_ref.clone(),
            topic: b.topic.clone(),
            event: "broadcast".into(),
            payload: Value::Null,
        };
        if too_large {
            if ack {
                // `{:reply, {:error, :payload_size_exceeded}}`: the response is a JSON string.
                self.reply(&to, &r, "error", json!("payload_size_exceeded"))
                    .await;
            }
            return;
        }
        if ack {
            self.reply(&to, &r, "ok", json!({})).await;
        }
        let room = j.room.clone();
        self.state
            .hub
            .broadcast(&room, &b, Some(self.mailbox.socket_id), user_broadcast);
    }

    /// The official `shutdown_response`: a `system` error push, then the channel stops
    /// (phx_close) (R:lib/realtime_web/channels/realtime_channel.ex:834-875).
    async fn shutdown(&mut self, topic: &str, message: String) {
        self.push(
            topic,
            "system",
            json!({ "extension": "system", "status": "error", "message": message, "channel": channel_name(topic) }),
        )
        .await;
        self.close_channel(topic, true).await;
    }

    /// Forgets a channel; with `notify`, tells the client `[jr, jr, topic, "phx_close", {}]`
    /// (P:lib/phoenix/socket.ex:880-915).
    async fn close_channel(&mut self, topic: &str, notify: bool) {
        let Some(j) = self.joined.remove(topic) else {
            return;
        };
        self.forget(topic, &j);
        if notify {
            self.mailbox
                .send_with_refs(
                    Frame::push(topic, "phx_close", json!({})),
                    refs(j.join_ref.clone(), j.join_ref.clone()),
                )
                .await;
        }
    }

    /// A crashed channel process: `[jr, jr, topic, "phx_error", {}]` (P:lib/phoenix/socket.ex:865-868).
    async fn crash_channel(&mut self, topic: &str) {
        let Some(j) = self.joined.remove(topic) else {
            return;
        };
        self.forget(topic, &j);
        self.mailbox
            .send_with_refs(
                Frame::push(topic, "phx_error", json!({})),
                refs(j.join_ref.clone(), j.join_ref.clone()),
            )
            .await;
    }

    fn forget(&self, topic: &str, j: &Joined) {
        if let Some(h) = &j.subscriber {
            h.abort();
        }
        self.state.subs.remove(self.mailbox.socket_id, topic);
        self.state
            .hub
            .leave(&j.room, topic, self.mailbox.socket_id, &j.presence_key);
    }

    /// Drops every channel when the socket goes away.
    pub fn close_all(&mut self) {
        for (topic, j) in std::mem::take(&mut self.joined) {
            self.forget(&topic, &j);
        }
    }
}
