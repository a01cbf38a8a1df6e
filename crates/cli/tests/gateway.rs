//! The per-project gateway (nginx) that puts the official engine at the card's URLs, tested
//! with engines that run here: our native engine behind it (the test-only setting
//! `SUPALOVE_NATIVE_GATEWAY=1`), and a fake upstream (a small perl HTTP/websocket server in
//! the Debian rootfs image) that reports the Host, path and upgrade headers it received, since
//! the official engine's image cannot be pulled here.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{docker, eventually, World};
use serde_json::Value;

/// The five Supabase APIs a project does not have.
const MISSING_APIS: [&str; 5] = [
    "/rest/v1/messages",
    "/auth/v1/signup",
    "/storage/v1/object/b/f",
    "/functions/v1/hello",
    "/graphql/v1",
];

/// One HTTP/1.1 request to 127.0.0.1:`port`: (status, headers lower-cased, body).
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer to {method} {path}: {text:?}"));
    (status, head.to_lowercase(), body.to_string())
}

/// A websocket upgrade to `path`: the status line's code and the first text frame's payload.
fn upgrade(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).unwrap_or(0) == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if status != 101 {
        return (status, head);
    }
    assert!(
        head.to_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "the upstream's accept key reaches the client unchanged: {head}"
    );
    // One unmasked text frame from the server: 0x81, a 7-bit or 16-bit length, the payload.
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    assert_eq!(h[0], 0x81, "a final text frame");
    let len = match h[1] & 0x7f {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).unwrap();
            usize::from(u16::from_be_bytes(l))
        }
        n => usize::from(n),
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).unwrap();
    (status, String::from_utf8(payload).unwrap())
}

/// Asserts the JSON 501 a missing API answers (the native engine's shape).
fn assert_not_implemented(port: u16, method: &str, path: &str) {
    let (status, head, body) = http(port, method, path, &[("apikey", "x")]);
    assert_eq!(status, 501, "{method} {path}: {body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    assert_eq!(v["code"], "not_implemented", "{body}");
    assert_eq!(v["error"], "not_implemented", "{body}");
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("This supalove project has no"), "{body}");
    assert_eq!(v["msg"], v["message"]);
    assert_eq!(v["error_description"], v["message"]);
    assert!(
        v["hint"].as_str().unwrap().contains("/realtime/v1"),
        "{body}"
    );
    assert!(v["hint"].as_str().unwrap().contains("DB_URL"), "{body}");
}

fn gateway_world(slot: u16) -> World {
    World::new(slot)
}

fn new_behind_gateway(w: &World, name: &str) -> Value {
    let out = w
        .cmd(&["new", name, "--json"])
        .env("SUPALOVE_NATIVE_GATEWAY", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "new: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn port_of(card: &Value) -> u16 {
    card["ports"]["realtime"].as_u64().unwrap() as u16
}

/// Joins with our Rust client at `url` (no Host override) and gets its own broadcast back.
fn join(url: &str, token: &str) -> Result<(), String> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(supalove_core::ready::probe_realtime_join(url, None, token))
}

