//! Engine configuration, read from the project's environment and validated at start.

use std::fmt;
use std::time::Duration;

use thiserror::Error;

/// How postgres changes are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicationMode {
    /// Per-subscriber row-level security and column privileges.
    Rls,
    /// Every change to every matching subscriber.
    Stream,
}

/// Database connection settings (the password never appears in `Debug`).
#[derive(Clone)]
pub struct DbConfig {
    /// Host name or IP.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub name: String,
    /// User; needs REPLICATION (or superuser) and SET ROLE to the JWT roles.
    pub user: String,
    /// Password.
    pub password: String,
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("name", &self.name)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Full engine configuration.
#[derive(Clone)]
pub struct Config {
    /// HTTP/websocket listen port.
    pub port: u16,
    /// Database to capture changes from.
    pub db: DbConfig,
    /// HS256/384/512 secret for client JWTs (empty when only a JWKS is configured).
    pub jwt_secret: String,
    /// `API_JWT_JWKS`: keys for RS/ES/EdDSA tokens and HS tokens with an `oct` key, by `kid`.
    pub jwt_jwks: Option<std::sync::Arc<crate::jwt::Jwks>>,
    /// RLS or STREAM delivery.
    pub mode: ReplicationMode,
    /// Pause between two empty polls of the slot.
    pub poll_interval: Duration,
    /// `true`: a valid JWT is required to connect.
    pub secure_channels: bool,
    /// Logical replication slot name.
    pub slot_name: String,
    /// `true`: the slot dies with the engine's connection.
    pub temporary_slot: bool,
    /// Messages queued per socket before fan-out drops (optional `SOCKET_QUEUE_CAPACITY`).
    pub socket_queue: usize,
    /// Stream changes over a replication connection (optional `REPLICATION_STREAMING`,
    /// default true); `false`, or a server refusing replication connections, means polling.
    pub streaming: bool,
    /// Limits and the listen address (optional settings, see [`Limits`]).
    pub limits: Limits,
}

/// Optional limits and the listen address, each with the official server's default where it
/// has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `BIND_ADDRESS`: IP the HTTP server listens on; `0.0.0.0` inside a container,
    /// `127.0.0.1` on a host.
    pub bind: std::net::IpAddr,
    /// `MAX_PAYLOAD_SIZE_IN_KB`: largest broadcast/presence payload (official default 3000).
    pub max_payload_kb: u64,
    /// `SOCKET_QUEUE_BYTES`: bytes queued per socket before fan-out drops.
    pub socket_queue_bytes: usize,
    /// `CLIENT_PRESENCE_MAX_CALLS`: presence pushes a channel may send per window (official 5).
    pub client_presence_max_calls: u32,
    /// `CLIENT_PRESENCE_WINDOW_MS`: length of that window (official 30000).
    pub client_presence_window_ms: u64,
}

/// Official `max_payload_size_in_kb` default.
pub const DEFAULT_MAX_PAYLOAD_KB: u64 = 3000;
/// Official `CLIENT_PRESENCE_MAX_CALLS` default (R:config/runtime.exs:13).
pub const DEFAULT_CLIENT_PRESENCE_MAX_CALLS: u32 = 5;
/// Official `CLIENT_PRESENCE_WINDOW_MS` default (R:config/runtime.exs:14).
pub const DEFAULT_CLIENT_PRESENCE_WINDOW_MS: u64 = 30_000;
/// Default byte bound of one socket's outbound queue.
pub const DEFAULT_SOCKET_QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// `0.0.0.0` in a container (Docker or Podman marker files), else `127.0.0.1`.
pub fn default_bind() -> std::net::IpAddr {
    let in_container = std::path::Path::new("/.dockerenv").exists()
        || std::path::Path::new("/run/.containerenv").exists();
    if in_container {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv4Addr::LOCALHOST.into()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            bind: default_bind(),
            max_payload_kb: DEFAULT_MAX_PAYLOAD_KB,
            socket_queue_bytes: DEFAULT_SOCKET_QUEUE_BYTES,
            client_presence_max_calls: DEFAULT_CLIENT_PRESENCE_MAX_CALLS,
            client_presence_window_ms: DEFAULT_CLIENT_PRESENCE_WINDOW_MS,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("db", &self.db)
            .field("jwt_secret", &"<redacted>")
            .field("jwt_jwks", &self.jwt_jwks)
            .field("mode", &self.mode)
            .field("poll_interval", &self.poll_interval)
            .field("secure_channels", &self.secure_channels)
            .field("slot_name", &self.slot_name)
            .field("temporary_slot", &self.temporary_slot)
            .field("socket_queue", &self.socket_queue)
            .field("streaming", &self.streaming)
            .field("limits", &self.limits)
            .finish()
    }
}

