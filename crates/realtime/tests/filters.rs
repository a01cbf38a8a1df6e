//! postgres_changes filters and `select` of the current official server, against a real
//! Postgres: every operator, `not.`, several conditions, quoting, and column selection.
//!
//! Sources: R = supabase/realtime@833cf36c (see /work/shared/realtime-current.md §7):
//! lib/extensions/postgres_cdc_rls/subscriptions.ex (grammar), the migrations
//! 20260626120000_readd_postgrest_filter_ops.ex (`check_equality_op`, trigger checks) and
//! 20260709120000_fix_apply_rls_filter_role_leak.ex (`select`: chosen columns plus the key).

mod support;

use serde_json::{json, Value};
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;

fn sorted_ids(v: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn postgrest_operators_negation_and_several_conditions() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V2).await;
    let filters = [
        "task=like.hel%",
        "task=ilike.HEL%",
        "task=is.null",
        "task=not.is.null",
        "done=is.true",
        "done=not.is.true",
        "task=match.^h.l+o$",
        "task=imatch.^HELLO",
        "n=isdistinct.5",
        "n=not.isdistinct.5",
        "n=not.eq.5",
        "n=gt.1, n=lt.9",
        "n=not.in.(1,5)",
        "done=eq.true",
        r#"task=eq."a,b""#,
        "task=in.(\"a,b\",zzz)",
    ];
    let changes: Vec<_> = filters
        .iter()
        .map(|f| json!({"event": "INSERT", "schema": "public", "table": "todos", "filter": f}))
        .collect();
    let ids = c.subscribe("realtime:ops", json!(changes)).await;
    // Rows and, per filter above, whether the official SQL (`check_equality_op`) passes them.
    let rows: [(&str, [u8; 16]); 4] = [
        (
            "('hello', true, 5)",
            [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0],
        ),
        (
            "('HELLO world', false, null)",
            [0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        ),
        (
            "(null, null, 9)",
            [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0],
        ),
        (
            "('a,b', false, 3)",
            [0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1],
        ),
    ];
    for (values, pass) in rows {
        sql(
            &pg,
            &format!("insert into todos (task, done, n) values {values}"),
        )
        .await;
        let got = c.change("realtime:ops").await;
        let mut want: Vec<u64> = ids
            .iter()
            .zip(pass)
            .filter(|(_, p)| *p == 1)
            .map(|(id, _)| *id)
            .collect();
        want.sort();
        assert_eq!(sorted_ids(&got), want, "row {values}");
    }
}

#[tokio::test]
async fn select_sends_the_chosen_columns_and_the_key() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V1).await;
    let ids = c
        .subscribe(
            "realtime:sel",
            json!([
                {"event": "*", "schema": "public", "table": "todos", "select": ["task", 7]},
                {"event": "INSERT", "schema": "public", "table": "todos", "select": ["task"]},
                {"event": "INSERT", "schema": "public", "table": "todos"},
                {"event": "UPDATE", "schema": "public", "table": "todos", "select": ["n", "done"]},
            ]),
        )
        .await;
    sql(&pg, "insert into todos (task, n) values ('x', 1)").await;
    // One push per distinct column selection, each with the ids of its group.
    let mut pushes = [
        c.change("realtime:sel").await,
        c.change("realtime:sel").await,
    ];
    pushes.sort_by_key(|p| p["ids"].as_array().unwrap().len());
    let (full, narrow) = (&pushes[0], &pushes[1]);
    assert_eq!(full["ids"], json!([ids[2]]));
    assert_eq!(full["data"]["record"]["n"], 1);
    assert_eq!(sorted_ids(narrow), {
        let mut v = vec![ids[0], ids[1]];
        v.sort();
        v
    });
    assert_eq!(narrow["data"]["record"], json!({"id": 1, "task": "x"}));
    assert_eq!(
        narrow["data"]["columns"],
        json!([{"name": "id", "type": "int8"}, {"name": "task", "type": "text"}])
    );

    sql(&pg, "update todos set n = 2").await;
    let mut pushes = [
        c.change("realtime:sel").await,
        c.change("realtime:sel").await,
    ];
    pushes.sort_by_key(|p| p["ids"][0].as_u64());
    for p in &pushes {
        let want = if p["ids"] == json!([ids[0]]) {
            json!({"id": 1, "task": "x"})
        } else {
            assert_eq!(p["ids"], json!([ids[3]]));
            json!({"id": 1, "n": 2, "done": false})
        };
        assert_eq!(p["data"]["record"], want);
        assert_eq!(p["data"]["old_record"], json!({"id": 1}));
    }
}

