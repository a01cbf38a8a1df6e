//! Making the engine match a stack spec: images, network, volumes, containers, uploads.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, RemoveContainerOptions, StartContainerOptions,
    UploadToContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use supalove_core::provisioner::{Progress, ProgressSink, Stage};
use supalove_core::spec::{parse_duration, Mount as SpecMount, ServiceSpec, StackSpec};
use supalove_core::template::{RenderedStack, Upload};
use supalove_core::{Error, Result};

use crate::labels::{
    project_prefix, COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, CONFIG_HASH_LABEL, PROJECT_LABEL,
    SERVICE_LABEL,
};
use crate::{docker_error, is_conflict, is_not_found};

/// Docker's zero time: a container that was created but never started.
const NEVER_STARTED: &str = "0001-01-01T00:00:00Z";

/// Applies the whole stack; see `Provisioner::apply`.
pub async fn apply(
    docker: &Docker,
    id: &str,
    stack: &RenderedStack,
    allow_pull: bool,
    progress: ProgressSink<'_>,
) -> Result<()> {
    let spec = &stack.spec;
    let order = spec.start_order()?;
    for name in &order {
        ensure_image(
            docker,
            name,
            &spec.services[name].image,
            allow_pull,
            progress,
        )
        .await?;
    }
    let network = ensure_network(docker, id, spec).await?;
    ensure_volumes(docker, id, spec).await?;
    for name in &order {
        let svc = &spec.services[name];
        let uploads: Vec<&Upload> = stack
            .uploads
            .iter()
            .filter(|u| &u.service == name)
            .collect();
        ensure_container(docker, id, name, svc, spec, &network, &uploads, progress).await?;
    }
    Ok(())
}

/// Makes sure `image` is present: already there, else pulled with progress.
pub async fn ensure_image(
    docker: &Docker,
    service: &str,
    image: &str,
    allow_pull: bool,
    progress: ProgressSink<'_>,
) -> Result<()> {
    match docker.inspect_image(image).await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(docker_error(e)),
    }
    if !allow_pull {
        return Err(Error::ImageMissing {
            image: image.to_string(),
            detail: "it is not present locally and pulling is disabled (SUPALOVE_PULL=never)"
                .into(),
        });
    }
    progress(Progress::new(
        service,
        Stage::Pulling,
        format!("pulling {image}"),
    ));
    let (repo, tag) = split_tag(image);
    let opts = CreateImageOptions {
        from_image: Some(repo.to_string()),
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
    let mut stream = docker.create_image(Some(opts), None, None);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| Error::ImageMissing {
            image: image.to_string(),
            detail: e.to_string(),
        })?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(Error::ImageMissing {
                image: image.to_string(),
                detail: err,
            });
        }
        if let (Some(layer), Some(detail)) = (info.id.clone(), info.progress_detail) {
            if let (Some(cur), Some(total)) = (detail.current, detail.total) {
                layers.insert(layer, (cur.max(0) as u64, total.max(0) as u64));
            }
        }
        let (cur, total) = layers
            .values()
            .fold((0, 0), |(c, t), (lc, lt)| (c + lc, t + lt));
        let mut p = Progress::new(
            service,
            Stage::Pulling,
            info.status.unwrap_or_else(|| "pulling".into()),
        );
        if total > 0 {
            p.current = Some(cur);
            p.total = Some(total);
        }
        progress(p);
    }
    Ok(())
}

