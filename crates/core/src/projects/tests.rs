//! The use cases' branches over the in-memory provisioner (fast, no Docker); the real-Docker
//! behaviour is tested in `crates/cli/tests` and the API's tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::Error;
use crate::memory::MemoryProvisioner;
use crate::provisioner::{LogOptions, Progress, Provisioner, ServiceState};
use crate::secrets::{self, FileStore, SecretStore};
use crate::settings::{SecretStoreKind, Settings};

use super::*;

struct Fixture {
    app: Supalove<MemoryProvisioner>,
    secrets: Arc<FileStore>,
    _home: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let home = tempfile::tempdir().unwrap();
    let settings = Settings {
        home: home.path().to_path_buf(),
        // Below Linux's ephemeral range (32768+, where outgoing connections take ports, which
        // made offsets skip), in the CLI tests' realtime range of slots 45 and 47, unused there.
        db_port_base: 30500,
        realtime_port_base: 30700,
        max_offset: 50,
        key_lifetime_secs: 86_400,
        postgres_image: "postgres:15".into(),
        local_postgres_image: "supalove/postgres:15".into(),
        secret_store: SecretStoreKind::File,
        realtime_image: "supalove/realtime:test".into(),
        supabase_realtime_image: "supabase/realtime:v2.28.32".into(),
        gateway_image: "nginx:1.27".into(),
        local_gateway_image: "supalove/gateway:1".into(),
        native_gateway_for_tests: false,
        default_engine: crate::registry::RealtimeEngine::Native,
        docker_host: None,
    };
    let store = Arc::new(FileStore::new(home.path().join("secrets")));
    let provisioner = MemoryProvisioner {
        apply_delay: Duration::from_millis(50),
        ..Default::default()
    };
    let mut app = Supalove::new(settings, store.clone(), provisioner);
    app.assume_ready = true;
    Fixture {
        app,
        secrets: store,
        _home: home,
    }
}

fn req(name: &str) -> CreateProject {
    CreateProject {
        name: name.into(),
        ..Default::default()
    }
}

fn quiet(_: Progress) {}

