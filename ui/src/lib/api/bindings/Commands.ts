// Generated from src-tauri/src/commands.rs by the `export_bindings_commands` test. Do not edit it by hand.
import type { Channel } from "@tauri-apps/api/core";
import type { AppSettings } from "./AppSettings";
import type { BackupReport } from "./BackupReport";
import type { CreateProjectRequest } from "./CreateProjectRequest";
import type { DockerStatus } from "./DockerStatus";
import type { DoctorReport } from "./DoctorReport";
import type { LocalApiStatus } from "./LocalApiStatus";
import type { LogBatch } from "./LogBatch";
import type { NameCheck } from "./NameCheck";
import type { Progress } from "./Progress";
import type { ProjectCard } from "./ProjectCard";
import type { RemoveReport } from "./RemoveReport";
import type { RestoreReport } from "./RestoreReport";
import type { ServiceStats } from "./ServiceStats";
import type { StatementResult } from "./StatementResult";
import type { StatusEvent } from "./StatusEvent";
import type { TableInfo } from "./TableInfo";
import type { TesterChannelRequest } from "./TesterChannelRequest";
import type { TesterEvent } from "./TesterEvent";

/** Every command the app registers: the arguments the UI passes and what it resolves with. */
export interface Commands {
  list_projects: { args: Record<string, never>; result: Array<ProjectCard> };
  show_project: { args: { name: string }; result: ProjectCard };
  check_name: { args: { name: string }; result: NameCheck };
  create_project: { args: { request: CreateProjectRequest; onProgress: Channel<Progress> }; result: ProjectCard };
  start_project: { args: { name: string; recreateEmpty?: boolean | null; onProgress: Channel<Progress> }; result: ProjectCard };
  stop_project: { args: { name: string; onProgress: Channel<Progress> }; result: ProjectCard };
  restart_project: { args: { name: string; onProgress: Channel<Progress> }; result: ProjectCard };
  removal_plan: { args: { name: string; volumes: boolean }; result: RemoveReport };
  remove_project: { args: { name: string; volumes: boolean; skipBackup?: boolean | null; onProgress: Channel<Progress> }; result: RemoveReport };
  backup_project: { args: { name: string; onProgress: Channel<Progress> }; result: BackupReport };
  restore_project: { args: { name: string; file: string; onProgress: Channel<Progress> }; result: RestoreReport };
  open_logs: { args: { name: string; service?: string | null; tail?: number | null; onBatch: Channel<LogBatch> }; result: number };
  close_logs: { args: { id: number }; result: boolean };
  watch_events: { args: { onEvent: Channel<StatusEvent> }; result: number };
  close_events: { args: { id: number }; result: boolean };
  project_stats: { args: { name: string }; result: Array<ServiceStats> };
  docker_status: { args: Record<string, never>; result: DockerStatus };
  get_settings: { args: Record<string, never>; result: AppSettings };
  save_settings: { args: { settings: AppSettings }; result: AppSettings };
  app_ready: { args: Record<string, never>; result: number };
  save_download: { args: { fileName: string; contents: string }; result: string | null };
  list_tables: { args: { name: string }; result: Array<TableInfo> };
  run_sql: { args: { name: string; sql: string }; result: Array<StatementResult> };
  insert_row: { args: { name: string; schema: string; table: string; values: Record<string, unknown> }; result: StatementResult };
  doctor: { args: { name: string; tables: Array<string>; fix: boolean }; result: DoctorReport };
  tester_token: { args: { name: string; role: string; claims?: Record<string, unknown> | null }; result: string };
  tester_open: { args: { name: string; request: TesterChannelRequest; onEvent: Channel<TesterEvent> }; result: number };
  tester_close: { args: { id: number }; result: boolean };
  tester_broadcast: { args: { id: number; event: string; payload: unknown }; result: null };
  tester_track: { args: { id: number; state: unknown }; result: null };
  tester_untrack: { args: { id: number }; result: null };
  local_api_status: { args: Record<string, never>; result: LocalApiStatus };
  local_api_start: { args: { port?: number | null }; result: LocalApiStatus };
  local_api_stop: { args: Record<string, never>; result: LocalApiStatus };
  local_api_token: { args: Record<string, never>; result: string };
  local_api_rotate_token: { args: Record<string, never>; result: string };
}

/** A command's name. */
export type CommandName = keyof Commands;
/** What a command takes. */
export type CommandArgs<K extends CommandName> = Commands[K]["args"];
/** What a command resolves with. */
export type CommandResult<K extends CommandName> = Commands[K]["result"];
