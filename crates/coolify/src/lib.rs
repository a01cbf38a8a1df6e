//! supalove-coolify: the Coolify provisioner. It deploys a project's stack to a Coolify v4
//! instance as one Service (`POST /services` with the compose in base64), sets every variable
//! the compose uses through the API (REALTIME_PORT among them), starts it and waits for
//! `running:healthy`. See `coolify-notes.md` for the API facts this follows.

pub mod client;
mod deploy;
pub mod domain;
mod observe;
pub mod problem;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use reqwest::Method;
use supalove_core::error::{Error, Result};
use supalove_core::provisioner::{
    EngineStatus, LogLine, LogOptions, Progress, ProgressSink, ProjectResources, Provisioner,
    RemoveReport, ServiceStatus, Stage, StatusEvent,
};
use supalove_core::template::{RenderedStack, TARGET_COOLIFY};

pub use client::CoolifyClient;
pub use store::{Deployment, DeploymentStore, FileStore, MemoryStore, RegistryStore};

/// Host ports Coolify's own host keeps (dashboard 8000, its realtime 6001/6002, the proxy
/// 80/443): a project must publish none of them.
pub const RESERVED_PORTS: [u16; 5] = [80, 443, 6001, 6002, 8000];

/// The Coolify project supalove's services go into unless told otherwise.
pub const DEFAULT_PROJECT: &str = "supalove";
/// Coolify creates `production` with every project.
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// One Coolify instance as a target.
#[derive(Clone)]
pub struct CoolifyConfig {
    /// The target's name (`prod`), for messages.
    pub name: String,
    /// `https://coolify.example.com`.
    pub base_url: String,
    /// The API token (`<id>|<secret>`); comes from the keyring, never from a file.
    pub token: String,
    /// The server to deploy to; None: the first usable one.
    pub server_uuid: Option<String>,
    /// The Coolify project that holds supalove's services.
    pub project_name: String,
    pub environment: String,
    /// How long a start may take to reach `running:healthy`.
    pub ready_timeout: Duration,
    /// How often status is polled.
    pub poll_interval: Duration,
}

impl std::fmt::Debug for CoolifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoolifyConfig")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("server_uuid", &self.server_uuid)
            .finish_non_exhaustive()
    }
}

