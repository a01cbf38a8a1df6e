//! Waiting until a project's services answer, through the one readiness loop.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::provisioner::{Progress, ProgressSink, Provisioner, ServiceState, Stage};
use crate::ready::{self, Probe, Wait};
use crate::registry::{ProjectRecord, RealtimeEngine};
use crate::secrets::ProjectSecrets;

use super::*;

/// How long a service may take to answer after its container starts.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// The probes that say a service of `record` is ready, as a client would check.
pub(crate) struct ServiceProbes {
    pub db_password: String,
    pub anon: String,
    pub target: RealtimeTarget,
}

impl ServiceProbes {
    /// The checks of one service, in order.
    pub fn of<'a>(&'a self, record: &ProjectRecord, service: &str) -> Vec<Probe<'a>> {
        match service {
            "db" => vec![Probe::Db {
                port: record.ports.db,
                password: &self.db_password,
            }],
            "realtime" => {
                let (path, bearer) = health_endpoint(record.realtime_engine, &self.anon);
                vec![
                    Probe::Http {
                        port: record.ports.realtime,
                        path,
                        host: self.target.host.as_deref(),
                        bearer,
                    },
                    Probe::Join {
                        url: &self.target.url,
                        host: self.target.host.as_deref(),
                        token: &self.anon,
                    },
                ]
            }
            // The gateway publishes REALTIME_PORT and forwards health to the engine: the
            // engine's health answered through it says the gateway serves.
            "gateway" => {
                let (path, bearer) = health_endpoint(record.realtime_engine, &self.anon);
                vec![Probe::Http {
                    port: record.ports.realtime,
                    path,
                    host: self.target.host.as_deref(),
                    bearer,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The quick check of a running service (no websocket join): the card and the doctor.
    pub fn quick<'a>(&'a self, record: &ProjectRecord, service: &str) -> Option<Probe<'a>> {
        self.of(record, service).into_iter().next()
    }
}

/// Where an engine reports its health, and the bearer token it wants there.
pub(crate) fn health_endpoint(
    engine: RealtimeEngine,
    anon_key: &str,
) -> (&'static str, Option<&str>) {
    match engine {
        RealtimeEngine::Native => ("/health", None),
        // The official server's per-tenant health wants a JWT signed with the project secret.
        RealtimeEngine::Supabase => ("/api/tenants/realtime-dev/health", Some(anon_key)),
    }
}

impl<P: Provisioner> Supalove<P> {
    pub(crate) fn probes(&self, record: &ProjectRecord, secrets: &ProjectSecrets) -> ServiceProbes {
        ServiceProbes {
            db_password: secrets.db_password.clone(),
            anon: self.keys(record, secrets).anon,
            target: self.target_of(record),
        }
    }

    /// Waits for the database, then Realtime, each through the one readiness loop, reporting
    /// progress per service; a failure carries the service's last log lines.
    pub(crate) async fn wait_ready(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
        progress: ProgressSink<'_>,
    ) -> Result<()> {
        #[cfg(test)]
        if self.assume_ready {
            return Ok(());
        }
        let probes = self.probes(record, secrets);
        let steps = [
            ("db", "waiting for SELECT 1", Duration::from_millis(25)),
            (
                "realtime",
                "waiting for health and a websocket join",
                Duration::from_millis(50),
            ),
        ];
        for (service, waiting, interval) in steps {
            progress(Progress::new(service, Stage::WaitingReady, waiting));
            let checks = probes.of(record, service);
            let wait = Wait {
                probes: &checks,
                timeout: READY_TIMEOUT,
                interval,
            };
            match ready::wait_until(wait, || self.still_running(&record.id, service)).await {
                Ok(took) => {
                    let done = match service {
                        "db" => format!("SELECT 1 answered ({} ms)", took.as_millis()),
                        _ => format!(
                            "healthy, websocket join subscribed ({} ms)",
                            took.as_millis()
                        ),
                    };
                    progress(Progress::new(service, Stage::Ready, done));
                }
                Err(detail) => {
                    progress(Progress::new(service, Stage::Failed, detail.clone()));
                    return Err(Error::NotReady {
                        project: record.name.clone(),
                        service: service.into(),
                        detail,
                        last_logs: self.last_logs(&record.id, service, 20).await,
                    });
                }
            }
        }
        Ok(())
    }

    /// Err with the reason when the service's container is no longer running.
    async fn still_running(&self, id: &str, service: &str) -> std::result::Result<(), String> {
        let status = self
            .provisioner
            .status(id)
            .await
            .map_err(|e| e.to_string())?;
        match status.iter().find(|s| s.service == service) {
            Some(s) if matches!(s.state, ServiceState::Stopped | ServiceState::Missing) => {
                Err(format!(
                    "the container stopped (exit code {})",
                    s.exit_code.unwrap_or(-1)
                ))
            }
            _ => Ok(()),
        }
    }
}