/// A configuration value that is missing or invalid.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("{0} is required but not set")]
    Missing(&'static str),
    /// Several variables are wrong; all are listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<ConfigError>),
    /// A variable has a value we cannot use.
    #[error("{var} is invalid: {reason}")]
    Invalid {
        /// The variable name.
        var: &'static str,
        /// What is wrong, without echoing secrets.
        reason: String,
    },
}

/// Configuration problems found so far.
struct Problems(Vec<ConfigError>);

impl Problems {
    /// Keeps the value, or records the error.
    fn take<T>(&mut self, r: Result<T, ConfigError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }

    /// One error, or all of them.
    fn into_error(mut self) -> ConfigError {
        if self.0.len() == 1 {
            self.0.remove(0)
        } else {
            ConfigError::Several(self.0)
        }
    }
}

/// Default slot name, the one the official server uses.
pub const DEFAULT_SLOT_NAME: &str = "supabase_realtime_replication_slot";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let val = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = |k: &'static str| val(k).ok_or(ConfigError::Missing(k));
        let port = |k: &'static str, default: u16| -> Result<u16, ConfigError> {
            match val(k) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or(ConfigError::Invalid {
                        var: k,
                        reason: format!("`{v}` is not a TCP port (1-65535)"),
                    }),
            }
        };
        let boolean = |k: &'static str, default: bool| -> Result<bool, ConfigError> {
            match val(k).map(|v| v.to_ascii_lowercase()) {
                None => Ok(default),
                Some(v) if v == "true" || v == "1" => Ok(true),
                Some(v) if v == "false" || v == "0" => Ok(false),
                Some(v) => Err(ConfigError::Invalid {
                    var: k,
                    reason: format!("`{v}` is not true or false"),
                }),
            }
        };
        // Collect every problem so one start tells the user everything to fix.
        let mut problems = Problems(Vec::new());
        let mode = problems.take(match val("REPLICATION_MODE") {
            None => Ok(ReplicationMode::Rls),
            Some(v) if v.eq_ignore_ascii_case("RLS") => Ok(ReplicationMode::Rls),
            Some(v) if v.eq_ignore_ascii_case("STREAM") => Ok(ReplicationMode::Stream),
            Some(v) => Err(ConfigError::Invalid {
                var: "REPLICATION_MODE",
                reason: format!("`{v}` is not RLS or STREAM"),
            }),
        });
        let number =
            |k: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| match val(k) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| range.contains(n)).ok_or(
                    ConfigError::Invalid {
                        var: k,
                        reason: format!(
                            "`{v}` is not a number between {} and {}",
                            range.start(),
                            range.end()
                        ),
                    },
                ),
            };
        let poll_ms = problems.take(number("REPLICATION_POLL_INTERVAL", 100, 1..=60_000));
        let socket_queue = problems.take(number(
            "SOCKET_QUEUE_CAPACITY",
            crate::outbound::QUEUE_CAPACITY as u64,
            16..=1_000_000,
        ));
        let slot_name = val("SLOT_NAME").unwrap_or_else(|| DEFAULT_SLOT_NAME.to_string());
        let slot_ok = slot_name.len() <= 63
            && slot_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !slot_ok {
            problems.take(Err::<(), _>(ConfigError::Invalid {
                var: "SLOT_NAME",
                reason: "use at most 63 characters among a-z, 0-9 and _".into(),
            }));
        }
        let secure_channels = problems.take(boolean("SECURE_CHANNELS", true));
        let password = problems.take(secret(&get, "DB_PASSWORD", "DB_PASSWORD_FILE"));
        let jwt_given = problems.take(secret(&get, "JWT_SECRET", "JWT_SECRET_FILE"));
        let jwt_given = jwt_given.flatten().map(|s| s.trim().to_string());
        // The official seed's variable (R:priv/repo/seeds.exs:27); a JWKS holds `oct` secrets
        // too, so it may also come from a file.
        let jwks = problems
            .take(secret(&get, "API_JWT_JWKS", "API_JWT_JWKS_FILE"))
            .flatten()
            .filter(|t| !t.trim().is_empty())
            .map(|text| {
                crate::jwt::Jwks::parse(&text).map_err(|reason| ConfigError::Invalid {
                    var: "API_JWT_JWKS",
                    reason,
                })
            });
        let jwks_given = jwks.is_some();
        let jwt_jwks = match jwks {
            None => Some(None),
            Some(r) => problems.take(r).map(|set| Some(std::sync::Arc::new(set))),
        };
        // As the official tenant: a secret or a JWKS is required (R:lib/realtime/api/tenant.ex:88-94).
        let jwt_secret = match jwt_given.filter(|s| !s.is_empty()) {
            Some(s) => Some(s),
            None if secure_channels == Some(false) || jwks_given => Some(String::new()),
            None => problems.take(Err(ConfigError::Missing("JWT_SECRET"))),
        };
        let host = problems.take(required("DB_HOST"));
        let db_port = problems.take(port("DB_PORT", 5432));
        let name = problems.take(required("DB_NAME"));
        let user = problems.take(required("DB_USER"));
        let http_port = problems.take(port("PORT", 4000));
        let temporary_slot = problems.take(boolean("TEMPORARY_SLOT", true));
        let streaming = problems.take(boolean("REPLICATION_STREAMING", true));
        let bind = problems.take(match val("BIND_ADDRESS") {
            None => Ok(default_bind()),
            Some(v) => v
                .parse::<std::net::IpAddr>()
                .map_err(|_| ConfigError::Invalid {
                    var: "BIND_ADDRESS",
                    reason: format!("`{v}` is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)"),
                }),
        });
        let max_payload_kb = problems.take(number(
            "MAX_PAYLOAD_SIZE_IN_KB",
            DEFAULT_MAX_PAYLOAD_KB,
            1..=1_000_000,
        ));
        let queue_bytes = problems.take(number(
            "SOCKET_QUEUE_BYTES",
            DEFAULT_SOCKET_QUEUE_BYTES as u64,
            64 * 1024..=1 << 34,
        ));
        let presence_calls = problems.take(number(
            "CLIENT_PRESENCE_MAX_CALLS",
            DEFAULT_CLIENT_PRESENCE_MAX_CALLS.into(),
            1..=1_000_000,
        ));
        let presence_window = problems.take(number(
            "CLIENT_PRESENCE_WINDOW_MS",
            DEFAULT_CLIENT_PRESENCE_WINDOW_MS,
            1..=86_400_000,
        ));
        let (
            Some(bind),
            Some(max_payload_kb),
            Some(queue_bytes),
            Some(jwt_jwks),
            Some(presence_calls),
            Some(presence_window),
        ) = (
            bind,
            max_payload_kb,
            queue_bytes,
            jwt_jwks,
            presence_calls,
            presence_window,
        )
        else {
            return Err(problems.into_error());
        };
        let all = (
            (mode, password),
            poll_ms,
            socket_queue,
            secure_channels,
            jwt_secret,
            host,
            db_port,
            name,
            user,
            http_port,
            temporary_slot,
            streaming,
        );
        let (
            (Some(mode), Some(password)),
            Some(poll_ms),
            Some(socket_queue),
            Some(secure_channels),
            Some(jwt_secret),
            Some(host),
            Some(db_port),
            Some(name),
            Some(user),
            Some(http_port),
            Some(temporary_slot),
            Some(streaming),
        ) = all
        else {
            return Err(problems.into_error());
        };
        if !slot_ok {
            return Err(problems.into_error());
        }
        Ok(Config {
            port: http_port,
            db: DbConfig {
                host,
                port: db_port,
                name,
                user,
                password: password.unwrap_or_default(),
            },
            jwt_secret,
            jwt_jwks,
            mode,
            poll_interval: Duration::from_millis(poll_ms),
            secure_channels,
            slot_name,
            temporary_slot,
            socket_queue: socket_queue as usize,
            streaming,
            limits: Limits {
                bind,
                max_payload_kb,
                socket_queue_bytes: queue_bytes as usize,
                client_presence_max_calls: presence_calls as u32,
                client_presence_window_ms: presence_window,
            },
        })
    }
}

