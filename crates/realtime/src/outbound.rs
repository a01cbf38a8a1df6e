//! Per-socket outbound queues: bounded in bytes (and messages), shared encodings, drop
//! accounting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use supalove_phoenix::serializer::encode_text_refs;
use supalove_phoenix::{Frame, Refs, Vsn};
use tokio::sync::{mpsc, Notify};

/// Default message capacity of each socket's outbound queue (a second bound beside bytes).
/// Slots are allocated lazily, so an idle socket does not pay for its capacity.
pub const QUEUE_CAPACITY: usize = 16_384;

/// A frame shared by many sockets, encoded at most once per serializer version.
#[derive(Debug)]
pub struct SharedFrame {
    frame: Frame,
    refs: Option<Refs>,
    v1: OnceLock<String>,
    v2: OnceLock<String>,
}

impl SharedFrame {
    /// Wraps a frame for fan-out (its refs are its optional strings).
    pub fn new(frame: Frame) -> Arc<SharedFrame> {
        SharedFrame::build(frame, None)
    }

    /// Wraps a frame whose refs must go out exactly as given (replies echo the client's).
    pub fn with_refs(frame: Frame, refs: Refs) -> Arc<SharedFrame> {
        SharedFrame::build(frame, Some(refs))
    }

    fn build(frame: Frame, refs: Option<Refs>) -> Arc<SharedFrame> {
        Arc::new(SharedFrame {
            frame,
            refs,
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
        cell.get_or_init(|| match &self.refs {
            Some(refs) => encode_text_refs(vsn, &self.frame, refs),
            None => encode_text_refs(vsn, &self.frame, &Refs::of(&self.frame)),
        })
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

impl Out {
    /// Bytes this item holds for a socket speaking `vsn` (its encoded size).
    fn cost(&self, vsn: Vsn) -> usize {
        match self {
            Out::Text(f) => f.text(vsn).len(),
            Out::Binary(b) => b.len(),
            Out::Close => 0,
        }
    }
}

/// A queued item with the bytes it was charged.
#[derive(Debug)]
pub struct Queued {
    /// What to send.
    pub out: Out,
    cost: usize,
}

/// The sending side of one socket's queue.
#[derive(Debug, Clone)]
pub struct Mailbox {
    tx: mpsc::Sender<Queued>,
    /// Serializer the socket negotiated.
    pub vsn: Vsn,
    /// Unique id of the socket.
    pub socket_id: u64,
    drops: Arc<Drops>,
}

/// Queue accounting shared by a socket's mailbox and its writer: bytes in flight and drops
/// per topic, reported to the client once its queue has room again.
#[derive(Debug, Default)]
pub struct Drops {
    any: AtomicBool,
    per_topic: Mutex<HashMap<String, u64>>,
    queued_bytes: AtomicUsize,
    limit_bytes: usize,
    /// Signalled whenever the writer takes an item off the queue.
    space: Notify,
    /// The client did not make room within the grace period: drop at once until it catches up.
    stalled: AtomicBool,
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

    /// Gives back the bytes of an item the writer has taken off the queue.
    pub fn release(&self, item: &Queued) {
        let left = self.queued_bytes.fetch_sub(item.cost, Ordering::AcqRel) - item.cost;
        if left <= self.limit_bytes / 2 {
            self.stalled.store(false, Ordering::Release);
        }
        self.space.notify_waiters();
    }

    /// Charges `cost` bytes if they fit (a lone item always fits an empty queue).
    fn reserve(&self, cost: usize) -> bool {
        let before = self.queued_bytes.fetch_add(cost, Ordering::AcqRel);
        if before > 0 && before + cost > self.limit_bytes {
            self.queued_bytes.fetch_sub(cost, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Bytes currently queued.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Acquire)
    }

    fn count_drop(&self, topic: &str) {
        let mut map = self.per_topic.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(topic.to_string()).or_default() += 1;
        self.any.store(true, Ordering::Release);
    }
}

impl Mailbox {
    /// Creates a queue for a socket holding at most `capacity` messages and `limit_bytes`
    /// bytes of fan-out; returns the mailbox, the receiver and the shared accounting.
    pub fn new(
        socket_id: u64,
        vsn: Vsn,
        capacity: usize,
        limit_bytes: usize,
    ) -> (Mailbox, mpsc::Receiver<Queued>, Arc<Drops>) {
        let (tx, rx) = mpsc::channel(capacity);
        let drops = Arc::new(Drops {
            limit_bytes,
            ..Drops::default()
        });
        debug_assert!(!drops.stalled.load(Ordering::Relaxed));
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

    /// Queues a fan-out message without waiting; when the queue is full (bytes or messages),
    /// counts a drop for `topic`. A message alone larger than the bound still goes through
    /// an empty queue, so nothing is undeliverable.
    pub fn offer(&self, topic: &str, out: Out) -> bool {
        let cost = out.cost(self.vsn);
        if !self.drops.reserve(cost) {
            self.drops.count_drop(topic);
            return false;
        }
        match self.tx.try_send(Queued { out, cost }) {
            Ok(()) => true,
            Err(e) => {
                self.drops.queued_bytes.fetch_sub(cost, Ordering::AcqRel);
                if matches!(e, mpsc::error::TrySendError::Full(_)) {
                    self.drops.count_drop(topic);
                }
                false
            }
        }
    }

    /// Queues a change event, waiting up to `grace` for a full queue to make room (the
    /// caller is change capture: waiting holds the changes in the database's WAL, so a client
    /// that reads, however briefly behind, loses nothing). A client that makes no room within
    /// `grace` is marked stalled and loses messages (counted and reported) until it has read
    /// half its queue, so one stuck socket cannot hold capture for more than `grace`.
    pub async fn offer_patient(&self, topic: &str, out: Out, grace: Duration) -> bool {
        let cost = out.cost(self.vsn);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let notified = self.drops.space.notified();
            if self.drops.reserve(cost) {
                break;
            }
            if self.drops.stalled.load(Ordering::Acquire) || self.tx.is_closed() {
                self.drops.count_drop(topic);
                return false;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                tracing::warn!(
                    socket = self.socket_id,
                    topic,
                    "client too slow; dropping its messages until it catches up"
                );
                self.drops.stalled.store(true, Ordering::Release);
                self.drops.count_drop(topic);
                return false;
            }
        }
        match tokio::time::timeout_at(deadline, self.tx.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(Queued { out, cost });
                true
            }
            Ok(Err(_)) => {
                self.drops.queued_bytes.fetch_sub(cost, Ordering::AcqRel);
                false
            }
            Err(_) => {
                self.drops.queued_bytes.fetch_sub(cost, Ordering::AcqRel);
                self.drops.stalled.store(true, Ordering::Release);
                self.drops.count_drop(topic);
                false
            }
        }
    }

    /// Queues a direct reply, waiting for room (only this socket waits; never dropped).
    pub async fn send(&self, out: Out) -> bool {
        let cost = out.cost(self.vsn);
        self.drops.queued_bytes.fetch_add(cost, Ordering::AcqRel);
        if self.tx.send(Queued { out, cost }).await.is_ok() {
            return true;
        }
        self.drops.queued_bytes.fetch_sub(cost, Ordering::AcqRel);
        false
    }

    /// Queues a direct frame.
    pub async fn send_frame(&self, frame: Frame) -> bool {
        self.send(Out::Text(SharedFrame::new(frame))).await
    }

    /// Queues a direct frame with exact refs.
    pub async fn send_with_refs(&self, frame: Frame, refs: Refs) -> bool {
        self.send(Out::Text(SharedFrame::with_refs(frame, refs)))
            .await
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
        let (mb, mut rx, drops) = Mailbox::new(1, Vsn::V2, 8, 1 << 20);
        let f = SharedFrame::new(Frame::push("realtime:a", "x", json!({})));
        for _ in 0..8 {
            assert!(mb.offer("realtime:a", Out::Text(f.clone())));
        }
        assert!(!mb.offer("realtime:a", Out::Text(f.clone())));
        assert!(!mb.offer("realtime:a", Out::Text(f.clone())));
        assert_eq!(drops.take().unwrap()["realtime:a"], 2);
        assert!(drops.take().is_none());
        let item = rx.recv().await.unwrap();
        drops.release(&item);
        assert_eq!(f.text(Vsn::V2), r#"[null,null,"realtime:a","x",{}]"#);
        assert_eq!(drops.queued_bytes(), 7 * f.text(Vsn::V2).len());
    }

    #[tokio::test]
    async fn byte_bound_drops_and_is_given_back() {
        let blob = "x".repeat(1000);
        let f = SharedFrame::new(Frame::push("realtime:a", "x", json!({ "b": blob })));
        let size = f.text(Vsn::V1).len();
        let (mb, mut rx, drops) = Mailbox::new(1, Vsn::V1, 1000, 3 * size);
        let accepted = (0..10)
            .filter(|_| mb.offer("realtime:a", Out::Text(f.clone())))
            .count();
        assert_eq!(accepted, 3);
        assert_eq!(drops.take().unwrap()["realtime:a"], 7);
        while let Ok(item) = rx.try_recv() {
            drops.release(&item);
        }
        assert_eq!(drops.queued_bytes(), 0);
        assert!(mb.offer("realtime:a", Out::Text(f.clone())));
        // A patient offer waits for the reader, then gives up and marks the socket stalled.
        let reader = {
            let drops = drops.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let item = rx.recv().await.unwrap();
                drops.release(&item);
                rx
            })
        };
        for _ in 0..2 {
            assert!(mb.offer("realtime:a", Out::Text(f.clone())));
        }
        let grace = Duration::from_secs(5);
        assert!(
            mb.offer_patient("realtime:a", Out::Text(f.clone()), grace)
                .await
        );
        let _rx = reader.await.unwrap();
        let short = Duration::from_millis(10);
        assert!(
            !mb.offer_patient("realtime:a", Out::Text(f.clone()), short)
                .await
        );
        assert!(
            !mb.offer_patient("realtime:a", Out::Text(f.clone()), grace)
                .await
        );
        assert_eq!(drops.take().unwrap()["realtime:a"], 2);
        // One message larger than the whole bound still fits an empty queue.
        let (mb, _rx, _) = Mailbox::new(2, Vsn::V1, 10, 10);
        assert!(mb.offer("realtime:a", Out::Text(f)));
    }
}
