//! The errors supalove reports to people: each has a message and, where one exists, a fix.

use std::path::PathBuf;

/// Every failure the core can report, with enough context to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid project name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("a project named {0:?} already exists")]
    NameTaken(String),
    /// Docker already has containers named for the project, although this supalove home has
    /// no project of that name: another home's project, or containers made by hand.
    #[error("the name {name:?} is held on Docker by {} not made by this supalove: {}",
        if containers.len() == 1 { "a container" } else { "containers" }, containers.join(", "))]
    NameHeld {
        name: String,
        containers: Vec<String>,
    },
    #[error("no project named {0:?}")]
    NotFound(String),
    #[error("project {project:?} has no service {service:?} (its services: {})", known.join(", "))]
    UnknownService {
        project: String,
        service: String,
        known: Vec<String>,
    },
    #[error("port {port} ({what}) is already in use by {owner}")]
    PortInUse {
        port: u16,
        what: String,
        owner: String,
    },
    #[error("no free port set between offsets {first} and {last}")]
    NoFreePorts { first: u16, last: u16 },
    #[error("invalid setting {name}: {reason}")]
    InvalidSetting { name: String, reason: String },
    #[error("the OS keyring is unavailable: {0}")]
    KeyringUnavailable(String),
    #[error(
        "project {project:?}'s secrets are in {store}, not in the OS keyring this command uses"
    )]
    SecretsElsewhere {
        project: String,
        store: String,
        env: &'static str,
    },
    #[error("the {what} of project {project:?} is missing from the secret store")]
    SecretMissing { project: String, what: &'static str },
    #[error("a data volume {volume} kept from an earlier project {project:?} exists, but its secrets are gone")]
    OrphanVolume { project: String, volume: String },
    #[error("port {port} ({what}) cannot be used: {reason}; ports must be in 1024-65535")]
    PortOutOfRange {
        port: u16,
        what: String,
        reason: String,
    },
    #[error("the data volume {volume} of project {project:?} is gone{}: starting would put an empty database in place of the project's data",
        seen_note(last_seen, created_at))]
    VolumeMissing {
        project: String,
        volume: String,
        /// When supalove last saw it serve the project, if known.
        last_seen: Option<String>,
        created_at: Option<String>,
    },
    #[error("the data volume {volume} does not hold project {project:?}'s database: {detail}")]
    VolumeForeign {
        project: String,
        volume: String,
        detail: String,
    },
    #[error("could not back up project {project:?}: {detail}")]
    BackupFailed { project: String, detail: String },
    #[error("could not restore {file} into project {project:?}: {detail}")]
    RestoreFailed {
        project: String,
        file: PathBuf,
        detail: String,
    },
    #[error("Docker is not reachable (tried {}): {detail}", tried.join(", "))]
    DockerUnavailable { tried: Vec<String>, detail: String },
    #[error("image {image} is not available locally and could not be pulled: {detail}")]
    ImageMissing { image: String, detail: String },
    #[error("Docker refused: {0}")]
    Docker(String),
    #[error("service {service} of project {project:?} did not become ready: {detail}")]
    NotReady {
        project: String,
        service: String,
        detail: String,
        last_logs: Vec<String>,
    },
    #[error("template error: {0}")]
    Template(String),
    #[error("invalid JWT: {0}")]
    InvalidJwt(String),
    #[error("the project registry at {path} is unreadable: {detail}")]
    Registry { path: PathBuf, detail: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(String),
    #[error("{detail}")]
    Query {
        detail: String,
        /// 1-based character position of the error in the statement, when Postgres gave one.
        position: Option<u32>,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("cannot connect to the project's database on 127.0.0.1:{port} (is the project running?): {source}")]
    DatabaseUnreachable {
        port: u16,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("project {0:?} is being created by another request right now")]
    Busy(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("Realtime: {0}")]
    Realtime(String),
    /// A remote target (a Coolify instance) refused or could not be reached; nothing was
    /// changed on our side. `fix` says what to do, in the target's own terms.
    #[error("{target}: {detail}")]
    Target {
        /// The target and call, for the message (`Coolify at https://c.example.com`).
        target: String,
        /// The HTTP status it answered, when it answered.
        status: Option<u16>,
        detail: String,
        fix: String,
        /// Seconds the target asked us to wait (HTTP 429 `Retry-After`).
        retry_after: Option<u64>,
    },
    /// An operation only some targets offer (a Docker-only probe on a Coolify project).
    #[error("{what} is not supported on {target}")]
    Unsupported { what: String, target: String },
}