#[test]
fn gateway_in_front_of_the_native_engine_serves_every_url() {
    let w = gateway_world(80);
    let name = w.name("gw-native");
    let card = new_behind_gateway(&w, &name);
    let port = port_of(&card);
    assert_eq!(
        card["status"], "healthy",
        "readiness went through the gateway"
    );
    assert_eq!(card["api_url"], format!("http://127.0.0.1:{port}"));
    assert_eq!(
        card["realtime_url"],
        format!("ws://127.0.0.1:{port}/socket")
    );
    let services: Vec<&str> = card["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert!(services.contains(&"gateway"), "{services:?}");

    // Only the gateway publishes REALTIME_PORT, on 127.0.0.1; the engine keeps its name.
    let gw = format!("project_{name}_gateway");
    assert_eq!(
        docker(&["port", &gw, "4000/tcp"]),
        format!("127.0.0.1:{port}")
    );
    let engine = format!("project_{name}_realtime");
    assert_eq!(
        docker(&["port", &engine]),
        "",
        "the engine publishes nothing"
    );
    assert!(docker(&["inspect", "-f", "{{.Config.Image}}", &gw]).starts_with("supalove/gateway:"));

    let env = w.env(&name);
    let anon = env["ANON_KEY"].as_str().unwrap();
    assert_eq!(env["API_URL"], card["api_url"]);
    assert_eq!(env["SUPABASE_URL"], card["api_url"]);
    assert_eq!(env["SUPABASE_ANON_KEY"], env["ANON_KEY"]);

    // The websocket upgrade passes at the card's realtime_url and at supabase-js's path.
    join(card["realtime_url"].as_str().unwrap(), anon).expect("join at realtime_url");
    join(&format!("ws://127.0.0.1:{port}/realtime/v1"), anon).expect("join at /realtime/v1");
    // The engine's refusal of a bad key passes through as its HTTP status.
    let (status, _) = upgrade(port, "/socket/websocket?apikey=not-a-jwt&vsn=1.0.0");
    assert_eq!(status, 401, "the engine's refusal reaches the client");

    // HTTP API: health, REST broadcast under /realtime/v1/api, the engine's own 404.
    assert_eq!(http(port, "GET", "/health", &[]).0, 200);
    let (status, _, body) = http(port, "GET", "/realtime/v1/api/ping", &[]);
    assert_eq!((status, body.contains("Success")), (200, true), "{body}");
    let bearer = format!("Bearer {anon}");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let payload = r#"{"messages":[{"topic":"room","event":"hi","payload":{"n":1}}]}"#;
    write!(
        s,
        "POST /realtime/v1/api/broadcast HTTP/1.1\r\nHost: x\r\nConnection: close\r\napikey: {anon}\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let (status, _, body) = http(port, "GET", "/no-such-path", &[]);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no route"), "the engine's own answer: {body}");

    // The APIs a project lacks: a JSON error, never an empty success; preflights pass.
    for path in MISSING_APIS {
        assert_not_implemented(port, "GET", path);
        assert_not_implemented(port, "POST", path);
        let (status, head, _) = http(
            port,
            "OPTIONS",
            path,
            &[("Origin", "http://localhost:5173")],
        );
        assert_eq!(status, 204, "OPTIONS {path}");
        assert!(head.contains("access-control-allow-origin: *"), "{head}");
    }

    // The doctor names the native engine's slot (pgoutput over a replication connection).
    let report = w.json(&["doctor", &name]);
    let slot = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "replication_slot")
        .unwrap()
        .clone();
    let message = slot["message"].as_str().unwrap();
    assert!(
        message.contains("supabase_realtime_replication_slot") && message.contains("pgoutput"),
        "{message}"
    );

    // Stop and start: the gateway stops with the project and comes back healthy.
    w.ok(&["stop", &name]);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &gw]),
        "false"
    );
    w.ok(&["start", &name]);
    let card = w.json(&["show", &name]);
    assert!(
        eventually(Duration::from_secs(30), || join(
            card["realtime_url"].as_str().unwrap(),
            anon
        )
        .is_ok()),
        "the project answers at its realtime_url again after start"
    );

    // The export runs under docker-compose as it is: the gateway with its nginx.conf in front.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    w.ok(&["export", &name, &d]);
    assert!(dir.path().join("gateway/nginx.conf").exists());
    w.ok(&["rm", &name, "--volumes", "--yes", "--no-backup"]);
    let compose = |args: &[&str]| common::compose(&d, args);
    compose(&["up", "-d"]);
    let healthy = eventually(Duration::from_secs(90), || {
        docker(&["inspect", "-f", "{{.State.Health.Status}}", &engine]) == "healthy"
            && docker(&["inspect", "-f", "{{.State.Health.Status}}", &gw]) == "healthy"
    });
    let answers = healthy
        && eventually(Duration::from_secs(20), || {
            http(port, "GET", "/health", &[]).0 == 200
        });
    let not_implemented = answers && http(port, "GET", "/rest/v1/x", &[]).0 == 501;
    let logs = docker(&["logs", &gw]);
    compose(&["down", "-v"]);
    assert!(healthy, "compose's stack never became healthy: {logs}");
    assert!(
        answers,
        "compose's gateway does not reach the engine: {logs}"
    );
    assert!(not_implemented, "compose's gateway serves the JSON 501");
}

