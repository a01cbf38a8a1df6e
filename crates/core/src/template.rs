//! Renders `templates/docker-compose.project.yml` (minijinja) into a typed [`StackSpec`].
//!
//! Rendering happens in two steps. minijinja fills in the project's non-secret facts (id, image,
//! version); the result is a compose file whose `${VARS}` (ports, password) are resolved from the
//! project's environment, exactly as `docker-compose` resolves them from the exported `.env`.

use std::collections::BTreeMap;

use serde_norway::Value;

use crate::error::{Error, Result};
use crate::spec::{Mount, StackSpec};

/// The compose template, embedded so the binary works from any directory.
pub const COMPOSE_TEMPLATE: &str = include_str!("../../../templates/docker-compose.project.yml");

/// Files shipped beside the template, by folder: `(folder, [(file name, contents)])`.
pub const TEMPLATE_FILES: &[(&str, &[(&str, &str)])] = &[
    (
        "init",
        &[
            (
                "00-supalove-roles.sql",
                include_str!("../../../templates/init/00-supalove-roles.sql"),
            ),
            (
                "10-supalove-realtime.sql",
                include_str!("../../../templates/init/10-supalove-realtime.sql"),
            ),
            (
                "20-supalove-replication.sh",
                include_str!("../../../templates/init/20-supalove-replication.sh"),
            ),
        ],
    ),
    (
        "gateway",
        &[(
            "nginx.conf",
            include_str!("../../../templates/gateway/nginx.conf"),
        )],
    ),
];

/// The tags of `supabase/realtime` the template has a recipe for (each one read from that
/// tag's `config/runtime.exs`, `run.sh` and `Dockerfile`); the first is the default.
pub const SUPABASE_REALTIME_TAGS: &[&str] = &["v2.28.32", "v2.34.47"];

/// The tag of an image reference (`repo/name:tag` → `tag`; none → `latest`).
pub fn image_tag(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map_or("latest", |(_, tag)| tag)
}

/// Refuses a `supabase/realtime` tag the template has no recipe for, naming the known ones.
pub fn check_supabase_realtime_tag(tag: &str) -> Result<()> {
    if SUPABASE_REALTIME_TAGS.contains(&tag) {
        return Ok(());
    }
    Err(Error::InvalidSetting {
        name: "SUPALOVE_SUPABASE_REALTIME_TAG".into(),
        reason: format!(
            "supabase/realtime {tag:?} has no recipe in the stack template; supported tags: {}",
            SUPABASE_REALTIME_TAGS.join(", ")
        ),
    })
}

/// The non-secret facts a template is rendered with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TemplateContext {
    pub project: String,
    pub id: String,
    pub template_version: u32,
    pub db_image: String,
    /// `native` or `supabase`.
    pub realtime_engine: String,
    pub realtime_image: String,
    /// The official engine's tag (selects its recipe); empty for the native engine.
    pub realtime_tag: String,
    /// Whether the stack has the gateway in front of the engine (always for the official one).
    pub gateway: bool,
    /// The gateway's image (nginx).
    pub gateway_image: String,
    /// Where the stack runs: [`TARGET_LOCAL`] (a Docker engine supalove drives) or
    /// [`TARGET_COOLIFY`] (a compose file sent to a Coolify server).
    pub target: String,
}

/// The template's `target` for a Docker engine supalove drives itself.
pub const TARGET_LOCAL: &str = "local";
/// The template's `target` for a Coolify server: no `container_name`, init files inline
/// (`content:`), secrets as variables of Coolify's `.env`.
pub const TARGET_COOLIFY: &str = "coolify";

/// One init file, as the Coolify render inlines it.
#[derive(serde::Serialize)]
struct InitFile {
    name: &'static str,
    content: &'static str,
}

/// A file a provisioner must place in a container before its first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Service whose container receives it.
    pub service: String,
    /// Absolute path inside the container.
    pub path: String,
    /// File contents.
    pub contents: Vec<u8>,
    /// Permission bits (0644 for template files, 0400 for secrets).
    pub mode: u32,
    /// Numeric owner inside the container.
    pub uid: u32,
}

