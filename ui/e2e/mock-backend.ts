// A fake supalove backend behind Tauri's mocked IPC, for the Playwright suite and the
// log benchmark. It implements the same commands, argument names and payload shapes
// as src-tauri, with timers instead of Docker. Bundled to an IIFE and injected with
// page.addInitScript before the app loads.
import { mockIPC } from "@tauri-apps/api/mocks";
import type {
  AppSettings,
  CommandError,
  CreateProjectRequest,
  DockerStatus,
  LogBatch,
  LogLine,
  Progress,
  ProjectCard,
  ProjectStatus,
  RemoveReport,
  ServiceStats,
  StatusEvent,
} from "../src/lib/api/types";

interface MockConfig {
  /** Start with one running project named "demo". */
  seed?: boolean;
  /** Lines streamed by open_logs after the history (benchmark). */
  benchLines?: number;
  /** Lines per batch in bench mode. */
  batch?: number;
  /** Milliseconds between progress steps. */
  stepMs?: number;
}

type Chan = { id: number };
const cfg: MockConfig = (window as unknown as { __mockConfig?: MockConfig }).__mockConfig ?? {};
const STEP = cfg.stepMs ?? 120;
const internals = () => (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, d: unknown) => void } }).__TAURI_INTERNALS__;
const indexes = new Map<number, number>();
function send<T>(ch: Chan, message: T): void {
  const index = indexes.get(ch.id) ?? 0;
  indexes.set(ch.id, index + 1);
  internals().runCallback(ch.id, { index, message });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const err = (kind: string, message: string, hint: string | null = null, last_logs: string[] = []): CommandError => ({
  kind,
  message,
  hint,
  last_logs,
});

const state = {
  docker: true,
  projects: new Map<string, ProjectCard>(),
  settings: { docker_host: null, db_port_base: 54320, realtime_port_base: 8000, key_lifetime_days: 3650, default_engine: "native" } as AppSettings,
  eventChans: new Map<number, Chan>(),
  logChans: new Map<number, { ch: Chan; name: string; service: string | null; live: boolean }>(),
  nextId: 1,
  failNext: new Set<string>(["broken"]),
  calls: [] as { cmd: string; args: unknown }[],
};

const JWT = (role: string) =>
  `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoi${btoa(role).replace(/=/g, "")}IiwiaXNzIjoic3VwYWxvdmUifQ.sig_${role}_x9Qm2`;

function makeCard(name: string, req?: CreateProjectRequest): ProjectCard {
  const offset = state.projects.size;
  const db = req?.db_port ?? state.settings.db_port_base + offset;
  const rt = req?.realtime_port ?? state.settings.realtime_port_base + offset;
  const id = `${name}-${(1000 + offset).toString(16)}`;
  return {
    name,
    id,
    status: "healthy",
    services: ["db", "realtime"].map((service) => ({
      service,
      container: `project_${id}_${service}`,
      state: "healthy",
      image: service === "db" ? "supalove/postgres:17" : "supalove/realtime:0.1",
      exit_code: null,
      started_at: "2026-11-24T14:26:49Z",
    })),
    ports: { offset, db, realtime: rt },
    db_url: `postgresql://app:s3cr3t-${name}@127.0.0.1:${db}/app`,
    realtime_url: `ws://127.0.0.1:${rt}/socket`,
    keys: { anon: JWT("anon"), service_role: JWT("service_role"), expires_at: 2111111111 },
    realtime_engine: req?.engine ?? "native",
    db_image: "supalove/postgres:17",
    created_at: 1795000000,
    secret_store: "secret-service",
  };
}

function setStatus(name: string, status: ProjectStatus): void {
  const c = state.projects.get(name);
  if (!c) return;
  const svc = status === "stopped" ? "stopped" : status === "healthy" ? "healthy" : "starting";
  state.projects.set(name, { ...c, status, services: c.services.map((s) => ({ ...s, state: svc, exit_code: svc === "stopped" ? 0 : null })) });
}

function emitEvent(project: string, service: string, action: string): void {
  const ev: StatusEvent = { project, service, action, time: Math.floor(Date.now() / 1000) };
  for (const ch of state.eventChans.values()) send(ch, ev);
}

async function stepService(ch: Chan, service: string, pull: boolean, failAt: string | null): Promise<boolean> {
  const p = (stage: Progress["stage"], detail: string, current: number | null = null, total: number | null = null) =>
    send<Progress>(ch, { service, stage, detail, current, total });
  if (pull) {
    const total = service === "db" ? 158_000_000 : 41_000_000;
    for (let i = 0; i <= 5; i++) {
      p("pulling", `pulling supalove/${service}`, Math.round((total * i) / 5), total);
      await sleep(STEP / 2);
    }
  }
  for (const [stage, detail] of [
    ["creating", `creating project container`],
    ["starting", "starting container"],
    ["waiting_ready", service === "db" ? "waiting for SELECT 1" : "waiting for a websocket join"],
  ] as const) {
    p(stage, detail);
    await sleep(STEP);
    if (failAt === service && stage === "waiting_ready") {
      p("failed", "did not become ready within 30 s");
      return false;
    }
  }
  p("ready", service === "db" ? "accepting connections" : "joined realtime:health");
  return true;
}

function postgresHistory(service: string): LogLine[] {
  const t = (s: string) => `2026-11-24T14:26:${s}Z`;
  const L = (text: string, ts: string, stream: "stdout" | "stderr" = "stderr"): LogLine => ({ service, stream, timestamp: t(ts), text });
  if (service === "db")
    return [
      L("PostgreSQL init process complete; ready for start up.", "47.100000000", "stdout"),
      L("2026-11-24 14:26:49.459 UTC [1] LOG:  starting PostgreSQL 17.2 on x86_64-pc-linux-gnu", "49.459000000"),
      L('2026-11-24 14:26:49.460 UTC [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432', "49.460000000"),
      L("2026-11-24 14:26:49.470 UTC [1] WARNING:  wal_level is logical; replication slots may retain WAL", "49.470000000"),
      L("2026-11-24 14:26:49.480 UTC [1] LOG:  database system is ready to accept connections", "49.480000000"),
      L('2026-11-24 14:26:52.001 UTC [77] ERROR:  relation "todos" does not exist at character 15', "52.001000000"),
      L("2026-11-24 14:26:52.001 UTC [77] STATEMENT:  select * from todos", "52.001500000"),
      L('<img src=x onerror="window.__xss=1"> <b>not bold</b>', "52.100000000", "stdout"),
    ];
  return [
    L("\x1b[2m2026-11-24T14:26:50.100Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2msupalove_realtime::server\x1b[0m: listening on 0.0.0.0:4000", "50.100000000", "stdout"),
    L("\x1b[2m2026-11-24T14:26:50.300Z\x1b[0m \x1b[33m WARN\x1b[0m \x1b[2msupalove_realtime::replication\x1b[0m: slot missing, creating supalove_slot", "50.300000000", "stdout"),
    L("2026-11-24T14:26:51.000Z  INFO supalove_realtime::channels: joined realtime:health", "51.000000000", "stdout"),
    L("x".repeat(30_000), "51.500000000", "stdout"),
  ];
}

function historyFor(card: ProjectCard, service: string | null): LogLine[] {
  const svcs = service ? [service] : card.services.map((s) => s.service);
  const all = svcs.flatMap(postgresHistory);
  return all.sort((a, b) => (a.timestamp ?? "").localeCompare(b.timestamp ?? ""));
}

/** Bench stream: realistic lines (Postgres, ANSI tracing, long lines), as JSON batches. */
function benchStream(id: number, ch: Chan, total: number, batch: number): void {
  const bench = ((window as unknown as { __bench: Record<string, number> }).__bench = { t0: 0, sent: 0, total });
  let n = 0;
  const pump = () => {
    const entry = state.logChans.get(id);
    if (!entry?.live || n >= total) return;
    if (!bench.t0) bench.t0 = performance.now();
    const end = Math.min(total, n + batch);
    const parts: string[] = [];
    for (; n < end; n++) {
      const k = n % 10;
      let text: string;
      if (k < 5) text = `2026-11-24 14:26:49.459 UTC [${100 + (n % 50)}] LOG:  statement: select * from todos where id = ${n}`;
      else if (k < 7) text = `\x1b[2m2026-11-24T14:26:50.100Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2msupalove_realtime\x1b[0m: broadcast seq=${n} topic=room:lobby`;
      else if (k === 7) text = `2026-11-24 14:26:49.460 UTC [77] ERROR:  duplicate key value violates unique constraint "todos_pkey" (line ${n})`;
      else if (k === 8) text = `2026-11-24T14:26:51.000Z  WARN supalove_realtime: slow consumer seq=${n}`;
      else text = n % 1000 === 9 ? `payload ${n} ` + "y".repeat(5000) : `plain line ${n}`;
      // JSON escaping of `text` without JSON.stringify's per-object cost.
      const esc = text.indexOf("\x1b") >= 0 ? text.split("\x1b").join("\\u001b") : text;
      parts.push(`{"service":"${k < 5 || k === 7 ? "db" : "realtime"}","stream":"stdout","timestamp":"2026-11-24T14:26:49.459000000Z","text":${'"' + esc.replace(/"/g, '\\"') + '"'}}`);
    }
    // Parse as the webview does with a real Channel message.
    const msg = JSON.parse(`{"lines":[${parts.join(",")}],"dropped":0}`) as LogBatch;
    send(ch, msg);
    bench.sent = n;
    setTimeout(pump, 0);
  };
  setTimeout(pump, 50);
}

async function handle(cmd: string, a: Record<string, unknown>): Promise<unknown> {
  state.calls.push({ cmd, args: a });
  const name = a.name as string;
  const needDocker = () => {
    if (!state.docker) throw err("docker_unavailable", "Docker is not running", "start Docker Desktop or run `sudo systemctl start docker`");
  };
  switch (cmd) {
    case "docker_status":
      return (state.docker
        ? { connected: true, endpoint: "unix:///var/run/docker.sock", tried: ["unix:///var/run/docker.sock"], error: null, hint: null }
        : {
            connected: false,
            endpoint: null,
            tried: ["$DOCKER_HOST (unset)", "unix:///var/run/docker.sock", "unix:///root/.docker/run/docker.sock"],
            error: "connection refused",
            hint: "Start Docker Desktop, or run `sudo systemctl start docker`",
          }) satisfies DockerStatus;
    case "list_projects":
      needDocker();
      return [...state.projects.values()];
    case "show_project": {
      const c = state.projects.get(name);
      if (!c) throw err("not_found", `no project named ${name}`);
      return c;
    }
    case "check_name": {
      if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) return { ok: false, message: "use lowercase letters, digits and dashes, starting with a letter" };
      if (state.projects.has(name)) return { ok: false, message: `a project named ${name} already exists` };
      return { ok: true, message: null };
    }
    case "create_project": {
      needDocker();
      const req = a.request as CreateProjectRequest;
      const ch = a.onProgress as Chan;
      if (state.projects.has(req.name)) throw err("name_taken", `a project named ${req.name} already exists`);
      send<Progress>(ch, { service: "project", stage: "creating", detail: "ports and secrets", current: null, total: null });
      const fail = state.failNext.has(req.name) ? "realtime" : null;
      const okDb = await stepService(ch, "db", true, fail);
      const okRt = okDb && (await stepService(ch, "realtime", true, fail));
      if (!okRt) {
        state.failNext.delete(req.name);
        throw err("not_ready", "realtime did not become ready", "see the last log lines below; `supalove logs " + req.name + " realtime`", [
          "2026-11-24T14:26:50.100Z  INFO supalove_realtime::server: starting",
          '2026-11-24T14:26:50.300Z ERROR supalove_realtime::replication: could not connect to db: password authentication failed for user "app"',
          "thread 'main' panicked at src/main.rs:42:5",
        ]);
      }
      const card = makeCard(req.name, req);
      state.projects.set(req.name, card);
      return card;
    }
    case "start_project":
    case "restart_project":
    case "stop_project": {
      needDocker();
      const ch = a.onProgress as Chan;
      const c = state.projects.get(name);
      if (!c) throw err("not_found", `no project named ${name}`);
      if (cmd !== "start_project") {
        for (const s of c.services) {
          send<Progress>(ch, { service: s.service, stage: "stopping", detail: "stopping", current: null, total: null });
          await sleep(STEP);
          send<Progress>(ch, { service: s.service, stage: "stopped", detail: "stopped", current: null, total: null });
          emitEvent(c.id, s.service, "die");
        }
        setStatus(name, "stopped");
      }
      if (cmd !== "stop_project") {
        for (const s of c.services) {
          send<Progress>(ch, { service: s.service, stage: "starting", detail: "starting", current: null, total: null });
          await sleep(STEP);
          emitEvent(c.id, s.service, "start");
          send<Progress>(ch, { service: s.service, stage: "ready", detail: "ready", current: null, total: null });
        }
        setStatus(name, "healthy");
      }
      return state.projects.get(name);
    }
    case "removal_plan":
    case "remove_project": {
      const c = state.projects.get(name);
      if (!c) throw err("not_found", `no project named ${name}`);
      const vols = [`project_${c.id}_db_data`];
      const r: RemoveReport = {
        containers: c.services.map((s) => s.container),
        networks: [`project_${c.id}`],
        volumes_removed: a.volumes ? vols : [],
        volumes_kept: a.volumes ? [] : vols,
      };
      if (cmd === "remove_project") {
        const ch = a.onProgress as Chan;
        send<Progress>(ch, { service: "project", stage: "removing", detail: "removing containers", current: null, total: null });
        await sleep(STEP);
        state.projects.delete(name);
        for (const s of c.services) emitEvent(c.id, s.service, "destroy");
      }
      return r;
    }
    case "open_logs": {
      const c = state.projects.get(name);
      if (!c) throw err("not_found", `no project named ${name}`);
      const id = state.nextId++;
      const ch = a.onBatch as Chan;
      const service = (a.service as string | null) ?? null;
      state.logChans.set(id, { ch, name, service, live: true });
      setTimeout(() => {
        if (!state.logChans.get(id)?.live) return;
        send<LogBatch>(ch, { lines: historyFor(c, service), dropped: 0 });
        if (cfg.benchLines) benchStream(id, ch, cfg.benchLines, cfg.batch ?? 2000);
      }, 30);
      return id;
    }
    case "close_logs": {
      const e = state.logChans.get(a.id as number);
      if (e) e.live = false;
      return state.logChans.delete(a.id as number);
    }
    case "watch_events": {
      const id = state.nextId++;
      state.eventChans.set(id, a.onEvent as Chan);
      return id;
    }
    case "close_events":
      return state.eventChans.delete(a.id as number);
    case "project_stats": {
      const c = state.projects.get(name);
      if (!c || c.status === "stopped") return [];
      return c.services.map((s, i): ServiceStats => ({
        service: s.service,
        container: s.container,
        cpu_percent: i === 0 ? 1.7 : 0.4,
        memory_bytes: i === 0 ? 61_400_000 : 18_200_000,
        memory_limit_bytes: 8_000_000_000,
      }));
    }
    case "get_settings":
      return state.settings;
    case "save_settings":
      state.settings = { ...(a.settings as AppSettings) };
      return state.settings;
    case "app_ready":
      return 1;
    default:
      throw err("internal", `mock: unknown command ${cmd}`);
  }
}

if (cfg.seed) state.projects.set("demo", makeCard("demo"));

mockIPC((cmd, args) => handle(cmd, (args ?? {}) as Record<string, unknown>));

/** Hooks the tests drive. */
(window as unknown as { __mock: unknown }).__mock = {
  state,
  setDocker(up: boolean) {
    state.docker = up;
  },
  emitEvent,
  /** Appends live lines to every open log stream. */
  pushLogs(lines: LogLine[]) {
    for (const e of state.logChans.values()) if (e.live) send<LogBatch>(e.ch, { lines, dropped: 0 });
  },
  calls: (cmd: string) => state.calls.filter((c) => c.cmd === cmd).map((c) => c.args),
};
