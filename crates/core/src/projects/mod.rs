//! The use cases: create, list, show, start, stop, remove, logs, env, export. Every shell (the
//! CLI, the app, the HTTP API) calls these and nothing else; each concern has its own file.

mod access;
mod create;
mod data;
mod lifecycle;
mod observe;
mod ready;
mod remote;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::card::ProjectStatus;
use crate::error::{Error, Result};
use crate::keys;
use crate::name::validate_name;
use crate::ports::PortRequest;
use crate::provisioner::Provisioner;
use crate::registry::{ProjectRecord, Registry};
use crate::secrets::{self, ProjectSecrets, SecretStore};
use crate::settings::Settings;
use crate::template::{self, RenderedStack, TemplateContext};

pub use observe::WatchEvent;
pub use ready::READY_TIMEOUT;

/// How to reach a project's Realtime service.
#[derive(Debug, Clone)]
pub struct RealtimeTarget {
    /// `ws://127.0.0.1:<REALTIME_PORT>/socket`.
    pub url: String,
    /// Host header to send (the official engine picks its tenant from it).
    pub host: Option<String>,
}

/// What the doctor found (and fixed).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DoctorReport {
    pub checks: Vec<crate::doctor::Check>,
    /// The SQL `--fix` ran.
    pub fixed: Vec<String>,
}

/// A request for a new project.
#[derive(Debug, Clone, Default)]
pub struct CreateProject {
    pub name: String,
    pub ports: PortRequest,
    /// The Realtime engine (default: the settings' default engine).
    pub engine: Option<crate::registry::RealtimeEngine>,
    /// Where to deploy it instead of the local Docker engine.
    pub remote: Option<RemoteRequest>,
}

/// A deployment to a remote target (`supalove new --target`).
#[derive(Debug, Clone, Default)]
pub struct RemoteRequest {
    /// A target from `supalove target list`.
    pub target: String,
    /// The server (uuid) on the target; default: the target's, else the first usable one.
    pub server: Option<String>,
    /// The public host of the project's Realtime (`realtime-dev.shop.example.com`).
    pub domain: Option<String>,
    /// The Realtime image the target's server pulls (the native engine is built locally, so
    /// it must be pushed to a registry first; the official engine has a public image).
    pub realtime_image: Option<String>,
}

/// What removing a project deletes and keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// Also delete data volumes and the project's secrets.
    pub volumes: bool,
    /// With `volumes`: skip the pg_dump into the backups folder that is otherwise taken first
    /// (when the database holds anything).
    pub skip_backup: bool,
}

pub use crate::volumes::StartOptions;

/// supalove's application service: settings, registry, secrets and a provisioner.
pub struct Supalove<P> {
    settings: Settings,
    registry: Registry,
    secrets: Arc<dyn SecretStore>,
    provisioner: P,
    /// Unit tests over the in-memory provisioner have no database to probe.
    #[cfg(test)]
    assume_ready: bool,
}