/// A rendered stack: the compose text, its resolved typed spec, and the files to upload.
#[derive(Debug, Clone)]
pub struct RenderedStack {
    /// Compose YAML with `${VARS}` left in place (safe to write to disk).
    pub compose_yaml: String,
    /// The spec with every variable resolved (holds secrets: keep in memory).
    pub spec: StackSpec,
    /// Template files to upload, per service.
    pub uploads: Vec<Upload>,
    /// The variables the compose text's `${VARS}` resolve from (holds secrets: keep in
    /// memory). Targets that resolve them on their side (Coolify's `.env`) are sent these.
    pub variables: BTreeMap<String, String>,
}

/// Renders the template with `ctx` and resolves its variables from `env`.
pub fn render(ctx: &TemplateContext, env: &BTreeMap<String, String>) -> Result<RenderedStack> {
    if ctx.realtime_engine == "supabase" {
        check_supabase_realtime_tag(&ctx.realtime_tag)?;
    }
    let mut jinja = minijinja::Environment::new();
    jinja.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // A YAML double-quoted scalar (JSON string syntax) for inline file contents.
    jinja.add_filter("quoted", |s: String| {
        serde_json::to_string(&s).unwrap_or_default()
    });
    jinja
        .add_template("compose", COMPOSE_TEMPLATE)
        .map_err(|e| Error::Template(e.to_string()))?;
    let init_files: Vec<InitFile> = TEMPLATE_FILES
        .iter()
        .filter(|(dir, _)| *dir == "init")
        .flat_map(|(_, files)| files.iter())
        .map(|(name, content)| InitFile { name, content })
        .collect();
    let compose_yaml = jinja
        .get_template("compose")
        .and_then(|t| {
            t.render(minijinja::context! {
                init_files => init_files,
                ..minijinja::Value::from_serialize(ctx)
            })
        })
        .map_err(|e| Error::Template(e.to_string()))?;
    let mut value: Value =
        serde_norway::from_str(&compose_yaml).map_err(|e| Error::Template(e.to_string()))?;
    let inline = take_inline_files(&mut value);
    interpolate_value(&mut value, env)?;
    let spec: StackSpec =
        serde_norway::from_value(value).map_err(|e| Error::Template(e.to_string()))?;
    let mut uploads = uploads_for(&spec)?;
    uploads.extend(secret_uploads(&spec, env)?);
    uploads.extend(inline);
    Ok(RenderedStack {
        compose_yaml,
        spec,
        uploads,
        variables: env.clone(),
    })
}

/// Takes Coolify's inline files (long-syntax binds with `content:`) out of the services'
/// `volumes:`: their text is file contents, not compose, so it is neither interpolated nor
/// typed; the spec lists them as uploads instead.
fn take_inline_files(value: &mut Value) -> Vec<Upload> {
    let mut uploads = Vec::new();
    let Some(services) = value.get_mut("services").and_then(Value::as_mapping_mut) else {
        return uploads;
    };
    for (name, svc) in services.iter_mut() {
        let Some(volumes) = svc.get_mut("volumes").and_then(Value::as_sequence_mut) else {
            continue;
        };
        volumes.retain(|v| {
            let (Some(target), Some(content)) = (
                v.get("target").and_then(Value::as_str),
                v.get("content").and_then(Value::as_str),
            ) else {
                return true;
            };
            uploads.push(Upload {
                service: name.as_str().unwrap_or_default().to_string(),
                path: target.to_string(),
                contents: content.as_bytes().to_vec(),
                mode: 0o644,
                uid: 0,
            });
            false
        });
    }
    uploads
}

