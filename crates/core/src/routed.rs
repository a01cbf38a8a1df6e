//! One provisioner over several targets: each project runs where its registry record says
//! (`target`), local projects on the local engine, the rest on their target's provisioner.

use std::collections::BTreeMap;

use futures_util::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, Result};
use crate::provisioner::{
    EngineStatus, ExecOutcome, LogLine, LogOptions, ProgressSink, ProjectResources, Provisioner,
    RemoveReport, ServiceStats, ServiceStatus, StatusEvent, VolumeInfo,
};
use crate::registry::Registry;
use crate::template::RenderedStack;

/// Local projects on `L`, projects of remote target `name` on `remotes[name]`.
#[derive(Clone)]
pub struct Routed<L, R> {
    local: L,
    remotes: BTreeMap<String, R>,
    /// Targets that are configured but could not be opened (their token is unreadable), with why.
    broken: BTreeMap<String, String>,
    registry: Registry,
}

enum Via<'a, L, R> {
    Local(&'a L),
    Remote(&'a R),
}

/// Calls the same method on whichever provisioner runs the project.
macro_rules! route {
    ($self:ident, $id:expr, |$p:ident| $call:expr) => {
        match $self.via($id).await? {
            Via::Local($p) => $call,
            Via::Remote($p) => $call,
        }
    };
}

impl<L: Provisioner, R: Provisioner> Routed<L, R> {
    /// Routes by the records of `registry`.
    pub fn new(local: L, remotes: BTreeMap<String, R>, registry: Registry) -> Self {
        Routed {
            local,
            remotes,
            broken: BTreeMap::new(),
            registry,
        }
    }

    /// Remembers a target that could not be opened, so its projects say why.
    pub fn with_broken(mut self, name: &str, why: String) -> Self {
        self.broken.insert(name.to_string(), why);
        self
    }

    /// The local engine's provisioner.
    pub fn local(&self) -> &L {
        &self.local
    }

    /// The provisioner of target `name`.
    pub fn remote(&self, name: &str) -> Option<&R> {
        self.remotes.get(name)
    }

    fn pick(&self, target: Option<String>) -> Result<Via<'_, L, R>> {
        match target {
            None => Ok(Via::Local(&self.local)),
            Some(t) => match self.remotes.get(&t) {
                Some(r) => Ok(Via::Remote(r)),
                None => Err(Error::InvalidSetting {
                    name: "target".into(),
                    reason: match self.broken.get(&t) {
                        Some(why) => format!("target {t:?} cannot be used: {why}"),
                        None => format!(
                            "target {t:?} is not configured: add it with `supalove target add {t} --coolify <url> --token-stdin`"
                        ),
                    },
                }),
            },
        }
    }

    fn target_of_sync(registry: &Registry, id: &str) -> Result<Option<String>> {
        Ok(registry
            .load()?
            .into_iter()
            .find(|r| r.id == id)
            .and_then(|r| r.target))
    }

    async fn via(&self, project_id: &str) -> Result<Via<'_, L, R>> {
        let registry = self.registry.clone();
        let id = project_id.to_string();
        let target = tokio::task::spawn_blocking(move || Self::target_of_sync(&registry, &id))
            .await
            .map_err(|e| Error::io("a background task failed", std::io::Error::other(e)))??;
        self.pick(target)
    }
}

impl<L: Provisioner, R: Provisioner> Provisioner for Routed<L, R> {
    fn target(&self) -> String {
        self.local.target()
    }

    async fn engine_status(&self) -> EngineStatus {
        self.local.engine_status().await
    }

    // Images and volumes by name are the local engine's: remote targets own theirs.
    async fn image_present(&self, image: &str) -> Result<bool> {
        self.local.image_present(image).await
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        self.local.volume_exists(name).await
    }

    async fn volume_info(&self, name: &str) -> Result<Option<VolumeInfo>> {
        self.local.volume_info(name).await
    }

    async fn exec<'a>(
        &'a self,
        project_id: &'a str,
        service: &'a str,
        cmd: Vec<String>,
        stdin: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin + 'a>>,
        stdout: &'a mut (dyn tokio::io::AsyncWrite + Send + Unpin),
    ) -> Result<ExecOutcome> {
        route!(self, project_id, |p| p
            .exec(project_id, service, cmd, stdin, stdout)
            .await)
    }

    async fn realtime_url(&self, project_id: &str) -> Result<Option<String>> {
        route!(self, project_id, |p| p.realtime_url(project_id).await)
    }

    async fn apply(
        &self,
        project_id: &str,
        stack: &RenderedStack,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        route!(self, project_id, |p| p
            .apply(project_id, stack, progress)
            .await)
    }

    async fn start(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        route!(self, project_id, |p| p.start(project_id, progress).await)
    }

    async fn stop(&self, project_id: &str, progress: ProgressSink<'_>) -> Result<()> {
        route!(self, project_id, |p| p.stop(project_id, progress).await)
    }

    async fn resources(&self, project_id: &str) -> Result<ProjectResources> {
        route!(self, project_id, |p| p.resources(project_id).await)
    }

    async fn name_holders(&self, project_id: &str) -> Result<ProjectResources> {
        route!(self, project_id, |p| p.name_holders(project_id).await)
    }

    async fn remove(
        &self,
        project_id: &str,
        volumes: bool,
        progress: ProgressSink<'_>,
    ) -> Result<RemoveReport> {
        route!(self, project_id, |p| p
            .remove(project_id, volumes, progress)
            .await)
    }

    async fn status(&self, project_id: &str) -> Result<Vec<ServiceStatus>> {
        route!(self, project_id, |p| p.status(project_id).await)
    }

    async fn stats(&self, project_id: &str) -> Result<Vec<ServiceStats>> {
        route!(self, project_id, |p| p.stats(project_id).await)
    }

    async fn discover(&self) -> Result<Vec<String>> {
        let mut ids = self.local.discover().await?;
        for r in self.remotes.values() {
            for id in r.discover().await? {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    // The two stream methods are synchronous: they read the (small) registry file directly.
    fn logs(
        &self,
        project_id: &str,
        service: Option<&str>,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine>> {
        match Self::target_of_sync(&self.registry, project_id).and_then(|t| self.pick(t)) {
            Ok(Via::Local(p)) => p.logs(project_id, service, options),
            Ok(Via::Remote(p)) => p.logs(project_id, service, options),
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        }
    }

    fn events(&self, project_id: Option<&str>) -> BoxStream<'static, Result<StatusEvent>> {
        match project_id {
            Some(id) => match Self::target_of_sync(&self.registry, id).and_then(|t| self.pick(t)) {
                Ok(Via::Local(p)) => p.events(Some(id)),
                Ok(Via::Remote(p)) => p.events(Some(id)),
                Err(e) => stream::once(async move { Err(e) }).boxed(),
            },
            None => {
                let all: Vec<_> = std::iter::once(self.local.events(None))
                    .chain(self.remotes.values().map(|r| r.events(None)))
                    .collect();
                stream::select_all(all).boxed()
            }
        }
    }
}
