//! The use cases end to end on a Coolify target: core's `Supalove` over `Routed` (local
//! engine absent), the Coolify provisioner, the registry, and the fake Coolify.

mod fake;
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fake::{FakeCoolify, Knobs};
use futures_util::stream::{self, BoxStream, StreamExt};
use supalove_coolify::{CoolifyConfig, CoolifyProvisioner, RegistryStore};
use supalove_core::card::ProjectStatus;
use supalove_core::error::Result;
use supalove_core::projects::RemoteRequest;
use supalove_core::provisioner::*;
use supalove_core::registry::{RealtimeEngine, Registry};
use supalove_core::routed::Routed;
use supalove_core::secrets::FileStore;
use supalove_core::settings::{SecretStoreKind, Settings};
use supalove_core::template::RenderedStack;
use supalove_core::{CreateProject, Error, RemoveOptions, Supalove};

/// No local engine in these tests: every local call says so.
struct NoLocalEngine;

fn down<T>() -> Result<T> {
    Err(Error::DockerUnavailable {
        tried: vec!["none".into()],
        detail: "these tests have no local engine".into(),
    })
}

impl Provisioner for NoLocalEngine {
    fn target(&self) -> String {
        "none".into()
    }
    async fn engine_status(&self) -> EngineStatus {
        EngineStatus {
            connected: false,
            endpoint: None,
            tried: vec![],
            error: None,
            hint: None,
        }
    }
    async fn apply(&self, _: &str, _: &RenderedStack, _: ProgressSink<'_>) -> Result<()> {
        down()
    }
    async fn start(&self, _: &str, _: ProgressSink<'_>) -> Result<()> {
        down()
    }
    async fn stop(&self, _: &str, _: ProgressSink<'_>) -> Result<()> {
        down()
    }
    async fn resources(&self, _: &str) -> Result<ProjectResources> {
        down()
    }
    async fn remove(&self, _: &str, _: bool, _: ProgressSink<'_>) -> Result<RemoveReport> {
        down()
    }
    async fn status(&self, _: &str) -> Result<Vec<ServiceStatus>> {
        down()
    }
    async fn discover(&self) -> Result<Vec<String>> {
        Ok(vec![])
    }
    fn logs(&self, _: &str, _: Option<&str>, _: LogOptions) -> BoxStream<'static, Result<LogLine>> {
        stream::empty().boxed()
    }
    fn events(&self, _: Option<&str>) -> BoxStream<'static, Result<StatusEvent>> {
        stream::empty().boxed()
    }
}

type App = Supalove<Routed<NoLocalEngine, CoolifyProvisioner>>;

fn settings(home: &std::path::Path) -> Settings {
    Settings {
        home: home.to_path_buf(),
        db_port_base: 54400,
        realtime_port_base: 8000,
        max_offset: 50,
        key_lifetime_secs: 86_400,
        postgres_image: "postgres:17".into(),
        local_postgres_image: "supalove/postgres:15".into(),
        secret_store: SecretStoreKind::File,
        realtime_image: "supalove/realtime:0.1.0".into(),
        supabase_realtime_image: "supabase/realtime:v2.28.32".into(),
        default_engine: RealtimeEngine::Native,
        docker_host: None,
        gateway_image: "nginx:1.27-alpine".into(),
        local_gateway_image: "supalove/gateway:1".into(),
        native_gateway_for_tests: false,
    }
}

/// Opens the app the way a shell does: targets from the file, tokens from the store.
async fn open(home: &std::path::Path) -> App {
    let settings = settings(home);
    let secrets = Arc::new(FileStore::new(home.join("secrets")));
    let bare: Supalove<NoLocalEngine> =
        Supalove::new(settings.clone(), secrets.clone(), NoLocalEngine);
    let registry = Registry::new(settings.registry_path());
    let mut remotes = BTreeMap::new();
    for t in bare.targets().await.unwrap() {
        let token = bare.target_token(&t.name).await.unwrap();
        let mut config = CoolifyConfig::new(&t.name, &t.url, &token);
        config.poll_interval = Duration::from_millis(5);
        config.ready_timeout = Duration::from_secs(5);
        let store = Arc::new(RegistryStore(registry.clone()));
        remotes.insert(
            t.name.clone(),
            CoolifyProvisioner::new(config, store).unwrap(),
        );
    }
    Supalove::new(
        settings,
        secrets,
        Routed::new(NoLocalEngine, remotes, registry),
    )
}

