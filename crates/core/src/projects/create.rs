//! Creating a project (or resuming an interrupted creation), and undoing a failed one.

use crate::card::ProjectCard;
use crate::error::{Error, Result};
use crate::keys;
use crate::name::validate_name;
use crate::ports;
use crate::provisioner::{Progress, ProgressSink, Provisioner, Stage};
use crate::registry::{ProjectRecord, RealtimeEngine};
use crate::secrets::{self, SecretKind};

use super::*;

/// What the engine and the secret store said before the registry was touched.
struct Facts {
    volume: String,
    volume_exists: bool,
    secrets_exist: bool,
    local_image_present: bool,
    local_gateway_present: bool,
    /// Containers Docker already has under the project's names (any home, or by hand).
    held_by: Vec<String>,
}

impl<P: Provisioner> Supalove<P> {
    /// Creates a project (or resumes one whose provisioning was interrupted) and waits until
    /// its services answer. A second creation of the same name while this one runs gets
    /// [`Error::Busy`]; a failed fresh creation is undone, so it changes nothing.
    pub async fn create(
        &self,
        req: CreateProject,
        progress: ProgressSink<'_>,
    ) -> Result<ProjectCard> {
        validate_name(&req.name)?;
        ports::check_request(&req.ports)?;
        let registry = self.registry.clone();
        let name = req.name.clone();
        let _claim = self.blocking(move || registry.claim(&name)).await?;
        self.secret_call(|s| s.check_available()).await?;
        let target = match &req.remote {
            Some(r) => {
                let targets = crate::targets::Targets::new(&self.settings.home);
                let name = r.target.clone();
                Some(self.blocking(move || targets.get(&name)).await?)
            }
            None => None,
        };
        let facts = match &target {
            Some(_) => Facts {
                volume: crate::volumes::volume_name(&req.name),
                volume_exists: false,
                secrets_exist: {
                    let project = req.name.clone();
                    self.secret_call(move |s| secrets::exists(s, &project))
                        .await?
                },
                local_image_present: false,
                local_gateway_present: false,
                held_by: Vec::new(),
            },
            None => self.facts(&req.name).await?,
        };
        let (mut record, fresh) = self.plan(&req, &facts, target.as_ref(), progress).await?;
        if !fresh && !is_remote(&record) {
            let options = crate::volumes::StartOptions::default();
            crate::volumes::prepare(&self.registry, &self.provisioner, &mut record, options)
                .await?;
        }
        if let Err(e) = self.provision(&record, progress).await {
            if fresh {
                self.undo_create(&record, facts.volume_exists, facts.secrets_exist, progress)
                    .await;
            }
            return Err(e);
        }
        let registry = self.registry.clone();
        let name = record.name.clone();
        self.blocking(move || {
            let lock = registry.lock()?;
            let mut done = registry.get(&name)?;
            done.provisioned = true;
            registry.upsert(&lock, done)
        })
        .await?;
        if !is_remote(&record) {
            crate::volumes::seen(&self.registry, &self.provisioner, &record.name).await?;
        }
        self.show(&record.name).await
    }

    /// Asks the engine and the secret store what exists, so no lock is held across an await.
    async fn facts(&self, name: &str) -> Result<Facts> {
        let volume = crate::volumes::volume_name(name);
        let volume_exists = self.provisioner.volume_exists(&volume).await?;
        let project = name.to_string();
        let secrets_exist = self
            .secret_call(move |s| secrets::exists(s, &project))
            .await?;
        let local_image_present = self
            .provisioner
            .image_present(&self.settings.local_postgres_image)
            .await?;
        let local_gateway_present = self
            .provisioner
            .image_present(&self.settings.local_gateway_image)
            .await?;
        let held_by = self.provisioner.name_holders(name).await?.containers;
        Ok(Facts {
            volume,
            volume_exists,
            secrets_exist,
            local_image_present,
            local_gateway_present,
            held_by,
        })
    }

