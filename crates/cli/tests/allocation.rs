//! Names and ports: validation, uniqueness, clashes, foreign listeners, concurrent creation.

mod common;

use std::net::TcpListener;

use common::{containers_named, World};

#[test]
fn invalid_names_are_refused_and_create_nothing() {
    let w = World::new(10);
    for (bad, why) in [
        ("Shop", "uppercase"),
        ("my_shop", "'_' is not allowed"),
        ("-x", "starts or ends"),
        ("", "empty"),
        (&"a".repeat(41), "limit is 40"),
    ] {
        let err = w.fails(&["new", "--", bad]);
        assert!(err.contains(why), "{bad:?}: {err}");
        assert!(err.contains("hint:"), "{err}");
    }
    assert!(
        !w.registry_text().contains("\"name\""),
        "registry untouched: {}",
        w.registry_text()
    );
}

#[test]
fn duplicate_name_and_explicit_port_clash_create_nothing() {
    let w = World::new(11);
    let a = w.name("clash-a");
    let b = w.name("clash-b");
    let card = w.json(&["new", &a]);
    let db_port = card["ports"]["db"].as_u64().unwrap().to_string();
    let before = w.registry_text();

    let err = w.fails(&["new", &a]);
    assert!(err.contains("already exists"), "{err}");

    let err = w.fails(&["new", &b, "--db-port", &db_port]);
    assert!(err.contains(&format!("port {db_port}")), "{err}");
    assert!(
        err.contains(&format!("supalove project \"{a}\"")),
        "names the owner: {err}"
    );
    assert_eq!(w.registry_text(), before, "registry unchanged");
    assert!(containers_named(&format!("project_{b}_")).is_empty());
}

#[test]
fn ports_held_by_foreign_listeners_are_skipped_or_named() {
    let w = World::new(12);
    // Something else on this machine holds what would be offset 1's realtime port.
    let _foreign = TcpListener::bind(("127.0.0.1", w.realtime_base + 1)).unwrap();
    let name = w.name("foreign");
    let card = w.json(&["new", &name]);
    assert_eq!(card["ports"]["db"], w.db_base + 2, "{card}");
    assert_eq!(card["ports"]["realtime"], w.realtime_base + 2);

    let other = w.name("foreign2");
    let port = (w.realtime_base + 1).to_string();
    let err = w.fails(&["new", &other, "--realtime-port", &port]);
    assert!(err.contains(&format!("port {port}")), "{err}");
    let me = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert!(
        err.contains(me.trim()),
        "names the listening program: {err}"
    );
    assert!(containers_named(&format!("project_{other}_")).is_empty());
}

#[test]
fn two_projects_created_at_once_get_distinct_ports() {
    let w = World::new(13);
    let names = [w.name("twin-a"), w.name("twin-b")];
    let children: Vec<_> = names
        .iter()
        .map(|n| {
            w.cmd(&["new", n, "--json"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let cards: Vec<serde_json::Value> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect();
    assert_ne!(cards[0]["ports"]["db"], cards[1]["ports"]["db"]);
    assert_ne!(cards[0]["ports"]["realtime"], cards[1]["ports"]["realtime"]);
    for (n, c) in names.iter().zip(&cards) {
        assert_eq!(c["status"], "healthy");
        assert_eq!(w.sql(n, "SELECT current_database()"), "app");
    }
    // Each answers on its own port with its own data.
    w.sql(&names[0], "CREATE TABLE only_a (x int)");
    assert_eq!(
        w.sql(
            &names[1],
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_a'"
        ),
        "0"
    );
    let list = w.json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn start_refuses_a_port_a_foreign_program_took_while_stopped() {
    let w = World::new(14);
    let name = w.name("took");
    let card = w.json(&["new", &name]);
    w.ok(&["stop", &name]);
    let port = card["ports"]["realtime"].as_u64().unwrap() as u16;
    let holder = TcpListener::bind(("127.0.0.1", port)).unwrap();

    let err = w.fails(&["start", &name]);
    assert!(err.contains(&format!("port {port}")), "{err}");
    let me = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert!(err.contains(me.trim()), "names the program: {err}");
    let shown = w.json(&["show", &name]);
    assert_eq!(shown["status"], "stopped", "nothing started: {shown}");

    // Once the port is free again the same project starts on its own ports.
    drop(holder);
    let card = w.json(&["start", &name]);
    assert_eq!(card["status"], "healthy", "{card}");
    assert_eq!(card["ports"]["realtime"], port);
}
