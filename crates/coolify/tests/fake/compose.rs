//! What Coolify does with a compose file on create and update: strict base64, YAML with
//! `services`, safe names, `content:` files, variables from `${...}`, domains from `urls`.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{json, Value};

use super::*;

/// What the compose parser makes of a `docker_compose_raw` (or a 422).
pub(super) struct Parsed {
    yaml: String,
    subs: Vec<FSub>,
    /// `${VAR}` / `${VAR:-d}` in `environment:` values, which Coolify turns into variables.
    env_defaults: Vec<(String, String)>,
    volume_keys: Vec<String>,
    files: Vec<(String, String, String)>,
}

pub(super) const FORBIDDEN: [&str; 10] = ["`", "$(", "${", "|", "&", ";", "<", ">", "\n", "\t"];

pub(super) fn parse_compose(raw: &str) -> Result<Parsed, Answer> {
    let b64 = base64::engine::general_purpose::STANDARD;
    // isBase64Encoded: base64_encode(base64_decode(x, strict)) === x.
    let decoded = b64
        .decode(raw)
        .ok()
        .filter(|d| b64.encode(d) == raw)
        .ok_or_else(|| {
            invalid(
                "docker_compose_raw",
                "The docker_compose_raw should be base64 encoded.",
            )
        })?;
    let yaml = String::from_utf8(decoded).map_err(|_| {
        invalid(
            "docker_compose_raw",
            "The docker_compose_raw should be Docker Compose YAML.",
        )
    })?;
    let doc: serde_norway::Value = serde_norway::from_str(&yaml)
        .map_err(|e| invalid("docker_compose_raw", &format!("Invalid YAML: {e}")))?;
    let services = doc
        .get("services")
        .and_then(|s| s.as_mapping())
        .ok_or_else(|| {
            invalid(
                "docker_compose_raw",
                "The compose file must have a services map.",
            )
        })?;
    let mut subs = Vec::new();
    let mut env_defaults = Vec::new();
    let mut files = Vec::new();
    for (name, svc) in services {
        let name = name.as_str().unwrap_or_default().to_string();
        if FORBIDDEN.iter().any(|f| name.contains(f)) {
            return Err(invalid(
                "docker_compose_raw",
                &format!("Invalid service name {name:?}."),
            ));
        }
        let mut clean = svc.clone();
        if let Some(vols) = svc.get("volumes").and_then(|v| v.as_sequence()) {
            let mut kept = Vec::new();
            for v in vols {
                let (source, target) = match v {
                    serde_norway::Value::String(s) => {
                        let mut parts = s.split(':');
                        (
                            parts.next().unwrap_or("").to_string(),
                            parts.next().unwrap_or("").to_string(),
                        )
                    }
                    m => (
                        m.get("source")
                            .and_then(|x| x.as_str())
                            .unwrap_or("")
                            .to_string(),
                        m.get("target")
                            .and_then(|x| x.as_str())
                            .unwrap_or("")
                            .to_string(),
                    ),
                };
                if FORBIDDEN
                    .iter()
                    .any(|f| source.contains(f) || target.contains(f))
                {
                    return Err(invalid(
                        "docker_compose_raw",
                        &format!("Invalid volume path {source:?}."),
                    ));
                }
                match v.get("content").and_then(|c| c.as_str()) {
                    Some(content) => files.push((name.clone(), target, content.to_string())),
                    None => kept.push(v.clone()),
                }
            }
            clean["volumes"] = serde_norway::Value::Sequence(kept);
        }
        let mut needs = BTreeSet::new();
        collect_vars(
            &serde_json::to_value(&clean).unwrap(),
            &mut needs,
            &mut Vec::new(),
        );
        if let Some(env) = svc.get("environment").and_then(|e| e.as_mapping()) {
            for (_, v) in env {
                if let Some(s) = v.as_str() {
                    let mut found = Vec::new();
                    collect_vars(&json!(s), &mut BTreeSet::new(), &mut found);
                    env_defaults.extend(found);
                }
            }
        }
        let image = svc
            .get("image")
            .and_then(|i| i.as_str())
            .unwrap_or("")
            .to_string();
        let repo = image.split(':').next().unwrap_or("");
        let is_database = [
            "postgres",
            "postgis/postgis",
            "bitnami/postgresql",
            "supabase/postgres",
            "mysql",
            "mariadb",
            "mongo",
            "redis",
        ]
        .iter()
        .any(|d| repo == *d || repo.ends_with(&format!("/{d}")));
        subs.push(FSub {
            uuid: String::new(),
            name,
            image,
            fqdn: None,
            status: "exited".into(),
            is_database,
            needs,
        });
    }
    let volume_keys = doc
        .get("volumes")
        .and_then(|v| v.as_mapping())
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Parsed {
        yaml,
        subs,
        env_defaults,
        volume_keys,
        files,
    })
}

