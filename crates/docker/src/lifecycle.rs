//! Start, stop, find and remove a project's objects.

use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
    RemoveVolumeOptions, StartContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use std::collections::HashMap;
use supalove_core::provisioner::{Progress, ProgressSink, ProjectResources, RemoveReport, Stage};
use supalove_core::Result;

use crate::labels::{project_filter, project_prefix, SERVICE_LABEL};
use crate::{docker_error, is_not_found};

/// The project's containers, in creation order (dependencies first).
pub async fn containers(docker: &Docker, id: &str) -> Result<Vec<ContainerSummary>> {
    let opts = ListContainersOptions {
        all: true,
        filters: Some(project_filter(Some(id))),
        ..Default::default()
    };
    let mut list = docker
        .list_containers(Some(opts))
        .await
        .map_err(docker_error)?;
    // Creation order is dependency order; `db` before the rest breaks same-second ties.
    list.sort_by_key(|c| (c.created.unwrap_or(0), service_of(c) != "db"));
    Ok(list)
}

/// The container's name without Docker's leading slash.
pub fn name_of(c: &ContainerSummary) -> String {
    c.names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_else(|| c.id.clone().unwrap_or_default())
}

/// The service a container runs, from its label.
pub fn service_of(c: &ContainerSummary) -> String {
    c.labels
        .as_ref()
        .and_then(|l| l.get(SERVICE_LABEL).cloned())
        .unwrap_or_else(|| name_of(c))
}

/// Starts every container, dependencies first.
pub async fn start(docker: &Docker, id: &str, progress: ProgressSink<'_>) -> Result<()> {
    for c in containers(docker, id).await? {
        let name = name_of(&c);
        progress(Progress::new(
            &service_of(&c),
            Stage::Starting,
            format!("starting {name}"),
        ));
        docker
            .start_container(&name, None::<StartContainerOptions>)
            .await
            .map_err(docker_error)?;
    }
    Ok(())
}

/// Stops every container, dependents first.
pub async fn stop(docker: &Docker, id: &str, progress: ProgressSink<'_>) -> Result<()> {
    for c in containers(docker, id).await?.iter().rev() {
        let name = name_of(c);
        let service = service_of(c);
        progress(Progress::new(
            &service,
            Stage::Stopping,
            format!("stopping {name}"),
        ));
        // None: the container's own stop timeout (from the spec's stop_grace_period).
        docker
            .stop_container(&name, None::<StopContainerOptions>)
            .await
            .map_err(docker_error)?;
        progress(Progress::new(
            &service,
            Stage::Stopped,
            format!("{name} stopped"),
        ));
    }
    Ok(())
}

/// Everything that carries the project's label (plus its network by name).
pub async fn resources(docker: &Docker, id: &str) -> Result<ProjectResources> {
    let containers = containers(docker, id).await?.iter().map(name_of).collect();
    let filters = Some(project_filter(Some(id)));
    let mut networks: Vec<String> = docker
        .list_networks(Some(ListNetworksOptions {
            filters: filters.clone(),
        }))
        .await
        .map_err(docker_error)?
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    let by_name = project_prefix(id);
    if !networks.contains(&by_name) && docker.inspect_network(&by_name, None).await.is_ok() {
        networks.push(by_name);
    }
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions { filters }))
        .await
        .map_err(docker_error)?
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect();
    Ok(ProjectResources {
        containers,
        networks,
        volumes,
    })
}

/// Everything Docker holds under the project's names: what carries its label (from any
/// supalove home) and what is merely named `project_<id>_*` (a manual `docker run`, a
/// compose export run by hand).
pub async fn name_holders(docker: &Docker, id: &str) -> Result<ProjectResources> {
    let mut found = resources(docker, id).await?;
    let prefix = format!("{}_", project_prefix(id));
    let by_name = HashMap::from([("name".to_string(), vec![prefix.clone()])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(by_name.clone()),
            ..Default::default()
        }))
        .await
        .map_err(docker_error)?;
    for c in &containers {
        let name = name_of(c);
        // Docker's name filter matches anywhere in the name: keep true prefixes only.
        if name.starts_with(&prefix) && !found.containers.contains(&name) {
            found.containers.push(name);
        }
    }
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(by_name),
        }))
        .await
        .map_err(docker_error)?
        .volumes
        .unwrap_or_default();
    for v in volumes {
        if v.name.starts_with(&prefix) && !found.volumes.contains(&v.name) {
            found.volumes.push(v.name);
        }
    }
    found.containers.sort();
    found.volumes.sort();
    Ok(found)
}

/// Removes containers and networks, and volumes when asked.
pub async fn remove(
    docker: &Docker,
    id: &str,
    volumes: bool,
    progress: ProgressSink<'_>,
) -> Result<RemoveReport> {
    let found = resources(docker, id).await?;
    let mut report = RemoveReport::default();
    for name in &found.containers {
        progress(Progress::new(
            "project",
            Stage::Removing,
            format!("removing container {name}"),
        ));
        let opts = RemoveContainerOptions {
            force: true,
            v: false,
            ..Default::default()
        };
        match docker.remove_container(name, Some(opts)).await {
            Ok(()) => report.containers.push(name.clone()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(docker_error(e)),
        }
    }
    for name in &found.networks {
        progress(Progress::new(
            "project",
            Stage::Removing,
            format!("removing network {name}"),
        ));
        match docker.remove_network(name).await {
            Ok(()) => report.networks.push(name.clone()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(docker_error(e)),
        }
    }
    for name in found.volumes {
        if !volumes {
            report.volumes_kept.push(name);
            continue;
        }
        progress(Progress::new(
            "project",
            Stage::Removing,
            format!("removing volume {name}"),
        ));
        match docker
            .remove_volume(&name, None::<RemoveVolumeOptions>)
            .await
        {
            Ok(()) => report.volumes_removed.push(name),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(docker_error(e)),
        }
    }
    progress(Progress::new("project", Stage::Removed, "removed"));
    Ok(report)
}
