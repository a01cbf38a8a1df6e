//! The typed stack spec: the subset of the compose spec that supalove's templates use.
//!
//! Unknown keys are refused, so a template can never rely on something a provisioner ignores.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A whole project stack: services, named volumes, networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackSpec {
    /// Services by name, in a stable order.
    pub services: BTreeMap<String, ServiceSpec>,
    /// Named volumes by compose key.
    #[serde(default)]
    pub volumes: BTreeMap<String, VolumeSpec>,
    /// Networks by compose key (`default` is the project network).
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkSpec>,
    /// File-based secrets by name (compose's top-level `secrets:`).
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSpec>,
}

/// One service (container).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub image: String,
    /// Empty in the Coolify render (Coolify names containers `<service>-<uuid>` itself).
    #[serde(default)]
    pub container_name: String,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// `host_ip:host_port:container_port` entries.
    #[serde(default)]
    pub ports: Vec<String>,
    /// `volume:/path[:ro]` or `./relative:/path[:ro]` entries.
    #[serde(default)]
    pub volumes: Vec<String>,
    #[serde(default)]
    pub healthcheck: Option<HealthcheckSpec>,
    #[serde(default)]
    pub depends_on: BTreeMap<String, DependsOn>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub restart: Option<String>,
    #[serde(default)]
    pub stop_signal: Option<String>,
    #[serde(default)]
    pub stop_grace_period: Option<String>,
    #[serde(default)]
    pub networks: BTreeMap<String, ServiceNetwork>,
    /// Secrets placed in the container as files under `/run/secrets/`.
    #[serde(default)]
    pub secrets: Vec<ServiceSecret>,
}

/// A top-level secret: a file beside the compose file (`./secrets/<name>`). A secret named
/// `x` holds the stack variable `X`; the provisioner uploads it, the export writes the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    pub file: String,
}

/// A service's use of a secret (compose's long syntax; `mode` is always 0400 for uploads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSecret {
    pub source: String,
    /// File name under `/run/secrets/` (default: the source's name).
    #[serde(default)]
    pub target: Option<String>,
    /// Numeric owner of the file in the container (default 0), for images that run unprivileged.
    #[serde(default)]
    pub uid: Option<String>,
}

impl ServiceSecret {
    /// Absolute path of the secret's file inside the container.
    pub fn path(&self) -> String {
        let target = self.target.as_deref().unwrap_or(&self.source);
        if target.starts_with('/') {
            target.to_string()
        } else {
            format!("/run/secrets/{target}")
        }
    }
}

/// A container healthcheck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckSpec {
    pub test: Vec<String>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default)]
    pub start_period: Option<String>,
}

/// `depends_on: {svc: {condition: service_healthy}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependsOn {
    pub condition: String,
}

/// A service's membership in a network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A named volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortBinding {
    pub host_ip: std::net::Ipv4Addr,
    pub host_port: u16,
    pub container_port: u16,
}

/// What a service's `volumes:` entry means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A named volume from the stack's `volumes:`.
    Volume {
        volume: String,
        target: String,
        read_only: bool,
    },
    /// A folder shipped with the template; provisioners upload it (tar) instead of bind-mounting.
    TemplateDir { source: String, target: String },
}

impl ServiceSpec {
    /// Parses `ports:`; every entry must name a host IP.
    pub fn port_bindings(&self) -> Result<Vec<PortBinding>> {
        self.ports
            .iter()
            .map(|p| {
                let bad = || {
                    Error::Template(format!(
                        "port {p:?} is not host_ip:host_port:container_port"
                    ))
                };
                let parts: Vec<&str> = p.split(':').collect();
                let [ip, host, container] = parts[..] else {
                    return Err(bad());
                };
                Ok(PortBinding {
                    host_ip: ip.parse().map_err(|_| bad())?,
                    host_port: host.parse().map_err(|_| bad())?,
                    container_port: container.parse().map_err(|_| bad())?,
                })
            })
            .collect()
    }

    /// Parses `volumes:` into named volumes and template folders.
    pub fn mounts(&self) -> Result<Vec<Mount>> {
        self.volumes
            .iter()
            .map(|v| {
                let parts: Vec<&str> = v.split(':').collect();
                let (source, target, mode) = match parts[..] {
                    [s, t] => (s, t, None),
                    [s, t, m] => (s, t, Some(m)),
                    _ => {
                        return Err(Error::Template(format!(
                            "volume {v:?} is not source:target[:mode]"
                        )))
                    }
                };
                if let Some(rel) = source.strip_prefix("./") {
                    Ok(Mount::TemplateDir {
                        source: rel.to_string(),
                        target: target.to_string(),
                    })
                } else if source.starts_with('/') {
                    Err(Error::Template(format!(
                        "volume {v:?}: host paths are not portable; ship files with the template"
                    )))
                } else {
                    Ok(Mount::Volume {
                        volume: source.to_string(),
                        target: target.to_string(),
                        read_only: mode == Some("ro"),
                    })
                }
            })
            .collect()
    }

    /// Names of the services this one waits for.
    pub fn dependencies(&self) -> impl Iterator<Item = &String> {
        self.depends_on.keys()
    }
}

impl StackSpec {
    /// Service names so that each comes after what it depends on.
    pub fn start_order(&self) -> Result<Vec<String>> {
        let mut order: Vec<String> = Vec::new();
        let mut visiting = Vec::new();
        fn visit(
            spec: &StackSpec,
            name: &str,
            order: &mut Vec<String>,
            visiting: &mut Vec<String>,
        ) -> Result<()> {
            if order.iter().any(|n| n == name) {
                return Ok(());
            }
            if visiting.iter().any(|n| n == name) {
                return Err(Error::Template(format!("depends_on cycle through {name}")));
            }
            let svc = spec.services.get(name).ok_or_else(|| {
                Error::Template(format!("depends_on names unknown service {name}"))
            })?;
            visiting.push(name.to_string());
            for dep in svc.dependencies() {
                visit(spec, dep, order, visiting)?;
            }
            visiting.pop();
            order.push(name.to_string());
            Ok(())
        }
        for name in self.services.keys() {
            visit(self, name, &mut order, &mut visiting)?;
        }
        Ok(order)
    }
}

/// Parses compose durations such as `1s`, `500ms`, `1m30s` (whole numbers only, as compose).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || Error::Template(format!("duration {text:?} is not like 1s, 500ms or 1m30s"));
    let text = text.trim();
    // humantime reads more (`1 day`, spaces, fractions); we keep to the whole-number form.
    if text.is_empty() || text.contains(|c: char| c.is_whitespace() || c == '.') {
        return Err(bad());
    }
    humantime::parse_duration(text).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        for bad in ["", "s", "1x", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
