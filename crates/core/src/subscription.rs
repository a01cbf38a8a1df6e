//! Realtime subscriptions as every shell uses them (`listen`, the app's tester, the API): one
//! client connection per subscription, events stamped on arrival, a bounded buffer that
//! counts what it had to drop, and the server's refusals recognised in one place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use supalove_client::{ChannelConfig, ClientOptions, Event, RealtimeClient};
use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// Events buffered per subscription before new ones are dropped (and counted).
pub const BUFFER: usize = 4096;

/// One postgres_changes binding.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ChangeBinding {
    /// `*`, `INSERT`, `UPDATE` or `DELETE`.
    pub event: String,
    pub schema: String,
    pub table: Option<String>,
    /// `column=op.value`, op one of eq neq lt lte gt gte in.
    pub filter: Option<String>,
}

/// A subscription: who connects (role + claims), how (vsn) and what it listens to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, rename = "TesterChannelRequest")
)]
pub struct SubscribeRequest {
    pub channel: String,
    pub role: String,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown> | null"))]
    pub claims: Option<serde_json::Map<String, Value>>,
    pub vsn: String,
    pub bindings: Vec<ChangeBinding>,
    pub broadcast_self: bool,
    pub broadcast_ack: bool,
    pub presence_key: String,
}

/// What a subscription received, stamped on arrival.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, rename = "TesterEvent"))]
pub struct SubscriptionEvent {
    /// `joined`, `postgres_changes`, `broadcast`, `presence_state`, `presence_diff`, `system`,
    /// `channel_closed`, `channel_error`, `disconnected`, `reconnected` or `dropped`.
    pub kind: String,
    pub received_at_ms: f64,
    /// Receive time minus `commit_timestamp` (postgres_changes only).
    pub latency_ms: Option<f64>,
    /// The event without its `kind` and `topic`.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub payload: Value,
    /// The whole event as the client decoded it (for line-oriented output).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub raw: Value,
}

impl SubscriptionEvent {
    /// The server's reason when this event means it refused the subscription (a bad filter,
    /// a missing table or column, an unknown role) or closed the channel.
    pub fn refusal(&self) -> Option<String> {
        match self.kind.as_str() {
            "system" => {
                // A postgres_changes error is final unless the server says it retries (the
                // database is briefly away); `system` notices of other extensions (dropped
                // messages) are not refusals.
                let p = &self.payload["payload"];
                let message = p["message"]
                    .as_str()
                    .unwrap_or("the server refused the subscription");
                (p["status"] == "error"
                    && p["extension"] == "postgres_changes"
                    && !message.contains("retrying"))
                .then(|| message.to_string())
            }
            "channel_closed" => Some("the server closed the channel".into()),
            "channel_error" => Some(format!(
                "the channel failed on the server: {}",
                self.payload["payload"]
            )),
            _ => None,
        }
    }

    /// True for the events `count` limits count (changes and broadcasts).
    pub fn is_data(&self) -> bool {
        matches!(self.kind.as_str(), "postgres_changes" | "broadcast")
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Sends and stops on a live subscription; cheap to clone.
#[derive(Clone)]
pub struct SubscriptionHandle {
    client: RealtimeClient,
    topic: String,
    ack: bool,
}

impl SubscriptionHandle {
    /// Sends a broadcast (and waits for the ack when the subscription asked for acks).
    pub async fn broadcast(&self, event: &str, payload: Value) -> Result<()> {
        self.client
            .broadcast(&self.topic, event, payload, self.ack)
            .await
            .map_err(realtime_error)
    }

    /// Tracks a presence state.
    pub async fn track(&self, state: Value) -> Result<()> {
        self.client
            .track(&self.topic, state)
            .await
            .map_err(realtime_error)
    }

    /// Stops tracking.
    pub async fn untrack(&self) -> Result<()> {
        self.client
            .untrack(&self.topic)
            .await
            .map_err(realtime_error)
    }

    /// Leaves and disconnects.
    pub fn close(&self) {
        self.client.close();
    }
}

/// A joined subscription: its handle, the join reply and its event stream.
pub struct Subscription {
    pub handle: SubscriptionHandle,
    /// The server's join reply (`postgres_changes` ids and the like).
    pub join_reply: Value,
    /// Where it connected.
    pub url: String,
    pub topic: String,
    /// Something the caller should tell the person (the serializer was changed, and why).
    pub notice: Option<String>,
    events: mpsc::Receiver<SubscriptionEvent>,
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    /// The next event, or None when the connection is gone for good.
    pub async fn next(&mut self) -> Option<SubscriptionEvent> {
        self.events.recv().await
    }

    /// Events dropped so far because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Why the official engine is joined with vsn 1.0.0: supabase/realtime v2.28.32 drops the
/// socket when a vsn 2.0.0 client sends a broadcast in the binary frame format that version
/// introduced.
pub const OFFICIAL_VSN_NOTE: &str = "the official engine (supabase/realtime v2.28.32) closes the socket on a vsn 2.0.0 binary broadcast, so supalove joins it with vsn 1.0.0 (JSON frames); events are the same";

/// The request as `engine` can serve it, and a notice when it had to change (vsn 2.0.0 on the
/// official engine becomes 1.0.0).
pub fn for_engine(
    engine: crate::registry::RealtimeEngine,
    req: &SubscribeRequest,
) -> (SubscribeRequest, Option<String>) {
    let mut req = req.clone();
    if engine == crate::registry::RealtimeEngine::Supabase && req.vsn == "2.0.0" {
        req.vsn = "1.0.0".into();
        return (req, Some(OFFICIAL_VSN_NOTE.to_string()));
    }
    (req, None)
}

/// A Realtime client failure, in the words shells show.
pub fn realtime_error(e: supalove_client::ClientError) -> Error {
    Error::Realtime(e.to_string())
}

/// Connects with `token` to `url` (sending `host` as Host), joins and starts stamping events.
pub(crate) async fn open(
    url: String,
    host: Option<String>,
    token: &str,
    req: &SubscribeRequest,
) -> Result<Subscription> {
    let mut options = ClientOptions::new(url.clone());
    options.vsn = supalove_client::parse_vsn(&req.vsn).map_err(realtime_error)?;
    options.host = host;
    let (client, mut rx) = supalove_client::connect(options, token)
        .await
        .map_err(realtime_error)?;
    let topic = supalove_client::topic(&req.channel);
    let config = ChannelConfig {
        broadcast_self: req.broadcast_self,
        broadcast_ack: req.broadcast_ack,
        presence_key: req.presence_key.clone(),
        postgres_changes: req
            .bindings
            .iter()
            .map(|b| {
                supalove_client::postgres_binding(
                    &b.event,
                    &b.schema,
                    b.table.as_deref(),
                    b.filter.as_deref(),
                )
            })
            .collect(),
        private: false,
    };
    let join_reply = match client.join(&topic, &config).await {
        Ok(r) => r,
        Err(e) => {
            client.close();
            return Err(realtime_error(e));
        }
    };
    let (tx, events) = mpsc::channel(BUFFER);
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&dropped);
    // Event types are filtered on the client, as realtime-js does.
    let wanted: Vec<String> = req
        .bindings
        .iter()
        .map(|b| b.event.to_uppercase())
        .collect();
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            let Some(out) = stamp(ev, &wanted) else {
                continue;
            };
            match tx.try_send(out) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    });
    Ok(Subscription {
        handle: SubscriptionHandle {
            client,
            topic: topic.clone(),
            ack: req.broadcast_ack,
        },
        join_reply,
        url,
        topic,
        notice: None,
        events,
        dropped,
    })
}