impl CoolifyConfig {
    /// A target at `base_url` with supalove's defaults.
    pub fn new(name: &str, base_url: &str, token: &str) -> Self {
        CoolifyConfig {
            name: name.to_string(),
            base_url: base_url.to_string(),
            token: token.to_string(),
            server_uuid: None,
            project_name: DEFAULT_PROJECT.into(),
            environment: DEFAULT_ENVIRONMENT.into(),
            ready_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// What `target list` shows about an instance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetProbe {
    pub reachable: bool,
    pub version: Option<String>,
    /// `(uuid, name, usable)` of each server.
    pub servers: Vec<(String, String, bool)>,
    pub error: Option<String>,
    pub hint: Option<String>,
}

/// The Coolify provisioner (cheap to clone: the HTTP client and the store are shared).
#[derive(Clone)]
pub struct CoolifyProvisioner {
    config: CoolifyConfig,
    client: CoolifyClient,
    store: Arc<dyn DeploymentStore>,
}

impl CoolifyProvisioner {
    /// A provisioner for one instance; deployments are remembered in `store`.
    pub fn new(config: CoolifyConfig, store: Arc<dyn DeploymentStore>) -> Result<Self> {
        let client = CoolifyClient::new(&config.base_url, &config.token)?;
        Ok(CoolifyProvisioner {
            config,
            client,
            store,
        })
    }

    /// The HTTP client in use.
    pub fn client(&self) -> &CoolifyClient {
        &self.client
    }

    /// The deployment of `project_id`, if it has one.
    pub fn deployment(&self, project_id: &str) -> Result<Option<Deployment>> {
        self.store.get(project_id)
    }

    /// Remembers per-project choices before the first apply: the server and the realtime host.
    pub fn choose(
        &self,
        project_id: &str,
        server_uuid: Option<String>,
        domain: Option<String>,
    ) -> Result<()> {
        let mut d = self.store.get(project_id)?.unwrap_or_else(|| Deployment {
            base_url: self.client.base().to_string(),
            ..Default::default()
        });
        if server_uuid.is_some() {
            d.server_uuid = server_uuid;
        }
        if domain.is_some() {
            d.domain = domain;
        }
        self.store.put(project_id, &d)
    }

    /// Reachable? Which version, which servers? (for `target list`).
    pub async fn probe(&self) -> TargetProbe {
        let version = match self.client.version().await {
            Ok(v) => v,
            Err(e) => {
                return TargetProbe {
                    reachable: !matches!(e, Error::Target { status: None, .. }),
                    version: None,
                    servers: vec![],
                    hint: e.hint(),
                    error: Some(e.to_string()),
                }
            }
        };
        match self.client.servers().await {
            Ok(servers) => TargetProbe {
                reachable: true,
                version: Some(version),
                servers: servers
                    .iter()
                    .map(|s| (s.uuid.clone(), s.name.clone(), s.usable()))
                    .collect(),
                error: None,
                hint: None,
            },
            Err(e) => TargetProbe {
                reachable: true,
                version: Some(version),
                servers: vec![],
                hint: e.hint(),
                error: Some(e.to_string()),
            },
        }
    }

    fn label(&self) -> String {
        format!(
            "Coolify target {} ({})",
            self.config.name,
            self.client.base()
        )
    }

    /// The deployment of `project_id`, read off the async runtime (the store may be a file).
    async fn load(&self, project_id: &str) -> Result<Option<Deployment>> {
        let id = project_id.to_string();
        self.blocking(move |s| s.get(&id)).await
    }

    /// Stores the deployment of `project_id`, off the async runtime.
    async fn save(&self, project_id: &str, d: &Deployment) -> Result<()> {
        let (id, d) = (project_id.to_string(), d.clone());
        self.blocking(move |s| s.put(&id, &d)).await
    }

    /// Forgets the deployment of `project_id`, off the async runtime.
    async fn forget(&self, project_id: &str) -> Result<()> {
        let id = project_id.to_string();
        self.blocking(move |s| s.delete(&id)).await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn DeploymentStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Error::Io {
                context: "a background task failed".into(),
                source: std::io::Error::other(e.to_string()),
            })?
    }

    /// The project's service uuid (async callers: read off the runtime).
    async fn uuid_of(&self, project_id: &str) -> Result<String> {
        self.load(project_id)
            .await?
            .and_then(|d| d.service_uuid)
            .ok_or_else(|| Error::NotFound(project_id.to_string()))
    }

    /// The project's service uuid, for the synchronous stream constructors.
    fn service_uuid(&self, project_id: &str) -> Result<String> {
        self.store
            .get(project_id)?
            .and_then(|d| d.service_uuid)
            .ok_or_else(|| Error::NotFound(project_id.to_string()))
    }
}

pub use deploy::encode_compose;

impl Provisioner for CoolifyProvisioner {
    fn target(&self) -> String {
        self.label()
    }

    fn template_target(&self) -> &'static str {
        TARGET_COOLIFY
    }

    async fn engine_status(&self) -> EngineStatus {
        match self.client.version().await {
            Ok(v) => EngineStatus {
                connected: true,
                endpoint: Some(format!("{} (Coolify {v})", self.client.base())),
                tried: vec![],
                error: None,
                hint: None,
            },
            Err(e) => EngineStatus {
                connected: false,
                endpoint: None,
                tried: vec![self.client.base().to_string()],
                hint: e.hint(),
                error: Some(e.to_string()),
            },
        }
    }

    async fn apply(
        &self,
        project_id: &str,
        stack: &RenderedStack,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        self.deploy(project_id, stack, progress).await
    }