    /// Registers the project (ports allocated under the registry lock), or finds the record
    /// of an interrupted creation; true when the record is new.
    async fn plan(
        &self,
        req: &CreateProject,
        facts: &Facts,
        target: Option<&crate::targets::TargetRecord>,
        progress: ProgressSink<'_>,
    ) -> Result<(ProjectRecord, bool)> {
        if facts.volume_exists && !facts.secrets_exist {
            // Only a problem for a new record: an interrupted creation may have made the
            // volume before its secrets were read back.
            let known = self.registry.clone();
            let name = req.name.clone();
            let registered = self
                .blocking(move || Ok(known.load()?.iter().any(|p| p.name == name)))
                .await?;
            if !registered {
                return Err(Error::OrphanVolume {
                    project: req.name.clone(),
                    volume: facts.volume.clone(),
                });
            }
        }
        let engine = req.engine.unwrap_or(self.settings.default_engine);
        // The official engine decodes with wal2json, which only our local image has.
        let db_image = if engine == RealtimeEngine::Supabase || facts.local_image_present {
            self.settings.local_postgres_image.clone()
        } else {
            self.settings.postgres_image.clone()
        };
        let mut realtime_image = match engine {
            RealtimeEngine::Native => self.settings.realtime_image.clone(),
            RealtimeEngine::Supabase => self.settings.supabase_realtime_image.clone(),
        };
        // The gateway: our local nginx build when present, else the official nginx image.
        let gateway_image = (engine == RealtimeEngine::Supabase
            || self.settings.native_gateway_for_tests)
            .then(|| {
                if facts.local_gateway_present {
                    self.settings.local_gateway_image.clone()
                } else {
                    self.settings.gateway_image.clone()
                }
            });
        let mut db_image = db_image;
        let mut remote = None;
        if let (Some(t), Some(r)) = (target, &req.remote) {
            // The target's server pulls every image: the official postgres, and a Realtime
            // image from a registry (the native engine's is built on this machine).
            db_image = self.settings.postgres_image.clone();
            match (&r.realtime_image, engine) {
                (Some(image), _) => realtime_image = image.clone(),
                (None, RealtimeEngine::Supabase) => {}
                (None, RealtimeEngine::Native) => {
                    return Err(Error::InvalidRequest(format!(
                        "the native Realtime engine's image ({realtime_image}) is built on this machine, so target {} cannot pull it: push it to a registry and pass --realtime-image <ref>, or use --engine supabase",
                        t.name
                    )))
                }
            }
            remote = Some((
                t.name.clone(),
                crate::registry::RemoteDeployment {
                    base_url: t.url.clone(),
                    server_uuid: r.server.clone().or_else(|| t.server_uuid.clone()),
                    domain: r.domain.clone(),
                    ..Default::default()
                },
            ));
        }
        let registry = self.registry.clone();
        let settings = self.settings.clone();
        let name = req.name.clone();
        let request = req.ports;
        let held_by = facts.held_by.clone();
        let volume_info = match target {
            Some(_) => None,
            None => self.provisioner.volume_info(&facts.volume).await?,
        };
        let (record, fresh) = self
            .blocking(move || {
                let lock = registry.lock()?;
                let all = registry.load()?;
                match all.iter().find(|p| p.name == name) {
                    Some(existing) if existing.provisioned => Err(Error::NameTaken(name)),
                    Some(existing) => Ok((existing.clone(), false)),
                    // Another home's project or a hand-made container: applying the stack
                    // would replace it, so a new project of that name is refused.
                    None if !held_by.is_empty() => Err(Error::NameHeld {
                        name,
                        containers: held_by,
                    }),
                    None => {
                        let ports = ports::allocate(&settings, &all, request)?;
                        let mut record = ProjectRecord::new(name, ports, db_image, keys::now());
                        record.realtime_engine = engine;
                        record.realtime_image = realtime_image;
                        record.gateway_image = gateway_image;
                        if let Some((target, deployment)) = remote {
                            record.target = Some(target);
                            record.remote = Some(deployment);
                        }
                        crate::volumes::plan_with(&mut record, volume_info);
                        registry.upsert(&lock, record.clone())?;
                        Ok((record, true))
                    }
                }
            })
            .await?;
        if !fresh {
            progress(Progress::new(
                "project",
                Stage::Creating,
                "resuming an interrupted provisioning",
            ));
        } else if facts.volume_exists {
            progress(Progress::new(
                "db",
                Stage::Creating,
                format!("reusing the data kept in volume {}", facts.volume),
            ));
        }
        Ok((record, fresh))
    }

    pub(crate) async fn provision(
        &self,
        record: &ProjectRecord,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        let name = record.name.clone();
        let secrets = self
            .secret_call(move |s| secrets::get_or_create(s, &name))
            .await?;
        let stack = self.render(record, &secrets)?;
        self.provisioner.apply(&record.id, &stack, progress).await?;
        if is_remote(record) {
            // The target waited for its own healthchecks; its ports are on its server.
            return Ok(());
        }
        self.wait_ready(record, &secrets, progress).await
    }

    /// Removes what a failed fresh creation made, so a bad request changes nothing.
    async fn undo_create(
        &self,
        record: &ProjectRecord,
        kept_volume: bool,
        had_secrets: bool,
        progress: ProgressSink<'_>,
    ) {
        progress(Progress::new(
            "project",
            Stage::Removing,
            "undoing the failed creation",
        ));
        let _ = self
            .provisioner
            .remove(&record.id, !kept_volume, progress)
            .await;
        if !had_secrets {
            let project = record.name.clone();
            let _ = self
                .secret_call(move |s| {
                    for kind in SecretKind::ALL {
                        s.delete(&project, kind)?;
                    }
                    Ok(())
                })
                .await;
        }
        let registry = self.registry.clone();
        let name = record.name.clone();
        let _ = self
            .blocking(move || {
                let lock = registry.lock()?;
                registry.remove(&lock, &name)
            })
            .await;
    }
}
