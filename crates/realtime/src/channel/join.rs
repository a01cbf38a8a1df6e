//! Joining a channel: token, private-channel permissions, postgres_changes bindings,
//! presence state and the optional wait for live bindings.

use std::time::Duration;

use serde_json::{json, Value};
use supalove_phoenix::{Frame, JoinConfig, Refs};

use super::{channel_name, refs, Joined, Session};
use crate::auth;
use crate::authz;
use crate::cdc::registry::{binding_id, ChannelSubs};
use crate::cdc::subscribe::{self, Request};
use crate::hub::{room_key, Member};

impl Session {
    /// Handles `phx_join`: replies, registers the member and starts postgres_changes.
    pub(super) async fn join(
        &mut self,
        frame: &Frame,
        r: Refs,
        config: JoinConfig,
        access_token: Option<String>,
        user_token: Option<String>,
    ) {
        let topic = frame.topic.clone();
        // P:lib/phoenix/socket.ex:771-788: joining a joined topic closes the old channel first.
        if self.joined.contains_key(&topic) {
            self.close_channel(&topic, true).await;
        }
        if channel_name(&topic).is_empty() {
            // R:lib/realtime_web/channels/realtime_channel.ex:41-45.
            let reason = "TopicNameRequired: You must provide a topic name";
            self.reply(frame, &r, "error", json!({ "reason": reason }))
                .await;
            return;
        }
        // R:…/realtime_channel.ex:781-802: an `sb_…` API key as access token means the
        // connect token; otherwise user_token, then access_token, then the connect token.
        let api_key = access_token
            .as_deref()
            .or(user_token.as_deref())
            .is_some_and(|t| t.starts_with("sb_"));
        let token = if api_key {
            None
        } else {
            user_token.or(access_token)
        };
        let (claims, token) = match token {
            Some(t) => match auth::claims_for(&self.state.config, Some(&t)) {
                Ok(c) => (c, Some(t)),
                Err(e) => {
                    let reason = auth::join_reason(&e);
                    self.reply(frame, &r, "error", json!({ "reason": reason }))
                        .await;
                    return;
                }
            },
            None => (self.socket_claims.clone(), self.socket_token.clone()),
        };
        let perms = if config.private {
            match authz::permissions(&self.state.config.db, channel_name(&topic), &claims).await {
                Ok(p) if p.read => p,
                Ok(_) => {
                    let reason = format!(
                        "Unauthorized: You do not have permissions to read from this Channel topic: {}",
                        channel_name(&topic)
                    );
                    self.reply(frame, &r, "error", json!({ "reason": reason }))
                        .await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "UnableToSetPolicies");
                    let reason = "Realtime was unable to connect to the project database";
                    self.reply(frame, &r, "error", json!({ "reason": reason }))
                        .await;
                    return;
                }
            }
        } else {
            authz::PUBLIC
        };
        let ids: Vec<(u32, supalove_phoenix::PostgresChangeParams)> = config
            .postgres_changes
            .iter()
            .map(|p| (binding_id(p), p.clone()))
            .collect();
        let echoed: Vec<Value> = ids
            .iter()
            .map(|(id, p)| {
                let mut m = p.raw.clone();
                m.insert("id".into(), json!(id));
                Value::Object(m)
            })
            .collect();
        let req = (!ids.is_empty()).then(|| Request {
            subs: ChannelSubs {
                socket_id: self.mailbox.socket_id,
                topic: topic.clone(),
                mailbox: self.mailbox.clone(),
                claims: Value::Object(claims.raw.clone()).to_string().into(),
                sub: claims
                    .raw
                    .get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                role: claims.role.clone(),
                bindings: Vec::new(),
                join_ref: r.join_ref.clone(),
            },
            params: ids,
            channel: channel_name(&topic).to_string(),
            join_ref: r.join_ref.clone(),
        });
        let options = &config.postgres_changes_options;
        let mut attached = false;
        if let (Some(req), true) = (&req, options.wait) {
            // Newer clients ask the join reply to wait until the bindings are live.
            let limit =
                Duration::from_millis(options.timeout.unwrap_or(15_000).clamp(100, 120_000));
            let reason =
                match tokio::time::timeout(limit, subscribe::attach(&self.state, req)).await {
                    Ok(Ok(())) => None,
                    Ok(Err(why)) => Some(format!("PostgresChangesSubscribeFailed: {why}")),
                    Err(_) => Some(
                        "PostgresChangesSubscribeTimeout: postgres_changes were not ready in time"
                            .into(),
                    ),
                };
            if let Some(reason) = reason {
                self.reply(frame, &r, "error", json!({ "reason": reason }))
                    .await;
                return;
            }
            attached = true;
        }
        self.reply(frame, &r, "ok", json!({ "postgres_changes": echoed }))
            .await;
        let presence_key = if config.presence.key.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            config.presence.key.clone()
        };
        let member = Member {
            mailbox: self.mailbox.clone(),
            self_broadcast: config.broadcast.self_,
        };
        let room = room_key(&topic, config.private);
        let presence = self.state.hub.join(&room, member);
        // Only a client that asked for presence gets its state (realtime-js and realtime-py set
        // `presence.enabled` when presence callbacks are registered); diffs reach every member
        // (R:lib/realtime_web/channels/realtime_channel.ex:158, 433-443, 1112-1114).
        if config.presence.enabled {
            let state_push = Frame::push(topic.clone(), "presence_state", presence);
            self.mailbox
                .send_with_refs(state_push, refs(r.join_ref.clone(), Value::Null))
                .await;
        }
        let subscriber = match req {
            Some(req) if attached => {
                self.mailbox.send(subscribe::subscribed_message(&req)).await;
                None
            }
            Some(req) => Some(tokio::spawn(subscribe::run(self.state.clone(), req))),
            None => None,
        };
        self.joined.insert(
            topic,
            Joined {
                join_ref: r.join_ref,
                token,
                tracked: None,
                presence_calls: Default::default(),
                room,
                perms,
                config,
                presence_key,
                claims,
                subscriber,
            },
        );
    }
}
