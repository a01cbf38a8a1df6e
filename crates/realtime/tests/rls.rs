//! RLS mode against a real Postgres: row policies, column privileges, per-user claims.

mod support;

use serde_json::json;
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;

#[tokio::test]
async fn rls_hides_rows_and_columns_per_role() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    let mut anon = connect(&e, &token("anon"), Vsn::V2).await;
    let mut service = connect(&e, &token("service_role"), Vsn::V1).await;
    let mut auth = connect(&e, &token("authenticated"), Vsn::V2).await;
    let params = json!([{"event": "*", "schema": "public", "table": "notes"}]);
    anon.subscribe("realtime:n", params.clone()).await;
    service.subscribe("realtime:n", params.clone()).await;
    auth.subscribe("realtime:n", params).await;
    sql(&pg, "insert into notes values (1, 'private', false); insert into notes values (2, 'public', true)").await;
    // anon's first event is the public row: the private one was withheld.
    assert_eq!(anon.change("realtime:n").await["data"]["record"]["id"], 2);
    assert_eq!(
        service.change("realtime:n").await["data"]["record"]["id"],
        1
    );
    assert_eq!(
        service.change("realtime:n").await["data"]["record"]["id"],
        2
    );
    assert_eq!(auth.change("realtime:n").await["data"]["record"]["id"], 1);
    // DELETE skips RLS and shows only the primary key when RLS is on.
    sql(
        &pg,
        "alter table notes replica identity full; delete from notes where id = 1",
    )
    .await;
    let del = anon.change("realtime:n").await;
    assert_eq!(del["data"]["type"], "DELETE");
    assert_eq!(del["data"]["old_record"], json!({"id": 1}));

    // Column privileges: anon may not select todos.secret.
    anon.subscribe(
        "realtime:t",
        json!([{"event": "INSERT", "schema": "public", "table": "todos"}]),
    )
    .await;
    service
        .subscribe(
            "realtime:t",
            json!([{"event": "INSERT", "schema": "public", "table": "todos"}]),
        )
        .await;
    sql(
        &pg,
        "insert into todos (task, secret) values ('t', 's3cr3t')",
    )
    .await;
    let a = anon.change("realtime:t").await;
    assert!(a["data"]["record"].get("secret").is_none());
    assert!(!a["data"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "secret"));
    let s = service.change("realtime:t").await;
    assert_eq!(s["data"]["record"]["secret"], "s3cr3t");
}

#[tokio::test]
async fn errors_for_tables_without_pk_or_selectable_key() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    sql(
        &pg,
        "revoke select on notes from anon; grant select (body) on notes to anon",
    )
    .await;
    let mut anon = connect(&e, &token("anon"), Vsn::V2).await;
    anon.subscribe("realtime:e", json!([{"event": "INSERT", "schema": "public", "table": "nopk"}, {"event": "INSERT", "schema": "public", "table": "notes"}])).await;
    sql(&pg, "insert into nopk values ('v')").await;
    assert_eq!(
        anon.change("realtime:e").await["data"]["errors"],
        json!(["Error 400: Bad Request, no primary key"])
    );
    sql(&pg, "insert into notes values (7, 'b', true)").await;
    let n = anon.change("realtime:e").await;
    assert_eq!(n["data"]["errors"], json!(["Error 401: Unauthorized"]));
    assert_eq!(n["data"]["record"], json!({"body": "b"}));
}

#[tokio::test]
async fn rls_policies_see_each_users_claims() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    sql(
        &pg,
        "create table owned (id int primary key, owner text); \
              alter table owned enable row level security; \
              create policy mine on owned for select to authenticated \
                using (owner = current_setting('request.jwt.claims', true)::json->>'sub'); \
              alter publication supabase_realtime add table owned",
    )
    .await;
    let user = |sub: &str| {
        supalove_realtime::jwt::sign_hs256(
            &json!({"role": "authenticated", "sub": sub, "exp": supalove_realtime::jwt::now_secs() + 3600}),
            SECRET.as_bytes(),
        )
    };
    // A sub with a quote and a backslash proves the claims reach Postgres intact.
    let tricky = r"o'brien\x";
    let mut a = connect(&e, &user(tricky), Vsn::V2).await;
    let mut b = connect(&e, &user("alice"), Vsn::V1).await;
    let params = json!([{"event": "INSERT", "schema": "public", "table": "owned"}]);
    a.subscribe("realtime:o", params.clone()).await;
    b.subscribe("realtime:o", params).await;
    let c = pg.client().await.unwrap();
    c.execute("insert into owned values (1, $1)", &[&tricky])
        .await
        .unwrap();
    c.execute("insert into owned values (2, 'alice')", &[])
        .await
        .unwrap();
    assert_eq!(a.change("realtime:o").await["data"]["record"]["id"], 1);
    assert_eq!(b.change("realtime:o").await["data"]["record"]["id"], 2);
    c.execute("insert into owned values (3, $1)", &[&tricky])
        .await
        .unwrap();
    assert_eq!(a.change("realtime:o").await["data"]["record"]["id"], 3);
}

#[tokio::test]
async fn rls_checks_wait_for_streamed_commits_to_become_visible() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("authenticated"), Vsn::V2).await;
    c.subscribe(
        "realtime:v",
        json!([{"event": "INSERT", "schema": "public", "table": "notes"}]),
    )
    .await;
    let db = pg.client().await.unwrap();
    // Streaming hands over each commit about as soon as it is flushed, which can be before
    // the row is visible to a new snapshot; every row must still arrive, in order.
    for id in 1..=200 {
        db.execute("insert into notes values ($1, 'x', false)", &[&id])
            .await
            .unwrap();
    }
    for id in 1..=200 {
        assert_eq!(c.change("realtime:v").await["data"]["record"]["id"], id);
    }
}
