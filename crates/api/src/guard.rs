//! What every request passes before a route sees it: a loopback `Host` (no DNS rebinding)
//! and, for all but `/v1/health`, the bearer token, compared in constant time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use crate::problem::Problem;

/// How long a token read from the secret store is trusted before it is read again, so a
/// rotation from another process (`supalove api token --rotate`) takes effect at once-ish
/// without a keyring call per request.
const TOKEN_TTL: Duration = Duration::from_secs(1);

/// Reads the current token (from the secret store).
pub type TokenSource = Arc<
    dyn Fn() -> futures_util::future::BoxFuture<'static, supalove_core::Result<String>>
        + Send
        + Sync,
>;

/// The token check's state.
pub struct Tokens {
    source: TokenSource,
    cached: Mutex<Option<(String, Instant)>>,
}

impl Tokens {
    /// Tokens read through `source`.
    pub fn new(source: TokenSource) -> Self {
        Tokens {
            source,
            cached: Mutex::new(None),
        }
    }

    async fn current(&self) -> supalove_core::Result<String> {
        let mut slot = self.cached.lock().await;
        if let Some((token, at)) = slot.as_ref() {
            if at.elapsed() < TOKEN_TTL {
                return Ok(token.clone());
            }
        }
        let token = (self.source)().await?;
        *slot = Some((token.clone(), Instant::now()));
        Ok(token)
    }
}

/// True when `host` (a Host header value) names this machine's loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [::1]:port
        match rest.split_once(']') {
            Some((addr, tail)) if tail.is_empty() || tail.starts_with(':') => addr,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Refuses foreign `Host`s and missing or wrong tokens.
pub async fn check(State(tokens): State<Arc<Tokens>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !is_loopback_host(host) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            format!("requests must be addressed to a loopback host, not {host:?}"),
            Some("call the API as http://127.0.0.1:<port> or http://localhost:<port>"),
        )
        .into_response();
    }
    if req.uri().path() == "/v1/health" {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(given) = given else {
        return unauthorized("the request has no `Authorization: Bearer <token>` header");
    };
    let expected = match tokens.current().await {
        Ok(t) => t,
        Err(e) => return Problem::from(e).into_response(),
    };
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        next.run(req).await
    } else {
        unauthorized("the bearer token is not this server's")
    }
}

fn unauthorized(detail: &str) -> Response {
    let mut r = Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        detail,
        Some("send `Authorization: Bearer $(supalove api token)`"),
    )
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"supalove\""),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:54320",
            "localhost:54320",
            "LOCALHOST",
            "[::1]:54320",
            "[::1]",
            "app.localhost:1",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:54320",
            "127.0.0.1.evil.example",
            "10.0.0.1:54320",
            "[::2]:1",
            "localhost:abc",
            "[::1]x",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