fn uploads_for(spec: &StackSpec) -> Result<Vec<Upload>> {
    let mut uploads = Vec::new();
    for (service, svc) in &spec.services {
        for mount in svc.mounts()? {
            let Mount::TemplateDir { source, target } = mount else {
                continue;
            };
            let files = TEMPLATE_FILES
                .iter()
                .find(|(dir, _)| *dir == source)
                .ok_or_else(|| Error::Template(format!("no template folder {source:?}")))?
                .1;
            for (name, contents) in files {
                uploads.push(Upload {
                    service: service.clone(),
                    path: format!("{}/{name}", target.trim_end_matches('/')),
                    contents: contents.as_bytes().to_vec(),
                    mode: 0o644,
                    uid: 0,
                });
            }
        }
    }
    Ok(uploads)
}

/// The value of a declared secret: a secret named `x` holds the stack variable `X`.
pub fn secret_value<'a>(name: &str, env: &'a BTreeMap<String, String>) -> Result<&'a String> {
    env.get(&name.to_ascii_uppercase()).ok_or_else(|| {
        Error::Template(format!(
            "secret {name}: variable {} is not set",
            name.to_ascii_uppercase()
        ))
    })
}

/// Each service's secrets as 0400 files under `/run/secrets/`, so none sits in its environment.
fn secret_uploads(spec: &StackSpec, env: &BTreeMap<String, String>) -> Result<Vec<Upload>> {
    let mut uploads = Vec::new();
    for (service, svc) in &spec.services {
        for secret in &svc.secrets {
            if !spec.secrets.contains_key(&secret.source) {
                return Err(Error::Template(format!(
                    "service {service} uses undeclared secret {}",
                    secret.source
                )));
            }
            let uid = match secret.uid.as_deref() {
                None => 0,
                Some(u) => u.parse().map_err(|_| {
                    Error::Template(format!(
                        "secret {}: uid {u:?} is not a number",
                        secret.source
                    ))
                })?,
            };
            uploads.push(Upload {
                service: service.clone(),
                path: secret.path(),
                contents: secret_value(&secret.source, env)?.as_bytes().to_vec(),
                mode: 0o400,
                uid,
            });
        }
    }
    Ok(uploads)
}

/// Names of the `${VARS}` a rendered compose file uses, outside inline file contents (whose
/// `${...}` belong to a shell script). A target that resolves them itself must be given each.
pub fn referenced_variables(compose_yaml: &str) -> Result<std::collections::BTreeSet<String>> {
    let mut value: Value =
        serde_norway::from_str(compose_yaml).map_err(|e| Error::Template(e.to_string()))?;
    take_inline_files(&mut value);
    let mut names = std::collections::BTreeSet::new();
    collect_variables(&value, &mut names);
    Ok(names)
}

fn collect_variables(value: &Value, names: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(i) = rest.find('$') {
                rest = &rest[i + 1..];
                if let Some(r) = rest.strip_prefix('$') {
                    rest = r;
                } else if let Some(r) = rest.strip_prefix('{') {
                    let end = r.find('}').unwrap_or(r.len());
                    let expr = &r[..end];
                    let name = expr.split(":-").next().unwrap_or(expr);
                    names.insert(name.to_string());
                    rest = &r[end..];
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_variables(v, names)),
        Value::Mapping(map) => map.iter().for_each(|(_, v)| collect_variables(v, names)),
        _ => {}
    }
}

