//! A stateful **fake Coolify** v4 for tests (Coolify itself cannot run here: coolify-notes §4).
//! It serves on 127.0.0.1, refuses every request its OpenAPI document does not describe
//! (method, path, query, body schema, with the notes' errata), checks the bearer token and
//! the route's ability, follows the controllers' rules (strict base64, unknown keys 422, 409
//! on a duplicate env key, POST-only lifecycle, double start 400), keeps state, and validates
//! its own responses against the document. Every problem with a request or a response is
//! kept in `violations`, which tests assert empty.

#![allow(dead_code)]

pub mod openapi;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Value};

use openapi::{Mismatch, OpenApi, ResponseBody, Route};

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

/// The fake's whole state.
#[derive(Debug, Default)]
pub struct State {
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
    /// A 24-character `[a-z0-9]` uuid, as Coolify makes them.
    fn uuid(&mut self) -> String {
        self.counter += 1;
        let mut x = self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995;
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

/// The ability a route needs (coolify@routes/api.php).
fn ability(method: &Method, template: &str) -> &'static str {
    if template.ends_with("/start")
        || template.ends_with("/stop")
        || template.ends_with("/restart")
        || template == "/deploy"
    {
        "deploy"
    } else if method == Method::GET {
        "read"
    } else {
        "write"
    }
}

fn serve(
    api: &OpenApi,
    st: &mut State,
    method: &Method,
    route: &Route,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &Bytes,
) -> Answer {
    // Middleware: auth:sanctum, api.allowed, api.ability, throttle.
    if api.secured(route) {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return message(401, "Unauthenticated.");
        };
        if token != st.knobs.token {
            return message(401, "Unauthenticated.");
        }
        if !st.knobs.api_enabled {
            return message(403, "API is disabled.");
        }
        if !st.knobs.ip_allowed {
            return message(403, "You are not allowed to access the API.");
        }
        let need = ability(method, &route.template);
        let abilities = &st.knobs.abilities;
        if !abilities.iter().any(|a| a == "root" || a == need) {
            return message(403, &format!("Missing required permissions: {need}"));
        }
        if let Some(s) = st.knobs.rate_limited {
            let (code, body, _) = message(429, "Rate limit exceeded. Please try again later.");
            return (code, body, Some(s));
        }
        if !st.knobs.user_in_team {
            return message(400, "Invalid token.");
        }
    }
    let problems = api.check_query(route, query);
    if !problems.is_empty() {
        st.violations.extend(
            problems
                .iter()
                .map(|p| format!("{method} {}: {p}", route.template)),
        );
        return json_answer(
            422,
            json!({"message": "Validation failed.", "errors": {"query": problems}}),
        );
    }
    let body = if let Some(schema) = api.body_schema(route) {
        let is_json = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"));
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let Some(parsed) = parsed.filter(|_| is_json && !body.is_empty()) else {
            return json_answer(
                400,
                json!({"message": "Invalid request.", "error": "Content-Type must be application/json with a JSON body."}),
            );
        };
        let errors = api.check_body(&schema, &parsed);
        if !errors.is_empty() {
            st.violations.push(format!(
                "{method} {}: body does not match the document: {}",
                route.template,
                Value::Object(errors.clone())
            ));
            return json_answer(
                422,
                json!({"message": "Validation failed.", "errors": errors}),
            );
        }
        parsed
    } else {
        if !body.is_empty() {
            st.violations.push(format!(
                "{method} {}: a body the document does not describe",
                route.template
            ));
        }
        Value::Null
    };
    let p = |name: &str| {
        route
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match (method.as_str(), route.template.as_str()) {
        ("GET", "/health") => (200, ResponseBody::Text("OK".into()), None),
        ("GET", "/version") => (200, ResponseBody::Text(st.knobs.version.clone()), None),
        ("GET", "/servers") => json_answer(200, json!([server_json(st)])),
        ("GET", "/servers/{uuid}") => {
            if p("uuid") == st.server_uuid {
                json_answer(200, server_json(st))
            } else {
                message(404, "Server not found.")
            }
        }
        ("GET", "/servers/{server_uuid}/destinations") => {
            if p("server_uuid") != st.server_uuid {
                return message(404, "Server not found.");
            }
            let server = st.server_uuid.clone();
            json_answer(
                200,
                Value::Array(
                    st.destinations
                        .iter()
                        .map(|d| json!({"uuid": d, "name": "coolify", "network": "coolify", "type": "standalone", "server_uuid": server}))
                        .collect(),
                ),
            )
        }
        ("GET", "/projects") => json_answer(
            200,
            Value::Array(
                st.projects
                    .iter()
                    .enumerate()
                    .map(|(i, p)| project_json(i, p))
                    .collect(),
            ),
        ),
        ("POST", "/projects") => {
            let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
                return invalid("name", "The name field is required.");
            };
            let uuid = st.uuid();
            let env = st.uuid();
            st.projects.push(FProject {
                uuid: uuid.clone(),
                name: name.to_string(),
                description: body["description"].as_str().map(str::to_string),
                environments: vec![(env, "production".into())],
            });
            json_answer(201, json!({ "uuid": uuid }))
        }
        ("GET", "/projects/{uuid}") => match st
            .projects
            .iter()
            .enumerate()
            .find(|(_, x)| x.uuid == p("uuid"))
        {
            Some((i, x)) => json_answer(200, project_json(i, x)),
            None => message(404, "Project not found."),
        },
        ("GET", "/projects/{uuid}/environments") => {
            match st.projects.iter().find(|x| x.uuid == p("uuid")) {
                Some(x) => json_answer(
                    200,
                    Value::Array(
                        x.environments
                            .iter()
                            .enumerate()
                            .map(|(i, (u, n))| env_json(i, u, n))
                            .collect(),
                    ),
                ),
                None => message(404, "Project not found."),
            }
        }
        ("GET", "/projects/{uuid}/{environment_name_or_uuid}") => {
            let Some(x) = st.projects.iter().find(|x| x.uuid == p("uuid")) else {
                return message(404, "Project not found.");
            };
            let key = p("environment_name_or_uuid");
            match x
                .environments
                .iter()
                .enumerate()
                .find(|(_, (u, n))| *n == key || *u == key)
            {
                Some((i, (u, n))) => json_answer(200, env_json(i, u, n)),
                None => message(404, "Environment not found."),
            }
        }
        ("POST", "/projects/{uuid}/environments") => {
            let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
                return invalid("name", "The name field is required.");
            };
            let uuid = st.uuid();
            let Some(x) = st.projects.iter_mut().find(|x| x.uuid == p("uuid")) else {
                return message(404, "Project not found.");
            };
            if x.environments.iter().any(|(_, n)| n == name) {
                return message(409, "Environment with this name already exists.");
            }
            x.environments.push((uuid.clone(), name.to_string()));
            json_answer(201, json!({ "uuid": uuid }))
        }
        ("GET", "/services") => json_answer(
            200,
            Value::Array(st.services.values().map(|s| service_json(st, s)).collect()),
        ),
        ("POST", "/services") => create_service(st, &body),
        ("GET", "/services/{uuid}") => {
            let uuid = p("uuid");
            let Some(svc) = st.services.get_mut(&uuid) else {
                return message(404, "Service not found.");
            };
            advance(svc, &st.knobs.clone());
            let svc = st.services[&uuid].clone();
            json_answer(200, service_json(st, &svc))
        }
        ("PATCH", "/services/{uuid}") => update_service(st, &p("uuid"), &body),
        ("DELETE", "/services/{uuid}") => {
            let uuid = p("uuid");
            let Some(svc) = st.services.remove(&uuid) else {
                return message(404, "Service not found.");
            };
            // Coolify's default deletes volumes: only an explicit false keeps them.
            if q("delete_volumes").as_deref() != Some("false") {
                for v in &svc.volume_names {
                    st.volumes.remove(v);
                }
            }
            message(200, "Service deletion request queued.")
        }
        ("GET", "/services/{uuid}/envs") => {
            let sensitive = st
                .knobs
                .abilities
                .iter()
                .any(|a| a == "root" || a == "read:sensitive");
            match st.services.get(&p("uuid")) {
                Some(svc) => json_answer(
                    200,
                    Value::Array(
                        svc.envs
                            .iter()
                            .enumerate()
                            .map(|(i, e)| env_var_json(i, e, sensitive))
                            .collect(),
                    ),
                ),
                None => message(404, "Service not found."),
            }
        }
        ("POST", "/services/{uuid}/envs") => {
            let Some(key) = checked_key(&body) else {
                return invalid("key", "The key format is invalid.");
            };
            let uuid = st.uuid();
            let Some(svc) = st.services.get_mut(&p("uuid")) else {
                return message(404, "Service not found.");
            };
            if svc.envs.iter().any(|e| e.key == key) {
                return message(
                    409,
                    "Environment variable already exists. Use PATCH request to update it.",
                );
            }
            svc.envs.push(env_from(uuid.clone(), &body));
            json_answer(201, json!({ "uuid": uuid }))
        }
        ("PATCH", "/services/{uuid}/envs") => {
            let Some(key) = checked_key(&body) else {
                return invalid("key", "The key format is invalid.");
            };
            let Some(svc) = st.services.get_mut(&p("uuid")) else {
                return message(404, "Service not found.");
            };
            let Some(i) = svc.envs.iter().position(|e| e.key == key) else {
                return message(404, "Environment variable not found.");
            };
            let uuid = svc.envs[i].uuid.clone();
            svc.envs[i] = env_from(uuid, &body);
            let e = svc.envs[i].clone();
            json_answer(201, env_var_json(i, &e, false))
        }
        ("PATCH", "/services/{uuid}/envs/bulk") => {
            let items = body["data"].as_array().cloned().unwrap_or_default();
            if body.get("data").is_none() {
                return message(400, "Bulk data is required.");
            }
            for item in &items {
                if checked_key(item).is_none() {
                    return invalid("data.key", "The key format is invalid.");
                }
            }
            let mut uuids: Vec<String> = items.iter().map(|_| String::new()).collect();
            for u in uuids.iter_mut() {
                *u = st.uuid();
            }
            let Some(svc) = st.services.get_mut(&p("uuid")) else {
                return message(404, "Service not found.");
            };
            let mut out = Vec::new();
            for (item, fresh) in items.iter().zip(uuids) {
                let key = item["key"].as_str().unwrap_or_default();
                let i = match svc.envs.iter().position(|e| e.key == key) {
                    Some(i) => {
                        let keep = svc.envs[i].uuid.clone();
                        svc.envs[i] = env_from(keep, item);
                        i
                    }
                    None => {
                        svc.envs.push(env_from(fresh, item));
                        svc.envs.len() - 1
                    }
                };
                out.push(env_var_json(i, &svc.envs[i], false));
            }
            json_answer(201, Value::Array(out))
        }
        ("POST", "/services/{uuid}/start") => {
            let Some(svc) = st.services.get_mut(&p("uuid")) else {
                return message(404, "Service not found.");
            };
            if svc.phase != Phase::Exited {
                return message(400, "Service is already running.");
            }
            begin_start(svc);
            let vols = svc.volume_names.clone();
            st.volumes.extend(vols);
            message(200, "Service starting request queued.")
        }
        ("POST", "/services/{uuid}/stop") => {
            let Some(svc) = st.services.get_mut(&p("uuid")) else {
                return message(404, "Service not found.");
            };
            if svc.phase == Phase::Exited {
                return message(400, "Service is already stopped.");
            }
            svc.phase = Phase::Exited;
            for s in &mut svc.subs {
                s.status = "exited".into();
            }
            message(200, "Service stopping request queued.")
        }
        ("POST", "/services/{uuid}/restart") => {
            let Some(svc) = st.services.get_mut(&p("uuid")) else {
                return message(404, "Service not found.");
            };
            begin_start(svc);
            let vols = svc.volume_names.clone();
            st.volumes.extend(vols);
            message(200, "Service restaring request queued.")
        }
        ("GET", "/services/{uuid}/logs") => {
            let Some(svc) = st.services.get(&p("uuid")) else {
                return message(404, "Service not found.");
            };
            let name = q("sub_service_name").unwrap_or_default();
            let Some(sub) = svc.subs.iter().find(|s| s.name == name) else {
                return message(404, "Sub-service not found.");
            };
            if !sub.status.starts_with("running") {
                return message(400, "Container is not running.");
            }
            let starts = svc.env_at_start.len();
            let logs: Vec<String> = (1..=starts)
                .map(|i| {
                    format!(
                        "2026-12-02T10:00:{i:02}.000000000Z {name}: start {i} of {}",
                        svc.uuid
                    )
                })
                .collect();
            json_answer(200, json!({ "logs": logs.join("\n") }))
        }
        (m, t) => {
            st.violations.push(format!(
                "{m} {t}: in the document, but the fake does not implement it"
            ));
            message(501, "The fake Coolify does not implement this route.")
        }
    }
}

