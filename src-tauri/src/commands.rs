//! The Tauri commands: each a short wrapper over a core use case.

use std::sync::Arc;

use supalove_core::backup::{BackupReport, RestoreReport};
use supalove_core::card::ProjectCard;
use supalove_core::ports::PortRequest;
use supalove_core::projects::StartOptions;
use supalove_core::provisioner::{
    EngineStatus, LogOptions, Progress, RemoveReport, ServiceStats, StatusEvent,
};
use supalove_core::settings::{AppSettings, Settings};
use supalove_core::subscription::{SubscribeRequest, SubscriptionEvent};
use supalove_core::{CreateProject, RemoveOptions, Shell};
use tauri::ipc::Channel;
use tauri::State;

use crate::dto::{CommandError, CreateProjectRequest, LocalApiStatus, LogBatch, NameCheck};
use crate::state::AppState;
use crate::streams;

type Res<T> = Result<T, CommandError>;
type St<'a> = State<'a, Arc<AppState>>;

fn sink(channel: &Channel<Progress>) -> impl Fn(Progress) + Send + Sync + '_ {
    move |p| {
        let _ = channel.send(p);
    }
}

#[tauri::command]
pub async fn list_projects(state: St<'_>) -> Res<Vec<ProjectCard>> {
    state.call(|app| async move { app.list().await }).await
}

#[tauri::command]
pub async fn show_project(state: St<'_>, name: String) -> Res<ProjectCard> {
    state.call(|app| async move { app.show(&name).await }).await
}

#[tauri::command]
pub async fn check_name(state: St<'_>, name: String) -> Res<NameCheck> {
    // The core's check (this home, then Docker's containers and volumes); when the app has
    // no engine connection yet, the registry's alone.
    let asked = name.clone();
    let outcome = match state
        .call(|app| async move { Ok(app.check_name(&asked).await) })
        .await
    {
        Ok(outcome) => outcome,
        Err(_) => {
            let settings = Settings::from_env()?;
            supalove_core::projects::check_new_name(&settings, &name).map(|()| None)
        }
    };
    Ok(match outcome {
        Ok(note) => NameCheck {
            ok: true,
            message: note,
        },
        Err(e) => NameCheck {
            ok: false,
            message: Some(match e.hint_for(Shell::App) {
                Some(hint) => format!("{e}; {hint}"),
                None => e.to_string(),
            }),
        },
    })
}

#[tauri::command]
pub async fn create_project(
    state: St<'_>,
    request: CreateProjectRequest,
    on_progress: Channel<Progress>,
) -> Res<ProjectCard> {
    let req = CreateProject {
        name: request.name,
        ports: PortRequest {
            db: request.db_port,
            realtime: request.realtime_port,
            allow_privileged: false,
        },
        engine: request.engine,
        remote: None,
    };
    state
        .call(|app| async move { app.create(req, &sink(&on_progress)).await })
        .await
}

#[tauri::command]
pub async fn start_project(
    state: St<'_>,
    name: String,
    recreate_empty: Option<bool>,
    on_progress: Channel<Progress>,
) -> Res<ProjectCard> {
    let options = StartOptions {
        recreate_empty: recreate_empty.unwrap_or(false),
    };
    state
        .call(|app| async move { app.start_with(&name, options, &sink(&on_progress)).await })
        .await
}

#[tauri::command]
pub async fn stop_project(
    state: St<'_>,
    name: String,
    on_progress: Channel<Progress>,
) -> Res<ProjectCard> {
    state
        .call(|app| async move { app.stop(&name, &sink(&on_progress)).await })
        .await
}

#[tauri::command]
pub async fn restart_project(
    state: St<'_>,
    name: String,
    on_progress: Channel<Progress>,
) -> Res<ProjectCard> {
    state
        .call(|app| async move { app.restart(&name, &sink(&on_progress)).await })
        .await
}

#[tauri::command]
pub async fn removal_plan(state: St<'_>, name: String, volumes: bool) -> Res<RemoveReport> {
    state
        .call(|app| async move {
            let options = RemoveOptions {
                volumes,
                skip_backup: false,
            };
            app.removal_plan(&name, options).await
        })
        .await
}

#[tauri::command]
pub async fn remove_project(
    state: St<'_>,
    name: String,
    volumes: bool,
    skip_backup: Option<bool>,
    on_progress: Channel<Progress>,
) -> Res<RemoveReport> {
    let options = RemoveOptions {
        volumes,
        skip_backup: skip_backup.unwrap_or(false),
    };
    state
        .call(|app| async move { app.remove(&name, options, &sink(&on_progress)).await })
        .await
}

#[tauri::command]
pub async fn backup_project(
    state: St<'_>,
    name: String,
    on_progress: Channel<Progress>,
) -> Res<BackupReport> {
    state
        .call(|app| async move { app.backup(&name, None, &sink(&on_progress)).await })
        .await
}

#[tauri::command]
pub async fn restore_project(
    state: St<'_>,
    name: String,
    file: String,
    on_progress: Channel<Progress>,
) -> Res<RestoreReport> {
    state
        .call(|app| async move {
            app.restore(&name, std::path::Path::new(&file), &sink(&on_progress))
                .await
        })
        .await
}

#[tauri::command]
pub async fn open_logs(
    state: St<'_>,
    name: String,
    service: Option<String>,
    tail: Option<u64>,
    on_batch: Channel<LogBatch>,
) -> Res<u32> {
    let app = state.app().await?;
    let lines = app
        .logs(&name, service.as_deref(), LogOptions { follow: true, tail })
        .await?;
    Ok(state.spawn_stream(streams::forward_logs(lines, on_batch)))
}

#[tauri::command]
pub fn close_logs(state: St<'_>, id: u32) -> bool {
    state.close_stream(id)
}

