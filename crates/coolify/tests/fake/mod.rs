//! A stateful **fake Coolify** v4 for tests (Coolify itself cannot run here: coolify-notes §4).
//! It serves on 127.0.0.1, refuses every request its OpenAPI document does not describe
//! (method, path, query, body schema, with the notes' errata), checks the bearer token and
//! the route's ability, follows the controllers' rules (strict base64, unknown keys 422, 409
//! on a duplicate env key, POST-only lifecycle, double start 400), keeps state, and validates
//! its own responses against the document. Every problem with a request or a response is
//! kept in `violations`, which tests assert empty.

#![allow(dead_code)]

mod compose;
pub mod openapi;
mod routes;
mod views;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use serde_json::{json, Value};

use compose::*;
use openapi::{Mismatch, OpenApi, ResponseBody};
use routes::*;
use views::*;

/// The token the fake accepts unless a test changes it.
pub const TOKEN: &str = "3|fake-coolify-token-secret";

/// How the fake should behave (what an admin or the instance would have set).
#[derive(Debug, Clone)]
pub struct Knobs {
    pub token: String,
    /// Sanctum abilities of the token: read, write, deploy, root, read:sensitive.
    pub abilities: Vec<String>,
    pub api_enabled: bool,
    pub ip_allowed: bool,
    /// False: the token's user left the team (`400 Invalid token.`).
    pub user_in_team: bool,
    /// Some(s): every call is rate limited with `Retry-After: s`.
    pub rate_limited: Option<u64>,
    /// GETs of a starting service before it turns `running:healthy`.
    pub healthy_after: u32,
    /// A compose service that never becomes healthy (its container keeps failing).
    pub never_healthy: Option<String>,
    pub version: String,
    /// The server is a build server (Coolify refuses deployments to it: 422).
    pub build_server: bool,
    pub wildcard_domain: Option<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            token: TOKEN.into(),
            abilities: vec!["read".into(), "write".into(), "deploy".into()],
            api_enabled: true,
            ip_allowed: true,
            user_in_team: true,
            rate_limited: None,
            healthy_after: 2,
            never_healthy: None,
            version: "4.3.11".into(),
            build_server: false,
            wildcard_domain: Some("https://apps.example.test".into()),
        }
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    /// The document's path template (`/services/{uuid}/start`), or the raw path if none.
    pub route: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub status: u16,
}

#[derive(Debug, Clone)]
pub struct FProject {
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub environments: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct FSub {
    pub uuid: String,
    pub name: String,
    pub image: String,
    pub fqdn: Option<String>,
    pub status: String,
    pub is_database: bool,
    /// Every `${VAR}` the compose service uses (ports, command, healthcheck, environment).
    pub needs: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct FEnv {
    pub uuid: String,
    pub key: String,
    pub value: String,
    pub is_literal: bool,
    pub is_multiline: bool,
    pub is_shown_once: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Exited,
    Starting(u32),
    Running,
}

#[derive(Debug, Clone)]
pub struct FService {
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub project_uuid: String,
    pub environment: String,
    pub server_uuid: String,
    /// The decoded compose YAML.
    pub compose: String,
    pub subs: Vec<FSub>,
    pub envs: Vec<FEnv>,
    pub phase: Phase,
    /// Named volumes (`<uuid>_<key>`) the compose declares.
    pub volume_names: Vec<String>,
    /// Inline files (`content:`), as `(service, target, content)`.
    pub files: Vec<(String, String, String)>,
    /// The variables as Coolify wrote them to `.env` at each start.
    pub env_at_start: Vec<BTreeMap<String, String>>,
}

/// What a backed fake hands its backing (a real engine standing in for Coolify's server) on
/// each lifecycle call, while it holds its state: the backing must not block.
pub enum Lifecycle {
    /// A start or restart: the compose as Coolify stored it, its `.env` and `content:` files.
    Start {
        uuid: String,
        compose: String,
        env: BTreeMap<String, String>,
        files: Vec<(String, String, String)>,
    },
    Stop {
        uuid: String,
    },
    Delete {
        uuid: String,
        volumes: bool,
    },
}

/// A backing: when set, containers' statuses come from it instead of the poll counter.
#[derive(Clone)]
pub struct Backing(pub Arc<dyn Fn(Lifecycle) + Send + Sync>);

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Backing")
    }
}

/// The fake's whole state.
#[derive(Debug, Default)]
pub struct State {
    /// Runs started stacks for real (tests with a Docker engine); None: statuses are simulated.
    pub backing: Option<Backing>,
    pub knobs: Knobs,
    pub server_uuid: String,
    pub server_ip: String,
    pub destinations: Vec<String>,
    pub projects: Vec<FProject>,
    pub services: BTreeMap<String, FService>,
    /// Volumes on the server (they outlive a service deleted with delete_volumes=false).
    pub volumes: BTreeSet<String>,
    pub log: Vec<Logged>,
    pub violations: Vec<String>,
    counter: u64,
}