fn server_json(st: &State) -> Value {
    let mut v = json!({
        "id": 0,
        "uuid": st.server_uuid,
        "name": "localhost",
        "description": "the fake's only server",
        "ip": st.server_ip,
        "user": "root",
        "port": 22,
        "proxy_type": "traefik",
        "is_reachable": true,
        "is_usable": true,
        "settings": {
            "id": 0,
            "is_reachable": true,
            "is_usable": true,
            "is_build_server": st.knobs.build_server,
        }
    });
    // Coolify sends null when unset; the document (3.1, `nullable` ignored) says string, so
    // the fake leaves the key out rather than answer what its own document refuses.
    if let Some(w) = &st.knobs.wildcard_domain {
        v["settings"]["wildcard_domain"] = json!(w);
    }
    v
}

fn project_json(i: usize, p: &FProject) -> Value {
    let mut v = json!({"id": i + 1, "uuid": p.uuid, "name": p.name});
    if let Some(d) = &p.description {
        v["description"] = json!(d);
    }
    v
}

fn env_json(i: usize, uuid: &str, name: &str) -> Value {
    json!({"id": i + 1, "uuid": uuid, "name": name, "project_id": 1,
           "created_at": "2026-12-02T10:00:00.000000Z", "updated_at": "2026-12-02T10:00:00.000000Z"})
}