fn split_tag(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

fn base_labels(id: &str) -> HashMap<String, String> {
    HashMap::from([
        (PROJECT_LABEL.to_string(), id.to_string()),
        (COMPOSE_PROJECT_LABEL.to_string(), project_prefix(id)),
    ])
}

async fn ensure_network(docker: &Docker, id: &str, spec: &StackSpec) -> Result<String> {
    let name = spec
        .networks
        .get("default")
        .map(|n| n.name.clone())
        .unwrap_or_else(|| project_prefix(id));
    match docker.inspect_network(&name, None).await {
        Ok(_) => return Ok(name),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(docker_error(e)),
    }
    let mut labels = base_labels(id);
    labels.insert("com.docker.compose.network".into(), "default".into());
    let req = NetworkCreateRequest {
        name: name.clone(),
        driver: Some("bridge".into()),
        labels: Some(labels),
        ..Default::default()
    };
    match docker.create_network(req).await {
        Ok(_) => Ok(name),
        Err(e) if is_conflict(&e) => Ok(name),
        Err(e) => Err(docker_error(e)),
    }
}

async fn ensure_volumes(docker: &Docker, id: &str, spec: &StackSpec) -> Result<()> {
    for (key, vol) in &spec.volumes {
        match docker.inspect_volume(&vol.name).await {
            Ok(_) => continue,
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(docker_error(e)),
        }
        let mut labels = base_labels(id);
        labels.insert("com.docker.compose.volume".into(), key.clone());
        labels.extend(vol.labels.clone());
        let req = VolumeCreateRequest {
            name: Some(vol.name.clone()),
            labels: Some(labels),
            ..Default::default()
        };
        docker.create_volume(req).await.map_err(docker_error)?;
    }
    Ok(())
}

/// Hash of everything a container is created from, so a changed spec means a new container.
fn config_hash(svc: &ServiceSpec, uploads: &[&Upload]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(svc).expect("spec serializes"));
    for u in uploads {
        h.update(u.path.as_bytes());
        h.update(&u.contents);
    }
    h.finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn ensure_container(
    docker: &Docker,
    id: &str,
    service: &str,
    svc: &ServiceSpec,
    spec: &StackSpec,
    network: &str,
    uploads: &[&Upload],
    progress: ProgressSink<'_>,
) -> Result<()> {
    let name = &svc.container_name;
    let hash = config_hash(svc, uploads);
    match docker.inspect_container(name, None).await {
        Ok(existing) => {
            let labels = existing
                .config
                .as_ref()
                .and_then(|c| c.labels.clone())
                .unwrap_or_default();
            let state = existing.state.unwrap_or_default();
            let never_started = state
                .started_at
                .as_deref()
                .is_none_or(|s| s == NEVER_STARTED);
            let same = labels.get(CONFIG_HASH_LABEL) == Some(&hash);
            if same && !never_started {
                // Running, or restarting by its policy: it holds its ports already.
                if state.running != Some(true) && state.restarting != Some(true) {
                    progress(Progress::new(
                        service,
                        Stage::Starting,
                        format!("starting {name}"),
                    ));
                    start(docker, name, service, svc).await?;
                }
                return Ok(());
            }
            let why = if same {
                "it never started (interrupted provisioning)"
            } else {
                "its spec changed"
            };
            progress(Progress::new(
                service,
                Stage::Creating,
                format!("recreating {name}: {why}"),
            ));
            let opts = RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            docker
                .remove_container(name, Some(opts))
                .await
                .map_err(docker_error)?;
            ports_released(svc).await;
        }
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(docker_error(e)),
    }
    progress(Progress::new(
        service,
        Stage::Creating,
        format!("creating {name}"),
    ));
    let body = create_body(id, service, svc, spec, network, &hash)?;
    let opts = CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    match docker.create_container(Some(opts), body).await {
        Ok(_) => {}
        Err(e) if is_conflict(&e) => {
            // Another supalove run created it a moment ago; it converges on the same spec.
            return Ok(());
        }
        Err(e) => return Err(docker_error(e)),
    }
    if !uploads.is_empty() {
        upload(docker, name, uploads).await?;
    }
    progress(Progress::new(
        service,
        Stage::Starting,
        format!("starting {name}"),
    ));
    start(docker, name, service, svc).await
}

/// Starts a container. A published host port that something else holds is named with its
/// owner, found by probing the port (before the start, and again after a failed one: another
/// program can take it in between), never by reading Docker's error text.
async fn start(docker: &Docker, name: &str, service: &str, svc: &ServiceSpec) -> Result<()> {
    let ports: Vec<(std::net::Ipv4Addr, u16)> = svc
        .port_bindings()?
        .into_iter()
        .map(|b| (b.host_ip, b.host_port))
        .collect();
    if taken_port(service, &ports).await.is_err() {
        // A proxy of a container Docker is still tearing down (or an interrupted start) lets
        // go within moments; a program that really holds the port is named after that.
        ports_released(svc).await;
        taken_port(service, &ports).await?;
    }
    match docker
        .start_container(name, None::<StartContainerOptions>)
        .await
    {
        Ok(()) => Ok(()),
        Err(e) => {
            taken_port(service, &ports).await?;
            Err(docker_error(e))
        }
    }
}

/// Docker frees a removed container's published ports a moment after the removal (its
/// docker-proxy exits on its own; a start interrupted by a killed client can leave one behind
/// for a while): wait for them, a bounded 5 s, before the new container claims them. If they
/// stay taken, the start names the holder.
async fn ports_released(svc: &ServiceSpec) {
    use backon::{ConstantBuilder, Retryable};
    let Ok(bindings) = svc.port_bindings() else {
        return;
    };
    let ports: Vec<(std::net::Ipv4Addr, u16)> = bindings
        .into_iter()
        .filter(|b| b.host_ip.is_loopback() || b.host_ip.is_unspecified())
        .map(|b| (b.host_ip, b.host_port))
        .collect();
    let all_free = || {
        let ports = ports.clone();
        async move {
            let free = ports
                .iter()
                .all(|&(ip, port)| std::net::TcpListener::bind((ip, port)).is_ok());
            if free {
                Ok(())
            } else {
                Err(())
            }
        }
    };
    let policy = ConstantBuilder::new()
        .with_delay(std::time::Duration::from_millis(50))
        .with_max_times(100);
    let _ = all_free.retry(policy).await;
}

/// The first of `ports` (host address, port) that another program listens on, as
/// `Error::PortInUse`. Only loopback bindings are probed: they are on this machine.
async fn taken_port(service: &str, ports: &[(std::net::Ipv4Addr, u16)]) -> Result<()> {
    let ports = ports.to_vec();
    let service = service.to_string();
    tokio::task::spawn_blocking(move || {
        for (ip, port) in ports {
            if !ip.is_loopback() && !ip.is_unspecified() {
                continue;
            }
            let free = std::net::TcpListener::bind((ip, port)).is_ok();
            if !free {
                return Err(Error::PortInUse {
                    port,
                    what: format!("{service}'s published port"),
                    owner: supalove_core::ports::describe_listener(port),
                });
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::Docker(format!("port probe: {e}")))?
}

async fn upload(docker: &Docker, container: &str, uploads: &[&Upload]) -> Result<()> {
    let mut archive = tar::Builder::new(Vec::new());
    for u in uploads {
        let mut header = tar::Header::new_gnu();
        header.set_size(u.contents.len() as u64);
        header.set_mode(u.mode);
        header.set_uid(u64::from(u.uid));
        header.set_gid(u64::from(u.uid));
        header.set_mtime(0);
        let path = u.path.trim_start_matches('/');
        archive
            .append_data(&mut header, path, u.contents.as_slice())
            .map_err(|e| Error::Docker(format!("packing {}: {e}", u.path)))?;
    }
    let bytes = archive
        .into_inner()
        .map_err(|e| Error::Docker(format!("packing uploads: {e}")))?;
    let opts = UploadToContainerOptions {
        path: "/".into(),
        ..Default::default()
    };
    docker
        .upload_to_container(container, Some(opts), bollard::body_full(bytes.into()))
        .await
        .map_err(docker_error)
}

fn nanos(text: &Option<String>) -> Result<Option<i64>> {
    text.as_deref()
        .map(|t| parse_duration(t).map(|d| d.as_nanos() as i64))
        .transpose()
}

fn create_body(
    id: &str,
    service: &str,
    svc: &ServiceSpec,
    spec: &StackSpec,
    network: &str,
    hash: &str,
) -> Result<ContainerCreateBody> {
    let mut labels = base_labels(id);
    labels.insert(SERVICE_LABEL.into(), service.into());
    labels.insert(COMPOSE_SERVICE_LABEL.into(), service.into());
    labels.insert(CONFIG_HASH_LABEL.into(), hash.into());
    labels.extend(svc.labels.clone());

    let mut port_bindings = HashMap::new();
    let mut exposed = Vec::new();
    for p in svc.port_bindings()? {
        let key = format!("{}/tcp", p.container_port);
        exposed.push(key.clone());
        port_bindings.insert(
            key,
            Some(vec![PortBinding {
                host_ip: Some(p.host_ip.to_string()),
                host_port: Some(p.host_port.to_string()),
            }]),
        );
    }
    let mut mounts = Vec::new();
    for m in svc.mounts()? {
        if let SpecMount::Volume {
            volume,
            target,
            read_only,
        } = m
        {
            let source = spec
                .volumes
                .get(&volume)
                .map(|v| v.name.clone())
                .ok_or_else(|| {
                    Error::Template(format!(
                        "service {service} mounts undeclared volume {volume}"
                    ))
                })?;
            mounts.push(Mount {
                target: Some(target),
                source: Some(source),
                typ: Some(MountType::VOLUME),
                read_only: Some(read_only),
                ..Default::default()
            });
        }
    }
    let restart = match svc.restart.as_deref() {
        None | Some("no") => RestartPolicyNameEnum::NO,
        Some("always") => RestartPolicyNameEnum::ALWAYS,
        Some("unless-stopped") => RestartPolicyNameEnum::UNLESS_STOPPED,
        Some("on-failure") => RestartPolicyNameEnum::ON_FAILURE,
        Some(other) => return Err(Error::Template(format!("unknown restart policy {other:?}"))),
    };
    let healthcheck = match &svc.healthcheck {
        Some(h) => Some(HealthConfig {
            test: Some(h.test.clone()),
            interval: nanos(&h.interval)?,
            timeout: nanos(&h.timeout)?,
            retries: h.retries.map(i64::from),
            start_period: nanos(&h.start_period)?,
            ..Default::default()
        }),
        None => None,
    };
    let aliases = svc
        .networks
        .get("default")
        .map(|n| n.aliases.clone())
        .unwrap_or_default();
    let stop_timeout = svc
        .stop_grace_period
        .as_deref()
        .map(parse_duration)
        .transpose()?
        .map(|d| d.as_secs() as i64);
    Ok(ContainerCreateBody {
        image: Some(svc.image.clone()),
        cmd: (!svc.command.is_empty()).then(|| svc.command.clone()),
        env: Some(
            svc.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        labels: Some(labels),
        exposed_ports: Some(exposed),
        healthcheck,
        stop_signal: svc.stop_signal.clone(),
        stop_timeout,
        host_config: Some(HostConfig {
            port_bindings: Some(port_bindings),
            mounts: Some(mounts),
            restart_policy: Some(RestartPolicy {
                name: Some(restart),
                maximum_retry_count: None,
            }),
            network_mode: Some(network.to_string()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.to_string(),
                EndpointSettings {
                    aliases: Some(aliases),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(split_tag("postgres:15"), ("postgres", "15"));
        assert_eq!(split_tag("postgres"), ("postgres", "latest"));
        assert_eq!(
            split_tag("127.0.0.1:5000/pg"),
            ("127.0.0.1:5000/pg", "latest")
        );
        assert_eq!(
            split_tag("127.0.0.1:5000/pg:15"),
            ("127.0.0.1:5000/pg", "15")
        );
    }
}
