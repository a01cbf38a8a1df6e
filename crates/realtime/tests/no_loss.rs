//! No event lost: bursts of 10,000 mixed INSERT/UPDATE/DELETE reach a `service_role`
//! subscriber (RLS bypassed) on a table with RLS and on one without, every change, in commit
//! order, whether each change commits on its own or all in one transaction.

mod support;

use serde_json::{json, Value};
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;

/// Rounds of insert → update → delete per table (3 changes each).
const ROUNDS: i64 = 3334;

const TABLES_SQL: &str = "
create table burst_plain (id int primary key, v int);
create table burst_rls (id int primary key, v int);
alter table burst_rls enable row level security;
create policy nobody on burst_rls for select to anon using (false);
alter publication supabase_realtime add table burst_plain, burst_rls;
";

/// One DO block per table: each change its own transaction (`tight`) or all in one.
fn burst_sql(table: &str, tight: bool) -> String {
    let commit = if tight { "commit;" } else { "" };
    format!(
        "do $$ begin for i in 1..{ROUNDS} loop \
           insert into {table} values (i, 0); {commit} \
           update {table} set v = 1 where id = i; {commit} \
           delete from {table} where id = i; {commit} \
         end loop; end $$"
    )
}

fn expected() -> Vec<(String, i64)> {
    (1..=ROUNDS)
        .flat_map(|i| {
            [
                ("INSERT".to_string(), i),
                ("UPDATE".to_string(), i),
                ("DELETE".to_string(), i),
            ]
        })
        .collect()
}

fn key(payload: &Value) -> (String, String, i64) {
    let d = &payload["data"];
    let kind = d["type"].as_str().unwrap_or_default().to_string();
    let rec = if kind == "DELETE" {
        &d["old_record"]
    } else {
        &d["record"]
    };
    (
        d["table"].as_str().unwrap_or_default().to_string(),
        kind,
        rec["id"].as_i64().unwrap_or(-1),
    )
}

async fn burst(tight: bool) {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    sql(&pg, TABLES_SQL).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V2).await;
    c.subscribe(
        "realtime:burst",
        json!([
            {"event": "*", "schema": "public", "table": "burst_plain"},
            {"event": "*", "schema": "public", "table": "burst_rls"}
        ]),
    )
    .await;
    let (a, b) = (pg.client().await.unwrap(), pg.client().await.unwrap());
    // The writers run while the subscriber reads, as a live client does.
    let writers = tokio::spawn(async move {
        let (qa, qb) = (
            burst_sql("burst_plain", tight),
            burst_sql("burst_rls", tight),
        );
        let (ra, rb) = tokio::join!(a.batch_execute(&qa), b.batch_execute(&qb));
        ra.unwrap();
        rb.unwrap();
    });
    let want = expected();
    let mut got: std::collections::HashMap<String, Vec<(String, i64)>> = Default::default();
    let total = want.len() * 2;
    for n in 0..total {
        let f = match tokio::time::timeout(
            std::time::Duration::from_secs(20),
            c.expect("realtime:burst", "postgres_changes"),
        )
        .await
        {
            Ok(f) => f,
            Err(_) => panic!(
                "only {n} of {total} events arrived: {:?}",
                got.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>()
            ),
        };
        assert!(f.payload["data"]["errors"].is_null(), "{}", f.payload);
        let (table, kind, id) = key(&f.payload);
        got.entry(table).or_default().push((kind, id));
    }
    writers.await.unwrap();
    for table in ["burst_plain", "burst_rls"] {
        let seen = got.remove(table).unwrap_or_default();
        assert_eq!(seen.len(), want.len(), "{table}: lost events");
        assert!(seen == want, "{table}: events out of commit order");
    }
    // Nothing extra (e.g. a drop report) followed.
    let r = c.push("phoenix", "heartbeat", json!({}), None).await;
    let next = c.next().await;
    assert!(
        matches!(&next, Some(Incoming::Text(f)) if f.msg_ref.as_deref() == Some(r.as_str())),
        "{next:?}"
    );
}

#[tokio::test]
async fn burst_of_tight_transactions_loses_nothing() {
    burst(true).await;
}

#[tokio::test]
async fn burst_in_one_big_transaction_loses_nothing() {
    burst(false).await;
}
