//! Durable slots across engine restarts and reconnection after a database restart.

mod support;

use serde_json::json;
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;

#[tokio::test]
async fn durable_slot_delivers_changes_committed_while_the_engine_was_down() {
    let pg = cluster().await;
    let mut cfg = pg.engine_config(SECRET, ReplicationMode::Stream);
    cfg.temporary_slot = false;
    cfg.slot_name = "durable_test_slot".into();
    let first = engine(cfg.clone()).await;
    wait_live(&first).await;
    first.stop();
    drop(first);
    // Written while no engine runs.
    sql(&pg, "insert into todos (task) values ('while-down')").await;
    let second = engine(cfg).await;
    let mut c = connect(&second, &token("service_role"), Vsn::V2).await;
    c.subscribe(
        "realtime:d",
        json!([{"event": "INSERT", "schema": "public", "table": "todos"}]),
    )
    .await;
    let got = c.change("realtime:d").await;
    assert_eq!(got["data"]["record"]["task"], "while-down");
}

#[tokio::test]
async fn temporary_slot_is_dropped_with_the_engine() {
    let pg = cluster().await;
    let e = engine(pg.engine_config(SECRET, ReplicationMode::Rls)).await;
    wait_live(&e).await;
    let client = pg.client().await.unwrap();
    let count = |c: tokio_postgres::Row| c.get::<_, i64>(0);
    let q = "select count(*) from pg_replication_slots where slot_name = 'supabase_realtime_replication_slot'";
    assert_eq!(count(client.query_one(q, &[]).await.unwrap()), 1);
    e.stop();
    drop(e);
    // The backend ends asynchronously after its connection closes.
    loop {
        if count(client.query_one(q, &[]).await.unwrap()) == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn reconnects_after_a_database_restart_and_keeps_subscriptions() {
    let pg = cluster().await;
    let e = engine(pg.engine_config(SECRET, ReplicationMode::Rls)).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V1).await;
    c.subscribe(
        "realtime:r",
        json!([{"event": "INSERT", "schema": "public", "table": "todos"}]),
    )
    .await;
    pg.stop().await.unwrap();
    let mut status = e.state.capture.clone();
    status.wait_for(|s| !s.live).await.unwrap();
    pg.start_again().await.unwrap();
    status
        .wait_for(|s| s.live && s.reconnects > 0)
        .await
        .unwrap();
    let health = e.state.capture.borrow().clone();
    assert!(health.db_connected && health.last_error.is_none());
    sql(&pg, "insert into todos (task) values ('after-restart')").await;
    assert_eq!(
        c.change("realtime:r").await["data"]["record"]["task"],
        "after-restart"
    );
}

#[tokio::test]
async fn streams_by_default_and_polls_when_asked() {
    let pg = cluster().await;
    let streaming = engine(pg.engine_config(SECRET, ReplicationMode::Stream)).await;
    wait_live(&streaming).await;
    assert_eq!(streaming.state.capture.borrow().method, "streaming");
    let mut cfg = pg.engine_config(SECRET, ReplicationMode::Stream);
    cfg.streaming = false;
    cfg.slot_name = "polling_slot".into();
    let polling = engine(cfg).await;
    wait_live(&polling).await;
    assert_eq!(polling.state.capture.borrow().method, "polling");
    let mut a = connect(&streaming, &token("anon"), Vsn::V2).await;
    let mut b = connect(&polling, &token("anon"), Vsn::V1).await;
    let params = json!([{"event": "INSERT", "schema": "public", "table": "todos"}]);
    a.subscribe("realtime:s", params.clone()).await;
    b.subscribe("realtime:p", params).await;
    sql(&pg, "insert into todos (task) values ('both')").await;
    assert_eq!(
        a.change("realtime:s").await["data"]["record"]["task"],
        "both"
    );
    assert_eq!(
        b.change("realtime:p").await["data"]["record"]["task"],
        "both"
    );
}

#[tokio::test]
async fn streams_with_scram_password_authentication() {
    let pg = supalove_realtime::testkit::PgCluster::start_with_password("s3cret-pw")
        .await
        .unwrap();
    let c = pg.client().await.expect("SCRAM login works for queries");
    c.batch_execute(supalove_realtime::testkit::SUPABASE_BOOTSTRAP_SQL)
        .await
        .unwrap();
    c.batch_execute(SCHEMA_SQL).await.unwrap();
    let e = engine(pg.engine_config(SECRET, ReplicationMode::Stream)).await;
    wait_live(&e).await;
    assert_eq!(e.state.capture.borrow().method, "streaming");
    let mut client = connect(&e, &token("anon"), Vsn::V2).await;
    client
        .subscribe(
            "realtime:pw",
            json!([{"event": "INSERT", "schema": "public", "table": "todos"}]),
        )
        .await;
    c.batch_execute("insert into todos (task) values ('scram')")
        .await
        .unwrap();
    assert_eq!(
        client.change("realtime:pw").await["data"]["record"]["task"],
        "scram"
    );
}

#[tokio::test]
async fn joins_while_the_database_is_down_are_told_and_then_subscribed() {
    let pg = cluster().await;
    let e = engine(pg.engine_config(SECRET, ReplicationMode::Stream)).await;
    wait_live(&e).await;
    pg.stop().await.unwrap();
    e.state.capture.clone().wait_for(|s| !s.live).await.unwrap();
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    c.join(
        "realtime:down",
        json!({"postgres_changes": [{"event": "INSERT", "schema": "public", "table": "todos"}]}),
    )
    .await;
    let sys = c.expect("realtime:down", "system").await;
    assert_eq!(sys.payload["status"], "error");
    assert!(sys.payload["message"]
        .as_str()
        .unwrap()
        .starts_with("Subscribing to PostgreSQL failed"));
    pg.start_again().await.unwrap();
    loop {
        let sys = c.expect("realtime:down", "system").await;
        if sys.payload["status"] == "ok" {
            assert_eq!(sys.payload["message"], "Subscribed to PostgreSQL");
            break;
        }
    }
    sql(&pg, "insert into todos (task) values ('back')").await;
    assert_eq!(
        c.change("realtime:down").await["data"]["record"]["task"],
        "back"
    );
}

/// With a temporary slot, changes committed while the engine had no slot are gone: joined
/// subscribers are told the window in a `system` message, and capture carries on.
#[tokio::test]
async fn temporary_slot_gap_after_a_database_restart_is_reported() {
    let pg = cluster().await;
    let e = engine(pg.engine_config(SECRET, ReplicationMode::Rls)).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V2).await;
    c.subscribe(
        "realtime:gap",
        json!([{"event": "INSERT", "schema": "public", "table": "todos"}]),
    )
    .await;
    pg.stop().await.unwrap();
    let mut status = e.state.capture.clone();
    status.wait_for(|s| !s.live).await.unwrap();
    pg.start_again().await.unwrap();
    let sys = c.expect("realtime:gap", "system").await;
    assert_eq!(sys.join_ref.as_deref(), Some("j1"));
    assert_eq!(sys.payload["extension"], "postgres_changes");
    assert_eq!(sys.payload["status"], "error");
    assert_eq!(sys.payload["channel"], "gap");
    let msg = sys.payload["message"].as_str().unwrap();
    assert!(msg.starts_with("Changes committed between 20"), "{msg}");
    assert!(
        msg.contains(" may have been missed") && msg.contains("TEMPORARY_SLOT=false"),
        "{msg}"
    );
    sql(&pg, "insert into todos (task) values ('after-gap')").await;
    assert_eq!(
        c.change("realtime:gap").await["data"]["record"]["task"],
        "after-gap"
    );
}