impl State {
    /// A 24-character `[a-z0-9]` uuid, as Coolify makes them. Unique per run (salted with the
    /// process id and start time): the dockerd-backed fake names compose projects and volumes
    /// after them, so a run must never meet a volume an earlier run left.
    fn uuid(&mut self) -> String {
        static SALT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let salt = *SALT.get_or_init(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            nanos ^ (u64::from(std::process::id()) << 40)
        });
        self.counter += 1;
        let mut x = (self.counter ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995;
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..24)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[(x >> 33) as usize % alphabet.len()] as char
            })
            .collect()
    }
}

/// A running fake.
pub struct FakeCoolify {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    api: Arc<OpenApi>,
    _task: tokio::task::JoinHandle<()>,
}

type Answer = (u16, ResponseBody, Option<u64>);

fn json_answer(status: u16, v: Value) -> Answer {
    (status, ResponseBody::Json(v), None)
}

fn message(status: u16, m: &str) -> Answer {
    json_answer(status, json!({ "message": m }))
}

fn invalid(field: &str, msg: &str) -> Answer {
    json_answer(
        422,
        json!({"message": "Validation failed.", "errors": { field: [msg] }}),
    )
}

impl FakeCoolify {
    /// Starts a fake on 127.0.0.1 with one server (with `knobs.wildcard_domain`) and one
    /// destination.
    pub async fn start(knobs: Knobs) -> Self {
        let api = Arc::new(OpenApi::load());
        let mut st = State {
            knobs,
            server_ip: "203.0.113.7".into(),
            ..Default::default()
        };
        st.server_uuid = st.uuid();
        let dest = st.uuid();
        st.destinations.push(dest);
        let state = Arc::new(Mutex::new(st));
        let app = axum::Router::new().fallback({
            let state = Arc::clone(&state);
            let api = Arc::clone(&api);
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = Arc::clone(&state);
                let api = Arc::clone(&api);
                async move { handle(&api, &state, method, uri, headers, body) }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeCoolify {
            addr,
            state,
            api,
            _task: task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Requests and responses that were not what the document describes.
    pub fn violations(&self) -> Vec<String> {
        self.with(|s| s.violations.clone())
    }

    /// The request log, as `METHOD /route/template`.
    pub fn calls(&self) -> Vec<String> {
        self.with(|s| {
            s.log
                .iter()
                .map(|l| format!("{} {}", l.method, l.route))
                .collect()
        })
    }

    pub fn log(&self) -> Vec<Logged> {
        self.with(|s| s.log.clone())
    }

    pub fn service_count(&self) -> usize {
        self.with(|s| s.services.len())
    }

    pub fn only_service(&self) -> FService {
        self.with(|s| {
            assert_eq!(s.services.len(), 1, "exactly one service");
            s.services.values().next().unwrap().clone()
        })
    }
}

fn handle(
    api: &OpenApi,
    state: &Mutex<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = state.lock().unwrap();
    let path = uri.path().to_string();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (k.to_string(), v.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let body_json: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let (route_name, answer, route) = match path.strip_prefix("/api/v1") {
        None => {
            st.violations
                .push(format!("{method} {path}: not under /api/v1"));
            (path.clone(), message(404, "Not found."), None)
        }
        Some(p) => match api.route(method.as_str(), p) {
            Err(Mismatch::UnknownPath) => {
                st.violations
                    .push(format!("{method} {p}: not in Coolify's OpenAPI document"));
                (p.to_string(), message(404, "Not found."), None)
            }
            Err(Mismatch::WrongMethod) => {
                st.violations.push(format!(
                    "{method} {p}: method not in Coolify's OpenAPI document"
                ));
                let lifecycle = ["/start", "/stop", "/restart"]
                    .iter()
                    .any(|s| p.ends_with(s));
                let m = if lifecycle {
                    "This endpoint has changed to a POST request."
                } else {
                    "Method not allowed."
                };
                (p.to_string(), message(405, m), None)
            }
            Ok(route) => {
                let a = serve(api, &mut st, &method, &route, &query, &headers, &body);
                (route.template.clone(), a, Some(route))
            }
        },
    };
    let (status, resp_body, retry_after) = answer;
    if let Some(route) = &route {
        let problems = api.check_response(route, status, &resp_body);
        st.violations.extend(problems);
    }
    st.log.push(Logged {
        method: method.to_string(),
        route: route_name,
        path,
        query,
        body: body_json,
        status,
    });
    drop(st);
    let code = StatusCode::from_u16(status).unwrap();
    let mut resp = match resp_body {
        ResponseBody::Json(v) => (code, axum::Json(v)).into_response(),
        ResponseBody::Text(t) => {
            (code, [("content-type", "text/html; charset=UTF-8")], t).into_response()
        }
    };
    if let Some(s) = retry_after {
        resp.headers_mut()
            .insert("retry-after", s.to_string().parse().unwrap());
    }
    resp
}
