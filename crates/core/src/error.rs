//! The errors supalove reports to people: each has a message and, where one exists, a fix.

use std::path::PathBuf;

/// Every failure the core can report, with enough context to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid project name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("a project named {0:?} already exists")]
    NameTaken(String),
    #[error("no project named {0:?}")]
    NotFound(String),
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
}

impl Error {
    /// What the person can do about it, when we know.
    pub fn hint(&self) -> Option<String> {
        let h = match self {
            Error::InvalidName { .. } => {
                "use 1-40 characters: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. `shop`, `blog-2`)".into()
            }
            Error::NameTaken(n) => format!("pick another name, or see it with `supalove show {n}`"),
            Error::NotFound(_) => "see your projects with `supalove list`".into(),
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
            _ => return None,
        };
        Some(h)
    }

    /// A stable name for the kind of failure, for UIs that act on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidName { .. } => "invalid_name",
            Error::NameTaken(_) => "name_taken",
            Error::NotFound(_) => "not_found",
            Error::PortInUse { .. } => "port_in_use",
            Error::NoFreePorts { .. } => "no_free_ports",
            Error::InvalidSetting { .. } => "invalid_setting",
            Error::KeyringUnavailable(_) => "keyring_unavailable",
            Error::SecretMissing { .. } => "secret_missing",
            Error::OrphanVolume { .. } => "orphan_volume",
            Error::PortOutOfRange { .. } => "port_out_of_range",
            Error::VolumeMissing { .. } => "volume_missing",
            Error::VolumeForeign { .. } => "volume_foreign",
            Error::BackupFailed { .. } => "backup_failed",
            Error::RestoreFailed { .. } => "restore_failed",
            Error::DockerUnavailable { .. } => "docker_unavailable",
            Error::ImageMissing { .. } => "image_missing",
            Error::Docker(_) => "docker",
            Error::NotReady { .. } => "not_ready",
            Error::Template(_) => "template",
            Error::InvalidJwt(_) => "invalid_jwt",
            Error::Registry { .. } => "registry",
            Error::Io { .. } => "io",
            Error::Database(_) => "database",
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