/// Stamps one client event; None for changes of an event type nobody asked for.
fn stamp(ev: Event, wanted: &[String]) -> Option<SubscriptionEvent> {
    let received = now_ms();
    let mut latency = None;
    if let Event::PostgresChanges { data, .. } = &ev {
        let ty = data["type"].as_str().unwrap_or_default();
        if !wanted.is_empty() && !wanted.iter().any(|w| w == "*" || w == ty) {
            return None;
        }
        latency = data["commit_timestamp"]
            .as_str()
            .and_then(supalove_client::parse_rfc3339_ms)
            .map(|c| received - c);
    }
    let raw = serde_json::to_value(&ev).unwrap_or(Value::Null);
    let mut payload = raw.clone();
    let kind = payload["kind"].as_str().unwrap_or("unknown").to_string();
    if let Some(obj) = payload.as_object_mut() {
        obj.remove("kind");
        obj.remove("topic");
    }
    Some(SubscriptionEvent {
        kind,
        received_at_ms: received,
        latency_ms: latency,
        payload,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_engine_is_joined_with_vsn_1() {
        use crate::registry::RealtimeEngine;
        let req = SubscribeRequest {
            channel: "c".into(),
            role: "anon".into(),
            claims: None,
            vsn: "2.0.0".into(),
            bindings: Vec::new(),
            broadcast_self: true,
            broadcast_ack: false,
            presence_key: String::new(),
        };
        let (official, notice) = for_engine(RealtimeEngine::Supabase, &req);
        assert_eq!(official.vsn, "1.0.0");
        assert!(notice.unwrap().contains("v2.28.32"));
        let (native, notice) = for_engine(RealtimeEngine::Native, &req);
        assert_eq!((native.vsn.as_str(), notice), ("2.0.0", None));
    }

    #[test]
    fn refusals_are_recognised() {
        let system = stamp(
            Event::System {
                topic: "realtime:x".into(),
                payload: serde_json::json!({"extension":"postgres_changes","status":"error","message":"invalid column for filter nope"}),
            },
            &[],
        )
        .unwrap();
        assert_eq!(
            system.refusal().as_deref(),
            Some("invalid column for filter nope")
        );
        let ok = stamp(
            Event::System {
                topic: "realtime:x".into(),
                payload: serde_json::json!({"status":"ok","message":"Subscribed to PostgreSQL"}),
            },
            &[],
        )
        .unwrap();
        assert_eq!(ok.refusal(), None);
        let retrying = stamp(
            Event::System {
                topic: "realtime:x".into(),
                payload: serde_json::json!({"extension":"postgres_changes","status":"error","message":"Subscribing to PostgreSQL failed: database unavailable; retrying"}),
            },
            &[],
        )
        .unwrap();
        assert_eq!(retrying.refusal(), None);
    }

    #[test]
    fn unwanted_change_types_are_skipped_and_latency_is_stamped() {
        let change = |ty: &str| Event::PostgresChanges {
            topic: "realtime:x".into(),
            ids: vec![1],
            data: serde_json::json!({"type": ty, "commit_timestamp": "2026-01-01T00:00:00Z"}),
        };
        assert!(stamp(change("UPDATE"), &["INSERT".into()]).is_none());
        let kept = stamp(change("INSERT"), &["INSERT".into()]).unwrap();
        assert_eq!(kept.kind, "postgres_changes");
        assert!(kept.latency_ms.unwrap() > 0.0);
        assert!(kept.payload.get("kind").is_none());
        assert_eq!(kept.raw["kind"], "postgres_changes");
    }
}
