//! Against a real Coolify instance (ignored by default): run with
//! `SUPALOVE_COOLIFY_URL=https://coolify.example.com SUPALOVE_COOLIFY_TOKEN=... cargo test -p
//! supalove-coolify --test smoke -- --ignored`. With `SUPALOVE_COOLIFY_DEPLOY=1` it also
//! deploys a throwaway project (`supalove-smoke`, official Realtime engine), waits for it to
//! be healthy and deletes it with its volumes.

// The support module names the fake's token; the fake itself is not started here.
mod fake;
mod support;

use std::sync::Arc;
use std::time::Duration;

use supalove_coolify::{CoolifyConfig, CoolifyProvisioner, MemoryStore};
use supalove_core::provisioner::Provisioner;

fn real() -> (String, String) {
    let url = std::env::var("SUPALOVE_COOLIFY_URL").expect("set SUPALOVE_COOLIFY_URL");
    let token = std::env::var("SUPALOVE_COOLIFY_TOKEN").expect("set SUPALOVE_COOLIFY_TOKEN");
    (url, token)
}

#[tokio::test]
#[ignore = "needs a real Coolify instance (SUPALOVE_COOLIFY_URL, SUPALOVE_COOLIFY_TOKEN)"]
async fn real_coolify_answers_and_deploys() {
    let (url, token) = real();
    let mut config = CoolifyConfig::new("smoke", &url, &token);
    config.ready_timeout = Duration::from_secs(600);
    let p = CoolifyProvisioner::new(config, Arc::new(MemoryStore::default())).unwrap();
    let probe = p.probe().await;
    assert!(probe.error.is_none(), "{probe:?}");
    assert!(
        probe.version.as_deref().is_some_and(|v| v.starts_with('4')),
        "{probe:?}"
    );
    assert!(
        probe.servers.iter().any(|(_, _, usable)| *usable),
        "{probe:?}"
    );
    if std::env::var("SUPALOVE_COOLIFY_DEPLOY").as_deref() != Ok("1") {
        return;
    }
    let stack = support::stack("supalove-smoke", "supabase", 8091);
    let result = p
        .apply("supalove-smoke", &stack, &|pr| {
            eprintln!("{}: {}", pr.service, pr.detail)
        })
        .await;
    let url = p.realtime_url("supalove-smoke").await.unwrap();
    p.remove("supalove-smoke", true, &|_| {}).await.unwrap();
    result.unwrap();
    assert!(url.is_some_and(|u| u.ends_with("/socket")));
}
