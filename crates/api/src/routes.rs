//! The routes: each parses its input, calls one core function and renders the result.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use supalove_core::card::ProjectCard;
use supalove_core::ports::PortRequest;
use supalove_core::projects::DoctorReport;
use supalove_core::provisioner::{
    EngineStatus, LogLine, LogOptions, Progress, Provisioner, RemoveReport,
};
use supalove_core::registry::RealtimeEngine;
use supalove_core::sql::StatementResult;
use supalove_core::{CreateProject, Error, RemoveOptions, Shell, Supalove};
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

use crate::problem::{ApiError, Problem};

/// What every handler shares.
pub struct ApiState<P> {
    pub app: Arc<Supalove<P>>,
}

type St<P> = State<Arc<ApiState<P>>>;
type Res<T> = Result<T, ApiError>;

/// A JSON body whose rejections are problem+json too (400 syntax, 415 type, 422 shape).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(rejected(rejection).into()),
        }
    }
}

/// Query parameters whose rejections are problem+json too (400), like [`Body`].
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for Params<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(r) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                r.body_text(),
                Some("check the query parameters against GET /v1/openapi.json"),
            )
            .into()),
        }
    }
}

fn rejected(r: JsonRejection) -> Problem {
    let (kind, hint) = match &r {
        JsonRejection::JsonSyntaxError(_) => ("bad_json", "send a valid JSON object"),
        JsonRejection::JsonDataError(_) => (
            "invalid_body",
            "check the field names and types against GET /v1/openapi.json",
        ),
        JsonRejection::MissingJsonContentType(_) => (
            "unsupported_media_type",
            "send `Content-Type: application/json`",
        ),
        _ => ("bad_body", "send a JSON body of at most 1 MiB"),
    };
    Problem::new(r.status(), kind, r.body_text(), Some(hint))
}

/// `POST /v1/projects`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Project name: 1-40 of `a-z 0-9 -`, starting and ending with a letter or digit.
    #[schema(example = "shop", pattern = "^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")]
    pub name: String,
    /// Realtime engine; the server's default (`native`) when absent.
    pub engine: Option<RealtimeEngine>,
    /// Host port of Postgres on 127.0.0.1 (default: a free one).
    #[schema(minimum = 1024, maximum = 65535)]
    pub db_port: Option<u16>,
    /// `REALTIME_PORT` on 127.0.0.1 (default: a free one).
    #[schema(minimum = 1024, maximum = 65535)]
    pub realtime_port: Option<u16>,
    /// Deploy to this remote target (a Coolify instance added with `supalove target add`)
    /// instead of the local Docker engine.
    #[schema(example = "prod")]
    pub target: Option<String>,
    /// With `target`: the server (uuid) on the target (default: the target's, else the first
    /// usable one).
    pub server: Option<String>,
    /// With `target`: the public host of the project's Realtime; for the official engine it
    /// must start with `realtime-dev.`.
    pub domain: Option<String>,
    /// With `target`: the Realtime image the target's server pulls (required for the native
    /// engine, whose image is built locally).
    pub realtime_image: Option<String>,
}

/// How `POST /v1/projects` answers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// `false`: answer 202 at once and let the work go on (default `true`: answer 201 when ready).
    pub wait: Option<bool>,
}

/// The answer to `POST /v1/projects?wait=false`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub name: String,
    /// Always `creating`.
    pub status: String,
    /// Where the project's card is.
    pub location: String,
}

/// `GET /v1/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    pub version: String,
}

/// `DELETE /v1/projects/{name}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Also delete the data volumes and the project's secrets (default `false`: kept).
    pub volumes: Option<bool>,
    /// With `volumes`: skip the pg_dump into the backups folder otherwise taken first.
    pub skip_backup: Option<bool>,
    /// Only say what would be removed and kept.
    pub dry_run: Option<bool>,
}

/// `GET /v1/projects/{name}/logs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// One service (`db`, `realtime`); all merged when absent.
    pub service: Option<String>,
    /// Only the last N lines of history.
    #[param(minimum = 0, maximum = 100000)]
    pub tail: Option<u64>,
    /// Keep streaming (Server-Sent Events, one `log` event per line).
    pub follow: Option<bool>,
}

/// The most history lines one logs request returns (the document's `tail` maximum).
const MAX_TAIL: u64 = 100_000;

