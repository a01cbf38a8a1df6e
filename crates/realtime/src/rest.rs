//! The REST surface beside the websocket: the broadcast endpoints realtime-js falls back to
//! (`send()` before joining, `httpSend`) and clear refusals for the Supabase APIs a supalove
//! project does not have, so supabase-js reports an `error` instead of hanging or
//! pretending success.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use supalove_phoenix::{BroadcastBody, UserBroadcast};

use crate::auth;
use crate::authz;
use crate::hub::room_key;
use crate::jwt::Claims;
use crate::payload_size;
use crate::state::State;

/// Adds the CORS headers the official router sends (`*`, R:lib/realtime_web/router.ex:105-115).
fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    r
}

fn reply(status: StatusCode, body: Value) -> Response {
    cors((status, Json(body)).into_response())
}

fn accepted() -> Response {
    cors(StatusCode::ACCEPTED.into_response())
}

/// `Authorization: bearer <t>` (any case), else the `apikey` header
/// (R:lib/realtime_web/plugs/auth_tenant.ex:17-76).
fn request_token(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    bearer.or_else(|| headers.get("apikey").and_then(|v| v.to_str().ok()))
}

fn authenticate(state: &State, headers: &HeaderMap) -> Option<Claims> {
    auth::claims_for(&state.config, request_token(headers)).ok()
}

fn unauthorized() -> Response {
    reply(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}))
}

fn blank() -> Value {
    json!(["can't be blank"])
}

/// `POST /api/broadcast` with `{"messages":[{topic, event, payload, private?, id?}]}`
/// (R:lib/realtime/tenants/batch_broadcast.ex): 202 with an empty body; invalid messages give
/// 422 `{"errors":{"messages":[…]}}` and nothing is sent; private messages the token may not
/// write are skipped silently.
pub async fn batch(
    AxState(state): AxState<Arc<State>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::OPTIONS {
        return cors(StatusCode::NO_CONTENT.into_response());
    }
    let Some(claims) = authenticate(&state, &headers) else {
        return unauthorized();
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"errors": {"messages": blank()}}),
        );
    };
    let max_kb = state.config.limits.max_payload_kb;
    let mut errors = Vec::with_capacity(messages.len());
    let mut parsed = Vec::with_capacity(messages.len());
    for m in messages {
        let mut e = Map::new();
        let text = |k: &str| m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let (topic, event) = (text("topic"), text("event"));
        if topic.is_none() {
            e.insert("topic".into(), blank());
        }
        if event.is_none() {
            e.insert("event".into(), blank());
        }
        let payload = match m.get("payload") {
            None | Some(Value::Null) => {
                e.insert("payload".into(), blank());
                None
            }
            Some(Value::Object(p)) => {
                let p = Value::Object(p.clone());
                if payload_size::exceeds(&p, max_kb) {
                    e.insert(
                        "payload".into(),
                        json!(["Payload size exceeds tenant limit"]),
                    );
                }
                Some(p)
            }
            Some(_) => {
                e.insert("payload".into(), json!(["is invalid"]));
                None
            }
        };
        let private = match m.get("private") {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                e.insert("private".into(), json!(["is invalid"]));
                None
            }
        };
        if let (true, Some(topic), Some(event), Some(payload), Some(private)) =
            (e.is_empty(), topic, event, payload, private)
        {
            let meta = m
                .get("id")
                .filter(|v| !v.is_null())
                .map(|id| json!({ "id": id }));
            parsed.push((
                private,
                UserBroadcast {
                    join_ref: None,
                    msg_ref: None,
                    topic: format!("realtime:{topic}"),
                    event: event.to_string(),
                    meta,
                    body: BroadcastBody::Json(payload),
                },
            ));
        }
        errors.push(Value::Object(e));
    }
    if errors
        .iter()
        .any(|e| e.as_object().is_some_and(|m| !m.is_empty()))
    {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"errors": {"messages": errors}}),
        );
    }
    let mut allowed: HashMap<String, bool> = HashMap::new();
    for (private, b) in &parsed {
        if *private {
            let name = b.topic.trim_start_matches("realtime:").to_string();
            if !allowed.contains_key(&name) {
                let ok = authz::permissions(&state.config.db, &name, &claims)
                    .await
                    .is_ok_and(|p| p.write);
                allowed.insert(name.clone(), ok);
            }
            if !allowed[&name] {
                continue;
            }
        }
        state
            .hub
            .broadcast(&room_key(&b.topic, *private), b, None, false);
    }
    accepted()
}

