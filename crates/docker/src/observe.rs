//! Watching a project: container states, the events stream, logs.

use bollard::container::LogOutput;
use bollard::models::{ContainerStateStatusEnum, EventMessageTypeEnum, HealthStatusEnum};
use bollard::query_parameters::{EventsOptions, LogsOptions};
use bollard::Docker;
use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;
use supalove_core::provisioner::{
    LogLine, LogOptions, LogStream, ServiceState, ServiceStatus, StatusEvent,
};
use supalove_core::Result;

use crate::docker_error;
use crate::labels::{container_name, project_filter, PROJECT_LABEL, SERVICE_LABEL};
use crate::lifecycle::{containers, name_of, service_of};

/// The state of each of the project's containers, from inspect.
pub async fn status(docker: &Docker, id: &str) -> Result<Vec<ServiceStatus>> {
    let mut out = Vec::new();
    for c in containers(docker, id).await? {
        let name = name_of(&c);
        let inspect = match docker.inspect_container(&name, None).await {
            Ok(i) => i,
            Err(e) if crate::is_not_found(&e) => continue,
            Err(e) => return Err(docker_error(e)),
        };
        let st = inspect.state.unwrap_or_default();
        let health = st.health.as_ref().and_then(|h| h.status);
        let state = match st.status {
            Some(ContainerStateStatusEnum::RUNNING) => match health {
                Some(HealthStatusEnum::STARTING) => ServiceState::Starting,
                Some(HealthStatusEnum::UNHEALTHY) => ServiceState::Unhealthy,
                _ => ServiceState::Healthy,
            },
            Some(ContainerStateStatusEnum::RESTARTING) => ServiceState::Restarting,
            Some(ContainerStateStatusEnum::PAUSED) => ServiceState::Paused,
            _ => ServiceState::Stopped,
        };
        let stopped = state == ServiceState::Stopped;
        out.push(ServiceStatus {
            service: service_of(&c),
            container: name,
            state,
            image: inspect.config.and_then(|c| c.image),
            exit_code: if stopped { st.exit_code } else { None },
            started_at: st.started_at,
        });
    }
    Ok(out)
}

/// Container events of one project (or all), mapped to status events.
pub fn events(docker: &Docker, id: Option<&str>) -> BoxStream<'static, Result<StatusEvent>> {
    let mut filters = project_filter(id);
    filters.insert("type".into(), vec!["container".into()]);
    let opts = EventsOptions {
        filters: Some(filters),
        ..Default::default()
    };
    docker
        .events(Some(opts))
        .filter_map(|ev| async move {
            let ev = match ev {
                Ok(ev) => ev,
                Err(e) => return Some(Err(docker_error(e))),
            };
            if ev.typ != Some(EventMessageTypeEnum::CONTAINER) {
                return None;
            }
            let attrs = ev.actor.and_then(|a| a.attributes).unwrap_or_default();
            Some(Ok(StatusEvent {
                project: attrs.get(PROJECT_LABEL).cloned().unwrap_or_default(),
                service: attrs.get(SERVICE_LABEL).cloned().unwrap_or_default(),
                action: ev.action.unwrap_or_default(),
                time: ev.time.unwrap_or(0),
            }))
        })
        .boxed()
}

/// Logs of one service, or all services merged as lines arrive.
pub fn logs(
    docker: &Docker,
    id: &str,
    service: Option<&str>,
    options: LogOptions,
) -> BoxStream<'static, Result<LogLine>> {
    let docker = docker.clone();
    let id = id.to_string();
    let service = service.map(str::to_string);
    stream::once(async move {
        let targets: Vec<(String, String)> = match service {
            Some(s) => vec![(s.clone(), container_name(&id, &s))],
            None => match containers(&docker, &id).await {
                Ok(list) => list.iter().map(|c| (service_of(c), name_of(c))).collect(),
                Err(e) => return stream::once(async { Err(e) }).boxed(),
            },
        };
        let streams: Vec<_> = targets
            .into_iter()
            .map(|(svc, container)| one_container(&docker, svc, container, &options))
            .collect();
        stream::select_all(streams).boxed()
    })
    .flatten()
    .boxed()
}

