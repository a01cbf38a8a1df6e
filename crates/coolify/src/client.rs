//! A small client for Coolify v4's HTTP API (`<base>/api/v1`): bearer token, JSON bodies with
//! `None` fields left out (the document's `nullable` is not honoured under OpenAPI 3.1), and
//! every refusal turned into an [`Error::Target`] with the fix.

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use supalove_core::error::{Error, Result};

use crate::problem;

/// How long one HTTP call may take before it counts as unreachable.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A Coolify instance and the API token used on it.
#[derive(Clone)]
pub struct CoolifyClient {
    http: reqwest::Client,
    /// `https://coolify.example.com` (no trailing slash, no `/api/v1`).
    base: String,
    token: String,
}

impl std::fmt::Debug for CoolifyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoolifyClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// A server as `GET /servers` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Server {
    pub uuid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub is_reachable: Option<bool>,
    #[serde(default)]
    pub is_usable: Option<bool>,
    #[serde(default)]
    pub settings: Option<ServerSettings>,
}

/// The part of a server's settings supalove reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerSettings {
    #[serde(default)]
    pub wildcard_domain: Option<String>,
    #[serde(default)]
    pub is_reachable: Option<bool>,
    #[serde(default)]
    pub is_usable: Option<bool>,
    #[serde(default)]
    pub is_build_server: Option<bool>,
}

impl Server {
    /// True unless Coolify says the server cannot take deployments.
    pub fn usable(&self) -> bool {
        let s = self.settings.clone().unwrap_or_default();
        self.is_reachable.or(s.is_reachable).unwrap_or(true)
            && self.is_usable.or(s.is_usable).unwrap_or(true)
            && !s.is_build_server.unwrap_or(false)
    }

    /// The wildcard domain generated hosts hang under (`https://apps.example.com`), if set.
    pub fn wildcard_domain(&self) -> Option<String> {
        self.settings
            .as_ref()
            .and_then(|s| s.wildcard_domain.clone())
            .filter(|d| !d.is_empty())
    }
}

/// A Docker network destination of a server.
#[derive(Debug, Clone, Deserialize)]
pub struct Destination {
    pub uuid: String,
}

/// A Coolify project.
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub uuid: String,
    #[serde(default)]
    pub name: String,
}

/// A project's environment (its `uuid` is missing from the document but sent by Coolify).
#[derive(Debug, Clone, Deserialize)]
pub struct Environment {
    #[serde(default)]
    pub uuid: Option<String>,
    pub name: String,
}

/// `201 {uuid}` from the create calls.
#[derive(Debug, Clone, Deserialize)]
pub struct Created {
    pub uuid: String,
    #[serde(default)]
    pub domains: Vec<String>,
}

/// One container of a service (an application or a database sub-resource).
#[derive(Debug, Clone, Deserialize)]
pub struct SubService {
    pub name: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub fqdn: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// A service as `GET /services/{uuid}` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    pub uuid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub applications: Vec<SubService>,
    #[serde(default)]
    pub databases: Vec<SubService>,
}

impl Service {
    /// Applications and databases together, as the compose file's services.
    pub fn containers(&self) -> impl Iterator<Item = &SubService> {
        self.applications.iter().chain(self.databases.iter())
    }
}

/// The body of `POST /services` (create) for a compose stack.
#[derive(Debug, Clone, Serialize)]
pub struct CreateService {
    pub server_uuid: String,
    pub project_uuid: String,
    pub environment_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_uuid: Option<String>,
    pub name: String,
    pub description: String,
    /// Always false: the variables must be set before the first start.
    pub instant_deploy: bool,
    /// Standard padded base64 of the compose YAML.
    pub docker_compose_raw: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<ServiceUrl>,
}

/// The body of `PATCH /services/{uuid}`.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateService {
    pub docker_compose_raw: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<ServiceUrl>,
}

/// The domains of one compose service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceUrl {
    /// The compose service.
    pub name: String,
    /// `https://host:containerPort`, comma-separated when several.
    pub url: String,
}

/// One variable of a bulk upsert.
#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    pub key: String,
    pub value: String,
    /// Written single-quoted to Coolify's `.env`, so compose never interpolates a `$` in it.
    pub is_literal: bool,
    pub is_multiline: bool,
    /// Hidden in Coolify's UI and API after it is set (secrets).
    pub is_shown_once: bool,
}

#[derive(Serialize)]
struct Bulk<'a> {
    data: &'a [EnvVar],
}

/// A variable as Coolify lists it (`value` hidden unless the token may read sensitive data).
#[derive(Debug, Clone, Deserialize)]
pub struct EnvVarInfo {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Deserialize)]
struct Logs {
    #[serde(default)]
    logs: String,
}

