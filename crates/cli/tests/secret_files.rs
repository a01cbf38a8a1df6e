//! Secrets reach the db and the native engine as 0400 files, never as environment variables:
//! `docker inspect` of either container shows neither the database password nor the JWT
//! secret, and the project still provisions, streams changes and exports to docker-compose.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{docker, eventually, World};
use serde_json::Value;

/// Waits for one `supalove listen` line matching `pred`.
fn wait_line(rx: &mpsc::Receiver<Value>, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(v) if pred(&v) => return v,
            Ok(_) => continue,
            Err(_) => panic!("no {what} within 20 s"),
        }
    }
}

#[test]
fn native_containers_hold_no_secret_yet_provision_stream_and_export() {
    let w = World::new(67);
    let name = w.name("secretfiles");
    w.ok(&["new", &name]);
    let env = w.env(&name);
    let secrets = [
        env["DB_PASSWORD"].as_str().unwrap().to_string(),
        env["JWT_SECRET"].as_str().unwrap().to_string(),
    ];

    for service in ["db", "realtime"] {
        let container = format!("project_{name}_{service}");
        let inspect = docker(&["inspect", &container]);
        assert!(inspect.contains(&container), "inspect worked: {inspect}");
        for s in &secrets {
            assert!(
                !inspect.contains(s.as_str()),
                "docker inspect {container} shows a secret"
            );
        }
        // The files are there, 0400, owned by the user the image runs as.
        let want_owner = if service == "db" { "0" } else { "65534" };
        let stat = docker(&[
            "exec",
            &container,
            "stat",
            "-c",
            "%a %u",
            "/run/secrets/db_password",
        ]);
        assert_eq!(stat, format!("400 {want_owner}"), "{container}");
    }
    let rt_env = docker(&[
        "inspect",
        "-f",
        "{{json .Config.Env}}",
        &format!("project_{name}_realtime"),
    ]);
    assert!(
        rt_env.contains("JWT_SECRET_FILE=/run/secrets/jwt_secret"),
        "{rt_env}"
    );
    assert!(
        rt_env.contains("DB_PASSWORD_FILE=/run/secrets/db_password"),
        "{rt_env}"
    );

    // It streams: a listener gets an inserted row.
    w.ok(&[
        "sql",
        &name,
        "CREATE TABLE notes (id serial PRIMARY KEY, body text); ALTER PUBLICATION supabase_realtime ADD TABLE notes",
    ]);
    let mut child = w
        .cmd(&["listen", &name, "--table", "notes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    wait_line(&rx, "subscription", |e| {
        e["event"]["kind"] == "system" && e["event"]["payload"]["status"] == "ok"
    });
    w.ok(&[
        "sql",
        &name,
        "INSERT INTO notes (body) VALUES ('from a file secret')",
    ]);
    let ins = wait_line(&rx, "INSERT", |e| {
        e["event"]["kind"] == "postgres_changes" && e["event"]["data"]["type"] == "INSERT"
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ins["event"]["data"]["record"]["body"], "from a file secret");

    // It exports: compose mounts the secret files, and both services come up with them.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    w.ok(&["export", &name, &d]);
    let compose_text = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    let mode = |p: &str| {
        std::fs::metadata(dir.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("secrets"), 0o700, "the secrets folder is private");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("secrets/db_password")).unwrap(),
        secrets[0]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("secrets/jwt_secret")).unwrap(),
        secrets[1]
    );
    for s in &secrets {
        assert!(
            !compose_text.contains(s.as_str()),
            "compose file leaks a secret"
        );
    }
    w.ok(&["rm", &name, "--volumes", "--yes", "--no-backup"]);
    let compose = |args: &[&str]| common::compose(&d, args);
    compose(&["up", "-d"]);
    let rt = format!("project_{name}_realtime");
    let healthy = eventually(Duration::from_secs(90), || {
        docker(&["inspect", "-f", "{{.State.Health.Status}}", &rt]) == "healthy"
    });
    let health = Command::new("curl")
        .args([
            "-s",
            &format!(
                "http://127.0.0.1:{}/health",
                env["REALTIME_PORT"].as_str().unwrap()
            ),
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let inspect = docker(&["inspect", &rt, &format!("project_{name}_db")]);
    let logs = docker(&["logs", &rt]);
    compose(&["down", "-v"]);
    assert!(healthy, "compose's realtime never became healthy: {logs}");
    assert!(health.contains("\"db_connected\":true"), "{health}");
    for s in &secrets {
        assert!(
            !inspect.contains(s.as_str()),
            "compose's containers show a secret"
        );
    }
}
