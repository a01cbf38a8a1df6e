//! Settings that shape new projects, read from the environment with defaults.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where supalove keeps its registry and what it gives new projects.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The app-data dir: the registry (and the opt-in file secret store) live here.
    pub home: PathBuf,
    /// Host port of the first project's database is `db_port_base + 1`.
    pub db_port_base: u16,
    /// Host port of the first project's Realtime service is `realtime_port_base + 1`.
    pub realtime_port_base: u16,
    /// Highest offset tried when looking for a free port set.
    pub max_offset: u16,
    /// Lifetime of the anon and service_role keys, in seconds.
    pub key_lifetime_secs: u64,
    /// Postgres image to use when the locally built one is absent.
    pub postgres_image: String,
    /// Postgres image built by `scripts/build-images.sh`; preferred when present.
    pub local_postgres_image: String,
    /// Which secret store to use.
    pub secret_store: SecretStoreKind,
}

/// The secret stores supalove can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStoreKind {
    /// The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
    Keyring,
    /// Explicit opt-in: 0600 files under `<home>/secrets`.
    File,
}

/// Default lifetime of derived keys: one year.
pub const DEFAULT_KEY_LIFETIME_DAYS: u64 = 365;

impl Settings {
    /// Reads `SUPALOVE_*` variables, falling back to defaults.
    pub fn from_env() -> Result<Self> {
        let home = match std::env::var_os("SUPALOVE_HOME") {
            Some(h) if !h.is_empty() => PathBuf::from(h),
            _ => dirs::data_dir()
                .map(|d| d.join("supalove"))
                .ok_or_else(|| Error::InvalidSetting {
                    name: "SUPALOVE_HOME".into(),
                    reason: "no app-data directory is known for this OS user; set SUPALOVE_HOME"
                        .into(),
                })?,
        };
        let days: u64 = env_num("SUPALOVE_KEY_LIFETIME_DAYS", DEFAULT_KEY_LIFETIME_DAYS)?;
        if days == 0 || days > 3650 {
            return Err(Error::InvalidSetting {
                name: "SUPALOVE_KEY_LIFETIME_DAYS".into(),
                reason: format!("{days} is outside 1..=3650"),
            });
        }
        let secret_store = match std::env::var("SUPALOVE_SECRET_STORE").as_deref() {
            Err(_) | Ok("") | Ok("keyring") => SecretStoreKind::Keyring,
            Ok("file") => SecretStoreKind::File,
            Ok(other) => {
                return Err(Error::InvalidSetting {
                    name: "SUPALOVE_SECRET_STORE".into(),
                    reason: format!("{other:?} is neither `keyring` nor `file`"),
                })
            }
        };
        let s = Settings {
            home,
            db_port_base: env_num("SUPALOVE_DB_PORT_BASE", 54400)?,
            realtime_port_base: env_num("SUPALOVE_REALTIME_PORT_BASE", 8000)?,
            max_offset: env_num("SUPALOVE_MAX_OFFSET", 999)?,
            key_lifetime_secs: days * 86_400,
            postgres_image: env_str("SUPALOVE_POSTGRES_IMAGE", "postgres:15"),
            local_postgres_image: env_str("SUPALOVE_LOCAL_POSTGRES_IMAGE", "supalove/postgres:15"),
            secret_store,
        };
        s.check_ranges()?;
        Ok(s)
    }

    fn check_ranges(&self) -> Result<()> {
        for (name, base) in [
            ("SUPALOVE_DB_PORT_BASE", self.db_port_base),
            ("SUPALOVE_REALTIME_PORT_BASE", self.realtime_port_base),
        ] {
            if base < 1024 || u32::from(base) + u32::from(self.max_offset) > 65535 {
                return Err(Error::InvalidSetting {
                    name: name.into(),
                    reason: format!(
                        "{base} + offsets up to {} leaves 1024..=65535",
                        self.max_offset
                    ),
                });
            }
        }
        Ok(())
    }

    /// Path of the project registry file.
    pub fn registry_path(&self) -> PathBuf {
        self.home.join("projects.json")
    }
}

fn env_str(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.trim().parse().map_err(|_| Error::InvalidSetting {
            name: name.into(),
            reason: format!("{v:?} is not a valid number here"),
        }),
        _ => Ok(default),
    }
}
