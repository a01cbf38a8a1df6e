//! The use cases: create, list, show, start, stop, remove, logs, env, export. The CLI and the
//! app both call these and nothing else.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use crate::card::{self, ProjectCard, ProjectStatus};
use crate::error::{Error, Result};
use crate::export::{self, ExportReport};
use crate::keys;
use crate::name::validate_name;
use crate::ports::{self, PortRequest};
use crate::provisioner::{
    LogLine, LogOptions, Progress, ProgressSink, Provisioner, RemoveReport, ServiceState, Stage,
};
use crate::registry::{ProjectRecord, RealtimeEngine, Registry};
use crate::secrets::{self, ProjectSecrets, SecretKind, SecretStore};
use crate::settings::Settings;
use crate::template::{self, RenderedStack, TemplateContext};
pub use crate::volumes::StartOptions;

/// How long a database may take to answer after its container starts.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

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

/// supalove's application service: settings, registry, secrets and a provisioner.
pub struct Supalove<P> {
    settings: Settings,
    registry: Registry,
    secrets: Arc<dyn SecretStore>,
    provisioner: P,
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

    /// Creates a project (or resumes one whose provisioning was interrupted) and waits until
    /// its database answers.
    pub async fn create(
        &self,
        req: CreateProject,
        progress: ProgressSink<'_>,
    ) -> Result<ProjectCard> {
        validate_name(&req.name)?;
        ports::check_request(&req.ports)?;
        self.secret_call(|s| s.check_available()).await?;
        // What this call creates from scratch, so a failed fresh creation can be undone.
        let mut fresh = false;
        let mut kept_volume = false;
        let mut had_secrets = true;
        let mut record = {
            let lock = self.registry.lock()?;
            let all = self.registry.load()?;
            match all.iter().find(|p| p.name == req.name) {
                Some(existing) if existing.provisioned => {
                    return Err(Error::NameTaken(req.name.clone()))
                }
                Some(existing) => {
                    progress(Progress::new(
                        "project",
                        Stage::Creating,
                        "resuming an interrupted provisioning",
                    ));
                    existing.clone()
                }
                None => {
                    let volume = format!("project_{}_db_data", req.name);
                    if self.provisioner.volume_exists(&volume).await? {
                        let name = req.name.clone();
                        let kept = self.secret_call(move |s| secrets::exists(s, &name)).await?;
                        if !kept {
                            return Err(Error::OrphanVolume {
                                project: req.name.clone(),
                                volume,
                            });
                        }
                        progress(Progress::new(
                            "db",
                            Stage::Creating,
                            format!("reusing the data kept in volume {volume}"),
                        ));
                        kept_volume = true;
                    }
                    let others: Vec<ProjectRecord> = all.clone();
                    let ports = ports::allocate(&self.settings, &others, req.ports)?;
                    let engine = req.engine.unwrap_or(self.settings.default_engine);
                    // The official engine decodes with wal2json, which only our local image has.
                    let db_image = if engine == RealtimeEngine::Supabase
                        || self
                            .provisioner
                            .image_present(&self.settings.local_postgres_image)
                            .await?
                    {
                        self.settings.local_postgres_image.clone()
                    } else {
                        self.settings.postgres_image.clone()
                    };
                    let mut record =
                        ProjectRecord::new(req.name.clone(), ports, db_image, keys::now());
                    record.realtime_engine = engine;
                    crate::volumes::plan(&self.provisioner, &mut record).await?;
                    record.realtime_image = match engine {
                        RealtimeEngine::Native => self.settings.realtime_image.clone(),
                        RealtimeEngine::Supabase => self.settings.supabase_realtime_image.clone(),
                    };
                    self.registry.upsert(&lock, record.clone())?;
                    fresh = true;
                    record
                }
            }
        };
        if fresh {
            let name = record.name.clone();
            had_secrets = self.secret_call(move |s| secrets::exists(s, &name)).await?;
        } else {
            crate::volumes::prepare(
                &self.registry,
                &self.provisioner,
                &mut record,
                StartOptions::default(),
            )
            .await?;
        }
        if let Err(e) = self.provision(&record, progress).await {
            if fresh {
                self.undo_create(&record, kept_volume, had_secrets, progress)
                    .await;
            }
            return Err(e);
        }
        {
            let lock = self.registry.lock()?;
            let mut done = self.registry.get(&record.name)?;
            done.provisioned = true;
            self.registry.upsert(&lock, done)?;
        }
        crate::volumes::seen(&self.registry, &self.provisioner, &record.name).await?;
        self.show(&record.name).await
    }