fn env_var_json(i: usize, e: &FEnv, sensitive: bool) -> Value {
    let mut v = json!({
        "id": i + 1, "uuid": e.uuid, "key": e.key, "resourceable_type": "App\\Models\\Service",
        "resourceable_id": 1, "is_literal": e.is_literal, "is_multiline": e.is_multiline,
        "is_preview": false, "is_runtime": true, "is_buildtime": false, "is_shared": false,
        "is_shown_once": e.is_shown_once, "version": "4.3.11",
        "created_at": "2026-12-02T10:00:00.000000Z", "updated_at": "2026-12-02T10:00:00.000000Z",
    });
    // Values are hidden without read:sensitive, and always when shown once.
    if sensitive && !e.is_shown_once {
        v["value"] = json!(e.value);
        v["real_value"] = json!(e.value);
    }
    v
}

fn service_json(st: &State, s: &FService) -> Value {
    let sub = |x: &FSub| {
        let mut v = json!({"uuid": x.uuid, "name": x.name, "image": x.image, "status": x.status});
        if let Some(f) = &x.fqdn {
            v["fqdn"] = json!(f);
        }
        v
    };
    let status = aggregate(s);
    json!({
        "id": 1,
        "uuid": s.uuid,
        "name": s.name,
        "description": s.description.clone().unwrap_or_default(),
        "docker_compose_raw": s.compose,
        "docker_compose": s.compose,
        "server_status": true,
        "status": status,
        "server_id": 0,
        "applications": s.subs.iter().filter(|x| !x.is_database).map(sub).collect::<Vec<_>>(),
        "databases": s.subs.iter().filter(|x| x.is_database).map(sub).collect::<Vec<_>>(),
        "connect_to_docker_network": false,
        "destination_type": "App\\Models\\StandaloneDocker",
        "destination_id": if st.destinations.is_empty() { 0 } else { 1 },
    })
}