/// The shell an error is shown in: hints name what that shell offers (flags in the CLI,
/// fields and buttons in the app, request fields over HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shell {
    #[default]
    Cli,
    App,
    Api,
}

/// A stable name for each kind of failure; the UI receives it as a TypeScript union and the
/// HTTP API as problem+json `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ErrorKind {
    InvalidName,
    NameTaken,
    NotFound,
    PortInUse,
    NoFreePorts,
    InvalidSetting,
    KeyringUnavailable,
    SecretMissing,
    OrphanVolume,
    PortOutOfRange,
    VolumeMissing,
    VolumeForeign,
    BackupFailed,
    RestoreFailed,
    DockerUnavailable,
    ImageMissing,
    Docker,
    NotReady,
    Template,
    InvalidJwt,
    Registry,
    Io,
    Database,
    Busy,
    InvalidRequest,
    /// A Realtime client failure (the tester, `listen`).
    Realtime,
    /// A remote target (Coolify) refused the call or could not be reached.
    Target,
    /// The project's target does not offer that operation.
    Unsupported,
    /// Something the shell itself failed at.
    Internal,
}

impl ErrorKind {
    /// The snake_case name (`docker_unavailable`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidName => "invalid_name",
            ErrorKind::NameTaken => "name_taken",
            ErrorKind::NotFound => "not_found",
            ErrorKind::PortInUse => "port_in_use",
            ErrorKind::NoFreePorts => "no_free_ports",
            ErrorKind::InvalidSetting => "invalid_setting",
            ErrorKind::KeyringUnavailable => "keyring_unavailable",
            ErrorKind::SecretMissing => "secret_missing",
            ErrorKind::OrphanVolume => "orphan_volume",
            ErrorKind::PortOutOfRange => "port_out_of_range",
            ErrorKind::VolumeMissing => "volume_missing",
            ErrorKind::VolumeForeign => "volume_foreign",
            ErrorKind::BackupFailed => "backup_failed",
            ErrorKind::RestoreFailed => "restore_failed",
            ErrorKind::DockerUnavailable => "docker_unavailable",
            ErrorKind::ImageMissing => "image_missing",
            ErrorKind::Docker => "docker",
            ErrorKind::NotReady => "not_ready",
            ErrorKind::Template => "template",
            ErrorKind::InvalidJwt => "invalid_jwt",
            ErrorKind::Registry => "registry",
            ErrorKind::Io => "io",
            ErrorKind::Database => "database",
            ErrorKind::Busy => "busy",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Realtime => "realtime",
            ErrorKind::Target => "target",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// What the person can do about it in the terminal, when we know.
    pub fn hint(&self) -> Option<String> {
        self.hint_for(Shell::Cli)
    }

