//! Channel semantics of one socket: join, leave, broadcast, presence, token refresh.

mod join;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use supalove_phoenix::{ClientMessage, Decoded, Frame, JoinConfig, UserBroadcast};
use tokio::task::JoinHandle;

use crate::authz::Permissions;
use crate::jwt::{self, Claims};
use crate::outbound::Mailbox;
use crate::state::State;

struct Joined {
    join_ref: Option<String>,
    room: String,
    perms: Permissions,
    config: JoinConfig,
    presence_key: String,
    claims: Claims,
    subscriber: Option<JoinHandle<()>>,
}

/// Per-socket channel state.
pub struct Session {
    state: Arc<State>,
    mailbox: Mailbox,
    socket_claims: Claims,
    joined: HashMap<String, Joined>,
}

fn channel_name(topic: &str) -> &str {
    topic.strip_prefix("realtime:").unwrap_or(topic)
}

impl Session {
    /// A session for a socket authenticated with `claims`.
    pub fn new(state: Arc<State>, mailbox: Mailbox, claims: Claims) -> Session {
        Session {
            state,
            mailbox,
            socket_claims: claims,
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

    /// Closes channels whose token expired, telling the client why.
    pub async fn expire_tokens(&mut self) {
        let now = jwt::now_secs();
        let expired: Vec<String> = self
            .joined
            .iter()
            .filter(|(_, j)| j.claims.exp <= now)
            .map(|(t, _)| t.clone())
            .collect();
        for topic in expired {
            self.system_error(&topic, "access token has expired: please refresh it".into())
                .await;
            self.close_channel(&topic, true).await;
        }
    }

    /// Handles one decoded frame; `false` closes the socket.
    pub async fn handle(&mut self, decoded: Decoded) -> bool {
        let frame = match decoded {
            Decoded::Text(f) => f,
            Decoded::UserBroadcast(b) => {
                self.broadcast(b).await;
                return true;
            }
        };
        let msg = match ClientMessage::from_frame(&frame) {
            Ok(m) => m,
            Err(e) => {
                if self.joined.contains_key(&frame.topic) {
                    // Like a crashed channel process: phx_error, then the channel is gone.
                    tracing::info!(topic = %frame.topic, error = %e, "bad payload; channel closed");
                    let join_ref = self
                        .joined
                        .get(&frame.topic)
                        .and_then(|j| j.join_ref.clone());
                    self.close_channel(&frame.topic, false).await;
                    let err = Frame::push(frame.topic.clone(), "phx_error", json!({}))
                        .with_join_ref(join_ref);
                    self.mailbox.send_frame(err).await;
                } else {
                    self.reply(&frame, "error", json!({ "reason": e.to_string() }))
                        .await;
                }
                return true;
            }
        };
        match msg {
            ClientMessage::Heartbeat => self.reply(&frame, "ok", json!({})).await,
            ClientMessage::Join {
                config,
                access_token,
            } => self.join(&frame, config, access_token).await,
            _ if !self.joined.contains_key(&frame.topic) => {
                self.reply(&frame, "error", json!({ "reason": "unmatched topic" }))
                    .await;
            }
            ClientMessage::Leave => {
                self.reply(&frame, "ok", json!({})).await;
                self.close_channel(&frame.topic, true).await;
            }
            ClientMessage::AccessToken(token) => self.refresh(&frame.topic, &token).await,
            ClientMessage::Broadcast(b) => self.broadcast(b).await,
            ClientMessage::PresenceTrack(meta) => {
                if !self.joined.get(&frame.topic).is_some_and(|j| j.perms.write) {
                    let reason = format!(
                        "Unauthorized: You do not have permissions to write to this Channel topic: {}",
                        channel_name(&frame.topic)
                    );
                    self.reply(&frame, "error", json!({ "reason": reason }))
                        .await;
                    return true;
                }
                // Reply first, then fan out, as a Phoenix channel process does.
                self.reply(&frame, "ok", json!({})).await;
                if let Some(j) = self.joined.get(&frame.topic) {
                    let key = j.presence_key.clone();
                    let id = self.mailbox.socket_id;
                    let room = j.room.clone();
                    self.state.hub.track(&room, &frame.topic, &key, id, meta);
                }
            }
            ClientMessage::PresenceUntrack => {
                self.reply(&frame, "ok", json!({})).await;
                if let Some(j) = self.joined.get(&frame.topic) {
                    let key = j.presence_key.clone();
                    let id = self.mailbox.socket_id;
                    let room = j.room.clone();
                    self.state.hub.untrack(&room, &frame.topic, &key, id);
                }
            }
            ClientMessage::Other(_) => {}
        }
        true
    }

    async fn reply(&self, to: &Frame, status: &str, response: Value) {
        self.mailbox
            .send_frame(Frame::reply(to, status, response))
            .await;
    }

    async fn refresh(&mut self, topic: &str, token: &str) {
        match jwt::verify(
            token,
            self.state.config.jwt_secret.as_bytes(),
            jwt::now_secs(),
        ) {
            Ok(claims) => {
                self.state.subs.update_claims(
                    self.mailbox.socket_id,
                    topic,
                    &claims.raw,
                    &claims.role,
                );
                if let Some(j) = self.joined.get_mut(topic) {
                    j.claims = claims;
                }
            }
            Err(_) if !self.state.config.secure_channels => {}
            Err(e) => {
                let msg = match e {
                    jwt::JwtError::Expired => format!("access token has expired: {e}"),
                    _ => format!("Received an invalid access token from client: {e}"),
                };
                self.system_error(topic, msg).await;
                self.close_channel(topic, true).await;
            }
        }
    }

    async fn broadcast(&mut self, b: UserBroadcast) {
        let Some(j) = self.joined.get(&b.topic) else {
            return;
        };
        let ack = j.config.broadcast.ack;
        if !j.perms.write {
            // Private channel without write permission: the message goes nowhere.
            if ack {
                let reason = format!(
                    "Unauthorized: You do not have permissions to write to this Channel topic: {}",
                    channel_name(&b.topic)
                );
                let to = Frame {
                    join_ref: b.join_ref.clone(),
                    msg_ref: b.msg_ref.clone(),
                    topic: b.topic.clone(),
                    event: "broadcast".into(),
                    payload: Value::Null,
                };
                self.reply(&to, "error", json!({ "reason": reason })).await;
            }
            return;
        }
        if ack {
            let to = Frame {
                join_ref: b.join_ref.clone(),
                msg_ref: b.msg_ref.clone(),
                topic: b.topic.clone(),
                event: "broadcast".into(),
                payload: Value::Null,
            };
            self.reply(&to, "ok", json!({})).await;
        }
        let room = j.room.clone();
        self.state
            .hub
            .broadcast(&room, &b, Some(self.mailbox.socket_id));
    }

    async fn system_error(&self, topic: &str, message: String) {
        let join_ref = self.joined.get(topic).and_then(|j| j.join_ref.clone());
        let f = Frame::push(
            topic,
            "system",
            json!({ "extension": "system", "status": "error", "message": message, "channel": channel_name(topic) }),
        )
        .with_join_ref(join_ref);
        self.mailbox.send_frame(f).await;
    }

    /// Forgets a channel; with `notify`, tells the client with `phx_close`.
    async fn close_channel(&mut self, topic: &str, notify: bool) {
        let Some(j) = self.joined.remove(topic) else {
            return;
        };
        self.forget(topic, &j);
        if notify {
            let f = Frame::push(topic, "phx_close", json!({})).with_join_ref(j.join_ref.clone());
            self.mailbox.send_frame(f).await;
        }
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
