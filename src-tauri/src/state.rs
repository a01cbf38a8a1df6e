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

use crate::dto::{CommandError, LocalApiStatus};

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
    /// The control-plane HTTP API, when the user started it from Settings.
    local_api: tokio::sync::Mutex<Option<LocalApi>>,
}

/// A control-plane server the app runs (Settings → Local API).
struct LocalApi {
    port: u16,
    url: String,
    task: AbortHandle,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            started: std::time::Instant::now(),
            app: tokio::sync::Mutex::new(None),
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU32::new(0),
            testers: crate::tester::Testers::default(),
            local_api: tokio::sync::Mutex::new(None),
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

    /// Whether the app's control-plane server runs, and where.
    pub async fn local_api_status(&self) -> LocalApiStatus {
        let mut slot = self.local_api.lock().await;
        if slot.as_ref().is_some_and(|api| api.task.is_finished()) {
            *slot = None;
        }
        match slot.as_ref() {
            Some(api) => LocalApiStatus {
                running: true,
                url: Some(api.url.clone()),
                port: api.port,
            },
            None => LocalApiStatus {
                running: false,
                url: None,
                port: supalove_api::DEFAULT_PORT,
            },
        }
    }

    /// Serves the control plane on 127.0.0.1:`port` over this app's core (the same server as
    /// `supalove serve`); a taken port is refused naming its owner. Starting twice keeps the
    /// running server.
    pub async fn start_local_api(&self, port: u16) -> Result<LocalApiStatus, CommandError> {
        {
            let slot = self.local_api.lock().await;
            if slot.as_ref().is_some_and(|api| !api.task.is_finished()) {
                drop(slot);
                return Ok(self.local_api_status().await);
            }
        }
        let app = self.app().await?;
        let options = supalove_api::ServeOptions {
            port,
            allowed_origins: Vec::new(),
        };
        let server = supalove_api::bind(app, options).await?;
        let (port, url) = (server.port(), server.url());
        let task = tokio::spawn(async move {
            if let Err(e) = server.run().await {
                eprintln!("supalove: the local API stopped: {e}");
            }
        });
        *self.local_api.lock().await = Some(LocalApi {
            port,
            url,
            task: task.abort_handle(),
        });
        Ok(self.local_api_status().await)
    }

    /// Stops the app's control-plane server (a no-op when it is not running).
    pub async fn stop_local_api(&self) -> LocalApiStatus {
        if let Some(api) = self.local_api.lock().await.take() {
            api.task.abort();
        }
        self.local_api_status().await
    }
}
