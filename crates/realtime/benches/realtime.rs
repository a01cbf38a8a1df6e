//! Benchmark: runs the release engine as a process against a throwaway Postgres and prints a
//! table of commit→client latency (Rust client and the official Python client), sustained
//! changes/s, no-loss burst throughput, fan-out latency and RSS. It prints figures and never
//! asserts on wall-clock time.
//!
//! `cargo bench -p supalove-realtime --bench realtime` (needs postgresql-15, see testkit). The
//! Python row needs the venv scripts/test-realtime.sh creates (or `BENCH_PYTHON`); without it
//! the row says it was skipped.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use supalove_realtime::testkit::{free_port, PgCluster};
use support::{token, Client, Incoming, SECRET};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

const LATENCY_ROWS: usize = 5_000;
const FANOUT_CLIENTS: usize = 1_000;
const FANOUT_ROWS: usize = 20;
const IDLE_SOCKETS: usize = 10_000;
const PY_ROWS: usize = 5_000;
const BURST_ROWS: i64 = 100_000;
/// Rounds of insert → update → delete, each change its own transaction (10,002 changes).
const MIXED_ROUNDS: i64 = 3_334;
/// The venv of the Python compatibility suite (scripts/test-realtime.sh).
const PY_VENV: &str = "supalove/realtime-py-2.34.1";

struct Engine {
    child: Child,
    port: u16,
}

impl Engine {
    async fn start(pg: &PgCluster, poll_ms: u64) -> Engine {
        Engine::start_as(pg, poll_ms, "STREAM", "supabase_realtime_replication_slot").await
    }