    /// What the person can do about it, in the words of `shell`.
    pub fn hint_for(&self, shell: Shell) -> Option<String> {
        // A target's fix names the target's own dashboard and settings, the same in every shell.
        if let Error::Target { fix, .. } = self {
            return Some(fix.clone());
        }
        if shell != Shell::Cli {
            if let Some(h) = self.shell_hint(shell) {
                return Some(h);
            }
        }
        let h = match self {
            Error::InvalidName { .. } => {
                "use 1-40 characters: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. `shop`, `blog-2`)".into()
            }
            Error::NameTaken(n) => format!("pick another name, or see it with `supalove show {n}`"),
            Error::NameHeld { name, .. } => format!(
                "they belong to another supalove home (SUPALOVE_HOME) or were made by hand, and creating {name:?} would replace them: look with `docker ps -a --filter name=project_{name}_`, remove them (`docker rm -f ...`) once they hold nothing you need, or pick another name"
            ),
            Error::NotFound(_) => "see your projects with `supalove list`".into(),
            Error::UnknownService { known, .. } => {
                format!("name one of the project's services: {}", known.join(", "))
            }
            Error::PortInUse { .. } => {
                "choose another port (--db-port / --realtime-port), stop the program holding it, or leave ports unset so supalove picks free ones".into()
            }
            Error::NoFreePorts { .. } => "change the port bases (SUPALOVE_DB_PORT_BASE, SUPALOVE_REALTIME_PORT_BASE) or remove unused projects".into(),
            Error::InvalidSetting { .. } => "fix the setting (see `supalove --help` and the README's settings table)".into(),
            Error::KeyringUnavailable(_) => {
                "start and unlock a Secret Service (gnome-keyring-daemon, KWallet or KeePassXC) in your session, or opt in to a 0600 file store with SUPALOVE_SECRET_STORE=file".into()
            }
            Error::SecretMissing { project, .. } => format!(
                "the keyring entry under service `dev.supalove` was deleted; remove the project with `supalove rm {project} --volumes` and create it again"
            ),
            Error::SecretsElsewhere { env, .. } => format!(
                "the project was created with the file store: run supalove with {env} (e.g. `{env} supalove show <project>`), or export it in your shell profile"
            ),
            Error::OrphanVolume { project, volume } => format!(
                "delete the old data with `supalove rm {project} --volumes` (removes volume {volume}), or choose another name"
            ),
            Error::PortOutOfRange { .. } => {
                "choose a port in 1024-65535, or leave --db-port / --realtime-port unset so supalove picks free ones (ports below 1024 need root and --allow-privileged-ports)".into()
            }
            Error::VolumeMissing { project, .. } => format!(
                "if the data is somewhere else, bring the volume back (or restore a backup afterwards with `supalove restore {project} <file>`); to begin again with an empty database, run `supalove start {project} --recreate-empty`"
            ),
            Error::VolumeForeign { project, volume, .. } => format!(
                "nothing was started. Keep that data where it belongs: back it up or move it away (`docker volume rm {volume}` once you no longer need it), then run `supalove start {project} --recreate-empty` for an empty database"
            ),
            Error::BackupFailed { project, .. } => format!(
                "start the project (`supalove start {project}`) so its database can be dumped, or pass --no-backup to delete without one"
            ),
            Error::RestoreFailed { project, .. } => format!(
                "the restore ran in one transaction, so the database is as it was; check the file is a dump from `supalove backup`, and see `supalove logs {project} db`"
            ),
            Error::DockerUnavailable { .. } => {
                "start Docker (`sudo systemctl start docker`, or open Docker Desktop / OrbStack, or `colima start`), or set DOCKER_HOST to your engine's socket".into()
            }
            Error::ImageMissing { .. } => {
                "build the local images with `scripts/build-images.sh` (no registry needed), or check your network and registry login".into()
            }
            Error::NotReady { project, service, .. } => {
                format!("see the full logs with `supalove logs {project} {service}`")
            }
            Error::Registry { path, .. } => format!("fix or move away {}", path.display()),
            Error::InvalidJwt(_) => "mint a fresh key with `supalove show <project>`".into(),
            Error::Realtime(_) => "check the project is running (`supalove show <project>`) and the token's role exists; `supalove doctor <project>` explains what is missing".into(),
            Error::Busy(n) => format!("wait for the other creation of {n} to finish, then `supalove show {n}`"),
            Error::DatabaseUnreachable { .. } => "start the project (`supalove start <project>`) and check `supalove show <project>`".into(),
            Error::Unsupported { .. } => "do it in the target's own dashboard, or run the project on the local Docker target".into(),
            _ => return None,
        };
        Some(h)
    }

