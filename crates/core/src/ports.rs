//! Port allocation: a per-project offset over configurable bases, skipping anything taken.

use std::net::{Ipv4Addr, TcpListener};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::registry::ProjectRecord;
use crate::settings::Settings;

/// The host ports a project publishes on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Ports {
    /// The offset both ports were derived from (when allocated automatically).
    pub offset: u16,
    /// Postgres.
    pub db: u16,
    /// The Realtime service (`REALTIME_PORT = realtime base + offset`).
    pub realtime: u16,
}

impl Ports {
    /// Each port with what it is for.
    pub fn named(&self) -> [(&'static str, u16); 2] {
        [("db", self.db), ("realtime", self.realtime)]
    }
}

/// Ports a person asked for explicitly.
#[derive(Debug, Clone, Copy, Default)]
pub struct PortRequest {
    /// Host port for Postgres.
    pub db: Option<u16>,
    /// Host port for Realtime.
    pub realtime: Option<u16>,
    /// Allow ports below 1024 (only honoured for root, who alone may bind them).
    pub allow_privileged: bool,
}

/// The lowest port a project may publish without `allow_privileged`.
pub const FIRST_UNPRIVILEGED_PORT: u16 = 1024;

/// Refuses requested ports that cannot work: 0 (Docker would pick a random one that supalove
/// never learns) and ports below 1024 unless root asked for them. Checks only the request,
/// so it runs before anything is touched.
pub fn check_request(request: &PortRequest) -> Result<()> {
    check_request_as(request, running_as_root())
}

fn check_request_as(request: &PortRequest, root: bool) -> Result<()> {
    for (what, port) in [("db", request.db), ("realtime", request.realtime)] {
        let Some(port) = port else { continue };
        let reason = if port == 0 {
            "port 0 would let Docker pick a random port".to_string()
        } else if port < FIRST_UNPRIVILEGED_PORT && !(root && request.allow_privileged) {
            if root {
                "it is below 1024 (a privileged port): pass --allow-privileged-ports to use it"
                    .to_string()
            } else {
                "it is below 1024 (a privileged port, which only root may publish)".to_string()
            }
        } else {
            continue;
        };
        return Err(Error::PortOutOfRange {
            port,
            what: what.to_string(),
            reason,
        });
    }
    Ok(())
}

/// True when this process runs as root (the owner of `/proc/self` is its effective user).
fn running_as_root() -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Picks the lowest free offset (or checks the requested ports) against the other projects
/// and against every listener on this machine.
pub fn allocate(
    settings: &Settings,
    others: &[ProjectRecord],
    request: PortRequest,
) -> Result<Ports> {
    let held_by = |port: u16| {
        others
            .iter()
            .find(|p| p.ports.named().iter().any(|(_, q)| *q == port))
    };
    let used_offset = |offset: u16| others.iter().any(|p| p.ports.offset == offset);

    // Both ports given: there is exactly one candidate, offset 0 marks it as custom.
    let offsets = if request.db.is_some() && request.realtime.is_some() {
        0..=0
    } else {
        1..=settings.max_offset
    };
    for offset in offsets {
        if offset != 0 && used_offset(offset) {
            continue;
        }
        let ports = Ports {
            offset,
            db: request.db.unwrap_or(settings.db_port_base + offset),
            realtime: request
                .realtime
                .unwrap_or(settings.realtime_port_base + offset),
        };
        let mut free = true;
        for (what, port) in ports.named() {
            let explicit = match what {
                "db" => request.db.is_some(),
                _ => request.realtime.is_some(),
            };
            let owner = if let Some(p) = held_by(port) {
                Some(format!("supalove project {:?}", p.name))
            } else if !port_is_free(port) {
                Some(describe_listener(port))
            } else {
                None
            };
            if let Some(owner) = owner {
                if explicit {
                    return Err(Error::PortInUse {
                        port,
                        what: what.to_string(),
                        owner,
                    });
                }
                free = false;
                break;
            }
        }
        if ports.db == ports.realtime {
            return Err(Error::PortInUse {
                port: ports.db,
                what: "realtime".into(),
                owner: "this project's own db port".into(),
            });
        }
        if free {
            return Ok(ports);
        }
    }
    Err(Error::NoFreePorts {
        first: 1,
        last: settings.max_offset,
    })
}

/// Checks that a project's stored ports are still free of foreign listeners before it starts.
pub fn check_still_free(ports: &Ports, ours: &[u16]) -> Result<()> {
    for (what, port) in ports.named() {
        if ours.contains(&port) {
            continue;
        }
        if !port_is_free(port) {
            return Err(Error::PortInUse {
                port,
                what: what.to_string(),
                owner: describe_listener(port),
            });
        }
    }
    Ok(())
}

/// True when nothing listens on `port` on 127.0.0.1 (or on all addresses).
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Names the program listening on `port`, as well as this OS lets us see.
pub fn describe_listener(port: u16) -> String {
    match listener_process(port) {
        Some((pid, name)) if name == "docker-proxy" => {
            format!("docker-proxy (pid {pid}): a port published by a Docker container")
        }
        Some((pid, name)) => format!("{name} (pid {pid})"),
        None => "another program on 127.0.0.1".to_string(),
    }
}

#[cfg(target_os = "linux")]
fn listener_process(port: u16) -> Option<(u32, String)> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" {
                continue;
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", cols[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for proc_entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = proc_entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(proc_entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if inodes.iter().any(|i| target.as_os_str() == i.as_str()) {
                    let name = std::fs::read_to_string(proc_entry.path().join("comm"))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_else(|_| "unknown".into());
                    return Some((pid, name));
                }
            }
        }
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn listener_process(_port: u16) -> Option<(u32, String)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ProjectRecord;

    fn settings(db: u16, rt: u16) -> Settings {
        let mut s = Settings::from_env().unwrap();
        s.db_port_base = db;
        s.realtime_port_base = rt;
        s.max_offset = 50;
        s
    }

    fn record(name: &str, ports: Ports) -> ProjectRecord {
        ProjectRecord::new(name.into(), ports, "img".into(), 0)
    }

    #[test]
    fn skips_offsets_held_by_projects() {
        let s = settings(41000, 42000);
        let first = allocate(&s, &[], PortRequest::default()).unwrap();
        let a = record("a", first);
        let second = allocate(&s, &[a], PortRequest::default()).unwrap();
        assert_ne!(first.offset, second.offset);
        assert_eq!(second.db, 41000 + second.offset);
        assert_eq!(second.realtime, 42000 + second.offset);
    }

    #[test]
    fn skips_ports_bound_by_a_foreign_listener_and_names_it() {
        let s = settings(43000, 44000);
        let first = allocate(&s, &[], PortRequest::default()).unwrap();
        let _hold = TcpListener::bind((Ipv4Addr::LOCALHOST, first.realtime)).unwrap();
        let next = allocate(&s, &[], PortRequest::default()).unwrap();
        assert!(next.offset > first.offset);
        let err = allocate(
            &s,
            &[],
            PortRequest {
                db: None,
                realtime: Some(first.realtime),
                allow_privileged: false,
            },
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&first.realtime.to_string()), "{msg}");
        // The listener is this test process itself, so its name must appear.
        let me = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert!(msg.contains(me.trim()), "{msg}");
    }

    #[test]
    fn port_zero_and_privileged_ports_are_refused() {
        let req = |db: Option<u16>, realtime: Option<u16>, allow: bool| PortRequest {
            db,
            realtime,
            allow_privileged: allow,
        };
        for root in [false, true] {
            let e = check_request_as(&req(Some(0), None, true), root).unwrap_err();
            assert!(e.to_string().contains("port 0"), "{e}");
            assert_eq!(e.kind().as_str(), "port_out_of_range");
            let e = check_request_as(&req(None, Some(0), true), root).unwrap_err();
            assert!(e.to_string().contains("(realtime)"), "{e}");
            let e = check_request_as(&req(Some(80), None, false), root).unwrap_err();
            assert!(e.to_string().contains("below 1024"), "{e}");
            assert!(check_request_as(&req(Some(1024), Some(65535), false), root).is_ok());
            assert!(check_request_as(&req(None, None, false), root).is_ok());
        }
        // Only root, and only when asked, gets a privileged port.
        assert!(check_request_as(&req(Some(80), Some(443), true), true).is_ok());
        let e = check_request_as(&req(Some(80), None, true), false).unwrap_err();
        assert!(e.to_string().contains("only root"), "{e}");
        let e = check_request_as(&req(Some(80), None, false), true).unwrap_err();
        assert!(e.to_string().contains("--allow-privileged-ports"), "{e}");
    }

    #[test]
    fn explicit_port_held_by_a_project_names_the_project() {
        let s = settings(45000, 46000);
        let first = allocate(&s, &[], PortRequest::default()).unwrap();
        let a = record("shop", first);
        let err = allocate(
            &s,
            &[a],
            PortRequest {
                db: Some(first.db),
                realtime: None,
                allow_privileged: false,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"shop\""), "{err}");
    }
}
