//! The stronger test of issue 15: the fake Coolify backed by the local dockerd. On start the
//! fake applies Coolify's transforms to the compose it was sent (container names
//! `<service>-<uuid>`, network `<uuid>`, volumes `<uuid>_<name>`, every `.env` variable in
//! every container, `content:` files) and runs it with supalove's own Docker provisioner, so
//! the statuses supalove polls are the real containers' health, and a real client joins the
//! deployed project's Realtime and receives an inserted row. Slot 96.

mod common;
#[path = "../../coolify/tests/fake/mod.rs"]
mod fake;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::World;
use fake::{Backing, FakeCoolify, Knobs, Lifecycle, State};
use serde_norway::Value;
use supalove_core::provisioner::{Provisioner, ServiceState};
use supalove_core::spec::StackSpec;
use supalove_core::template::{RenderedStack, Upload};
use supalove_docker::LocalDocker;

/// Coolify's serviceParser, as far as running the stack needs (coolify-notes §3).
fn coolify_transform(
    uuid: &str,
    compose: &str,
    env: &BTreeMap<String, String>,
    files: &[(String, String, String)],
) -> RenderedStack {
    let mut doc: Value = serde_norway::from_str(compose).unwrap();
    let services = doc["services"].as_mapping_mut().unwrap();
    for (name, svc) in services.iter_mut() {
        let name = name.as_str().unwrap().to_string();
        svc["container_name"] = Value::from(format!("{name}-{uuid}"));
        // `content:` binds became files Coolify writes; here they are uploads (below).
        if let Some(vols) = svc.get_mut("volumes").and_then(Value::as_sequence_mut) {
            vols.retain(|v| v.get("content").is_none());
        }
        // env_file: [.env] — every container sees every variable.
        let environment = svc["environment"].as_mapping_mut().unwrap();
        for (k, v) in env {
            let key = Value::from(k.clone());
            if !environment.contains_key(&key) {
                environment.insert(key, Value::from(v.clone()));
            }
        }
        // This "server" is the test machine's dockerd: label by the service uuid, so no
        // local project of the same name claims the containers.
        svc["labels"]["dev.supalove.project"] = Value::from(uuid);
        svc["labels"]["coolify.managed"] = Value::from("true");
    }
    for (_, vol) in doc["volumes"].as_mapping_mut().unwrap().iter_mut() {
        let key = vol["name"].as_str().unwrap().to_string();
        let short = key.rsplit('_').take(2).collect::<Vec<_>>();
        vol["name"] = Value::from(format!("{uuid}_{}-{}", short[1], short[0]));
        vol["labels"]["dev.supalove.project"] = Value::from(uuid);
    }
    doc["networks"]["default"]["name"] = Value::from(uuid);
    doc["networks"]["default"]["labels"]["dev.supalove.project"] = Value::from(uuid);
    let mut spec_value = doc.clone();
    interpolate(&mut spec_value, env);
    let spec: StackSpec = serde_norway::from_value(spec_value).unwrap();
    let uploads = files
        .iter()
        .map(|(service, path, content)| Upload {
            service: service.clone(),
            path: path.clone(),
            contents: content.as_bytes().to_vec(),
            mode: 0o644,
            uid: 0,
        })
        .collect();
    RenderedStack {
        compose_yaml: serde_norway::to_string(&doc).unwrap(),
        spec,
        uploads,
        variables: env.clone(),
    }
}

/// Compose's `${VAR}` resolution from `.env`.
fn interpolate(v: &mut Value, env: &BTreeMap<String, String>) {
    match v {
        Value::String(s) => *s = supalove_core::template::interpolate(s, env).unwrap(),
        Value::Sequence(items) => items.iter_mut().for_each(|i| interpolate(i, env)),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, i)| interpolate(i, env)),
        _ => {}
    }
}

fn coolify_status(s: ServiceState) -> &'static str {
    match s {
        ServiceState::Healthy => "running:healthy",
        ServiceState::Unhealthy => "running:unhealthy",
        ServiceState::Starting => "starting:unhealthy",
        ServiceState::Restarting => "restarting:unhealthy",
        ServiceState::Paused => "paused:unknown",
        ServiceState::Stopped | ServiceState::Missing => "exited",
    }
}