fn aggregate(s: &FService) -> String {
    let all_healthy = s.subs.iter().all(|x| x.status == "running:healthy");
    match &s.phase {
        Phase::Exited => "exited:unhealthy".into(),
        Phase::Starting(_) => "starting:unhealthy".into(),
        Phase::Running if all_healthy => "running:healthy".into(),
        Phase::Running => "degraded:unhealthy".into(),
    }
}

/// A start: Coolify writes every variable to `.env` and runs compose up.
fn begin_start(svc: &mut FService) {
    svc.phase = Phase::Starting(0);
    let env: BTreeMap<String, String> = svc
        .envs
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    svc.env_at_start.push(env);
    for s in &mut svc.subs {
        s.status = "starting:unhealthy".into();
    }
}

/// One status poll: a starting service turns running after `healthy_after` polls; each
/// container is healthy only if every variable it uses was set before the start.
fn advance(svc: &mut FService, knobs: &Knobs) {
    if let Phase::Starting(n) = svc.phase {
        if n + 1 < knobs.healthy_after {
            svc.phase = Phase::Starting(n + 1);
            return;
        }
        svc.phase = Phase::Running;
        let env = svc.env_at_start.last().cloned().unwrap_or_default();
        for s in &mut svc.subs {
            let missing = s
                .needs
                .iter()
                .any(|v| env.get(v).is_none_or(String::is_empty));
            let broken = knobs.never_healthy.as_deref() == Some(s.name.as_str());
            s.status = if missing || broken {
                "running:unhealthy".into()
            } else {
                "running:healthy".into()
            };
        }
    }
}