#[tokio::test]
async fn create_registers_provisions_and_refuses_the_same_name() {
    let f = fixture();
    let card = f.app.create(req("shop"), &quiet).await.unwrap();
    assert_eq!(card.status, ProjectStatus::Healthy);
    assert_eq!(card.ports.offset, 1);
    assert_eq!(card.ports.db, 30501);
    assert_eq!(card.ports.realtime, 30701);
    assert!(secrets::exists(f.secrets.as_ref(), "shop").unwrap());
    let again = f.app.create(req("shop"), &quiet).await.unwrap_err();
    assert!(matches!(again, Error::NameTaken(_)), "{again}");
    let second = f.app.create(req("blog"), &quiet).await.unwrap();
    assert_eq!(second.ports.offset, 2, "the next free offset");
    assert_eq!(f.app.list().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_fresh_creation_is_undone() {
    let f = fixture();
    f.app.provisioner().state.lock().unwrap().fail_apply = Some("no space left".into());
    let err = f.app.create(req("shop"), &quiet).await.unwrap_err();
    assert!(err.to_string().contains("no space left"), "{err}");
    {
        let st = f.app.provisioner().state.lock().unwrap();
        assert!(st.projects.is_empty(), "containers left: {:?}", st.projects);
        assert!(st.volumes.is_empty(), "volumes left: {:?}", st.volumes);
    }
    assert!(!secrets::exists(f.secrets.as_ref(), "shop").unwrap());
    assert!(f.app.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_kept_volume_without_secrets_is_refused_and_with_secrets_reused() {
    let f = fixture();
    f.app
        .provisioner()
        .state
        .lock()
        .unwrap()
        .volumes
        .insert("project_shop_db_data".into());
    let err = f.app.create(req("shop"), &quiet).await.unwrap_err();
    assert!(matches!(err, Error::OrphanVolume { .. }), "{err}");
    assert!(f.app.list().await.unwrap().is_empty());
    // With its secrets kept (as `rm` without --volumes keeps them), the data is reattached.
    secrets::get_or_create(f.secrets.as_ref(), "shop").unwrap();
    let seen = Mutex::new(Vec::new());
    let sink = |p: Progress| seen.lock().unwrap().push(p.detail);
    f.app.create(req("shop"), &sink).await.unwrap();
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|d| d.contains("reusing the data kept in volume project_shop_db_data")),
        "{:?}",
        seen.lock().unwrap()
    );
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_one_project() {
    let f = fixture();
    let (a, b) = tokio::join!(
        f.app.create(req("shop"), &quiet),
        f.app.create(req("shop"), &quiet)
    );
    let (ok, err) = match (a, b) {
        (Ok(card), Err(e)) | (Err(e), Ok(card)) => (card, e),
        other => panic!("want one success and one refusal, got {other:?}"),
    };
    assert_eq!(ok.name, "shop");
    assert!(matches!(err, Error::Busy(_) | Error::NameTaken(_)), "{err}");
    assert_eq!(f.app.provisioner().state.lock().unwrap().applies, 1);
}

#[tokio::test]
async fn remove_keeps_volumes_and_secrets_unless_asked() {
    let f = fixture();
    f.app.create(req("shop"), &quiet).await.unwrap();
    let plan = f
        .app
        .removal_plan(
            "shop",
            RemoveOptions {
                volumes: false,
                skip_backup: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(plan.volumes_kept, vec!["project_shop_db_data".to_string()]);
    assert!(plan.volumes_removed.is_empty());
    let report = f
        .app
        .remove(
            "shop",
            RemoveOptions {
                volumes: false,
                skip_backup: false,
            },
            &quiet,
        )
        .await
        .unwrap();
    assert_eq!(
        report.volumes_kept,
        vec!["project_shop_db_data".to_string()]
    );
    assert!(secrets::exists(f.secrets.as_ref(), "shop").unwrap());
    // Known by its leftover volume only, it can still be removed for good.
    let gone = f
        .app
        .remove(
            "shop",
            RemoveOptions {
                volumes: true,
                skip_backup: true,
            },
            &quiet,
        )
        .await
        .unwrap();
    assert_eq!(
        gone.volumes_removed,
        vec!["project_shop_db_data".to_string()]
    );
    assert!(!secrets::exists(f.secrets.as_ref(), "shop").unwrap());
    let nothing = f
        .app
        .removal_plan(
            "shop",
            RemoveOptions {
                volumes: true,
                skip_backup: true,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(nothing, Error::NotFound(_)), "{nothing}");
}

#[tokio::test]
async fn stop_and_start_change_the_card_and_missing_containers_show() {
    let f = fixture();
    f.app.create(req("shop"), &quiet).await.unwrap();
    let stopped = f.app.stop("shop", &quiet).await.unwrap();
    assert_eq!(stopped.status, ProjectStatus::Stopped);
    let started = f.app.start("shop", &quiet).await.unwrap();
    assert_eq!(started.status, ProjectStatus::Healthy);
    f.app
        .provisioner()
        .state
        .lock()
        .unwrap()
        .projects
        .get_mut("shop")
        .unwrap()
        .services
        .remove("realtime");
    let card = f.app.show("shop").await.unwrap();
    assert_eq!(card.status, ProjectStatus::Missing);
    assert!(card
        .services
        .iter()
        .any(|s| s.service == "realtime" && s.state == ServiceState::Missing));
}

#[tokio::test]
async fn an_engine_outage_is_reported_with_a_shell_worded_hint() {
    let f = fixture();
    f.app.create(req("shop"), &quiet).await.unwrap();
    f.app.provisioner().state.lock().unwrap().down = true;
    let err = f.app.list().await.unwrap_err();
    assert!(matches!(err, Error::DockerUnavailable { .. }), "{err}");
    let status = f.app.docker_status(crate::Shell::App).await;
    assert!(!status.connected);
    let hint = status.hint.unwrap();
    assert!(
        hint.contains("Settings"),
        "the app's hint points at Settings: {hint}"
    );
    assert!(!f.app.provisioner().engine_status().await.connected);
}

#[tokio::test]
async fn bad_names_and_missing_projects_touch_nothing() {
    let f = fixture();
    for bad in ["", "Shop", "-x", "a_b", &"x".repeat(41)] {
        let err = f.app.create(req(bad), &quiet).await.unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{bad:?}: {err}");
    }
    assert!(matches!(
        f.app.show("nope").await.unwrap_err(),
        Error::NotFound(_)
    ));
    assert_eq!(f.app.provisioner().state.lock().unwrap().applies, 0);
    assert!(f
        .secrets
        .get("nope", crate::secrets::SecretKind::JwtSecret)
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_api_token_is_created_once_and_rotates() {
    let f = fixture();
    let first = f.app.api_token().await.unwrap();
    assert!(first.starts_with("slv_") && first.len() > 40, "{first}");
    assert_eq!(f.app.api_token().await.unwrap(), first);
    let rotated = f.app.rotate_api_token().await.unwrap();
    assert_ne!(rotated, first);
    assert_eq!(f.app.api_token().await.unwrap(), rotated);
}

#[tokio::test]
async fn logs_of_a_service_the_project_lacks_are_refused_naming_its_services() {
    let f = fixture();
    f.app.create(req("shop"), &quiet).await.unwrap();
    let opts = || LogOptions {
        follow: false,
        tail: Some(5),
    };
    let err = match f.app.logs("shop", Some("web"), opts()).await {
        Err(e) => e,
        Ok(_) => panic!("logs of an unknown service were accepted"),
    };
    assert!(matches!(err, Error::UnknownService { .. }), "{err}");
    assert_eq!(err.kind(), crate::ErrorKind::NotFound);
    let text = err.to_string();
    assert!(text.contains("db") && text.contains("realtime"), "{text}");
    assert!(f.app.logs("shop", Some("db"), opts()).await.is_ok());
    assert!(f.app.logs("shop", None, opts()).await.is_ok());
}

#[tokio::test]
async fn official_projects_get_the_gateway_local_image_first_else_nginx() {
    let f = fixture();
    let official = |name: &str| CreateProject {
        name: name.into(),
        engine: Some(crate::registry::RealtimeEngine::Supabase),
        ..Default::default()
    };
    // No local build: the official nginx image (pulled where pulling is allowed).
    let card = f.app.create(official("pulled"), &quiet).await.unwrap();
    assert_eq!(card.api_url.as_deref(), Some("http://127.0.0.1:30701"));
    assert!(card.connect.contains("SUPABASE_URL=http://127.0.0.1:30701"));
    assert!(card.connect.contains("vsn: '1.0.0'"), "{}", card.connect);
    let rec = f.app.record("pulled").await.unwrap();
    assert_eq!(rec.gateway_image.as_deref(), Some("nginx:1.27"));
    // With the local build present, it is preferred.
    f.app
        .provisioner()
        .state
        .lock()
        .unwrap()
        .images
        .insert("supalove/gateway:1".into());
    f.app.create(official("local"), &quiet).await.unwrap();
    let rec = f.app.record("local").await.unwrap();
    assert_eq!(rec.gateway_image.as_deref(), Some("supalove/gateway:1"));
    let secrets = f.app.load_secrets(&rec).await.unwrap();
    let stack = f.app.render(&rec, &secrets).unwrap();
    assert_eq!(stack.spec.services["gateway"].image, "supalove/gateway:1");
    assert!(stack.spec.services["realtime"].ports.is_empty());
    // The native engine has no gateway (outside the test-only setting).
    f.app.create(req("native"), &quiet).await.unwrap();
    let rec = f.app.record("native").await.unwrap();
    assert_eq!(rec.gateway_image, None);
    let secrets = f.app.load_secrets(&rec).await.unwrap();
    assert!(!f
        .app
        .render(&rec, &secrets)
        .unwrap()
        .spec
        .services
        .contains_key("gateway"));
}

/// Marks a project's record as an interrupted creation (what killing `new` midway leaves).
fn interrupt(f: &Fixture, name: &str) {
    let lock = f.app.registry.lock().unwrap();
    let mut record = f.app.registry.get(name).unwrap();
    record.provisioned = false;
    f.app.registry.upsert(&lock, record).unwrap();
}

#[tokio::test]
async fn start_of_an_incomplete_project_finishes_its_creation() {
    let f = fixture();
    f.app.create(req("shop"), &quiet).await.unwrap();
    f.app.stop("shop", &quiet).await.unwrap();
    interrupt(&f, "shop");
    assert_eq!(
        f.app.show("shop").await.unwrap().status,
        ProjectStatus::Incomplete
    );
    // A resume that fails leaves the project incomplete (and in place), never "started".
    f.app.provisioner().state.lock().unwrap().fail_apply = Some("no space left".into());
    let err = f.app.start("shop", &quiet).await.unwrap_err();
    assert!(err.to_string().contains("no space left"), "{err}");
    assert_eq!(
        f.app.show("shop").await.unwrap().status,
        ProjectStatus::Incomplete
    );
    f.app.provisioner().state.lock().unwrap().fail_apply = None;
    let seen = Mutex::new(Vec::new());
    let sink = |p: Progress| seen.lock().unwrap().push(p.detail);
    let card = f.app.start("shop", &sink).await.unwrap();
    assert_eq!(card.status, ProjectStatus::Healthy);
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|d| d.contains("resuming an interrupted provisioning")),
        "{:?}",
        seen.lock().unwrap()
    );
    assert!(f.app.registry.get("shop").unwrap().provisioned);
    // Restart goes through start, so it finishes an interrupted creation too.
    f.app.stop("shop", &quiet).await.unwrap();
    interrupt(&f, "shop");
    let card = f.app.restart("shop", &quiet).await.unwrap();
    assert_eq!(card.status, ProjectStatus::Healthy);
}
