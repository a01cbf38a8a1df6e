//! Logs and events on Coolify, which streams neither: both are polled.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt};
use supalove_core::error::Result;
use supalove_core::provisioner::{
    LogLine, LogOptions, LogStream, ServiceState, ServiceStatus, StatusEvent,
};

use crate::client::Service;
use crate::{domain, CoolifyProvisioner};

/// Log lines of one service (or all), polled from `GET /services/{uuid}/logs`.
pub(crate) fn logs(
    p: &CoolifyProvisioner,
    project_id: &str,
    service: Option<&str>,
    options: LogOptions,
) -> BoxStream<'static, Result<LogLine>> {
    let client = p.client.clone();
    let uuid = match p.service_uuid(project_id) {
        Ok(u) => u,
        Err(e) => return stream::once(async move { Err(e) }).boxed(),
    };
    let wanted = service.map(str::to_string);
    let interval = p.config.poll_interval;
    let lines = options.tail.unwrap_or(100);
    // Coolify has no log stream: poll, and emit what follows the last line already seen.
    let state = LogPoll::default();
    stream::unfold(state, move |mut st| {
        let client = client.clone();
        let uuid = uuid.clone();
        let wanted = wanted.clone();
        async move {
            loop {
                if let Some(line) = st.queue.pop_front() {
                    return Some((Ok(line), st));
                }
                if st.polled && !options.follow {
                    return None;
                }
                if st.polled {
                    tokio::time::sleep(interval).await;
                }
                st.polled = true;
                let names = match &wanted {
                    Some(s) => vec![s.clone()],
                    None => match client.service(&uuid).await {
                        Ok(Some(svc)) => svc.containers().map(|c| c.name.clone()).collect(),
                        Ok(None) => return None,
                        Err(e) => return Some((Err(e), st)),
                    },
                };
                for name in names {
                    let text = match client.logs(&uuid, &name, lines).await {
                        Ok(t) => t,
                        // A container that is not running has no logs (400): a merged or
                        // followed view skips it; asking for that one service reports it.
                        Err(_) if options.follow || wanted.is_none() => continue,
                        Err(e) => return Some((Err(e), st)),
                    };
                    st.take(&name, &text);
                }
            }
        }
    })
    .boxed()
}

/// State changes of the deployments' containers, by polling their status.
pub(crate) fn events(
    p: &CoolifyProvisioner,
    project_id: Option<&str>,
) -> BoxStream<'static, Result<StatusEvent>> {
    let client = p.client.clone();
    let store = Arc::clone(&p.store);
    let only = project_id.map(str::to_string);
    let interval = p.config.poll_interval;
    // Coolify has no event stream: poll each deployment's status and report changes.
    let state = (
        Vec::<StatusEvent>::new(),
        BTreeMap::<(String, String), ServiceState>::new(),
        true,
    );
    stream::unfold(state, move |(mut queue, mut seen, mut first)| {
        let client = client.clone();
        let store = Arc::clone(&store);
        let only = only.clone();
        async move {
            loop {
                if let Some(ev) = queue.pop() {
                    return Some((Ok(ev), (queue, seen, false)));
                }
                if !first {
                    tokio::time::sleep(interval).await;
                }
                let ids = match &only {
                    Some(id) => vec![id.clone()],
                    None => match blocking_read(&store, |s| s.ids()).await {
                        Ok(ids) => ids,
                        Err(e) => return Some((Err(e), (queue, seen, false))),
                    },
                };
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                for id in ids {
                    let key = id.clone();
                    let found = blocking_read(&store, move |s| s.get(&key)).await;
                    let Ok(Some(uuid)) = found.map(|d| d.and_then(|d| d.service_uuid)) else {
                        continue;
                    };
                    let svc = match client.service(&uuid).await {
                        Ok(s) => s,
                        Err(e) => return Some((Err(e), (queue, seen, false))),
                    };
                    let current: Vec<(String, ServiceState)> = match &svc {
                        Some(svc) => svc
                            .containers()
                            .map(|c| (c.name.clone(), domain::state_of(c.status.as_deref())))
                            .collect(),
                        None => seen
                            .keys()
                            .filter(|(p, _)| p == &id)
                            .map(|(_, s)| (s.clone(), ServiceState::Missing))
                            .collect(),
                    };
                    for (service, state) in current {
                        let key = (id.clone(), service.clone());
                        let before = seen.insert(key, state);
                        if before == Some(state) || (before.is_none() && first) {
                            continue;
                        }
                        queue.push(StatusEvent {
                            project: id.clone(),
                            service,
                            action: action_of(state).into(),
                            time: now,
                        });
                    }
                }
                queue.reverse();
                first = false;
            }
        }
    })
    .boxed()
}

/// A store read off the async runtime.
async fn blocking_read<T: Send + 'static>(
    store: &Arc<dyn crate::DeploymentStore>,
    f: impl FnOnce(&dyn crate::DeploymentStore) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .unwrap_or_else(|e| {
            Err(supalove_core::Error::Io {
                context: "a background task failed".into(),
                source: std::io::Error::other(e.to_string()),
            })
        })
}

/// What a polled log view has seen and not yet handed out.
#[derive(Default)]
struct LogPoll {
    queue: std::collections::VecDeque<LogLine>,
    /// The last line seen per service, so the next poll emits only what follows it.
    last: BTreeMap<String, String>,
    polled: bool,
}

impl LogPoll {
    fn take(&mut self, service: &str, text: &str) {
        let all: Vec<&str> = text.lines().collect();
        let start = self
            .last
            .get(service)
            .and_then(|prev| all.iter().rposition(|l| l == prev))
            .map(|i| i + 1)
            .unwrap_or(0);
        if let Some(l) = all.last() {
            self.last.insert(service.to_string(), l.to_string());
        }
        for line in &all[start..] {
            let (timestamp, text) = split_timestamp(line);
            self.queue
                .push_back(LogLine::new(service, LogStream::Stdout, timestamp, text));
        }
    }
}

/// The engine action a state change corresponds to, in Docker's words.
fn action_of(state: ServiceState) -> &'static str {
    match state {
        ServiceState::Healthy => "health_status: healthy",
        ServiceState::Unhealthy => "health_status: unhealthy",
        ServiceState::Starting => "start",
        ServiceState::Restarting => "restart",
        ServiceState::Stopped => "die",
        ServiceState::Paused => "pause",
        ServiceState::Missing => "destroy",
    }
}

/// Each container of a service as a [`ServiceStatus`].
pub fn statuses(svc: &Service) -> Vec<ServiceStatus> {
    svc.containers()
        .map(|c| ServiceStatus {
            service: c.name.clone(),
            container: format!("{}-{}", c.name, svc.uuid),
            state: domain::state_of(c.status.as_deref()),
            image: c.image.clone(),
            exit_code: None,
            started_at: None,
        })
        .collect()
}

/// `2026-01-01T00:00:00.000Z text` → (time stamp, text), as `show_timestamps` prints.
fn split_timestamp(line: &str) -> (Option<String>, &str) {
    match line.split_once(' ') {
        Some((ts, rest)) if ts.len() >= 20 && ts.as_bytes()[4] == b'-' && ts.contains('T') => {
            (Some(ts.to_string()), rest)
        }
        _ => (None, line),
    }
}