pub(super) fn collect_vars(
    v: &Value,
    names: &mut BTreeSet<String>,
    defaults: &mut Vec<(String, String)>,
) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(i) = rest.find('$') {
                rest = &rest[i + 1..];
                if let Some(r) = rest.strip_prefix('$') {
                    rest = r;
                } else if let Some(r) = rest.strip_prefix('{') {
                    let end = r.find('}').unwrap_or(r.len());
                    let expr = &r[..end];
                    let (name, default) = expr.split_once(":-").unwrap_or((expr, ""));
                    let name = name.trim_end_matches(":?").to_string();
                    names.insert(name.clone());
                    defaults.push((name, default.to_string()));
                    rest = &r[end..];
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_vars(x, names, defaults)),
        Value::Object(o) => o.values().for_each(|x| collect_vars(x, names, defaults)),
        _ => {}
    }
}

/// Checks `urls` against the compose services and the other services' domains.
pub(super) fn apply_urls(
    st: &State,
    own: Option<&str>,
    subs: &mut [FSub],
    urls: &Value,
    force: bool,
) -> Result<(), Answer> {
    let Some(urls) = urls.as_array() else {
        return Ok(());
    };
    let mut conflicts = Vec::new();
    for u in urls {
        let name = u["name"].as_str().unwrap_or_default();
        let url = u["url"].as_str().unwrap_or_default();
        let Some(sub) = subs.iter_mut().find(|s| s.name == name) else {
            return Err(invalid(
                "urls",
                &format!("Service {name} not found in the compose file."),
            ));
        };
        for one in url.split(',') {
            if !(one.starts_with("http://") || one.starts_with("https://")) {
                return Err(invalid(
                    "urls",
                    &format!("Invalid URL {one}: only http and https are allowed."),
                ));
            }
            let host = host_of(one);
            for other in st
                .services
                .values()
                .filter(|s| Some(s.uuid.as_str()) != own)
            {
                for x in &other.subs {
                    if x.fqdn
                        .as_deref()
                        .is_some_and(|f| f.split(',').any(|f| host_of(f) == host))
                    {
                        conflicts.push(json!({"domain": host, "resource_name": other.name, "resource_uuid": other.uuid, "resource_type": "service"}));
                    }
                }
            }
        }
        sub.fqdn = Some(url.to_string());
    }
    if !conflicts.is_empty() && !force {
        return Err(json_answer(
            409,
            json!({
                "message": "Domain conflicts detected. Use force_domain_override=true to proceed.",
                "warning": "Using the same domain for multiple resources can cause routing conflicts and unpredictable behavior.",
                "conflicts": conflicts,
            }),
        ));
    }
    Ok(())
}

pub(super) fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split('/').next().unwrap_or(rest);
    host.rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host)
        .to_string()
}

