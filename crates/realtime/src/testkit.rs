//! A throwaway Postgres cluster from Debian's `postgresql-15` binaries, for integration
//! tests and the bench: real logical decoding, no mocks.

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use thiserror::Error;
use tokio::process::Command;

use crate::config::{Config, DbConfig, ReplicationMode, DEFAULT_SLOT_NAME};

/// Where Debian installs the server binaries; override with `PG_BIN`.
pub const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Why the throwaway cluster could not be started.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// A command failed.
    #[error("`{cmd}` failed: {output}")]
    Command {
        /// What ran.
        cmd: String,
        /// Its stderr/stdout.
        output: String,
    },
    /// File system or process error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A running Postgres cluster in a temporary directory, stopped and removed on drop.
#[derive(Debug)]
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    password: Option<String>,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

async fn run(bin: &Path, args: &[&str]) -> Result<(), ClusterError> {
    // Postgres refuses to run as root; drop to the `postgres` user when we are root.
    let mut cmd = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd.args(args).stdin(Stdio::null()).output().await?;
    if out.status.success() {
        return Ok(());
    }
    Err(ClusterError::Command {
        cmd: format!("{} {}", bin.display(), args.join(" ")),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ),
    })
}

impl PgCluster {
    /// Creates and starts a cluster with `wal_level=logical` on a free port (trust auth).
    pub async fn start() -> Result<PgCluster, ClusterError> {
        PgCluster::create(None).await
    }

    /// Like `start`, but TCP clients must authenticate with SCRAM-SHA-256 and `password`.
    pub async fn start_with_password(password: &str) -> Result<PgCluster, ClusterError> {
        PgCluster::create(Some(password.to_string())).await
    }

    async fn create(password: Option<String>) -> Result<PgCluster, ClusterError> {
        let bin = PathBuf::from(std::env::var("PG_BIN").unwrap_or_else(|_| DEFAULT_PG_BIN.into()));
        let dir =
            std::env::temp_dir().join(format!("supalove-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        if running_as_root() {
            let out = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&dir)
                .output()
                .await?;
            if !out.status.success() {
                return Err(ClusterError::Command {
                    cmd: "chown postgres".into(),
                    output: String::from_utf8_lossy(&out.stderr).into(),
                });
            }
        }
        let data_s = dir.join("data").to_string_lossy().to_string();
        let mut args: Vec<String> = ["-D", &data_s, "-U", "postgres", "-E", "UTF8", "--no-sync"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(pw) = &password {
            let file = dir.join("pwfile");
            std::fs::write(&file, pw)?;
            if running_as_root() {
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&file)
                    .output()
                    .await?;
            }
            args.push("--auth-local=trust".into());
            args.push("--auth-host=scram-sha-256".into());
            args.push(format!("--pwfile={}", file.display()));
        } else {
            args.push("--auth=trust".into());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&bin.join("initdb"), &refs).await?;
        let port = free_port()?;
        let cluster = PgCluster {
            dir,
            bin,
            port,
            password,
        };
        cluster.pg_ctl_start().await?;
        Ok(cluster)
    }

    async fn pg_ctl_start(&self) -> Result<(), ClusterError> {
        let data_s = self.dir.join("data").to_string_lossy().to_string();
        let log = self.dir.join("log").to_string_lossy().to_string();
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c wal_level=logical \
             -c max_replication_slots=20 -c max_wal_senders=20 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        run(
            &self.bin.join("pg_ctl"),
            &["-D", &data_s, "-l", &log, "-o", &opts, "-w", "start"],
        )
        .await
    }

    /// Stops the server (fast mode); `start_again` brings it back on the same port and data.
    pub async fn stop(&self) -> Result<(), ClusterError> {
        let data_s = self.dir.join("data").to_string_lossy().to_string();
        run(
            &self.bin.join("pg_ctl"),
            &["-D", &data_s, "-m", "fast", "-w", "stop"],
        )
        .await
    }

    /// Starts a stopped server again.
    pub async fn start_again(&self) -> Result<(), ClusterError> {
        self.pg_ctl_start().await
    }

    /// Opens a superuser connection.
    pub async fn client(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        crate::cdc::capture::connect(&self.db_config(), "supalove-test").await
    }

    /// Connection settings for the superuser `postgres`.
    pub fn db_config(&self) -> DbConfig {
        DbConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            name: "postgres".into(),
            user: "postgres".into(),
            password: self
                .password
                .clone()
                .unwrap_or_else(|| "unused-trust-auth".into()),
        }
    }

    /// An engine configuration for this cluster (port 0 is replaced by the listener's).
    pub fn engine_config(&self, jwt_secret: &str, mode: ReplicationMode) -> Config {
        Config {
            port: 0,
            db: self.db_config(),
            jwt_secret: jwt_secret.into(),
            jwt_jwks: None,
            mode,
            poll_interval: std::time::Duration::from_millis(10),
            secure_channels: true,
            slot_name: DEFAULT_SLOT_NAME.into(),
            temporary_slot: true,
            socket_queue: crate::outbound::QUEUE_CAPACITY,
            streaming: true,
            limits: crate::config::Limits {
                bind: std::net::Ipv4Addr::LOCALHOST.into(),
                ..Default::default()
            },
        }
    }
}

/// The Supabase prerequisites: roles, grants and an empty `supabase_realtime` publication.
pub const SUPABASE_BOOTSTRAP_SQL: &str = "
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
create publication supabase_realtime;
";

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let mut cmd = if running_as_root() {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            std::process::Command::new(self.bin.join("pg_ctl"))
        };
        let _ = cmd
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One HTTP/1.1 request over a raw TCP stream (keeps test dependencies small), with the
/// `realtime-dev` tenant Host; the status and the body.
pub async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.unwrap_or("");
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: realtime-dev\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    let code = out
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .expect("an HTTP status line");
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}
