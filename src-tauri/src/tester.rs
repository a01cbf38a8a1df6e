//! The subscription tester's channels: our Rust Realtime client, one connection per tester
//! channel (each has its own identity), events forwarded to the UI through a Channel.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use supalove_client::{ChannelConfig, ClientOptions, Event, RealtimeClient};
use tauri::ipc::Channel;

use crate::dto::{CommandError, TesterChannelRequest, TesterEvent};
use crate::state::App;

/// Live tester channels by id.
#[derive(Default)]
pub struct Testers {
    open: Mutex<HashMap<u32, Conn>>,
}

#[derive(Clone)]
struct Conn {
    client: RealtimeClient,
    topic: String,
    ack: bool,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn client_error(e: supalove_client::ClientError) -> CommandError {
    CommandError {
        kind: "realtime".into(),
        message: e.to_string(),
        hint: Some(
            "check the project is running (`supalove show`) and the token's role exists".into(),
        ),
        last_logs: Vec::new(),
    }
}

impl Testers {
    /// Connects, joins and starts forwarding; returns when the join reply arrived.
    pub async fn open(
        &self,
        id: u32,
        app: &App,
        name: &str,
        req: TesterChannelRequest,
        events: Channel<TesterEvent>,
    ) -> Result<(), CommandError> {
        let token = app.token(name, &req.role, req.claims.clone()).await?;
        let target = app.realtime_target(name).await?;
        let mut options = ClientOptions::new(target.url);
        options.vsn = supalove_client::parse_vsn(&req.vsn).map_err(client_error)?;
        options.host = target.host;
        let (client, mut rx) = supalove_client::connect(options, &token)
            .await
            .map_err(client_error)?;
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
        let reply = match client.join(&topic, &config).await {
            Ok(r) => r,
            Err(e) => {
                client.close();
                return Err(client_error(e));
            }
        };
        let _ = events.send(TesterEvent {
            kind: "joined".into(),
            received_at_ms: now_ms(),
            latency_ms: None,
            payload: reply,
        });
        let conn = Conn {
            client,
            topic,
            ack: req.broadcast_ack,
        };
        self.open.lock().expect("testers lock").insert(id, conn);
        // Event types are filtered on the client, as realtime-js does.
        let wanted: Vec<String> = req
            .bindings
            .iter()
            .map(|b| b.event.to_uppercase())
            .collect();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                let received = now_ms();
                let mut latency = None;
                if let Event::PostgresChanges { data, .. } = &ev {
                    let ty = data["type"].as_str().unwrap_or_default();
                    if !wanted.iter().any(|w| w == "*" || w == ty) {
                        continue;
                    }
                    latency = data["commit_timestamp"]
                        .as_str()
                        .and_then(supalove_client::parse_rfc3339_ms)
                        .map(|c| received - c);
                }
                let mut payload = serde_json::to_value(&ev).unwrap_or(Value::Null);
                let kind = payload["kind"].as_str().unwrap_or("unknown").to_string();
                if let Some(obj) = payload.as_object_mut() {
                    obj.remove("kind");
                    obj.remove("topic");
                }
                let out = TesterEvent {
                    kind,
                    received_at_ms: received,
                    latency_ms: latency,
                    payload,
                };
                if events.send(out).is_err() {
                    return;
                }
            }
        });
        Ok(())
    }

    fn get(&self, id: u32) -> Result<Conn, CommandError> {
        self.open
            .lock()
            .expect("testers lock")
            .get(&id)
            .cloned()
            .ok_or_else(|| CommandError {
                kind: "not_found".into(),
                message: format!("no open tester channel {id}"),
                hint: Some("connect the channel again".into()),
                last_logs: Vec::new(),
            })
    }

    /// Leaves and disconnects.
    pub fn close(&self, id: u32) -> bool {
        match self.open.lock().expect("testers lock").remove(&id) {
            Some(conn) => {
                conn.client.close();
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
        let c = self.get(id)?;
        c.client
            .broadcast(&c.topic, event, payload, c.ack)
            .await
            .map_err(client_error)
    }

    /// Tracks a presence state.
    pub async fn track(&self, id: u32, state: Value) -> Result<(), CommandError> {
        let c = self.get(id)?;
        c.client.track(&c.topic, state).await.map_err(client_error)
    }

    /// Stops tracking.
    pub async fn untrack(&self, id: u32) -> Result<(), CommandError> {
        let c = self.get(id)?;
        c.client.untrack(&c.topic).await.map_err(client_error)
    }
}