/// `POST /api/broadcast/:topic/events/:event[?private=true]`, what realtime-js `httpSend`
/// posts (R:lib/realtime/tenants/single_broadcast.ex): the body is the payload, JSON or raw
/// bytes; delivered as a binary user broadcast (a JSON `broadcast` for vsn 1.0.0 clients).
pub async fn single(
    AxState(state): AxState<Arc<State>>,
    method: Method,
    Path((topic, event)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::OPTIONS {
        return cors(StatusCode::NO_CONTENT.into_response());
    }
    // R:lib/realtime_web/plugs/validate_broadcast_content_type.ex:18-40.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let binary = match content_type.as_deref() {
        None | Some("application/json") => false,
        Some("application/octet-stream") => true,
        Some(_) => {
            return reply(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({"error": "Unsupported Media Type. Use application/json or application/octet-stream"}),
            )
        }
    };
    let Some(claims) = authenticate(&state, &headers) else {
        return unauthorized();
    };
    let private = q
        .get("private")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let max = state.config.limits.max_payload_kb as usize * 1000 + 500;
    let payload = if binary {
        if body.len() > max {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"errors": {"payload": ["Payload size exceeds tenant limit"]}}),
            );
        }
        BroadcastBody::Binary(body.to_vec())
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if !v.is_null() => {
                if payload_size::exceeds(&v, state.config.limits.max_payload_kb) {
                    return reply(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"errors": {"payload": ["Payload size exceeds tenant limit"]}}),
                    );
                }
                BroadcastBody::Json(v)
            }
            _ => {
                return reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"errors": {"payload": ["is invalid"]}}),
                )
            }
        }
    };
    if private
        && !authz::permissions(&state.config.db, &topic, &claims)
            .await
            .is_ok_and(|p| p.write)
    {
        return reply(StatusCode::FORBIDDEN, json!({"message": "Unauthorized"}));
    }
    let b = UserBroadcast {
        join_ref: None,
        msg_ref: None,
        topic: format!("realtime:{topic}"),
        event,
        meta: None,
        body: payload,
    };
    state
        .hub
        .broadcast(&room_key(&b.topic, private), &b, None, true);
    accepted()
}

/// Prefixes of the Supabase APIs a project does not have.
const MISSING_APIS: [&str; 5] = [
    "/rest/v1",
    "/auth/v1",
    "/storage/v1",
    "/functions/v1",
    "/graphql/v1",
];

/// Unknown paths: 501 for the Supabase APIs a project lacks, 404 otherwise.
pub async fn fallback(method: Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let missing = MISSING_APIS.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    if missing {
        return not_implemented(method, uri).await;
    }
    reply(
        StatusCode::NOT_FOUND,
        json!({"message": format!("no route for {method} {path}")}),
    )
}

/// What a missing Supabase API answers: 501 with a body supabase-js turns into `error`
/// (postgrest-js, auth-js, storage-js and functions-js read `message`/`msg`/`code`).
pub async fn not_implemented(method: Method, uri: axum::http::Uri) -> Response {
    if method == Method::OPTIONS {
        return cors(StatusCode::NO_CONTENT.into_response());
    }
    let path = uri.path();
    let service = path.split('/').nth(1).unwrap_or("");
    let (what, how) = match service {
        "rest" => (
            "no REST API (PostgREST): `supabase.from(...)` queries, inserts and RPC calls are not served",
            "write and read with SQL instead: connect to the project's DB_URL (`supalove env <project>`), \
             or run `supalove sql <project> \"insert into ...\"` / `supalove insert <project> <table> '<json>'`",
        ),
        "auth" => (
            "no Auth service (GoTrue): sign-up, sign-in and sessions are not served",
            "mint tokens from the project's JWT secret (`supalove env <project>` prints ANON_KEY and \
             SERVICE_ROLE_KEY) and pass them to the client; create users with SQL over DB_URL",
        ),
        "storage" => (
            "no Storage service",
            "keep files outside the project, or store bytes in a table over DB_URL (`supalove sql <project> ...`)",
        ),
        "functions" => (
            "no Edge Functions runtime",
            "run your function code as a normal process that connects to DB_URL",
        ),
        _ => (
            "no GraphQL endpoint (pg_graphql)",
            "query the database over DB_URL (`supalove sql <project> ...`)",
        ),
    };
    let message = format!("This supalove project has {what} ({method} {path}).");
    let hint = format!("Only Realtime runs here (`/realtime/v1`); {how}.");
    reply(
        StatusCode::NOT_IMPLEMENTED,
        json!({
            "code": "not_implemented",
            "message": message,
            "msg": message,
            "error": "not_implemented",
            "error_description": message,
            "hint": hint,
            "details": null,
        }),
    )
}
