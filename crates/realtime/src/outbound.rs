//! Per-socket outbound queues: bounded, shared encodings, drop accounting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use supalove_phoenix::serializer::encode_text;
use supalove_phoenix::{Frame, Vsn};
use tokio::sync::mpsc;

/// Default capacity of each socket's outbound queue; beyond it fan-out messages are dropped.
/// Slots are allocated lazily, so an idle socket does not pay for its capacity.
pub const QUEUE_CAPACITY: usize = 16_384;

/// A frame shared by many sockets, encoded at most once per serializer version.
#[derive(Debug)]
pub struct SharedFrame {
    frame: Frame,
    v1: OnceLock<String>,
    v2: OnceLock<String>,
}

impl SharedFrame {
    /// Wraps a frame for fan-out.
    pub fn new(frame: Frame) -> Arc<SharedFrame> {
        Arc::new(SharedFrame {
            frame,
            v1: OnceLock::new(),
            v2: OnceLock::new(),
        })
    }

    /// The frame's text for `vsn`, encoded on first use.
    pub fn text(&self, vsn: Vsn) -> &str {
        let cell = match vsn {
            Vsn::V1 => &self.v1,
            Vsn::V2 => &self.v2,
        };
        cell.get_or_init(|| encode_text(vsn, &self.frame))
    }

    /// The wrapped frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }
}

/// One item in a socket's queue.
#[derive(Debug, Clone)]
pub enum Out {
    /// A text frame.
    Text(Arc<SharedFrame>),
    /// A binary frame (vsn 2.0.0 user broadcast).
    Binary(Arc<Vec<u8>>),
    /// Close the socket after what is queued.
    Close,
}

/// The sending side of one socket's queue.
#[derive(Debug, Clone)]
pub struct Mailbox {
    tx: mpsc::Sender<Out>,
    /// Serializer the socket negotiated.
    pub vsn: Vsn,
    /// Unique id of the socket.
    pub socket_id: u64,
    drops: Arc<Drops>,
}

/// Drops per topic, reported to the client once its queue has room again.
#[derive(Debug, Default)]
pub struct Drops {
    any: AtomicBool,
    per_topic: Mutex<HashMap<String, u64>>,
}

impl Drops {
    /// Takes the pending drop counts, if any.
    pub fn take(&self) -> Option<HashMap<String, u64>> {
        if !self.any.swap(false, Ordering::AcqRel) {
            return None;
        }
        let mut map = self.per_topic.lock().unwrap_or_else(|e| e.into_inner());
        Some(std::mem::take(&mut *map))
    }
}

impl Mailbox {
    /// Creates a queue for a socket; returns the mailbox, the receiver and the drop counter.
    pub fn new(
        socket_id: u64,
        vsn: Vsn,
        capacity: usize,
    ) -> (Mailbox, mpsc::Receiver<Out>, Arc<Drops>) {
        let (tx, rx) = mpsc::channel(capacity);
        let drops = Arc::new(Drops::default());
        (
            Mailbox {
                tx,
                vsn,
                socket_id,
                drops: drops.clone(),
            },
            rx,
            drops,
        )
    }

    /// Queues a fan-out message without waiting; when full, counts a drop for `topic`.
    pub fn offer(&self, topic: &str, out: Out) -> bool {
        match self.tx.try_send(out) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                let mut map = self
                    .drops
                    .per_topic
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                *map.entry(topic.to_string()).or_default() += 1;
                self.drops.any.store(true, Ordering::Release);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a direct reply, waiting for room (only this socket waits).
    pub async fn send(&self, out: Out) -> bool {
        self.tx.send(out).await.is_ok()
    }

    /// Queues a direct frame.
    pub async fn send_frame(&self, frame: Frame) -> bool {
        self.send(Out::Text(SharedFrame::new(frame))).await
    }

    /// Whether the socket has gone away.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn full_queue_counts_drops_per_topic() {
        let (mb, mut rx, drops) = Mailbox::new(1, Vsn::V2, 8);
        let f = SharedFrame::new(Frame::push("realtime:a", "x", json!({})));
        for _ in 0..8 {
            assert!(mb.offer("realtime:a", Out::Text(f.clone())));
        }
        assert!(!mb.offer("realtime:a", Out::Text(f.clone())));
        assert!(!mb.offer("realtime:a", Out::Text(f.clone())));
        assert_eq!(drops.take().unwrap()["realtime:a"], 2);
        assert!(drops.take().is_none());
        assert!(rx.recv().await.is_some());
        assert_eq!(f.text(Vsn::V2), r#"[null,null,"realtime:a","x",{}]"#);
    }
}