/// `GET /v1/projects/{name}/doctor`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoctorQuery {
    /// Comma-separated `schema.table`s to check (default: published tables and public's).
    pub tables: Option<String>,
}

/// `POST /v1/projects/{name}/doctor`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoctorBody {
    /// `schema.table`s to check.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Apply the safe fixes (create the publication, add tables to it).
    #[serde(default)]
    pub fix: bool,
}

/// `POST /v1/projects/{name}/sql`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlBody {
    /// One or more `;`-separated statements, run as the project's owner.
    #[schema(example = "select 1")]
    pub statement: String,
}

fn wants_events(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

fn check_port(field: &str, port: Option<u16>) -> Result<(), ApiError> {
    match port {
        Some(p) if p < 1024 => Err(ApiError::from(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("{field} {p} is not a usable port (1024-65535)"),
            Some("leave it out so supalove picks a free one, or send one between 1024 and 65535"),
        ))),
        _ => Ok(()),
    }
}

fn sse_json<T: Serialize>(name: &str, value: &T) -> Event {
    Event::default()
        .event(name)
        .json_data(value)
        .unwrap_or_else(|_| Event::default().event(name))
}

#[utoipa::path(get, path = "/v1/health", tag = "server",
    responses((status = 200, description = "The server answers", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "server",
    responses((status = 200, description = "This API's OpenAPI 3.1 document", content_type = "application/json", body = Object),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi_json(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/docker", tag = "server",
    responses((status = 200, description = "Whether Docker answers, and what was tried", body = EngineStatus),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn docker<P: Provisioner + Clone + 'static>(State(st): St<P>) -> Json<EngineStatus> {
    Json(st.app.docker_status(Shell::Api).await)
}

#[utoipa::path(post, path = "/v1/projects", tag = "projects",
    params(CreateQuery),
    request_body = CreateBody,
    responses(
        (status = 201, description = "Created and ready: the provisioning result (`Accept: text/event-stream` streams `progress` events, then `result` or `error`)",
            content((ProjectCard = "application/json"), (String = "text/event-stream")),
            headers(("location" = String, description = "The project's URL"))),
        (status = 202, description = "Accepted (`?wait=false`); the work goes on", body = Accepted),
        (status = 400, description = "Not JSON, or a bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken or being created, port in use (names its owner), no free ports, orphan volume", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad name, engine, port or unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Docker or the keyring unreachable, image missing, a service did not become ready", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    headers: HeaderMap,
    Params(q): Params<CreateQuery>,
    Body(b): Body<CreateBody>,
) -> Res<Response> {
    supalove_core::name::validate_name(&b.name)?;
    check_port("db_port", b.db_port)?;
    check_port("realtime_port", b.realtime_port)?;
    let req = CreateProject {
        name: b.name.clone(),
        ports: PortRequest {
            db: b.db_port,
            realtime: b.realtime_port,
            allow_privileged: false,
        },
        engine: b.engine,
        remote: match b.target.clone() {
            Some(target) => Some(supalove_core::projects::RemoteRequest {
                target,
                server: b.server.clone(),
                domain: b.domain.clone(),
                realtime_image: b.realtime_image.clone(),
            }),
            None => {
                if b.server.is_some() || b.domain.is_some() || b.realtime_image.is_some() {
                    return Err(Error::InvalidRequest(
                        "`server`, `domain` and `realtime_image` need `target`".into(),
                    )
                    .into());
                }
                None
            }
        },
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
    let app = Arc::clone(&st.app);
    // The work runs in its own task: a caller that goes away never leaves half a project.
    let work = tokio::spawn(async move {
        let sink = move |p: Progress| {
            let _ = tx.send(p);
        };
        app.create(req, &sink).await
    });
    if wants_events(&headers) {
        let progress = stream::poll_fn(move |cx| rx.poll_recv(cx))
            .map(|p| Ok::<_, Infallible>(sse_json("progress", &p)));
        let outcome = stream::once(async move {
            Ok::<_, Infallible>(match work.await {
                Ok(Ok(card)) => sse_json("result", &card),
                Ok(Err(e)) => sse_json("error", &Problem::from(e)),
                Err(e) => sse_json("error", &Problem::from(internal(e))),
            })
        });
        return Ok(Sse::new(progress.chain(outcome))
            .keep_alive(KeepAlive::default())
            .into_response());
    }
    let location = format!("/v1/projects/{}", b.name);
    if q.wait == Some(false) {
        // Refuse what can be refused at once, so a 202 is not followed by silent failure.
        st.app.check_name(&b.name).await?;
        let body = Accepted {
            name: b.name,
            status: "creating".into(),
            location: location.clone(),
        };
        return Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(body),
        )
            .into_response());
    }
    let card = work.await.map_err(internal)??;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(card),
    )
        .into_response())
}

fn internal(e: tokio::task::JoinError) -> Error {
    Error::Io {
        context: "the request's task failed".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

#[utoipa::path(get, path = "/v1/projects", tag = "projects",
    responses((status = 200, description = "Every project with its live status", body = [ProjectCard]),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Docker or the keyring unreachable", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
) -> Res<Json<Vec<ProjectCard>>> {
    Ok(Json(st.app.list().await?))
}

#[utoipa::path(get, path = "/v1/projects/{name}", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop")),
    responses((status = 200, description = "The project's card (the provisioning result)", body = ProjectCard),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Its secrets are gone", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Docker or the keyring unreachable", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn show<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
) -> Res<Json<ProjectCard>> {
    Ok(Json(st.app.show(&name).await?))
}

/// Start, stop or restart.
async fn lifecycle<P: Provisioner + Clone + 'static>(
    st: Arc<ApiState<P>>,
    name: String,
    action: &'static str,
    options: supalove_core::projects::StartOptions,
) -> Res<Json<ProjectCard>> {
    let app = Arc::clone(&st.app);
    let work = tokio::spawn(async move {
        let sink = |_: Progress| {};
        match action {
            "start" => app.start_with(&name, options, &sink).await,
            "stop" => app.stop(&name, &sink).await,
            _ => app.restart(&name, &sink).await,
        }
    });
    Ok(Json(work.await.map_err(internal)??))
}

/// `POST /v1/projects/{name}/start`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// `true`: when the project's data volume is gone (or holds another database), begin again
    /// with an empty database instead of refusing (409 `volume_missing` / `volume_foreign`).
    pub recreate_empty: Option<bool>,
}

#[utoipa::path(post, path = "/v1/projects/{name}/start", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop"), StartQuery),
    responses((status = 200, description = "Started and ready", body = ProjectCard),
              (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "A port is taken (names its owner); the data volume is gone or holds another database (see `recreate_empty`)", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Docker unreachable, or a service did not become ready", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn start<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
    Params(q): Params<StartQuery>,
) -> Res<Json<ProjectCard>> {
    let options = supalove_core::projects::StartOptions {
        recreate_empty: q.recreate_empty.unwrap_or(false),
    };
    lifecycle(st, name, "start", options).await
}

#[utoipa::path(post, path = "/v1/projects/{name}/stop", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop")),
    responses((status = 200, description = "Stopped; data is kept", body = ProjectCard),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Docker unreachable", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn stop<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
) -> Res<Json<ProjectCard>> {
    lifecycle(st, name, "stop", Default::default()).await
}

#[utoipa::path(post, path = "/v1/projects/{name}/restart", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop")),
    responses((status = 200, description = "Restarted and ready", body = ProjectCard),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "A port is taken (names its owner)", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Docker unreachable, or a service did not become ready", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn restart<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
) -> Res<Json<ProjectCard>> {
    lifecycle(st, name, "restart", Default::default()).await
}

#[utoipa::path(delete, path = "/v1/projects/{name}", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop"), DeleteQuery),
    responses((status = 200, description = "What was removed and kept (with `dry_run`: what would be)", body = RemoveReport),
              (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "A database holding data could not be dumped first (pass `skip_backup=true`), or the project is busy", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Bad project name", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Docker unreachable", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn remove<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
    Params(q): Params<DeleteQuery>,
) -> Res<Json<RemoveReport>> {
    let options = RemoveOptions {
        volumes: q.volumes.unwrap_or(false),
        skip_backup: q.skip_backup.unwrap_or(false),
    };
    if q.dry_run == Some(true) {
        return Ok(Json(st.app.removal_plan(&name, options).await?));
    }
    let app = Arc::clone(&st.app);
    let work = tokio::spawn(async move { app.remove(&name, options, &|_| {}).await });
    Ok(Json(work.await.map_err(internal)??))
}

#[utoipa::path(get, path = "/v1/projects/{name}/logs", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop"), LogsQuery),
    responses((status = 200, description = "Log lines (`follow=true`: Server-Sent Events, one `log` event per line)",
                content((Vec<LogLine> = "application/json"), (String = "text/event-stream"))),
              (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project, or no such service in it", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Docker unreachable", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn logs<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
    Params(q): Params<LogsQuery>,
) -> Res<Response> {
    if q.tail.is_some_and(|t| t > MAX_TAIL) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("tail: at most {MAX_TAIL} lines"),
            Some("ask for fewer lines, or follow the stream"),
        )
        .into());
    }
    let follow = q.follow.unwrap_or(false);
    let lines = st
        .app
        .logs(
            &name,
            q.service.as_deref(),
            LogOptions {
                follow,
                tail: q.tail,
            },
        )
        .await?;
    if follow {
        let events = lines.map(|l| {
            Ok::<_, Infallible>(match l {
                Ok(line) => sse_json("log", &line),
                Err(e) => sse_json("error", &Problem::from(e)),
            })
        });
        return Ok(Sse::new(events)
            .keep_alive(KeepAlive::default())
            .into_response());
    }
    let mut out = Vec::new();
    let mut lines = lines;
    while let Some(line) = lines.next().await {
        out.push(line?);
    }
    Ok(Json(out).into_response())
}

#[utoipa::path(get, path = "/v1/events", tag = "server",
    responses((status = 200, description = "Server-Sent Events: `change` (a container's state changed), `docker_lost`, `docker_back`", content_type = "text/event-stream", body = String),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn events<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = st.app.watch(None).map(|ev| {
        let name = match &ev {
            supalove_core::projects::WatchEvent::Change(_) => "change",
            supalove_core::projects::WatchEvent::DockerLost { .. } => "docker_lost",
            supalove_core::projects::WatchEvent::DockerBack { .. } => "docker_back",
        };
        Ok(sse_json(name, &ev))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

#[utoipa::path(get, path = "/v1/projects/{name}/doctor", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop"), DoctorQuery),
    responses((status = 200, description = "What Realtime needs, checked", body = DoctorReport),
              (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The project's database does not answer (stopped?)", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Bad table name", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn doctor<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
    Params(q): Params<DoctorQuery>,
) -> Res<Json<DoctorReport>> {
    let tables: Vec<String> = q
        .tables
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Json(st.app.doctor(&name, &tables, false).await?))
}

#[utoipa::path(post, path = "/v1/projects/{name}/doctor", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop")),
    request_body = DoctorBody,
    responses((status = 200, description = "Checked (and, with `fix`, the safe fixes applied)", body = DoctorReport),
              (status = 400, description = "Not JSON, or a bad query parameter", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The project's database does not answer (stopped?)", body = Problem, content_type = "application/problem+json"),
              (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
              (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Bad body or table name", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn doctor_fix<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
    Body(b): Body<DoctorBody>,
) -> Res<Json<DoctorReport>> {
    Ok(Json(st.app.doctor(&name, &b.tables, b.fix).await?))
}

#[utoipa::path(post, path = "/v1/projects/{name}/sql", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop")),
    request_body = SqlBody,
    responses((status = 200, description = "One result per statement", body = [StatementResult]),
              (status = 400, description = "Not JSON, or a bad query parameter", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The project's database does not answer (stopped?)", body = Problem, content_type = "application/problem+json"),
              (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
              (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Bad body, or Postgres refused the SQL (`position` says where)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn sql<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
    Body(b): Body<SqlBody>,
) -> Res<Json<Vec<StatementResult>>> {
    Ok(Json(st.app.sql(&name, &b.statement).await?))
}

#[utoipa::path(get, path = "/v1/projects/{name}/env", tag = "projects",
    params(("name" = String, Path, description = "Project name", example = "shop")),
    responses((status = 200, description = "Connection settings as dotenv pairs (holds secrets, like `supalove env`)", body = BTreeMap<String, String>),
              (status = 401, description = "No or wrong token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Foreign Host", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Docker or the keyring unreachable", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn env<P: Provisioner + Clone + 'static>(
    State(st): St<P>,
    Path(name): Path<String>,
) -> Res<Json<BTreeMap<String, String>>> {
    Ok(Json(st.app.env(&name).await?))
}

/// Any other path.
pub async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "there is no such route",
        Some("see GET /v1/openapi.json for the routes"),
    )
}

/// A route that exists, with another method.
pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
        Some("see GET /v1/openapi.json for the routes"),
    )
}
