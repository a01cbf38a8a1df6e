// Thin typed wrappers over the Tauri commands of src-tauri: one function per command,
// argument names exactly as the Rust side expects (camelCase here, snake_case in Rust).
import { Channel, invoke, type InvokeArgs } from "@tauri-apps/api/core";
import type { CommandArgs, CommandName, CommandResult } from "./bindings/Commands";
import type { AppSettings } from "./bindings/AppSettings";
import type { CommandError } from "./bindings/CommandError";
import type { ErrorKind } from "./bindings/ErrorKind";
import type { CreateProjectRequest } from "./bindings/CreateProjectRequest";
import type { LogBatch } from "./bindings/LogBatch";
import type { Progress } from "./bindings/Progress";
import type { StatusEvent } from "./bindings/StatusEvent";
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

/** A command's arguments; optional when it takes none (or only optional ones). */
type ArgList<K extends CommandName> =
  Record<string, never> extends CommandArgs<K> ? [args?: CommandArgs<K>] : [args: CommandArgs<K>];

/** Invokes a command, typed by the bindings generated from src-tauri/src/commands.rs. */
async function call<K extends CommandName>(cmd: K, ...args: ArgList<K>): Promise<CommandResult<K>> {
  try {
    return await invoke<CommandResult<K>>(cmd, args[0] as InvokeArgs | undefined);
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
  saveDownload: (fileName: string, contents: string) => call("save_download", { fileName, contents }),
  /** Reports the first paint to the shell (milliseconds since the app started). */
  appReady: () => call("app_ready"),
  listProjects: () => call("list_projects"),
  showProject: (name: string) => call("show_project", { name }),
  checkName: (name: string) => call("check_name", { name }),
  createProject: (request: CreateProjectRequest, onProgress: ProgressHandler) =>
    call("create_project", { request, onProgress: channel(onProgress) }),
  /** `recreateEmpty`: begin again with an empty database when the data volume is gone. */
  startProject: (name: string, onProgress: ProgressHandler, recreateEmpty = false) =>
    call("start_project", { name, recreateEmpty, onProgress: channel(onProgress) }),
  stopProject: (name: string, onProgress: ProgressHandler) =>
    call("stop_project", { name, onProgress: channel(onProgress) }),
  restartProject: (name: string, onProgress: ProgressHandler) =>
    call("restart_project", { name, onProgress: channel(onProgress) }),
  removalPlan: (name: string, volumes: boolean) =>
    call("removal_plan", { name, volumes }),
  /** With `volumes`, a database holding data is dumped first unless `skipBackup`. */
  removeProject: (name: string, volumes: boolean, onProgress: ProgressHandler, skipBackup = false) =>
    call("remove_project", { name, volumes, skipBackup, onProgress: channel(onProgress) }),
  /** pg_dump of the project's database into the app-data dir's backups folder. */
  backupProject: (name: string, onProgress: ProgressHandler) =>
    call("backup_project", { name, onProgress: channel(onProgress) }),
  /** Loads a dump from backupProject into the project's database (one transaction). */
  restoreProject: (name: string, file: string, onProgress: ProgressHandler) =>
    call("restore_project", { name, file, onProgress: channel(onProgress) }),
  /** Starts following logs; returns the stream id to pass to `closeLogs`. */
  openLogs: (
    name: string,
    service: string | null,
    tail: number | null,
    onBatch: (b: LogBatch) => void,
  ) => call("open_logs", { name, service, tail, onBatch: channel(onBatch) }),
  /** Stops a log stream; false when it had already ended. */
  closeLogs: (id: number) => call("close_logs", { id }),
  watchEvents: (onEvent: (e: StatusEvent) => void) =>
    call("watch_events", { onEvent: channel(onEvent) }),
  closeEvents: (id: number) => call("close_events", { id }),
  dockerStatus: () => call("docker_status"),
  projectStats: (name: string) => call("project_stats", { name }),
  getSettings: () => call("get_settings"),
  saveSettings: (settings: AppSettings) => call("save_settings", { settings }),
  // Realtime tester
  listTables: (name: string) => call("list_tables", { name }),
  runSql: (name: string, sql: string) => call("run_sql", { name, sql }),
  insertRow: (name: string, schema: string, table: string, values: Record<string, unknown>) =>
    call("insert_row", { name, schema, table, values }),
  doctor: (name: string, tables: string[], fix: boolean) => call("doctor", { name, tables, fix }),
  testerToken: (name: string, role: string, claims: Record<string, unknown> | null) =>
    call("tester_token", { name, role, claims }),
  /** Opens a tester channel; events arrive on `onEvent`; returns the id for the other calls. */
  testerOpen: (name: string, request: TesterChannelRequest, onEvent: (e: TesterEvent) => void) =>
    call("tester_open", { name, request, onEvent: channel(onEvent) }),
  testerClose: (id: number) => call("tester_close", { id }),
  /** Resolves after the server's ack when the channel was opened with broadcast_ack. */
  testerBroadcast: (id: number, event: string, payload: unknown) => call("tester_broadcast", { id, event, payload }),
  testerTrack: (id: number, state: unknown) => call("tester_track", { id, state }),
  testerUntrack: (id: number) => call("tester_untrack", { id }),
  // Settings → Local API (the control-plane server `supalove serve` runs, inside the app)
  localApiStatus: () => call("local_api_status"),
  localApiStart: (port: number | null) => call("local_api_start", { port }),
  localApiStop: () => call("local_api_stop"),
  /** The bearer token the local API expects (what `supalove api token` prints). */
  localApiToken: () => call("local_api_token"),
  localApiRotateToken: () => call("local_api_rotate_token"),
};

export type Api = typeof api;
