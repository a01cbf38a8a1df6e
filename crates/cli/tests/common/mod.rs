//! Shared set-up for the CLI's integration tests: each test gets its own registry, its own port
//! range and project names starting with `it-`, and removes its projects even when it fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One test's private supalove world.
pub struct World {
    pub home: tempfile::TempDir,
    pub db_base: u16,
    pub realtime_base: u16,
    names: Mutex<Vec<String>>,
}

/// The CLI binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_supalove"))
}

impl World {
    /// A world whose ports start at distinct bases per `slot`, so parallel tests never race.
    /// Slots 45 and 47 are kept free: the core unit tests use their realtime range.
    pub fn new(slot: u16) -> World {
        World {
            home: tempfile::tempdir().expect("temp home"),
            // Below Linux's ephemeral range (32768+), where outgoing connections take ports.
            db_base: 20000 + slot * 100,
            realtime_base: 26000 + slot * 100,
            names: Mutex::new(Vec::new()),
        }
    }

    /// A unique project name (`it-<tag>-<pid>`), removed when the world drops.
    pub fn name(&self, tag: &str) -> String {
        let n = format!("it-{tag}-{}", std::process::id() % 100_000);
        self.names.lock().unwrap().push(n.clone());
        n
    }

    /// `supalove <args>` in this world.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .env("SUPALOVE_HOME", self.home.path())
            .env("SUPALOVE_DB_PORT_BASE", self.db_base.to_string())
            .env(
                "SUPALOVE_REALTIME_PORT_BASE",
                self.realtime_base.to_string(),
            )
            .env("SUPALOVE_MAX_OFFSET", "90")
            .env("SUPALOVE_PULL", "never")
            .stdin(Stdio::null());
        if std::env::var("SUPALOVE_IN_KEYRING_SESSION").as_deref() != Ok("1") {
            // Outside scripts/with-keyring.sh there is no Secret Service: use the opt-in store.
            c.env("SUPALOVE_SECRET_STORE", "file");
        }
        c
    }

    /// Runs and returns the output, whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run supalove")
    }

    /// Runs with `input` on stdin; the output, whatever the exit status.
    pub fn with_stdin(&self, args: &[&str], input: &str) -> Output {
        run_with_stdin(self.cmd(args), input)
    }

    /// Runs, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.run(args))
    }

    /// Runs, asserts failure, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "supalove {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }

    /// `--json` output parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).expect("json output")
    }

    /// The project's connection settings.
    pub fn env(&self, name: &str) -> serde_json::Value {
        self.json(&["env", name])
    }

    /// Runs SQL through the real `psql` client; returns unaligned output.
    pub fn sql(&self, name: &str, sql: &str) -> String {
        let env = self.env(name);
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "app",
                "-d",
                "app",
            ])
            .args(["-p", env["DB_PORT"].as_str().unwrap(), "-c", sql])
            .env("PGPASSWORD", env["DB_PASSWORD"].as_str().unwrap())
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .expect("psql is installed (scripts/setup.sh)");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// The registry file's text (empty when absent).
    pub fn registry_text(&self) -> String {
        std::fs::read_to_string(self.home.path().join("projects.json")).unwrap_or_default()
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for name in self.names.lock().unwrap().iter() {
            let _ = self.run(&["rm", name, "--volumes", "--yes", "--no-backup"]);
        }
    }
}

/// Asserts that `supalove <args>` succeeded; its stdout.
pub fn succeeded(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "supalove {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs `cmd` with `input` on stdin; the output, whatever the exit status.
pub fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run supalove");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("supalove output")
}

/// `docker-compose -f <dir>/docker-compose.yml <args>`, asserting success (an exported project
/// run as a person would run it).
pub fn compose(dir: &str, args: &[&str]) {
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(format!("{dir}/docker-compose.yml"))
        .args(args)
        .output()
        .expect("docker-compose is installed by scripts/setup.sh --test");
    assert!(
        out.status.success(),
        "docker-compose {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `docker <args>` output (tests inspect with the CLI, as a user would; the product uses bollard).
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Names of containers whose name contains `part`.
pub fn containers_named(part: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("name={part}"),
    ])
    .lines()
    .map(str::to_string)
    .filter(|l| !l.is_empty())
    .collect()
}

/// Asserts that nothing of project `name` exists: no registry entry, container, network or volume.
pub fn assert_nothing_created(w: &World, name: &str) {
    assert!(
        !w.registry_text().contains(&format!("\"{name}\"")),
        "registry: {}",
        w.registry_text()
    );
    let prefix = format!("name=project_{name}");
    assert!(
        containers_named(&format!("project_{name}_")).is_empty(),
        "a container of {name} exists"
    );
    assert!(
        docker(&["network", "ls", "-q", "--filter", &prefix]).is_empty(),
        "a network of {name} exists"
    );
    assert!(
        docker(&["volume", "ls", "-q", "--filter", &prefix]).is_empty(),
        "a volume of {name} exists"
    );
}

/// Polls `f` every 20 ms until it is true or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
