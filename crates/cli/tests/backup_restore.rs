//! Backups before destruction: `rm --volumes` dumps a database that holds anything into the
//! app-data dir first; `backup` / `restore` by hand; backup -> rm --volumes -> new -> restore
//! gives the same rows. pg_dump and psql run inside the db container.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{containers_named, World};

const ROWS: &str = "SELECT string_agg(id || ':' || body, ',' ORDER BY id) FROM notes";

#[test]
fn backup_rm_volumes_new_restore_gives_the_same_rows() {
    let w = World::new(61);
    let name = w.name("backup");
    w.ok(&["new", &name]);
    w.sql(
        &name,
        "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); \
         ALTER PUBLICATION supabase_realtime ADD TABLE notes; \
         INSERT INTO notes (body) VALUES ('one'), ('two'), ('it''s three')",
    );
    let before = w.sql(&name, ROWS);
    assert_eq!(before, "1:one,2:two,3:it's three");

    // By hand, with progress on stderr.
    let dir = tempfile::tempdir().unwrap();
    let manual = dir.path().join("by-hand.sql");
    let out = w.run(&["backup", &name, "--out", manual.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains("[backup]") && progress.contains("wrote"),
        "{progress}"
    );
    let dump = std::fs::read_to_string(&manual).unwrap();
    assert!(
        dump.starts_with("--\n-- PostgreSQL database dump"),
        "{dump:.200}"
    );
    assert!(dump.contains("it's three"), "the rows are in the dump");
    let mode = std::fs::metadata(&manual).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a dump holds the data: private");

    // rm --volumes takes its own backup first, into the app-data dir.
    let report = w.json(&["rm", &name, "--volumes", "--yes"]);
    let auto = report["backup"]
        .as_str()
        .expect("rm --volumes backed up")
        .to_string();
    assert!(
        auto.starts_with(w.home().join("backups").to_str().unwrap()),
        "{auto}"
    );
    assert!(std::fs::read_to_string(&auto)
        .unwrap()
        .contains("it's three"));
    assert!(containers_named(&format!("project_{name}_")).is_empty());

    // A new project of that name is empty; the restore brings the rows back.
    w.ok(&["new", &name]);
    assert_eq!(
        w.sql(
            &name,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'notes'"
        ),
        "0"
    );
    let restored = w.json(&["restore", &name, &auto]);
    assert!(
        restored["previous"].is_null(),
        "an empty database needs no backup: {restored}"
    );
    assert_eq!(w.sql(&name, ROWS), before);
    assert_eq!(
        w.sql(
            &name,
            "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'supabase_realtime' AND tablename = 'notes'"
        ),
        "1",
        "the table is published again"
    );
    // The sequence came back too: the next row continues the numbering.
    w.sql(&name, "INSERT INTO notes (body) VALUES ('four')");
    assert_eq!(w.sql(&name, "SELECT max(id) FROM notes"), "4");

    // Restoring over data keeps what was there as a backup, and the manual dump restores too.
    let again = w.json(&["restore", &name, manual.to_str().unwrap()]);
    let previous = again["previous"]
        .as_str()
        .expect("the data was backed up first");
    assert!(std::fs::read_to_string(previous).unwrap().contains("four"));
    assert_eq!(w.sql(&name, ROWS), before);
}

#[test]
fn bad_restore_input_and_unreachable_databases_change_nothing() {
    let w = World::new(62);
    let name = w.name("badrestore");
    w.ok(&["new", &name]);
    w.sql(
        &name,
        "CREATE TABLE keep (n int); INSERT INTO keep VALUES (7)",
    );

    let dir = tempfile::tempdir().unwrap();
    let not_a_dump = dir.path().join("notes.txt");
    std::fs::write(&not_a_dump, "DROP TABLE keep;\n").unwrap();
    let err = w.fails(&["restore", &name, not_a_dump.to_str().unwrap()]);
    assert!(err.contains("not a plain SQL dump"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    let missing = dir.path().join("nope.sql");
    let err = w.fails(&["restore", &name, missing.to_str().unwrap()]);
    assert!(err.contains("cannot open it"), "{err}");

    // A dump whose SQL fails midway rolls back as a whole.
    let broken = dir.path().join("broken.sql");
    std::fs::write(
        &broken,
        "--\n-- PostgreSQL database dump\n--\nDELETE FROM keep;\nSELECT * FROM no_such_table;\n",
    )
    .unwrap();
    let err = w.fails(&["restore", &name, broken.to_str().unwrap()]);
    assert!(err.contains("no_such_table"), "{err}");
    assert_eq!(
        w.sql(&name, "SELECT n FROM keep"),
        "7",
        "the failed restore changed nothing"
    );

    // A stopped database can be neither backed up nor deleted with its data unbacked.
    w.ok(&["stop", &name]);
    let err = w.fails(&["backup", &name]);
    assert!(
        err.contains("not running") && err.contains("supalove start"),
        "{err}"
    );
    let err = w.fails(&["rm", &name, "--volumes", "--yes"]);
    assert!(
        err.contains("could not back up") && err.contains("--no-backup"),
        "{err}"
    );
    assert!(
        !containers_named(&format!("project_{name}_")).is_empty(),
        "nothing was removed"
    );
    w.ok(&["start", &name]);
    assert_eq!(w.sql(&name, "SELECT n FROM keep"), "7");

    // An empty database is deleted without a backup.
    let empty = w.name("emptyrm");
    w.ok(&["new", &empty]);
    let report = w.json(&["rm", &empty, "--volumes", "--yes"]);
    assert!(report["backup"].is_null(), "{report}");
}
