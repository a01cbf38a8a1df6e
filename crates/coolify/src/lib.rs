//! supalove-coolify: the Coolify provisioner. It deploys a project's stack to a Coolify v4
//! instance as one Service (`POST /services` with the compose in base64), sets every variable
//! the compose uses through the API (REALTIME_PORT among them), starts it and waits for
//! `running:healthy`. See `coolify-notes.md` for the API facts this follows.

pub mod client;
pub mod domain;
pub mod problem;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use supalove_core::error::{Error, Result};
use supalove_core::provisioner::{
    EngineStatus, LogLine, LogOptions, LogStream, Progress, ProgressSink, ProjectResources,
    Provisioner, RemoveReport, ServiceState, ServiceStatus, Stage, StatusEvent,
};
use supalove_core::template::{self, RenderedStack, TARGET_COOLIFY};

pub use client::CoolifyClient;
use client::{CreateService, EnvVar, Server, Service, ServiceUrl, UpdateService};
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

    fn service_uuid(&self, project_id: &str) -> Result<String> {
        self.store
            .get(project_id)?
            .and_then(|d| d.service_uuid)
            .ok_or_else(|| Error::NotFound(project_id.to_string()))
    }

    async fn pick_server(&self, wanted: Option<&str>) -> Result<Server> {
        if let Some(uuid) = wanted.or(self.config.server_uuid.as_deref()) {
            return self.client.server(uuid).await;
        }
        let servers = self.client.servers().await?;
        let first = servers.iter().find(|s| s.usable()).ok_or_else(|| Error::Target {
            target: self.label(),
            status: None,
            detail: format!(
                "has no usable server ({} listed, none reachable and usable)",
                servers.len()
            ),
            fix: "add or validate a server in Coolify (Servers → Validate), or pass --server <uuid>".into(),
            retry_after: None,
        })?;
        // The list may omit settings; the single view has the wildcard domain.
        self.client.server(&first.uuid).await
    }

    async fn ensure_project(&self, d: &mut Deployment) -> Result<String> {
        if let Some(uuid) = &d.project_uuid {
            if self.client.project(uuid).await?.is_some() {
                return Ok(uuid.clone());
            }
        }
        let existing = self.client.projects().await?;
        let uuid = match existing.iter().find(|p| p.name == self.config.project_name) {
            Some(p) => p.uuid.clone(),
            None => {
                self.client
                    .create_project(&self.config.project_name, "Projects deployed by supalove")
                    .await?
                    .uuid
            }
        };
        d.project_uuid = Some(uuid.clone());
        Ok(uuid)
    }

    async fn ensure_environment(&self, project: &str, d: &mut Deployment) -> Result<()> {
        let name = d
            .environment_name
            .clone()
            .unwrap_or_else(|| self.config.environment.clone());
        let uuid = match self.client.environment(project, &name).await? {
            Some(env) => env.uuid,
            None => Some(self.client.create_environment(project, &name).await?.uuid),
        };
        d.environment_name = Some(name);
        if uuid.is_some() {
            d.environment_uuid = uuid;
        }
        Ok(())
    }

    /// Every variable the compose uses, with its value: ports plain, the rest literal and
    /// shown once (Coolify hides them after this call).
    fn variables(&self, stack: &RenderedStack) -> Result<Vec<EnvVar>> {
        let mut names = template::referenced_variables(&stack.compose_yaml)?;
        names.insert("REALTIME_PORT".into());
        names
            .into_iter()
            .map(|key| {
                let value = stack.variables.get(&key).ok_or_else(|| {
                    Error::Template(format!("variable {key} is used but has no value"))
                })?;
                let secret = !key.ends_with("_PORT");
                Ok(EnvVar {
                    value: value.clone(),
                    is_literal: true,
                    is_multiline: value.contains('\n'),
                    is_shown_once: secret,
                    key,
                })
            })
            .collect()
    }

    fn check_ports(&self, stack: &RenderedStack) -> Result<()> {
        for (service, svc) in &stack.spec.services {
            for p in svc.port_bindings()? {
                if RESERVED_PORTS.contains(&p.host_port) {
                    return Err(Error::PortInUse {
                        port: p.host_port,
                        what: service.clone(),
                        owner: format!(
                            "Coolify itself on the server of {} (dashboard 8000, realtime 6001/6002, proxy 80/443)",
                            self.label()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Starts (or restarts, when running) and waits for `running:healthy`.
    async fn start_and_wait(
        &self,
        project_id: &str,
        uuid: &str,
        progress: ProgressSink<'_>,
    ) -> Result<Service> {
        let current = self.existing_service(project_id, uuid).await?;
        let running = current.containers().any(|c| {
            matches!(
                domain::state_of(c.status.as_deref()),
                ServiceState::Healthy | ServiceState::Unhealthy | ServiceState::Starting
            )
        });
        let action = if running { "restart" } else { "start" };
        progress(Progress::new(
            "project",
            Stage::Starting,
            format!("asking Coolify to {action} service {uuid}"),
        ));
        let answer = self.client.lifecycle(uuid, action).await?;
        if !(200..300).contains(&answer.status) {
            // 400 "already running" races a start another client made: converge by restart.
            let already = answer.status == 400 && answer.body.contains("already running");
            if !already {
                return Err(self.client.refusal(
                    &Method::POST,
                    &format!("/services/{uuid}/{action}"),
                    &answer,
                ));
            }
            let again = self.client.lifecycle(uuid, "restart").await?;
            if !(200..300).contains(&again.status) {
                return Err(self.client.refusal(
                    &Method::POST,
                    &format!("/services/{uuid}/restart"),
                    &again,
                ));
            }
        }
        self.wait_healthy(project_id, uuid, progress).await
    }

    async fn existing_service(&self, project_id: &str, uuid: &str) -> Result<Service> {
        self.client.service(uuid).await?.ok_or_else(|| Error::Target {
            target: self.label(),
            status: Some(404),
            detail: format!("no longer has service {uuid} of project {project_id:?}"),
            fix: format!(
                "it was deleted in Coolify: `supalove new {project_id}` deploys it again, `supalove rm {project_id}` forgets it"
            ),
            retry_after: None,
        })
    }

    /// Polls the service until every container is `running:healthy`, reporting each change.
    async fn wait_healthy(
        &self,
        project_id: &str,
        uuid: &str,
        progress: ProgressSink<'_>,
    ) -> Result<Service> {
        let deadline = Instant::now() + self.config.ready_timeout;
        let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
        loop {
            let svc = self.existing_service(project_id, uuid).await?;
            for c in svc.containers() {
                if seen.get(&c.name) != Some(&c.status) {
                    let stage = match domain::state_of(c.status.as_deref()) {
                        ServiceState::Healthy => Stage::Ready,
                        ServiceState::Stopped | ServiceState::Missing => Stage::Starting,
                        _ => Stage::WaitingReady,
                    };
                    progress(Progress::new(
                        &c.name,
                        stage,
                        format!(
                            "Coolify reports {}",
                            c.status.as_deref().unwrap_or("no status yet")
                        ),
                    ));
                    seen.insert(c.name.clone(), c.status.clone());
                }
            }
            let containers: Vec<_> = svc.containers().collect();
            if !containers.is_empty()
                && containers
                    .iter()
                    .all(|c| domain::is_healthy(c.status.as_deref()))
            {
                return Ok(svc);
            }
            if Instant::now() >= deadline {
                let unhealthy: Vec<String> = containers
                    .iter()
                    .filter(|c| !domain::is_healthy(c.status.as_deref()))
                    .map(|c| {
                        format!(
                            "{} ({})",
                            c.name,
                            c.status.as_deref().unwrap_or("no status")
                        )
                    })
                    .collect();
                let first = containers
                    .iter()
                    .find(|c| !domain::is_healthy(c.status.as_deref()))
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| "project".into());
                let last_logs = match self.client.logs(uuid, &first, 20).await {
                    Ok(text) => text.lines().map(str::to_string).collect(),
                    Err(_) => vec![],
                };
                return Err(Error::NotReady {
                    project: project_id.to_string(),
                    service: first,
                    detail: format!(
                        "after {} s Coolify still reports {}. Coolify has no API for a service's start log, so a failed `docker compose up` on the server (a port already taken, an image it cannot pull) shows only as a status that never turns healthy; open the service in Coolify's dashboard to see it",
                        self.config.ready_timeout.as_secs(),
                        if unhealthy.is_empty() { "no containers".to_string() } else { unhealthy.join(", ") }
                    ),
                    last_logs,
                });
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }
}

/// The compose as Coolify's `docker_compose_raw` wants it: standard, padded, one line.
pub fn encode_compose(yaml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(yaml.as_bytes())
}

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
        self.check_ports(stack)?;
        let vars = self.variables(stack)?;
        let version = self.client.version().await?;
        if !version.starts_with('4') {
            return Err(Error::Target {
                target: self.label(),
                status: None,
                detail: format!("runs Coolify {version}; supalove speaks the v4 API"),
                fix: "upgrade the instance to Coolify v4".into(),
                retry_after: None,
            });
        }
        let mut d = self.store.get(project_id)?.unwrap_or_default();
        d.base_url = self.client.base().to_string();
        let server = self.pick_server(d.server_uuid.as_deref()).await?;
        d.server_uuid = Some(server.uuid.clone());
        let project = self.ensure_project(&mut d).await?;
        self.ensure_environment(&project, &mut d).await?;
        self.store.put(project_id, &d)?;

        let url = domain::realtime_url_for(project_id, &server, d.domain.as_deref());
        let official = stack
            .spec
            .services
            .get("realtime")
            .is_some_and(|r| r.environment.contains_key("DB_ENC_KEY"));
        if official && !domain::host_of(&url).starts_with(&format!("{}.", domain::TENANT)) {
            return Err(Error::InvalidRequest(format!(
                "the official Realtime engine takes its tenant from the first label of the host, so the domain must start with `{}.` (e.g. {}.{}); {url} does not",
                domain::TENANT,
                domain::TENANT,
                domain::host_of(&url)
            )));
        }
        let urls = vec![ServiceUrl {
            name: "realtime".into(),
            url,
        }];
        let compose = encode_compose(&stack.compose_yaml);
        let existing = match &d.service_uuid {
            Some(uuid) => self.client.service(uuid).await?.map(|_| uuid.clone()),
            None => None,
        };
        let uuid = match existing {
            Some(uuid) => {
                progress(Progress::new(
                    "project",
                    Stage::Creating,
                    format!("updating Coolify service {uuid}"),
                ));
                self.client
                    .update_service(
                        &uuid,
                        &UpdateService {
                            docker_compose_raw: compose,
                            urls,
                        },
                    )
                    .await?;
                uuid
            }
            None => {
                progress(Progress::new(
                    "project",
                    Stage::Creating,
                    format!("creating the service on server {}", server.name),
                ));
                let destinations = self.client.destinations(&server.uuid).await?;
                let created = self
                    .client
                    .create_service(&CreateService {
                        server_uuid: server.uuid.clone(),
                        project_uuid: project.clone(),
                        environment_name: d
                            .environment_name
                            .clone()
                            .unwrap_or_else(|| self.config.environment.clone()),
                        environment_uuid: d.environment_uuid.clone(),
                        destination_uuid: (destinations.len() > 1)
                            .then(|| destinations[0].uuid.clone()),
                        name: format!("supalove-{project_id}"),
                        description: format!("supalove project {project_id}"),
                        instant_deploy: false,
                        docker_compose_raw: compose,
                        urls,
                    })
                    .await?;
                d.service_uuid = Some(created.uuid.clone());
                // Kept at once: a rerun after any later failure updates this one service.
                self.store.put(project_id, &d)?;
                created.uuid
            }
        };
        progress(Progress::new(
            "project",
            Stage::Creating,
            format!(
                "setting {} variables (REALTIME_PORT among them)",
                vars.len()
            ),
        ));
        self.client.upsert_envs(&uuid, &vars).await?;
        let svc = self.start_and_wait(project_id, &uuid, progress).await?;
        d.realtime_url = svc
            .applications
            .iter()
            .find(|a| a.name == "realtime")
            .and_then(|a| a.fqdn.as_deref())
            .and_then(domain::socket_url);
        self.store.put(project_id, &d)?;
        progress(Progress::new(
            "project",
            Stage::Ready,
            match &d.realtime_url {
                Some(u) => format!("running on Coolify; Realtime at {u}"),
                None => "running on Coolify".to_string(),
            },
        ));
        Ok(())
    }

    async fn start(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        let uuid = self.service_uuid(project_id)?;
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
        let uuid = self.service_uuid(project_id)?;
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
        let Some(uuid) = self.store.get(project_id)?.and_then(|d| d.service_uuid) else {
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
        let Some(uuid) = self.store.get(project_id)?.and_then(|d| d.service_uuid) else {
            self.store.delete(project_id)?;
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
        self.store.delete(project_id)?;
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
        let Some(uuid) = self.store.get(project_id)?.and_then(|d| d.service_uuid) else {
            return Ok(vec![]);
        };
        let Some(svc) = self.client.service(&uuid).await? else {
            return Ok(vec![]);
        };
        Ok(statuses(&svc))
    }

    async fn discover(&self) -> Result<Vec<String>> {
        self.store.ids()
    }

    async fn realtime_url(&self, project_id: &str) -> Result<Option<String>> {
        Ok(self.store.get(project_id)?.and_then(|d| d.realtime_url))
    }

    fn logs(
        &self,
        project_id: &str,
        service: Option<&str>,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine>> {
        let client = self.client.clone();
        let uuid = match self.service_uuid(project_id) {
            Ok(u) => u,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        let wanted = service.map(str::to_string);
        let interval = self.config.poll_interval;
        let lines = options.tail.unwrap_or(100);
        // Coolify has no log stream: poll, and emit what follows the last line already seen.
        let state = LogPoll::default();
        stream::unfold(state, move |mut st| {
            let client = client.clone();
            let uuid = uuid.clone();
            let wanted = wanted.clone();
            async move {
                loop {
                    if let Some(line) = st.queue.pop_front() {
                        return Some((Ok(line), st));
                    }
                    if st.polled && !options.follow {
                        return None;
                    }
                    if st.polled {
                        tokio::time::sleep(interval).await;
                    }
                    st.polled = true;
                    let names = match &wanted {
                        Some(s) => vec![s.clone()],
                        None => match client.service(&uuid).await {
                            Ok(Some(svc)) => svc.containers().map(|c| c.name.clone()).collect(),
                            Ok(None) => return None,
                            Err(e) => return Some((Err(e), st)),
                        },
                    };
                    for name in names {
                        let text = match client.logs(&uuid, &name, lines).await {
                            Ok(t) => t,
                            // A container that is not running has no logs (400): a merged or
                            // followed view skips it; asking for that one service reports it.
                            Err(_) if options.follow || wanted.is_none() => continue,
                            Err(e) => return Some((Err(e), st)),
                        };
                        st.take(&name, &text);
                    }
                }
            }
        })
        .boxed()
    }

    fn events(&self, project_id: Option<&str>) -> BoxStream<'static, Result<StatusEvent>> {
        let client = self.client.clone();
        let store = Arc::clone(&self.store);
        let only = project_id.map(str::to_string);
        let interval = self.config.poll_interval;
        // Coolify has no event stream: poll each deployment's status and report changes.
        let state = (
            Vec::<StatusEvent>::new(),
            BTreeMap::<(String, String), ServiceState>::new(),
            true,
        );
        stream::unfold(state, move |(mut queue, mut seen, mut first)| {
            let client = client.clone();
            let store = Arc::clone(&store);
            let only = only.clone();
            async move {
                loop {
                    if let Some(ev) = queue.pop() {
                        return Some((Ok(ev), (queue, seen, false)));
                    }
                    if !first {
                        tokio::time::sleep(interval).await;
                    }
                    let ids = match &only {
                        Some(id) => vec![id.clone()],
                        None => match store.ids() {
                            Ok(ids) => ids,
                            Err(e) => return Some((Err(e), (queue, seen, false))),
                        },
                    };
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or(0);
                    for id in ids {
                        let Ok(Some(uuid)) = store.get(&id).map(|d| d.and_then(|d| d.service_uuid))
                        else {
                            continue;
                        };
                        let svc = match client.service(&uuid).await {
                            Ok(s) => s,
                            Err(e) => return Some((Err(e), (queue, seen, false))),
                        };
                        let current: Vec<(String, ServiceState)> = match &svc {
                            Some(svc) => svc
                                .containers()
                                .map(|c| (c.name.clone(), domain::state_of(c.status.as_deref())))
                                .collect(),
                            None => seen
                                .keys()
                                .filter(|(p, _)| p == &id)
                                .map(|(_, s)| (s.clone(), ServiceState::Missing))
                                .collect(),
                        };
                        for (service, state) in current {
                            let key = (id.clone(), service.clone());
                            let before = seen.insert(key, state);
                            if before == Some(state) || (before.is_none() && first) {
                                continue;
                            }
                            queue.push(StatusEvent {
                                project: id.clone(),
                                service,
                                action: action_of(state).into(),
                                time: now,
                            });
                        }
                    }
                    queue.reverse();
                    first = false;
                }
            }
        })
        .boxed()
    }
}

/// What a polled log view has seen and not yet handed out.
#[derive(Default)]
struct LogPoll {
    queue: std::collections::VecDeque<LogLine>,
    /// The last line seen per service, so the next poll emits only what follows it.
    last: BTreeMap<String, String>,
    polled: bool,
}

impl LogPoll {
    fn take(&mut self, service: &str, text: &str) {
        let all: Vec<&str> = text.lines().collect();
        let start = self
            .last
            .get(service)
            .and_then(|prev| all.iter().rposition(|l| l == prev))
            .map(|i| i + 1)
            .unwrap_or(0);
        if let Some(l) = all.last() {
            self.last.insert(service.to_string(), l.to_string());
        }
        for line in &all[start..] {
            let (timestamp, text) = split_timestamp(line);
            self.queue.push_back(LogLine {
                service: service.to_string(),
                stream: LogStream::Stdout,
                timestamp,
                text: text.to_string(),
            });
        }
    }
}

/// The engine action a state change corresponds to, in Docker's words.
fn action_of(state: ServiceState) -> &'static str {
    match state {
        ServiceState::Healthy => "health_status: healthy",
        ServiceState::Unhealthy => "health_status: unhealthy",
        ServiceState::Starting => "start",
        ServiceState::Restarting => "restart",
        ServiceState::Stopped => "die",
        ServiceState::Paused => "pause",
        ServiceState::Missing => "destroy",
    }
}

/// Each container of a service as a [`ServiceStatus`].
pub fn statuses(svc: &Service) -> Vec<ServiceStatus> {
    svc.containers()
        .map(|c| ServiceStatus {
            service: c.name.clone(),
            container: format!("{}-{}", c.name, svc.uuid),
            state: domain::state_of(c.status.as_deref()),
            image: c.image.clone(),
            exit_code: None,
            started_at: None,
        })
        .collect()
}

/// `2026-01-01T00:00:00.000Z text` → (time stamp, text), as `show_timestamps` prints.
fn split_timestamp(line: &str) -> (Option<String>, &str) {
    match line.split_once(' ') {
        Some((ts, rest)) if ts.len() >= 20 && ts.as_bytes()[4] == b'-' && ts.contains('T') => {
            (Some(ts.to_string()), rest)
        }
        _ => (None, line),
    }
}