    /// Hints for the app and the HTTP API where the CLI's wording (flags, commands) does not fit.
    fn shell_hint(&self, shell: Shell) -> Option<String> {
        let app = shell == Shell::App;
        let h = match self {
            Error::NameHeld { .. } => {
                if app {
                    "they belong to another supalove home or were made by hand, and creating this project would replace them: remove them in Docker once they hold nothing you need, or pick another name".into()
                } else {
                    "they belong to another supalove home or were made by hand, and creating this project would replace them: remove them on the Docker host once they hold nothing you need, or send another name".into()
                }
            }
            Error::NameTaken(_) => {
                if app {
                    "pick another name, or open the existing project's card".into()
                } else {
                    "pick another name, or GET /v1/projects/{name} to see the existing one".into()
                }
            }
            Error::NotFound(_) => {
                if app {
                    "the project is not in the list any more: refresh the Projects view".into()
                } else {
                    "list the projects with GET /v1/projects".into()
                }
            }
            Error::PortInUse { .. } => {
                if app {
                    "choose another port in the form, stop the program holding it, or leave the port fields empty so supalove picks free ones".into()
                } else {
                    "send other `db_port` / `realtime_port` values, stop the program holding the port, or leave them out so supalove picks free ones".into()
                }
            }
            Error::VolumeMissing { project, .. } => {
                if app {
                    "nothing was started. If the data is somewhere else, bring the volume back; to begin again with an empty database choose \"Start with an empty database\" (a backup can be restored into it afterwards)".into()
                } else {
                    format!("nothing was started. Bring the volume back, or POST /v1/projects/{project}/start?recreate_empty=true to begin again with an empty database")
                }
            }
            Error::VolumeForeign {
                volume, project, ..
            } => {
                if app {
                    format!("nothing was started. Keep that data where it belongs (back it up or move {volume} away), then choose \"Start with an empty database\"")
                } else {
                    format!("nothing was started. Move {volume} away (it holds another database), then POST /v1/projects/{project}/start?recreate_empty=true")
                }
            }
            Error::BackupFailed { .. } => {
                if app {
                    "start the project so its database can be dumped first, or untick \"Back up the database first\" in the delete dialog to delete without a backup".into()
                } else {
                    "start the project so its database can be dumped first, or send `skip_backup=true` to delete without a backup".into()
                }
            }
            Error::NoFreePorts { .. } if app => {
                "change the port bases in Settings, or delete unused projects".into()
            }
            Error::InvalidSetting { .. } => {
                if app {
                    "fix the value in Settings".into()
                } else {
                    "fix the request field or the server's setting (see the README's settings table)".into()
                }
            }
            Error::SecretMissing { .. } => {
                if app {
                    "the keyring entry under service `dev.supalove` was deleted; delete the project with its data and create it again".into()
                } else {
                    "the keyring entry under service `dev.supalove` was deleted; DELETE the project with ?volumes=true and create it again".into()
                }
            }
            Error::OrphanVolume { volume, .. } => {
                if app {
                    format!("delete the old project with its data (removes volume {volume}), or choose another name")
                } else {
                    format!("DELETE /v1/projects/{{name}}?volumes=true removes volume {volume}; or choose another name")
                }
            }
            Error::DockerUnavailable { .. } => {
                if app {
                    "start Docker (`sudo systemctl start docker`, or open Docker Desktop / OrbStack, or `colima start`), or set the Docker host in Settings".into()
                } else {
                    "start Docker (`sudo systemctl start docker`, Docker Desktop, OrbStack or `colima start`) on the machine running `supalove serve`".into()
                }
            }
            Error::PortOutOfRange { .. } => {
                if app {
                    "choose a port in 1024-65535 in the form, or leave the port fields empty so supalove picks free ones".into()
                } else {
                    "send `db_port` / `realtime_port` values in 1024-65535, or leave them out so supalove picks free ones".into()
                }
            }
            Error::NotReady { .. } => {
                if app {
                    "open the project's Logs to see why".into()
                } else {
                    "read the service's logs with GET /v1/projects/{name}/logs?service=<service>"
                        .into()
                }
            }
            Error::InvalidJwt(_) => {
                if app {
                    "use the keys shown on the project's card".into()
                } else {
                    "use the keys GET /v1/projects/{name} returns".into()
                }
            }
            Error::Realtime(_) => {
                if app {
                    "check the project is running and the role exists; \"Why nothing?\" runs the doctor".into()
                } else {
                    "check the project is running and the role exists; GET /v1/projects/{name}/doctor explains what is missing".into()
                }
            }
            Error::Busy(_) => {
                if app {
                    "wait for the other creation to finish".into()
                } else {
                    "wait for the other creation to finish, then GET /v1/projects/{name}".into()
                }
            }
            Error::DatabaseUnreachable { .. } => {
                if app {
                    "start the project from its card".into()
                } else {
                    "start the project with POST /v1/projects/{name}/start".into()
                }
            }
            _ => return None,
        };
        Some(h)
    }

