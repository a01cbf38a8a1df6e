//! Realtime's public address on Coolify (coolify-notes §3.2) and Coolify's status strings.

use supalove_core::provisioner::ServiceState;

use crate::client::Server;

/// The official engine takes its tenant from the first DNS label of `Host`; the seeded tenant.
pub const TENANT: &str = "realtime-dev";

/// The container port Realtime listens on; Coolify's proxy routes the domain to it.
pub const REALTIME_CONTAINER_PORT: u16 = 4000;

/// The `urls` entry for the realtime container: `https://realtime-dev.<id>.<wildcard>:4000`,
/// the user's own host, or `http://realtime-dev.<id>.<ip>.sslip.io:4000` without a wildcard.
/// The first label is the tenant, so the official engine finds `realtime-dev`.
pub fn realtime_url_for(project_id: &str, server: &Server, chosen: Option<&str>) -> String {
    let (scheme, host) = match chosen {
        Some(d) => match d.split_once("://") {
            Some((s, h)) => (s.to_string(), h.to_string()),
            None => ("https".to_string(), d.to_string()),
        },
        None => match server.wildcard_domain() {
            Some(w) => {
                let (s, h) = w.split_once("://").unwrap_or(("http", w.as_str()));
                (
                    s.to_string(),
                    format!("{TENANT}.{project_id}.{}", strip_port(h)),
                )
            }
            None => (
                "http".to_string(),
                format!("{TENANT}.{project_id}.{}.sslip.io", server.ip),
            ),
        },
    };
    let host = strip_port(host.trim_end_matches('/'));
    format!("{scheme}://{host}:{REALTIME_CONTAINER_PORT}")
}

fn strip_port(host: &str) -> &str {
    let host = host.split('/').next().unwrap_or(host);
    match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// The host part of a `urls` entry or an fqdn (`https://h:4000,https://g` → `h`).
pub fn host_of(url: &str) -> String {
    let first = url.split(',').next().unwrap_or(url).trim();
    let rest = first.split_once("://").map(|(_, r)| r).unwrap_or(first);
    strip_port(rest).to_string()
}

/// `ws(s)://<host>/socket` from the realtime container's fqdn: https → wss, http → ws.
pub fn socket_url(fqdn: &str) -> Option<String> {
    let first = fqdn.split(',').next()?.trim();
    if first.is_empty() {
        return None;
    }
    let scheme = if first.starts_with("https://") {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/socket", host_of(first)))
}

/// Coolify's `state:health` (or older `state (health)`) as a service state.
pub fn state_of(status: Option<&str>) -> ServiceState {
    let Some(status) = status else {
        return ServiceState::Missing;
    };
    let s = status.replace(['(', ')'], ":").replace(' ', "");
    let mut parts = s.split(':').filter(|p| !p.is_empty());
    let state = parts.next().unwrap_or("");
    let health = parts.next().unwrap_or("unknown");
    match state {
        "running" => match health {
            "healthy" => ServiceState::Healthy,
            "unhealthy" => ServiceState::Unhealthy,
            _ => ServiceState::Starting,
        },
        "starting" | "degraded" => ServiceState::Starting,
        "restarting" => ServiceState::Restarting,
        "paused" => ServiceState::Paused,
        "exited" | "stopped" => ServiceState::Stopped,
        _ => ServiceState::Missing,
    }
}

/// True for `running:healthy` (`running (healthy)`).
pub fn is_healthy(status: Option<&str>) -> bool {
    state_of(status) == ServiceState::Healthy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(ip: &str, wildcard: Option<&str>) -> Server {
        serde_json::from_value(serde_json::json!({
            "uuid": "s", "ip": ip, "settings": {"wildcard_domain": wildcard}
        }))
        .unwrap()
    }

    #[test]
    fn the_first_label_is_the_tenant() {
        assert_eq!(
            realtime_url_for(
                "shop",
                &server("1.2.3.4", Some("https://apps.example.com")),
                None
            ),
            "https://realtime-dev.shop.apps.example.com:4000"
        );
        assert_eq!(
            realtime_url_for("shop", &server("1.2.3.4", None), None),
            "http://realtime-dev.shop.1.2.3.4.sslip.io:4000"
        );
        assert_eq!(
            realtime_url_for(
                "shop",
                &server("1.2.3.4", None),
                Some("realtime-dev.shop.example.com")
            ),
            "https://realtime-dev.shop.example.com:4000"
        );
    }

    #[test]
    fn socket_urls_follow_the_scheme() {
        assert_eq!(
            socket_url("https://realtime-dev.shop.apps.example.com:4000").as_deref(),
            Some("wss://realtime-dev.shop.apps.example.com/socket")
        );
        assert_eq!(
            socket_url("http://a.1.2.3.4.sslip.io:4000,http://b").as_deref(),
            Some("ws://a.1.2.3.4.sslip.io/socket")
        );
        assert_eq!(socket_url(""), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(state_of(Some("running:healthy")), ServiceState::Healthy);
        assert_eq!(
            state_of(Some("running (unhealthy)")),
            ServiceState::Unhealthy
        );
        assert_eq!(state_of(Some("starting:unhealthy")), ServiceState::Starting);
        assert_eq!(state_of(Some("exited:unhealthy")), ServiceState::Stopped);
        assert_eq!(state_of(None), ServiceState::Missing);
    }
}
