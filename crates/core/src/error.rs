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

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
