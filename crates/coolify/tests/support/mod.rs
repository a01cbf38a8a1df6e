//! Shared pieces of the Coolify tests: a rendered stack and a provisioner on a fake.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use supalove_coolify::{CoolifyConfig, CoolifyProvisioner, DeploymentStore, MemoryStore};
use supalove_core::provisioner::Progress;
use supalove_core::template::{self, RenderedStack, TemplateContext, TARGET_COOLIFY};

/// The variables a project's render resolves from (as core's `stack_env` makes them).
pub fn env(realtime_port: u16) -> BTreeMap<String, String> {
    [
        ("COMPOSE_PROJECT_NAME", "project_shop".to_string()),
        ("DB_PASSWORD", "pw-$ecret'quote".to_string()),
        ("DB_PORT", "54401".to_string()),
        ("REALTIME_PORT", realtime_port.to_string()),
        (
            "JWT_SECRET",
            "jwt-secret-jwt-secret-jwt-secret-42".to_string(),
        ),
        ("ANON_KEY", "anon.key.jwt".to_string()),
        ("SERVICE_ROLE_KEY", "service.role.jwt".to_string()),
        ("REALTIME_DB_ENC_KEY", "0123456789abcdef".to_string()),
        ("REALTIME_SECRET_KEY_BASE", "k".repeat(64)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The project's stack rendered for Coolify.
pub fn stack(id: &str, engine: &str, realtime_port: u16) -> RenderedStack {
    let ctx = TemplateContext {
        project: id.into(),
        id: id.into(),
        template_version: 2,
        db_image: "postgres:17".into(),
        realtime_engine: engine.into(),
        realtime_image: if engine == "supabase" {
            "supabase/realtime:v2.28.32".into()
        } else {
            "ghcr.io/example/supalove-realtime:0.1.0".into()
        },
        realtime_tag: if engine == "supabase" {
            "v2.28.32".into()
        } else {
            String::new()
        },
        // On Coolify its proxy presents the tenant host: no gateway (core decides the same).
        gateway: false,
        gateway_image: "nginx:1.27-alpine".into(),
        target: TARGET_COOLIFY.into(),
    };
    template::render(&ctx, &env(realtime_port)).expect("the Coolify render works")
}

/// A provisioner on `url` with fast polling.
pub fn provisioner_with(
    url: &str,
    token: &str,
    store: Arc<dyn DeploymentStore>,
) -> CoolifyProvisioner {
    let mut config = CoolifyConfig::new("test", url, token);
    config.poll_interval = Duration::from_millis(5);
    config.ready_timeout = Duration::from_secs(5);
    CoolifyProvisioner::new(config, store).expect("a client")
}

pub fn provisioner(url: &str) -> CoolifyProvisioner {
    provisioner_with(url, crate::fake::TOKEN, Arc::new(MemoryStore::default()))
}

/// A progress sink that keeps every report.
pub struct Recorder(pub std::sync::Mutex<Vec<Progress>>);

impl Recorder {
    pub fn new() -> Self {
        Recorder(std::sync::Mutex::new(Vec::new()))
    }
    pub fn sink(&self) -> impl Fn(Progress) + Send + Sync + '_ {
        |p| self.0.lock().unwrap().push(p)
    }
    pub fn details(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|p| format!("{}: {}", p.service, p.detail))
            .collect()
    }
}
