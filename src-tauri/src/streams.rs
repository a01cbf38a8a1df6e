//! Forwarding engine streams to the UI: batched, bounded, cancellable.

use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use supalove_core::provisioner::{LogLine, StatusEvent};
use tauri::ipc::Channel;

use crate::dto::LogBatch;

/// Lines per batch at most; the UI renders one batch per frame or so.
pub const MAX_BATCH: usize = 5_000;
/// Lines held while the UI is behind; older ones are shed (and counted) beyond this.
pub const MAX_PENDING: usize = 50_000;
/// How often a partial batch goes out.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Sends log lines in batches until the stream ends, the view goes away or it is cancelled.
pub async fn forward_logs(
    mut lines: BoxStream<'static, supalove_core::Result<LogLine>>,
    channel: Channel<LogBatch>,
) {
    let mut pending: std::collections::VecDeque<LogLine> = std::collections::VecDeque::new();
    let mut dropped: u64 = 0;
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut open = true;
    loop {
        tokio::select! {
            next = lines.next(), if open => match next {
                Some(Ok(line)) => {
                    pending.push_back(line);
                    if pending.len() > MAX_PENDING {
                        pending.pop_front();
                        dropped += 1;
                    }
                }
                Some(Err(_)) | None => open = false,
            },
            _ = tick.tick() => {
                while !pending.is_empty() || dropped > 0 {
                    let n = pending.len().min(MAX_BATCH);
                    let batch = LogBatch { lines: pending.drain(..n).collect(), dropped };
                    dropped = 0;
                    if channel.send(batch).is_err() {
                        return; // the view is gone
                    }
                    if pending.len() < MAX_BATCH {
                        break;
                    }
                }
                if !open && pending.is_empty() {
                    return;
                }
            }
        }
    }
}

/// Sends each status event as it happens.
pub async fn forward_events(
    mut events: BoxStream<'static, supalove_core::Result<StatusEvent>>,
    channel: Channel<StatusEvent>,
) {
    while let Some(Ok(ev)) = events.next().await {
        if channel.send(ev).is_err() {
            return;
        }
    }
}
