//! The deploy flow against the fake Coolify: create → variables → start → healthy →
//! realtime_url; reruns converge; stop/start/rm keep data unless asked.

mod fake;
mod support;

use std::sync::Arc;

use base64::Engine as _;
use fake::{FakeCoolify, Knobs};
use futures_util::StreamExt;
use supalove_coolify::{FileStore, MemoryStore};
use supalove_core::provisioner::{LogOptions, Provisioner, ServiceState};
use supalove_core::Error;
use support::{provisioner, provisioner_with, stack, Recorder};

fn index_of(calls: &[String], call: &str) -> usize {
    calls
        .iter()
        .position(|c| c == call)
        .unwrap_or_else(|| panic!("{call} was never sent; calls: {calls:#?}"))
}

#[tokio::test]
async fn deploy_sets_every_variable_before_the_start_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    let rendered = stack("shop", "native", 8001);
    let rec = Recorder::new();
    p.apply("shop", &rendered, &rec.sink()).await.unwrap();

    let calls = fake.calls();
    let create = index_of(&calls, "POST /services");
    let bulk = index_of(&calls, "PATCH /services/{uuid}/envs/bulk");
    let start = index_of(&calls, "POST /services/{uuid}/start");
    assert!(index_of(&calls, "GET /version") < create);
    assert!(
        index_of(&calls, "POST /projects") < create,
        "the project is created when missing"
    );
    assert!(
        create < bulk && bulk < start,
        "variables are set before the start: {calls:#?}"
    );

    // What was sent: standard padded base64 of the render, never an instant deploy.
    let log = fake.log();
    let body = log
        .iter()
        .find(|l| l.method == "POST" && l.route == "/services")
        .and_then(|l| l.body.clone())
        .unwrap();
    assert_eq!(body["instant_deploy"], false);
    let raw = body["docker_compose_raw"].as_str().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), rendered.compose_yaml);
    assert!(!rendered.compose_yaml.contains("container_name"));
    assert_eq!(
        body["urls"],
        serde_json::json!([{"name": "realtime", "url": "https://realtime-dev.shop.apps.example.test:4000"}])
    );

    // Coolify wrote .env at the start: every ${VAR} the containers use had a value, and
    // REALTIME_PORT was the project's port.
    let svc = fake.only_service();
    let env = &svc.env_at_start[0];
    assert_eq!(env.get("REALTIME_PORT").map(String::as_str), Some("8001"));
    assert_eq!(
        env.get("DB_PASSWORD").map(String::as_str),
        Some("pw-$ecret'quote")
    );
    let needed: std::collections::BTreeSet<String> = svc
        .subs
        .iter()
        .flat_map(|s| s.needs.iter().cloned())
        .collect();
    assert!(
        needed.contains("REALTIME_PORT") && needed.contains("DB_PASSWORD"),
        "{needed:?}"
    );
    for var in &needed {
        assert!(
            env.get(var).is_some_and(|v| !v.is_empty()),
            "{var} was not set before the start: {env:?}"
        );
    }
    let secret = svc.envs.iter().find(|e| e.key == "JWT_SECRET").unwrap();
    assert!(
        secret.is_literal && secret.is_shown_once,
        "secrets are literal and shown once"
    );
    let port = svc.envs.iter().find(|e| e.key == "REALTIME_PORT").unwrap();
    assert!(port.is_literal && !port.is_shown_once);

    // The init files travelled inline, as Coolify's `content:`.
    let files: Vec<&str> = svc.files.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(
        files,
        [
            "/docker-entrypoint-initdb.d/00-supalove-roles.sql",
            "/docker-entrypoint-initdb.d/10-supalove-realtime.sql",
            "/docker-entrypoint-initdb.d/20-supalove-replication.sh",
        ]
    );
    assert!(svc.files[1]
        .2
        .contains("CREATE PUBLICATION supabase_realtime"));
    assert!(
        svc.files[0].2.contains("$$"),
        "file contents are not interpolated"
    );

    // Healthy, with the per-service timeline and the public realtime URL.
    let status = p.status("shop").await.unwrap();
    assert_eq!(status.len(), 2);
    assert!(
        status.iter().all(|s| s.state == ServiceState::Healthy),
        "{status:?}"
    );
    let details = rec.details();
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("realtime: Coolify reports starting")),
        "{details:#?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d == "db: Coolify reports running:healthy"),
        "{details:#?}"
    );
    assert_eq!(
        p.realtime_url("shop").await.unwrap().as_deref(),
        Some("wss://realtime-dev.shop.apps.example.test/socket")
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn rerun_updates_the_same_service_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coolify-deployments.json");
    let first = provisioner_with(&fake.url(), fake::TOKEN, Arc::new(FileStore::new(&path)));
    first
        .apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap();
    let uuid = first
        .deployment("shop")
        .unwrap()
        .unwrap()
        .service_uuid
        .unwrap();

    // A new process (new provisioner, same file) with a changed port converges.
    let again = provisioner_with(&fake.url(), fake::TOKEN, Arc::new(FileStore::new(&path)));
    again
        .apply("shop", &stack("shop", "native", 8002), &|_| {})
        .await
        .unwrap();
    assert_eq!(fake.service_count(), 1, "never a second service");
    let d = again.deployment("shop").unwrap().unwrap();
    assert_eq!(d.service_uuid.as_deref(), Some(uuid.as_str()));
    let calls = fake.calls();
    assert_eq!(calls.iter().filter(|c| *c == "POST /services").count(), 1);
    assert_eq!(calls.iter().filter(|c| *c == "POST /projects").count(), 1);
    assert!(calls.contains(&"PATCH /services/{uuid}".to_string()));
    assert!(
        calls.contains(&"POST /services/{uuid}/restart".to_string()),
        "a running service is restarted so the new variables apply"
    );
    let svc = fake.only_service();
    assert_eq!(svc.env_at_start.last().unwrap()["REALTIME_PORT"], "8002");
    assert_eq!(
        svc.envs.iter().filter(|e| e.key == "REALTIME_PORT").count(),
        1,
        "the bulk call upserts by key"
    );

    // The service deleted in Coolify behind our back: the rerun creates it again, once.
    fake.with(|s| s.services.clear());
    again
        .apply("shop", &stack("shop", "native", 8002), &|_| {})
        .await
        .unwrap();
    assert_eq!(fake.service_count(), 1);
    assert_ne!(
        again.deployment("shop").unwrap().unwrap().service_uuid,
        Some(uuid)
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn stop_start_and_rm_keep_volumes_unless_asked_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    p.apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap();
    let uuid = p.deployment("shop").unwrap().unwrap().service_uuid.unwrap();

    p.stop("shop", &|_| {}).await.unwrap();
    assert!(p
        .status("shop")
        .await
        .unwrap()
        .iter()
        .all(|s| s.state == ServiceState::Stopped));
    let stop = fake
        .log()
        .into_iter()
        .rfind(|l| l.route.ends_with("/stop"))
        .unwrap();
    assert_eq!(
        stop.query,
        [("docker_cleanup".to_string(), "false".to_string())]
    );
    // A second stop: Coolify says 400 "already stopped"; the verb converges.
    p.stop("shop", &|_| {}).await.unwrap();
    assert_eq!(fake.log().last().unwrap().status, 400);

    p.start("shop", &|_| {}).await.unwrap();
    assert!(p
        .status("shop")
        .await
        .unwrap()
        .iter()
        .all(|s| s.state == ServiceState::Healthy));
    let starts = |f: &FakeCoolify| f.calls().iter().filter(|c| c.ends_with("/start")).count();
    let before = starts(&fake);
    p.start("shop", &|_| {}).await.unwrap();
    assert_eq!(
        starts(&fake),
        before,
        "a healthy service is not started twice"
    );

    // Coolify refuses a double start (400); a raw second start shows it.
    let raw = p.client().lifecycle(&uuid, "start").await.unwrap();
    assert_eq!(raw.status, 400);
    assert!(raw.body.contains("already running"));

    // Logs are polled from Coolify per container.
    let lines: Vec<_> = p
        .logs(
            "shop",
            Some("realtime"),
            LogOptions {
                follow: false,
                tail: Some(10),
            },
        )
        .collect()
        .await;
    let lines: Vec<_> = lines.into_iter().map(Result::unwrap).collect();
    assert!(!lines.is_empty());
    assert!(lines
        .iter()
        .all(|l| l.service == "realtime" && l.timestamp.is_some()));
    assert!(lines.last().unwrap().text.contains(&uuid));

    let volume = format!("{uuid}_db-data");
    assert!(fake.with(|s| s.volumes.contains(&volume)));
    let report = p.remove("shop", false, &|_| {}).await.unwrap();
    assert_eq!(report.volumes_kept, std::slice::from_ref(&volume));
    let del = fake
        .log()
        .into_iter()
        .rfind(|l| l.method == "DELETE")
        .unwrap();
    assert!(del
        .query
        .contains(&("delete_volumes".to_string(), "false".to_string())));
    assert!(
        fake.with(|s| s.volumes.contains(&volume)),
        "volumes stay unless asked"
    );
    assert_eq!(fake.service_count(), 0);
    assert!(
        p.deployment("shop").unwrap().is_none(),
        "the project forgets the service"
    );

    // Asked: volumes go.
    p.apply("blog", &stack("blog", "native", 8003), &|_| {})
        .await
        .unwrap();
    let blog = p.deployment("blog").unwrap().unwrap().service_uuid.unwrap();
    let report = p.remove("blog", true, &|_| {}).await.unwrap();
    assert_eq!(report.volumes_removed, [format!("{blog}_db-data")]);
    assert!(!fake.with(|s| s.volumes.contains(&format!("{blog}_db-data"))));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_never_healthy_container_is_named_in_the_timeout_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        never_healthy: Some("realtime".into()),
        ..Knobs::default()
    })
    .await;
    let mut config = supalove_coolify::CoolifyConfig::new("test", &fake.url(), fake::TOKEN);
    config.poll_interval = std::time::Duration::from_millis(5);
    config.ready_timeout = std::time::Duration::from_millis(300);
    let p = supalove_coolify::CoolifyProvisioner::new(config, Arc::new(MemoryStore::default()))
        .unwrap();
    let err = p
        .apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap_err();
    let Error::NotReady {
        service,
        detail,
        last_logs,
        ..
    } = &err
    else {
        panic!("expected NotReady, got {err:?}");
    };
    assert_eq!(service, "realtime");
    assert!(detail.contains("realtime (running:unhealthy)"), "{detail}");
    assert!(
        !detail.contains("db ("),
        "the healthy db is not blamed: {detail}"
    );
    assert!(
        detail.contains("no API for a service's start log"),
        "{detail}"
    );
    assert!(
        !last_logs.is_empty(),
        "the running container's last lines come along"
    );
    assert!(err.hint().unwrap().contains("supalove logs shop realtime"));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn official_engine_needs_its_tenant_as_first_label_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        wildcard_domain: None,
        ..Knobs::default()
    })
    .await;
    let p = provisioner(&fake.url());
    p.choose("bad", None, Some("shop.example.com".into()))
        .unwrap();
    let err = p
        .apply("bad", &stack("bad", "supabase", 8001), &|_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("must start with `realtime-dev.`"),
        "{err}"
    );
    assert!(
        !fake.calls().iter().any(|c| c == "POST /services"),
        "nothing was created"
    );

    // Without a wildcard domain: sslip.io on the server's IP, the tenant first.
    p.apply("shop", &stack("shop", "supabase", 8001), &|_| {})
        .await
        .unwrap();
    assert_eq!(
        p.realtime_url("shop").await.unwrap().as_deref(),
        Some("ws://realtime-dev.shop.203.0.113.7.sslip.io/socket")
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn events_report_status_changes_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    p.apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap();
    let mut events = p.events(Some("shop"));
    // The first poll only learns the current state; a stop then shows as `die` per service.
    let next = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < 2 {
            let ev = events.next().await.unwrap().unwrap();
            got.push((ev.service, ev.action));
        }
        got
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    p.stop("shop", &|_| {}).await.unwrap();
    let mut got = tokio::time::timeout(std::time::Duration::from_secs(5), next)
        .await
        .expect("events arrive")
        .unwrap();
    got.sort();
    assert_eq!(
        got,
        [
            ("db".to_string(), "die".to_string()),
            ("realtime".to_string(), "die".to_string())
        ]
    );
}

#[tokio::test]
async fn reserved_ports_are_refused_before_any_call_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    let err = p
        .apply("shop", &stack("shop", "native", 8000), &|_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("8000"), "{err}");
    assert!(err.to_string().contains("Coolify itself"), "{err}");
    assert!(fake.calls().is_empty(), "nothing was sent");
}
