//! supalove's desktop shell: Tauri commands over supalove-core, streams through Channels.

#[cfg(test)]
mod command_bindings;
pub mod commands;
pub mod dto;
pub mod state;
pub mod streams;
pub mod tester;

use std::sync::Arc;

/// Builds and runs the app.
pub fn run() {
    let state = Arc::new(state::AppState::default());
    tauri::Builder::default()
        .manage(state)
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(tauri::generate_handler![
            commands::list_projects,
            commands::show_project,
            commands::check_name,
            commands::create_project,
            commands::start_project,
            commands::stop_project,
            commands::restart_project,
            commands::removal_plan,
            commands::remove_project,
            commands::backup_project,
            commands::restore_project,
            commands::open_logs,
            commands::close_logs,
            commands::watch_events,
            commands::close_events,
            commands::project_stats,
            commands::docker_status,
            commands::get_settings,
            commands::save_settings,
            commands::app_ready,
            commands::save_download,
            commands::list_tables,
            commands::run_sql,
            commands::insert_row,
            commands::doctor,
            commands::tester_token,
            commands::tester_open,
            commands::tester_close,
            commands::tester_broadcast,
            commands::tester_track,
            commands::tester_untrack,
            commands::local_api_status,
            commands::local_api_start,
            commands::local_api_stop,
            commands::local_api_token,
            commands::local_api_rotate_token,
        ])
        .run(tauri::generate_context!())
        .expect("the supalove window could not start");
}
