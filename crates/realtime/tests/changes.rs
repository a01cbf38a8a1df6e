//! postgres_changes against a real Postgres: payload shape, filters, RLS and privileges.

mod support;

use serde_json::json;
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;

#[tokio::test]
async fn insert_update_delete_payloads_follow_the_spec() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V2).await;
    let ids = c
        .subscribe(
            "realtime:todos",
            json!([
                {"event": "INSERT", "schema": "public", "table": "todos"},
                {"event": "*", "schema": "public", "table": "todos"},
                {"event": "DELETE", "schema": "public"}
            ]),
        )
        .await;
    assert_eq!(ids.len(), 3);
    sql(
        &pg,
        "insert into todos (task, n, tags, meta) values ('write', 5, '{a,b}', '{\"k\": [1]}')",
    )
    .await;
    let ins = c.change("realtime:todos").await;
    assert_eq!(ins["ids"], json!([ids[0], ids[1]]));
    let d = &ins["data"];
    assert_eq!(
        (
            d["schema"].as_str(),
            d["table"].as_str(),
            d["type"].as_str()
        ),
        (Some("public"), Some("todos"), Some("INSERT"))
    );
    assert_eq!(
        d["record"],
        json!({"id": 1, "task": "write", "done": false, "n": 5, "secret": null, "tags": ["a","b"], "meta": {"k": [1]}})
    );
    assert!(d.get("old_record").is_none());
    assert_eq!(d["errors"], json!(null));
    assert_eq!(d["columns"][0], json!({"name": "id", "type": "int8"}));
    assert_eq!(d["columns"][5], json!({"name": "tags", "type": "_text"}));
    let ts = d["commit_timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && &ts[10..11] == "T",
        "{ts}"
    );

    sql(&pg, "update todos set done = true where id = 1").await;
    let upd = c.change("realtime:todos").await;
    assert_eq!(upd["ids"], json!([ids[1]]));
    assert_eq!(upd["data"]["type"], "UPDATE");
    assert_eq!(upd["data"]["record"]["done"], true);
    assert_eq!(upd["data"]["old_record"], json!({"id": 1}));

    sql(&pg, "delete from todos where id = 1").await;
    let del = c.change("realtime:todos").await;
    assert_eq!(del["ids"], json!([ids[1], ids[2]]));
    assert_eq!(del["data"]["type"], "DELETE");
    assert_eq!(del["data"]["old_record"], json!({"id": 1}));
    assert!(del["data"].get("record").is_none());
}

#[tokio::test]
async fn replica_identity_full_sends_whole_old_rows() {
    let (pg, e) = setup(ReplicationMode::Stream).await;
    sql(
        &pg,
        "alter table todos replica identity full; insert into todos (task) values ('x')",
    )
    .await;
    let mut c = connect(&e, &token("anon"), Vsn::V1).await;
    c.subscribe(
        "realtime:t",
        json!([{"event": "*", "schema": "public", "table": "todos"}]),
    )
    .await;
    sql(&pg, "update todos set task = 'y'").await;
    let upd = c.change("realtime:t").await;
    assert_eq!(upd["data"]["old_record"]["task"], "x");
    assert_eq!(upd["data"]["record"]["task"], "y");
    // STREAM mode ignores column privileges: anon still sees `secret`.
    assert!(upd["data"]["record"]
        .as_object()
        .unwrap()
        .contains_key("secret"));
}

#[tokio::test]
async fn every_filter_operator() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V1).await;
    let ops = [
        "n=eq.5",
        "n=neq.5",
        "n=lt.5",
        "n=lte.5",
        "n=gt.5",
        "n=gte.5",
        "n=in.(1,5,9)",
        "task=eq.hello world",
    ];
    let changes: Vec<_> = ops
        .iter()
        .map(|f| json!({"event": "INSERT", "schema": "public", "table": "todos", "filter": f}))
        .collect();
    let ids = c.subscribe("realtime:f", json!(changes)).await;
    let expect = |n: i64, task: &str| -> Vec<u64> {
        let mut v = Vec::new();
        let pass = [
            n == 5,
            n != 5,
            n < 5,
            n <= 5,
            n > 5,
            n >= 5,
            [1, 5, 9].contains(&n),
            task == "hello world",
        ];
        for (i, p) in pass.iter().enumerate() {
            if *p {
                v.push(ids[i]);
            }
        }
        v
    };
    for (n, task) in [(5, "a"), (4, "hello world"), (9, "b"), (6, "c")] {
        sql(
            &pg,
            &format!("insert into todos (n, task) values ({n}, '{task}')"),
        )
        .await;
        let got = c.change("realtime:f").await;
        let mut got_ids: Vec<u64> = got["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        got_ids.sort();
        let mut want = expect(n, task);
        want.sort();
        assert_eq!(got_ids, want, "n={n} task={task}");
    }
    // A row with NULL in the filtered column never matches any n filter.
    sql(
        &pg,
        "insert into todos (n, task) values (null, 'hello world')",
    )
    .await;
    assert_eq!(c.change("realtime:f").await["ids"], json!([ids[7]]));
}

