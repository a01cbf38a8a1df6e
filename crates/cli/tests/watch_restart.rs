//! `supalove watch` across a dockerd restart: it says Docker went away (naming the endpoint it
//! used), waits, says when it is back, and goes on reporting changes. The daemon restarted is a
//! second, private dockerd (own socket, data-root and exec-root, no bridge, no iptables), started
//! and stopped the way `scripts/start-dockerd.sh` starts the shared one, so the other tests'
//! daemon is never disturbed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::World;

struct Daemon {
    dir: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    fn socket(&self) -> String {
        format!("unix://{}/d.sock", self.dir.display())
    }

    fn start(&mut self) {
        let config = self.dir.join("daemon.json");
        std::fs::write(&config, r#"{"dns": ["127.0.0.1"]}"#).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dockerd.log"))
            .unwrap();
        let d = &self.dir;
        let child = Command::new("dockerd")
            .args(["--host", &self.socket()])
            .arg(format!("--data-root={}/root", d.display()))
            .arg(format!("--exec-root={}/exec", d.display()))
            .arg(format!("--pidfile={}/d.pid", d.display()))
            .arg(format!("--config-file={}", config.display()))
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .args(["--shutdown-timeout", "2"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd runs (scripts/setup.sh installs docker.io)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.docker(&["info"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "the private dockerd did not answer: {}",
                std::fs::read_to_string(d.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .args(["-H", &self.socket()])
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Lines of a child's stream, read on a thread.
fn lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line matching `want`, returning it; fails naming what was seen.
fn expect(rx: &mpsc::Receiver<String>, want: impl Fn(&str) -> bool, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if want(&line) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("{what}: never seen; got {seen:#?}")
}

fn empty_image(d: &Daemon) {
    // An image with no files: enough for containers that are created, never run.
    let mut import = Command::new("docker")
        .args(["-H", &d.socket(), "import", "-", "supalove-test/empty:1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        // Two zero blocks: a tar archive with no entries.
        let mut stdin = import.stdin.take().unwrap();
        stdin.write_all(&[0u8; 1024]).unwrap();
    }
    assert!(import.wait().unwrap().success(), "docker import");
}

fn create(d: &Daemon, project: &str, name: &str) {
    d.ok(&[
        "create",
        "--label",
        &format!("dev.supalove.project={project}"),
        "--label",
        "dev.supalove.service=db",
        "--name",
        name,
        "--network",
        "none",
        "supalove-test/empty:1",
        "/nothing",
    ]);
}

#[test]
fn watch_waits_out_a_dockerd_restart_and_resumes() {
    let dir = tempfile::Builder::new()
        .prefix("slv-d")
        .tempdir_in("/tmp")
        .unwrap()
        .keep();
    let mut daemon = Daemon { dir, child: None };
    daemon.start();
    empty_image(&daemon);

    let w = World::new(15);
    let project = format!("it-restart-{}", std::process::id() % 100_000);
    let mut watch = w
        .cmd(&["watch", "--json"])
        .env("DOCKER_HOST", daemon.socket())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines(watch.stdout.take().unwrap());
    let _err = lines(watch.stderr.take().unwrap());
    let _reap = KillOnDrop(watch);

    // Watch subscribes after it starts; create until it reports the change.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    loop {
        n += 1;
        create(&daemon, &project, &format!("project_{project}_db{n}"));
        if let Ok(line) = out.recv_timeout(Duration::from_secs(2)) {
            let ev: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(ev["kind"], "change", "{ev}");
            assert_eq!(ev["project"], project.as_str());
            assert_eq!(ev["action"], "create");
            break;
        }
        assert!(Instant::now() < deadline, "watch reported no change");
    }

    daemon.stop();
    let lost = expect(
        &out,
        |l| l.contains(r#""kind":"docker_lost""#),
        "docker_lost after dockerd stopped",
    );
    let socket = daemon.socket();
    let path = socket.trim_start_matches("unix://");
    assert!(lost.contains(path), "names the endpoint it used: {lost}");
    assert!(!lost.contains(r#""tried":[]"#), "{lost}");

    daemon.start();
    expect(
        &out,
        |l| l.contains(r#""kind":"docker_back""#) && l.contains(path),
        "docker_back after dockerd restarted",
    );
    // And it reports changes again, on the restarted daemon.
    create(&daemon, &project, &format!("project_{project}_after"));
    let line = expect(
        &out,
        |l| l.contains(r#""kind":"change""#) && l.contains(r#""action":"create""#),
        "a change after the restart",
    );
    assert!(line.contains(&project), "{line}");
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
