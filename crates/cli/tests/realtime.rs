//! Realtime in the stack, end to end: `supalove listen` (our Rust client) against the project's
//! realtime_url sees each committed change with the right shape, per project, across stop/start.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::World;
use serde_json::Value;

/// A running `supalove listen`, its JSON lines arriving on a channel.
struct Listener {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Listener {
    fn start(w: &World, name: &str, extra: &[&str]) -> Listener {
        let mut args = vec!["listen", name];
        args.extend_from_slice(extra);
        let mut child = w
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        let l = Listener { child, lines: rx };
        l.wait_for(
            |e| e["event"]["kind"] == "system" && e["event"]["payload"]["status"] == "ok",
            "Subscribed to PostgreSQL",
        );
        l
    }

    /// The next event matching `pred`, or a panic naming `what`.
    fn wait_for(&self, pred: impl Fn(&Value) -> bool, what: &str) -> Value {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(v) if pred(&v) => return v,
                Ok(_) => continue,
                Err(_) => panic!("no {what} within 20 s"),
            }
        }
    }

    fn change(&self, ty: &str) -> Value {
        self.wait_for(
            |e| e["event"]["kind"] == "postgres_changes" && e["event"]["data"]["type"] == ty,
            ty,
        )
    }

    /// True when nothing arrives within `d`.
    fn quiet_for(&self, d: Duration) -> Option<Value> {
        self.lines.recv_timeout(d).ok()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

fn notes(w: &World, name: &str) {
    w.ok(&[
        "sql",
        name,
        "CREATE TABLE notes (id serial PRIMARY KEY, body text, n int); ALTER PUBLICATION supabase_realtime ADD TABLE notes",
    ]);
}

#[test]
fn listen_sees_insert_update_delete_with_the_official_shape() {
    let w = World::new(50);
    let name = w.name("listen");
    let card = w.json(&["new", &name]);
    assert_eq!(
        card["realtime_url"],
        format!("ws://127.0.0.1:{}/socket", w.realtime_base + 1)
    );
    let env = w.env(&name);
    assert_eq!(env["REALTIME_URL"], card["realtime_url"]);
    notes(&w, &name);
    // The stack lets the engine stream (push) over a replication connection, not poll.
    let health = http_get(w.realtime_base + 1, "/health");
    assert!(health.contains("\"method\":\"streaming\""), "{health}");
    let l = Listener::start(&w, &name, &["--table", "notes"]);

    w.ok(&[
        "sql",
        &name,
        "INSERT INTO notes (body, n) VALUES ('hello', 1)",
    ]);
    let ins = l.change("INSERT");
    let data = &ins["event"]["data"];
    assert_eq!(data["schema"], "public");
    assert_eq!(data["table"], "notes");
    assert_eq!(data["record"]["body"], "hello");
    assert_eq!(data["record"]["n"], 1);
    assert!(data["errors"].is_null());
    assert!(data["commit_timestamp"].as_str().unwrap().ends_with('Z'));
    let cols: Vec<&str> = data["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["id", "body", "n"]);
    assert_eq!(data["columns"][0]["type"], "int4");
    assert!(ins["latency_ms"].as_f64().unwrap() >= 0.0, "{ins}");
    assert_eq!(ins["event"]["ids"].as_array().unwrap().len(), 1);

    w.ok(&[
        "sql",
        &name,
        "UPDATE notes SET body = 'changed' WHERE n = 1",
    ]);
    let upd = l.change("UPDATE");
    assert_eq!(upd["event"]["data"]["record"]["body"], "changed");
    assert_eq!(
        upd["event"]["data"]["old_record"]["id"],
        data["record"]["id"]
    );

    w.ok(&["sql", &name, "DELETE FROM notes WHERE n = 1"]);
    let del = l.change("DELETE");
    assert_eq!(
        del["event"]["data"]["old_record"]["id"],
        data["record"]["id"]
    );
    assert!(del["event"]["data"]
        .get("record")
        .is_none_or(|r| r.is_null() || r == &serde_json::json!({})));
}

#[test]
fn filters_and_roles_shape_what_a_listener_sees() {
    let w = World::new(51);
    let name = w.name("filters");
    w.ok(&["new", &name]);
    notes(&w, &name);
    w.ok(&[
        "sql",
        &name,
        "ALTER TABLE notes ENABLE ROW LEVEL SECURITY; CREATE POLICY anon_small ON notes FOR SELECT TO anon USING (n < 10)",
    ]);
    let only_five = Listener::start(
        &w,
        &name,
        &[
            "--table",
            "notes",
            "--event",
            "INSERT",
            "--filter",
            "n=eq.5",
            "--role",
            "service_role",
        ],
    );
    let anon = Listener::start(
        &w,
        &name,
        &[
            "--table",
            "notes",
            "--event",
            "INSERT",
            "--channel",
            "anon-view",
        ],
    );
    w.ok(&[
        "sql",
        &name,
        "INSERT INTO notes (body, n) VALUES ('four', 4), ('five', 5), ('fifty', 50)",
    ]);
    assert_eq!(
        only_five.change("INSERT")["event"]["data"]["record"]["body"],
        "five"
    );
    // RLS: anon sees rows with n < 10 only.
    let mut seen = vec![];
    for _ in 0..2 {
        seen.push(
            anon.change("INSERT")["event"]["data"]["record"]["n"]
                .as_i64()
                .unwrap(),
        );
    }
    seen.sort();
    assert_eq!(seen, [4, 5]);
    if let Some(extra) = anon.quiet_for(Duration::from_millis(800)) {
        assert!(
            extra["event"]["data"]["record"]["n"] != 50,
            "anon must not see n=50: {extra}"
        );
    }
    if let Some(extra) = only_five.quiet_for(Duration::from_millis(300)) {
        assert_ne!(
            extra["event"]["kind"], "postgres_changes",
            "the filter lets only n=5 through: {extra}"
        );
    }
}

#[test]
fn two_projects_listen_at_once_and_each_gets_only_its_own_changes() {
    let w = World::new(52);
    let a = w.name("pair-a");
    let b = w.name("pair-b");
    w.ok(&["new", &a]);
    w.ok(&["new", &b]);
    notes(&w, &a);
    notes(&w, &b);
    let la = Listener::start(&w, &a, &["--table", "notes"]);
    let lb = Listener::start(&w, &b, &["--table", "notes"]);
    w.ok(&["sql", &a, "INSERT INTO notes (body) VALUES ('for a')"]);
    w.ok(&["sql", &b, "INSERT INTO notes (body) VALUES ('for b')"]);
    assert_eq!(
        la.change("INSERT")["event"]["data"]["record"]["body"],
        "for a"
    );
    assert_eq!(
        lb.change("INSERT")["event"]["data"]["record"]["body"],
        "for b"
    );
    for (l, other) in [(&la, "for b"), (&lb, "for a")] {
        if let Some(extra) = l.quiet_for(Duration::from_millis(500)) {
            assert_ne!(extra["event"]["data"]["record"]["body"], other, "{extra}");
        }
    }
}

#[test]
fn realtime_keeps_working_across_stop_and_start() {
    let w = World::new(53);
    let name = w.name("restart-rt");
    w.ok(&["new", &name]);
    notes(&w, &name);
    w.ok(&["stop", &name]);
    assert_eq!(w.json(&["show", &name])["status"], "stopped");
    let card = w.json(&["start", &name]);
    assert_eq!(card["status"], "healthy", "{card}");
    let l = Listener::start(&w, &name, &["--table", "notes"]);
    w.ok(&[
        "sql",
        &name,
        "INSERT INTO notes (body) VALUES ('after restart')",
    ]);
    assert_eq!(
        l.change("INSERT")["event"]["data"]["record"]["body"],
        "after restart"
    );
}

#[test]
fn bad_tokens_are_refused_before_the_upgrade() {
    let w = World::new(54);
    let name = w.name("badtoken");
    w.ok(&["new", &name]);
    let expired = w
        .cmd(&[
            "listen",
            &name,
            "--no-changes",
            "--claims",
            "{\"exp\": 1000}",
        ])
        .output()
        .unwrap();
    assert!(!expired.status.success());
    let err = String::from_utf8_lossy(&expired.stderr);
    assert!(err.contains("refused the connection with HTTP"), "{err}");
}
