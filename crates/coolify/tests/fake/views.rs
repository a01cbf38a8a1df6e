//! The JSON bodies the fake answers with (Coolify's models, as its API shows them).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;

pub(super) fn server_json(st: &State) -> Value {
    let mut v = json!({
        "id": 0,
        "uuid": st.server_uuid,
        "name": "localhost",
        "description": "the fake's only server",
        "ip": st.server_ip,
        "user": "root",
        "port": 22,
        "proxy_type": "traefik",
        "is_reachable": true,
        "is_usable": true,
        "settings": {
            "id": 0,
            "is_reachable": true,
            "is_usable": true,
            "is_build_server": st.knobs.build_server,
        }
    });
    // Coolify sends null when unset; the document (3.1, `nullable` ignored) says string, so
    // the fake leaves the key out rather than answer what its own document refuses.
    if let Some(w) = &st.knobs.wildcard_domain {
        v["settings"]["wildcard_domain"] = json!(w);
    }
    v
}

pub(super) fn project_json(i: usize, p: &FProject) -> Value {
    let mut v = json!({"id": i + 1, "uuid": p.uuid, "name": p.name});
    if let Some(d) = &p.description {
        v["description"] = json!(d);
    }
    v
}

pub(super) fn env_json(i: usize, uuid: &str, name: &str) -> Value {
    json!({"id": i + 1, "uuid": uuid, "name": name, "project_id": 1,
           "created_at": "2026-12-02T10:00:00.000000Z", "updated_at": "2026-12-02T10:00:00.000000Z"})
}

pub(super) fn env_var_json(i: usize, e: &FEnv, sensitive: bool) -> Value {
    let mut v = json!({
        "id": i + 1, "uuid": e.uuid, "key": e.key, "resourceable_type": "App\\Models\\Service",
        "resourceable_id": 1, "is_literal": e.is_literal, "is_multiline": e.is_multiline,
        "is_preview": false, "is_runtime": true, "is_buildtime": false, "is_shared": false,
        "is_shown_once": e.is_shown_once, "version": "4.3.11",
        "created_at": "2026-12-02T10:00:00.000000Z", "updated_at": "2026-12-02T10:00:00.000000Z",
    });
    // Values are hidden without read:sensitive, and always when shown once.
    if sensitive && !e.is_shown_once {
        v["value"] = json!(e.value);
        v["real_value"] = json!(e.value);
    }
    v
}

pub(super) fn service_json(st: &State, s: &FService) -> Value {
    let sub = |x: &FSub| {
        let mut v = json!({"uuid": x.uuid, "name": x.name, "image": x.image, "status": x.status});
        if let Some(f) = &x.fqdn {
            v["fqdn"] = json!(f);
        }
        v
    };
    let status = aggregate(s);
    json!({
        "id": 1,
        "uuid": s.uuid,
        "name": s.name,
        "description": s.description.clone().unwrap_or_default(),
        "docker_compose_raw": s.compose,
        "docker_compose": s.compose,
        "server_status": true,
        "status": status,
        "server_id": 0,
        "applications": s.subs.iter().filter(|x| !x.is_database).map(sub).collect::<Vec<_>>(),
        "databases": s.subs.iter().filter(|x| x.is_database).map(sub).collect::<Vec<_>>(),
        "connect_to_docker_network": false,
        "destination_type": "App\\Models\\StandaloneDocker",
        "destination_id": if st.destinations.is_empty() { 0 } else { 1 },
    })
}

pub(super) fn aggregate(s: &FService) -> String {
    let all_healthy = s.subs.iter().all(|x| x.status == "running:healthy");
    match &s.phase {
        Phase::Exited => "exited:unhealthy".into(),
        Phase::Starting(_) => "starting:unhealthy".into(),
        Phase::Running if all_healthy => "running:healthy".into(),
        Phase::Running => "degraded:unhealthy".into(),
    }
}

/// A start: Coolify writes every variable to `.env` and runs compose up.
pub(super) fn begin_start(svc: &mut FService) {
    svc.phase = Phase::Starting(0);
    let env: BTreeMap<String, String> = svc
        .envs
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    svc.env_at_start.push(env);
    for s in &mut svc.subs {
        s.status = "starting:unhealthy".into();
    }
}

/// One status poll: a starting service turns running after `healthy_after` polls; each
/// container is healthy only if every variable it uses was set before the start.
pub(super) fn advance(svc: &mut FService, knobs: &Knobs) {
    if let Phase::Starting(n) = svc.phase {
        if n + 1 < knobs.healthy_after {
            svc.phase = Phase::Starting(n + 1);
            return;
        }
        svc.phase = Phase::Running;
        let env = svc.env_at_start.last().cloned().unwrap_or_default();
        for s in &mut svc.subs {
            let missing = s
                .needs
                .iter()
                .any(|v| env.get(v).is_none_or(String::is_empty));
            let broken = knobs.never_healthy.as_deref() == Some(s.name.as_str());
            s.status = if missing || broken {
                "running:unhealthy".into()
            } else {
                "running:healthy".into()
            };
        }
    }
}

pub(super) fn checked_key(body: &Value) -> Option<String> {
    let key = body["key"].as_str()?;
    let mut chars = key.chars();
    let first = chars.next()?;
    let ok = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    ok.then(|| key.to_string())
}

pub(super) fn env_from(uuid: String, body: &Value) -> FEnv {
    FEnv {
        uuid,
        key: body["key"].as_str().unwrap_or_default().to_string(),
        value: body["value"].as_str().unwrap_or_default().to_string(),
        is_literal: body["is_literal"].as_bool().unwrap_or(false),
        is_multiline: body["is_multiline"].as_bool().unwrap_or(false),
        is_shown_once: body["is_shown_once"].as_bool().unwrap_or(false),
    }
}
