//! The seam between the use cases and whatever runs containers (local Docker now; a remote
//! engine or Coolify later).

use std::future::Future;

use futures_util::stream::BoxStream;
use serde::Serialize;

use crate::error::{Error, Result};
pub use crate::loglines::LogLevel;
use crate::template::RenderedStack;

/// A step of long work, reported as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Stage {
    Pulling,
    Creating,
    Starting,
    WaitingReady,
    Ready,
    Stopping,
    Stopped,
    Removing,
    Removed,
    Failed,
}

/// One progress report for one service (or `project` for project-wide steps).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Progress {
    pub service: String,
    pub stage: Stage,
    pub detail: String,
    /// Bytes (or steps) done and expected, when known.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub current: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub total: Option<u64>,
}

impl Progress {
    /// A report without numbers.
    pub fn new(service: &str, stage: Stage, detail: impl Into<String>) -> Self {
        Progress {
            service: service.to_string(),
            stage,
            detail: detail.into(),
            current: None,
            total: None,
        }
    }
}

/// Where progress goes (a terminal timeline, a UI channel, or nowhere).
pub type ProgressSink<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// A service's container state as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ServiceState {
    /// Running; its healthcheck has not passed yet.
    Starting,
    /// Running and healthy (or running with no healthcheck).
    Healthy,
    /// Running but failing its healthcheck.
    Unhealthy,
    /// Being restarted by its restart policy.
    Restarting,
    /// Created or exited: not running.
    Stopped,
    Paused,
    /// No container exists for it.
    Missing,
}

/// The live state of one service.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ServiceStatus {
    pub service: String,
    pub container: String,
    pub state: ServiceState,
    pub image: Option<String>,
    /// Exit code of the last run, when stopped.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub exit_code: Option<i64>,
    pub started_at: Option<String>,
}

/// Engine objects that carry a project's label.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ProjectResources {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// What a removal did (or, for a plan, would do).
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RemoveReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes_removed: Vec<String>,
    pub volumes_kept: Vec<String>,
    /// The database dump taken before the volumes were deleted, if one was.
    pub backup: Option<String>,
}

/// What the engine says about a volume.
#[derive(Debug, Clone, Default)]
pub struct VolumeInfo {
    pub labels: std::collections::BTreeMap<String, String>,
    /// Creation time as the engine reports it (RFC 3339).
    pub created_at: Option<String>,
}

/// How an [`Provisioner::exec`] ended.
#[derive(Debug, Clone)]
pub struct ExecOutcome {
    pub exit_code: i64,
    /// The last few KiB the command wrote to stderr.
    pub stderr: String,
}

/// Which stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One line of a service's output.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LogLine {
    pub service: String,
    pub stream: LogStream,
    /// RFC 3339 time stamp from the engine.
    pub timestamp: Option<String>,
    /// The line as the program wrote it (raw: downloads and `supalove logs` without `-t`).
    pub text: String,
    /// The level the line states, if any ([`crate::loglines::detect_level`]).
    pub level: Option<LogLevel>,
    /// Bytes at the head of `text` that repeat `timestamp` (the program's own stamp for the
    /// same instant); the message is `text[stamp_len..]`.
    pub stamp_len: u32,
}

impl LogLine {
    /// A line read from the engine: derives its level and finds the duplicate time stamp.
    pub fn new(
        service: impl Into<String>,
        stream: LogStream,
        timestamp: Option<String>,
        text: impl Into<String>,
    ) -> Self {
        let text = text.into();
        let stamp_len = timestamp
            .as_deref()
            .map_or(0, |ts| crate::loglines::own_stamp_len(&text, ts));
        LogLine {
            service: service.into(),
            stream,
            level: crate::loglines::detect_level(&text),
            stamp_len: u32::try_from(stamp_len).unwrap_or(0),
            timestamp,
            text,
        }
    }

    /// The text without the program's repeat of the engine's time stamp.
    pub fn message(&self) -> &str {
        self.text
            .get(self.stamp_len as usize..)
            .unwrap_or(&self.text)
    }
}

/// How much log to read.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    /// Only the last N lines of history (None: all).
    pub tail: Option<u64>,
}

/// A change of a service's state, from the engine's event stream.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct StatusEvent {
    pub project: String,
    pub service: String,
    /// Engine action: `start`, `die`, `stop`, `health_status: healthy`, `destroy`, ...
    pub action: String,
    /// Seconds since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub time: i64,
}

/// Resource use of one running service container.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ServiceStats {
    pub service: String,
    pub container: String,
    /// CPU use over the engine's sampling window, 100 = one full core.
    pub cpu_percent: f64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub memory_bytes: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub memory_limit_bytes: u64,
}

/// Whether the container engine answers now, and if not what was tried.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, rename = "DockerStatus"))]
pub struct EngineStatus {
    pub connected: bool,
    /// The endpoint in use, when connected.
    pub endpoint: Option<String>,
    /// The endpoints that were tried, when not.
    pub tried: Vec<String>,
    pub error: Option<String>,
    /// What to do about it, worded for the shell that asked.
    pub hint: Option<String>,
}

