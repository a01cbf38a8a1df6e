//! supalove-docker: the local Docker provisioner, over bollard (never the docker CLI).

mod apply;
pub mod connect;
mod exec;
pub mod labels;
mod lifecycle;
mod observe;
mod stats;

use bollard::errors::Error as BollardError;
use bollard::Docker;
use futures_util::stream::BoxStream;
use supalove_core::provisioner::{
    ExecOutcome, LogLine, LogOptions, ProgressSink, ProjectResources, Provisioner, RemoveReport,
    ServiceStats, ServiceStatus, StatusEvent, VolumeInfo,
};
use supalove_core::template::RenderedStack;
use supalove_core::{Error, Result};

/// A Docker engine reached through its API socket.
#[derive(Clone)]
pub struct LocalDocker {
    docker: Docker,
    endpoint: String,
    allow_pull: bool,
}

impl LocalDocker {
    /// Connects to `DOCKER_HOST` or the first usual socket that answers.
    /// `SUPALOVE_PULL=never` forbids pulling images.
    pub async fn connect() -> Result<Self> {
        Self::connect_to(None).await
    }

    /// Like [`LocalDocker::connect`], but tries `host` when `DOCKER_HOST` is not set.
    pub async fn connect_to(host: Option<&str>) -> Result<Self> {
        let (docker, endpoint) = connect::connect(host).await?;
        let allow_pull = std::env::var("SUPALOVE_PULL").as_deref() != Ok("never");
        Ok(LocalDocker {
            docker,
            endpoint,
            allow_pull,
        })
    }

    /// True when the engine still answers.
    pub async fn ping(&self) -> bool {
        self.docker.ping().await.is_ok()
    }

    /// The bollard client, for callers that need more than the trait.
    pub fn client(&self) -> &Docker {
        &self.docker
    }
}

/// Opens supalove the way both shells do: settings (file + environment), the chosen secret
/// store, and the local Docker engine.
pub async fn open() -> Result<supalove_core::Supalove<LocalDocker>> {
    let settings = supalove_core::settings::Settings::from_env()?;
    let secrets = supalove_core::secrets::store_for(&settings);
    let docker = LocalDocker::connect_to(settings.docker_host.as_deref()).await?;
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

pub(crate) fn docker_error(e: BollardError) -> Error {
    match e {
        BollardError::DockerResponseServerError { message, .. } => Error::Docker(message),
        BollardError::IOError { err } => Error::DockerUnavailable {
            tried: vec![],
            detail: err.to_string(),
        },
        other => Error::Docker(other.to_string()),
    }
}

impl Provisioner for LocalDocker {
    fn target(&self) -> String {
        self.endpoint.clone()
    }

    async fn image_present(&self, image: &str) -> Result<bool> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(docker_error(e)),
        }
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(docker_error(e)),
        }
    }

    async fn volume_info(&self, name: &str) -> Result<Option<VolumeInfo>> {
        match self.docker.inspect_volume(name).await {
            Ok(v) => Ok(Some(VolumeInfo {
                labels: v.labels.into_iter().collect(),
                created_at: v.created_at.map(|t| t.to_string()),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(docker_error(e)),
        }
    }

    fn exec<'a>(
        &'a self,
        project_id: &'a str,
        service: &'a str,
        cmd: Vec<String>,
        stdin: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin + 'a>>,
        stdout: &'a mut (dyn tokio::io::AsyncWrite + Send + Unpin),
    ) -> impl std::future::Future<Output = Result<ExecOutcome>> + Send + 'a {
        exec::exec(&self.docker, project_id, service, cmd, stdin, stdout)
    }

    async fn apply(
        &self,
        project_id: &str,
        stack: &RenderedStack,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        apply::apply(&self.docker, project_id, stack, self.allow_pull, progress).await
    }

    async fn start(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        lifecycle::start(&self.docker, project_id, progress).await
    }

    async fn stop(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        lifecycle::stop(&self.docker, project_id, progress).await
    }

    async fn resources(&self, project_id: &str) -> Result<ProjectResources> {
        lifecycle::resources(&self.docker, project_id).await
    }

    async fn remove(
        &self,
        project_id: &str,
        volumes: bool,
        progress: ProgressSink<'_>,
    ) -> Result<RemoveReport> {
        lifecycle::remove(&self.docker, project_id, volumes, progress).await
    }

    async fn status(&self, project_id: &str) -> Result<Vec<ServiceStatus>> {
        observe::status(&self.docker, project_id).await
    }

    async fn stats(&self, project_id: &str) -> Result<Vec<ServiceStats>> {
        stats::stats(&self.docker, project_id).await
    }

    async fn discover(&self) -> Result<Vec<String>> {
        let opts = bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(labels::project_filter(None)),
            ..Default::default()
        };
        let mut ids: Vec<String> = self
            .docker
            .list_containers(Some(opts))
            .await
            .map_err(docker_error)?
            .into_iter()
            .filter_map(|c| c.labels.and_then(|l| l.get(labels::PROJECT_LABEL).cloned()))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    fn logs(
        &self,
        project_id: &str,
        service: Option<&str>,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine>> {
        observe::logs(&self.docker, project_id, service, options)
    }

    fn events(&self, project_id: Option<&str>) -> BoxStream<'static, Result<StatusEvent>> {
        observe::events(&self.docker, project_id)
    }
}
