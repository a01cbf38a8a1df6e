//! One websocket connection: reader loop, writer task, idle timeout, token expiry.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use supalove_phoenix::serializer::{decode_binary_frame, decode_text_exact};
use supalove_phoenix::{Frame, Vsn};
use tokio::sync::mpsc;

use crate::channel::{Inbound, Session};
use crate::jwt::Claims;
use crate::outbound::{Drops, Mailbox, Out, Queued, SharedFrame};
use crate::state::State;

/// A socket without inbound traffic for this long is closed (Phoenix's default).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves an upgraded websocket until it closes.
pub async fn serve(
    state: Arc<State>,
    ws: WebSocket,
    vsn: Vsn,
    claims: Claims,
    token: Option<String>,
) {
    let id = state.next_socket.fetch_add(1, Ordering::Relaxed);
    state.sockets.fetch_add(1, Ordering::Relaxed);
    let (sink, mut stream) = ws.split();
    let (mailbox, rx, drops) = Mailbox::new(
        id,
        vsn,
        state.config.socket_queue,
        state.config.limits.socket_queue_bytes,
    );
    let writer = tokio::spawn(write_loop(sink, rx, drops, vsn));
    let mut session = Session::new(state.clone(), mailbox.clone(), claims, token);
    loop {
        let expiry = session.next_expiry();
        let msg = tokio::select! {
            m = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => m,
            _ = expiry => { session.expire_tokens().await; continue; }
        };
        let decoded = match msg {
            Err(_) => {
                tracing::debug!(socket = id, "idle timeout");
                break;
            }
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(Message::Text(t)))) => {
                decode_text_exact(vsn, t.as_str()).map(|(f, refs)| Inbound::Text(f, refs))
            }
            Ok(Some(Ok(Message::Binary(b)))) => decode_binary_frame(vsn, &b).map(Inbound::Binary),
            Ok(Some(Ok(_))) => continue,
        };
        match decoded {
            Ok(d) => {
                if !session.handle(d).await {
                    break;
                }
            }
            Err(e) => {
                // Like the official socket (R:lib/realtime_web/socket.ex:48-67): logged as
                // MalformedWebSocketMessage and ignored; the socket and its channels carry on.
                tracing::info!(socket = id, error = %e, "MalformedWebSocketMessage: frame ignored");
            }
        }
    }
    session.close_all();
    mailbox.send(Out::Close).await;
    drop(mailbox);
    drop(session);
    let _ = writer.await;
    state.sockets.fetch_sub(1, Ordering::Relaxed);
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Queued>,
    drops: Arc<Drops>,
    vsn: Vsn,
) {
    while let Some(item) = rx.recv().await {
        drops.release(&item);
        let msg = match item.out {
            Out::Text(f) => Message::Text(f.text(vsn).to_owned().into()),
            Out::Binary(b) => Message::Binary(b.as_ref().clone().into()),
            Out::Close => {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: "".into(),
                    })))
                    .await;
                break;
            }
        };
        // Queue without flushing while more is waiting: one syscall per burst, not per frame.
        if sink.feed(msg).await.is_err() {
            break;
        }
        if let Some(lost) = drops.take() {
            for (topic, n) in lost {
                if sink
                    .feed(Message::Text(drop_report(topic, n, vsn).into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        if rx.is_empty() && sink.flush().await.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
}

/// The `system` message telling a client how many messages it lost on `topic`.
fn drop_report(topic: String, n: u64, vsn: Vsn) -> String {
    let channel = topic
        .strip_prefix("realtime:")
        .unwrap_or(&topic)
        .to_string();
    let frame = Frame::push(
        topic,
        "system",
        json!({
            "extension": "system",
            "status": "error",
            "message": format!("{n} messages dropped: client is reading too slowly"),
            "channel": channel,
        }),
    );
    SharedFrame::new(frame).text(vsn).to_owned()
}
