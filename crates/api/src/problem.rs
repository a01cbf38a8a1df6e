//! One error shape for every route: RFC 9457 problem+json with a stable `kind`, a `title`, the
//! user-facing `detail` and a `hint` worded for HTTP callers.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use supalove_core::{Error, Shell};

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:supalove:problem:<kind>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short, fixed summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, for people.
    pub detail: String,
    /// Stable machine-readable kind (`name_taken`, `docker_unavailable`, ...).
    pub kind: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The failing service's last log lines, when a service did not become ready.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub last_logs: Vec<String>,
    /// Endpoints tried, when Docker was unreachable.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tried: Vec<String>,
    /// 1-based character position of a SQL error in the statement.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub position: Option<u32>,
}

impl Problem {
    /// A problem of the API's own (not a core error).
    pub fn new(
        status: StatusCode,
        kind: &str,
        detail: impl Into<String>,
        hint: Option<&str>,
    ) -> Self {
        Problem {
            type_: format!("urn:supalove:problem:{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            kind: kind.to_string(),
            hint: hint.map(str::to_string),
            last_logs: Vec::new(),
            tried: Vec::new(),
            position: None,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The HTTP status a core error maps to.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::InvalidName { .. }
        | Error::InvalidSetting { .. }
        | Error::InvalidJwt(_)
        | Error::InvalidRequest(_)
        | Error::PortOutOfRange { .. }
        | Error::RestoreFailed { .. }
        | Error::Query { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::NotFound(_) | Error::UnknownService { .. } => StatusCode::NOT_FOUND,
        Error::NameTaken(_)
        | Error::NameHeld { .. }
        | Error::Busy(_)
        | Error::PortInUse { .. }
        | Error::NoFreePorts { .. }
        | Error::OrphanVolume { .. }
        | Error::VolumeMissing { .. }
        | Error::VolumeForeign { .. }
        | Error::BackupFailed { .. }
        | Error::SecretMissing { .. }
        | Error::SecretsElsewhere { .. }
        | Error::DatabaseUnreachable { .. } => StatusCode::CONFLICT,
        Error::DockerUnavailable { .. }
        | Error::KeyringUnavailable(_)
        | Error::ImageMissing { .. }
        | Error::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::Docker(_) | Error::Realtime(_) | Error::Database(_) | Error::Target { .. } => {
            StatusCode::BAD_GATEWAY
        }
        Error::Unsupported { .. } => StatusCode::NOT_IMPLEMENTED,
        Error::Template(_) | Error::Registry { .. } | Error::Io { .. } => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let status = status_of(&e);
        let mut p = Problem {
            type_: format!("urn:supalove:problem:{}", e.kind()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: e.to_string(),
            kind: e.kind().to_string(),
            hint: e.hint_for(Shell::Api),
            last_logs: Vec::new(),
            tried: Vec::new(),
            position: None,
        };
        match e {
            Error::NotReady { last_logs, .. } => p.last_logs = last_logs,
            Error::DockerUnavailable { tried, .. } => p.tried = tried,
            Error::Query { position, .. } => p.position = position,
            _ => {}
        }
        p
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// What a handler returns on failure (boxed: problems are large and errors are rare).
pub struct ApiError(pub Box<Problem>);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(Box::new(e.into()))
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError(Box::new(p))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_kind_hint_and_details() {
        let p = Problem::from(Error::NameTaken("shop".into()));
        assert_eq!(p.status, 409);
        assert_eq!(p.kind, "name_taken");
        assert_eq!(p.type_, "urn:supalove:problem:name_taken");
        let hint = p.hint.unwrap();
        assert!(hint.contains("GET /v1/projects"), "{hint}");
        assert!(
            !hint.contains("supalove show"),
            "an HTTP hint names no CLI command: {hint}"
        );
        let down = Problem::from(Error::DockerUnavailable {
            tried: vec!["unix:///var/run/docker.sock".into()],
            detail: "connection refused".into(),
        });
        assert_eq!(down.status, 503);
        assert_eq!(down.tried, vec!["unix:///var/run/docker.sock".to_string()]);
        assert!(down.hint.is_some());
    }
}
