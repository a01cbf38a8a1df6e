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
    /// Image of supalove's native Realtime engine (built by `scripts/build-images.sh`).
    pub realtime_image: String,
    /// Image of the official Realtime server, for projects that choose it; its tag is one of
    /// [`crate::template::SUPABASE_REALTIME_TAGS`].
    pub supabase_realtime_image: String,
    /// The gateway's image (nginx) where the locally built one is absent (pulled if need be).
    pub gateway_image: String,
    /// The gateway image built by `scripts/build-images.sh` (Debian's nginx-light); preferred
    /// when present.
    pub local_gateway_image: String,
    /// Test-only (`SUPALOVE_NATIVE_GATEWAY=1`): new native-engine projects get the gateway in
    /// front of the engine too, so the gateway's behaviour is tested with an engine that runs
    /// here. Users never need it: the native engine serves every URL itself.
    pub native_gateway_for_tests: bool,
    /// Engine of new projects unless asked otherwise.
    pub default_engine: crate::registry::RealtimeEngine,
    /// Docker endpoint chosen in the app's settings (`DOCKER_HOST` still wins).
    pub docker_host: Option<String>,
}

/// The settings a person edits in the app (stored in `<home>/settings.json`, no secrets).
/// Environment variables override them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AppSettings {
    pub docker_host: Option<String>,
    pub db_port_base: u16,
    pub realtime_port_base: u16,
    pub key_lifetime_days: u32,
    #[serde(default)]
    pub default_engine: crate::registry::RealtimeEngine,
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
    /// Reads `<home>/settings.json` (if any), then `SUPALOVE_*` variables on top.
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
        let file = read_app_settings(&home)?;
        let days: u64 = env_num(
            "SUPALOVE_KEY_LIFETIME_DAYS",
            u64::from(file.key_lifetime_days),
        )?;
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
            db_port_base: env_num("SUPALOVE_DB_PORT_BASE", file.db_port_base)?,
            realtime_port_base: env_num("SUPALOVE_REALTIME_PORT_BASE", file.realtime_port_base)?,
            max_offset: env_num("SUPALOVE_MAX_OFFSET", 999)?,
            key_lifetime_secs: days * 86_400,
            postgres_image: env_str("SUPALOVE_POSTGRES_IMAGE", "postgres:15"),
            local_postgres_image: env_str("SUPALOVE_LOCAL_POSTGRES_IMAGE", "supalove/postgres:15"),
            secret_store,
            realtime_image: env_str(
                "SUPALOVE_REALTIME_IMAGE",
                concat!("supalove/realtime:", env!("CARGO_PKG_VERSION")),
            ),
            supabase_realtime_image: supabase_realtime_image()?,
            gateway_image: env_str("SUPALOVE_GATEWAY_IMAGE", DEFAULT_GATEWAY_IMAGE),
            local_gateway_image: env_str("SUPALOVE_LOCAL_GATEWAY_IMAGE", "supalove/gateway:1"),
            native_gateway_for_tests: std::env::var("SUPALOVE_NATIVE_GATEWAY").as_deref()
                == Ok("1"),
            default_engine: match std::env::var("SUPALOVE_ENGINE") {
                Ok(e) if !e.is_empty() => crate::registry::RealtimeEngine::parse(&e)?,
                _ => file.default_engine,
            },
            docker_host: file.docker_host,
        };
        s.check_ranges()?;
        Ok(s)
    }

    /// The editable part, as the app shows it.
    pub fn app_settings(&self) -> AppSettings {
        AppSettings {
            docker_host: self.docker_host.clone(),
            db_port_base: self.db_port_base,
            realtime_port_base: self.realtime_port_base,
            key_lifetime_days: (self.key_lifetime_secs / 86_400) as u32,
            default_engine: self.default_engine,
        }
    }

    /// Validates and stores `new` in `<home>/settings.json`.
    pub fn save_app_settings(&self, new: &AppSettings) -> Result<()> {
        let mut probe = self.clone();
        probe.db_port_base = new.db_port_base;
        probe.realtime_port_base = new.realtime_port_base;
        probe.check_ranges()?;
        if new.key_lifetime_days == 0 || new.key_lifetime_days > 3650 {
            return Err(Error::InvalidSetting {
                name: "key lifetime".into(),
                reason: format!("{} days is outside 1..=3650", new.key_lifetime_days),
            });
        }
        if let Some(h) = new.docker_host.as_deref().filter(|h| !h.is_empty()) {
            if !["unix://", "tcp://", "http://", "npipe://"]
                .iter()
                .any(|p| h.starts_with(p))
            {
                return Err(Error::InvalidSetting {
                    name: "Docker host".into(),
                    reason: format!("{h:?} should start with unix://, tcp:// or npipe://"),
                });
            }
        }
        crate::registry::create_private_dir(&self.home)?;
        let bytes = serde_json::to_vec_pretty(new).expect("settings serialize");
        crate::export::write_private(&self.home.join("settings.json"), &bytes)
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

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            docker_host: None,
            db_port_base: 54400,
            realtime_port_base: 8000,
            key_lifetime_days: DEFAULT_KEY_LIFETIME_DAYS as u32,
            default_engine: crate::registry::RealtimeEngine::Native,
        }
    }
}

fn read_app_settings(home: &std::path::Path) -> Result<AppSettings> {
    let path = home.join("settings.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::InvalidSetting {
            name: path.display().to_string(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AppSettings::default()),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// The official nginx image (Debian-based, like our local build) for the gateway.
pub const DEFAULT_GATEWAY_IMAGE: &str = "nginx:1.27";

/// `SUPALOVE_SUPABASE_REALTIME_IMAGE` as given, else `supabase/realtime:<SUPALOVE_SUPABASE_REALTIME_TAG>`
/// (default the first supported tag); a tag the template has no recipe for is refused.
fn supabase_realtime_image() -> Result<String> {
    let image = match std::env::var("SUPALOVE_SUPABASE_REALTIME_IMAGE") {
        Ok(i) if !i.is_empty() => i,
        _ => format!(
            "supabase/realtime:{}",
            env_str(
                "SUPALOVE_SUPABASE_REALTIME_TAG",
                crate::template::SUPABASE_REALTIME_TAGS[0]
            )
        ),
    };
    crate::template::check_supabase_realtime_tag(crate::template::image_tag(&image))?;
    Ok(image)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_settings_round_trip_and_validation() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::from_env().unwrap();
        s.home = dir.path().to_path_buf();
        let mut a = s.app_settings();
        a.db_port_base = 30000;
        a.docker_host = Some("unix:///run/user/1000/docker.sock".into());
        s.save_app_settings(&a).unwrap();
        assert_eq!(read_app_settings(dir.path()).unwrap(), a);
        let mut bad = a.clone();
        bad.docker_host = Some("/var/run/docker.sock".into());
        assert!(s
            .save_app_settings(&bad)
            .unwrap_err()
            .to_string()
            .contains("unix://"));
        let mut bad = a.clone();
        bad.key_lifetime_days = 0;
        assert!(s.save_app_settings(&bad).is_err());
        let mut bad = a;
        bad.realtime_port_base = 65500;
        assert!(s.save_app_settings(&bad).is_err());
        assert_eq!(
            read_app_settings(dir.path()).unwrap().db_port_base,
            30000,
            "bad saves change nothing"
        );
    }
}
