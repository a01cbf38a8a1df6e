//! Payloads only the app needs; the TypeScript side gets them from ts-rs, never by hand.

use serde::{Deserialize, Serialize};
use supalove_core::provisioner::LogLine;
use supalove_core::{ErrorKind, Shell};
use ts_rs::TS;

/// Every failed command rejects with this.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct CommandError {
    /// Stable kind (`docker_unavailable`, `invalid_name`, ...), for the UI to act on.
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    /// The failing service's last log lines, when a service did not become ready.
    pub last_logs: Vec<String>,
}

impl From<supalove_core::Error> for CommandError {
    fn from(e: supalove_core::Error) -> Self {
        let last_logs = match &e {
            supalove_core::Error::NotReady { last_logs, .. } => last_logs.clone(),
            _ => Vec::new(),
        };
        CommandError {
            kind: e.kind(),
            message: e.to_string(),
            hint: e.hint_for(Shell::App),
            last_logs,
        }
    }
}

/// The "New project" form.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct CreateProjectRequest {
    pub name: String,
    pub db_port: Option<u16>,
    pub realtime_port: Option<u16>,
    /// `native` or `supabase`; the settings' default when absent.
    #[serde(default)]
    pub engine: Option<supalove_core::registry::RealtimeEngine>,
}

/// Whether a name can be used, checked as the person types.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct NameCheck {
    pub ok: bool,
    pub message: Option<String>,
}

/// Log lines sent to the UI together; `dropped` counts lines shed because the view fell behind.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct LogBatch {
    pub lines: Vec<LogLine>,
    #[ts(type = "number")]
    pub dropped: u64,
}

/// Settings → Local API: the control-plane server the app can run.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct LocalApiStatus {
    pub running: bool,
    /// `http://127.0.0.1:<port>` while running.
    pub url: Option<String>,
    /// The port it listens on, or the default it would take.
    pub port: u16,
}