/// Runs project stacks. Every method is idempotent where that makes sense. A provisioner
/// connects lazily and reconnects after an outage: it can be built without its engine.
pub trait Provisioner: Send + Sync {
    /// Where the engine is, for messages (`unix:///var/run/docker.sock`).
    fn target(&self) -> String;

    /// Which rendering of the stack template this provisioner applies
    /// ([`crate::template::TARGET_LOCAL`] unless it says otherwise).
    fn template_target(&self) -> &'static str {
        crate::template::TARGET_LOCAL
    }

    /// Connects (or pings the connection) and says whether the engine answers.
    fn engine_status(&self) -> impl Future<Output = EngineStatus> + Send;

    /// True when `image` is present locally. Targets that pull on their own servers
    /// (Coolify) have no local images and answer false.
    fn image_present(&self, image: &str) -> impl Future<Output = Result<bool>> + Send {
        let _ = image;
        async { Ok(false) }
    }

    /// True when a volume of that name exists. Targets whose volumes live out of reach
    /// (Coolify prefixes and owns them) answer false: there is nothing here to reuse.
    fn volume_exists(&self, name: &str) -> impl Future<Output = Result<bool>> + Send {
        let _ = name;
        async { Ok(false) }
    }

    /// Labels and creation time of a volume, or None when it does not exist (or the target
    /// cannot see its volumes).
    fn volume_info(&self, name: &str) -> impl Future<Output = Result<Option<VolumeInfo>>> + Send {
        let _ = name;
        async { Ok(None) }
    }

    /// Runs `cmd` in the running container of `service`, feeding it `stdin` (then EOF) and
    /// copying its stdout into `stdout` as it comes. Only engines we reach directly offer it.
    fn exec<'a>(
        &'a self,
        project_id: &'a str,
        service: &'a str,
        cmd: Vec<String>,
        stdin: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin + 'a>>,
        stdout: &'a mut (dyn tokio::io::AsyncWrite + Send + Unpin),
    ) -> impl Future<Output = Result<ExecOutcome>> + Send + 'a {
        let _ = (project_id, service, cmd, stdin, stdout);
        let target = self.target();
        async move {
            Err(Error::Unsupported {
                what: "running a command in a container".into(),
                target,
            })
        }
    }

    /// The project's Realtime URL when the target decides it (a proxied domain); None for
    /// targets where it is `ws://127.0.0.1:<REALTIME_PORT>/socket`.
    fn realtime_url(
        &self,
        project_id: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send {
        let _ = project_id;
        async { Ok(None) }
    }

    /// Makes the engine match `stack`: images, network, volumes, containers (created, files
    /// uploaded, started). Rerunning converges and never duplicates.
    fn apply(
        &self,
        project_id: &str,
        stack: &RenderedStack,
        progress: ProgressSink<'_>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Starts the project's existing containers in dependency order.
    fn start(
        &self,
        project_id: &str,
        progress: ProgressSink<'_>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Stops the project's containers; data stays.
    fn stop(
        &self,
        project_id: &str,
        progress: ProgressSink<'_>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Everything labelled for the project.
    fn resources(&self, project_id: &str) -> impl Future<Output = Result<ProjectResources>> + Send;

    /// Everything that holds the project's names on the engine: what is labelled for it (by
    /// any supalove home) and what is only named like it (`project_<id>_*`, made by hand).
    /// A new project of that name would collide with these. Engines whose names are their own
    /// (a remote target) have only the labelled ones.
    fn name_holders(
        &self,
        project_id: &str,
    ) -> impl Future<Output = Result<ProjectResources>> + Send {
        self.resources(project_id)
    }

    /// Removes containers and network; volumes only when `volumes` is true.
    fn remove(
        &self,
        project_id: &str,
        volumes: bool,
        progress: ProgressSink<'_>,
    ) -> impl Future<Output = Result<RemoveReport>> + Send;

    /// Live state of each service container of the project.
    fn status(&self, project_id: &str) -> impl Future<Output = Result<Vec<ServiceStatus>>> + Send;

    /// CPU and memory of each running container of the project (engines we reach directly).
    fn stats(&self, project_id: &str) -> impl Future<Output = Result<Vec<ServiceStats>>> + Send {
        let _ = project_id;
        let target = self.target();
        async move {
            Err(Error::Unsupported {
                what: "container statistics".into(),
                target,
            })
        }
    }

    /// Ids of every project that has labelled objects on the engine.
    fn discover(&self) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Log lines of one service, or of all services merged.
    fn logs(
        &self,
        project_id: &str,
        service: Option<&str>,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine>>;

    /// State changes of the project's containers (all projects when None), as they happen.
    fn events(&self, project_id: Option<&str>) -> BoxStream<'static, Result<StatusEvent>>;
}