/// Bad filters and selections: a `system` error, the parse errors in the official words.
#[tokio::test]
async fn refused_filters_and_selections() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    let todos = |extra: Value| {
        let mut b = json!({"event": "*", "schema": "public", "table": "todos"});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!([b])
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            todos(json!({"filter": "n=foo.1"})),
            r#"=Error parsing `filter` params: ["foo", "1"]"#,
        ),
        (
            todos(json!({"filter": "undefined"})),
            r#"=Error parsing `filter` params: ["undefined"]"#,
        ),
        (
            todos(json!({"filter": "n=in.1,2"})),
            "=Error parsing `filter` params: `in` filter value must be wrapped by parentheses",
        ),
        (
            todos(json!({"filter": "n=eq.1,,n=eq.2"})),
            "=Error parsing `filter` params: filter must not contain empty segments (check for extra commas)",
        ),
        (
            todos(json!({"select": "task"})),
            "=Error parsing `select` params: expected a list of column name strings, e.g. select: [\"col1\", \"col2\"]",
        ),
        (
            json!([{"event": "*", "schema": "public", "select": ["id"]}]),
            "=Column selection is not supported for wildcard subscriptions. Provide an explicit schema and table name.",
        ),
        (todos(json!({"select": ["nope"]})), "invalid column for select nope"),
        (todos(json!({"select": ["secret"]})), "invalid column for select secret"),
        (todos(json!({"filter": "n=like.1"})), "operator like requires a text-compatible column type, got integer"),
        (todos(json!({"filter": "n=match.1"})), "operator match requires a text-compatible column type, got integer"),
        (todos(json!({"filter": "task=is.maybe"})), "invalid value for is filter: must be null, true, false, or unknown"),
        (todos(json!({"filter": "n=is.true"})), "is true filter requires a boolean column, got integer"),
        (todos(json!({"filter": "task=match.("})), "invalid regular expression for match filter"),
        (todos(json!({"filter": "task=imatch.(a)\\1"})), "does not support"),
        (todos(json!({"filter": "task=like.ab\\"})), "must not end with escape character"),
        (todos(json!({"filter": "n=gt.1,nope=eq.2"})), "invalid column for filter nope"),
        (todos(json!({"filter": "n=in.(1,x)"})), "invalid filter value"),
    ];
    for (i, (changes, want)) in cases.into_iter().enumerate() {
        let topic = format!("realtime:bad{i}");
        c.join(&topic, json!({ "postgres_changes": changes })).await;
        let sys = c.expect(&topic, "system").await;
        assert_eq!(sys.payload["status"], "error");
        assert_eq!(sys.payload["extension"], "postgres_changes");
        let msg = sys.payload["message"].as_str().unwrap();
        match want.strip_prefix('=') {
            Some(exact) => assert_eq!(msg, exact),
            None => assert!(
                msg.starts_with("Subscribing to PostgreSQL failed") && msg.contains(want),
                "{msg} / {want}"
            ),
        }
    }
}

#[tokio::test]
async fn delete_and_update_judge_the_rows_they_carry() {
    let (pg, e) = setup(ReplicationMode::Stream).await;
    sql(
        &pg,
        "alter table todos replica identity full; \
         insert into todos (task, n) values ('keep', 1), ('drop', 2)",
    )
    .await;
    let mut c = connect(&e, &token("service_role"), Vsn::V1).await;
    let ids = c
        .subscribe(
            "realtime:d",
            json!([{"event": "*", "schema": "public", "table": "todos", "filter": "task=not.like.k%,n=lte.2"}]),
        )
        .await;
    sql(&pg, "delete from todos where task = 'keep'").await;
    sql(&pg, "delete from todos where task = 'drop'").await;
    let got = c.change("realtime:d").await;
    assert_eq!(got["ids"], json!([ids[0]]));
    assert_eq!(got["data"]["old_record"]["task"], "drop");
}

/// R:lib/realtime/tenants/repo/migrations/20260626120000_readd_postgrest_filter_ops.ex:159-184
/// and 20260709120000_fix_apply_rls_filter_role_leak.ex:210-217: a DELETE is judged on its old
/// row; a condition on a column the old row does not carry (the table has no REPLICA IDENTITY
/// FULL, so only the key is there) fails, and the DELETE is not delivered.
#[tokio::test]
async fn delete_filtered_on_a_column_the_old_row_lacks_is_not_delivered() {
    let (pg, e) = setup(ReplicationMode::Stream).await;
    sql(
        &pg,
        "insert into todos (id, task) values (41, 'x'), (42, 'y')",
    )
    .await;
    let mut by_task = connect(&e, &token("service_role"), Vsn::V1).await;
    by_task
        .subscribe(
            "realtime:task",
            json!([{"event": "*", "schema": "public", "table": "todos", "filter": "task=eq.x"}]),
        )
        .await;
    let mut by_id = connect(&e, &token("service_role"), Vsn::V1).await;
    by_id
        .subscribe(
            "realtime:id",
            json!([{"event": "DELETE", "schema": "public", "table": "todos", "filter": "id=in.(41,42)"}]),
        )
        .await;
    sql(&pg, "delete from todos where id = 41").await;
    sql(&pg, "delete from todos where id = 42").await;
    // The key is carried: both deletes reach the id filter.
    for id in [41, 42] {
        let got = by_id.change("realtime:id").await;
        assert_eq!(got["data"]["type"], "DELETE");
        assert_eq!(got["data"]["old_record"]["id"], id);
    }
    // `task` is not in the old row: the delete of the 'x' row is dropped; the next change the
    // task filter sees is this insert.
    sql(&pg, "insert into todos (id, task) values (43, 'x')").await;
    let got = by_task.change("realtime:task").await;
    assert_eq!(got["data"]["type"], "INSERT", "{got}");
    assert_eq!(got["data"]["record"]["id"], 43);
}
