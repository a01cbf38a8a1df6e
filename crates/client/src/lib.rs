//! supalove-client: a Supabase Realtime client (Phoenix channels over tokio-tungstenite), used
//! by `supalove listen`, the readiness probe and the app's subscription tester.

mod connection;
pub mod event;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

pub use connection::parse_vsn;
pub use event::{parse_rfc3339_ms, Event};
pub use supalove_phoenix::Vsn;

use connection::Cmd;

/// Why a client call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("bad Realtime URL: {0}")]
    BadUrl(String),
    #[error("cannot reach Realtime: {0}")]
    Connect(String),
    #[error("Realtime refused the connection with HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Refused { status: u16, body: String },
    #[error("Realtime rejected the request: {0}")]
    Rejected(Value),
    #[error("no reply from Realtime within {0:?}")]
    Timeout(Duration),
    #[error("the client is closed")]
    Closed,
}

/// How to reach a Realtime server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `ws://127.0.0.1:<REALTIME_PORT>/socket` (the `/websocket` suffix is added).
    pub url: String,
    /// Serializer version.
    pub vsn: Vsn,
    /// Host header override (`realtime-dev` for the official engine's tenant rule).
    pub host: Option<String>,
    /// Heartbeat period (the server drops silent sockets after about 60 s).
    pub heartbeat: Duration,
    /// Reconnect (and rejoin) when the socket drops.
    pub reconnect: bool,
    /// How long to wait for a reply.
    pub reply_timeout: Duration,
}

impl ClientOptions {
    /// Defaults for `url`: vsn 1.0.0, 25 s heartbeats, reconnecting, 10 s replies.
    pub fn new(url: impl Into<String>) -> Self {
        ClientOptions {
            url: url.into(),
            vsn: Vsn::V1,
            host: None,
            heartbeat: Duration::from_secs(25),
            reconnect: true,
            reply_timeout: Duration::from_secs(10),
        }
    }
}

/// A connected client; cheap to clone. Events arrive on the receiver `connect` returns.
#[derive(Clone)]
pub struct RealtimeClient {
    cmds: mpsc::UnboundedSender<Cmd>,
    timeout: Duration,
}

/// Connects with `token` as the apikey.
pub async fn connect(
    options: ClientOptions,
    token: &str,
) -> Result<(RealtimeClient, mpsc::UnboundedReceiver<Event>), ClientError> {
    let ws = connection::open(&options, token).await?;
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let timeout = options.reply_timeout;
    tokio::spawn(connection::run(
        options,
        token.to_string(),
        ws,
        cmd_rx,
        ev_tx,
    ));
    Ok((
        RealtimeClient {
            cmds: cmd_tx,
            timeout,
        },
        ev_rx,
    ))
}

/// `realtime:<name>`, the topic of a channel.
pub fn topic(channel: &str) -> String {
    format!("realtime:{channel}")
}

/// A channel's join config: broadcast self/ack, presence key, postgres_changes bindings.
#[derive(Debug, Clone, Default)]
pub struct ChannelConfig {
    pub broadcast_self: bool,
    pub broadcast_ack: bool,
    pub presence_key: String,
    /// `{event, schema, table?, filter?}` objects, in order.
    pub postgres_changes: Vec<Value>,
    pub private: bool,
}

impl ChannelConfig {
    /// The `config` object of `phx_join`.
    pub fn to_json(&self) -> Value {
        json!({
            "broadcast": { "self": self.broadcast_self, "ack": self.broadcast_ack },
            "presence": { "key": self.presence_key },
            "postgres_changes": self.postgres_changes,
            "private": self.private,
        })
    }
}

/// One postgres_changes binding.
pub fn postgres_binding(
    event: &str,
    schema: &str,
    table: Option<&str>,
    filter: Option<&str>,
) -> Value {
    let mut b = json!({ "event": event, "schema": schema });
    if let Some(t) = table {
        b["table"] = json!(t);
    }
    if let Some(f) = filter {
        b["filter"] = json!(f);
    }
    b
}

impl RealtimeClient {
    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<Value, ClientError>>) -> Cmd,
    ) -> Result<Value, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.cmds.send(make(tx)).map_err(|_| ClientError::Closed)?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => Err(ClientError::Timeout(self.timeout)),
        }
    }

    /// Joins `topic` and returns the join reply (postgres_changes with their ids).
    pub async fn join(&self, topic: &str, config: &ChannelConfig) -> Result<Value, ClientError> {
        let (topic, config) = (topic.to_string(), config.to_json());
        self.ask(|reply| Cmd::Join {
            topic,
            config,
            reply,
        })
        .await
    }

    /// Leaves `topic`.
    pub async fn leave(&self, topic: &str) -> Result<Value, ClientError> {
        let topic = topic.to_string();
        self.ask(|reply| Cmd::Leave { topic, reply }).await
    }

    /// Sends a broadcast; with `ack`, waits for the server's acknowledgement.
    pub async fn broadcast(
        &self,
        topic: &str,
        event: &str,
        payload: Value,
        ack: bool,
    ) -> Result<(), ClientError> {
        let body = json!({ "type": "broadcast", "event": event, "payload": payload });
        let topic = topic.to_string();
        if ack {
            self.ask(|reply| Cmd::Push {
                topic,
                event: "broadcast".into(),
                payload: body,
                reply: Some(reply),
            })
            .await?;
        } else {
            self.cmds
                .send(Cmd::Push {
                    topic,
                    event: "broadcast".into(),
                    payload: body,
                    reply: None,
                })
                .map_err(|_| ClientError::Closed)?;
        }
        Ok(())
    }

    /// Tracks a presence state on `topic`.
    pub async fn track(&self, topic: &str, state: Value) -> Result<(), ClientError> {
        self.presence(
            topic,
            json!({ "type": "presence", "event": "track", "payload": state }),
        )
        .await
    }

    /// Stops tracking on `topic`.
    pub async fn untrack(&self, topic: &str) -> Result<(), ClientError> {
        self.presence(topic, json!({ "type": "presence", "event": "untrack" }))
            .await
    }

    async fn presence(&self, topic: &str, body: Value) -> Result<(), ClientError> {
        let topic = topic.to_string();
        self.ask(|reply| Cmd::Push {
            topic,
            event: "presence".into(),
            payload: body,
            reply: Some(reply),
        })
        .await?;
        Ok(())
    }

    /// Replaces the access token on every joined channel (and for rejoins).
    pub fn set_token(&self, token: &str) -> Result<(), ClientError> {
        self.cmds
            .send(Cmd::Token {
                token: token.to_string(),
            })
            .map_err(|_| ClientError::Closed)
    }

    /// Closes the socket.
    pub fn close(&self) {
        let _ = self.cmds.send(Cmd::Close);
    }
}
