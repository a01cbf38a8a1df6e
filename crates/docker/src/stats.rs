//! CPU and memory of a project's running containers, from the engine's stats endpoint.

use bollard::models::ContainerSummaryStateEnum;
use bollard::query_parameters::StatsOptions;
use bollard::Docker;
use futures_util::StreamExt;
use supalove_core::provisioner::ServiceStats;
use supalove_core::Result;

use crate::docker_error;
use crate::lifecycle::{containers, name_of, service_of};

/// One sample per running container, taken concurrently.
pub async fn stats(docker: &Docker, id: &str) -> Result<Vec<ServiceStats>> {
    let running: Vec<_> = containers(docker, id)
        .await?
        .into_iter()
        .filter(|c| c.state == Some(ContainerSummaryStateEnum::RUNNING))
        .collect();
    let samples = running.iter().map(|c| async move {
        let name = name_of(c);
        let opts = StatsOptions {
            stream: false,
            one_shot: false,
        };
        let sample = docker.stats(&name, Some(opts)).next().await;
        (c, name, sample)
    });
    let mut out = Vec::new();
    for (c, name, sample) in futures_util::future::join_all(samples).await {
        let Some(sample) = sample else { continue };
        let s = sample.map_err(docker_error)?;
        let cpu = s.cpu_stats.unwrap_or_default();
        let pre = s.precpu_stats.unwrap_or_default();
        let total = |c: &bollard::models::ContainerCpuStats| {
            c.cpu_usage
                .as_ref()
                .and_then(|u| u.total_usage)
                .unwrap_or(0)
        };
        let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
        let sys_delta = cpu
            .system_cpu_usage
            .unwrap_or(0)
            .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
        let cores = f64::from(cpu.online_cpus.unwrap_or(1).max(1));
        let cpu_percent = if sys_delta > 0.0 {
            cpu_delta / sys_delta * cores * 100.0
        } else {
            0.0
        };
        let mem = s.memory_stats.unwrap_or_default();
        // Like `docker stats`: usage minus the page cache.
        let cache = mem
            .stats
            .as_ref()
            .and_then(|m| {
                m.get("total_inactive_file")
                    .or_else(|| m.get("inactive_file"))
                    .copied()
            })
            .unwrap_or(0);
        out.push(ServiceStats {
            service: service_of(c),
            container: name,
            cpu_percent,
            memory_bytes: mem.usage.unwrap_or(0).saturating_sub(cache),
            memory_limit_bytes: mem.limit.unwrap_or(0),
        });
    }
    out.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(out)
}