    async fn provision(&self, record: &ProjectRecord, progress: ProgressSink<'_>) -> Result<()> {
        let name = record.name.clone();
        let secrets = self
            .secret_call(move |s| secrets::get_or_create(s, &name))
            .await?;
        let stack = self.render(record, &secrets)?;
        self.provisioner.apply(&record.id, &stack, progress).await?;
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
        if let Ok(lock) = self.registry.lock() {
            let _ = self.registry.remove(&lock, &record.name);
        }
    }

    /// Every registered project with its live status.
    pub async fn list(&self) -> Result<Vec<ProjectCard>> {
        let mut cards = Vec::new();
        for record in self.registry.load()? {
            cards.push(self.card(&record).await?);
        }
        Ok(cards)
    }

    /// One project's card.
    pub async fn show(&self, name: &str) -> Result<ProjectCard> {
        let record = self.registry.get(name)?;
        self.card(&record).await
    }

    /// Starts a project; recreates missing containers from the template (data volumes are
    /// reused) and waits until the database answers.
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
        let mut record = self.registry.get(name)?;
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
        ports::check_still_free(&record.ports, &running)?;
        let stack = self.render(&record, &secrets)?;
        // apply converges: existing containers are started, missing ones recreated.
        self.provisioner.apply(&record.id, &stack, progress).await?;
        self.wait_ready(&record, &secrets, progress).await?;
        crate::volumes::seen(&self.registry, &self.provisioner, name).await?;
        self.card(&record).await
    }

    /// Stops a project's containers; nothing is deleted.
    pub async fn stop(&self, name: &str, progress: ProgressSink<'_>) -> Result<ProjectCard> {
        let record = self.registry.get(name)?;
        self.provisioner.stop(&record.id, progress).await?;
        self.card(&record).await
    }

    /// Stop then start.
    pub async fn restart(&self, name: &str, progress: ProgressSink<'_>) -> Result<ProjectCard> {
        let mut record = self.registry.get(name)?;
        crate::volumes::prepare(
            &self.registry,
            &self.provisioner,
            &mut record,
            StartOptions::default(),
        )
        .await?;
        self.stop(name, progress).await?;
        self.start(name, progress).await
    }

    /// What [`Supalove::remove`] would delete and keep, for a confirmation prompt.
    pub async fn removal_plan(&self, name: &str, options: RemoveOptions) -> Result<RemoveReport> {
        validate_name(name)?;
        let registered = self.registry.get(name).is_ok();
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
        let lock = self.registry.lock()?;
        self.registry.remove(&lock, name)?;
        report.backup = backup.map(|f| f.display().to_string());
        Ok(report)
    }

    /// Log lines of one service or all, optionally following.
    pub fn logs(
        &self,
        name: &str,
        service: Option<&str>,
        options: LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine>>> {
        let record = self.registry.get(name)?;
        Ok(self.provisioner.logs(&record.id, service, options))
    }

    /// Runs SQL in the project's database as its owner; one result per statement.
    pub async fn sql(
        &self,
        name: &str,
        statement: &str,
    ) -> Result<Vec<crate::sql::StatementResult>> {
        let record = self.registry.get(name)?;
        let secrets = self.load_secrets(&record).await?;
        let client = crate::sql::connect(record.ports.db, &secrets.db_password).await?;
        crate::sql::run(&client, statement).await
    }

    /// The project's user tables with their columns, publication and RLS state.
    pub async fn tables(&self, name: &str) -> Result<Vec<crate::sql::TableInfo>> {
        let client = self.db_client(name).await?;
        crate::sql::tables(&client).await
    }

    /// Inserts one row from JSON values (missing columns get their defaults).
    pub async fn insert_row(
        &self,
        name: &str,
        schema: &str,
        table: &str,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<crate::sql::StatementResult> {
        let client = self.db_client(name).await?;
        crate::sql::insert_row(&client, schema, table, values).await
    }

    async fn db_client(&self, name: &str) -> Result<tokio_postgres::Client> {
        let record = self.registry.get(name)?;
        let secrets = self.load_secrets(&record).await?;
        crate::sql::connect(record.ports.db, &secrets.db_password).await
    }

    /// Checks what must hold for changes to reach subscribers; with `fix`, applies the safe
    /// fixes and checks again.
    pub async fn doctor(&self, name: &str, tables: &[String], fix: bool) -> Result<DoctorReport> {
        let record = self.registry.get(name)?;
        let secrets = self.load_secrets(&record).await?;
        let client = crate::sql::connect(record.ports.db, &secrets.db_password).await?;
        let mut checks = crate::doctor::check_database(&client, tables).await?;
        let mut fixed = Vec::new();
        // A fix can enable the next one (a recreated publication can take tables): repeat
        // while something was fixed, a bounded number of times.
        for _ in 0..3 {
            if !fix {
                break;
            }
            let ran = crate::doctor::apply_fixes(&client, &checks).await?;
            if ran.is_empty() {
                break;
            }
            fixed.extend(ran);
            checks = crate::doctor::check_database(&client, tables).await?;
        }
        checks.push(self.engine_check(&record, &secrets).await);
        checks.push(self.key_check(&record, &secrets));
        Ok(DoctorReport { checks, fixed })
    }

    async fn engine_check(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
    ) -> crate::doctor::Check {
        use crate::doctor::{Check, CheckStatus};
        let target = self.target_of(record);
        let keys = self.keys(record, secrets);
        let (path, bearer) = health_endpoint(record.realtime_engine, &keys.anon);
        let (status, message) = match crate::ready::http_status(
            record.ports.realtime,
            path,
            target.host.as_deref(),
            bearer,
        )
        .await
        {
            Ok(200) => (
                CheckStatus::Ok,
                format!(
                    "the {} Realtime engine answers on port {}",
                    record.realtime_engine.as_str(),
                    record.ports.realtime
                ),
            ),
            Ok(code) => (
                CheckStatus::Fail,
                format!("the Realtime engine answers {path} with HTTP {code}"),
            ),
            Err(e) => (
                CheckStatus::Fail,
                format!(
                    "the Realtime engine does not answer on port {}: {e}",
                    record.ports.realtime
                ),
            ),
        };
        Check {
            id: "engine".into(),
            fix: (status != CheckStatus::Ok).then(|| {
                format!(
                    "supalove restart {} (and see `supalove logs {} realtime`)",
                    record.name, record.name
                )
            }),
            status,
            message,
            auto_fix: false,
        }
    }

    fn key_check(&self, record: &ProjectRecord, secrets: &ProjectSecrets) -> crate::doctor::Check {
        use crate::doctor::{Check, CheckStatus};
        let exp = self.keys(record, secrets).expires_at;
        let now = keys::now();
        let days_left = exp.saturating_sub(now) / 86_400;
        let (status, message) = if exp <= now {
            (
                CheckStatus::Fail,
                "the anon and service_role keys have expired: clients are refused".to_string(),
            )
        } else if days_left < 30 {
            (
                CheckStatus::Warn,
                format!("the anon and service_role keys expire in {days_left} days"),
            )
        } else {
            (
                CheckStatus::Ok,
                format!("the anon and service_role keys are valid for {days_left} more days"),
            )
        };
        Check {
            id: "key_expiry".into(),
            status,
            message,
            fix: (status != CheckStatus::Ok).then(|| {
                "recreate the project's keys with a longer SUPALOVE_KEY_LIFETIME_DAYS".into()
            }),
            auto_fix: false,
        }
    }

    /// A JWT for `role` signed with the project's secret: the stable anon / service_role keys,
    /// or, with extra claims (or another role), a fresh token valid for the key lifetime.
    pub async fn token(
        &self,
        name: &str,
        role: &str,
        claims: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<String> {
        let record = self.registry.get(name)?;
        let secrets = self.load_secrets(&record).await?;
        let keys = self.keys(&record, &secrets);
        match (role, &claims) {
            ("anon", None) => return Ok(keys.anon),
            ("service_role", None) => return Ok(keys.service_role),
            _ => {}
        }
        let now = keys::now();
        let mut all = serde_json::Map::new();
        all.insert("iss".into(), keys::ISSUER.into());
        all.insert("ref".into(), record.id.clone().into());
        all.insert("role".into(), role.into());
        all.insert("iat".into(), now.into());
        all.insert("exp".into(), (now + self.settings.key_lifetime_secs).into());
        if let Some(extra) = claims {
            all.extend(extra);
        }
        if !all.get("exp").is_some_and(|e| e.is_u64()) {
            return Err(Error::InvalidJwt(
                "custom claims must keep a numeric exp".into(),
            ));
        }
        Ok(keys::sign(&secrets.jwt_secret, &all))
    }

    /// Where a client reaches the project's Realtime service, and the Host header it must send.
    pub async fn realtime_target(&self, name: &str) -> Result<RealtimeTarget> {
        let record = self.registry.get(name)?;
        Ok(self.target_of(&record))
    }

    /// CPU and memory of the project's running services.
    pub async fn stats(&self, name: &str) -> Result<Vec<crate::provisioner::ServiceStats>> {
        let record = self.registry.get(name)?;
        self.provisioner.stats(&record.id).await
    }

    /// The project's connection settings as dotenv pairs (holds secrets).
    pub async fn env(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let record = self.registry.get(name)?;
        let secrets = self.load_secrets(&record).await?;
        let card = self.card_with(&record, &secrets).await?;
        Ok(card::env_lines(&card, &secrets))
    }

    /// Writes `docker-compose.yml`, a 0600 `.env` and the init files into `dir`.
    pub async fn export(&self, name: &str, dir: &Path) -> Result<ExportReport> {
        let record = self.registry.get(name)?;
        let secrets = self.load_secrets(&record).await?;
        let stack = self.render(&record, &secrets)?;
        let env = self.stack_env(&record, &secrets);
        export::export(dir, &stack, &env)
    }

    async fn wait_ready(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        progress(Progress::new(
            "db",
            Stage::WaitingReady,
            "waiting for SELECT 1",
        ));
        let id = record.id.clone();
        let alive = || async {
            let status = self
                .provisioner
                .status(&id)
                .await
                .map_err(|e| e.to_string())?;
            match status.iter().find(|s| s.service == "db") {
                Some(s) if matches!(s.state, ServiceState::Stopped | ServiceState::Missing) => {
                    Err(format!(
                        "the container stopped (exit code {})",
                        s.exit_code.unwrap_or(-1)
                    ))
                }
                _ => Ok(()),
            }
        };
        match crate::ready::wait_db(
            &record.name,
            record.ports.db,
            &secrets.db_password,
            READY_TIMEOUT,
            alive,
        )
        .await
        {
            Ok(took) => {
                progress(Progress::new(
                    "db",
                    Stage::Ready,
                    format!("SELECT 1 answered ({} ms)", took.as_millis()),
                ));
            }
            Err(Error::NotReady {
                project,
                service,
                detail,
                ..
            }) => {
                progress(Progress::new("db", Stage::Failed, detail.clone()));
                let last_logs = self.last_logs(&record.id, &service, 20).await;
                return Err(Error::NotReady {
                    project,
                    service,
                    detail,
                    last_logs,
                });
            }
            Err(e) => return Err(e),
        }
        self.wait_realtime(record, secrets, progress).await
    }

    /// Waits until the Realtime engine answers its health endpoint and a websocket client
    /// joins and receives its own broadcast.
    async fn wait_realtime(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        progress(Progress::new(
            "realtime",
            Stage::WaitingReady,
            "waiting for health and a websocket join",
        ));
        let started = std::time::Instant::now();
        let target = self.target_of(record);
        let keys = self.keys(record, secrets);
        let (path, bearer) = health_endpoint(record.realtime_engine, &keys.anon);
        let mut last;
        let mut tries: u32 = 0;
        loop {
            match crate::ready::http_status(
                record.ports.realtime,
                path,
                target.host.as_deref(),
                bearer,
            )
            .await
            {
                Ok(200) => match crate::ready::probe_realtime_join(
                    &target.url,
                    target.host.as_deref(),
                    &keys.anon,
                )
                .await
                {
                    Ok(()) => {
                        progress(Progress::new(
                            "realtime",
                            Stage::Ready,
                            format!(
                                "healthy, websocket join subscribed ({} ms)",
                                started.elapsed().as_millis()
                            ),
                        ));
                        return Ok(());
                    }
                    Err(e) => last = format!("websocket join: {e}"),
                },
                Ok(code) => last = format!("{path} answered HTTP {code}"),
                Err(e) => last = e,
            }
            tries += 1;
            let mut failure = None;
            if tries.is_multiple_of(10) {
                let status = self.provisioner.status(&record.id).await?;
                if let Some(s) = status.iter().find(|s| s.service == "realtime") {
                    if matches!(s.state, ServiceState::Stopped | ServiceState::Missing) {
                        failure = Some(format!(
                            "the container stopped (exit code {})",
                            s.exit_code.unwrap_or(-1)
                        ));
                    }
                }
            }
            if failure.is_none() && started.elapsed() > READY_TIMEOUT {
                failure = Some(format!(
                    "not ready after {}s: {last}",
                    READY_TIMEOUT.as_secs()
                ));
            }
            if let Some(detail) = failure {
                progress(Progress::new("realtime", Stage::Failed, detail.clone()));
                return Err(Error::NotReady {
                    project: record.name.clone(),
                    service: "realtime".into(),
                    detail,
                    last_logs: self.last_logs(&record.id, "realtime", 20).await,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn target_of(&self, record: &ProjectRecord) -> RealtimeTarget {
        RealtimeTarget {
            url: format!("ws://127.0.0.1:{}/socket", record.ports.realtime),
            host: (record.realtime_engine == RealtimeEngine::Supabase)
                .then(|| "realtime-dev".to_string()),
        }
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

    fn render(&self, record: &ProjectRecord, secrets: &ProjectSecrets) -> Result<RenderedStack> {
        let ctx = TemplateContext {
            project: record.name.clone(),
            id: record.id.clone(),
            template_version: record.template_version,
            db_image: record.db_image.clone(),
            realtime_engine: record.realtime_engine.as_str().into(),
            realtime_image: if record.realtime_image.is_empty() {
                self.settings.realtime_image.clone()
            } else {
                record.realtime_image.clone()
            },
        };
        let mut stack = template::render(&ctx, &self.stack_env(record, secrets))?;
        crate::volumes::label(&mut stack, record);
        Ok(stack)
    }

    /// The variables the template's `${VARS}` resolve from (and the exported `.env`).
    fn stack_env(
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

    fn keys(&self, record: &ProjectRecord, secrets: &ProjectSecrets) -> keys::ApiKeys {
        keys::api_keys(
            &secrets.jwt_secret,
            &record.id,
            record.created_at,
            self.settings.key_lifetime_secs,
        )
    }

    async fn card(&self, record: &ProjectRecord) -> Result<ProjectCard> {
        let secrets = self.load_secrets(record).await?;
        self.card_with(record, &secrets).await
    }

    async fn card_with(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
    ) -> Result<ProjectCard> {
        let mut services = self.provisioner.status(&record.id).await?;
        // Docker's healthcheck lags our own probe by up to an interval: a database that
        // answers SELECT 1 is healthy, whatever the last healthcheck said.
        for s in services.iter_mut() {
            if s.state != ServiceState::Starting {
                continue;
            }
            let answers = match s.service.as_str() {
                "db" => crate::ready::probe_db(record.ports.db, &secrets.db_password)
                    .await
                    .is_ok(),
                "realtime" if record.realtime_engine == RealtimeEngine::Native => {
                    crate::ready::http_status(record.ports.realtime, "/health", None, None).await
                        == Ok(200)
                }
                _ => false,
            };
            if answers {
                s.state = ServiceState::Healthy;
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
        Ok(ProjectCard {
            name: record.name.clone(),
            id: record.id.clone(),
            status,
            services,
            ports: record.ports,
            db_url: card::db_url(&record.ports, secrets),
            realtime_url: has_realtime
                .then(|| format!("ws://127.0.0.1:{}/socket", record.ports.realtime)),
            keys: self.keys(record, secrets),
            realtime_engine: record.realtime_engine,
            db_image: record.db_image.clone(),
            created_at: record.created_at,
            secret_store: self.secrets.describe(),
        })
    }

    async fn load_secrets(&self, record: &ProjectRecord) -> Result<ProjectSecrets> {
        let name = record.name.clone();
        self.secret_call(move |s| secrets::load(s, &name)).await
    }

    /// Runs a (possibly blocking, D-Bus) secret-store call off the async runtime.
    async fn secret_call<T, F>(&self, f: F) -> Result<T>
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

/// Checks a would-be project name without touching anything: DNS-label rules, then uniqueness.
pub fn check_new_name(settings: &Settings, name: &str) -> Result<()> {
    validate_name(name)?;
    let registry = Registry::new(settings.registry_path());
    if registry.load()?.iter().any(|p| p.name == name) {
        return Err(Error::NameTaken(name.to_string()));
    }
    Ok(())
}

/// Where an engine reports its health, and the bearer token it wants there.
fn health_endpoint(engine: RealtimeEngine, anon_key: &str) -> (&'static str, Option<&str>) {
    match engine {
        RealtimeEngine::Native => ("/health", None),
        // The official server's per-tenant health wants a JWT signed with the project secret.
        RealtimeEngine::Supabase => ("/api/tenants/realtime-dev/health", Some(anon_key)),
    }
}

/// True when a status means the project serves requests.
pub fn is_up(status: ProjectStatus) -> bool {
    matches!(status, ProjectStatus::Healthy | ProjectStatus::Starting)
}
