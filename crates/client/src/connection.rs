//! The websocket task: one per client. It owns the socket, sends heartbeats, matches replies
//! to pushes, and reconnects (rejoining every channel) when the socket drops.

use std::collections::HashMap;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use supalove_phoenix::{serializer, Frame, Vsn};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::event::Event;
use crate::{ClientError, ClientOptions};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The pause before each reconnect attempt: 100 ms, doubling to at most 5 s, for as long as
/// it takes (no jitter: one client per socket, nothing to spread).
pub(crate) const RECONNECT: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(100))
    .with_factor(2.0)
    .with_max_delay(Duration::from_secs(5))
    .without_max_times();
pub(crate) type Reply = oneshot::Sender<Result<Value, ClientError>>;

/// What the public handle asks the task to do.
pub(crate) enum Cmd {
    Join {
        topic: String,
        config: Value,
        reply: Reply,
    },
    Push {
        topic: String,
        event: String,
        payload: Value,
        reply: Option<Reply>,
    },
    Leave {
        topic: String,
        reply: Reply,
    },
    Token {
        token: String,
    },
    Close,
}

struct Channel {
    join_ref: String,
    config: Value,
}

/// Opens the websocket once; the HTTP status of a refused upgrade becomes the error.
pub(crate) async fn open(opts: &ClientOptions, token: &str) -> Result<Ws, ClientError> {
    let base = opts.url.trim_end_matches('/');
    let url = format!("{base}/websocket?apikey={token}&vsn={}", opts.vsn.as_str());
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| ClientError::BadUrl(format!("{}: {e}", opts.url)))?;
    if let Some(host) = &opts.host {
        // The official engine picks its tenant from the Host header's first label.
        let value = HeaderValue::from_str(host).map_err(|e| ClientError::BadUrl(e.to_string()))?;
        req.headers_mut().insert("host", value);
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).to_string())
                .unwrap_or_default();
            Err(ClientError::Refused {
                status: resp.status().as_u16(),
                body,
            })
        }
        Err(e) => Err(ClientError::Connect(e.to_string())),
    }
}

/// Runs the connection until `Close` or the handle is dropped.
pub(crate) async fn run(
    opts: ClientOptions,
    mut token: String,
    mut ws: Ws,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut next_ref: u64 = 0;
    let mut pending: HashMap<String, (Reply, Option<String>)> = HashMap::new();
    let mut channels: HashMap<String, Channel> = HashMap::new();
    let mut heartbeat = tokio::time::interval(opts.heartbeat);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else { let _ = ws.close(None).await; return };
                next_ref += 1;
                let msg_ref = next_ref.to_string();
                let (frame, reply, joined) = match cmd {
                    Cmd::Close => { let _ = ws.close(None).await; return; }
                    Cmd::Token { token: t } => {
                        token = t;
                        for (topic, ch) in &channels {
                            next_ref += 1;
                            let f = Frame {
                                join_ref: Some(ch.join_ref.clone()),
                                msg_ref: Some(next_ref.to_string()),
                                topic: topic.clone(),
                                event: "access_token".into(),
                                payload: json!({ "access_token": token }),
                            };
                            let _ = ws.send(Message::text(serializer::encode_text(opts.vsn, &f))).await;
                        }
                        continue;
                    }
                    Cmd::Join { topic, config, reply } => {
                        let payload = json!({ "config": config, "access_token": token });
                        channels.insert(topic.clone(), Channel { join_ref: msg_ref.clone(), config });
                        let f = Frame { join_ref: Some(msg_ref.clone()), msg_ref: Some(msg_ref.clone()), topic: topic.clone(), event: "phx_join".into(), payload };
                        (f, Some(reply), Some(topic))
                    }
                    Cmd::Push { topic, event, payload, reply } => {
                        let join_ref = channels.get(&topic).map(|c| c.join_ref.clone());
                        let f = Frame { join_ref, msg_ref: Some(msg_ref.clone()), topic, event, payload };
                        (f, reply, None)
                    }
                    Cmd::Leave { topic, reply } => {
                        let join_ref = channels.remove(&topic).map(|c| c.join_ref);
                        let f = Frame { join_ref, msg_ref: Some(msg_ref.clone()), topic, event: "phx_leave".into(), payload: json!({}) };
                        (f, Some(reply), None)
                    }
                };
                if let Some(r) = reply {
                    pending.insert(msg_ref, (r, joined));
                }
                if ws.send(Message::text(serializer::encode_text(opts.vsn, &frame))).await.is_err() {
                    ws = reconnect(&opts, &token, &events, &mut channels, &mut next_ref, &mut pending).await;
                }
            }
            _ = heartbeat.tick() => {
                next_ref += 1;
                let f = Frame { join_ref: None, msg_ref: Some(next_ref.to_string()), topic: "phoenix".into(), event: "heartbeat".into(), payload: json!({}) };
                if ws.send(Message::text(serializer::encode_text(opts.vsn, &f))).await.is_err() {
                    ws = reconnect(&opts, &token, &events, &mut channels, &mut next_ref, &mut pending).await;
                }
            }
            msg = ws.next() => {
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        let Ok(frame) = serializer::decode_text(opts.vsn, text.as_str()) else { continue };
                        if frame.event == "phx_reply" {
                            if let Some((reply, _)) = frame.msg_ref.as_ref().and_then(|r| pending.remove(r)) {
                                let status = frame.payload["status"].as_str().unwrap_or("");
                                let response = frame.payload["response"].clone();
                                let _ = reply.send(if status == "ok" { Ok(response) } else { Err(ClientError::Rejected(response)) });
                            }
                            continue;
                        }
                        // Pushes for a channel's older join are stale.
                        if let (Some(jr), Some(ch)) = (&frame.join_ref, channels.get(&frame.topic)) {
                            if *jr != ch.join_ref { continue; }
                        }
                        if frame.event == "phx_close" {
                            channels.remove(&frame.topic);
                        }
                        if let Some(ev) = Event::from_push(&frame) {
                            if events.send(ev).is_err() { let _ = ws.close(None).await; return; }
                        }
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        if let Ok(b) = supalove_phoenix::binary::decode_user_broadcast(&bytes) {
                            let payload = b.text_payload().map(|p| p["payload"].clone()).unwrap_or(Value::Null);
                            let _ = events.send(Event::Broadcast { topic: b.topic, event: b.event, payload });
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        if !opts.reconnect {
                            let _ = events.send(Event::Disconnected { reason: "the server closed the socket".into() });
                            return;
                        }
                        ws = reconnect(&opts, &token, &events, &mut channels, &mut next_ref, &mut pending).await;
                    }
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}

