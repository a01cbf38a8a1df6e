//! The deploy flow of coolify-notes §0/§6: version → server → project + environment →
//! create or update the service → every variable → start → poll until healthy.

use std::collections::BTreeMap;
use std::time::Instant;

use base64::Engine as _;
use reqwest::Method;
use supalove_core::error::{Error, Result};
use supalove_core::provisioner::{Progress, ProgressSink, ServiceState, Stage};
use supalove_core::template::{self, RenderedStack};

use crate::client::{CreateService, EnvVar, Server, Service, ServiceUrl, UpdateService};
use crate::{domain, CoolifyProvisioner, Deployment, RESERVED_PORTS};

/// The compose as Coolify's `docker_compose_raw` wants it: standard, padded, one line.
pub fn encode_compose(yaml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(yaml.as_bytes())
}

impl CoolifyProvisioner {
    /// Creates or updates the project's service, sets its variables, starts it and waits
    /// until it is healthy; remembers every uuid as soon as it is known.
    pub(crate) async fn deploy(
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
        let mut d = self.load(project_id).await?.unwrap_or_default();
        d.base_url = self.client.base().to_string();
        let server = self.pick_server(d.server_uuid.as_deref()).await?;
        d.server_uuid = Some(server.uuid.clone());
        let project = self.ensure_project(&mut d).await?;
        self.ensure_environment(&project, &mut d).await?;
        self.save(project_id, &d).await?;

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
                self.save(project_id, &d).await?;
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
        self.save(project_id, &d).await?;
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

    pub(crate) async fn pick_server(&self, wanted: Option<&str>) -> Result<Server> {
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

    pub(crate) async fn ensure_project(&self, d: &mut Deployment) -> Result<String> {
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

    pub(crate) async fn ensure_environment(&self, project: &str, d: &mut Deployment) -> Result<()> {
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
    pub(crate) fn variables(&self, stack: &RenderedStack) -> Result<Vec<EnvVar>> {
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

    pub(crate) fn check_ports(&self, stack: &RenderedStack) -> Result<()> {
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
    pub(crate) async fn start_and_wait(
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

    pub(crate) async fn existing_service(&self, project_id: &str, uuid: &str) -> Result<Service> {
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
    pub(crate) async fn wait_healthy(
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
