//! What a project looks like now: cards, logs, stats.

use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use crate::card::{self, ProjectCard};
use crate::error::{Error, Result};
use crate::provisioner::{LogLine, LogOptions, Provisioner, ServiceState};
use crate::registry::ProjectRecord;
use crate::secrets::ProjectSecrets;

use super::*;

impl<P: Provisioner> Supalove<P> {
    /// Every registered project with its live status.
    pub async fn list(&self) -> Result<Vec<ProjectCard>> {
        use futures_util::TryStreamExt;
        let records = self.records().await?;
        // Cards are read a few at a time (secret-store lookups and inspects overlap), in order.
        let cards: Vec<_> = records
            .into_iter()
            .map(|r| async move { self.card(&r).await })
            .collect();
        futures_util::stream::iter(cards)
            .buffered(LIST_CONCURRENCY)
            .try_collect()
            .await
    }

    /// One project's card.
    pub async fn show(&self, name: &str) -> Result<ProjectCard> {
        let record = self.record(name).await?;
        self.card(&record).await
    }

    /// Log lines of one service or all, optionally following.
    pub async fn logs(
        &self,
        name: &str,
        service: Option<&str>,
        options: LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine>>> {
        let record = self.record(name).await?;
        if let Some(service) = service {
            let known = self.service_names(&record)?;
            if !known.iter().any(|k| k == service) {
                return Err(Error::UnknownService {
                    project: record.name.clone(),
                    service: service.to_string(),
                    known,
                });
            }
        }
        Ok(self.provisioner.logs(&record.id, service, options))
    }

    /// The services the project's template gives it (no secret is needed to know them).
    pub(crate) fn service_names(&self, record: &ProjectRecord) -> Result<Vec<String>> {
        let placeholder = crate::secrets::ProjectSecrets {
            jwt_secret: String::new(),
            db_password: String::new(),
        };
        let stack = self.render(record, &placeholder)?;
        Ok(stack.spec.services.keys().cloned().collect())
    }

    /// CPU and memory of the project's running services.
    pub async fn stats(&self, name: &str) -> Result<Vec<crate::provisioner::ServiceStats>> {
        let record = self.record(name).await?;
        self.provisioner.stats(&record.id).await
    }

    /// The last lines a service printed (for failure reports).
    pub async fn last_logs(&self, id: &str, service: &str, n: u64) -> Vec<String> {
        let opts = LogOptions {
            follow: false,
            tail: Some(n),
        };
        self.provisioner
            .logs(id, Some(service), opts)
            .filter_map(|l| async move { l.ok().map(|l| l.text) })
            .collect()
            .await
    }

    pub(crate) async fn card(&self, record: &ProjectRecord) -> Result<ProjectCard> {
        let secrets = self.load_secrets(record).await?;
        self.card_with(record, &secrets).await
    }

    pub(crate) async fn card_with(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
    ) -> Result<ProjectCard> {
        let mut services = self.provisioner.status(&record.id).await?;
        // Docker's healthcheck lags our own probe by up to an interval: a database that
        // answers SELECT 1 is healthy, whatever the last healthcheck said.
        let probes = self.probes(record, secrets);
        for s in services.iter_mut() {
            if s.state != ServiceState::Starting || is_remote(record) {
                continue;
            }
            if let Some(probe) = probes.quick(record, &s.service) {
                if probe.once().await.is_ok() {
                    s.state = ServiceState::Healthy;
                }
            }
        }
        // A service of the stack without a container is missing (removed behind our back).
        if let Ok(stack) = self.render(record, secrets) {
            for (service, spec) in &stack.spec.services {
                if !services.iter().any(|s| &s.service == service) {
                    services.push(crate::provisioner::ServiceStatus {
                        service: service.clone(),
                        container: spec.container_name.clone(),
                        state: ServiceState::Missing,
                        image: Some(spec.image.clone()),
                        exit_code: None,
                        started_at: None,
                    });
                }
            }
        }
        let status = card::project_status(record, &services);
        let has_realtime = services.iter().any(|s| s.service == "realtime");
        let remote_url = if is_remote(record) {
            self.provisioner.realtime_url(&record.id).await?
        } else {
            None
        };
        let mut card = ProjectCard {
            name: record.name.clone(),
            id: record.id.clone(),
            status,
            services,
            ports: record.ports,
            db_url: card::db_url(&record.ports, secrets),
            realtime_url: remote_url
                .clone()
                .or_else(|| has_realtime.then(|| card::realtime_url(record.ports.realtime))),
            // supabase-js's base on a remote target: the public host (https for wss). Only
            // the native engine serves `/realtime/v1/...` itself; the official one needs the
            // local gateway, which Coolify renders do not have.
            api_url: match &remote_url {
                Some(u) => (record.realtime_engine == crate::registry::RealtimeEngine::Native)
                    .then(|| {
                        u.trim_end_matches("/socket")
                            .replacen("wss://", "https://", 1)
                            .replacen("ws://", "http://", 1)
                    }),
                None => has_realtime.then(|| card::api_url(record.ports.realtime)),
            },
            connect: String::new(),
            target: record.target.clone(),
            keys: self.keys(record, secrets),
            realtime_engine: record.realtime_engine,
            db_image: record.db_image.clone(),
            created_at: record.created_at,
            secret_store: self.secrets.describe(),
        };
        card.connect = card::connection_block(&card).join("\n");
        Ok(card)
    }

    /// Whether the container engine answers, with the hint worded for `shell`.
    pub async fn docker_status(
        &self,
        shell: crate::error::Shell,
    ) -> crate::provisioner::EngineStatus {
        let mut status = self.provisioner.engine_status().await;
        if !status.connected {
            status.hint = Error::DockerUnavailable {
                tried: status.tried.clone(),
                detail: String::new(),
            }
            .hint_for(shell);
        }
        status
    }

    /// State changes of the projects' containers (one project, or all) as they happen.
    pub fn events(
        &self,
        project: Option<&str>,
    ) -> BoxStream<'static, Result<crate::provisioner::StatusEvent>> {
        self.provisioner.events(project)
    }

