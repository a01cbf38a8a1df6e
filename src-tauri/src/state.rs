//! The one app-state struct handed to Tauri: the core (built from the settings; it reaches
//! Docker lazily and reconnects by itself) and the live streams, so closing a view can cancel
//! its stream.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use supalove_core::Supalove;
use supalove_docker::LocalDocker;
use tokio::task::AbortHandle;

use crate::dto::CommandError;

/// supalove as the app uses it.
pub type App = Supalove<LocalDocker>;

/// Everything the commands share.
pub struct AppState {
    /// When the app started, for the first-paint measurement.
    pub started: std::time::Instant,
    app: tokio::sync::Mutex<Option<Arc<App>>>,
    streams: Mutex<HashMap<u32, AbortHandle>>,
    next_stream: AtomicU32,
    /// The subscription tester's open channels.
    pub testers: crate::tester::Testers,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            started: std::time::Instant::now(),
            app: tokio::sync::Mutex::new(None),
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU32::new(0),
            testers: crate::tester::Testers::default(),
        }
    }
}

impl AppState {
    /// The core, built from the settings on first use (and after they changed).
    pub async fn app(&self) -> Result<Arc<App>, CommandError> {
        let mut slot = self.app.lock().await;
        if let Some(app) = slot.as_ref() {
            return Ok(Arc::clone(app));
        }
        let app = Arc::new(supalove_docker::open()?);
        *slot = Some(Arc::clone(&app));
        Ok(app)
    }

    /// Rebuilds the core from the settings on next use (they changed).
    pub async fn reload(&self) {
        *self.app.lock().await = None;
    }

    /// Runs a core call.
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T, CommandError>
    where
        F: FnOnce(Arc<App>) -> Fut,
        Fut: Future<Output = supalove_core::Result<T>>,
    {
        let app = self.app().await?;
        Ok(f(app).await?)
    }

    /// A fresh id for a stream or tester channel.
    pub fn next_id(&self) -> u32 {
        self.next_stream.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Starts a background stream and returns the id that cancels it.
    pub fn spawn_stream<F>(self: &Arc<Self>, work: F) -> u32
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let id = self.next_id();
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            work.await;
            me.streams.lock().expect("streams lock").remove(&id);
        });
        self.streams
            .lock()
            .expect("streams lock")
            .insert(id, task.abort_handle());
        id
    }

    /// Cancels a stream; true when it was running.
    pub fn close_stream(&self, id: u32) -> bool {
        match self.streams.lock().expect("streams lock").remove(&id) {
            Some(handle) => {
                handle.abort();
                true
            }
            None => false,
        }
    }

    /// How many streams are live (for tests and diagnostics).
    pub fn live_streams(&self) -> usize {
        self.streams.lock().expect("streams lock").len()
    }
}