pub(super) fn create_service(st: &mut State, body: &Value) -> Answer {
    if body.get("environment_name").is_none() && body.get("environment_uuid").is_none() {
        return invalid(
            "environment_name",
            "You need to provide at least one of environment_name or environment_uuid.",
        );
    }
    if body.get("type").is_some() && body.get("docker_compose_raw").is_some() {
        return invalid(
            "type",
            "The type and docker_compose_raw fields are mutually exclusive.",
        );
    }
    if body.get("tags").is_some() && st.knobs.version.as_str() < "4.2.0" {
        return invalid("tags", "This field is not allowed.");
    }
    if body["server_uuid"] != st.server_uuid.as_str() {
        return message(404, "Server not found.");
    }
    if st.knobs.build_server {
        return invalid(
            "server_uuid",
            "Build servers cannot be used to deploy resources.",
        );
    }
    let Some(project) = st
        .projects
        .iter()
        .find(|p| p.uuid == body["project_uuid"].as_str().unwrap_or_default())
        .cloned()
    else {
        return message(404, "Project not found.");
    };
    let env = project.environments.iter().find(|(u, n)| {
        body["environment_name"].as_str() == Some(n) || body["environment_uuid"].as_str() == Some(u)
    });
    let Some((_, env_name)) = env.cloned() else {
        return message(404, "Environment not found.");
    };
    if st.destinations.len() > 1 && body.get("destination_uuid").is_none() {
        return message(
            400,
            "Server has multiple destinations and you do not set destination_uuid.",
        );
    }
    let Some(raw) = body["docker_compose_raw"].as_str() else {
        return invalid(
            "docker_compose_raw",
            "The docker_compose_raw field is required.",
        );
    };
    let parsed = match parse_compose(raw) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let mut subs = parsed.subs;
    let force = body["force_domain_override"].as_bool().unwrap_or(false);
    if let Err(a) = apply_urls(st, None, &mut subs, &body["urls"], force) {
        return a;
    }
    let uuid = st.uuid();
    for s in &mut subs {
        s.uuid = st.uuid();
    }
    let mut envs = Vec::new();
    for (k, d) in parsed.env_defaults {
        if !envs.iter().any(|e: &FEnv| e.key == k) {
            envs.push(FEnv {
                uuid: st.uuid(),
                key: k,
                value: d,
                is_literal: false,
                is_multiline: false,
                is_shown_once: false,
            });
        }
    }
    let domains: Vec<String> = subs.iter().filter_map(|s| s.fqdn.clone()).collect();
    let svc = FService {
        uuid: uuid.clone(),
        name: body["name"].as_str().unwrap_or("service").to_string(),
        description: body["description"].as_str().map(str::to_string),
        project_uuid: project.uuid.clone(),
        environment: env_name,
        server_uuid: st.server_uuid.clone(),
        compose: parsed.yaml,
        subs,
        envs,
        phase: Phase::Exited,
        volume_names: parsed
            .volume_keys
            .iter()
            .map(|k| format!("{uuid}_{k}"))
            .collect(),
        files: parsed.files,
        env_at_start: vec![],
    };
    let instant = body["instant_deploy"].as_bool().unwrap_or(false);
    st.services.insert(uuid.clone(), svc);
    if instant {
        let svc = st.services.get_mut(&uuid).unwrap();
        begin_start(svc);
    }
    json_answer(201, json!({ "uuid": uuid, "domains": domains }))
}

pub(super) fn update_service(st: &mut State, uuid: &str, body: &Value) -> Answer {
    let Some(current) = st.services.get(uuid).cloned() else {
        return message(404, "Service not found.");
    };
    let mut svc = current.clone();
    if let Some(raw) = body.get("docker_compose_raw") {
        let parsed = match parse_compose(raw.as_str().unwrap_or_default()) {
            Ok(p) => p,
            Err(a) => return a,
        };
        // Re-parsing keeps sub-resources by name, their domains, and every edited variable.
        let mut subs = parsed.subs;
        for s in &mut subs {
            if let Some(old) = current.subs.iter().find(|o| o.name == s.name) {
                s.uuid = old.uuid.clone();
                s.fqdn = old.fqdn.clone();
                s.status = old.status.clone();
            }
        }
        for s in subs.iter_mut().filter(|s| s.uuid.is_empty()) {
            s.uuid = format!("sub{}", s.name);
        }
        for (k, d) in parsed.env_defaults {
            if !svc.envs.iter().any(|e| e.key == k) {
                svc.envs.push(FEnv {
                    uuid: format!("env{k}"),
                    key: k,
                    value: d,
                    is_literal: false,
                    is_multiline: false,
                    is_shown_once: false,
                });
            }
        }
        svc.subs = subs;
        svc.compose = parsed.yaml;
        svc.files = parsed.files;
        svc.volume_names = parsed
            .volume_keys
            .iter()
            .map(|k| format!("{uuid}_{k}"))
            .collect();
    }
    let force = body["force_domain_override"].as_bool().unwrap_or(false);
    if let Err(a) = apply_urls(st, Some(uuid), &mut svc.subs, &body["urls"], force) {
        return a;
    }
    if let Some(n) = body["name"].as_str() {
        svc.name = n.to_string();
    }
    let domains: Vec<String> = svc.subs.iter().filter_map(|s| s.fqdn.clone()).collect();
    st.services.insert(uuid.to_string(), svc);
    json_answer(200, json!({ "uuid": uuid, "domains": domains }))
}