fn interpolate_value(value: &mut Value, env: &BTreeMap<String, String>) -> Result<()> {
    match value {
        Value::String(s) => *s = interpolate(s, env)?,
        Value::Sequence(items) => {
            for item in items {
                interpolate_value(item, env)?;
            }
        }
        Value::Mapping(map) => {
            for (_, v) in map.iter_mut() {
                interpolate_value(v, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Resolves `${NAME}`, `${NAME:-default}` and `$$` the way compose does.
pub fn interpolate(text: &str, env: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = rest.strip_prefix('{') {
            let end = r
                .find('}')
                .ok_or_else(|| Error::Template(format!("unclosed ${{ in {text:?}")))?;
            let expr = &r[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            match (env.get(name), default) {
                (Some(v), _) if !v.is_empty() => out.push_str(v),
                (_, Some(d)) => out.push_str(d),
                (Some(v), None) => out.push_str(v),
                (None, None) => return Err(Error::Template(format!("variable {name} is not set"))),
            }
            rest = &r[end + 1..];
        } else {
            return Err(Error::Template(format!(
                "a bare $ in {text:?}: write $$ for a literal dollar"
            )));
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        [
            ("DB_PASSWORD", "pw"),
            ("DB_PORT", "54401"),
            ("REALTIME_PORT", "8001"),
            ("JWT_SECRET", "jwt-secret"),
            ("ANON_KEY", "anon-key"),
            ("REALTIME_DB_ENC_KEY", "0123456789abcdef"),
            ("REALTIME_SECRET_KEY_BASE", "k".repeat(64).as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn ctx() -> TemplateContext {
        TemplateContext {
            project: "shop".into(),
            id: "shop".into(),
            template_version: 2,
            db_image: "supalove/postgres:15".into(),
            realtime_engine: "native".into(),
            realtime_image: "supalove/realtime:0.1.0".into(),
            target: TARGET_LOCAL.into(),
            realtime_tag: String::new(),
            gateway: false,
            gateway_image: "supalove/gateway:1".into(),
        }
    }

    fn official(tag: &str) -> TemplateContext {
        let mut c = ctx();
        c.realtime_engine = "supabase".into();
        c.realtime_image = format!("supabase/realtime:{tag}");
        c.realtime_tag = tag.into();
        c.gateway = true;
        c
    }

    #[test]
    fn renders_the_db_service() {
        let r = render(&ctx(), &env()).unwrap();
        let db = &r.spec.services["db"];
        assert_eq!(db.container_name, "project_shop_db");
        assert_eq!(&db.command[..3], ["postgres", "-c", "wal_level=logical"]);
        assert!(!db.environment.contains_key("POSTGRES_PASSWORD"));
        assert_eq!(
            db.environment["POSTGRES_PASSWORD_FILE"],
            "/run/secrets/db_password"
        );
        let pw = r
            .uploads
            .iter()
            .find(|u| u.service == "db" && u.path == "/run/secrets/db_password")
            .expect("the db password is uploaded as a file");
        assert_eq!(
            (pw.contents.as_slice(), pw.mode, pw.uid),
            (&b"pw"[..], 0o400, 0)
        );
        assert_eq!(db.environment["POSTGRES_DB"], "app");
        let ports = db.port_bindings().unwrap();
        assert_eq!(ports[0].host_ip.to_string(), "127.0.0.1");
        assert_eq!(ports[0].host_port, 54401);
        assert!(db.healthcheck.is_some());
        assert_eq!(r.spec.networks["default"].name, "project_shop");
        assert_eq!(r.spec.volumes["db-data"].name, "project_shop_db_data");
        assert!(
            !r.compose_yaml.contains("pw\n"),
            "secrets stay as ${{VARS}}"
        );
        assert!(r.compose_yaml.contains("file: ./secrets/db_password"));
        let init: Vec<_> = r.uploads.iter().map(|u| u.path.as_str()).collect();
        assert!(init.contains(&"/docker-entrypoint-initdb.d/00-supalove-roles.sql"));
        let sql = String::from_utf8(r.uploads[1].contents.clone()).unwrap();
        assert!(sql.contains("CREATE PUBLICATION supabase_realtime"));
        assert_eq!(r.spec.start_order().unwrap(), ["db", "realtime"]);
    }

    #[test]
    fn native_realtime_gets_exactly_the_plan_environment() {
        let r = render(&ctx(), &env()).unwrap();
        let rt = &r.spec.services["realtime"];
        assert_eq!(rt.container_name, "project_shop_realtime");
        assert_eq!(rt.image, "supalove/realtime:0.1.0");
        let want: std::collections::BTreeMap<String, String> = [
            ("PORT", "4000"),
            ("DB_HOST", "db"),
            ("DB_PORT", "5432"),
            ("DB_NAME", "app"),
            ("DB_USER", "app"),
            ("DB_PASSWORD_FILE", "/run/secrets/db_password"),
            ("JWT_SECRET_FILE", "/run/secrets/jwt_secret"),
            ("REPLICATION_MODE", "RLS"),
            ("REPLICATION_POLL_INTERVAL", "100"),
            ("SECURE_CHANNELS", "true"),
            ("SLOT_NAME", "supabase_realtime_replication_slot"),
            ("TEMPORARY_SLOT", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(rt.environment, want);
        let files: Vec<(&str, &[u8], u32, u32)> = r
            .uploads
            .iter()
            .filter(|u| u.service == "realtime")
            .map(|u| (u.path.as_str(), u.contents.as_slice(), u.mode, u.uid))
            .collect();
        assert_eq!(
            files,
            [
                ("/run/secrets/db_password", &b"pw"[..], 0o400, 65534),
                ("/run/secrets/jwt_secret", &b"jwt-secret"[..], 0o400, 65534),
            ],
            "the engine (user nobody) reads its secrets from 0400 files"
        );
        let ports = rt.port_bindings().unwrap();
        assert_eq!(
            (
                ports[0].host_ip.to_string().as_str(),
                ports[0].host_port,
                ports[0].container_port
            ),
            ("127.0.0.1", 8001, 4000)
        );
        assert_eq!(rt.depends_on["db"].condition, "service_healthy");
    }

    /// What every supported tag shares (config/runtime.exs of each tag).
    fn assert_common_official_env(e: &BTreeMap<String, String>) {
        for (k, v) in [
            ("PORT", "4000"),
            ("DB_HOST", "db"),
            ("DB_PORT", "5432"),
            ("DB_USER", "app"),
            ("DB_PASSWORD", "pw"),
            ("DB_NAME", "app"),
            ("DB_AFTER_CONNECT_QUERY", "SET search_path TO _realtime"),
            ("API_JWT_SECRET", "jwt-secret"),
            ("METRICS_JWT_SECRET", "jwt-secret"),
            ("APP_NAME", "realtime"),
            ("ERL_AFLAGS", "-proto_dist inet_tcp"),
            ("DNS_NODES", "''"),
            ("RLIMIT_NOFILE", ""),
        ] {
            assert_eq!(e.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert_eq!(
            e["DB_ENC_KEY"].len(),
            16,
            "DB_ENC_KEY must be exactly 16 bytes"
        );
        assert_eq!(e["SECRET_KEY_BASE"].len(), 64);
        for v0 in [
            "SECURE_CHANNELS",
            "JWT_SECRET",
            "REPLICATION_MODE",
            "SLOT_NAME",
            "TEMPORARY_SLOT",
            "REPLICATION_POLL_INTERVAL",
        ] {
            assert!(!e.contains_key(v0), "{v0} is a v0-only variable");
        }
    }

    /// The official engine is reached only through the gateway: the engine publishes nothing,
    /// the gateway publishes REALTIME_PORT on 127.0.0.1 and carries its nginx.conf.
    fn assert_gateway_in_front(r: &RenderedStack) {
        let rt = &r.spec.services["realtime"];
        assert_eq!(
            rt.container_name, "project_shop_realtime",
            "the engine keeps its name"
        );
        assert!(rt.ports.is_empty(), "only the gateway publishes a port");
        let gw = &r.spec.services["gateway"];
        assert_eq!(gw.container_name, "project_shop_gateway");
        assert_eq!(gw.image, "supalove/gateway:1");
        let ports = gw.port_bindings().unwrap();
        assert_eq!(
            (
                ports[0].host_ip.to_string().as_str(),
                ports[0].host_port,
                ports[0].container_port
            ),
            ("127.0.0.1", 8001, 4000)
        );
        assert_eq!(
            gw.command,
            [
                "nginx",
                "-c",
                "/etc/supalove/gateway/nginx.conf",
                "-g",
                "daemon off;"
            ]
        );
        assert!(gw.depends_on.contains_key("realtime"));
        assert_eq!(gw.stop_signal.as_deref(), Some("SIGTERM"));
        let conf = r
            .uploads
            .iter()
            .find(|u| u.service == "gateway" && u.path == "/etc/supalove/gateway/nginx.conf")
            .expect("the gateway's config is uploaded");
        let conf = String::from_utf8(conf.contents.clone()).unwrap();
        for needle in [
            "proxy_set_header Host realtime-dev;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection $connection_upgrade;",
            "proxy_read_timeout 1h;",
            "set $engine realtime:4000;",
            "rewrite ^ /socket/websocket break;",
            "rewrite ^/realtime/v1/api/(.*)$ /api/$1 break;",
            "location ~ ^/rest/v1(/|$)",
            "location ~ ^/auth/v1(/|$)",
            "location ~ ^/storage/v1(/|$)",
            "location ~ ^/functions/v1(/|$)",
            "location ~ ^/graphql/v1(/|$)",
        ] {
            assert!(conf.contains(needle), "nginx.conf lacks {needle:?}");
        }
        assert_eq!(
            start_order_index(r, "gateway"),
            2,
            "db, realtime, then gateway"
        );
    }

    fn start_order_index(r: &RenderedStack, service: &str) -> usize {
        let order = r.spec.start_order().unwrap();
        order.iter().position(|s| s == service).unwrap()
    }

    #[test]
    fn official_v2_28_32_follows_its_own_recipe() {
        let r = render(&official("v2.28.32"), &env()).unwrap();
        let rt = &r.spec.services["realtime"];
        assert_eq!(rt.image, "supabase/realtime:v2.28.32");
        let e = &rt.environment;
        assert_common_official_env(e);
        // v2.28.32 reads FLY_APP_NAME (APP_NAME came later) and has no SEED_SELF_HOST.
        assert_eq!(e["FLY_APP_NAME"], "realtime");
        assert_eq!(e["ENABLE_TAILSCALE"], "false");
        assert!(!e.contains_key("SEED_SELF_HOST"));
        assert!(!e.contains_key("DB_IP_VERSION"));
        // migrate, seed, then exec the server so the stop signal reaches it.
        assert_eq!(
            rt.command,
            ["sh", "-c", "/app/bin/migrate && /app/bin/realtime eval 'Realtime.Release.seeds(Realtime.Repo)' && exec /app/bin/server"]
        );
        assert!(
            rt.networks["default"]
                .aliases
                .contains(&"realtime-dev".to_string()),
            "tenant from Host"
        );
        let hc = rt.healthcheck.as_ref().unwrap().test.join(" ");
        assert!(
            hc.contains("/api/tenants/realtime-dev/health") && hc.contains("Bearer anon-key"),
            "{hc}"
        );
        assert_gateway_in_front(&r);
    }

    #[test]
    fn official_v2_34_47_follows_its_own_recipe() {
        let r = render(&official("v2.34.47"), &env()).unwrap();
        let rt = &r.spec.services["realtime"];
        assert_eq!(rt.image, "supabase/realtime:v2.34.47");
        let e = &rt.environment;
        assert_common_official_env(e);
        // runtime.exs of v2.34.47 reads APP_NAME (and raises without it), FLY_APP_NAME is gone;
        // its run.sh migrates and seeds with SEED_SELF_HOST=true, then execs the CMD.
        assert!(!e.contains_key("FLY_APP_NAME"));
        assert_eq!(e["SEED_SELF_HOST"], "true");
        assert_eq!(e["DB_IP_VERSION"], "ipv4");
        assert!(
            rt.command.is_empty(),
            "the image's own entrypoint (run.sh) and CMD (/app/bin/server) run"
        );
        assert_gateway_in_front(&r);
    }

    #[test]
    fn an_unknown_official_tag_is_refused_with_the_known_ones() {
        let err = render(&official("v9.9.9"), &env()).unwrap_err().to_string();
        assert!(err.contains("v9.9.9"), "{err}");
        for tag in SUPABASE_REALTIME_TAGS {
            assert!(err.contains(tag), "{err}");
        }
        assert_eq!(image_tag("supabase/realtime:v2.28.32"), "v2.28.32");
        assert_eq!(image_tag("localhost:5000/realtime"), "latest");
    }

    #[test]
    fn native_engine_behind_the_test_gateway() {
        let mut c = ctx();
        c.gateway = true;
        let r = render(&c, &env()).unwrap();
        assert_eq!(r.spec.services["realtime"].image, "supalove/realtime:0.1.0");
        assert_gateway_in_front(&r);
        let plain = render(&ctx(), &env()).unwrap();
        assert!(!plain.spec.services.contains_key("gateway"));
    }

    #[test]
    fn coolify_render_inlines_init_files_and_names_no_container() {
        let local = render(&ctx(), &env()).unwrap();
        let mut c = ctx();
        c.target = TARGET_COOLIFY.into();
        let r = render(&c, &env()).unwrap();
        assert!(
            !r.compose_yaml.contains("container_name"),
            "Coolify names containers"
        );
        assert!(
            !r.compose_yaml.contains("./secrets/"),
            "no file secrets on Coolify"
        );
        assert!(!r.compose_yaml.contains("./init:"), "no directory bind");
        let doc: Value = serde_norway::from_str(&r.compose_yaml).unwrap();
        let vols = doc["services"]["db"]["volumes"].as_sequence().unwrap();
        let inline: Vec<(&str, &str)> = vols
            .iter()
            .filter_map(|v| Some((v.get("target")?.as_str()?, v.get("content")?.as_str()?)))
            .collect();
        let files = TEMPLATE_FILES[0].1;
        assert_eq!(inline.len(), files.len());
        for ((target, content), (name, want)) in inline.iter().zip(files) {
            assert_eq!(*target, format!("/docker-entrypoint-initdb.d/{name}"));
            assert_eq!(content, want, "file contents verbatim, `$` included");
        }
        // Secrets are variables of Coolify's .env, resolved by compose there.
        let db = &r.spec.services["db"];
        assert_eq!(db.environment["POSTGRES_PASSWORD"], "pw");
        assert!(db.container_name.is_empty());
        assert_eq!(
            r.spec.services["realtime"].environment["JWT_SECRET"],
            "jwt-secret"
        );
        assert!(r.spec.secrets.is_empty());
        let vars = referenced_variables(&r.compose_yaml).unwrap();
        let want: std::collections::BTreeSet<String> =
            ["DB_PASSWORD", "DB_PORT", "JWT_SECRET", "REALTIME_PORT"]
                .into_iter()
                .map(String::from)
                .collect();
        assert_eq!(
            vars, want,
            "the shell script's ${{POSTGRES_HOST_AUTH_METHOD}} is not ours"
        );
        // The local render is untouched by the Coolify branch.
        assert!(local
            .compose_yaml
            .contains("container_name: project_shop_db"));
        assert!(local
            .compose_yaml
            .contains("- ./init:/docker-entrypoint-initdb.d:ro"));
        assert_eq!(
            r.uploads.iter().filter(|u| u.service == "db").count(),
            files.len()
        );
    }

    #[test]
    fn interpolation_rules() {
        let e = env();
        assert_eq!(interpolate("a${DB_PORT}b", &e).unwrap(), "a54401b");
        assert_eq!(interpolate("${NOPE:-x}", &e).unwrap(), "x");
        assert_eq!(interpolate("$$1", &e).unwrap(), "$1");
        assert!(interpolate("${NOPE}", &e)
            .unwrap_err()
            .to_string()
            .contains("NOPE"));
        assert!(interpolate("${DB_PORT", &e).is_err());
        assert!(interpolate("a $b", &e).is_err());
    }

    #[test]
    fn missing_variable_is_an_error() {
        let mut e = env();
        e.remove("DB_PASSWORD");
        let err = render(&ctx(), &e).unwrap_err().to_string();
        assert!(err.contains("DB_PASSWORD"), "{err}");
    }
}
