//! The capture loop: owns the slot, polls pgoutput changes, reconnects with backoff.

use std::sync::Arc;
use std::time::Duration;

use backon::{
    BackoffBuilder, ConstantBackoff, ConstantBuilder, ExponentialBackoff, ExponentialBuilder,
};
use serde::Serialize;
use tokio::sync::watch;
use tokio_postgres::{Client, NoTls};

use super::dispatch::Dispatcher;
use super::pgoutput;
use super::replication::{self, ReplicationConn};
use crate::config::{Config, DbConfig};
use crate::state::State;

/// Publication the engine captures, as the official server does.
pub const PUBLICATION: &str = "supabase_realtime";
const MAX_CHANGES_PER_POLL: i32 = 10_000;
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Retry period while the database has never been reachable yet (it is starting).
const STARTUP_RETRY: Duration = Duration::from_millis(100);
/// How many brisk retries before the normal backoff (about 30 s).
const STARTUP_TRIES: u64 = 300;

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
    /// `streaming` (push) or `polling`.
    pub method: String,
}

/// First reconnect delay after capture was lost; doubles per failed try up to `MAX_BACKOFF`
/// and starts over once capture was live again.
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);

/// The reconnect policy once capture has been live (or start-up took too long): 200 ms
/// doubling to 10 s, never giving up, no jitter (one capture loop per engine).
const RECONNECT: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(INITIAL_BACKOFF)
    .with_factor(2.0)
    .with_max_delay(MAX_BACKOFF)
    .without_max_times();

/// Start-up: the database is most likely starting next to us; a try every 100 ms, about 30 s.
const STARTUP: ConstantBuilder = ConstantBuilder::new()
    .with_delay(STARTUP_RETRY)
    .with_max_times(STARTUP_TRIES as usize);

/// What capture has delivered, kept across reconnects so that a durable slot resumes exactly
/// where dispatch stopped (no change twice, none missed) and a gap can be reported.
#[derive(Debug, Default)]
pub struct Progress {
    /// Commit LSN of the last transaction fully dispatched.
    done_lsn: u64,
    /// The transaction being dispatched and how many of its changes went out.
    partial: Option<(u64, usize)>,
    /// When capture was lost after having been live, until it is live again.
    lost_at: Option<String>,
}

/// The current time as the engine writes timestamps (`2024-01-02T03:04:05.678Z`).
pub fn now_text() -> String {
    const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    pgoutput::format_commit_ts(now - PG_EPOCH_OFFSET_US)
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
    let mut retry = Retry::default();
    let mut progress = Progress::default();
    loop {
        let err = match session(&state, &status, retry.reconnects, &mut progress).await {
            Ok(()) => return,
            Err(e) => e,
        };
        let was_live = status.borrow().live;
        if was_live {
            // Remember since when changes may be lost, until capture is live again.
            progress.lost_at.get_or_insert_with(now_text);
        }
        *state.db.write().unwrap_or_else(|e| e.into_inner()) = None;
        let (delay, starting) = retry.after_failure(was_live);
        if !starting {
            tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "change capture down; reconnecting");
        } else if retry.reconnects == 0 {
            tracing::info!(error = %err, "waiting for the database to accept connections");
        } else {
            tracing::debug!(error = %err, "database not ready yet");
        }
        status.send_modify(|s| {
            s.live = false;
            s.db_connected = false;
            s.last_error = Some(err.clone());
        });
        tokio::time::sleep(delay).await;
        retry.reconnects += 1;
        if status.borrow().reconnects != retry.reconnects {
            status.send_modify(|s| s.reconnects = retry.reconnects);
        }
    }
}

/// The reconnect policy. Until capture was live once, the database is most likely still
/// starting next to us (the engine and Postgres start together in a project's stack): retry
/// briskly then (`STARTUP`), so capture goes live within ~100 ms of the database. After that,
/// `RECONNECT`'s exponential backoff, started over each time capture had been live again.
#[derive(Debug)]
struct Retry {
    startup: Option<ConstantBackoff>,
    backoff: ExponentialBackoff,
    reconnects: u64,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            startup: Some(STARTUP.build()),
            backoff: RECONNECT.build(),
            reconnects: 0,
        }
    }
}

impl Retry {
    /// The delay before the next try after a failed session, and whether we are still in
    /// the start-up phase.
    fn after_failure(&mut self, was_live: bool) -> (Duration, bool) {
        if was_live {
            self.startup = None;
            self.backoff = RECONNECT.build();
        }
        if let Some(delay) = self.startup.as_mut().and_then(Iterator::next) {
            return (delay, true);
        }
        self.startup = None;
        (self.backoff.next().unwrap_or(MAX_BACKOFF), false)
    }
}