/// A secret given directly in `var`, or as the contents of the file that `file_var` names
/// (trailing newlines dropped), so it need not sit in the container's environment. Setting
/// both is refused, as the official postgres image refuses `POSTGRES_PASSWORD` with `_FILE`.
fn secret(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    file_var: &'static str,
) -> Result<Option<String>, ConfigError> {
    let direct = get(var).filter(|v| !v.is_empty());
    let path = get(file_var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    match (direct, path) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            var: file_var,
            reason: format!("set either {var} or {file_var}, not both"),
        }),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim_end_matches(['\n', '\r']).to_string())),
            Err(e) => Err(ConfigError::Invalid {
                var: file_var,
                reason: format!("cannot read {path}: {e}"),
            }),
        },
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut env: HashMap<String, String> = [
            ("DB_HOST", "db"),
            ("DB_NAME", "postgres"),
            ("DB_USER", "postgres"),
            ("DB_PASSWORD", "pw"),
            ("JWT_SECRET", "secret-secret-secret-secret-secret"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            env.insert(k.to_string(), v.to_string());
        }
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.port, 4000);
        assert_eq!(c.db.port, 5432);
        assert_eq!(c.mode, ReplicationMode::Rls);
        assert_eq!(c.slot_name, DEFAULT_SLOT_NAME);
        assert!(c.secure_channels && c.temporary_slot);
        assert_eq!(c.poll_interval, Duration::from_millis(100));
    }

    #[test]
    fn parses_everything() {
        let c = cfg(&[
            ("PORT", "4100"),
            ("REPLICATION_MODE", "stream"),
            ("REPLICATION_POLL_INTERVAL", "20"),
            ("SECURE_CHANNELS", "false"),
            ("SLOT_NAME", "my_slot"),
            ("TEMPORARY_SLOT", "false"),
        ])
        .unwrap();
        assert_eq!((c.port, c.mode), (4100, ReplicationMode::Stream));
        assert_eq!(c.poll_interval, Duration::from_millis(20));
        assert!(!c.secure_channels && !c.temporary_slot);
        assert_eq!(c.slot_name, "my_slot");
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            cfg(&[("DB_HOST", "")]).unwrap_err(),
            ConfigError::Missing("DB_HOST")
        );
        assert!(cfg(&[("PORT", "99999")])
            .unwrap_err()
            .to_string()
            .contains("PORT"));
        assert!(cfg(&[("REPLICATION_MODE", "x")])
            .unwrap_err()
            .to_string()
            .contains("RLS or STREAM"));
        assert!(cfg(&[("SECURE_CHANNELS", "maybe")]).is_err());
        assert!(cfg(&[("SLOT_NAME", "Bad-Name")]).is_err());
        assert!(cfg(&[("REPLICATION_POLL_INTERVAL", "0")]).is_err());
        assert_eq!(
            cfg(&[("JWT_SECRET", "")]).unwrap_err(),
            ConfigError::Missing("JWT_SECRET")
        );
        assert!(cfg(&[("JWT_SECRET", ""), ("SECURE_CHANNELS", "false")]).is_ok());
    }

    #[test]
    fn reports_every_problem_at_once() {
        let e = Config::from_lookup(|k| (k == "REPLICATION_MODE").then(|| "fast".to_string()))
            .unwrap_err();
        let text = e.to_string();
        for needle in [
            "`fast` is not RLS or STREAM",
            "JWT_SECRET",
            "DB_HOST",
            "DB_NAME",
            "DB_USER",
        ] {
            assert!(text.contains(needle), "{text}");
        }
    }

    #[test]
    fn limits_and_bind_address() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.limits.max_payload_kb, 3000);
        assert_eq!(c.limits.bind, default_bind());
        let c = cfg(&[
            ("BIND_ADDRESS", "127.0.0.1"),
            ("MAX_PAYLOAD_SIZE_IN_KB", "10"),
            ("SOCKET_QUEUE_BYTES", "1048576"),
        ])
        .unwrap();
        assert_eq!(c.limits.bind.to_string(), "127.0.0.1");
        assert_eq!(
            (c.limits.max_payload_kb, c.limits.socket_queue_bytes),
            (10, 1 << 20)
        );
        assert_eq!(
            (
                c.limits.client_presence_max_calls,
                c.limits.client_presence_window_ms
            ),
            (5, 30_000)
        );
        let c = cfg(&[
            ("CLIENT_PRESENCE_MAX_CALLS", "2"),
            ("CLIENT_PRESENCE_WINDOW_MS", "500"),
        ])
        .unwrap();
        assert_eq!(
            (
                c.limits.client_presence_max_calls,
                c.limits.client_presence_window_ms
            ),
            (2, 500)
        );
        assert!(cfg(&[("CLIENT_PRESENCE_MAX_CALLS", "0")])
            .unwrap_err()
            .to_string()
            .contains("CLIENT_PRESENCE_MAX_CALLS"));
        let e = cfg(&[("BIND_ADDRESS", "localhost"), ("SOCKET_QUEUE_BYTES", "5")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("BIND_ADDRESS") && e.contains("SOCKET_QUEUE_BYTES"),
            "{e}"
        );
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = std::env::temp_dir().join(format!("supalove-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join("db_password");
        let jwt = dir.join("jwt_secret");
        std::fs::write(&pw, "from-file-pw\n").unwrap();
        std::fs::write(&jwt, "jwt-from-file-jwt-from-file-jwt-from").unwrap();
        let (pw_path, jwt_path) = (pw.to_str().unwrap(), jwt.to_str().unwrap());
        let only_files = |k: &str| match k {
            "DB_HOST" | "DB_NAME" | "DB_USER" => Some("x".to_string()),
            "DB_PASSWORD_FILE" => Some(pw_path.to_string()),
            "JWT_SECRET_FILE" => Some(jwt_path.to_string()),
            _ => None,
        };
        let c = Config::from_lookup(only_files).unwrap();
        assert_eq!(c.db.password, "from-file-pw");
        assert_eq!(c.jwt_secret, "jwt-from-file-jwt-from-file-jwt-from");

        // The plain variables still work, and both at once is refused.
        assert_eq!(cfg(&[]).unwrap().db.password, "pw");
        let both = cfg(&[("DB_PASSWORD_FILE", pw_path)])
            .unwrap_err()
            .to_string();
        assert!(
            both.contains("DB_PASSWORD_FILE") && both.contains("not both"),
            "{both}"
        );

        // An unreadable file names the variable and the path, never a secret.
        let missing = dir.join("nope");
        let e = Config::from_lookup(|k| match k {
            "JWT_SECRET_FILE" => Some(missing.to_str().unwrap().to_string()),
            "JWT_SECRET" => None,
            other => only_files(other),
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("JWT_SECRET_FILE") && e.contains("nope"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn jwks_is_read_and_a_malformed_one_is_a_start_up_error() {
        assert!(cfg(&[]).unwrap().jwt_jwks.is_none());
        let c = cfg(&[("API_JWT_JWKS", crate::test_keys::TEST_JWKS)]).unwrap();
        assert_eq!(c.jwt_jwks.as_ref().map(|k| k.len()), Some(5));
        // A JWKS alone is enough, as for an official tenant (jwt_secret or jwt_jwks).
        let c = cfg(&[
            ("JWT_SECRET", ""),
            ("API_JWT_JWKS", crate::test_keys::TEST_JWKS),
        ])
        .unwrap();
        assert!(c.jwt_secret.is_empty() && c.jwt_jwks.is_some());
        for bad in ["{", r#"{"keys": 1}"#, r#"{"keys": [{"kty": "RSA"}]}"#] {
            let e = cfg(&[("API_JWT_JWKS", bad)]).unwrap_err().to_string();
            assert!(e.starts_with("API_JWT_JWKS is invalid: "), "{e}");
        }
        // Reported with the other problems.
        let e = cfg(&[("API_JWT_JWKS", "[]"), ("PORT", "0")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("API_JWT_JWKS") && e.contains("PORT"), "{e}");
        let shown = format!(
            "{:?}",
            cfg(&[("API_JWT_JWKS", crate::test_keys::TEST_JWKS)]).unwrap()
        );
        assert!(
            shown.contains("test-oct") && !shown.contains("YW4tb2N0"),
            "{shown}"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let shown = format!("{:?}", cfg(&[]).unwrap());
        assert!(!shown.contains("pw\"") && !shown.contains("secret-secret"));
    }
}