impl<P: Provisioner> Supalove<P> {
    /// Wires the parts together.
    pub fn new(settings: Settings, secrets: Arc<dyn SecretStore>, provisioner: P) -> Self {
        let registry = Registry::new(settings.registry_path());
        Supalove {
            settings,
            registry,
            secrets,
            provisioner,
            #[cfg(test)]
            assume_ready: false,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Where secrets are kept, for messages.
    pub fn secret_store(&self) -> String {
        self.secrets.describe()
    }

    /// The provisioner in use.
    pub fn provisioner(&self) -> &P {
        &self.provisioner
    }

    /// Runs blocking work (registry files, port probes, `/proc`) off the async runtime.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        tokio::task::spawn_blocking(f).await.map_err(|e| {
            Error::io(
                "a background task failed",
                std::io::Error::other(e.to_string()),
            )
        })?
    }

    /// The registry record of `name`.
    pub(crate) async fn record(&self, name: &str) -> Result<ProjectRecord> {
        let registry = self.registry.clone();
        let name = name.to_string();
        self.blocking(move || registry.get(&name)).await
    }

    /// Every registry record.
    pub(crate) async fn records(&self) -> Result<Vec<ProjectRecord>> {
        let registry = self.registry.clone();
        self.blocking(move || registry.load()).await
    }

    pub(crate) fn render(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
    ) -> Result<RenderedStack> {
        let target = if record.target.is_some() {
            template::TARGET_COOLIFY
        } else {
            self.provisioner.template_target()
        };
        self.render_for(record, secrets, target)
    }

    /// Renders the project's stack for `target` ([`template::TARGET_LOCAL`] or
    /// [`template::TARGET_COOLIFY`]).
    pub(crate) fn render_for(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
        target: &str,
    ) -> Result<RenderedStack> {
        let realtime_image = if record.realtime_image.is_empty() {
            match record.realtime_engine {
                crate::registry::RealtimeEngine::Native => self.settings.realtime_image.clone(),
                crate::registry::RealtimeEngine::Supabase => {
                    self.settings.supabase_realtime_image.clone()
                }
            }
        } else {
            record.realtime_image.clone()
        };
        let ctx = TemplateContext {
            project: record.name.clone(),
            id: record.id.clone(),
            template_version: record.template_version,
            db_image: record.db_image.clone(),
            realtime_engine: record.realtime_engine.as_str().into(),
            realtime_image: realtime_image.clone(),
            realtime_tag: match record.realtime_engine {
                crate::registry::RealtimeEngine::Supabase => {
                    template::image_tag(&realtime_image).to_string()
                }
                crate::registry::RealtimeEngine::Native => String::new(),
            },
            target: target.to_string(),
            // On Coolify its proxy presents the tenant host itself: no gateway there.
            gateway: record.has_gateway() && target != template::TARGET_COOLIFY,
            gateway_image: record
                .gateway_image
                .clone()
                .unwrap_or_else(|| self.settings.local_gateway_image.clone()),
        };
        let mut stack = template::render(&ctx, &self.stack_env(record, secrets))?;
        crate::volumes::label(&mut stack, record);
        Ok(stack)
    }

    /// The variables the template's `${VARS}` resolve from (and the exported `.env`).
    pub(crate) fn stack_env(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
    ) -> BTreeMap<String, String> {
        let keys = self.keys(record, secrets);
        [
            ("COMPOSE_PROJECT_NAME", format!("project_{}", record.id)),
            ("DB_PASSWORD", secrets.db_password.clone()),
            ("DB_PORT", record.ports.db.to_string()),
            ("REALTIME_PORT", record.ports.realtime.to_string()),
            ("JWT_SECRET", secrets.jwt_secret.clone()),
            ("ANON_KEY", keys.anon),
            ("SERVICE_ROLE_KEY", keys.service_role),
            // The official engine's own secrets, derived so they need no keyring entries.
            (
                "REALTIME_DB_ENC_KEY",
                keys::derive(&secrets.jwt_secret, "supabase-realtime-db-enc-key", 16),
            ),
            (
                "REALTIME_SECRET_KEY_BASE",
                keys::derive(&secrets.jwt_secret, "supabase-realtime-secret-key-base", 64),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub(crate) fn keys(&self, record: &ProjectRecord, secrets: &ProjectSecrets) -> keys::ApiKeys {
        keys::api_keys(
            &secrets.jwt_secret,
            &record.id,
            record.created_at,
            self.settings.key_lifetime_secs,
        )
    }

    pub(crate) async fn load_secrets(&self, record: &ProjectRecord) -> Result<ProjectSecrets> {
        let name = record.name.clone();
        match self.secret_call(move |s| secrets::load(s, &name)).await {
            Err(e @ (Error::KeyringUnavailable(_) | Error::SecretMissing { .. })) => {
                Err(self.secrets_elsewhere(&record.name).unwrap_or(e))
            }
            other => other,
        }
    }

    /// When the keyring lacks a project's secrets but this home's opt-in file store has them
    /// (a project made by `scripts/demo.sh` on a machine without a Secret Service, say), the
    /// error that says so and how to reach them.
    fn secrets_elsewhere(&self, project: &str) -> Option<Error> {
        if self.settings.secret_store != crate::settings::SecretStoreKind::Keyring {
            return None;
        }
        let files = secrets::FileStore::new(self.settings.home.join("secrets"));
        match secrets::load(&files, project) {
            Ok(_) => Some(Error::SecretsElsewhere {
                project: project.to_string(),
                store: files.describe(),
                env: "SUPALOVE_SECRET_STORE=file",
            }),
            Err(_) => None,
        }
    }

    /// Runs a (possibly blocking, D-Bus) secret-store call off the async runtime.
    pub(crate) async fn secret_call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn SecretStore) -> Result<T> + Send + 'static,
    {
        let store = Arc::clone(&self.secrets);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Error::KeyringUnavailable(format!("the secret store call failed: {e}")))?
    }
}

/// True when `record` runs on a remote target, where the local engine's probes, volumes and
/// ports do not apply (the target reports health itself).
pub(crate) fn is_remote(record: &ProjectRecord) -> bool {
    record.target.is_some()
}

/// Checks a would-be project name without touching anything: DNS-label rules, then uniqueness.
pub fn check_new_name(settings: &Settings, name: &str) -> Result<()> {
    validate_name(name)?;
    let registry = Registry::new(settings.registry_path());
    if registry.load()?.iter().any(|p| p.name == name) {
        return Err(Error::NameTaken(name.to_string()));
    }
    Ok(())
}

impl<P: Provisioner> Supalove<P> {
    /// What the name check as the person types says: the name's rules, this home's
    /// projects, and the engine's containers and volumes under that name (another home's
    /// project, or a manual `docker run`), so "available" is never followed by a refusal.
    /// `Ok(Some(note))` when the name can be used but something should be known first.
    pub async fn check_name(&self, name: &str) -> Result<Option<String>> {
        check_new_name(&self.settings, name)?;
        let held = match self.provisioner.name_holders(name).await {
            Ok(held) => held,
            Err(Error::DockerUnavailable { .. }) => {
                return Ok(Some(
                    "free in supalove; Docker is not reachable, so its containers under this name could not be checked".into(),
                ))
            }
            Err(e) => return Err(e),
        };
        if !held.containers.is_empty() {
            return Err(Error::NameHeld {
                name: name.to_string(),
                containers: held.containers,
            });
        }
        let volume = crate::volumes::volume_name(name);
        if !held.volumes.contains(&volume) {
            return Ok(None);
        }
        let project = name.to_string();
        let secrets = self
            .secret_call(move |s| crate::secrets::exists(s, &project))
            .await?;
        if !secrets {
            return Err(Error::OrphanVolume {
                project: name.to_string(),
                volume,
            });
        }
        Ok(Some(format!(
            "available: the data kept in volume {volume} (from an earlier {name:?}) will be used again"
        )))
    }
}

/// True when a status means the project serves requests.
pub fn is_up(status: ProjectStatus) -> bool {
    matches!(status, ProjectStatus::Healthy | ProjectStatus::Starting)
}
