//! `supalove sql` and `supalove doctor`: each broken prerequisite is named with its fix, and
//! `--fix` repairs the publication.

mod common;

use common::World;
use serde_json::Value;

fn check<'a>(report: &'a Value, id: &str, about: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id && c["message"].as_str().unwrap().contains(about))
        .unwrap_or_else(|| panic!("no {id} check about {about}: {report:#}"))
}

/// Doctor's JSON report, whatever the exit status (a failing check exits 3).
fn doctor(w: &World, args: &[&str]) -> Value {
    let mut a = vec!["doctor"];
    a.extend_from_slice(args);
    a.push("--json");
    let out = w.run(&a);
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sql_runs_statements_and_reports_errors() {
    let w = World::new(40);
    let name = w.name("sql");
    w.ok(&["new", &name]);
    let results = w.json(&["sql", &name, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'x'), (2, NULL); SELECT * FROM t ORDER BY id"]);
    assert_eq!(results.as_array().unwrap().len(), 3);
    assert_eq!(results[1]["count"], 2);
    assert_eq!(results[2]["columns"], serde_json::json!(["id", "v"]));
    assert_eq!(
        results[2]["rows"],
        serde_json::json!([["1", "x"], ["2", null]])
    );
    let text = w.ok(&["sql", &name, "SELECT v FROM t WHERE id = 1"]);
    assert!(text.contains("x") && text.contains("(1 row)"), "{text}");
    let err = w.fails(&["sql", &name, "SELECT * FROM missing_table"]);
    assert!(
        err.contains("relation \"missing_table\" does not exist"),
        "{err}"
    );
}

#[test]
fn doctor_names_each_broken_prerequisite_and_fix_repairs_the_publication() {
    let w = World::new(41);
    let name = w.name("doctor");
    w.ok(&["new", &name]);
    w.ok(&[
        "sql",
        &name,
        "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
    ]);

    // A table outside the publication: FAIL, and --fix adds it.
    let out = w.run(&["doctor", &name, "--json"]);
    assert_eq!(out.status.code(), Some(3), "a failing check exits 3");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = check(
        &report,
        "table_published",
        "public.notes is not in supabase_realtime",
    );
    assert_eq!(c["status"], "fail");
    assert_eq!(c["auto_fix"], true);
    assert_eq!(check(&report, "wal_level", "logical")["status"], "ok");
    let fixed = doctor(&w, &[&name, "--fix"]);
    assert_eq!(
        fixed["fixed"][0],
        "ALTER PUBLICATION supabase_realtime ADD TABLE \"public\".\"notes\""
    );
    assert_eq!(
        check(
            &fixed,
            "table_published",
            "public.notes is in supabase_realtime"
        )["status"],
        "ok"
    );
    assert_eq!(
        w.sql(
            &name,
            "SELECT tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime'"
        ),
        "notes"
    );

    // No primary key: UPDATE/DELETE cannot be identified.
    w.ok(&[
        "sql",
        &name,
        "CREATE TABLE nopk (x int); ALTER PUBLICATION supabase_realtime ADD TABLE nopk",
    ]);
    let r = doctor(&w, &[&name, "--table", "nopk"]);
    assert_eq!(
        check(&r, "replica_identity", "public.nopk has no primary key")["status"],
        "warn"
    );
    w.ok(&["sql", &name, "ALTER TABLE nopk REPLICA IDENTITY FULL"]);
    let r = doctor(&w, &[&name, "--table", "nopk"]);
    assert_eq!(
        check(&r, "replica_identity", "public.nopk identifies rows")["status"],
        "ok"
    );

    // RLS on with no SELECT policy for anon: anon sees nothing.
    w.ok(&["sql", &name, "ALTER TABLE notes ENABLE ROW LEVEL SECURITY"]);
    let r = doctor(&w, &[&name, "--table", "notes"]);
    let c = check(&r, "rls_policy", "no SELECT policy applies to anon");
    assert_eq!(c["status"], "warn");
    assert!(c["fix"].as_str().unwrap().contains("CREATE POLICY"));
    w.ok(&[
        "sql",
        &name,
        "CREATE POLICY anon_read ON notes FOR SELECT TO anon USING (true)",
    ]);
    let r = doctor(&w, &[&name, "--table", "notes"]);
    assert!(
        !r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "rls_policy" && c["message"].as_str().unwrap().contains("anon")),
        "{r:#}"
    );

    // A missing grant.
    w.ok(&["sql", &name, "REVOKE SELECT ON notes FROM authenticated"]);
    let r = doctor(&w, &[&name, "--table", "notes"]);
    let c = check(
        &r,
        "grants",
        "role authenticated may not SELECT public.notes",
    );
    assert_eq!(c["status"], "fail");
    assert_eq!(
        c["fix"],
        "GRANT SELECT ON \"public\".\"notes\" TO authenticated"
    );

    // No publication at all: FAIL, and --fix recreates it and re-adds the table asked for.
    w.ok(&["sql", &name, "DROP PUBLICATION supabase_realtime"]);
    let r = doctor(&w, &[&name, "--table", "notes"]);
    assert_eq!(check(&r, "publication", "does not exist")["status"], "fail");
    let fixed = doctor(&w, &[&name, "--table", "notes", "--fix"]);
    assert_eq!(fixed["fixed"][0], "CREATE PUBLICATION supabase_realtime");
    assert_eq!(
        check(
            &fixed,
            "table_published",
            "public.notes is in supabase_realtime"
        )["status"],
        "ok"
    );

    // Engine side: it answers, and holds the capture slot; a stopped engine is named.
    assert_eq!(
        check(&fixed, "engine", "Realtime engine answers")["status"],
        "ok"
    );
    common::docker(&["stop", &format!("project_{name}_realtime")]);
    let r = doctor(&w, &[&name]);
    let c = check(&r, "engine", "does not answer");
    assert_eq!(c["status"], "fail");
    assert!(c["fix"].as_str().unwrap().contains("supalove restart"));
    common::docker(&["start", &format!("project_{name}_realtime")]);
    assert_eq!(
        check(
            &fixed,
            "replication_slot",
            "supabase_realtime_replication_slot (pgoutput, active)"
        )["status"],
        "ok"
    );
}

#[test]
fn doctor_warns_about_keys_close_to_expiry() {
    let w = World::new(42);
    let name = w.name("expiry");
    let out = w
        .cmd(&["new", &name])
        .env("SUPALOVE_KEY_LIFETIME_DAYS", "7")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = w
        .cmd(&["doctor", &name, "--json"])
        .env("SUPALOVE_KEY_LIFETIME_DAYS", "7")
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = check(&r, "key_expiry", "expire in");
    assert_eq!(c["status"], "warn");
    let ok = doctor(&w, &[&name]);
    assert_eq!(
        check(&ok, "key_expiry", "valid for")["status"],
        "ok",
        "the default lifetime is a year"
    );
}

#[test]
fn tables_and_insert_from_json() {
    let w = World::new(43);
    let name = w.name("insert");
    w.ok(&["new", &name]);
    w.ok(&[
        "sql",
        &name,
        "CREATE TABLE items (id serial PRIMARY KEY, title text NOT NULL, qty int DEFAULT 1, at timestamptz DEFAULT now()); \
         ALTER PUBLICATION supabase_realtime ADD TABLE items; ALTER TABLE items ENABLE ROW LEVEL SECURITY",
    ]);
    let tables = w.json(&["tables", &name]);
    let t = tables
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "items")
        .unwrap();
    assert_eq!(t["schema"], "public");
    assert_eq!(t["published"], true);
    assert_eq!(t["rls"], true);
    assert_eq!(t["has_primary_key"], true);
    let cols: Vec<(&str, &str, bool)> = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["data_type"].as_str().unwrap(),
                c["has_default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cols,
        [
            ("id", "integer", true),
            ("title", "text", false),
            ("qty", "integer", true),
            ("at", "timestamp with time zone", true)
        ]
    );
    let r = w.json(&[
        "insert",
        &name,
        "items",
        r#"{"title": "first", "qty": "7"}"#,
    ]);
    let row: Value = serde_json::from_str(r["rows"][0][0].as_str().unwrap()).unwrap();
    assert_eq!(row["title"], "first");
    assert_eq!(
        row["qty"], 7,
        "Postgres converted the text to the column's type"
    );
    assert_eq!(row["id"], 1, "defaults apply to left-out columns");
    let err = w.fails(&["insert", &name, "items", r#"{"qty": 2}"#]);
    assert!(err.contains("null value in column \"title\""), "{err}");
    let err = w.fails(&["insert", &name, "items", "[1]"]);
    assert!(err.contains("JSON object"), "{err}");
}
