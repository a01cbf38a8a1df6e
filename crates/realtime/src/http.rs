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
use supalove_phoenix::Vsn;

use crate::auth;
use crate::rest;
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
        .route("/api/broadcast", post(rest::batch).options(rest::batch))
        .route(
            "/realtime/v1/api/broadcast",
            post(rest::batch).options(rest::batch),
        )
        .route(
            "/api/broadcast/{topic}/events/{event}",
            post(rest::single).options(rest::single),
        )
        .route(
            "/realtime/v1/api/broadcast/{topic}/events/{event}",
            post(rest::single).options(rest::single),
        )
        .route("/realtime/v1/api/ping", get(ping))
        .route(
            "/realtime/v1/api/tenants/{tenant}/health",
            get(tenant_health),
        )
        .with_state(state)
        .fallback(rest::fallback)
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
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, auth::connect_error(&e)),
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