    /// Like [`Supalove::events`], but an engine outage is reported and waited out: the stream
    /// says the engine went away, retries every second, says when it is back and goes on.
    pub fn watch(&self, project: Option<&str>) -> BoxStream<'static, WatchEvent>
    where
        P: Clone + 'static,
    {
        let provisioner = self.provisioner.clone();
        let project = project.map(str::to_string);
        let state = (
            provisioner,
            project,
            None::<BoxStream<'static, Result<crate::provisioner::StatusEvent>>>,
            false,
        );
        futures_util::stream::unfold(state, |(p, project, mut live, mut lost)| async move {
            loop {
                let stream = match live.as_mut() {
                    Some(s) => s,
                    None => {
                        if lost {
                            let st = p.engine_status().await;
                            if !st.connected {
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                continue;
                            }
                            lost = false;
                            live = Some(p.events(project.as_deref()));
                            return Some((
                                WatchEvent::DockerBack {
                                    endpoint: p.target(),
                                },
                                (p, project, live, lost),
                            ));
                        }
                        live.insert(p.events(project.as_deref()))
                    }
                };
                match stream.next().await {
                    Some(Ok(ev)) => {
                        return Some((WatchEvent::Change(ev), (p, project, live, lost)))
                    }
                    Some(Err(Error::DockerUnavailable { tried, detail })) => {
                        live = None;
                        lost = true;
                        return Some((
                            WatchEvent::DockerLost { tried, detail },
                            (p, project, live, lost),
                        ));
                    }
                    Some(Err(_)) | None => {
                        // The events stream ended (daemon restart): find out whether it is gone.
                        live = None;
                        let st = p.engine_status().await;
                        if !st.connected {
                            lost = true;
                            return Some((
                                WatchEvent::DockerLost {
                                    tried: st.tried,
                                    detail: st.error.unwrap_or_default(),
                                },
                                (p, project, live, lost),
                            ));
                        }
                    }
                }
            }
        })
        .boxed()
    }
}

/// What `watch` reports: a container change, or the engine going away and coming back.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WatchEvent {
    Change(crate::provisioner::StatusEvent),
    DockerLost { tried: Vec<String>, detail: String },
    DockerBack { endpoint: String },
}

/// How many cards `list` reads at once.
const LIST_CONCURRENCY: usize = 8;