fn request(name: &str, image: Option<&str>) -> CreateProject {
    CreateProject {
        name: name.into(),
        remote: Some(RemoteRequest {
            target: "prod".into(),
            realtime_image: image.map(str::to_string),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn new_show_stop_start_rm_on_a_coolify_target_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let home = tempfile::tempdir().unwrap();
    let bare = open(home.path()).await;
    bare.add_target(
        "prod",
        &format!("{}/api/v1/", fake.url()),
        fake::TOKEN.into(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(bare.targets().await.unwrap()[0].url, fake.url());
    let app = open(home.path()).await;

    // The native engine's image is local-only: refused before anything is made.
    let err = app
        .create(request("shop", None), &|_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--realtime-image"), "{err}");
    assert!(app.list().await.unwrap().is_empty());
    assert!(fake.calls().is_empty());

    let card = app
        .create(
            request("shop", Some("ghcr.io/example/realtime:0.1.0")),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(card.target.as_deref(), Some("prod"));
    assert_eq!(card.status, ProjectStatus::Healthy);
    assert_eq!(
        card.realtime_url.as_deref(),
        Some("wss://realtime-dev.shop.apps.example.test/socket")
    );
    assert_eq!(card.db_image, "postgres:17", "an image the server can pull");
    assert_eq!(
        card.api_url.as_deref(),
        Some("https://realtime-dev.shop.apps.example.test"),
        "supabase-js's base: the native engine serves /realtime/v1 itself"
    );

    // The registry remembers target and uuids, and holds no secret.
    let registry = std::fs::read_to_string(home.path().join("projects.json")).unwrap();
    let svc = fake.only_service();
    assert!(
        registry.contains(&svc.uuid) && registry.contains("\"target\": \"prod\""),
        "{registry}"
    );
    let secrets =
        supalove_core::secrets::load(&FileStore::new(home.path().join("secrets")), "shop").unwrap();
    assert!(!registry.contains(&secrets.db_password) && !registry.contains(&secrets.jwt_secret));
    assert!(!registry.contains(fake::TOKEN));
    // The variables Coolify wrote are the project's own secrets and port.
    let env = svc.env_at_start.last().unwrap();
    assert_eq!(env["DB_PASSWORD"], secrets.db_password);
    assert_eq!(env["REALTIME_PORT"], card.ports.realtime.to_string());

    let listed = app.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].target.as_deref(), Some("prod"));

    let stopped = app.stop("shop", &|_| {}).await.unwrap();
    assert_eq!(stopped.status, ProjectStatus::Stopped);
    let started = app.start("shop", &|_| {}).await.unwrap();
    assert_eq!(started.status, ProjectStatus::Healthy);

    // A second `new` of a provisioned project is refused; the service is never doubled.
    assert!(matches!(
        app.create(
            request("shop", Some("ghcr.io/example/realtime:0.1.0")),
            &|_| {}
        )
        .await,
        Err(Error::NameTaken(_))
    ));
    assert_eq!(fake.service_count(), 1);

    let err = app.remove_target("prod").await.unwrap_err();
    assert!(err.to_string().contains("still runs shop"), "{err}");

    // Deleting the data of a remote project needs an explicit --no-backup.
    let both = RemoveOptions {
        volumes: true,
        skip_backup: false,
    };
    assert!(matches!(
        app.remove("shop", both, &|_| {}).await,
        Err(Error::Unsupported { .. })
    ));
    let report = app
        .remove("shop", RemoveOptions::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!(report.volumes_kept, [format!("{}_db-data", svc.uuid)]);
    assert!(fake.with(|s| s.volumes.contains(&format!("{}_db-data", svc.uuid))));
    assert_eq!(fake.service_count(), 0);
    assert!(app.list().await.unwrap().is_empty());
    app.remove_target("prod").await.unwrap();
    assert!(app.targets().await.unwrap().is_empty());
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_remote_creation_changes_nothing_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        abilities: vec!["read".into(), "write".into()],
        ..Knobs::default()
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    open(home.path())
        .await
        .add_target("prod", &fake.url(), fake::TOKEN.into(), None)
        .await
        .unwrap();
    let app = open(home.path()).await;
    let err = app
        .create(
            request("shop", Some("ghcr.io/example/realtime:0.1.0")),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Missing required permissions: deploy"),
        "{err}"
    );
    assert!(app.list().await.unwrap().is_empty(), "the record is undone");
    assert_eq!(
        fake.service_count(),
        0,
        "the half-made service is deleted again"
    );
    let del = fake
        .log()
        .into_iter()
        .rfind(|l| l.method == "DELETE")
        .unwrap();
    assert!(del
        .query
        .contains(&("delete_volumes".to_string(), "true".to_string())));
}
