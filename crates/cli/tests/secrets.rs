//! Secrets stay in the secret store: never in the registry, the compose file or the logs; the
//! exported `.env` (0600) is the one opt-in exception, and `docker-compose` runs the export.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::{docker, eventually, World};

#[test]
fn registry_export_and_logs_hold_no_secret() {
    let w = World::new(30);
    let name = w.name("nosecret");
    w.ok(&["new", &name]);
    let env = w.env(&name);
    let secrets = [
        env["DB_PASSWORD"].as_str().unwrap().to_string(),
        env["JWT_SECRET"].as_str().unwrap().to_string(),
    ];
    assert!(
        secrets[1].len() >= 43,
        "JWT secret carries >= 32 random bytes"
    );
    // A failed login puts the attempted user in the server log; a bad query its text.
    w.sql(&name, "SELECT 1");

    let export_dir = tempfile::tempdir().unwrap();
    w.ok(&["export", &name, export_dir.path().to_str().unwrap()]);
    let logs = w.ok(&["logs", &name]);
    assert!(
        logs.contains("database system is ready to accept connections"),
        "{logs}"
    );

    let compose = std::fs::read_to_string(export_dir.path().join("docker-compose.yml")).unwrap();
    let dotenv = std::fs::read_to_string(export_dir.path().join(".env")).unwrap();
    for s in &secrets {
        assert!(
            !w.registry_text().contains(s.as_str()),
            "registry leaks a secret"
        );
        assert!(!compose.contains(s.as_str()), "compose file leaks a secret");
        assert!(!logs.contains(s.as_str()), "logs leak a secret");
        assert!(
            dotenv.contains(s.as_str()),
            ".env is where the export's secrets go"
        );
    }
    let mode = std::fs::metadata(export_dir.path().join(".env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    if std::env::var("SUPALOVE_IN_KEYRING_SESSION").as_deref() == Ok("1") {
        let files: Vec<_> = walk(w.home());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for s in &secrets {
                assert!(!text.contains(s.as_str()), "{} holds a secret", f.display());
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn exported_compose_file_runs_with_docker_compose() {
    let w = World::new(31);
    let name = w.name("compose");
    w.ok(&["new", &name]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    w.ok(&["export", &name, &d]);
    let env = w.env(&name);
    // Hand the project over to compose: supalove's containers go, compose makes its own.
    w.ok(&["rm", &name, "--volumes", "--yes"]);
    let compose = |args: &[&str]| common::compose(&d, args);
    compose(&["up", "-d"]);
    let container = format!("project_{name}_db");
    let healthy = eventually(Duration::from_secs(60), || {
        docker(&["inspect", "-f", "{{.State.Health.Status}}", &container]) == "healthy"
    });
    let result = Command::new("psql")
        .args(["-X", "-At", "-h", "127.0.0.1", "-U", "app", "-d", "app", "-p"])
        .arg(env["DB_PORT"].as_str().unwrap())
        .args(["-c", "SELECT current_setting('wal_level') || ',' || (SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime')"])
        .env("PGPASSWORD", env["DB_PASSWORD"].as_str().unwrap())
        .output()
        .unwrap();
    compose(&["down", "-v"]);
    assert!(healthy, "compose's container never became healthy");
    assert_eq!(
        String::from_utf8_lossy(&result.stdout).trim(),
        "logical,1",
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let labels = docker(&["ps", "-a", "-q", "--filter", &format!("name={container}")]);
    assert!(labels.is_empty(), "compose down removed its container");
}