/// Runs started stacks on the local dockerd and reports the containers' real health.
fn dockerd_backing(state: Arc<Mutex<State>>, docker: LocalDocker) -> Backing {
    let rt = tokio::runtime::Handle::current();
    Backing(Arc::new(move |ev| {
        let state = Arc::clone(&state);
        let docker = docker.clone();
        rt.spawn(async move {
            match ev {
                Lifecycle::Start {
                    uuid,
                    compose,
                    env,
                    files,
                } => {
                    let stack = coolify_transform(&uuid, &compose, &env, &files);
                    if let Err(e) = docker.apply(&uuid, &stack, &|_| {}).await {
                        eprintln!("backing: compose up of {uuid} failed: {e}");
                        return;
                    }
                    for _ in 0..600 {
                        let Ok(statuses) = docker.status(&uuid).await else {
                            break;
                        };
                        let go_on = {
                            let mut st = state.lock().unwrap();
                            let Some(svc) = st.services.get_mut(&uuid) else {
                                break;
                            };
                            if svc.phase == fake::Phase::Exited {
                                break;
                            }
                            for s in &statuses {
                                if let Some(sub) = svc.subs.iter_mut().find(|x| x.name == s.service)
                                {
                                    sub.status = coolify_status(s.state).into();
                                }
                            }
                            if svc.subs.iter().all(|x| x.status == "running:healthy") {
                                svc.phase = fake::Phase::Running;
                            }
                            true
                        };
                        if !go_on {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                Lifecycle::Stop { uuid } => {
                    let _ = docker.stop(&uuid, &|_| {}).await;
                }
                Lifecycle::Delete { uuid, volumes } => {
                    let _ = docker.remove(&uuid, volumes, &|_| {}).await;
                }
            }
        });
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_client_receives_a_row_from_a_project_deployed_to_dockerd_backed_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let docker = LocalDocker::new(None);
    let backing = dockerd_backing(Arc::clone(&fake.state), docker.clone());
    fake.with(|s| s.backing = Some(backing));
    let w = World::new(96);
    let name = w.name("coolify");

    let mut add = w
        .cmd(&[
            "target",
            "add",
            "prod",
            "--coolify",
            &fake.url(),
            "--token-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(fake::TOKEN.as_bytes())
        .unwrap();
    assert!(add.wait_with_output().unwrap().status.success());

    // The "server" pulls from this machine's images: the local Postgres and engine builds.
    let started = std::time::Instant::now();
    let out = w
        .cmd(&[
            "new",
            &name,
            "--target",
            "prod",
            "--realtime-image",
            "supalove/realtime:0.1.0",
            "--json",
        ])
        .env("SUPALOVE_POSTGRES_IMAGE", "supalove/postgres:15")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let card: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!(
        "create → healthy on the dockerd-backed fake: {:?}",
        started.elapsed()
    );
    assert_eq!(card["status"], "healthy", "{card}");
    let uuid = fake.only_service().uuid;
    let containers = common::docker(&["ps", "--format", "{{.Names}}"]);
    assert!(containers.contains(&format!("db-{uuid}")), "{containers}");
    assert!(
        containers.contains(&format!("realtime-{uuid}")),
        "{containers}"
    );

    // The db port is published on the server's 127.0.0.1 (here: this machine).
    w.ok(&[
        "sql",
        &name,
        "CREATE TABLE notes (id serial PRIMARY KEY, body text); ALTER PUBLICATION supabase_realtime ADD TABLE notes",
    ]);
    let port = card["ports"]["realtime"].as_u64().unwrap();
    let url = format!("ws://127.0.0.1:{port}/socket");
    let mut listen = w
        .cmd(&[
            "listen", &name, "--table", "notes", "--url", &url, "--count", "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    let stdout = listen.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let wait = |pred: &dyn Fn(&serde_json::Value) -> bool, what: &str| loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(v) if pred(&v) => return v,
            Ok(_) => continue,
            Err(_) => panic!("no {what} within 30 s"),
        }
    };
    wait(
        &|e| e["event"]["kind"] == "system" && e["event"]["payload"]["status"] == "ok",
        "subscription",
    );
    w.ok(&[
        "sql",
        &name,
        "INSERT INTO notes (body) VALUES ('from coolify')",
    ]);
    let ins = wait(
        &|e| e["event"]["kind"] == "postgres_changes" && e["event"]["data"]["type"] == "INSERT",
        "INSERT",
    );
    assert_eq!(ins["event"]["data"]["record"]["body"], "from coolify");
    let _ = listen.kill();
    let _ = listen.wait();

    w.ok(&["rm", &name, "--volumes", "--no-backup", "--yes"]);
    // The deletion is queued (async, as on Coolify): wait for the containers to go.
    for _ in 0..100 {
        if docker
            .status(&uuid)
            .await
            .map(|s| s.is_empty())
            .unwrap_or(false)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(docker.status(&uuid).await.unwrap().is_empty());
    assert_eq!(fake.violations(), Vec::<String>::new());
}
