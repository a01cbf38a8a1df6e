//! `supalove-api-bench [rounds] [projects]`: the control-plane API against the CLI.
//! (1) `POST /v1/projects` until its 201 against `supalove new` of the same kind of project, image
//! present, `rounds` times each; (2) requests per second (and latency) of `GET /v1/projects`
//! with `projects` projects (default 20) on keep-alive connections. Prints a table; asserts
//! nothing. Run it from a built tree: `cargo build --release -p supalove && target/release/supalove-api-bench`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "bench_kit.rs"]
mod bench_kit;
use bench_kit::{median, ms, print_medians};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let projects: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(20);
    let bench = Bench::new()?;
    let result = bench.run(rounds, projects);
    bench.cleanup();
    result
}

struct Bench {
    supalove: PathBuf,
    home: tempfile::TempDir,
    port: u16,
    server: std::sync::Mutex<Option<Child>>,
    created: std::sync::Mutex<Vec<String>>,
}

impl Bench {
    fn new() -> anyhow::Result<Bench> {
        let me = std::env::current_exe()?;
        let supalove = me.with_file_name("supalove");
        anyhow::ensure!(
            supalove.exists(),
            "build the CLI first: {} is missing",
            supalove.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        Ok(Bench {
            supalove,
            home: tempfile::tempdir()?,
            port,
            server: std::sync::Mutex::new(None),
            created: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.supalove);
        c.args(args)
            .env("SUPALOVE_HOME", self.home.path())
            .env("SUPALOVE_DB_PORT_BASE", "57500")
            .env("SUPALOVE_REALTIME_PORT_BASE", "9800")
            .env("SUPALOVE_PULL", "never")
            .stdin(Stdio::null());
        c
    }

    fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.cmd(args).output()?;
        anyhow::ensure!(
            out.status.success(),
            "supalove {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    }

    fn run(&self, rounds: usize, projects: usize) -> anyhow::Result<()> {
        let port = self.port.to_string();
        let child = self
            .cmd(&["serve", "--port", &port])
            .stderr(Stdio::null())
            .spawn()?;
        *self.server.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while request(self.port, "GET", "/v1/health", None, None).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "supalove serve did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        let token = self.cli(&["api", "token"])?.trim().to_string();

        // (1) one create each way per round, alternating so drift hits both equally.
        let (mut cli, mut api) = (Vec::new(), Vec::new());
        for round in 1..=rounds {
            let name = format!("bench-cli-{round}");
            self.created.lock().unwrap().push(name.clone());
            let t = Instant::now();
            self.cli(&["new", &name, "--json"])?;
            cli.push(t.elapsed());

            let name = format!("bench-api-{round}");
            self.created.lock().unwrap().push(name.clone());
            let body = format!(r#"{{"name":"{name}"}}"#);
            let t = Instant::now();
            let (status, text) =
                request(self.port, "POST", "/v1/projects", Some(&token), Some(&body))?;
            api.push(t.elapsed());
            anyhow::ensure!(status == 201, "POST /v1/projects: {status} {text}");
            eprintln!(
                "round {round}: supalove new {} ms, POST /v1/projects {} ms",
                ms(*cli.last().unwrap()),
                ms(*api.last().unwrap())
            );
        }

        // (2) fill up to `projects` and measure the list.
        let have = 2 * rounds;
        for i in have..projects {
            let name = format!("bench-fill-{i}");
            self.created.lock().unwrap().push(name.clone());
            let body = format!(r#"{{"name":"{name}"}}"#);
            let (status, text) =
                request(self.port, "POST", "/v1/projects", Some(&token), Some(&body))?;
            anyhow::ensure!(status == 201, "POST /v1/projects: {status} {text}");
        }
        let (status, text) = request(self.port, "GET", "/v1/projects", Some(&token), None)?;
        anyhow::ensure!(status == 200, "GET /v1/projects: {status}");
        let listed = serde_json::from_str::<serde_json::Value>(&text)?
            .as_array()
            .map_or(0, Vec::len);
        let mut list_rows = Vec::new();
        for connections in [1usize, 4] {
            let (rps, lat) =
                list_throughput(self.port, &token, connections, Duration::from_secs(8))?;
            list_rows.push((connections, rps, lat));
        }

        println!("\ncontrol-plane API against the CLI, image present, {rounds} rounds (ms)\n");
        print_medians(&[
            ("supalove new (process, until the card)", &cli),
            ("POST /v1/projects -> 201 (server running)", &api),
        ]);
        println!(
            "ratio API / CLI (median): {:.2}",
            median(&api).as_secs_f64() / median(&cli).as_secs_f64()
        );
        println!("\nGET /v1/projects with {listed} projects (keep-alive, 8 s each)\n");
        println!(
            "{:<14} {:>10} {:>10} {:>10}",
            "connections", "req/s", "p50 ms", "p99 ms"
        );
        for (c, rps, mut lat) in list_rows {
            lat.sort();
            let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
            println!(
                "{c:<14} {rps:>10.1} {:>10.1} {:>10.1}",
                pct(0.5).as_secs_f64() * 1e3,
                pct(0.99).as_secs_f64() * 1e3
            );
        }
        Ok(())
    }

    fn cleanup(&self) {
        for name in self.created.lock().unwrap().iter() {
            let _ = self
                .cmd(&["rm", name, "--volumes", "--no-backup", "--yes"])
                .output();
        }
        if let Some(mut child) = self.server.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `connections` threads each sending GET /v1/projects on one keep-alive connection for `run`.
fn list_throughput(
    port: u16,
    token: &str,
    connections: usize,
    run: Duration,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let token = token.to_string();
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let mut conn = KeepAlive::open(port)?;
                let mut lat = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let status = conn.get("/v1/projects", &token)?;
                    anyhow::ensure!(status == 200, "GET /v1/projects: {status}");
                    lat.push(t.elapsed());
                }
                Ok(lat)
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(run);
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in threads {
        all.extend(
            t.join()
                .map_err(|_| anyhow::anyhow!("a load thread panicked"))??,
        );
    }
    let secs = started.elapsed().as_secs_f64();
    Ok((all.len() as f64 / secs, all))
}

/// One HTTP/1.1 keep-alive connection that reads Content-Length bodies.
struct KeepAlive {
    reader: BufReader<TcpStream>,
}

impl KeepAlive {
    fn open(port: u16) -> anyhow::Result<KeepAlive> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(KeepAlive {
            reader: BufReader::new(stream),
        })
    }

    fn get(&mut self, path: &str, token: &str) -> anyhow::Result<u16> {
        write!(
            self.reader.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        )?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("no status line"))?
            .parse()?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse()?;
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(status)
    }
}

/// One request on its own connection (`Connection: close`); returns status and body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let status: u16 = raw
        .split(' ')
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("no status line"))?
        .parse()?;
    let text = raw
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, text))
}