    async fn start_as(pg: &PgCluster, poll_ms: u64, mode: &str, slot: &str) -> Engine {
        let port = free_port().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_supalove-realtime"))
            .env("PORT", port.to_string())
            .env("DB_HOST", "127.0.0.1")
            .env("DB_PORT", pg.port.to_string())
            .env("DB_NAME", "postgres")
            .env("DB_USER", "postgres")
            .env("DB_PASSWORD", "unused")
            .env("JWT_SECRET", SECRET)
            .env("REPLICATION_MODE", mode)
            .env("SLOT_NAME", slot)
            .env("REPLICATION_POLL_INTERVAL", poll_ms.to_string())
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn engine (cargo builds it for benches)");
        let e = Engine { child, port };
        loop {
            if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                drop(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        e
    }

    fn rss_mb(&self) -> f64 {
        let pid = self.child.id().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        kb / 1024.0
    }

    async fn client(&self) -> Client {
        self.client_with(&token("service_role")).await
    }

    async fn client_with(&self, jwt: &str) -> Client {
        support::connect_raw(
            format!("127.0.0.1:{}", self.port).parse().unwrap(),
            "/socket/websocket",
            &format!("apikey={jwt}&vsn=2.0.0"),
        )
        .await
        .expect("connect")
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Reads postgres_changes and reports (seq, arrival) for each row.
fn spawn_reader(mut c: Client, topic: &'static str, tx: mpsc::UnboundedSender<(i64, Instant)>) {
    tokio::spawn(async move {
        while let Some(m) = c.next_unguarded().await {
            if let Incoming::Text(f) = m {
                if f.topic == topic && f.event == "postgres_changes" {
                    let seq = f.payload["data"]["record"]["seq"].as_i64().unwrap_or(-1);
                    if tx.send((seq, Instant::now())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

async fn subscribed(e: &Engine, topic: &'static str, table: &str) -> Client {
    let mut c = e.client().await;
    c.subscribe(
        topic,
        json!([{"event": "INSERT", "schema": "public", "table": table}]),
    )
    .await;
    c
}

/// The Python of the compatibility suite's venv, if it has the `realtime` package.
async fn python() -> Result<PathBuf, String> {
    let py = match std::env::var_os("BENCH_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .ok_or("neither XDG_CACHE_HOME nor HOME is set")?
            .join(PY_VENV)
            .join("bin/python"),
    };
    let ok = Command::new(&py)
        .args(["-c", "import realtime"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if ok {
        Ok(py)
    } else {
        Err(format!(
            "no Python with `realtime` at {} (run scripts/test-realtime.sh once, or set BENCH_PYTHON)",
            py.display()
        ))
    }
}

/// Runs benches/py_latency.py against `e` while inserting PY_ROWS rows at 1,000/s.
async fn python_latency(e: &Engine, db: &tokio_postgres::Client) -> (String, String, String) {
    let measure = "commit→Python client p50/p95/p99 @1k/s".to_string();
    let goal = "(realtime-py 2.34.1, vsn 1.0.0)".to_string();
    let py = match python().await {
        Ok(py) => py,
        Err(why) => {
            println!("skipping the Python client latency: {why}");
            return (measure, "skipped: no venv".into(), goal);
        }
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/py_latency.py");
    let mut child = Command::new(py)
        .arg(script)
        .env("REALTIME_URL", format!("ws://127.0.0.1:{}/socket", e.port))
        .env("TOKEN", token("service_role"))
        .env("TABLE", "bench_py")
        .env("ROWS", PY_ROWS.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
    if !matches!(&ready, Ok(Ok(Some(l))) if l == "ready") {
        println!("the Python client did not subscribe: {ready:?}");
        return (measure, "failed: not subscribed".into(), goal);
    }
    let stmt = db
        .prepare("insert into bench_py (seq, sent_us) values ($1, $2)")
        .await
        .unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for seq in 0..PY_ROWS as i64 {
        tick.tick().await;
        let sent_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64;
        db.execute(&stmt, &[&seq, &sent_us]).await.unwrap();
    }
    let report = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
    let _ = child.wait().await;
    let Ok(Ok(Some(line))) = report else {
        return (measure, format!("failed: {report:?}"), goal);
    };
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
    let ms = |k: &str| v[k].as_f64().map_or("-".to_string(), |x| format!("{x:.2}"));
    (
        measure,
        format!(
            "{}/{}/{} ms ({} events, {} lost, {} reordered)",
            ms("p50"),
            ms("p95"),
            ms("p99"),
            v["events"],
            v["lost"],
            v["reordered"]
        ),
        goal,
    )
}

/// Reads postgres_changes and reports (type, id, arrival) for each change.
fn spawn_change_reader(
    mut c: Client,
    topic: &'static str,
    tx: mpsc::UnboundedSender<(String, i64, Instant)>,
) {
    tokio::spawn(async move {
        while let Some(m) = c.next_unguarded().await {
            if let Incoming::Text(f) = m {
                if f.topic == topic && f.event == "postgres_changes" {
                    let d = &f.payload["data"];
                    let kind = d["type"].as_str().unwrap_or_default().to_string();
                    let rec = if kind == "DELETE" {
                        &d["old_record"]
                    } else {
                        &d["record"]
                    };
                    let id = rec["seq"].as_i64().or(rec["id"].as_i64()).unwrap_or(-1);
                    if tx.send((kind, id, Instant::now())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Runs `write` and collects the changes of `expected` (in commit order) from `rx`; the result
/// row gives events/s from the start of the write to the last event, lost and reordered counts.
async fn burst(
    measure: String,
    rx: &mut mpsc::UnboundedReceiver<(String, i64, Instant)>,
    expected: Vec<(String, i64)>,
    write: impl std::future::Future<Output = ()>,
) -> (String, String, String) {
    let index: HashMap<(String, i64), usize> = expected
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    let start = Instant::now();
    write.await;
    let committed = start.elapsed();
    let (mut seen, mut order, mut unexpected, mut last) =
        (vec![0u32; expected.len()], Vec::new(), 0usize, start);
    while order.len() + unexpected < expected.len() {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some((kind, id, at))) => {
                last = at;
                match index.get(&(kind, id)) {
                    Some(&i) => {
                        seen[i] += 1;
                        order.push(i);
                    }
                    None => unexpected += 1,
                }
            }
            _ => break,
        }
    }
    let lost = seen.iter().filter(|&&n| n == 0).count();
    let repeated: u32 = seen.iter().map(|&n| n.saturating_sub(1)).sum();
    let reordered = order.windows(2).filter(|w| w[1] < w[0]).count();
    let secs = (last - start).as_secs_f64();
    (
        measure,
        format!(
            "{:.0} ev/s ({} in {secs:.2} s, commit {:.2} s)",
            order.len() as f64 / secs,
            order.len(),
            committed.as_secs_f64()
        ),
        format!("lost {lost}, reordered {reordered}, repeated {repeated}, unexpected {unexpected} (all 0)"),
    )
}

/// 100,000 rows in one commit, then 10,002 mixed changes each in its own transaction.
async fn bursts(
    e: &Engine,
    db: &tokio_postgres::Client,
    mode: &str,
) -> Vec<(String, String, String)> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut c = e.client().await;
    c.subscribe(
        "realtime:burst",
        json!([
            {"event": "*", "schema": "public", "table": "bench_burst"},
            {"event": "*", "schema": "public", "table": "bench_mixed"}
        ]),
    )
    .await;
    spawn_change_reader(c, "realtime:burst", tx);
    let mut rows = Vec::new();
    rows.push(
        burst(
            format!("burst {BURST_ROWS} rows, one commit ({mode})"),
            &mut rx,
            (0..BURST_ROWS).map(|i| ("INSERT".to_string(), i)).collect(),
            async {
                db.execute(
                    "insert into bench_burst (seq) select g from generate_series(0, $1::bigint - 1) g",
                    &[&BURST_ROWS],
                )
                .await
                .unwrap();
            },
        )
        .await,
    );
    let expected = (1..=MIXED_ROUNDS)
        .flat_map(|i| ["INSERT", "UPDATE", "DELETE"].map(|k| (k.to_string(), i)))
        .collect::<Vec<_>>();
    rows.push(
        burst(
            format!("burst {} mixed I/U/D, tight txns ({mode})", expected.len()),
            &mut rx,
            expected,
            async {
                db.batch_execute(&format!(
                    "do $$ begin for i in 1..{MIXED_ROUNDS} loop \
                       insert into bench_mixed values (i, 0); commit; \
                       update bench_mixed set v = 1 where id = i; commit; \
                       delete from bench_mixed where id = i; commit; \
                     end loop; end $$"
                ))
                .await
                .unwrap();
            },
        )
        .await,
    );
    rows
}

#[tokio::main]
async fn main() {
    let pg = support::cluster().await;
    support::sql(
        &pg,
        "create table bench_rows (id bigserial primary key, seq bigint, payload text); \
        create table bench_fan (id bigserial primary key, seq bigint); \
        create table bench_py (id bigserial primary key, seq bigint, sent_us bigint); \
        create table bench_burst (id bigserial primary key, seq bigint); \
        create table bench_mixed (id int primary key, v int); \
        alter publication supabase_realtime add table bench_rows, bench_fan, bench_py, \
          bench_burst, bench_mixed",
    )
    .await;
    let poll_ms = std::env::var("BENCH_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let e = Engine::start(&pg, poll_ms).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = e.rss_mb();
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // 1. Commit → client latency at 1,000 changes/s.
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_reader(
        subscribed(&e, "realtime:lat", "bench_rows").await,
        "realtime:lat",
        tx,
    );
    let db = Arc::new(pg.client().await.unwrap());
    let mut sent = vec![Instant::now(); LATENCY_ROWS];
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let stmt = db
        .prepare("insert into bench_rows (seq) values ($1)")
        .await
        .unwrap();
    for (seq, slot) in sent.iter_mut().enumerate() {
        tick.tick().await;
        *slot = Instant::now();
        db.execute(&stmt, &[&(seq as i64)]).await.unwrap();
    }
    let mut lat = Vec::with_capacity(LATENCY_ROWS);
    while lat.len() < LATENCY_ROWS {
        let (seq, at) = rx.recv().await.unwrap();
        lat.push(at - sent[seq as usize]);
    }
    lat.sort();
    rows.push((
        "commit→client latency p50 @1k/s".into(),
        format!("{:.2} ms", pct(&lat, 0.5)),
        "≤ 5 ms".into(),
    ));
    rows.push((
        "commit→client latency p95 @1k/s".into(),
        format!("{:.2} ms", pct(&lat, 0.95)),
        "".into(),
    ));
    rows.push((
        "commit→client latency p99 @1k/s".into(),
        format!("{:.2} ms", pct(&lat, 0.99)),
        "≤ 25 ms".into(),
    ));
    drop(rx);

    // 2. Highest sustained changes/s with one subscriber and no loss: step the offered rate
    //    up (batches every 10 ms for 3 s) until the subscriber misses something.
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_reader(
        subscribed(&e, "realtime:tp", "bench_rows").await,
        "realtime:tp",
        tx,
    );
    let mut best = 0u64;
    let mut first_loss = None;
    let mut base = 1_000_000i64;
    for rate in [10_000u64, 20_000, 30_000, 40_000, 60_000, 80_000, 120_000] {
        let per_tick = (rate / 100) as i64;
        let ticks = 300;
        let expected = per_tick * ticks;
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                for i in 0..ticks {
                    tick.tick().await;
                    let from = base + i * per_tick;
                    db.execute(
                        "insert into bench_rows (seq) select g from generate_series($1::bigint, $2::bigint) g",
                        &[&from, &(from + per_tick - 1)],
                    )
                    .await
                    .unwrap();
                }
            })
        };
        let mut got = 0i64;
        while got < expected {
            match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
                Ok(Some((seq, _))) if seq >= base && seq < base + expected => got += 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        let lagged = writer.await.is_err();
        base += expected;
        if got == expected && !lagged {
            best = rate;
        } else {
            first_loss = Some((rate, expected - got));
            break;
        }
    }
    let loss = first_loss.map_or("no loss up to 120,000/s".to_string(), |(r, n)| {
        format!("loss from {r}/s ({n} dropped)")
    });
    rows.push((
        "sustained changes/s, 1 subscriber, no loss".into(),
        format!("{best} ({loss})"),
        "≥ 20,000".into(),
    ));
    drop(rx);

    // 2b. Commit → event latency through the official Python client at 1,000 inserts/s.
    rows.push(python_latency(&e, &db).await);

    // 2c. No-loss bursts to a service_role subscriber on tables without RLS (again in RLS
    //     mode at the end, when no other engine competes for the CPU).
    rows.extend(bursts(&e, &db, "STREAM").await);

    // 3. One change fanned out to 1,000 subscribers.
    let (tx, mut rx) = mpsc::unbounded_channel();
    for _ in 0..FANOUT_CLIENTS {
        spawn_reader(
            subscribed(&e, "realtime:fan", "bench_fan").await,
            "realtime:fan",
            tx.clone(),
        );
    }
    drop(tx);
    let mut fan = Vec::new();
    for seq in 0..FANOUT_ROWS {
        let at = Instant::now();
        db.execute("insert into bench_fan (seq) values ($1)", &[&(seq as i64)])
            .await
            .unwrap();
        for _ in 0..FANOUT_CLIENTS {
            let (_, got_at) = rx.recv().await.unwrap();
            fan.push(got_at - at);
        }
    }
    fan.sort();
    rows.push((
        "fan-out to 1,000 subscribers p99".into(),
        format!("{:.2} ms (p50 {:.2})", pct(&fan, 0.99), pct(&fan, 0.5)),
        "≤ 50 ms".into(),
    ));
    drop(rx);

    // 3b. RLS fan-out: 1,000 users with distinct `sub` claims on a table whose policy reads
    //     request.jwt.claims, so every delivery needs its own RLS answer.
    support::sql(&pg, "create table bench_owned (id bigserial primary key, seq bigint, owner text); \
        alter table bench_owned enable row level security; \
        create policy readable on bench_owned for select to authenticated \
          using (owner = 'everyone' or owner = current_setting('request.jwt.claims', true)::json->>'sub'); \
        alter publication supabase_realtime add table bench_owned").await;
    let rls = Engine::start_as(&pg, poll_ms, "RLS", "rls_bench_slot").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..FANOUT_CLIENTS {
        let jwt = supalove_realtime::jwt::sign_hs256(
            &json!({"role": "authenticated", "sub": format!("user-{i}"), "exp": supalove_realtime::jwt::now_secs() + 3600}),
            SECRET.as_bytes(),
        );
        let mut c = rls.client_with(&jwt).await;
        c.subscribe(
            "realtime:owned",
            json!([{"event": "INSERT", "schema": "public", "table": "bench_owned"}]),
        )
        .await;
        spawn_reader(c, "realtime:owned", tx.clone());
    }
    drop(tx);
    let mut fan_rls = Vec::new();
    for seq in 0..FANOUT_ROWS {
        let at = Instant::now();
        db.execute(
            "insert into bench_owned (seq, owner) values ($1, 'everyone')",
            &[&(seq as i64)],
        )
        .await
        .unwrap();
        for _ in 0..FANOUT_CLIENTS {
            let (_, got_at) = rx.recv().await.unwrap();
            fan_rls.push(got_at - at);
        }
    }
    fan_rls.sort();
    rows.push((
        "RLS fan-out, 1,000 distinct users p99".into(),
        format!(
            "{:.2} ms (p50 {:.2})",
            pct(&fan_rls, 0.99),
            pct(&fan_rls, 0.5)
        ),
        "(no goal; RLS mode)".into(),
    ));
    drop(rx);
    drop(rls);

    // 4. RSS idle and with 10,000 idle sockets (fresh engine, same database).
    drop(e);
    let e = Engine::start(&pg, poll_ms).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fresh_rss = e.rss_mb();
    let mut sockets = Vec::with_capacity(IDLE_SOCKETS);
    for _ in 0..IDLE_SOCKETS / 250 {
        let batch: Vec<_> = (0..250).map(|_| e.client()).collect();
        sockets.extend(futures_util::future::join_all(batch).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loaded_rss = e.rss_mb();
    rows.push((
        "RSS idle".into(),
        format!("{fresh_rss:.1} MB (after load tests: {idle_rss:.1} MB at start)"),
        "≤ 15 MB".into(),
    ));
    rows.push((
        format!("RSS with {} idle sockets", sockets.len()),
        format!("{loaded_rss:.1} MB"),
        "≤ 150 MB".into(),
    ));
    drop(sockets);
    drop(e);

    // 5. The bursts of 2c in the default RLS mode (service_role bypasses RLS: no re-read).
    let e = Engine::start_as(&pg, poll_ms, "RLS", "burst_rls_slot").await;
    rows.extend(bursts(&e, &db, "RLS").await);
    drop(e);

    // The load average says how much of the machine the figures had (shared runners vary).
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nsupalove-realtime bench (release, STREAM mode unless marked RLS, poll {poll_ms} ms, {} cores, load average {})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("{:<40} {:<40} goal", "measure", "result");
    for (m, r, g) in rows {
        println!("{m:<40} {r:<40} {g}");
    }
}