/// A raw answer: status and text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
}

impl CoolifyClient {
    /// A client for the instance at `base` (`https://coolify.example.com`, with or without a
    /// trailing `/api/v1`).
    pub fn new(base: &str, token: &str) -> Result<Self> {
        // reqwest is built without a default crypto provider; ring is ours. A second install
        // (another client in this process) is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("supalove/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Target {
                target: format!("Coolify at {base}"),
                status: None,
                detail: format!("cannot build an HTTP client: {e}"),
                fix: "this is a supalove bug; please report it".into(),
                retry_after: None,
            })?;
        let base = normalize_base(base)?;
        Ok(CoolifyClient {
            http,
            base,
            token: token.trim().to_string(),
        })
    }

    /// The instance's URL (`https://coolify.example.com`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one call and returns whatever Coolify answered; only a transport failure is an
    /// error here.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Answer> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token)
            .header("Accept", "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| problem::unreachable(&self.base, &method, path, &e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = resp
            .text()
            .await
            .map_err(|e| problem::unreachable(&self.base, &method, path, &e))?;
        Ok(Answer {
            status,
            body,
            retry_after,
        })
    }

    /// Sends one call and returns the 2xx body as text, or the refusal as an error.
    pub async fn call_text(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<String> {
        let answer = self.raw(method.clone(), path, query, body).await?;
        if (200..300).contains(&answer.status) {
            Ok(answer.body)
        } else {
            Err(problem::refused(&self.base, &method, path, &answer))
        }
    }

    /// Sends one call and decodes the 2xx JSON body.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<T> {
        let text = self.call_text(method.clone(), path, query, body).await?;
        serde_json::from_str(&text).map_err(|e| Error::Target {
            target: format!("Coolify at {}", self.base),
            status: None,
            detail: format!("{method} {path} answered something supalove cannot read: {e}"),
            fix: "check that the URL points at a Coolify v4 instance (`supalove target list` shows its version)".into(),
            retry_after: None,
        })
    }

    /// `GET /version` → `4.3.11` (text).
    pub async fn version(&self) -> Result<String> {
        let v = self.call_text(Method::GET, "/version", &[], None).await?;
        Ok(v.trim()
            .trim_matches('"')
            .trim_start_matches('v')
            .to_string())
    }

    /// `GET /servers`.
    pub async fn servers(&self) -> Result<Vec<Server>> {
        self.call(Method::GET, "/servers", &[], None).await
    }

    /// `GET /servers/{uuid}` (with its settings: wildcard domain).
    pub async fn server(&self, uuid: &str) -> Result<Server> {
        self.call(Method::GET, &format!("/servers/{uuid}"), &[], None)
            .await
    }

    /// `GET /servers/{uuid}/destinations`.
    pub async fn destinations(&self, server: &str) -> Result<Vec<Destination>> {
        self.call(
            Method::GET,
            &format!("/servers/{server}/destinations"),
            &[],
            None,
        )
        .await
    }

    /// `GET /projects`.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        self.call(Method::GET, "/projects", &[], None).await
    }

    /// `GET /projects/{uuid}`, None when it is gone.
    pub async fn project(&self, uuid: &str) -> Result<Option<Project>> {
        none_if_404(
            self.call(Method::GET, &format!("/projects/{uuid}"), &[], None)
                .await,
        )
    }

    /// `POST /projects` (Coolify adds environment `production`).
    pub async fn create_project(&self, name: &str, description: &str) -> Result<Created> {
        let body = serde_json::json!({ "name": name, "description": description });
        self.call(Method::POST, "/projects", &[], Some(&body)).await
    }

    /// `GET /projects/{uuid}/{name}`, None when there is no such environment.
    pub async fn environment(&self, project: &str, name: &str) -> Result<Option<Environment>> {
        none_if_404(
            self.call(
                Method::GET,
                &format!("/projects/{project}/{name}"),
                &[],
                None,
            )
            .await,
        )
    }

    /// `POST /projects/{uuid}/environments`.
    pub async fn create_environment(&self, project: &str, name: &str) -> Result<Created> {
        let body = serde_json::json!({ "name": name });
        self.call(
            Method::POST,
            &format!("/projects/{project}/environments"),
            &[],
            Some(&body),
        )
        .await
    }

    /// `POST /services` with a compose stack.
    pub async fn create_service(&self, req: &CreateService) -> Result<Created> {
        let body = serde_json::to_value(req).expect("a create body serializes");
        self.call(Method::POST, "/services", &[], Some(&body)).await
    }

    /// `PATCH /services/{uuid}`: a new compose and domains (Coolify re-parses it).
    pub async fn update_service(&self, uuid: &str, req: &UpdateService) -> Result<Created> {
        let body = serde_json::to_value(req).expect("an update body serializes");
        self.call(
            Method::PATCH,
            &format!("/services/{uuid}"),
            &[],
            Some(&body),
        )
        .await
    }

    /// `GET /services/{uuid}`, None when it is gone.
    pub async fn service(&self, uuid: &str) -> Result<Option<Service>> {
        none_if_404(
            self.call(Method::GET, &format!("/services/{uuid}"), &[], None)
                .await,
        )
    }

    /// `PATCH /services/{uuid}/envs/bulk`: an upsert by key.
    pub async fn upsert_envs(&self, uuid: &str, vars: &[EnvVar]) -> Result<Vec<EnvVarInfo>> {
        let body = serde_json::to_value(Bulk { data: vars }).expect("a bulk body serializes");
        self.call(
            Method::PATCH,
            &format!("/services/{uuid}/envs/bulk"),
            &[],
            Some(&body),
        )
        .await
    }

    /// `GET /services/{uuid}/envs`.
    pub async fn envs(&self, uuid: &str) -> Result<Vec<EnvVarInfo>> {
        self.call(Method::GET, &format!("/services/{uuid}/envs"), &[], None)
            .await
    }

    /// `POST /services/{uuid}/{action}` for start, stop (`docker_cleanup=false`) or restart.
    /// Returns the raw answer so callers can tell "already running/stopped" (400) apart.
    pub async fn lifecycle(&self, uuid: &str, action: &str) -> Result<Answer> {
        let query: Vec<(&str, String)> = match action {
            "stop" => vec![("docker_cleanup", "false".into())],
            _ => vec![],
        };
        self.raw(
            Method::POST,
            &format!("/services/{uuid}/{action}"),
            &query,
            None,
        )
        .await
    }

    /// `DELETE /services/{uuid}`; volumes only when asked (Coolify's default deletes them).
    pub async fn delete_service(&self, uuid: &str, delete_volumes: bool) -> Result<()> {
        let query = [
            ("delete_volumes", delete_volumes.to_string()),
            ("delete_configurations", "true".to_string()),
            ("docker_cleanup", "true".to_string()),
            ("delete_connected_networks", "true".to_string()),
        ];
        self.call_text(Method::DELETE, &format!("/services/{uuid}"), &query, None)
            .await
            .map(|_| ())
    }

    /// `GET /services/{uuid}/logs` of one compose service (400 when it is not running).
    pub async fn logs(&self, uuid: &str, service: &str, lines: u64) -> Result<String> {
        let query = [
            ("sub_service_name", service.to_string()),
            ("lines", lines.to_string()),
            ("show_timestamps", "true".to_string()),
        ];
        let logs: Logs = self
            .call(Method::GET, &format!("/services/{uuid}/logs"), &query, None)
            .await?;
        Ok(logs.logs)
    }

    /// The error an answer would be, for callers that inspect a raw answer first.
    pub fn refusal(&self, method: &Method, path: &str, answer: &Answer) -> Error {
        problem::refused(&self.base, method, path, answer)
    }
}

