//! The routes the fake implements, in the controllers' words (coolify@app/Http/Controllers/Api).

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use serde_json::{json, Value};

use super::openapi::{OpenApi, ResponseBody, Route};
use super::*;

/// What a start hands the backing.
fn started(svc: &FService) -> Lifecycle {
    Lifecycle::Start {
        uuid: svc.uuid.clone(),
        compose: svc.compose.clone(),
        env: svc.env_at_start.last().cloned().unwrap_or_default(),
        files: svc.files.clone(),
    }
}

/// The ability a route needs (coolify@routes/api.php).
pub(super) fn ability(method: &Method, template: &str) -> &'static str {
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

pub(super) fn serve(
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
            if st.backing.is_none() {
                advance(svc, &st.knobs.clone());
            }
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
            let volumes = q("delete_volumes").as_deref() != Some("false");
            if volumes {
                for v in &svc.volume_names {
                    st.volumes.remove(v);
                }
            }
            if let Some(b) = &st.backing {
                (b.0)(Lifecycle::Delete {
                    uuid: svc.uuid.clone(),
                    volumes,
                });
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
            let started = started(svc);
            let vols = svc.volume_names.clone();
            st.volumes.extend(vols);
            if let Some(b) = &st.backing {
                (b.0)(started);
            }
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
            let uuid = svc.uuid.clone();
            if let Some(b) = &st.backing {
                (b.0)(Lifecycle::Stop { uuid });
            }
            message(200, "Service stopping request queued.")
        }
        ("POST", "/services/{uuid}/restart") => {
            let Some(svc) = st.services.get_mut(&p("uuid")) else {
                return message(404, "Service not found.");
            };
            begin_start(svc);
            let started = started(svc);
            let vols = svc.volume_names.clone();
            st.volumes.extend(vols);
            if let Some(b) = &st.backing {
                (b.0)(started);
            }
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
