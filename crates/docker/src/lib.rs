//! supalove-docker: the local Docker provisioner, over bollard (never the docker CLI).

mod apply;
pub mod connect;
mod exec;
pub mod labels;
mod lifecycle;
mod observe;
mod stats;

use std::sync::Arc;

use bollard::errors::Error as BollardError;
use bollard::Docker;
use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;
use supalove_core::provisioner::{
    EngineStatus, ExecOutcome, LogLine, LogOptions, ProgressSink, ProjectResources, Provisioner,
    RemoveReport, ServiceStats, ServiceStatus, StatusEvent, VolumeInfo,
};
use supalove_core::template::RenderedStack;
use supalove_core::{Error, Result};

/// A Docker engine reached through its API socket. It connects on first use and again after
/// the engine went away, so a shell never keeps its own "maybe connected" state.
#[derive(Clone)]
pub struct LocalDocker {
    inner: Arc<Inner>,
}

struct Inner {
    /// The settings' Docker host (DOCKER_HOST still wins).
    configured: Option<String>,
    allow_pull: bool,
    conn: tokio::sync::Mutex<Option<Connected>>,
}

#[derive(Clone)]
struct Connected {
    docker: Docker,
    endpoint: String,
}

impl LocalDocker {
    /// A provisioner for `DOCKER_HOST`, else `host`, else the usual sockets; nothing is
    /// contacted until the first call. `SUPALOVE_PULL=never` forbids pulling images.
    pub fn new(host: Option<&str>) -> Self {
        let allow_pull = std::env::var("SUPALOVE_PULL").as_deref() != Ok("never");
        LocalDocker {
            inner: Arc::new(Inner {
                configured: host.map(str::to_string),
                allow_pull,
                conn: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Connects now (tests and callers that want the failure early).
    pub async fn connect_to(host: Option<&str>) -> Result<Self> {
        let d = Self::new(host);
        d.docker().await?;
        Ok(d)
    }

    /// The connected client, connecting first when there is none.
    pub async fn docker(&self) -> Result<Docker> {
        Ok(self.connected().await?.docker)
    }

    async fn connected(&self) -> Result<Connected> {
        let mut slot = self.inner.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let (docker, endpoint) = connect::connect(self.inner.configured.as_deref()).await?;
        let c = Connected { docker, endpoint };
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Names the endpoint in an outage error and drops the connection, so the next call
    /// connects afresh (the daemon may come back on another socket).
    async fn outage(&self, e: Error) -> Error {
        match e {
            Error::DockerUnavailable { mut tried, detail } => {
                let mut slot = self.inner.conn.lock().await;
                if tried.is_empty() {
                    match slot.as_ref() {
                        Some(c) => tried.push(c.endpoint.clone()),
                        None => tried = connect::candidates(self.inner.configured.as_deref()),
                    }
                }
                *slot = None;
                Error::DockerUnavailable { tried, detail }
            }
            other => other,
        }
    }

    /// Runs one engine call with a connected client; an outage resets the connection.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(Docker) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let docker = match self.docker().await {
            Ok(d) => d,
            Err(e) => return Err(self.outage(e).await),
        };
        match f(docker).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.outage(e).await),
        }
    }

    /// True when the engine answers a ping now.
    pub async fn ping(&self) -> bool {
        self.call(|d| async move { d.ping().await.map(|_| ()).map_err(docker_error) })
            .await
            .is_ok()
    }

    /// A stream that connects first, then runs `make`.
    fn lazy_stream<T, F>(&self, make: F) -> BoxStream<'static, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(Docker) -> BoxStream<'static, Result<T>> + Send + 'static,
    {
        let me = self.clone();
        stream::once(async move {
            match me.docker().await {
                Ok(d) => make(d),
                Err(e) => {
                    let e = me.outage(e).await;
                    stream::once(async move { Err(e) }).boxed()
                }
            }
        })
        .flatten()
        .boxed()
    }
}

/// Opens supalove the way every shell does: settings (file + environment), the chosen secret
/// store, and the local Docker engine (connected on first use).
pub fn open() -> Result<supalove_core::Supalove<LocalDocker>> {
    let settings = supalove_core::settings::Settings::from_env()?;
    let secrets = supalove_core::secrets::store_for(&settings);
    let docker = LocalDocker::new(settings.docker_host.as_deref());
    Ok(supalove_core::Supalove::new(settings, secrets, docker))
}

pub(crate) fn is_not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

pub(crate) fn is_conflict(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

/// Maps a bollard failure to the core's error; an unreachable engine is an outage (the
/// endpoint is filled in by [`LocalDocker`], which knows it).
pub(crate) fn docker_error(e: BollardError) -> Error {
    match e {
        BollardError::DockerResponseServerError { message, .. } => Error::Docker(message),
        BollardError::IOError { err } => Error::DockerUnavailable {
            tried: vec![],
            detail: err.to_string(),
        },
        e @ (BollardError::HyperResponseError { .. }
        | BollardError::HyperLegacyError { .. }
        | BollardError::RequestTimeoutError
        | BollardError::SocketNotFoundError(_)) => Error::DockerUnavailable {
            tried: vec![],
            detail: e.to_string(),
        },
        other => Error::Docker(other.to_string()),
    }
}

impl Provisioner for LocalDocker {
    fn target(&self) -> String {
        if let Ok(slot) = self.inner.conn.try_lock() {
            if let Some(c) = slot.as_ref() {
                return c.endpoint.clone();
            }
        }
        connect::candidates(self.inner.configured.as_deref()).join(", ")
    }

    async fn engine_status(&self) -> EngineStatus {
        match self
            .call(|d| async move { d.ping().await.map(|_| ()).map_err(docker_error) })
            .await
        {
            Ok(()) => EngineStatus {
                connected: true,
                endpoint: Some(self.target()),
                tried: Vec::new(),
                error: None,
                hint: None,
            },
            Err(Error::DockerUnavailable { tried, detail }) => EngineStatus {
                connected: false,
                endpoint: None,
                tried,
                error: Some(detail),
                hint: None,
            },
            Err(e) => EngineStatus {
                connected: false,
                endpoint: None,
                tried: vec![self.target()],
                error: Some(e.to_string()),
                hint: None,
            },
        }
    }

    async fn image_present(&self, image: &str) -> Result<bool> {
        self.call(|d| async move {
            match d.inspect_image(image).await {
                Ok(_) => Ok(true),
                Err(e) if is_not_found(&e) => Ok(false),
                Err(e) => Err(docker_error(e)),
            }
        })
        .await
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        self.call(|d| async move {
            match d.inspect_volume(name).await {
                Ok(_) => Ok(true),
                Err(e) if is_not_found(&e) => Ok(false),
                Err(e) => Err(docker_error(e)),
            }
        })
        .await
    }

    async fn volume_info(&self, name: &str) -> Result<Option<VolumeInfo>> {
        self.call(|d| async move {
            match d.inspect_volume(name).await {
                Ok(v) => Ok(Some(VolumeInfo {
                    labels: v.labels.into_iter().collect(),
                    created_at: v.created_at.map(|t| t.to_string()),
                })),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(e) => Err(docker_error(e)),
            }
        })
        .await
    }

    async fn exec<'a>(
        &'a self,
        project_id: &'a str,
        service: &'a str,
        cmd: Vec<String>,
        stdin: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin + 'a>>,
        stdout: &'a mut (dyn tokio::io::AsyncWrite + Send + Unpin),
    ) -> Result<ExecOutcome> {
        let docker = self.docker().await?;
        exec::exec(&docker, project_id, service, cmd, stdin, stdout).await
    }

    async fn apply(
        &self,
        project_id: &str,
        stack: &RenderedStack,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        let pull = self.inner.allow_pull;
        self.call(|d| async move { apply::apply(&d, project_id, stack, pull, progress).await })
            .await
    }

    async fn start(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        self.call(|d| async move { lifecycle::start(&d, project_id, progress).await })
            .await
    }

    async fn stop(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        self.call(|d| async move { lifecycle::stop(&d, project_id, progress).await })
            .await
    }

    async fn resources(&self, project_id: &str) -> Result<ProjectResources> {
        self.call(|d| async move { lifecycle::resources(&d, project_id).await })
            .await
    }

    async fn name_holders(&self, project_id: &str) -> Result<ProjectResources> {
        self.call(|d| async move { lifecycle::name_holders(&d, project_id).await })
            .await
    }

    async fn remove(
        &self,
        project_id: &str,
        volumes: bool,
        progress: ProgressSink<'_>,
    ) -> Result<RemoveReport> {
        self.call(|d| async move { lifecycle::remove(&d, project_id, volumes, progress).await })
            .await
    }

    async fn status(&self, project_id: &str) -> Result<Vec<ServiceStatus>> {
        self.call(|d| async move { observe::status(&d, project_id).await })
            .await
    }

    async fn stats(&self, project_id: &str) -> Result<Vec<ServiceStats>> {
        self.call(|d| async move { stats::stats(&d, project_id).await })
            .await
    }

    async fn discover(&self) -> Result<Vec<String>> {
        self.call(|d| async move {
            let opts = bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(labels::project_filter(None)),
                ..Default::default()
            };
            let mut ids: Vec<String> = d
                .list_containers(Some(opts))
                .await
                .map_err(docker_error)?
                .into_iter()
                .filter_map(|c| c.labels.and_then(|l| l.get(labels::PROJECT_LABEL).cloned()))
                .collect();
            ids.sort();
            ids.dedup();
            Ok(ids)
        })
        .await
    }

    fn logs(
        &self,
        project_id: &str,
        service: Option<&str>,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine>> {
        let id = project_id.to_string();
        let service = service.map(str::to_string);
        self.lazy_stream(move |d| observe::logs(&d, &id, service.as_deref(), options))
    }

    fn events(&self, project_id: Option<&str>) -> BoxStream<'static, Result<StatusEvent>> {
        let id = project_id.map(str::to_string);
        let me = self.clone();
        self.lazy_stream(move |d| {
            observe::events(&d, id.as_deref())
                .then(move |ev| {
                    let me = me.clone();
                    async move {
                        match ev {
                            Ok(ev) => Ok(ev),
                            Err(e) => Err(me.outage(e).await),
                        }
                    }
                })
                .boxed()
        })
    }
}
