//! supalove-api: the control-plane HTTP API (`supalove serve`). A third shell over the core,
//! like the CLI and the app: every route parses, calls one core function and renders.
//! Bound to 127.0.0.1 and ::1 only; every route but `/v1/health` needs the bearer token; a
//! foreign `Host` is refused; no CORS unless origins are allowed explicitly.

pub mod guard;
pub mod problem;
pub mod routes;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use supalove_core::provisioner::Provisioner;
use supalove_core::{Error, Supalove};
use utoipa::OpenApi;

/// `supalove serve`'s default port.
pub const DEFAULT_PORT: u16 = 54320;

/// Request bodies larger than this are refused (413).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub port: u16,
    /// Origins a browser page may call from (CORS); empty: none.
    pub allowed_origins: Vec<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            port: DEFAULT_PORT,
            allowed_origins: Vec::new(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "supalove control plane",
        description = "Local Supabase-like projects on Docker, over HTTP: what the supalove CLI and app do. Served by `supalove serve` on 127.0.0.1; send `Authorization: Bearer $(supalove api token)`.",
        license(name = "MIT")
    ),
    paths(
        routes::health,
        routes::openapi_json,
        routes::docker,
        routes::create,
        routes::list,
        routes::show,
        routes::start,
        routes::stop,
        routes::restart,
        routes::remove,
        routes::logs,
        routes::events,
        routes::doctor,
        routes::doctor_fix,
        routes::sql,
        routes::env,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "projects", description = "Create, inspect, run and remove projects"),
        (name = "server", description = "The server itself")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document as pretty JSON (what `GET /v1/openapi.json` serves and the repo keeps
/// in `crates/api/openapi.json`).
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// The routes over `app`, with the guard (Host, token) and the body limit.
pub fn router<P: Provisioner + Clone + 'static>(
    app: Arc<Supalove<P>>,
    tokens: Arc<guard::Tokens>,
    allowed_origins: &[String],
) -> Router {
    use routes::*;
    let state = Arc::new(ApiState { app });
    let mut router = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/v1/docker", get(docker::<P>))
        .route("/v1/events", get(events::<P>))
        .route("/v1/projects", get(list::<P>).post(create::<P>))
        .route("/v1/projects/{name}", get(show::<P>).delete(remove::<P>))
        .route("/v1/projects/{name}/start", post(start::<P>))
        .route("/v1/projects/{name}/stop", post(stop::<P>))
        .route("/v1/projects/{name}/restart", post(restart::<P>))
        .route("/v1/projects/{name}/logs", get(logs::<P>))
        .route(
            "/v1/projects/{name}/doctor",
            get(doctor::<P>).post(doctor_fix::<P>),
        )
        .route("/v1/projects/{name}/sql", post(sql::<P>))
        .route("/v1/projects/{name}/env", get(env::<P>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(tokens, guard::check));
    if !allowed_origins.is_empty() {
        use tower_http::cors::{AllowOrigin, CorsLayer};
        let origins: Vec<_> = allowed_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods(tower_http::cors::Any)
                .allow_headers([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::CONTENT_TYPE,
                ]),
        );
    }
    router
}

/// A bound server, ready to run.
pub struct Server {
    listeners: Vec<tokio::net::TcpListener>,
    router: Router,
    port: u16,
}

impl Server {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (useful with port 0 in tests).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the future is dropped.
    pub async fn run(self) -> std::io::Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for listener in self.listeners {
            let router = self.router.clone();
            tasks.spawn(async move { axum::serve(listener, router).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(std::io::Error::other)??;
        }
        Ok(())
    }
}

/// Binds 127.0.0.1 (and ::1 where the machine has IPv6) on `options.port`. A taken port is
/// refused with the name of the program holding it.
pub async fn bind<P: Provisioner + Clone + 'static>(
    app: Arc<Supalove<P>>,
    options: ServeOptions,
) -> Result<Server, Error> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    let first = tokio::net::TcpListener::bind(v4)
        .await
        .map_err(|e| bind_error(options.port, e))?;
    let port = first.local_addr().map(|a| a.port()).unwrap_or(options.port);
    let mut listeners = vec![first];
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match tokio::net::TcpListener::bind(v6).await {
        Ok(l) => listeners.push(l),
        // No IPv6 loopback on this machine: 127.0.0.1 is enough.
        Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {}
        Err(e) if e.raw_os_error() == Some(97) => {} // EAFNOSUPPORT
        Err(e) => return Err(bind_error(port, e)),
    }
    let source_app = Arc::clone(&app);
    let source: guard::TokenSource = Arc::new(move || {
        let app = Arc::clone(&source_app);
        Box::pin(async move { app.api_token().await })
    });
    // The token is created now, so `supalove api token` prints the one this server expects.
    app.api_token().await?;
    let tokens = Arc::new(guard::Tokens::new(source));
    let router = router(app, tokens, &options.allowed_origins);
    Ok(Server {
        listeners,
        router,
        port,
    })
}

fn bind_error(port: u16, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        Error::PortInUse {
            port,
            what: "the control-plane API".into(),
            owner: supalove_core::ports::describe_listener(port),
        }
    } else {
        Error::Io {
            context: format!("listening on 127.0.0.1:{port}"),
            source: e,
        }
    }
}

#[cfg(test)]
mod tests {
    /// The committed document (`crates/api/openapi.json`) is what the code generates; rerun
    /// with `SUPALOVE_WRITE_OPENAPI=1` to regenerate it after changing a route or a type.
    #[test]
    fn committed_openapi_document_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let generated = super::openapi_json();
        if std::env::var_os("SUPALOVE_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "crates/api/openapi.json drifted from the code: run `SUPALOVE_WRITE_OPENAPI=1 cargo test -p supalove-api committed_openapi` and commit it"
        );
        let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/v1/projects"]["post"].is_object());
        assert!(doc["components"]["schemas"]["ProjectCard"].is_object());
    }
}