    /// The stable kind of failure, for UIs and API clients that act on it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidName { .. } => ErrorKind::InvalidName,
            Error::NameTaken(_) | Error::NameHeld { .. } => ErrorKind::NameTaken,
            Error::NotFound(_) | Error::UnknownService { .. } => ErrorKind::NotFound,
            Error::PortInUse { .. } => ErrorKind::PortInUse,
            Error::NoFreePorts { .. } => ErrorKind::NoFreePorts,
            Error::InvalidSetting { .. } => ErrorKind::InvalidSetting,
            Error::KeyringUnavailable(_) => ErrorKind::KeyringUnavailable,
            Error::SecretMissing { .. } | Error::SecretsElsewhere { .. } => {
                ErrorKind::SecretMissing
            }
            Error::OrphanVolume { .. } => ErrorKind::OrphanVolume,
            Error::PortOutOfRange { .. } => ErrorKind::PortOutOfRange,
            Error::VolumeMissing { .. } => ErrorKind::VolumeMissing,
            Error::VolumeForeign { .. } => ErrorKind::VolumeForeign,
            Error::BackupFailed { .. } => ErrorKind::BackupFailed,
            Error::RestoreFailed { .. } => ErrorKind::RestoreFailed,
            Error::DockerUnavailable { .. } => ErrorKind::DockerUnavailable,
            Error::ImageMissing { .. } => ErrorKind::ImageMissing,
            Error::Docker(_) => ErrorKind::Docker,
            Error::NotReady { .. } => ErrorKind::NotReady,
            Error::Template(_) => ErrorKind::Template,
            Error::InvalidJwt(_) => ErrorKind::InvalidJwt,
            Error::Registry { .. } => ErrorKind::Registry,
            Error::Io { .. } => ErrorKind::Io,
            Error::Database(_) | Error::Query { .. } | Error::DatabaseUnreachable { .. } => {
                ErrorKind::Database
            }
            Error::Busy(_) => ErrorKind::Busy,
            Error::InvalidRequest(_) => ErrorKind::InvalidRequest,
            Error::Realtime(_) => ErrorKind::Realtime,
            Error::Target { .. } => ErrorKind::Target,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// ` (last seen by supalove <t>; created <t>)`, with what is known.
fn seen_note(last_seen: &Option<String>, created_at: &Option<String>) -> String {
    let parts: Vec<String> = [
        last_seen
            .as_ref()
            .map(|t| format!("last seen by supalove {t}")),
        created_at.as_ref().map(|t| format!("created {t}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        " (supalove has no record of when it was last seen)".into()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The app has a form, not flags: a port failure's hint speaks of its fields.
    #[test]
    fn port_failures_in_the_app_speak_of_the_form_not_flags() {
        let taken = Error::PortInUse {
            port: 54321,
            what: "db".into(),
            owner: "postgres (pid 42)".into(),
        };
        let range = Error::PortOutOfRange {
            port: 80,
            what: "db".into(),
            reason: "below 1024".into(),
        };
        for e in [taken, range] {
            let app = e.hint_for(Shell::App).unwrap();
            assert!(!app.contains("--"), "a CLI flag in the app: {app}");
            assert!(
                app.contains("in the form") || app.contains("port fields"),
                "{app}"
            );
            assert!(e.hint_for(Shell::Cli).unwrap().contains("--db-port"));
        }
    }
}
