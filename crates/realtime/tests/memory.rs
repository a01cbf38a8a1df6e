//! A subscriber that stops reading costs a bounded number of bytes, and learns what it lost.
//! Alone in its test binary so the process's peak RSS is this test's.

mod support;

use serde_json::json;
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

/// 2,000 rows of 50 KB for one idle anon client: before the byte bound the engine grew by
/// ~110 MB; now its queue holds at most `SOCKET_QUEUE_BYTES` (16 MiB) and the peak growth
/// stays under the 48 MB asserted here (measured: +34 MB peak, of which ~21 MB queued or in
/// flight to the socket; glibc keeps the freed heap for reuse, so RSS does not drop after).
#[tokio::test]
async fn idle_subscriber_holds_bounded_bytes_and_gets_a_drop_report() {
    const ROWS: u64 = 2000;
    let (pg, e) = setup(ReplicationMode::Rls).await;
    sql(
        &pg,
        "create table blobs (id int primary key, body text); \
              alter table blobs alter column body set storage external; \
              alter publication supabase_realtime add table blobs",
    )
    .await;
    let mut idle = connect(&e, &token("anon"), Vsn::V2).await;
    idle.subscribe(
        "realtime:blobs",
        json!([{"event": "INSERT", "schema": "public", "table": "blobs"}]),
    )
    .await;
    // A second subscriber that reads, filtered to the last row: it tells when capture is done.
    let mut probe = connect(&e, &token("anon"), Vsn::V2).await;
    probe
        .subscribe(
            "realtime:probe",
            json!([{"event": "INSERT", "schema": "public", "table": "blobs",
                    "filter": format!("id=eq.{}", ROWS + 1)}]),
        )
        .await;
    let before = status_kb("VmRSS:");
    for batch in 0..(ROWS / 100) {
        sql(
            &pg,
            &format!(
                "insert into blobs select g, repeat(md5(g::text), 1600) \
             from generate_series({}, {}) g",
                batch * 100 + 1,
                batch * 100 + 100
            ),
        )
        .await;
    }
    sql(
        &pg,
        &format!("insert into blobs values ({}, 'last')", ROWS + 1),
    )
    .await;
    let last = probe.change("realtime:probe").await;
    assert_eq!(last["data"]["record"]["id"], ROWS + 1);
    let peak = status_kb("VmHWM:");
    let growth_mb = peak.saturating_sub(before) / 1024;
    eprintln!(
        "RSS before {} MB, peak {} MB (+{growth_mb} MB)",
        before / 1024,
        peak / 1024
    );
    assert!(
        growth_mb < 48,
        "engine grew by {growth_mb} MB for an idle client"
    );
    // The idle client now reads: what fitted, then a report of what was dropped.
    let (mut got, mut dropped) = (0u64, 0u64);
    while got + dropped < ROWS + 1 {
        match idle.next().await {
            Some(Incoming::Text(f)) if f.event == "postgres_changes" => got += 1,
            Some(Incoming::Text(f)) if f.event == "system" => {
                let msg = f.payload["message"].as_str().unwrap().to_string();
                assert!(msg.contains("messages dropped"), "{msg}");
                dropped += msg.split(' ').next().unwrap().parse::<u64>().unwrap();
            }
            Some(_) => {}
            None => panic!("socket closed"),
        }
    }
    assert!(got > 0 && dropped > 0, "got {got}, dropped {dropped}");
    eprintln!(
        "delivered {got}, dropped {dropped}; RSS after draining {} MB",
        status_kb("VmRSS:") / 1024
    );
}
