//! The control-plane HTTP API (`supalove serve`) against the real dockerd: the project plan's
//! verification path end to end, and every refusal the API promises (token, Host, bad input,
//! concurrent creates, Docker down), each leaving nothing behind.

mod common;
#[path = "common/http.rs"]
mod http;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{assert_nothing_created, docker, World};
use http::Request;
use serde_json::{json, Value};

/// A running `supalove serve` in a test world, stopped on drop.
struct Served {
    child: Child,
    port: u16,
    token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_with(w: &World, extra_env: &[(&str, &str)]) -> Served {
    let mut cmd = w.cmd(&["serve", "--port", "0"]);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn supalove serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("serve printed its URL").expect("utf-8");
    let port: u16 = first
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let token = w.ok(&["api", "token"]).trim().to_string();
    assert!(token.starts_with("slv_"), "token {token:?}");
    Served { child, port, token }
}

fn serve(w: &World) -> Served {
    serve_with(w, &[])
}

fn problem(r: &http::Response, status: u16, kind: &str) -> Value {
    assert_eq!(r.status, status, "body: {}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{:?}",
        r.headers
    );
    let p = r.json();
    assert_eq!(p["kind"], kind, "{p}");
    assert_eq!(p["status"], status);
    assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
    p
}

/// The plan's verification over HTTP: `POST /v1/projects` (progress streamed, then the
/// result) → `docker logs project_<id>_realtime` is not empty → a websocket client joins at the
/// returned `realtime_url` and receives an inserted row; then `DELETE` keeps the volume unless
/// asked.
#[tokio::test(flavor = "multi_thread")]
async fn plan_verification_over_http_then_delete_keeps_volumes_unless_asked() {
    let w = World::new(70);
    let s = serve(&w);
    let name = w.name("api-plan");
    let body = json!({ "name": name }).to_string();
    let (port, token) = (s.port, s.token.clone());
    let (status, events) = tokio::task::spawn_blocking(move || {
        Request::new(port, "POST", "/v1/projects")
            .token(&token)
            .accept("text/event-stream")
            .json(&body)
            .events(|event, _| event == "result" || event == "error")
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    let (last, data) = events.last().expect("events").clone();
    assert_eq!(last, "result", "ended with {data}");
    let progress: Vec<Value> = events
        .iter()
        .filter(|(e, _)| e == "progress")
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    for service in ["db", "realtime"] {
        assert!(
            progress
                .iter()
                .any(|p| p["service"] == service && p["stage"] == "ready"),
            "no ready step for {service}: {progress:?}"
        );
    }
    let card: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(card["name"], name.as_str());
    assert_eq!(card["status"], "healthy");
    let realtime_url = card["realtime_url"]
        .as_str()
        .expect("realtime_url")
        .to_string();
    assert_eq!(
        realtime_url,
        format!("ws://127.0.0.1:{}/socket", card["ports"]["realtime"])
    );

    // Step 2: the engine's container logs under the plan's name.
    let logs = std::process::Command::new("docker")
        .args(["logs", &format!("project_{name}_realtime")])
        .output()
        .unwrap();
    assert!(
        !logs.stdout.is_empty() || !logs.stderr.is_empty(),
        "docker logs project_{name}_realtime is empty"
    );

    // Step 3: a websocket client at realtime_url receives an inserted row.
    let sql = |statement: &str| {
        let body = json!({ "statement": statement }).to_string();
        let path = format!("/v1/projects/{name}/sql");
        let r = Request::new(s.port, "POST", &path)
            .token(&s.token)
            .json(&body)
            .send();
        assert_eq!(r.status, 200, "{statement}: {}", r.body);
        r.json()
    };
    sql("create table notes (id bigserial primary key, body text); alter publication supabase_realtime add table notes");
    let service_role = card["keys"]["service_role"].as_str().unwrap();
    let mut options = supalove_client::ClientOptions::new(realtime_url.clone());
    options.reply_timeout = Duration::from_secs(10);
    let (client, mut rx) = supalove_client::connect(options, service_role)
        .await
        .expect("websocket connect at realtime_url");
    let topic = supalove_client::topic("api-plan");
    let config = supalove_client::ChannelConfig {
        postgres_changes: vec![supalove_client::postgres_binding(
            "INSERT",
            "public",
            Some("notes"),
            None,
        )],
        ..Default::default()
    };
    client.join(&topic, &config).await.expect("join");
    let subscribed = async {
        while let Some(ev) = rx.recv().await {
            if let supalove_client::Event::System { payload, .. } = ev {
                if payload["status"] == "ok" {
                    return;
                }
            }
        }
        panic!("the event stream ended before the subscription was confirmed");
    };
    tokio::time::timeout(Duration::from_secs(20), subscribed)
        .await
        .expect("subscribed");
    sql("insert into notes (body) values ('hello over http')");
    let change = async {
        while let Some(ev) = rx.recv().await {
            if let supalove_client::Event::PostgresChanges { data, .. } = ev {
                return data;
            }
        }
        panic!("the event stream ended");
    };
    let data = tokio::time::timeout(Duration::from_secs(20), change)
        .await
        .expect("the inserted row arrives");
    assert_eq!(data["type"], "INSERT");
    assert_eq!(data["record"]["body"], "hello over http");
    client.close();

    // GET and list show the same card type.
    let one = Request::new(s.port, "GET", &format!("/v1/projects/{name}"))
        .token(&s.token)
        .send();
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["realtime_url"], realtime_url.as_str());
    let all = Request::new(s.port, "GET", "/v1/projects")
        .token(&s.token)
        .send()
        .json();
    assert_eq!(all.as_array().unwrap().len(), 1);

    // DELETE: the plan first, then the removal; the volume is kept unless asked.
    let volume = format!("project_{name}_db_data");
    let plan = Request::new(
        s.port,
        "DELETE",
        &format!("/v1/projects/{name}?dry_run=true"),
    )
    .token(&s.token)
    .send();
    assert_eq!(plan.status, 200, "{}", plan.body);
    assert_eq!(plan.json()["volumes_kept"], json!([volume]));
    assert!(!common::containers_named(&format!("project_{name}_")).is_empty());
    let removed = Request::new(s.port, "DELETE", &format!("/v1/projects/{name}"))
        .token(&s.token)
        .send();
    assert_eq!(removed.status, 200, "{}", removed.body);
    let report = removed.json();
    assert_eq!(report["volumes_kept"], json!([volume]));
    assert_eq!(report["volumes_removed"], json!([]));
    assert!(common::containers_named(&format!("project_{name}_")).is_empty());
    assert_eq!(
        docker(&["volume", "ls", "-q", "--filter", &format!("name={volume}")]),
        volume
    );
    // Its containers are gone, so no backup can be taken first: the caller says so.
    let refused = Request::new(
        s.port,
        "DELETE",
        &format!("/v1/projects/{name}?volumes=true"),
    )
    .token(&s.token)
    .send();
    problem(&refused, 409, "backup_failed");
    let gone = Request::new(
        s.port,
        "DELETE",
        &format!("/v1/projects/{name}?volumes=true&skip_backup=true"),
    )
    .token(&s.token)
    .send();
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(gone.json()["volumes_removed"], json!([volume]));
    assert_nothing_created(&w, &name);
}

#[test]
fn token_host_and_input_are_checked_and_refusals_create_nothing() {
    let w = World::new(71);
    let s = serve(&w);
    // Health needs no token; nothing else is served without it.
    let health = Request::new(s.port, "GET", "/v1/health").send();
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let p = problem(
        &Request::new(s.port, "GET", "/v1/projects").send(),
        401,
        "unauthorized",
    );
    assert!(p["hint"].as_str().unwrap().contains("supalove api token"));
    problem(
        &Request::new(s.port, "GET", "/v1/projects")
            .token("slv_wrong")
            .send(),
        401,
        "unauthorized",
    );
    // DNS rebinding: a foreign Host is refused even with the right token.
    problem(
        &Request::new(s.port, "GET", "/v1/projects")
            .token(&s.token)
            .host("evil.example:54320")
            .send(),
        403,
        "forbidden_host",
    );
    let ok = Request::new(s.port, "GET", "/v1/projects")
        .token(&s.token)
        .host(&format!("localhost:{}", s.port))
        .send();
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json(), json!([]));

    // Bad input: 4xx problem+json, nothing created.
    let name = w.name("api-bad");
    let post = |body: &str| {
        Request::new(s.port, "POST", "/v1/projects")
            .token(&s.token)
            .json(body)
            .send()
    };
    problem(&post("{not json"), 400, "bad_json");
    problem(
        &post(&json!({ "name": name, "colour": "blue" }).to_string()),
        422,
        "invalid_body",
    );
    problem(
        &post(&json!({ "name": name, "engine": "quantum" }).to_string()),
        422,
        "invalid_body",
    );
    problem(
        &post(&json!({ "name": "Bad_Name!" }).to_string()),
        422,
        "invalid_name",
    );
    problem(
        &post(&json!({ "name": name, "db_port": 0 }).to_string()),
        422,
        "invalid_request",
    );
    let big = format!("{{\"name\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let too_big = post(&big);
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    problem(
        &Request::new(s.port, "GET", "/v1/projects/nope")
            .token(&s.token)
            .send(),
        404,
        "not_found",
    );
    problem(
        &Request::new(s.port, "GET", "/v1/nothing-here")
            .token(&s.token)
            .send(),
        404,
        "no_route",
    );
    assert_nothing_created(&w, &name);
    let all = Request::new(s.port, "GET", "/v1/projects")
        .token(&s.token)
        .send();
    assert_eq!(all.json(), json!([]));

    // The OpenAPI document is served (with the token) and is the committed one.
    let doc = Request::new(s.port, "GET", "/v1/openapi.json")
        .token(&s.token)
        .send();
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json()["openapi"], "3.1.0");
    assert_eq!(doc.body, supalove_api::openapi_json());

    // Rotation: the old token stops working, the new one works.
    let rotated = w.ok(&["api", "token", "--rotate"]).trim().to_string();
    assert_ne!(rotated, s.token);
    assert!(common::eventually(Duration::from_secs(5), || {
        Request::new(s.port, "GET", "/v1/projects")
            .token(&s.token)
            .send()
            .status
            == 401
    }));
    let fresh = Request::new(s.port, "GET", "/v1/projects")
        .token(&rotated)
        .send();
    assert_eq!(fresh.status, 200, "{}", fresh.body);
}

#[test]
fn concurrent_creates_of_one_name_give_one_project() {
    let w = World::new(72);
    let s = serve(&w);
    let name = w.name("api-race");
    let body = json!({ "name": name }).to_string();
    let (port, token) = (s.port, s.token.clone());
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let (body, token) = (body.clone(), token.clone());
            std::thread::spawn(move || {
                Request::new(port, "POST", "/v1/projects")
                    .token(&token)
                    .json(&body)
                    .send()
            })
        })
        .collect();
    let mut results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    results.sort_by_key(|r| r.status);
    assert_eq!(results[0].status, 201, "{}", results[0].body);
    let loser = problem(
        &results[1],
        409,
        results[1].json()["kind"].as_str().unwrap(),
    );
    assert!(
        loser["kind"] == "busy" || loser["kind"] == "name_taken",
        "{loser}"
    );
    let all = Request::new(s.port, "GET", "/v1/projects")
        .token(&s.token)
        .send()
        .json();
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(
        common::containers_named(&format!("project_{name}_")).len(),
        2,
        "one db and one realtime container"
    );
    // A third create of the taken name is a plain conflict.
    problem(
        &Request::new(s.port, "POST", "/v1/projects")
            .token(&s.token)
            .json(&body)
            .send(),
        409,
        "name_taken",
    );
}

