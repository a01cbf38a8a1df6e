//! The topic registry: who joined which channel, broadcast relay and presence fan-out.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use supalove_phoenix::binary::encode_user_broadcast;
use supalove_phoenix::{BroadcastBody, Frame, UserBroadcast, Vsn};

use crate::outbound::{Mailbox, Out, SharedFrame};
use crate::presence::Presence;

/// A socket's membership in a topic.
#[derive(Debug, Clone)]
pub struct Member {
    /// Where to send the socket's messages.
    pub mailbox: Mailbox,
    /// Receive own broadcasts.
    pub self_broadcast: bool,
}

#[derive(Debug, Default)]
struct Topic {
    members: HashMap<u64, Member>,
    presence: Presence,
}

/// All rooms of the engine. A room is a topic plus its privacy: the private and the public
/// channel of one name never hear each other (as in the official server).
#[derive(Debug, Default)]
pub struct Hub {
    topics: RwLock<HashMap<String, Topic>>,
}

/// The room key of `topic` (`realtime:<name>`) joined as private or public.
pub fn room_key(topic: &str, private: bool) -> String {
    if private {
        format!("private|{topic}")
    } else {
        topic.to_string()
    }
}

impl Hub {
    /// Adds a member to `room`; returns the presence state to send after the join reply.
    pub fn join(&self, room: &str, member: Member) -> Value {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let t = topics.entry(room.to_string()).or_default();
        t.members.insert(member.mailbox.socket_id, member);
        t.presence.state()
    }

    /// Removes a socket from a room, untracking its presence under `presence_key`.
    pub fn leave(&self, room: &str, topic: &str, socket_id: u64, presence_key: &str) {
        let diff = {
            let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
            let Some(t) = topics.get_mut(room) else {
                return;
            };
            t.members.remove(&socket_id);
            let diff = t.presence.untrack(presence_key, socket_id);
            if t.members.is_empty() && t.presence.is_empty() {
                topics.remove(room);
            }
            diff
        };
        if let Some(d) = diff {
            self.fan_out_presence(room, topic, d);
        }
    }

    /// Number of members of a room.
    pub fn member_count(&self, room: &str) -> usize {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        topics.get(room).map_or(0, |t| t.members.len())
    }

    /// Relays a user broadcast to a room's members; `from` is skipped unless it asked for self.
    /// `user_broadcast`: the message came as a binary push or through `httpSend`, so vsn 2.0.0
    /// members get it as a binary user broadcast (kind 4) and vsn 1.0.0 members as JSON
    /// (R:lib/realtime_web/channels/realtime_channel/message_dispatcher.ex:162-168).
    pub fn broadcast(
        &self,
        room: &str,
        b: &UserBroadcast,
        from: Option<u64>,
        user_broadcast: bool,
    ) -> usize {
        let text = b
            .text_payload()
            .map(|payload| SharedFrame::new(Frame::push(b.topic.clone(), "broadcast", payload)));
        let binary = match &b.body {
            BroadcastBody::Binary(_) => encode_user_broadcast(b).map(Arc::new),
            BroadcastBody::Json(_) if user_broadcast => encode_user_broadcast(b).map(Arc::new),
            BroadcastBody::Json(_) => None,
        };
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let Some(t) = topics.get(room) else {
            return 0;
        };
        let mut sent = 0;
        for (id, m) in &t.members {
            if Some(*id) == from && !m.self_broadcast {
                continue;
            }
            let out = match (&text, &binary, m.mailbox.vsn) {
                (_, Some(bytes), Vsn::V2) => Out::Binary(bytes.clone()),
                (Some(f), _, _) => Out::Text(f.clone()),
                // Raw-byte broadcasts cannot be expressed in vsn 1.0.0 JSON frames.
                _ => continue,
            };
            if m.mailbox.offer(&b.topic, out) {
                sent += 1;
            }
        }
        sent
    }

    /// Tracks presence for a socket and fans out the diff.
    pub fn track(
        &self,
        room: &str,
        topic: &str,
        key: &str,
        socket_id: u64,
        meta: Map<String, Value>,
    ) {
        let diff = {
            let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
            let t = topics.entry(room.to_string()).or_default();
            t.presence.track(key, socket_id, meta)
        };
        self.fan_out_presence(room, topic, diff);
    }

    /// Untracks presence for a socket and fans out the diff.
    pub fn untrack(&self, room: &str, topic: &str, key: &str, socket_id: u64) {
        let diff = {
            let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
            topics
                .get_mut(room)
                .and_then(|t| t.presence.untrack(key, socket_id))
        };
        if let Some(d) = diff {
            self.fan_out_presence(room, topic, d);
        }
    }

    fn fan_out_presence(&self, room: &str, topic: &str, diff: Value) {
        let frame = SharedFrame::new(Frame::push(topic, "presence_diff", diff));
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = topics.get(room) {
            for m in t.members.values() {
                m.mailbox.offer(topic, Out::Text(frame.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(
        id: u64,
        self_broadcast: bool,
    ) -> (Member, tokio::sync::mpsc::Receiver<crate::outbound::Queued>) {
        let (mailbox, rx, _) = Mailbox::new(id, Vsn::V1, 16, 1 << 20);
        (
            Member {
                mailbox,
                self_broadcast,
            },
            rx,
        )
    }

    fn bc(topic: &str) -> UserBroadcast {
        UserBroadcast {
            join_ref: None,
            msg_ref: None,
            topic: topic.into(),
            event: "e".into(),
            meta: None,
            body: BroadcastBody::Json(json!({"n":1})),
        }
    }

    #[test]
    fn broadcast_respects_self_flag() {
        let hub = Hub::default();
        let (a, mut ra) = member(1, false);
        let (b, mut rb) = member(2, true);
        hub.join("realtime:r", a);
        hub.join("realtime:r", b);
        assert_eq!(
            hub.broadcast("realtime:r", &bc("realtime:r"), Some(1), false),
            1
        );
        assert!(ra.try_recv().is_err());
        assert!(rb.try_recv().is_ok());
        assert_eq!(
            hub.broadcast("realtime:r", &bc("realtime:r"), Some(2), false),
            2
        );
        assert_eq!(
            hub.broadcast("realtime:other", &bc("realtime:other"), None, false),
            0
        );
        // The private room of the same topic is a different room.
        let private = room_key("realtime:r", true);
        assert_eq!(hub.broadcast(&private, &bc("realtime:r"), None, false), 0);
    }

    #[test]
    fn leave_untracks_and_tells_others() {
        let hub = Hub::default();
        let (a, _ra) = member(1, false);
        let (b, mut rb) = member(2, false);
        hub.join("realtime:r", a);
        hub.join("realtime:r", b);
        hub.track("realtime:r", "realtime:r", "ka", 1, Map::new());
        let Ok(crate::outbound::Queued {
            out: Out::Text(f), ..
        }) = rb.try_recv()
        else {
            panic!("no join diff")
        };
        assert_eq!(f.frame().event, "presence_diff");
        hub.leave("realtime:r", "realtime:r", 1, "ka");
        let Ok(crate::outbound::Queued {
            out: Out::Text(f), ..
        }) = rb.try_recv()
        else {
            panic!("no leave diff")
        };
        assert!(f.frame().payload["leaves"]["ka"].is_object());
        assert_eq!(hub.member_count("realtime:r"), 1);
    }
}
