//! An in-memory provisioner for fast core unit tests of the use cases' branches (no Docker);
//! the real-Docker tests live in `crates/cli/tests` and `crates/api`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;

use crate::error::{Error, Result};
use crate::provisioner::{
    EngineStatus, LogLine, LogOptions, LogStream, Progress, ProgressSink, ProjectResources,
    Provisioner, RemoveReport, ServiceState, ServiceStats, ServiceStatus, Stage, StatusEvent,
};
use crate::template::RenderedStack;

/// One project as the in-memory engine holds it.
#[derive(Debug, Clone, Default)]
pub struct MemProject {
    pub services: BTreeMap<String, ServiceState>,
    pub network: bool,
}

/// What the in-memory engine holds, and how it should misbehave.
#[derive(Debug, Default)]
pub struct MemState {
    pub projects: BTreeMap<String, MemProject>,
    pub volumes: BTreeSet<String>,
    /// Labels of each volume, as given when it was created.
    pub volume_labels: BTreeMap<String, BTreeMap<String, String>>,
    pub images: BTreeSet<String>,
    /// `apply` fails with this Docker message.
    pub fail_apply: Option<String>,
    /// Every call fails as if the daemon were down.
    pub down: bool,
    /// Calls of `apply`, for assertions.
    pub applies: u32,
}

/// The in-memory provisioner (named as such: it is not a Docker engine).
#[derive(Default)]
pub struct MemoryProvisioner {
    pub state: Mutex<MemState>,
    /// How long `apply` takes (so concurrent calls overlap).
    pub apply_delay: Duration,
}

impl MemoryProvisioner {
    fn check(&self) -> Result<std::sync::MutexGuard<'_, MemState>> {
        let st = self.state.lock().expect("memory state");
        if st.down {
            return Err(Error::DockerUnavailable {
                tried: vec!["memory://".into()],
                detail: "the in-memory engine is down".into(),
            });
        }
        Ok(st)
    }
}

impl Provisioner for MemoryProvisioner {
    fn target(&self) -> String {
        "memory://".into()
    }

    async fn engine_status(&self) -> EngineStatus {
        let down = self.state.lock().expect("memory state").down;
        EngineStatus {
            connected: !down,
            endpoint: (!down).then(|| "memory://".into()),
            tried: if down {
                vec!["memory://".into()]
            } else {
                vec![]
            },
            error: down.then(|| "the in-memory engine is down".into()),
            hint: None,
        }
    }

    async fn image_present(&self, image: &str) -> Result<bool> {
        Ok(self.check()?.images.contains(image))
    }

    async fn volume_info(&self, name: &str) -> Result<Option<crate::provisioner::VolumeInfo>> {
        let st = self.check()?;
        Ok(st
            .volumes
            .contains(name)
            .then(|| crate::provisioner::VolumeInfo {
                labels: st.volume_labels.get(name).cloned().unwrap_or_default(),
                created_at: None,
            }))
    }

    async fn exec<'a>(
        &'a self,
        _project_id: &'a str,
        _service: &'a str,
        _cmd: Vec<String>,
        _stdin: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin + 'a>>,
        _stdout: &'a mut (dyn tokio::io::AsyncWrite + Send + Unpin),
    ) -> Result<crate::provisioner::ExecOutcome> {
        Err(crate::Error::Docker(
            "the in-memory provisioner runs no commands".into(),
        ))
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        Ok(self.check()?.volumes.contains(name))
    }

    async fn apply(
        &self,
        project_id: &str,
        stack: &RenderedStack,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        tokio::time::sleep(self.apply_delay).await;
        let mut st = self.check()?;
        st.applies += 1;
        for volume in stack.spec.volumes.values() {
            if st.volumes.insert(volume.name.clone()) {
                st.volume_labels
                    .insert(volume.name.clone(), volume.labels.clone());
            }
        }
        let project = st.projects.entry(project_id.to_string()).or_default();
        project.network = true;
        for service in stack.spec.services.keys() {
            progress(Progress::new(service, Stage::Creating, "in memory"));
            project
                .services
                .insert(service.clone(), ServiceState::Stopped);
        }
        if let Some(msg) = st.fail_apply.clone() {
            return Err(Error::Docker(msg));
        }
        let project = st.projects.get_mut(project_id).expect("just inserted");
        for state in project.services.values_mut() {
            *state = ServiceState::Healthy;
        }
        Ok(())
    }

    async fn start(&self, project_id: &str, _progress: ProgressSink<'_>) -> Result<()> {
        let mut st = self.check()?;
        if let Some(p) = st.projects.get_mut(project_id) {
            p.services
                .values_mut()
                .for_each(|s| *s = ServiceState::Healthy);
        }
        Ok(())
    }

    async fn stop(&self, project_id: &str, _progress: ProgressSink<'_>) -> Result<()> {
        let mut st = self.check()?;
        if let Some(p) = st.projects.get_mut(project_id) {
            p.services
                .values_mut()
                .for_each(|s| *s = ServiceState::Stopped);
        }
        Ok(())
    }

    async fn resources(&self, project_id: &str) -> Result<ProjectResources> {
        let st = self.check()?;
        let mut r = ProjectResources::default();
        if let Some(p) = st.projects.get(project_id) {
            r.containers = p
                .services
                .keys()
                .map(|s| format!("project_{project_id}_{s}"))
                .collect();
            if p.network {
                r.networks.push(format!("project_{project_id}"));
            }
        }
        let prefix = format!("project_{project_id}_");
        r.volumes = st
            .volumes
            .iter()
            .filter(|v| v.starts_with(&prefix))
            .cloned()
            .collect();
        Ok(r)
    }

    async fn remove(
        &self,
        project_id: &str,
        volumes: bool,
        _progress: ProgressSink<'_>,
    ) -> Result<RemoveReport> {
        let found = self.resources(project_id).await?;
        let mut st = self.check()?;
        st.projects.remove(project_id);
        let (removed, kept) = if volumes {
            for v in &found.volumes {
                st.volumes.remove(v);
            }
            (found.volumes, Vec::new())
        } else {
            (Vec::new(), found.volumes)
        };
        Ok(RemoveReport {
            containers: found.containers,
            networks: found.networks,
            volumes_removed: removed,
            volumes_kept: kept,
            backup: None,
        })
    }

    async fn status(&self, project_id: &str) -> Result<Vec<ServiceStatus>> {
        let st = self.check()?;
        Ok(st
            .projects
            .get(project_id)
            .map(|p| {
                p.services
                    .iter()
                    .map(|(service, state)| ServiceStatus {
                        service: service.clone(),
                        container: format!("project_{project_id}_{service}"),
                        state: *state,
                        image: None,
                        exit_code: None,
                        started_at: None,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn stats(&self, _project_id: &str) -> Result<Vec<ServiceStats>> {
        drop(self.check()?);
        Ok(Vec::new())
    }

    async fn discover(&self) -> Result<Vec<String>> {
        Ok(self.check()?.projects.keys().cloned().collect())
    }

    fn logs(
        &self,
        _project_id: &str,
        service: Option<&str>,
        _options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine>> {
        let line = LogLine::new(
            service.unwrap_or("db"),
            LogStream::Stdout,
            None,
            "in-memory engine",
        );
        stream::iter([Ok(line)]).boxed()
    }

    fn events(&self, _project_id: Option<&str>) -> BoxStream<'static, Result<StatusEvent>> {
        stream::empty().boxed()
    }
}