async fn reconnect(
    opts: &ClientOptions,
    token: &str,
    events: &mpsc::UnboundedSender<Event>,
    channels: &mut HashMap<String, Channel>,
    next_ref: &mut u64,
    pending: &mut HashMap<String, (Reply, Option<String>)>,
) -> Ws {
    let _ = events.send(Event::Disconnected {
        reason: "the socket dropped; reconnecting".into(),
    });
    for (_, (reply, _)) in pending.drain() {
        let _ = reply.send(Err(ClientError::Connect(
            "the socket dropped before the reply".into(),
        )));
    }
    let mut pauses = RECONNECT.build();
    loop {
        let pause = pauses.next().unwrap_or(Duration::from_secs(5));
        tokio::time::sleep(pause).await;
        if let Ok(mut ws) = open(opts, token).await {
            for (topic, ch) in channels.iter_mut() {
                *next_ref += 1;
                ch.join_ref = next_ref.to_string();
                let payload = json!({ "config": ch.config, "access_token": token });
                let f = Frame {
                    join_ref: Some(ch.join_ref.clone()),
                    msg_ref: Some(ch.join_ref.clone()),
                    topic: topic.clone(),
                    event: "phx_join".into(),
                    payload,
                };
                let _ = ws
                    .send(Message::text(serializer::encode_text(opts.vsn, &f)))
                    .await;
            }
            let _ = events.send(Event::Reconnected);
            return ws;
        }
    }
}

/// The vsn a client speaks, parsed from text.
pub fn parse_vsn(text: &str) -> Result<Vsn, ClientError> {
    Vsn::parse(Some(text)).map_err(|e| ClientError::BadUrl(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reconnect pauses are the ones the hand-written loop had: 100 ms doubling, capped
    /// at 5 s, never giving up (within a microsecond: backon multiplies in f32).
    #[test]
    fn reconnect_pauses_double_from_100_ms_to_5_s_and_never_stop() {
        let want_ms = [100, 200, 400, 800, 1600, 3200, 5000, 5000];
        let got: Vec<Duration> = RECONNECT.build().take(1000).collect();
        assert_eq!(got.len(), 1000, "the policy never gives up");
        for (i, (got, want)) in got.iter().zip(want_ms).enumerate() {
            let want = Duration::from_millis(want);
            let off = got.abs_diff(want);
            assert!(
                off < Duration::from_micros(1),
                "pause {i}: {got:?}, want {want:?}"
            );
        }
        assert_eq!(got[999], Duration::from_secs(5));
    }
}
