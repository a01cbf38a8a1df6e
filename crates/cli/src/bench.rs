//! `supalove-bench [rounds]`: provision -> ready for one project, against
//! (a) the floor: `docker run` of the same images until `pg_isready` and the engine's /health answer, and
//! (b) `docker-compose up -d` of the exported project until Docker reports it healthy.
//! Prints a table of medians and ratios. It measures; it asserts nothing.
//!
//! The comparisons drive the docker and docker-compose CLIs on purpose: they are what a person
//! would otherwise type. supalove itself talks to the engine through bollard.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "bench_kit.rs"]
mod bench_kit;
use bench_kit::{docker, median, ms, print_medians, run_supalove, sibling};

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(5);
    let supalove = sibling("supalove")?;
    let home = tempfile::tempdir()?;
    let image = std::env::var("SUPALOVE_LOCAL_POSTGRES_IMAGE")
        .unwrap_or_else(|_| "supalove/postgres:15".into());
    let realtime_image = std::env::var("SUPALOVE_REALTIME_IMAGE")
        .unwrap_or_else(|_| concat!("supalove/realtime:", env!("CARGO_PKG_VERSION")).into());
    let run = |args: &[&str]| run_supalove(&supalove, home.path(), ("57400", "9700"), &[], args);

    // The compose variant runs the export of a real supalove project.
    let export_dir = tempfile::tempdir()?;
    run(&["new", "bench-compose"])?;
    run(&[
        "export",
        "bench-compose",
        export_dir.path().to_str().unwrap(),
    ])?;
    run(&["rm", "bench-compose", "--yes"])?;
    docker(&["volume", "rm", "project_bench-compose_db_data"])?;

    let (mut floor, mut compose, mut ours) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        floor.push(floor_round(&image, &realtime_image, round)?);
        compose.push(compose_round(export_dir.path())?);
        let name = format!("bench-{round}");
        let t = Instant::now();
        run(&["new", &name])?;
        ours.push(t.elapsed());
        run(&["rm", &name, "--volumes", "--yes"])?;
        eprintln!(
            "round {round}: floor {} ms, compose {} ms, supalove {} ms",
            ms(*floor.last().unwrap()),
            ms(*compose.last().unwrap()),
            ms(*ours.last().unwrap())
        );
    }
    let _ = run(&["rm", "bench-compose", "--volumes", "--yes"]);

    println!("\nprovision -> ready, one project, image present, {rounds} rounds (ms)\n");
    print_medians(&[
        ("(a) docker run db+realtime until ready (floor)", &floor),
        ("(b) docker-compose up -d of export, healthy", &compose),
        ("supalove new (SELECT 1 + websocket join)", &ours),
    ]);
    let m = |xs: &Vec<Duration>| median(xs).as_secs_f64();
    println!(
        "\nsupalove / floor   = {:.2}x  (goal <= 1.3x)",
        m(&ours) / m(&floor)
    );
    println!(
        "supalove / compose = {:.2}x  (goal <= 0.5x)",
        m(&ours) / m(&compose)
    );
    Ok(())
}

fn floor_round(image: &str, realtime_image: &str, round: usize) -> anyhow::Result<Duration> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let rt_port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let net = format!("supalove_bench_floor_{round}");
    let db = format!("{net}_db");
    let rt = format!("{net}_realtime");
    let t = Instant::now();
    docker(&["network", "create", &net])?;
    docker(&[
        "run",
        "-d",
        "--name",
        &db,
        "--network",
        &net,
        "--network-alias",
        "db",
        "-p",
        &format!("127.0.0.1:{port}:5432"),
        "-e",
        "POSTGRES_USER=app",
        "-e",
        "POSTGRES_DB=app",
        "-e",
        "POSTGRES_PASSWORD=bench",
        image,
        "postgres",
        "-c",
        "wal_level=logical",
    ])?;
    docker(&[
        "run",
        "-d",
        "--name",
        &rt,
        "--network",
        &net,
        "-p",
        &format!("127.0.0.1:{rt_port}:4000"),
        "-e",
        "DB_HOST=db",
        "-e",
        "DB_PORT=5432",
        "-e",
        "DB_NAME=app",
        "-e",
        "DB_USER=app",
        "-e",
        "DB_PASSWORD=bench",
        "-e",
        "JWT_SECRET=bench-secret-bench-secret-bench-secret",
        "-e",
        "REPLICATION_MODE=RLS",
        "-e",
        "REPLICATION_POLL_INTERVAL=100",
        "-e",
        "SECURE_CHANNELS=true",
        "-e",
        "SLOT_NAME=supabase_realtime_replication_slot",
        "-e",
        "TEMPORARY_SLOT=true",
        realtime_image,
    ])?;
    let mut db_ready = false;
    loop {
        if !db_ready {
            db_ready = Command::new("pg_isready")
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-U",
                    "app",
                    "-d",
                    "app",
                ])
                .status()?
                .success();
        }
        if db_ready && http_ok(rt_port) {
            break;
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(120),
            "floor containers never became ready"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = t.elapsed();
    docker(&["rm", "-f", "-v", &rt, &db])?;
    docker(&["network", "rm", &net])?;
    Ok(took)
}

/// True when the engine's /health answers 200.
fn http_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /health HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if String::from_utf8_lossy(&buf[..n]).contains(" 200"))
}

fn compose_round(dir: &Path) -> anyhow::Result<Duration> {
    let file = dir.join("docker-compose.yml");
    let t = Instant::now();
    compose(&file, &["up", "-d"])?;
    loop {
        let health = docker(&[
            "inspect",
            "-f",
            "{{.State.Health.Status}}",
            "project_bench-compose_db",
        ])?;
        if health == "healthy" {
            break;
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(120),
            "compose stack never became healthy"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = t.elapsed();
    compose(&file, &["down", "-v"])?;
    Ok(took)
}

fn compose(file: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(file)
        .args(args)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "docker-compose {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
