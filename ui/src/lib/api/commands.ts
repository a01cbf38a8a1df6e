// Thin typed wrappers over the Tauri commands of src-tauri: one function per command,
// argument names exactly as the Rust side expects (camelCase here, snake_case in Rust).
import { Channel, invoke } from "@tauri-apps/api/core";
import type { AppSettings } from "./bindings/AppSettings";
import type { CommandError } from "./bindings/CommandError";
import type { ErrorKind } from "./bindings/ErrorKind";
import type { CreateProjectRequest } from "./bindings/CreateProjectRequest";
import type { DockerStatus } from "./bindings/DockerStatus";
import type { LogBatch } from "./bindings/LogBatch";
import type { NameCheck } from "./bindings/NameCheck";
import type { Progress } from "./bindings/Progress";
import type { ProjectCard } from "./bindings/ProjectCard";
import type { RemoveReport } from "./bindings/RemoveReport";
import type { BackupReport } from "./bindings/BackupReport";
import type { RestoreReport } from "./bindings/RestoreReport";
import type { ServiceStats } from "./bindings/ServiceStats";
import type { StatusEvent } from "./bindings/StatusEvent";
import type { DoctorReport } from "./bindings/DoctorReport";
import type { StatementResult } from "./bindings/StatementResult";
import type { TableInfo } from "./bindings/TableInfo";
import type { TesterChannelRequest } from "./bindings/TesterChannelRequest";
import type { TesterEvent } from "./bindings/TesterEvent";

/** Turns anything an invoke rejected with into a CommandError, so views only handle one shape. */
export function asCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "message" in e && "kind" in e) {
    const o = e as Partial<CommandError>;
    return {
      kind: String(o.kind) as ErrorKind,
      message: String(o.message),
      hint: o.hint ?? null,
      last_logs: Array.isArray(o.last_logs) ? o.last_logs : [],
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { kind: "internal", message, hint: null, last_logs: [] };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asCommandError(e);
  }
}

/** A Channel whose messages go to `onMessage`. */
function channel<T>(onMessage: (m: T) => void): Channel<T> {
  const ch = new Channel<T>();
  ch.onmessage = onMessage;
  return ch;
}

export type ProgressHandler = (p: Progress) => void;

export const api = {
  /** Writes text to a file in the user's Downloads folder; returns its path. */
  saveDownload: (fileName: string, contents: string) => call<string>("save_download", { fileName, contents }),
  /** Reports the first paint to the shell (milliseconds since the app started). */
  appReady: () => call<number>("app_ready"),
  listProjects: () => call<ProjectCard[]>("list_projects"),
  showProject: (name: string) => call<ProjectCard>("show_project", { name }),
  checkName: (name: string) => call<NameCheck>("check_name", { name }),
  createProject: (request: CreateProjectRequest, onProgress: ProgressHandler) =>
    call<ProjectCard>("create_project", { request, onProgress: channel(onProgress) }),
  startProject: (name: string, onProgress: ProgressHandler) =>
    call<ProjectCard>("start_project", { name, onProgress: channel(onProgress) }),
  stopProject: (name: string, onProgress: ProgressHandler) =>
    call<ProjectCard>("stop_project", { name, onProgress: channel(onProgress) }),
  restartProject: (name: string, onProgress: ProgressHandler) =>
    call<ProjectCard>("restart_project", { name, onProgress: channel(onProgress) }),
  removalPlan: (name: string, volumes: boolean) =>
    call<RemoveReport>("removal_plan", { name, volumes }),
  removeProject: (name: string, volumes: boolean, onProgress: ProgressHandler) =>
    call<RemoveReport>("remove_project", { name, volumes, onProgress: channel(onProgress) }),
  /** pg_dump of the project's database into the app-data dir's backups folder. */
  backupProject: (name: string, onProgress: ProgressHandler) =>
    call<BackupReport>("backup_project", { name, onProgress: channel(onProgress) }),
  /** Loads a dump from backupProject into the project's database (one transaction). */
  restoreProject: (name: string, file: string, onProgress: ProgressHandler) =>
    call<RestoreReport>("restore_project", { name, file, onProgress: channel(onProgress) }),
  /** Starts following logs; returns the stream id to pass to `closeLogs`. */
  openLogs: (
    name: string,
    service: string | null,
    tail: number | null,
    onBatch: (b: LogBatch) => void,
  ) => call<number>("open_logs", { name, service, tail, onBatch: channel(onBatch) }),
  /** Stops a log stream; false when it had already ended. */
  closeLogs: (id: number) => call<boolean>("close_logs", { id }),
  watchEvents: (onEvent: (e: StatusEvent) => void) =>
    call<number>("watch_events", { onEvent: channel(onEvent) }),
  closeEvents: (id: number) => call<boolean>("close_events", { id }),
  dockerStatus: () => call<DockerStatus>("docker_status"),
  projectStats: (name: string) => call<ServiceStats[]>("project_stats", { name }),
  getSettings: () => call<AppSettings>("get_settings"),
  saveSettings: (settings: AppSettings) => call<AppSettings>("save_settings", { settings }),
  // Realtime tester
  listTables: (name: string) => call<TableInfo[]>("list_tables", { name }),
  runSql: (name: string, sql: string) => call<StatementResult[]>("run_sql", { name, sql }),
  insertRow: (name: string, schema: string, table: string, values: Record<string, unknown>) =>
    call<StatementResult>("insert_row", { name, schema, table, values }),
  doctor: (name: string, tables: string[], fix: boolean) => call<DoctorReport>("doctor", { name, tables, fix }),
  testerToken: (name: string, role: string, claims: Record<string, unknown> | null) =>
    call<string>("tester_token", { name, role, claims }),
  /** Opens a tester channel; events arrive on `onEvent`; returns the id for the other calls. */
  testerOpen: (name: string, request: TesterChannelRequest, onEvent: (e: TesterEvent) => void) =>
    call<number>("tester_open", { name, request, onEvent: channel(onEvent) }),
  testerClose: (id: number) => call<boolean>("tester_close", { id }),
  /** Resolves after the server's ack when the channel was opened with broadcast_ack. */
  testerBroadcast: (id: number, event: string, payload: unknown) => call<void>("tester_broadcast", { id, event, payload }),
  testerTrack: (id: number, state: unknown) => call<void>("tester_track", { id, state }),
  testerUntrack: (id: number) => call<void>("tester_untrack", { id }),
};

export type Api = typeof api;
