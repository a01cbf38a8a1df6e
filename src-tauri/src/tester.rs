//! The subscription tester's channels: core subscriptions by id, their events forwarded to the
//! UI through a Channel.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use supalove_core::subscription::{
    now_ms, SubscribeRequest, SubscriptionEvent, SubscriptionHandle,
};
use supalove_core::ErrorKind;
use tauri::ipc::Channel;

use crate::dto::CommandError;
use crate::state::App;

/// Live tester channels by id.
#[derive(Default)]
pub struct Testers {
    open: Mutex<HashMap<u32, SubscriptionHandle>>,
}

impl Testers {
    /// Connects, joins and starts forwarding; returns when the join reply arrived.
    pub async fn open(
        &self,
        id: u32,
        app: &App,
        name: &str,
        req: SubscribeRequest,
        events: Channel<SubscriptionEvent>,
    ) -> Result<(), CommandError> {
        let mut sub = app.subscribe(name, &req, None).await?;
        let _ = events.send(SubscriptionEvent {
            kind: "joined".into(),
            received_at_ms: now_ms(),
            latency_ms: None,
            payload: sub.join_reply.clone(),
            raw: Value::Null,
        });
        self.open
            .lock()
            .expect("testers lock")
            .insert(id, sub.handle.clone());
        tokio::spawn(async move {
            let mut reported = 0;
            while let Some(ev) = sub.next().await {
                let dropped = sub.dropped();
                if dropped > reported {
                    reported = dropped;
                    let _ = events.send(SubscriptionEvent {
                        kind: "dropped".into(),
                        received_at_ms: now_ms(),
                        latency_ms: None,
                        payload: serde_json::json!({ "dropped": dropped }),
                        raw: Value::Null,
                    });
                }
                if events.send(ev).is_err() {
                    return;
                }
            }
        });
        Ok(())
    }

    fn get(&self, id: u32) -> Result<SubscriptionHandle, CommandError> {
        self.open
            .lock()
            .expect("testers lock")
            .get(&id)
            .cloned()
            .ok_or_else(|| CommandError {
                kind: ErrorKind::NotFound,
                message: format!("no open tester channel {id}"),
                hint: Some("connect the channel again".into()),
                last_logs: Vec::new(),
            })
    }

    /// Leaves and disconnects.
    pub fn close(&self, id: u32) -> bool {
        match self.open.lock().expect("testers lock").remove(&id) {
            Some(handle) => {
                handle.close();
                true
            }
            None => false,
        }
    }

    /// Sends a broadcast (waits for the ack when the channel asked for acks).
    pub async fn broadcast(
        &self,
        id: u32,
        event: &str,
        payload: Value,
    ) -> Result<(), CommandError> {
        Ok(self.get(id)?.broadcast(event, payload).await?)
    }

    /// Tracks a presence state.
    pub async fn track(&self, id: u32, state: Value) -> Result<(), CommandError> {
        Ok(self.get(id)?.track(state).await?)
    }

    /// Stops tracking.
    pub async fn untrack(&self, id: u32) -> Result<(), CommandError> {
        Ok(self.get(id)?.untrack().await?)
    }
}