#[tauri::command]
pub async fn watch_events(state: St<'_>, on_event: Channel<StatusEvent>) -> Res<u32> {
    let app = state.app().await?;
    let events = app.events(None);
    Ok(state.spawn_stream(streams::forward_events(events, on_event)))
}

#[tauri::command]
pub fn close_events(state: St<'_>, id: u32) -> bool {
    state.close_stream(id)
}

#[tauri::command]
pub async fn project_stats(state: St<'_>, name: String) -> Res<Vec<ServiceStats>> {
    state
        .call(|app| async move { app.stats(&name).await })
        .await
}

#[tauri::command]
pub async fn docker_status(state: St<'_>) -> Res<EngineStatus> {
    Ok(state.app().await?.docker_status(Shell::App).await)
}

#[tauri::command]
pub fn get_settings() -> Res<AppSettings> {
    Ok(Settings::from_env()?.app_settings())
}

#[tauri::command]
pub async fn save_settings(state: St<'_>, settings: AppSettings) -> Res<AppSettings> {
    Settings::from_env()?.save_app_settings(&settings)?;
    state.reload().await;
    Ok(Settings::from_env()?.app_settings())
}

/// The UI calls this after its first paint; returns (and with `SUPALOVE_REPORT_STARTUP` set,
/// prints) the milliseconds since the app started.
#[tauri::command]
pub fn app_ready(state: St<'_>) -> u64 {
    let ms = state.started.elapsed().as_millis() as u64;
    if std::env::var_os("SUPALOVE_REPORT_STARTUP").is_some() {
        eprintln!("supalove: first paint {ms} ms after start");
    }
    ms
}

/// Asks where to save text (a log download) with the OS save dialog, proposing `file_name`
/// in the Downloads folder, and writes it there; returns the path written, or None when the
/// person cancels (nothing is written).
#[tauri::command]
pub async fn save_download(
    app: tauri::AppHandle,
    file_name: String,
    contents: String,
) -> Res<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Save logs")
        .set_directory(supalove_core::downloads::download_dir())
        .set_file_name(&file_name)
        .save_file(move |chosen| {
            let _ = tx.send(chosen.and_then(|p| p.into_path().ok()));
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = supalove_core::downloads::write_to(&path, contents.as_bytes())?;
    Ok(Some(path.display().to_string()))
}

#[tauri::command]
pub async fn list_tables(state: St<'_>, name: String) -> Res<Vec<supalove_core::sql::TableInfo>> {
    state
        .call(|app| async move { app.tables(&name).await })
        .await
}

#[tauri::command]
pub async fn run_sql(
    state: St<'_>,
    name: String,
    sql: String,
) -> Res<Vec<supalove_core::sql::StatementResult>> {
    state
        .call(|app| async move { app.sql(&name, &sql).await })
        .await
}

#[tauri::command]
pub async fn insert_row(
    state: St<'_>,
    name: String,
    schema: String,
    table: String,
    values: serde_json::Map<String, serde_json::Value>,
) -> Res<supalove_core::sql::StatementResult> {
    state
        .call(|app| async move { app.insert_row(&name, &schema, &table, &values).await })
        .await
}

#[tauri::command]
pub async fn doctor(
    state: St<'_>,
    name: String,
    tables: Vec<String>,
    fix: bool,
) -> Res<supalove_core::projects::DoctorReport> {
    state
        .call(|app| async move { app.doctor(&name, &tables, fix).await })
        .await
}

#[tauri::command]
pub async fn tester_token(
    state: St<'_>,
    name: String,
    role: String,
    claims: Option<serde_json::Map<String, serde_json::Value>>,
) -> Res<String> {
    state
        .call(|app| async move { app.token(&name, &role, claims).await })
        .await
}

#[tauri::command]
pub async fn tester_open(
    state: St<'_>,
    name: String,
    request: SubscribeRequest,
    on_event: Channel<SubscriptionEvent>,
) -> Res<u32> {
    let app = state.app().await?;
    let id = state.next_id();
    state
        .testers
        .open(id, &app, &name, request, on_event)
        .await?;
    Ok(id)
}

#[tauri::command]
pub fn tester_close(state: St<'_>, id: u32) -> bool {
    state.testers.close(id)
}

#[tauri::command]
pub async fn tester_broadcast(
    state: St<'_>,
    id: u32,
    event: String,
    payload: serde_json::Value,
) -> Res<()> {
    state.testers.broadcast(id, &event, payload).await
}

#[tauri::command]
pub async fn tester_track(st: St<'_>, id: u32, state: serde_json::Value) -> Res<()> {
    st.testers.track(id, state).await
}

#[tauri::command]
pub async fn tester_untrack(state: St<'_>, id: u32) -> Res<()> {
    state.testers.untrack(id).await
}

#[tauri::command]
pub async fn local_api_status(state: St<'_>) -> Res<LocalApiStatus> {
    Ok(state.local_api_status().await)
}

#[tauri::command]
pub async fn local_api_start(state: St<'_>, port: Option<u16>) -> Res<LocalApiStatus> {
    let port = port.unwrap_or(supalove_api::DEFAULT_PORT);
    state.start_local_api(port).await
}

#[tauri::command]
pub async fn local_api_stop(state: St<'_>) -> Res<LocalApiStatus> {
    Ok(state.stop_local_api().await)
}

/// The bearer token the control plane expects (the one `supalove api token` prints).
#[tauri::command]
pub async fn local_api_token(state: St<'_>) -> Res<String> {
    state.call(|app| async move { app.api_token().await }).await
}

/// A new control-plane token; the old one stops working within a second.
#[tauri::command]
pub async fn local_api_rotate_token(state: St<'_>) -> Res<String> {
    state
        .call(|app| async move { app.rotate_api_token().await })
        .await
}