fn checked_key(body: &Value) -> Option<String> {
    let key = body["key"].as_str()?;
    let mut chars = key.chars();
    let first = chars.next()?;
    let ok = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    ok.then(|| key.to_string())
}

fn env_from(uuid: String, body: &Value) -> FEnv {
    FEnv {
        uuid,
        key: body["key"].as_str().unwrap_or_default().to_string(),
        value: body["value"].as_str().unwrap_or_default().to_string(),
        is_literal: body["is_literal"].as_bool().unwrap_or(false),
        is_multiline: body["is_multiline"].as_bool().unwrap_or(false),
        is_shown_once: body["is_shown_once"].as_bool().unwrap_or(false),
    }
}

/// What the compose parser makes of a `docker_compose_raw` (or a 422).
struct Parsed {
    yaml: String,
    subs: Vec<FSub>,
    /// `${VAR}` / `${VAR:-d}` in `environment:` values, which Coolify turns into variables.
    env_defaults: Vec<(String, String)>,
    volume_keys: Vec<String>,
    files: Vec<(String, String, String)>,
}

const FORBIDDEN: [&str; 10] = ["`", "$(", "${", "|", "&", ";", "<", ">", "\n", "\t"];

fn parse_compose(raw: &str) -> Result<Parsed, Answer> {
    let b64 = base64::engine::general_purpose::STANDARD;
    // isBase64Encoded: base64_encode(base64_decode(x, strict)) === x.
    let decoded = b64
        .decode(raw)
        .ok()
        .filter(|d| b64.encode(d) == raw)
        .ok_or_else(|| {
            invalid(
                "docker_compose_raw",
                "The docker_compose_raw should be base64 encoded.",
            )
        })?;
    let yaml = String::from_utf8(decoded).map_err(|_| {
        invalid(
            "docker_compose_raw",
            "The docker_compose_raw should be Docker Compose YAML.",
        )
    })?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&yaml)
        .map_err(|e| invalid("docker_compose_raw", &format!("Invalid YAML: {e}")))?;
    let services = doc
        .get("services")
        .and_then(|s| s.as_mapping())
        .ok_or_else(|| {
            invalid(
                "docker_compose_raw",
                "The compose file must have a services map.",
            )
        })?;
    let mut subs = Vec::new();
    let mut env_defaults = Vec::new();
    let mut files = Vec::new();
    for (name, svc) in services {
        let name = name.as_str().unwrap_or_default().to_string();
        if FORBIDDEN.iter().any(|f| name.contains(f)) {
            return Err(invalid(
                "docker_compose_raw",
                &format!("Invalid service name {name:?}."),
            ));
        }
        let mut clean = svc.clone();
        if let Some(vols) = svc.get("volumes").and_then(|v| v.as_sequence()) {
            let mut kept = Vec::new();
            for v in vols {
                let (source, target) = match v {
                    serde_yaml::Value::String(s) => {
                        let mut parts = s.split(':');
                        (
                            parts.next().unwrap_or("").to_string(),
                            parts.next().unwrap_or("").to_string(),
                        )
                    }
                    m => (
                        m.get("source")
                            .and_then(|x| x.as_str())
                            .unwrap_or("")
                            .to_string(),
                        m.get("target")
                            .and_then(|x| x.as_str())
                            .unwrap_or("")
                            .to_string(),
                    ),
                };
                if FORBIDDEN
                    .iter()
                    .any(|f| source.contains(f) || target.contains(f))
                {
                    return Err(invalid(
                        "docker_compose_raw",
                        &format!("Invalid volume path {source:?}."),
                    ));
                }
                match v.get("content").and_then(|c| c.as_str()) {
                    Some(content) => files.push((name.clone(), target, content.to_string())),
                    None => kept.push(v.clone()),
                }
            }
            clean["volumes"] = serde_yaml::Value::Sequence(kept);
        }
        let mut needs = BTreeSet::new();
        collect_vars(
            &serde_json::to_value(&clean).unwrap(),
            &mut needs,
            &mut Vec::new(),
        );
        if let Some(env) = svc.get("environment").and_then(|e| e.as_mapping()) {
            for (_, v) in env {
                if let Some(s) = v.as_str() {
                    let mut found = Vec::new();
                    collect_vars(&json!(s), &mut BTreeSet::new(), &mut found);
                    env_defaults.extend(found);
                }
            }
        }
        let image = svc
            .get("image")
            .and_then(|i| i.as_str())
            .unwrap_or("")
            .to_string();
        let repo = image.split(':').next().unwrap_or("");
        let is_database = [
            "postgres",
            "postgis/postgis",
            "bitnami/postgresql",
            "supabase/postgres",
            "mysql",
            "mariadb",
            "mongo",
            "redis",
        ]
        .iter()
        .any(|d| repo == *d || repo.ends_with(&format!("/{d}")));
        subs.push(FSub {
            uuid: String::new(),
            name,
            image,
            fqdn: None,
            status: "exited".into(),
            is_database,
            needs,
        });
    }
    let volume_keys = doc
        .get("volumes")
        .and_then(|v| v.as_mapping())
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Parsed {
        yaml,
        subs,
        env_defaults,
        volume_keys,
        files,
    })
}