fn none_if_404<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::Target {
            status: Some(404), ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `https://c.example.com/api/v1/` → `https://c.example.com`; refuses what is no http(s) URL.
pub fn normalize_base(base: &str) -> Result<String> {
    let trimmed = base.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api/v1").unwrap_or(trimmed);
    let trimmed = trimmed.strip_suffix("/api").unwrap_or(trimmed);
    if !(trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        || trimmed.split("://").nth(1).is_none_or(str::is_empty)
    {
        return Err(Error::InvalidSetting {
            name: "coolify URL".into(),
            reason: format!("{base:?} is not an http(s) URL such as https://coolify.example.com"),
        });
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        for (given, want) in [
            ("https://c.example.com", "https://c.example.com"),
            ("https://c.example.com/", "https://c.example.com"),
            ("https://c.example.com/api/v1/", "https://c.example.com"),
            ("http://127.0.0.1:8000/api", "http://127.0.0.1:8000"),
        ] {
            assert_eq!(normalize_base(given).unwrap(), want);
        }
        for bad in ["c.example.com", "ftp://x", "https://"] {
            assert!(normalize_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_usability_reads_both_places() {
        let s: Server = serde_json::from_value(serde_json::json!({
            "uuid": "a", "settings": {"is_reachable": false}
        }))
        .unwrap();
        assert!(!s.usable());
        let s: Server = serde_json::from_value(serde_json::json!({
            "uuid": "a", "is_usable": true, "is_reachable": true,
            "settings": {"wildcard_domain": "https://apps.example.com"}
        }))
        .unwrap();
        assert!(s.usable());
        assert_eq!(
            s.wildcard_domain().as_deref(),
            Some("https://apps.example.com")
        );
    }
}
