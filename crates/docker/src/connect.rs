//! Finding the Docker engine: `DOCKER_HOST`, then the sockets of the usual engines.

use std::path::PathBuf;

use bollard::{Docker, API_DEFAULT_VERSION};
use supalove_core::{Error, Result};

/// Seconds a single engine request may take.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// Candidate endpoints, in the order they are tried.
pub fn candidates(configured: Option<&str>) -> Vec<String> {
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        if !host.is_empty() {
            return vec![host];
        }
    }
    if let Some(host) = configured.filter(|h| !h.is_empty()) {
        return vec![host.to_string()];
    }
    let home = dirs_home();
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let mut paths: Vec<PathBuf> = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(h) = &home {
        paths.push(h.join(".docker/run/docker.sock")); // Docker Desktop (macOS, Linux)
        paths.push(h.join(".docker/desktop/docker.sock")); // Docker Desktop (Linux)
        paths.push(h.join(".orbstack/run/docker.sock")); // OrbStack
        paths.push(h.join(".colima/default/docker.sock")); // Colima
        paths.push(h.join(".colima/docker.sock"));
        paths.push(h.join(".rd/docker.sock")); // Rancher Desktop
    }
    if let Some(r) = &runtime {
        paths.push(r.join("docker.sock")); // rootless Docker
        paths.push(r.join("podman/podman.sock")); // rootless Podman
    }
    paths.push(PathBuf::from("/run/podman/podman.sock"));
    paths
        .into_iter()
        .map(|p| format!("unix://{}", p.display()))
        .collect()
}

fn dirs_home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Connects (DOCKER_HOST, else the configured host, else the usual sockets) to the first
/// endpoint that answers a ping, negotiating the API version. On failure the error names the
/// endpoints that exist and refused (not the sockets that are merely absent).
pub async fn connect(configured: Option<&str>) -> Result<(Docker, String)> {
    let candidates = candidates(configured);
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut absent: Vec<String> = Vec::new();
    for endpoint in &candidates {
        let client = if let Some(path) = endpoint.strip_prefix("unix://") {
            if !std::path::Path::new(path).exists() {
                absent.push(endpoint.clone());
                continue;
            }
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        } else if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
            Docker::connect_with_http(endpoint, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        } else {
            refused.push((
                endpoint.clone(),
                "unsupported scheme (use unix://, tcp:// or http://)".into(),
            ));
            continue;
        };
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                refused.push((endpoint.clone(), e.to_string()));
                continue;
            }
        };
        match client.ping().await {
            Ok(_) => {
                let client = client
                    .negotiate_version()
                    .await
                    .map_err(|e| Error::Docker(e.to_string()))?;
                return Ok((client, endpoint.clone()));
            }
            Err(e) => refused.push((endpoint.clone(), e.to_string())),
        }
    }
    Err(unreachable(refused, absent))
}

/// The outage error: the endpoints that refused, by name, or that no socket exists at all.
fn unreachable(refused: Vec<(String, String)>, absent: Vec<String>) -> Error {
    if refused.is_empty() {
        let detail = if absent.len() == 1 {
            format!("{} does not exist", absent[0].trim_start_matches("unix://"))
        } else {
            "no Docker socket exists at any of the usual places".to_string()
        };
        return Error::DockerUnavailable {
            tried: absent,
            detail,
        };
    }
    let detail = refused
        .iter()
        .map(|(endpoint, why)| format!("{endpoint} refused: {why}"))
        .collect::<Vec<_>>()
        .join("; ");
    Error::DockerUnavailable {
        tried: refused.into_iter().map(|(endpoint, _)| endpoint).collect(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_names_the_refusing_endpoint_not_absent_sockets() {
        let e = unreachable(
            vec![(
                "unix:///var/run/docker.sock".into(),
                "Connection refused (os error 111)".into(),
            )],
            vec!["unix:///run/podman/podman.sock".into()],
        );
        let text = e.to_string();
        assert!(text.contains("/var/run/docker.sock"), "{text}");
        assert!(!text.contains("podman"), "{text}");
        let none = unreachable(vec![], vec!["unix:///a".into(), "unix:///b".into()]);
        assert!(
            none.to_string().contains("no Docker socket exists"),
            "{none}"
        );
    }
}
