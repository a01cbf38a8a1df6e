//! The capture loop: owns the slot, polls pgoutput changes, reconnects with backoff.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio_postgres::{Client, NoTls};

use super::dispatch::Dispatcher;
use super::pgoutput;
use crate::config::{Config, DbConfig};
use crate::state::State;

/// Publication the engine captures, as the official server does.
pub const PUBLICATION: &str = "supabase_realtime";
const MAX_CHANGES_PER_POLL: i32 = 10_000;
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What health endpoints report about change capture.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CaptureStatus {
    /// The slot exists and is being read: new subscriptions will see every later commit.
    pub live: bool,
    /// A database connection is up.
    pub db_connected: bool,
    /// Last connection or decoding error, if capture is not live.
    pub last_error: Option<String>,
    /// How many times the engine reconnected after losing the database.
    pub reconnects: u64,
}

/// Opens a plain connection to the configured database.
pub async fn connect(db: &DbConfig, app: &str) -> Result<Client, tokio_postgres::Error> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&db.host)
        .port(db.port)
        .dbname(&db.name)
        .user(&db.user)
        .password(db.password.as_bytes())
        .application_name(app)
        .connect_timeout(Duration::from_secs(5));
    let (client, conn) = cfg.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "database connection ended");
        }
    });
    Ok(client)
}

/// Runs capture forever: connect, ensure the slot, poll, and on any failure back off and retry.
pub async fn run(state: Arc<State>, status: watch::Sender<CaptureStatus>) {
    let mut backoff = Duration::from_millis(200);
    let mut reconnects = 0u64;
    loop {
        let err = match session(&state, &status, reconnects).await {
            Ok(()) => return,
            Err(e) => e,
        };
        *state.db.write().unwrap_or_else(|e| e.into_inner()) = None;
        tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "change capture down; reconnecting");
        status.send_modify(|s| {
            s.live = false;
            s.db_connected = false;
            s.last_error = Some(err.clone());
        });
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        reconnects += 1;
        if status.borrow().reconnects != reconnects {
            status.send_modify(|s| s.reconnects = reconnects);
        }
    }
}

async fn session(
    state: &Arc<State>,
    status: &watch::Sender<CaptureStatus>,
    reconnects: u64,
) -> Result<(), String> {
    let cfg: &Config = &state.config;
    let mut client = connect(&cfg.db, "supalove-realtime-capture")
        .await
        .map_err(describe)?;
    let queries = connect(&cfg.db, "supalove-realtime")
        .await
        .map_err(describe)?;
    *state.db.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(queries));
    client
        .batch_execute("set timezone to 'UTC'")
        .await
        .map_err(describe)?;
    ensure_slot(&client, &cfg.slot_name, cfg.temporary_slot).await?;
    tracing::info!(slot = %cfg.slot_name, temporary = cfg.temporary_slot, reconnects, "change capture live");
    status.send_modify(|s| {
        s.live = true;
        s.db_connected = true;
        s.last_error = None;
    });
    let mut dispatcher = Dispatcher::new(cfg.mode);
    let poll = client
        .prepare(&format!(
            "select data from pg_logical_slot_get_binary_changes($1, null, $2, \
             'proto_version', '1', 'publication_names', '{PUBLICATION}')"
        ))
        .await
        .map_err(describe)?;
    loop {
        // A durable slot keeps changes until someone listens (e.g. clients reconnecting
        // after an engine restart); a temporary one is drained regardless.
        if !cfg.temporary_slot && state.subs.is_empty() {
            tokio::time::sleep(cfg.poll_interval).await;
            continue;
        }
        let rows = client
            .query(&poll, &[&cfg.slot_name, &MAX_CHANGES_PER_POLL])
            .await
            .map_err(describe)?;
        let got = rows.len();
        for row in rows {
            let data: &[u8] = row.get(0);
            match pgoutput::decode(data) {
                Ok(msg) => {
                    dispatcher
                        .handle(&mut client, msg, &state.subs)
                        .await
                        .map_err(describe)?;
                }
                Err(e) => tracing::error!(error = %e, "undecodable pgoutput message skipped"),
            }
        }
        if got == 0 {
            tokio::time::sleep(cfg.poll_interval).await;
        }
    }
}

async fn ensure_slot(client: &Client, slot: &str, temporary: bool) -> Result<(), String> {
    let existing = client
        .query_opt(
            "select temporary, active, active_pid, plugin::text from pg_replication_slots where slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(describe)?;
    if let Some(row) = existing {
        let (is_temp, active, pid, plugin): (bool, bool, Option<i32>, Option<String>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if active {
            return Err(format!(
                "replication slot `{slot}` is in use by backend pid {} (another realtime engine?)",
                pid.unwrap_or_default()
            ));
        }
        if plugin.as_deref() != Some("pgoutput") {
            return Err(format!(
                "replication slot `{slot}` uses plugin {:?}, not pgoutput; drop it or set SLOT_NAME",
                plugin.unwrap_or_default()
            ));
        }
        if temporary && !is_temp {
            tracing::warn!(
                slot,
                "TEMPORARY_SLOT=true but a durable slot exists; reusing it"
            );
        }
        return Ok(());
    }
    client
        .execute(
            "select pg_create_logical_replication_slot($1, 'pgoutput', $2)",
            &[&slot, &temporary],
        )
        .await
        .map_err(describe)?;
    Ok(())
}

/// A database error as one line, without connection secrets.
pub fn describe(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}
