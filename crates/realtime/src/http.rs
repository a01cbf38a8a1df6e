//! HTTP surface: websocket upgrade with pre-upgrade auth, health, ping, broadcast API.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use supalove_phoenix::{BroadcastBody, UserBroadcast, Vsn};

use crate::auth;
use crate::authz;
use crate::hub::room_key;
use crate::socket;
use crate::state::State;

/// The tenant name official clients and health checks use.
pub const TENANT: &str = "realtime-dev";
/// Largest websocket message accepted: the official `max_frame_size` (R:lib/realtime_web/endpoint.ex:16-42).
const MAX_MESSAGE: usize = 5_000_000;

/// All routes of the engine.
pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/socket/websocket", get(websocket))
        .route("/realtime/v1/websocket", get(websocket))
        .route("/health", get(health))
        .route("/healthcheck", get(health))
        .route("/api/tenants/{tenant}/health", get(tenant_health))
        .route("/api/ping", get(ping))
        .route("/api/broadcast", post(broadcast))
        .route("/realtime/v1/api/broadcast", post(broadcast))
        .with_state(state)
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn websocket(
    AxState(state): AxState<Arc<State>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let vsn = match Vsn::parse(q.get("vsn").map(String::as_str)) {
        Ok(v) => v,
        Err(e) => return refuse(StatusCode::FORBIDDEN, e.to_string()),
    };
    let token = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| q.get("apikey").map(String::as_str));
    // The current official server refuses a bad connect token with 401 and the reason before
    // upgrading (R:lib/realtime_web/channels/user_socket.ex:149-171); `sb_…` API keys are not
    // JWTs and get "The token provided is not a valid JWT" (R:…/auth/jwt_verification.ex:69-75).
    let claims = match auth::claims_for(&state.config, token) {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, auth::connect_error(&e).into()),
    };
    let token = token.map(str::to_owned);
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    // Small buffers: tungstenite's 128 KiB defaults would cost >1 GB at 10k idle sockets.
    ws.max_message_size(MAX_MESSAGE)
        .read_buffer_size(1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| socket::serve(state, socket, vsn, claims, token))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("apikey").and_then(|v| v.to_str().ok()))
}

fn health_body(state: &State) -> (bool, Value) {
    let s = state.capture.borrow().clone();
    let body = json!({
        "status": if s.live { "ok" } else { "degraded" },
        "db_connected": s.db_connected,
        "replication": {
            "live": s.live,
            "method": s.method,
            "mode": format!("{:?}", state.config.mode).to_uppercase(),
            "slot": state.config.slot_name,
            "temporary_slot": state.config.temporary_slot,
            "reconnects": s.reconnects,
            "last_error": s.last_error,
        },
        "sockets": state.sockets.load(Ordering::Relaxed),
    });
    (s.live, body)
}

async fn health(AxState(state): AxState<Arc<State>>) -> Response {
    let (live, body) = health_body(&state);
    let code = if live {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn tenant_health(
    AxState(state): AxState<Arc<State>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    if state.config.secure_channels && auth::claims_for(&state.config, bearer(&headers)).is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    if tenant != TENANT {
        return refuse(StatusCode::NOT_FOUND, "Tenant not found".into());
    }
    let s = state.capture.borrow().clone();
    Json(json!({ "data": {
        "healthy": s.live,
        "db_connected": s.db_connected,
        "connected_cluster": state.sockets.load(Ordering::Relaxed),
    }}))
    .into_response()
}

async fn ping() -> Json<Value> {
    Json(json!({ "message": "Success" }))
}

async fn broadcast(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(claims) = auth::claims_for(&state.config, bearer(&headers)) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "a valid apikey or Bearer token is required".into(),
        );
    };
    let Ok(Json(body)) = body else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "body must be JSON: {\"messages\":[...]}".into(),
        );
    };
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`messages` must be an array".into(),
        );
    };
    let mut parsed = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let (Some(topic), Some(event), Some(payload)) = (
            m.get("topic").and_then(Value::as_str),
            m.get("event").and_then(Value::as_str),
            m.get("payload").filter(|p| p.is_object()),
        ) else {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("messages[{i}] needs string `topic`, string `event` and object `payload`"),
            );
        };
        let private = m.get("private").and_then(Value::as_bool).unwrap_or(false);
        let b = UserBroadcast {
            join_ref: None,
            msg_ref: None,
            topic: format!("realtime:{topic}"),
            event: event.to_string(),
            meta: None,
            body: BroadcastBody::Json(payload.clone()),
        };
        parsed.push((private, b));
    }
    for (private, b) in &parsed {
        if *private {
            // Private rooms take messages only from tokens their policies let write.
            let name = b.topic.trim_start_matches("realtime:");
            match authz::permissions(&state.config.db, name, &claims).await {
                Ok(p) if p.write => {}
                _ => continue,
            }
        }
        state.hub.broadcast(&room_key(&b.topic, *private), b, None);
    }
    StatusCode::ACCEPTED.into_response()
}