    async fn start(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        let uuid = self.uuid_of(project_id).await?;
        let svc = self.existing_service(project_id, &uuid).await?;
        if svc
            .containers()
            .all(|c| domain::is_healthy(c.status.as_deref()))
            && svc.containers().next().is_some()
        {
            return Ok(());
        }
        let answer = self.client.lifecycle(&uuid, "start").await?;
        let already = answer.status == 400 && answer.body.contains("already running");
        if !(200..300).contains(&answer.status) && !already {
            return Err(self.client.refusal(
                &Method::POST,
                &format!("/services/{uuid}/start"),
                &answer,
            ));
        }
        progress(Progress::new(
            "project",
            Stage::Starting,
            "start queued on Coolify",
        ));
        self.wait_healthy(project_id, &uuid, progress)
            .await
            .map(|_| ())
    }

    async fn stop(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        let uuid = self.uuid_of(project_id).await?;
        progress(Progress::new(
            "project",
            Stage::Stopping,
            "stop queued on Coolify",
        ));
        let answer = self.client.lifecycle(&uuid, "stop").await?;
        let already = answer.status == 400 && answer.body.contains("already stopped");
        if !(200..300).contains(&answer.status) && !already {
            return Err(self.client.refusal(
                &Method::POST,
                &format!("/services/{uuid}/stop"),
                &answer,
            ));
        }
        progress(Progress::new(
            "project",
            Stage::Stopped,
            "stopped (data kept)",
        ));
        Ok(())
    }

    async fn resources(&self, project_id: &str) -> Result<ProjectResources> {
        let Some(uuid) = self.load(project_id).await?.and_then(|d| d.service_uuid) else {
            return Ok(ProjectResources::default());
        };
        let Some(svc) = self.client.service(&uuid).await? else {
            return Ok(ProjectResources::default());
        };
        Ok(ProjectResources {
            containers: svc
                .containers()
                .map(|c| format!("{}-{uuid}", c.name))
                .collect(),
            networks: vec![uuid.clone()],
            volumes: vec![format!("{uuid}_db-data")],
        })
    }

    async fn remove(
        &self,
        project_id: &str,
        volumes: bool,
        progress: ProgressSink<'_>,
    ) -> Result<RemoveReport> {
        let Some(uuid) = self.load(project_id).await?.and_then(|d| d.service_uuid) else {
            self.forget(project_id).await?;
            return Ok(RemoveReport::default());
        };
        let resources = self.resources(project_id).await?;
        progress(Progress::new(
            "project",
            Stage::Removing,
            if volumes {
                "deleting the Coolify service and its volumes"
            } else {
                "deleting the Coolify service; its volumes stay"
            },
        ));
        match self.client.delete_service(&uuid, volumes).await {
            Ok(())
            | Err(Error::Target {
                status: Some(404), ..
            }) => {}
            Err(e) => return Err(e),
        }
        self.forget(project_id).await?;
        progress(Progress::new(
            "project",
            Stage::Removed,
            "deletion queued on Coolify",
        ));
        let (volumes_removed, volumes_kept) = if volumes {
            (resources.volumes, vec![])
        } else {
            (vec![], resources.volumes)
        };
        Ok(RemoveReport {
            containers: resources.containers,
            networks: resources.networks,
            volumes_removed,
            volumes_kept,
            backup: None,
        })
    }

    async fn status(&self, project_id: &str) -> Result<Vec<ServiceStatus>> {
        let Some(uuid) = self.load(project_id).await?.and_then(|d| d.service_uuid) else {
            return Ok(vec![]);
        };
        let Some(svc) = self.client.service(&uuid).await? else {
            return Ok(vec![]);
        };
        Ok(statuses(&svc))
    }

    async fn discover(&self) -> Result<Vec<String>> {
        self.blocking(|s| s.ids()).await
    }

    async fn realtime_url(&self, project_id: &str) -> Result<Option<String>> {
        Ok(self.load(project_id).await?.and_then(|d| d.realtime_url))
    }

    fn logs(
        &self,
        project_id: &str,
        service: Option<&str>,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine>> {
        observe::logs(self, project_id, service, options)
    }

    fn events(&self, project_id: Option<&str>) -> BoxStream<'static, Result<StatusEvent>> {
        observe::events(self, project_id)
    }
}

pub use observe::statuses;
