//! `supalove sql` takes its SQL from the argument, a file (`-f`) or stdin, and refuses empty
//! or unreadable input without running anything.

mod common;

use common::World;

/// Runs `supalove <args>` with `input` on stdin; (success, stdout, stderr).
fn with_stdin(w: &World, args: &[&str], input: &str) -> (bool, String, String) {
    let out = w.with_stdin(args, input);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sql_runs_a_file_and_stdin_and_refuses_empty_or_missing_input() {
    let w = World::new(19);
    let name = w.name("sqlin");
    w.ok(&["new", &name]);

    // A multi-line file with several statements, comments included.
    let file = w.home().join("schema.sql");
    std::fs::write(
        &file,
        "-- the notes table\ncreate table notes (\n  id bigserial primary key,\n  body text not null\n);\ninsert into notes (body) values ('from a file');\n",
    )
    .unwrap();
    w.ok(&["sql", &name, "-f", file.to_str().unwrap()]);
    assert_eq!(w.sql(&name, "select body from notes"), "from a file");

    // stdin, with `-` and with no argument at all (stdin is not a terminal here).
    let (ok, _, err) = with_stdin(
        &w,
        &["sql", &name, "-"],
        "insert into notes (body) values ('dash');",
    );
    assert!(ok, "{err}");
    let (ok, out, err) = with_stdin(
        &w,
        &["sql", &name, "--json"],
        "insert into notes (body) values ('piped');\nselect count(*) as n from notes;",
    );
    assert!(ok, "{err}");
    let results: serde_json::Value = serde_json::from_str(&out).unwrap();
    let last = results.as_array().unwrap().last().unwrap();
    assert_eq!(last["rows"], serde_json::json!([["3"]]), "{out}");
    assert_eq!(
        w.sql(&name, "select string_agg(body, ',' order by id) from notes"),
        "from a file,dash,piped"
    );

    // Refusals change nothing.
    let err = w.fails(&["sql", &name]); // stdin is /dev/null: empty
    assert!(
        err.contains("the SQL from stdin is empty: nothing was run"),
        "{err}"
    );
    let empty = w.home().join("empty.sql");
    std::fs::write(&empty, "\n  \n").unwrap();
    let err = w.fails(&["sql", &name, "-f", empty.to_str().unwrap()]);
    assert!(err.contains("is empty: nothing was run"), "{err}");
    let err = w.fails(&["sql", &name, "-f", "/nonexistent/schema.sql"]);
    assert!(
        err.contains("cannot read the SQL file /nonexistent/schema.sql"),
        "{err}"
    );
    let err = w.fails(&["sql", &name, "select 1", "-f", file.to_str().unwrap()]);
    assert!(err.contains("cannot be used with"), "{err}");
    assert_eq!(w.sql(&name, "select count(*) from notes"), "3");
}
