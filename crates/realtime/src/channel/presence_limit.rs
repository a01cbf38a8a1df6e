//! The client presence rate limit of one channel.

use std::time::Duration;

use tokio::time::Instant;

/// The official per-channel client presence limit: at most `max_calls` presence pushes with an
/// `event` per window of `window_ms`, the window starting at the first push after the previous
/// one ended (R:lib/realtime_web/channels/realtime_channel/presence_handler.ex:215-237).
#[derive(Debug, Default)]
pub(super) struct PresenceWindow {
    counter: u32,
    reset_at: Option<Instant>,
}

impl PresenceWindow {
    /// Counts one push at `now`; `false` when it is over the limit.
    pub(super) fn admit(&mut self, now: Instant, max_calls: u32, window: Duration) -> bool {
        match self.reset_at {
            Some(at) if now <= at => {
                if self.counter >= max_calls {
                    return false;
                }
                self.counter += 1;
            }
            _ => {
                self.counter = 1;
                self.reset_at = Some(now + window);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_per_window_then_refused_until_the_window_ends() {
        let window = Duration::from_millis(30_000);
        let t0 = Instant::now();
        let mut w = PresenceWindow::default();
        for i in 0..5 {
            assert!(
                w.admit(t0 + Duration::from_millis(i), 5, window),
                "call {i}"
            );
        }
        assert!(!w.admit(t0 + Duration::from_millis(10), 5, window));
        assert!(!w.admit(t0 + window, 5, window));
        // The window started at the first call; past its end a new one starts.
        assert!(w.admit(t0 + window + Duration::from_millis(1), 5, window));
        assert_eq!(w.counter, 1);
    }
}