fn collect_vars(v: &Value, names: &mut BTreeSet<String>, defaults: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(i) = rest.find('$') {
                rest = &rest[i + 1..];
                if let Some(r) = rest.strip_prefix('$') {
                    rest = r;
                } else if let Some(r) = rest.strip_prefix('{') {
                    let end = r.find('}').unwrap_or(r.len());
                    let expr = &r[..end];
                    let (name, default) = expr.split_once(":-").unwrap_or((expr, ""));
                    let name = name.trim_end_matches(":?").to_string();
                    names.insert(name.clone());
                    defaults.push((name, default.to_string()));
                    rest = &r[end..];
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_vars(x, names, defaults)),
        Value::Object(o) => o.values().for_each(|x| collect_vars(x, names, defaults)),
        _ => {}
    }
}

/// Checks `urls` against the compose services and the other services' domains.
fn apply_urls(
    st: &State,
    own: Option<&str>,
    subs: &mut [FSub],
    urls: &Value,
    force: bool,
) -> Result<(), Answer> {
    let Some(urls) = urls.as_array() else {
        return Ok(());
    };
    let mut conflicts = Vec::new();
    for u in urls {
        let name = u["name"].as_str().unwrap_or_default();
        let url = u["url"].as_str().unwrap_or_default();
        let Some(sub) = subs.iter_mut().find(|s| s.name == name) else {
            return Err(invalid(
                "urls",
                &format!("Service {name} not found in the compose file."),
            ));
        };
        for one in url.split(',') {
            if !(one.starts_with("http://") || one.starts_with("https://")) {
                return Err(invalid(
                    "urls",
                    &format!("Invalid URL {one}: only http and https are allowed."),
                ));
            }
            let host = host_of(one);
            for other in st
                .services
                .values()
                .filter(|s| Some(s.uuid.as_str()) != own)
            {
                for x in &other.subs {
                    if x.fqdn
                        .as_deref()
                        .is_some_and(|f| f.split(',').any(|f| host_of(f) == host))
                    {
                        conflicts.push(json!({"domain": host, "resource_name": other.name, "resource_uuid": other.uuid, "resource_type": "service"}));
                    }
                }
            }
        }
        sub.fqdn = Some(url.to_string());
    }
    if !conflicts.is_empty() && !force {
        return Err(json_answer(
            409,
            json!({
                "message": "Domain conflicts detected. Use force_domain_override=true to proceed.",
                "warning": "Using the same domain for multiple resources can cause routing conflicts and unpredictable behavior.",
                "conflicts": conflicts,
            }),
        ));
    }
    Ok(())
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split('/').next().unwrap_or(rest);
    host.rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host)
        .to_string()
}