async fn session(
    state: &Arc<State>,
    status: &watch::Sender<CaptureStatus>,
    reconnects: u64,
    progress: &mut Progress,
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
    if let Err(e) = crate::authz::ensure_schema(&client).await {
        tracing::warn!(error = %e, "cannot create realtime.messages; private channels will be refused");
    }
    if cfg.streaming {
        match stream(state, status, &mut client, reconnects, progress).await {
            Err(Failure::Setup(why)) => {
                tracing::warn!(error = %why, poll_ms = cfg.poll_interval.as_millis() as u64,
                    "streaming replication unavailable; polling the slot instead");
            }
            Err(Failure::Lost(why)) => return Err(why),
            Ok(()) => return Ok(()),
        }
    }
    poll(state, status, &mut client, reconnects, progress).await
}

enum Failure {
    /// Streaming could not start (e.g. no replication entry in pg_hba.conf): poll instead.
    Setup(String),
    /// Streaming ran and broke: reconnect.
    Lost(String),
}

async fn go_live(
    state: &State,
    status: &watch::Sender<CaptureStatus>,
    how: &str,
    reconnects: u64,
    created_slot: bool,
    progress: &mut Progress,
) {
    let cfg = &state.config;
    tracing::info!(slot = %cfg.slot_name, temporary = cfg.temporary_slot, how, reconnects, "change capture live");
    status.send_modify(|s| {
        s.live = true;
        s.db_connected = true;
        s.last_error = None;
        s.method = how.to_string();
    });
    let Some(since) = progress.lost_at.take() else {
        return;
    };
    if created_slot {
        let until = now_text();
        tracing::warn!(
            since,
            until,
            "replication slot created again; changes in between may be missed"
        );
        tell_gap(state, &since, &until).await;
    } else {
        tracing::info!(since, "resumed from the durable slot; no change missed");
    }
}

/// Tells every channel with postgres_changes that changes committed between `since` and
/// `until` may not have reached it (the slot that held them was gone).
async fn tell_gap(state: &State, since: &str, until: &str) {
    let hint = if state.config.temporary_slot {
        "the connection to the database was lost and the temporary replication slot was created \
         again; set TEMPORARY_SLOT=false to resume without loss"
    } else {
        "the replication slot was gone and had to be created again"
    };
    let message =
        format!("Changes committed between {since} and {until} may have been missed: {hint}");
    for ch in state.subs.snapshot() {
        let frame = supalove_phoenix::Frame::push(
            ch.topic.clone(),
            "system",
            serde_json::json!({
                "extension": "postgres_changes",
                "status": "error",
                "message": message,
                "channel": ch.topic.strip_prefix("realtime:").unwrap_or(&ch.topic),
            }),
        );
        let refs = supalove_phoenix::Refs {
            join_ref: ch.join_ref.clone(),
            msg_ref: serde_json::Value::Null,
        };
        let out = crate::outbound::Out::Text(crate::outbound::SharedFrame::with_refs(frame, refs));
        ch.mailbox
            .offer_patient(&ch.topic, out, super::dispatch::SLOW_CLIENT_GRACE)
            .await;
    }
}

/// Durable slots keep changes until someone listens (e.g. clients reconnecting after an
/// engine restart); temporary ones are drained regardless.
async fn wait_for_listeners(state: &State) {
    while !state.config.temporary_slot && state.subs.is_empty() {
        tokio::time::sleep(state.config.poll_interval).await;
    }
}

async fn stream(
    state: &Arc<State>,
    status: &watch::Sender<CaptureStatus>,
    client: &mut Client,
    reconnects: u64,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let cfg = &state.config;
    let mut repl = ReplicationConn::connect(&cfg.db)
        .await
        .map_err(|e| Failure::Setup(e.to_string()))?;
    let created = !slot_exists(client, &cfg.slot_name, cfg.temporary_slot)
        .await
        .map_err(Failure::Lost)?;
    if created {
        let temp = if cfg.temporary_slot { "TEMPORARY " } else { "" };
        repl.command(&format!(
            "CREATE_REPLICATION_SLOT \"{}\" {temp}LOGICAL pgoutput NOEXPORT_SNAPSHOT",
            cfg.slot_name
        ))
        .await
        .map_err(|e| Failure::Setup(e.to_string()))?;
    }
    go_live(state, status, "streaming", reconnects, created, progress).await;
    wait_for_listeners(state).await;
    repl.start(&cfg.slot_name, PUBLICATION)
        .await
        .map_err(|e| Failure::Lost(e.to_string()))?;
    let mut dispatcher = Dispatcher::new(cfg.mode);
    let mut confirmed = 0u64;
    let mut processed = 0u64;
    let mut in_tx = false;
    let mut tx = TxCursor::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let frame = tokio::select! {
            f = repl.next_frame() => f.map_err(|e| Failure::Lost(e.to_string()))?,
            _ = tick.tick() => {
                if processed != confirmed {
                    repl.confirm(processed).await.map_err(|e| Failure::Lost(e.to_string()))?;
                    confirmed = processed;
                }
                continue;
            }
        };
        match frame {
            replication::Frame::XLogData { wal_start, data } => match pgoutput::decode(&data) {
                Ok(msg) => {
                    match msg {
                        pgoutput::Message::Begin { .. } => in_tx = true,
                        pgoutput::Message::Commit { .. } => in_tx = false,
                        _ => {}
                    }
                    let commit = !in_tx;
                    if tx.admit(&msg, progress) {
                        let change = is_change(&msg);
                        dispatcher
                            .handle(client, msg, &state.subs)
                            .await
                            .map_err(|e| Failure::Lost(describe(e)))?;
                        if change {
                            progress.partial = Some((tx.lsn, tx.changes));
                        }
                    }
                    if commit {
                        progress.done_lsn = progress.done_lsn.max(tx.lsn);
                        progress.partial = None;
                        processed = processed.max(wal_start);
                    }
                }
                Err(e) => tracing::error!(error = %e, "undecodable pgoutput message skipped"),
            },
            replication::Frame::Keepalive { wal_end, reply } => {
                // Between transactions everything sent so far is handled: confirm it all, or
                // the server would wait for us at shutdown and keep WAL it could recycle.
                if !in_tx {
                    processed = processed.max(wal_end);
                }
                if reply {
                    repl.confirm(processed)
                        .await
                        .map_err(|e| Failure::Lost(e.to_string()))?;
                    confirmed = processed;
                }
            }
        }
    }
}

