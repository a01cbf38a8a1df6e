//! The Phoenix message frame shared by both serializer versions.

use serde_json::{json, Value};

/// One Phoenix channel message: topic, event, JSON payload and the two correlation refs.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Ref of the channel join this message belongs to (`null` for fastlane pushes).
    pub join_ref: Option<String>,
    /// Client-chosen ref correlating a push with its reply.
    pub msg_ref: Option<String>,
    /// Channel topic, e.g. `realtime:room1` or `phoenix`.
    pub topic: String,
    /// Event name, e.g. `phx_join`, `broadcast`.
    pub event: String,
    /// JSON payload (an object in every message realtime-js sends).
    pub payload: Value,
}

impl Frame {
    /// Builds a server push without refs (fastlane style).
    pub fn push(topic: impl Into<String>, event: impl Into<String>, payload: Value) -> Self {
        Frame {
            join_ref: None,
            msg_ref: None,
            topic: topic.into(),
            event: event.into(),
            payload,
        }
    }

    /// Builds a `phx_reply` answering `to` with a status and a response body.
    pub fn reply(to: &Frame, status: &str, response: Value) -> Self {
        Frame {
            join_ref: to.join_ref.clone(),
            msg_ref: to.msg_ref.clone(),
            topic: to.topic.clone(),
            event: "phx_reply".into(),
            payload: json!({ "status": status, "response": response }),
        }
    }

    /// Sets the join ref of a push (channel pushes carry the channel's current join ref).
    pub fn with_join_ref(mut self, join_ref: Option<String>) -> Self {
        self.join_ref = join_ref;
        self
    }
}