fn create_service(st: &mut State, body: &Value) -> Answer {
    if body.get("environment_name").is_none() && body.get("environment_uuid").is_none() {
        return invalid(
            "environment_name",
            "You need to provide at least one of environment_name or environment_uuid.",
        );
    }
    if body.get("type").is_some() && body.get("docker_compose_raw").is_some() {
        return invalid(
            "type",
            "The type and docker_compose_raw fields are mutually exclusive.",
        );
    }
    if body.get("tags").is_some() && st.knobs.version.as_str() < "4.2.0" {
        return invalid("tags", "This field is not allowed.");
    }
    if body["server_uuid"] != st.server_uuid.as_str() {
        return message(404, "Server not found.");
    }
    if st.knobs.build_server {
        return invalid(
            "server_uuid",
            "Build servers cannot be used to deploy resources.",
        );
    }
    let Some(project) = st
        .projects
        .iter()
        .find(|p| p.uuid == body["project_uuid"].as_str().unwrap_or_default())
        .cloned()
    else {
        return message(404, "Project not found.");
    };
    let env = project.environments.iter().find(|(u, n)| {
        body["environment_name"].as_str() == Some(n) || body["environment_uuid"].as_str() == Some(u)
    });
    let Some((_, env_name)) = env.cloned() else {
        return message(404, "Environment not found.");
    };
    if st.destinations.len() > 1 && body.get("destination_uuid").is_none() {
        return message(
            400,
            "Server has multiple destinations and you do not set destination_uuid.",
        );
    }
    let Some(raw) = body["docker_compose_raw"].as_str() else {
        return invalid(
            "docker_compose_raw",
            "The docker_compose_raw field is required.",
        );
    };
    let parsed = match parse_compose(raw) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let mut subs = parsed.subs;
    let force = body["force_domain_override"].as_bool().unwrap_or(false);
    if let Err(a) = apply_urls(st, None, &mut subs, &body["urls"], force) {
        return a;
    }
    let uuid = st.uuid();
    for s in &mut subs {
        s.uuid = st.uuid();
    }
    let mut envs = Vec::new();
    for (k, d) in parsed.env_defaults {
        if !envs.iter().any(|e: &FEnv| e.key == k) {
            envs.push(FEnv {
                uuid: st.uuid(),
                key: k,
                value: d,
                is_literal: false,
                is_multiline: false,
                is_shown_once: false,
            });
        }
    }
    let domains: Vec<String> = subs.iter().filter_map(|s| s.fqdn.clone()).collect();
    let svc = FService {
        uuid: uuid.clone(),
        name: body["name"].as_str().unwrap_or("service").to_string(),
        description: body["description"].as_str().map(str::to_string),
        project_uuid: project.uuid.clone(),
        environment: env_name,
        server_uuid: st.server_uuid.clone(),
        compose: parsed.yaml,
        subs,
        envs,
        phase: Phase::Exited,
        volume_names: parsed
            .volume_keys
            .iter()
            .map(|k| format!("{uuid}_{k}"))
            .collect(),
        files: parsed.files,
        env_at_start: vec![],
    };
    let instant = body["instant_deploy"].as_bool().unwrap_or(false);
    st.services.insert(uuid.clone(), svc);
    if instant {
        let svc = st.services.get_mut(&uuid).unwrap();
        begin_start(svc);
    }
    json_answer(201, json!({ "uuid": uuid, "domains": domains }))
}