/// The fake upstream: answers HTTP with a JSON report of what it received, upgrades websockets
/// (RFC 6455 accept key) and sends the same report as its first text frame, and fails
/// `/api/fail` with a 503 on purpose.
const FAKE_UPSTREAM: &str = r#"
use strict; use warnings;
use IO::Socket::INET; use Digest::SHA qw(sha1_base64); use JSON::PP;
$SIG{CHLD} = 'IGNORE';
$| = 1;
my $srv = IO::Socket::INET->new(LocalPort => 4000, Listen => 64, ReuseAddr => 1) or die "listen: $!";
print "fake upstream listening on 4000\n";
while (1) {
  my $c = $srv->accept or next;
  my $pid = fork;
  if ($pid) { close $c; next; }
  my $line = <$c> // exit 0;
  $line =~ s/\r?\n$//;
  my ($method, $target) = split / /, $line;
  my %h;
  while (my $l = <$c>) {
    $l =~ s/\r?\n$//;
    last if $l eq '';
    my ($k, $v) = split /:\s*/, $l, 2;
    $h{lc $k} = $v;
  }
  my $report = JSON::PP->new->canonical->encode({
    method => $method, target => $target, host => $h{host} // '',
    upgrade => $h{upgrade} // '', connection => $h{connection} // '',
    forwarded_host => $h{'x-forwarded-host'} // '',
  });
  if (lc($h{upgrade} // '') eq 'websocket') {
    my $accept = sha1_base64($h{'sec-websocket-key'} . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=';
    print $c "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: $accept\r\n\r\n";
    my $n = length $report;
    print $c ($n < 126 ? pack('CC', 0x81, $n) : pack('CCn', 0x81, 126, $n)) . $report;
    sleep 2;
    exit 0;
  }
  my ($status, $body) = $target =~ m{^/api/fail} ? (503, '{"message":"upstream failure on purpose"}') : (200, $report);
  print $c "HTTP/1.1 $status Fake\r\nContent-Type: application/json\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
  exit 0;
}
"#;

#[test]
fn gateway_fake_upstream_sees_the_tenant_host_and_mapped_paths() {
    let w = gateway_world(81);
    let name = w.name("gw-fake");
    let card = new_behind_gateway(&w, &name);
    let port = port_of(&card);
    // Swap the engine for the fake on the project network, under the engine's alias; the
    // gateway looks the engine up per request, so it follows the new container by itself.
    let engine = format!("project_{name}_realtime");
    docker(&["rm", "-f", &engine]);
    let started = Command::new("docker")
        .args([
            "run",
            "-d",
            "--pull",
            "never",
            "--name",
            &engine,
            "--network",
            &format!("project_{name}"),
            "--network-alias",
            "realtime",
            "--label",
            &format!("dev.supalove.project={name}"),
            "supalove/pg15-rootfs:bookworm",
            "perl",
            "-e",
            FAKE_UPSTREAM,
        ])
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "fake upstream: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let report = |path: &str| -> Option<Value> {
        let (status, _, body) = http(port, "GET", path, &[]);
        (status == 200)
            .then(|| serde_json::from_str(&body).ok())
            .flatten()
    };
    assert!(
        eventually(Duration::from_secs(30), || report("/ready").is_some()),
        "the gateway reaches the fake upstream; logs: {}",
        docker(&["logs", &format!("project_{name}_gateway")])
    );

    // Plain HTTP: the tenant Host, the client's Host kept as X-Forwarded-Host, paths mapped.
    let r = report("/api/tenants/realtime-dev/health?x=1").unwrap();
    assert_eq!(r["host"], "realtime-dev", "{r}");
    assert_eq!(r["forwarded_host"], format!("127.0.0.1:{port}"));
    assert_eq!(r["target"], "/api/tenants/realtime-dev/health?x=1");
    let r = report("/realtime/v1/api/broadcast?y=2").unwrap();
    assert_eq!(
        (r["target"].as_str(), r["host"].as_str()),
        (Some("/api/broadcast?y=2"), Some("realtime-dev"))
    );
    assert_eq!(
        report("/socket/websocket").unwrap()["target"],
        "/socket/websocket"
    );
    // An upstream error passes through with its status and body.
    let (status, _, body) = http(port, "GET", "/api/fail", &[]);
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"message":"upstream failure on purpose"}"#)
    );
    // The missing APIs never reach the upstream.
    for path in MISSING_APIS {
        assert_not_implemented(port, "GET", path);
    }

    // Websocket upgrades at every Realtime URL reach the engine's /socket/websocket with the
    // query string, the upgrade headers and the tenant Host.
    for (path, want) in [
        ("/socket", "/socket/websocket"),
        (
            "/socket/websocket?apikey=k&vsn=1.0.0",
            "/socket/websocket?apikey=k&vsn=1.0.0",
        ),
        (
            "/realtime/v1/websocket?apikey=k&vsn=2.0.0",
            "/socket/websocket?apikey=k&vsn=2.0.0",
        ),
    ] {
        let (status, frame) = upgrade(port, path);
        assert_eq!(status, 101, "{path}: {frame}");
        let r: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(r["target"], want, "{path}");
        assert_eq!(r["host"], "realtime-dev", "{path}");
        assert_eq!(r["upgrade"], "websocket", "{path}");
        assert_eq!(r["connection"], "upgrade", "{path}");
    }
}

#[test]
fn an_unknown_official_tag_is_refused_with_the_supported_ones() {
    let w = gateway_world(82);
    let name = w.name("gw-tag");
    let out = w
        .cmd(&["new", &name, "--engine", "supabase"])
        .env("SUPALOVE_SUPABASE_REALTIME_TAG", "v2.99.0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("v2.99.0"), "{err}");
    assert!(
        err.contains("v2.28.32") && err.contains("v2.34.47"),
        "{err}"
    );
    common::assert_nothing_created(&w, &name);
}