#[tokio::test]
async fn bad_subscriptions_get_a_system_error() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    for (i, (changes, needle)) in [
        (
            json!([{"event": "*", "schema": "public", "table": "missing"}]),
            "publication",
        ),
        (
            json!([{"event": "*", "schema": "public", "table": "todos", "filter": "nope=eq.1"}]),
            "invalid column",
        ),
        (
            json!([{"event": "*", "schema": "public", "table": "todos", "filter": "secret=eq.1"}]),
            "invalid column",
        ),
        (
            json!([{"event": "*", "schema": "public", "table": "todos", "filter": "n=eq.abc"}]),
            "invalid filter value",
        ),
        (
            json!([{"event": "*", "schema": "public", "table": "todos", "filter": "n=like.1"}]),
            "requires a text-compatible column type",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let topic = format!("realtime:bad{i}");
        c.join(&topic, json!({ "postgres_changes": changes })).await;
        let sys = c.expect(&topic, "system").await;
        assert_eq!(sys.payload["status"], "error");
        let msg = sys.payload["message"].as_str().unwrap();
        assert!(
            msg.starts_with("Subscribing to PostgreSQL failed") && msg.contains(needle),
            "{msg}"
        );
    }
}

#[tokio::test]
async fn stream_mode_sends_everything() {
    let (pg, e) = setup(ReplicationMode::Stream).await;
    let mut anon = connect(&e, &token("anon"), Vsn::V2).await;
    anon.subscribe(
        "realtime:s",
        json!([{"event": "*", "schema": "public", "table": "notes"}]),
    )
    .await;
    sql(&pg, "insert into notes values (1, 'private', false)").await;
    let got = anon.change("realtime:s").await;
    assert_eq!(
        got["data"]["record"],
        json!({"id": 1, "body": "private", "public": false})
    );
}

#[tokio::test]
async fn oversized_records_keep_small_values_and_say_413() {
    let (pg, e) = setup(ReplicationMode::Stream).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V2).await;
    c.subscribe(
        "realtime:big",
        json!([{"event": "INSERT", "schema": "public", "table": "todos"}]),
    )
    .await;
    sql(
        &pg,
        "alter table todos alter column task set storage external; \
              insert into todos (task, n) values (repeat('x', 1100000), 3)",
    )
    .await;
    let got = c.change("realtime:big").await;
    assert_eq!(
        got["data"]["errors"],
        json!(["Error 413: Payload Too Large"])
    );
    assert_eq!(got["data"]["record"]["n"], 3);
    assert!(got["data"]["record"].get("task").is_none());
}

#[tokio::test]
async fn join_can_wait_for_postgres_changes() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V2).await;
    let options = json!({"wait": true, "timeout": 10000});
    let resp = c
        .join(
            "realtime:w",
            json!({"postgres_changes": [{"event": "INSERT", "schema": "public", "table": "todos"}], "postgres_changes_options": options}),
        )
        .await;
    // Once the reply is here the bindings are live: a write right now is not lost.
    sql(&pg, "insert into todos (task) values ('right-after-reply')").await;
    assert_eq!(resp["postgres_changes"][0]["table"], "todos");
    assert_eq!(
        c.expect("realtime:w", "system").await.payload["status"],
        "ok"
    );
    assert_eq!(
        c.change("realtime:w").await["data"]["record"]["task"],
        "right-after-reply"
    );

    let r = c
        .push(
            "realtime:w2",
            "phx_join",
            json!({"config": {"postgres_changes": [{"event": "*", "schema": "public", "table": "missing"}], "postgres_changes_options": options}}),
            Some("j2"),
        )
        .await;
    let reply = c.reply(&r).await;
    assert_eq!(reply.payload["status"], "error");
    let reason = reply.payload["response"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("PostgresChangesSubscribeFailed"),
        "{reason}"
    );
}