#[test]
fn docker_down_is_503_with_what_was_tried_and_a_hint() {
    let w = World::new(73);
    let dead = w.home().join("no-docker.sock");
    let dead = format!("unix://{}", dead.display());
    let s = serve_with(&w, &[("DOCKER_HOST", &dead)]);
    let name = w.name("api-down");
    let r = Request::new(s.port, "POST", "/v1/projects")
        .token(&s.token)
        .json(&json!({ "name": name }).to_string())
        .send();
    let p = problem(&r, 503, "docker_unavailable");
    assert_eq!(p["tried"], json!([dead]));
    let hint = p["hint"].as_str().unwrap();
    assert!(hint.contains("start Docker"), "{hint}");
    assert!(
        !hint.contains("--"),
        "an HTTP hint names no CLI flag: {hint}"
    );
    let status = Request::new(s.port, "GET", "/v1/docker")
        .token(&s.token)
        .send()
        .json();
    assert_eq!(status["connected"], false);
    assert!(
        status["error"].as_str().unwrap().contains("does not exist"),
        "{status}"
    );
    assert!(!w.registry_text().contains(&name));
}

#[test]
fn a_taken_port_names_its_owner() {
    let w = World::new(74);
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let err = w.fails(&["serve", "--port", &port]);
    assert!(err.contains(&format!("port {port}")), "{err}");
    assert!(err.contains("in use by"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}
