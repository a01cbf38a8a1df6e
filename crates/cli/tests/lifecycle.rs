//! A project's whole life on a real dockerd: new, ready, stop, start, restart, recreate, rm.

mod common;

use common::{containers_named, docker, World};

#[test]
fn lifecycle_keeps_data_across_stop_start_restart_and_recreate() {
    let w = World::new(1);
    let name = w.name("life");
    let card = w.json(&["new", &name]);
    assert_eq!(card["status"], "healthy", "{card}");
    assert_eq!(card["name"], name.as_str());
    let db_url = card["db_url"].as_str().unwrap();
    assert!(
        db_url.starts_with("postgresql://app:") && db_url.ends_with("/app"),
        "{db_url}"
    );
    assert_eq!(card["ports"]["db"], w.db_base + 1);
    assert_eq!(
        card["ports"]["realtime"],
        w.realtime_base + 1,
        "REALTIME_PORT = base + offset"
    );

    // What the template promised is really in the database.
    assert_eq!(w.sql(&name, "SHOW wal_level"), "logical");
    assert_eq!(
        w.sql(
            &name,
            "SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime'"
        ),
        "1"
    );
    assert_eq!(
        w.sql(
            &name,
            "SELECT string_agg(rolname || ':' || rolbypassrls || ':' || rolcanlogin, ',' ORDER BY rolname) \
             FROM pg_roles WHERE rolname IN ('anon','authenticated','service_role')"
        ),
        "anon:false:false,authenticated:false:false,service_role:true:false"
    );
    assert_eq!(
        w.sql(&name, "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('_realtime','realtime')"),
        "_realtime,realtime"
    );
    w.sql(&name, "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('kept')");
    assert_eq!(
        w.sql(&name, "SET ROLE anon; SELECT count(*) FROM notes"),
        "1",
        "default privileges let anon read new tables"
    );

    // Labels let Docker tools (and supalove) find the objects.
    let container = format!("project_{name}_db");
    let labels = docker(&["inspect", "-f", "{{json .Config.Labels}}", &container]);
    let labels: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["dev.supalove.project"], name.as_str());
    assert_eq!(
        labels["com.docker.compose.project"],
        format!("project_{name}")
    );
    assert_eq!(labels["com.docker.compose.service"], "db");
    assert_eq!(
        docker(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", &container]),
        format!("project_{name}")
    );

    let stats = w.json(&["stats", &name]);
    assert_eq!(stats[0]["service"], "db", "{stats}");
    assert!(
        stats[0]["memory_bytes"].as_u64().unwrap() > 1_000_000,
        "{stats}"
    );
    assert!(stats[0]["cpu_percent"].as_f64().unwrap() >= 0.0);

    let stopped = w.json(&["stop", &name]);
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(w.json(&["show", &name])["status"], "stopped");
    assert_eq!(w.json(&["start", &name])["status"], "healthy");
    assert_eq!(w.sql(&name, "SELECT body FROM notes"), "kept");
    assert_eq!(w.json(&["restart", &name])["status"], "healthy");
    assert_eq!(w.sql(&name, "SELECT body FROM notes"), "kept");

    // A container removed behind supalove's back is reported missing and recreated on start,
    // on the same volume.
    docker(&["rm", "-f", &container]);
    assert_eq!(w.json(&["show", &name])["status"], "missing");
    assert_eq!(w.json(&["start", &name])["status"], "healthy");
    assert_eq!(w.sql(&name, "SELECT body FROM notes"), "kept");
    assert_eq!(containers_named(&container), vec![container.clone()]);

    // rm keeps the data volume (and secrets) unless asked; new reattaches it.
    let report = w.json(&["rm", &name, "--yes"]);
    let mut removed: Vec<&str> = report["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        [container.clone(), format!("project_{name}_realtime")]
    );
    assert_eq!(report["volumes_kept"][0], format!("project_{name}_db_data"));
    assert!(containers_named(&container).is_empty());
    assert!(!w.registry_text().contains(&name));
    assert_eq!(w.json(&["new", &name])["status"], "healthy");
    assert_eq!(w.sql(&name, "SELECT body FROM notes"), "kept");

    let report = w.json(&["rm", &name, "--volumes", "--yes"]);
    assert_eq!(
        report["volumes_removed"][0],
        format!("project_{name}_db_data")
    );
    assert!(docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=project_{name}")
    ])
    .is_empty());
    assert!(docker(&[
        "network",
        "ls",
        "-q",
        "--filter",
        &format!("name=project_{name}")
    ])
    .is_empty());
    let err = w.fails(&["show", &name]);
    assert!(err.contains("no project named"), "{err}");
}

#[test]
fn published_ports_bind_loopback_only() {
    let w = World::new(2);
    let name = w.name("ports");
    w.ok(&["new", &name]);
    let mut count = 0;
    for service in ["db", "realtime"] {
        let bindings = docker(&[
            "inspect",
            "-f",
            "{{json .NetworkSettings.Ports}}",
            &format!("project_{name}_{service}"),
        ]);
        let bindings: serde_json::Value = serde_json::from_str(&bindings).unwrap();
        for (port, hosts) in bindings.as_object().unwrap() {
            for h in hosts.as_array().unwrap() {
                assert_eq!(
                    h["HostIp"], "127.0.0.1",
                    "{service} {port} is published on {h}"
                );
                count += 1;
            }
        }
    }
    assert_eq!(count, 2, "exactly the db and realtime ports are published");
}

#[test]
fn rm_without_yes_asks_and_removes_nothing() {
    let w = World::new(3);
    let name = w.name("ask");
    w.ok(&["new", &name]);
    let err = w.fails(&["rm", &name]);
    assert!(
        err.contains(&format!("container project_{name}_db")),
        "says what it removes: {err}"
    );
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(w.json(&["show", &name])["status"], "healthy");
}

#[test]
fn watch_streams_docker_events_and_logs_follow_streams_new_lines() {
    let w = World::new(4);
    let name = w.name("watch");
    w.ok(&["new", &name]);
    let mut watch = w
        .cmd(&["watch", &name, "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut follow = w
        .cmd(&["logs", &name, "db", "-f", "--tail", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // An error the server logs, then a stop: both must reach the streams.
    let env = w.env(&name);
    let _ = std::process::Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-U", "app", "-d", "app", "-p"])
        .arg(env["DB_PORT"].as_str().unwrap())
        .args(["-c", "SELECT 1/0 AS supalove_follow_probe"])
        .env("PGPASSWORD", env["DB_PASSWORD"].as_str().unwrap())
        .output()
        .unwrap();
    w.ok(&["stop", &name]);
    // The follower survives the stop: it reattaches when the container runs again.
    w.ok(&["start", &name]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    watch.kill().unwrap();
    follow.kill().unwrap();
    let events = String::from_utf8(watch.wait_with_output().unwrap().stdout).unwrap();
    let actions: Vec<String> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .inspect(|e| assert_eq!(e["project"], name.as_str()))
        .filter(|e| e["service"] == "db")
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(actions.iter().any(|a| a == "stop"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "die"), "{actions:?}");
    let logs = String::from_utf8(follow.wait_with_output().unwrap().stdout).unwrap();
    assert!(logs.contains("division by zero"), "{logs}");
    assert!(logs.contains("supalove_follow_probe"), "{logs}");
    assert_eq!(
        logs.matches("database system is ready to accept connections").count(),
        1,
        "--tail 0 skipped the first start; the restart's line came through the reattached stream: {logs}"
    );
}