async fn poll(
    state: &Arc<State>,
    status: &watch::Sender<CaptureStatus>,
    client: &mut Client,
    reconnects: u64,
    progress: &mut Progress,
) -> Result<(), String> {
    let cfg = &state.config;
    let created = !slot_exists(client, &cfg.slot_name, cfg.temporary_slot).await?;
    if created {
        client
            .execute(
                "select pg_create_logical_replication_slot($1, 'pgoutput', $2)",
                &[&cfg.slot_name, &cfg.temporary_slot],
            )
            .await
            .map_err(describe)?;
    }
    go_live(state, status, "polling", reconnects, created, progress).await;
    let mut dispatcher = Dispatcher::new(cfg.mode);
    let poll = client
        .prepare(&format!(
            "select data from pg_logical_slot_get_binary_changes($1, null, $2, \
             'proto_version', '1', 'publication_names', '{PUBLICATION}')"
        ))
        .await
        .map_err(describe)?;
    loop {
        wait_for_listeners(state).await;
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
                        .handle(client, msg, &state.subs)
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

fn is_change(msg: &pgoutput::Message) -> bool {
    matches!(
        msg,
        pgoutput::Message::Insert { .. }
            | pgoutput::Message::Update { .. }
            | pgoutput::Message::Delete { .. }
    )
}

/// Position inside the transaction being streamed, to skip what a previous connection
/// already dispatched when a durable slot sends it again.
#[derive(Debug, Default)]
struct TxCursor {
    lsn: u64,
    changes: usize,
    skip: usize,
}

impl TxCursor {
    /// Whether `msg` must be dispatched (false for changes delivered before a reconnect).
    fn admit(&mut self, msg: &pgoutput::Message, progress: &Progress) -> bool {
        match msg {
            pgoutput::Message::Begin { final_lsn, .. } => {
                self.lsn = *final_lsn;
                self.changes = 0;
                self.skip = if *final_lsn <= progress.done_lsn {
                    usize::MAX
                } else {
                    match progress.partial {
                        Some((lsn, n)) if lsn == *final_lsn => n,
                        _ => 0,
                    }
                };
                true
            }
            m if is_change(m) => {
                self.changes += 1;
                self.changes > self.skip
            }
            _ => true,
        }
    }
}

/// Whether the slot exists (and may be reused); errors if it is busy or not pgoutput.
async fn slot_exists(client: &Client, slot: &str, temporary: bool) -> Result<bool, String> {
    let existing = client
        .query_opt(
            "select temporary, active, active_pid, plugin::text from pg_replication_slots where slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(describe)?;
    let Some(row) = existing else {
        return Ok(false);
    };
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
    Ok(true)
}

/// A database error as one line, without connection secrets.
pub fn describe(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_over_after_each_live_period() {
        let mut r = Retry::default();
        // Start-up: brisk retries while the database was never reachable.
        assert_eq!(r.after_failure(false), (STARTUP_RETRY, true));
        // Three outages, each after capture was live again: the same short first delays.
        for _ in 0..3 {
            let delays: Vec<Duration> = [true, false, false]
                .iter()
                .map(|live| r.after_failure(*live).0)
                .collect();
            let want = [INITIAL_BACKOFF, INITIAL_BACKOFF * 2, INITIAL_BACKOFF * 4];
            for (got, want) in delays.iter().zip(want) {
                // backon multiplies in f32: the same delays within a microsecond.
                assert!(got.abs_diff(want) < Duration::from_micros(1), "{delays:?}");
            }
        }
        for _ in 0..20 {
            r.after_failure(false);
        }
        assert_eq!(r.after_failure(false).0, MAX_BACKOFF);
    }

    #[test]
    fn start_up_retries_briskly_for_about_30_s_then_backs_off() {
        let mut r = Retry::default();
        let brisk: Vec<(Duration, bool)> =
            (0..STARTUP_TRIES).map(|_| r.after_failure(false)).collect();
        assert!(brisk.iter().all(|d| *d == (STARTUP_RETRY, true)));
        assert_eq!(r.after_failure(false), (INITIAL_BACKOFF, false));
    }
}
