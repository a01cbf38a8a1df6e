//! Start, stop, restart and remove.

use crate::card::ProjectCard;
use crate::error::{Error, Result};
use crate::name::validate_name;
use crate::ports::{self};
use crate::provisioner::{ProgressSink, Provisioner, RemoveReport, ServiceState};
use crate::secrets::SecretKind;

use super::*;

impl<P: Provisioner> Supalove<P> {
    /// Starts a project; recreates missing containers from the template (data volumes are
    /// reused) and waits until the database answers. A project whose creation was
    /// interrupted is finished first (the same resume as [`Supalove::create`] of its name),
    /// so a start never reports success on a project that is still incomplete.
    pub async fn start(&self, name: &str, progress: ProgressSink<'_>) -> Result<ProjectCard> {
        self.start_with(name, StartOptions::default(), progress)
            .await
    }

    /// [`Supalove::start`], refusing a missing or foreign data volume unless `options` say
    /// to begin again with an empty database.
    pub async fn start_with(
        &self,
        name: &str,
        options: StartOptions,
        progress: ProgressSink<'_>,
    ) -> Result<ProjectCard> {
        let mut record = self.record(name).await?;
        if !record.provisioned {
            let req = CreateProject {
                name: record.name.clone(),
                ports: Default::default(),
                engine: Some(record.realtime_engine),
                // The record already names its target; the resume reads it from there.
                remote: None,
            };
            return self.create(req, progress).await;
        }
        if is_remote(&record) {
            // The target keeps the containers' definitions and the data; it reports health.
            self.provisioner.start(&record.id, progress).await?;
            return self.card(&record).await;
        }
        crate::volumes::prepare(&self.registry, &self.provisioner, &mut record, options).await?;
        let secrets = self.load_secrets(&record).await?;
        let services = self.provisioner.status(&record.id).await?;
        let running: Vec<u16> = if services
            .iter()
            .any(|s| !matches!(s.state, ServiceState::Stopped | ServiceState::Missing))
        {
            record.ports.named().iter().map(|(_, p)| *p).collect()
        } else {
            Vec::new()
        };
        let ports = record.ports;
        self.blocking(move || ports::check_still_free(&ports, &running))
            .await?;
        let stack = self.render(&record, &secrets)?;
        // apply converges: existing containers are started, missing ones recreated.
        self.provisioner.apply(&record.id, &stack, progress).await?;
        self.wait_ready(&record, &secrets, progress).await?;
        crate::volumes::seen(&self.registry, &self.provisioner, name).await?;
        self.card(&record).await
    }

    /// Stops a project's containers; nothing is deleted.
    pub async fn stop(&self, name: &str, progress: ProgressSink<'_>) -> Result<ProjectCard> {
        let record = self.record(name).await?;
        self.provisioner.stop(&record.id, progress).await?;
        self.card(&record).await
    }

    /// Stop then start.
    pub async fn restart(&self, name: &str, progress: ProgressSink<'_>) -> Result<ProjectCard> {
        let mut record = self.record(name).await?;
        let options = StartOptions::default();
        if !is_remote(&record) {
            crate::volumes::prepare(&self.registry, &self.provisioner, &mut record, options)
                .await?;
        }
        self.stop(name, progress).await?;
        self.start(name, progress).await
    }

    /// What [`Supalove::remove`] would delete and keep, for a confirmation prompt.
    pub async fn removal_plan(&self, name: &str, options: RemoveOptions) -> Result<RemoveReport> {
        validate_name(name)?;
        let registered = self.record(name).await.is_ok();
        let found = self.provisioner.resources(name).await?;
        if !registered
            && found.containers.is_empty()
            && found.volumes.is_empty()
            && found.networks.is_empty()
        {
            return Err(Error::NotFound(name.to_string()));
        }
        let (removed, kept) = if options.volumes {
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

    /// Removes a project's containers and network and forgets it. Volumes and secrets are
    /// kept unless `options.volumes` (so `supalove new <name>` can reattach the data).
    /// Works for projects known only by their Docker labels, too.
    pub async fn remove(
        &self,
        name: &str,
        options: RemoveOptions,
        progress: ProgressSink<'_>,
    ) -> Result<RemoveReport> {
        self.removal_plan(name, options).await?;
        let remote = self.record(name).await.is_ok_and(|r| is_remote(&r));
        if remote && options.volumes && !options.skip_backup {
            return Err(Error::Unsupported {
                what: "a backup before deleting a remote project's data (pass --no-backup to delete it without one)".into(),
                target: "a remote target".into(),
            });
        }
        let backup = match options.volumes && !options.skip_backup {
            true => crate::backup::before_removal(self, name, progress).await?,
            false => None,
        };
        let mut report = self
            .provisioner
            .remove(name, options.volumes, progress)
            .await?;
        if options.volumes {
            let project = name.to_string();
            self.secret_call(move |s| {
                for kind in SecretKind::ALL {
                    s.delete(&project, kind)?;
                }
                Ok(())
            })
            .await?;
        }
        let registry = self.registry.clone();
        let project = name.to_string();
        self.blocking(move || {
            let lock = registry.lock()?;
            registry.remove(&lock, &project)
        })
        .await?;
        report.backup = backup.map(|f| f.display().to_string());
        Ok(report)
    }
}