/// With a durable slot, a database restart loses nothing and repeats nothing: changes
/// committed just before the stop and right after the start (before the engine is back)
/// all arrive once, in commit order, and no gap is reported.
#[tokio::test]
async fn durable_slot_loses_nothing_across_a_database_restart() {
    let pg = cluster().await;
    let mut cfg = pg.engine_config(SECRET, ReplicationMode::Rls);
    cfg.temporary_slot = false;
    cfg.slot_name = "durable_restart_slot".into();
    let e = engine(cfg).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V2).await;
    c.subscribe(
        "realtime:dur",
        json!([{"event": "INSERT", "schema": "public", "table": "todos"}]),
    )
    .await;
    sql(
        &pg,
        "insert into todos (n) select g from generate_series(1, 200) g",
    )
    .await;
    for n in 201..=220 {
        sql(&pg, &format!("insert into todos (n) values ({n})")).await;
    }
    pg.stop().await.unwrap();
    e.state.capture.clone().wait_for(|s| !s.live).await.unwrap();
    pg.start_again().await.unwrap();
    // Committed before the engine has reconnected (its first retry waits 200 ms).
    for n in 221..=240 {
        sql(&pg, &format!("insert into todos (n) values ({n})")).await;
    }
    let mut seen = Vec::new();
    while seen.len() < 240 {
        match c.next().await {
            Some(Incoming::Text(f)) if f.event == "postgres_changes" => {
                seen.push(f.payload["data"]["record"]["n"].as_i64().unwrap());
            }
            Some(Incoming::Text(f)) if f.event == "system" => {
                panic!("unexpected system message: {}", f.payload)
            }
            Some(_) => {}
            None => panic!("socket closed"),
        }
    }
    assert_eq!(seen, (1..=240).collect::<Vec<_>>());
    sql(&pg, "insert into todos (n) values (241)").await;
    assert_eq!(c.change("realtime:dur").await["data"]["record"]["n"], 241);
}