fn update_service(st: &mut State, uuid: &str, body: &Value) -> Answer {
    let Some(current) = st.services.get(uuid).cloned() else {
        return message(404, "Service not found.");
    };
    let mut svc = current.clone();
    if let Some(raw) = body.get("docker_compose_raw") {
        let parsed = match parse_compose(raw.as_str().unwrap_or_default()) {
            Ok(p) => p,
            Err(a) => return a,
        };
        // Re-parsing keeps sub-resources by name, their domains, and every edited variable.
        let mut subs = parsed.subs;
        for s in &mut subs {
            if let Some(old) = current.subs.iter().find(|o| o.name == s.name) {
                s.uuid = old.uuid.clone();
                s.fqdn = old.fqdn.clone();
                s.status = old.status.clone();
            }
        }
        for s in subs.iter_mut().filter(|s| s.uuid.is_empty()) {
            s.uuid = format!("sub{}", s.name);
        }
        for (k, d) in parsed.env_defaults {
            if !svc.envs.iter().any(|e| e.key == k) {
                svc.envs.push(FEnv {
                    uuid: format!("env{k}"),
                    key: k,
                    value: d,
                    is_literal: false,
                    is_multiline: false,
                    is_shown_once: false,
                });
            }
        }
        svc.subs = subs;
        svc.compose = parsed.yaml;
        svc.files = parsed.files;
        svc.volume_names = parsed
            .volume_keys
            .iter()
            .map(|k| format!("{uuid}_{k}"))
            .collect();
    }
    let force = body["force_domain_override"].as_bool().unwrap_or(false);
    if let Err(a) = apply_urls(st, Some(uuid), &mut svc.subs, &body["urls"], force) {
        return a;
    }
    if let Some(n) = body["name"].as_str() {
        svc.name = n.to_string();
    }
    let domains: Vec<String> = svc.subs.iter().filter_map(|s| s.fqdn.clone()).collect();
    st.services.insert(uuid.to_string(), svc);
    json_answer(200, json!({ "uuid": uuid, "domains": domains }))
}