fn one_container(
    docker: &Docker,
    service: String,
    container: String,
    options: &LogOptions,
) -> BoxStream<'static, Result<LogLine>> {
    let first = read_once(
        docker,
        &service,
        &container,
        options.follow,
        options.tail,
        None,
    );
    if !options.follow {
        return first;
    }
    // Following: when the container stops, Docker ends the stream. Wait for it to run again
    // (a restart, or a stop then start) and carry on from where we were, so a log view
    // survives restarts.
    let docker = docker.clone();
    struct Follow {
        docker: Docker,
        service: String,
        container: String,
        current: BoxStream<'static, Result<LogLine>>,
        last_ts: Option<String>,
    }
    let state = Follow {
        docker,
        service,
        container,
        current: first,
        last_ts: None,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            match st.current.next().await {
                Some(Ok(line)) => {
                    // After a reattach Docker repeats the last second; skip what we sent.
                    if let (Some(ts), Some(last)) = (&line.timestamp, &st.last_ts) {
                        if ts <= last {
                            continue;
                        }
                    }
                    if line.timestamp.is_some() {
                        st.last_ts = line.timestamp.clone();
                    }
                    return Some((Ok(line), st));
                }
                Some(Err(e)) => return Some((Err(e), st)),
                None => {
                    // Wait until the container runs again; stop if it is gone for good.
                    loop {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        match st.docker.inspect_container(&st.container, None).await {
                            Ok(i) if i.state.as_ref().and_then(|s| s.running) == Some(true) => {
                                break
                            }
                            Ok(_) => continue,
                            Err(_) => return None,
                        }
                    }
                    let since = st.last_ts.as_deref().and_then(unix_seconds).unwrap_or(0);
                    st.current = read_once(
                        &st.docker,
                        &st.service,
                        &st.container,
                        true,
                        None,
                        Some(since),
                    );
                }
            }
        }
    })
    .boxed()
}

/// Seconds since the Unix epoch of Docker's `2026-11-24T14:19:36.111111111Z` stamps.
fn unix_seconds(ts: &str) -> Option<i32> {
    let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
    i32::try_from(t.unix_timestamp()).ok()
}

fn read_once(
    docker: &Docker,
    service: &str,
    container: &str,
    follow: bool,
    tail: Option<u64>,
    since: Option<i32>,
) -> BoxStream<'static, Result<LogLine>> {
    let opts = LogsOptions {
        follow,
        stdout: true,
        stderr: true,
        timestamps: true,
        since: since.unwrap_or(0),
        tail: tail.map(|n| n.to_string()).unwrap_or_else(|| "all".into()),
        ..Default::default()
    };
    let service = service.to_string();
    docker
        .logs(container, Some(opts))
        .flat_map(move |chunk| {
            let lines: Vec<Result<LogLine>> = match chunk {
                Err(e) => vec![Err(docker_error(e))],
                Ok(out) => {
                    let (stream, bytes) = match out {
                        LogOutput::StdErr { message } => (LogStream::Stderr, message),
                        LogOutput::StdOut { message }
                        | LogOutput::Console { message }
                        | LogOutput::StdIn { message } => (LogStream::Stdout, message),
                    };
                    String::from_utf8_lossy(&bytes)
                        .lines()
                        .map(|l| Ok(split_timestamp(&service, stream, l)))
                        .collect()
                }
            };
            stream::iter(lines)
        })
        .boxed()
}

fn split_timestamp(service: &str, stream: LogStream, line: &str) -> LogLine {
    let (timestamp, text) = match line.split_once(' ') {
        Some((ts, rest)) if ts.len() >= 20 && ts.as_bytes()[4] == b'-' && ts.ends_with('Z') => {
            (Some(ts.to_string()), rest)
        }
        _ => (None, line),
    };
    LogLine::new(service, stream, timestamp, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_stamps_to_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:01.5Z"), Some(1));
        assert_eq!(
            unix_seconds("2026-11-24T00:00:00.000000001Z"),
            Some(1_795_478_400)
        );
        assert_eq!(unix_seconds("junk"), None);
    }

    #[test]
    fn timestamps_split_off() {
        let l = split_timestamp(
            "db",
            LogStream::Stdout,
            "2026-11-24T14:19:36.111111111Z LOG:  hi there",
        );
        assert_eq!(
            l.timestamp.as_deref(),
            Some("2026-11-24T14:19:36.111111111Z")
        );
        assert_eq!(l.text, "LOG:  hi there");
        assert_eq!(l.level, Some(supalove_core::provisioner::LogLevel::Info));
        // A real Postgres line: its own stamp for the same instant is not shown twice.
        let pg = split_timestamp(
            "db",
            LogStream::Stderr,
            "2026-12-03T11:14:50.169109961Z 2026-12-03 11:14:50.168 UTC [1] LOG:  database system is ready to accept connections",
        );
        assert_eq!(
            pg.message(),
            "[1] LOG:  database system is ready to accept connections"
        );
        assert!(pg.text.starts_with("2026-12-03 11:14:50.168 UTC [1]"));
        let plain = split_timestamp("db", LogStream::Stderr, "no stamp here");
        assert_eq!(plain.timestamp, None);
        assert_eq!(plain.text, "no stamp here");
    }
}
