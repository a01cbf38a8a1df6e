//! Payloads only the app needs; the TypeScript side gets them from ts-rs, never by hand.

use serde::{Deserialize, Serialize};
use supalove_core::provisioner::LogLine;
use ts_rs::TS;

/// Every failed command rejects with this.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct CommandError {
    /// Stable kind (`docker_unavailable`, `invalid_name`, ...), for the UI to act on.
    pub kind: String,
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
            kind: e.kind().to_string(),
            message: e.to_string(),
            hint: e.hint(),
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

/// Whether the Docker engine answers, and if not what was tried and how to fix it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct DockerStatus {
    pub connected: bool,
    pub endpoint: Option<String>,
    pub tried: Vec<String>,
    pub error: Option<String>,
    pub hint: Option<String>,
}

/// Log lines sent to the UI together; `dropped` counts lines shed because the view fell behind.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct LogBatch {
    pub lines: Vec<LogLine>,
    #[ts(type = "number")]
    pub dropped: u64,
}

/// One postgres_changes binding of a tester channel.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[ts(export)]
pub struct ChangeBinding {
    /// `*`, `INSERT`, `UPDATE` or `DELETE`.
    pub event: String,
    pub schema: String,
    pub table: Option<String>,
    /// `column=op.value`, op one of eq neq lt lte gt gte in.
    pub filter: Option<String>,
}

/// A tester channel: who connects (role + claims), how (vsn) and what it listens to.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[ts(export)]
pub struct TesterChannelRequest {
    pub channel: String,
    pub role: String,
    #[ts(type = "Record<string, unknown> | null")]
    pub claims: Option<serde_json::Map<String, serde_json::Value>>,
    pub vsn: String,
    pub bindings: Vec<ChangeBinding>,
    pub broadcast_self: bool,
    pub broadcast_ack: bool,
    pub presence_key: String,
}

/// What a tester channel received, stamped on arrival.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct TesterEvent {
    /// `joined`, `postgres_changes`, `broadcast`, `presence_state`, `presence_diff`, `system`,
    /// `channel_closed`, `channel_error`, `disconnected`, `reconnected` or `error`.
    pub kind: String,
    pub received_at_ms: f64,
    /// Receive time minus `commit_timestamp` (postgres_changes only).
    pub latency_ms: Option<f64>,
    #[ts(type = "unknown")]
    pub payload: serde_json::Value,
}
