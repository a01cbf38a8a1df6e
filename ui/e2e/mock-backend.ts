// A fake supalove backend behind Tauri's mocked IPC, for the Playwright suite and the
// log benchmark. It implements the same commands, argument names and payload shapes
// as src-tauri, with timers instead of Docker. Bundled to an IIFE and injected with
// page.addInitScript before the app loads.
import { mockIPC } from "@tauri-apps/api/mocks";
import type { ErrorKind } from "../src/lib/api/bindings/ErrorKind";
import type { CommandName } from "../src/lib/api/bindings/Commands";
import type { LocalApiStatus } from "../src/lib/api/bindings/LocalApiStatus";
import type { BackupReport } from "../src/lib/api/bindings/BackupReport";
import type { RestoreReport } from "../src/lib/api/bindings/RestoreReport";
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
  ColumnInfo,
  DoctorReport,
  Check,
  StatementResult,
  TableInfo,
  TesterChannelRequest,
  TesterEvent,
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
const err = (kind: ErrorKind, message: string, hint: string | null = null, last_logs: string[] = []): CommandError => ({
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
  volumeGone: new Set<string>(),
  /** Ports a foreign program holds: a create asking for one is refused (port_in_use). */
  takenPorts: new Map<number, string>([[54399, "postgres (pid 4242)"]]),
  /** Incomplete projects whose resume leaves them incomplete (a flaky engine). */
  stuck: new Set<string>(),
  localApi: { running: false, port: 54320, token: "slv_mock0", rotations: 0, takenPorts: [] as number[] },
  /** What the save dialog answers: a path, null (cancelled), or undefined (Downloads/<name>). */
  saveAnswer: undefined as string | null | undefined,
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
    target: null,
    api_url: `http://127.0.0.1:${rt}`,
    connect: `SUPABASE_URL=http://127.0.0.1:${rt}\nSUPABASE_ANON_KEY=${JWT("anon")}\nREALTIME_URL=ws://127.0.0.1:${rt}/socket`,
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

/** What core's own_stamp_len finds in these samples: the program's stamp (same instant). */
// eslint-disable-next-line no-control-regex -- tracing colours its stamp with escape codes
const OWN_STAMP = /^(?:\x1b\[[0-9;]*m)*\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z| UTC)(?:\x1b\[[0-9;]*m)* +/;
const ownStamp = (text: string) => OWN_STAMP.exec(text)?.[0].length ?? 0;

function postgresHistory(service: string): LogLine[] {
  const t = (s: string) => `2026-11-24T14:26:${s}Z`;
  const L = (text: string, ts: string, stream: "stdout" | "stderr" = "stderr"): LogLine => ({ service, stream, timestamp: t(ts), text, level: null, stamp_len: ownStamp(text) });
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

// ------------------------------------------------------------------ Realtime tester
// Tables live per project; a few SQL forms are understood (create table, alter
// publication, replica identity, RLS, update/delete by id, select *). RLS is modelled
// simply: with RLS on, anon sees rows whose `is_public` is true, authenticated the rows
// whose `owner` equals its `sub` claim, service_role everything.

interface MockTable {
  info: TableInfo;
  rows: Record<string, unknown>[];
  nextId: number;
  replicaFull: boolean;
  policies: number;
}
interface TesterChan {
  ch: Chan;
  project: string;
  req: TesterChannelRequest;
  live: boolean;
  meta: Record<string, unknown> | null;
}
const tables = new Map<string, Map<string, MockTable>>();
const testers = new Map<number, TesterChan>();
let phxRef = 1;

function projectTables(name: string): Map<string, MockTable> {
  let m = tables.get(name);
  if (!m) tables.set(name, (m = new Map()));
  return m;
}

function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  let quote = false;
  for (const c of s) {
    if (c === "'") quote = !quote;
    if (!quote && c === "(") depth++;
    if (!quote && c === ")") depth--;
    if (!quote && depth === 0 && c === sep) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

const TYPE_ALIAS: Record<string, string> = {
  int: "integer",
  int4: "integer",
  int8: "bigint",
  serial: "integer",
  bigserial: "bigint",
  bool: "boolean",
  timestamptz: "timestamp with time zone",
  varchar: "character varying",
};

function parseColumn(def: string): ColumnInfo | null {
  if (/^(primary|unique|constraint|foreign|check)\b/i.test(def)) return null;
  const m = /^"?(\w+)"?\s+(\w+(?:\s+precision|\s+varying)?(?:\([^)]*\))?(?:\[\])?)(.*)$/i.exec(def);
  if (!m) return null;
  const [, name, rawType, rest] = m;
  const t = rawType.toLowerCase();
  const lower = `${t} ${rest.toLowerCase()}`;
  return {
    name,
    data_type: TYPE_ALIAS[t] ?? t,
    nullable: !/not null|primary key/.test(lower),
    has_default: /default|generated|serial/.test(lower),
  };
}

function tableKey(ref: string): [string, string] {
  const parts = ref.replace(/"/g, "").split(".");
  return parts.length > 1 ? [parts[0], parts[1]] : ["public", parts[0]];
}

function changeFor(project: string, t: MockTable, type: string, record: Record<string, unknown> | null, old: Record<string, unknown> | null): void {
  if (!t.info.published) return;
  const commit = Date.now() - 4 - (t.nextId % 5) * 7;
  setTimeout(() => {
    for (const [, tc] of testers) {
      if (!tc.live || tc.project !== project) continue;
      const row = record ?? old ?? {};
      if (t.info.rls && !visible(tc.req, row)) continue;
      const ok = tc.req.bindings.some(
        (b) =>
          (b.event === "*" || b.event === type) &&
          b.schema === t.info.schema &&
          (b.table === null || b.table === t.info.name) &&
          (!b.filter || matchFilter(b.filter, row)),
      );
      if (!ok) continue;
      const now = Date.now();
      send<TesterEvent>(tc.ch, {
        kind: "postgres_changes",
        received_at_ms: now,
        latency_ms: now - commit,
        payload: {
          ids: [1],
          data: {
            schema: t.info.schema,
            table: t.info.name,
            type,
            commit_timestamp: new Date(commit).toISOString(),
            columns: t.info.columns.map((c) => ({ name: c.name, type: c.data_type })),
            record: record ?? {},
            old_record: old ?? {},
            errors: null,
          },
        },
      });
    }
  }, 15);
}

function visible(req: TesterChannelRequest, row: Record<string, unknown>): boolean {
  if (req.role === "service_role") return true;
  if (req.role === "anon") return row.is_public === true;
  if ("owner" in row) return row.owner === (req.claims?.sub ?? null);
  return true;
}

function matchFilter(filter: string, row: Record<string, unknown>): boolean {
  const m = /^(\w+)=(eq|neq|lt|lte|gt|gte|in)\.(.*)$/.exec(filter);
  if (!m) return false;
  const [, col, op, raw] = m;
  const v = row[col];
  const cmp = (x: string) => (typeof v === "number" ? v - Number(x) : String(v).localeCompare(x));
  switch (op) {
    case "eq": return cmp(raw) === 0;
    case "neq": return cmp(raw) !== 0;
    case "lt": return cmp(raw) < 0;
    case "lte": return cmp(raw) <= 0;
    case "gt": return cmp(raw) > 0;
    case "gte": return cmp(raw) >= 0;
    default: return raw.replace(/^\(|\)$/g, "").split(",").map((x) => x.trim().replace(/^"|"$/g, "")).some((x) => cmp(x) === 0);
  }
}

function sqlLiteral(v: string): unknown {
  const t = v.trim();
  if (/^'.*'$/.test(t)) return t.slice(1, -1).replace(/''/g, "'");
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === "true";
  if (/^null$/i.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

function runStatement(project: string, stmt: string): StatementResult {
  const tbls = projectTables(project);
  const empty = (count = 0): StatementResult => ({ columns: [], rows: [], count });
  let m: RegExpExecArray | null;
  if ((m = /^create table (?:if not exists )?([\w."]+)\s*\(([\s\S]*)\)$/i.exec(stmt))) {
    const [schema, name] = tableKey(m[1]);
    if (tbls.has(`${schema}.${name}`)) return empty();
    const defs = splitTop(m[2], ",");
    const columns = defs.map(parseColumn).filter((c): c is ColumnInfo => c !== null);
    const pk = /primary key/i.test(m[2]);
    tbls.set(`${schema}.${name}`, { info: { schema, name, columns, published: false, rls: false, has_primary_key: pk }, rows: [], nextId: 1, replicaFull: false, policies: 0 });
    return empty();
  }
  if ((m = /^alter publication supabase_realtime add table ([\w.", ]+)$/i.exec(stmt))) {
    for (const ref of m[1].split(",")) {
      const t = tbls.get(tableKey(ref.trim()).join("."));
      if (!t) throw err("database", `relation "${ref.trim()}" does not exist`);
      t.info.published = true;
    }
    return empty();
  }
  if ((m = /^alter table ([\w."]+) (enable row level security|replica identity full)$/i.exec(stmt))) {
    const t = tbls.get(tableKey(m[1]).join("."));
    if (!t) throw err("database", `relation "${m[1]}" does not exist`);
    if (/row level/i.test(m[2])) t.info.rls = true;
    else t.replicaFull = true;
    return empty();
  }
  if ((m = /^create policy .* on ([\w."]+)/i.exec(stmt))) {
    const t = tbls.get(tableKey(m[1]).join("."));
    if (!t) throw err("database", `relation "${m[1]}" does not exist`);
    t.policies++;
    return empty();
  }
  if ((m = /^update ([\w."]+) set (.+) where (\w+)\s*=\s*(\S+)$/i.exec(stmt))) {
    const t = tbls.get(tableKey(m[1]).join("."));
    if (!t) throw err("database", `relation "${m[1]}" does not exist`);
    const sets = splitTop(m[2], ",").map((a) => a.split("=").map((x) => x.trim()));
    let n = 0;
    for (const row of t.rows) {
      if (row[m[3]] !== sqlLiteral(m[4])) continue;
      const old = { ...row };
      for (const [k, v] of sets) row[k] = sqlLiteral(v);
      n++;
      const pkOnly = Object.fromEntries(t.info.columns.filter((c) => c.name === "id").map((c) => [c.name, old[c.name]]));
      changeFor(project, t, "UPDATE", { ...row }, t.replicaFull ? old : pkOnly);
    }
    return empty(n);
  }
  if ((m = /^delete from ([\w."]+) where (\w+)\s*=\s*(\S+)$/i.exec(stmt))) {
    const t = tbls.get(tableKey(m[1]).join("."));
    if (!t) throw err("database", `relation "${m[1]}" does not exist`);
    const gone = t.rows.filter((r) => r[m![2]] === sqlLiteral(m![3]));
    t.rows = t.rows.filter((r) => !gone.includes(r));
    for (const old of gone) changeFor(project, t, "DELETE", null, t.replicaFull ? old : { id: old.id });
    return empty(gone.length);
  }
  if ((m = /^select \* from ([\w."]+)$/i.exec(stmt))) {
    const t = tbls.get(tableKey(m[1]).join("."));
    if (!t) throw err("database", `relation "${m[1]}" does not exist`, "create it first");
    const cols = t.info.columns.map((c) => c.name);
    return { columns: cols, rows: t.rows.map((r) => cols.map((c) => (r[c] == null ? null : String(r[c])))), count: t.rows.length };
  }
  if (/^select 1$/i.test(stmt)) return { columns: ["?column?"], rows: [["1"]], count: 1 };
  throw err("database", `mock: cannot run ${stmt.slice(0, 40)}`, "the mock understands create table, alter publication/table, create policy, update, delete, select *");
}

function doctorReport(project: string, names: string[], fix: boolean): DoctorReport {
  const tbls = projectTables(project);
  const fixed: string[] = [];
  const checks: Check[] = [
    { id: "wal_level", status: "ok", message: "wal_level is logical", fix: null, auto_fix: false },
    { id: "publication", status: "ok", message: "publication supabase_realtime exists", fix: null, auto_fix: false },
  ];
  for (const n of names) {
    const t = tbls.get(n.includes(".") ? n : `public.${n}`);
    if (!t) {
      checks.push({ id: "table_published", status: "fail", message: `${n} does not exist`, fix: null, auto_fix: false });
      continue;
    }
    const q = `${t.info.schema}.${t.info.name}`;
    const pubFix = `ALTER PUBLICATION supabase_realtime ADD TABLE ${q};`;
    if (!t.info.published && fix) {
      t.info.published = true;
      fixed.push(pubFix);
    }
    checks.push(
      t.info.published
        ? { id: "table_published", status: "ok", message: `${q} is in the publication`, fix: null, auto_fix: false }
        : { id: "table_published", status: "fail", message: `${q} is not in the supabase_realtime publication: no changes are sent`, fix: pubFix, auto_fix: true },
    );
    checks.push(
      t.replicaFull
        ? { id: "replica_identity", status: "ok", message: `${q} has replica identity full`, fix: null, auto_fix: false }
        : { id: "replica_identity", status: "warn", message: `${q} sends only the primary key as old_record on UPDATE/DELETE`, fix: `ALTER TABLE ${q} REPLICA IDENTITY FULL;`, auto_fix: false },
    );
    checks.push(
      t.info.rls && t.policies === 0
        ? { id: "rls_policy", status: "warn", message: `RLS is on for ${q} and no policy lets anon or authenticated select`, fix: `CREATE POLICY "read" ON ${q} FOR SELECT TO anon, authenticated USING (true);`, auto_fix: false }
        : { id: "rls_policy", status: "ok", message: t.info.rls ? `${q} has ${t.policies} policies` : `RLS is off for ${q}`, fix: null, auto_fix: false },
    );
    checks.push({ id: "grants", status: "ok", message: `anon, authenticated and service_role may select ${q}`, fix: null, auto_fix: false });
  }
  checks.push(
    { id: "replication_slot", status: "ok", message: "slot supalove_slot is active", fix: null, auto_fix: false },
    { id: "engine", status: "ok", message: "Realtime answers its health check", fix: null, auto_fix: false },
    { id: "key_expiry", status: "ok", message: "keys expire in 3650 days", fix: null, auto_fix: false },
  );
  return { checks, fixed };
}

function topicPeers(tc: TesterChan): TesterChan[] {
  return [...testers.values()].filter((o) => o.live && o.project === tc.project && o.req.channel === tc.req.channel);
}

function presenceState(tc: TesterChan): Record<string, { metas: unknown[] }> {
  const st: Record<string, { metas: unknown[] }> = {};
  for (const o of topicPeers(tc)) if (o.meta) (st[o.req.presence_key] ??= { metas: [] }).metas.push(o.meta);
  return st;
}

function diffToPeers(tc: TesterChan, joins: Record<string, unknown>, leaves: Record<string, unknown>): void {
  for (const o of topicPeers(tc)) send<TesterEvent>(o.ch, { kind: "presence_diff", received_at_ms: Date.now(), latency_ms: null, payload: { joins, leaves } });
}

function need(id: number): TesterChan {
  const tc = testers.get(id);
  if (!tc?.live) throw err("not_found", `no tester channel ${id}`);
  return tc;
}

async function handle(cmd: CommandName, a: Record<string, unknown>): Promise<unknown> {
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
      for (const [what, port] of [["db", req.db_port], ["realtime", req.realtime_port]] as const) {
        const owner = port === null ? undefined : state.takenPorts.get(port);
        if (owner)
          throw err(
            "port_in_use",
            `port ${port} (${what}) is already in use by ${owner}`,
            "choose another port in the form, stop the program holding it, or leave the port fields empty so supalove picks free ones",
          );
      }
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
      if (cmd !== "stop_project" && c.status === "incomplete") {
        // Core's start resumes an interrupted creation, with a create's timeline.
        send<Progress>(ch, { service: "project", stage: "creating", detail: "resuming an interrupted provisioning", current: null, total: null });
        await sleep(STEP);
        for (const s of c.services) {
          send<Progress>(ch, { service: s.service, stage: "creating", detail: "creating", current: null, total: null });
          await sleep(STEP);
          send<Progress>(ch, { service: s.service, stage: "ready", detail: "ready", current: null, total: null });
        }
        if (!state.stuck.has(name)) setStatus(name, "healthy");
        return state.projects.get(name);
      }
      if (cmd === "start_project" && state.volumeGone.has(name)) {
        if (!a.recreateEmpty) {
          throw err(
            "volume_missing",
            `the data volume project_${name}_db_data of project "${name}" is gone (last seen serving it 2026-11-30 10:12 UTC): starting would put an empty database in place of the project's data`,
            'nothing was started. If the data is somewhere else, bring the volume back; to begin again with an empty database choose "Start with an empty database" (a backup can be restored into it afterwards)',
          );
        }
        state.volumeGone.delete(name);
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
        backup: cmd === "remove_project" && a.volumes && !a.skipBackup ? `/root/.local/share/supalove/backups/${name}-mock.sql` : null,
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
    case "save_download":
      // The OS save dialog: a test sets __mock.saveAnswer to null to play "Cancel".
      if (state.saveAnswer === null) return null;
      return state.saveAnswer ?? `/home/dev/Downloads/${a.fileName as string}`;
    case "list_tables":
      return [...projectTables(name).values()].map((t) => ({ ...t.info, columns: t.info.columns.slice() }));
    case "run_sql": {
      const stmts = splitTop(String(a.sql), ";");
      await sleep(30);
      return stmts.map((st) => runStatement(name, st.replace(/\s+/g, " ").trim()));
    }
    case "insert_row": {
      const t = projectTables(name).get(`${a.schema}.${a.table}`);
      if (!t) throw err("database", `relation "${a.schema}.${a.table}" does not exist`);
      const values = a.values as Record<string, unknown>;
      const row: Record<string, unknown> = {};
      for (const c of t.info.columns) {
        if (c.name in values) row[c.name] = values[c.name];
        else if (c.has_default) row[c.name] = c.name === "id" ? t.nextId : /bool/.test(c.data_type) ? false : /time/.test(c.data_type) ? new Date().toISOString() : null;
        else if (!c.nullable) throw err("database", `null value in column "${c.name}" of relation "${t.info.name}" violates not-null constraint`);
        else row[c.name] = null;
      }
      t.nextId++;
      t.rows.push(row);
      changeFor(name, t, "INSERT", { ...row }, null);
      return { columns: [], rows: [], count: 1 } satisfies StatementResult;
    }
    case "doctor":
      await sleep(40);
      return doctorReport(name, a.tables as string[], a.fix as boolean);
    case "tester_token": {
      const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
      const claims = { ...((a.claims as object | null) ?? {}), role: a.role, iss: "supalove", exp: 2111111111 };
      return `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}.mock_signature`;
    }
    case "tester_open": {
      const c = state.projects.get(name);
      if (!c) throw err("not_found", `no project named ${name}`);
      if (c.status !== "healthy") throw err("realtime", `${name} is not running`, `supalove start ${name}`);
      const req = a.request as TesterChannelRequest;
      const id = state.nextId++;
      const tc: TesterChan = { ch: a.onEvent as Chan, project: name, req, live: true, meta: null };
      testers.set(id, tc);
      setTimeout(() => {
        if (!tc.live) return;
        const now = Date.now();
        send<TesterEvent>(tc.ch, { kind: "joined", received_at_ms: now, latency_ms: null, payload: { status: "ok", response: { postgres_changes: req.bindings.map((b, i) => ({ ...b, id: 1000 + i })) } } });
        if (req.bindings.length)
          setTimeout(() => {
            if (tc.live) send<TesterEvent>(tc.ch, { kind: "system", received_at_ms: Date.now(), latency_ms: null, payload: { payload: { channel: req.channel, extension: "postgres_changes", message: "Subscribed to PostgreSQL", status: "ok" } } });
          }, 40);
        send<TesterEvent>(tc.ch, { kind: "presence_state", received_at_ms: now, latency_ms: null, payload: { state: presenceState(tc) } });
      }, 30);
      return id;
    }
    case "tester_close": {
      const tc = testers.get(a.id as number);
      if (!tc) return false;
      tc.live = false;
      if (tc.meta) diffToPeers(tc, {}, { [tc.req.presence_key]: { metas: [tc.meta] } });
      testers.delete(a.id as number);
      return true;
    }
    case "tester_broadcast": {
      const tc = need(a.id as number);
      for (const o of topicPeers(tc)) {
        if (o === tc && !tc.req.broadcast_self) continue;
        send<TesterEvent>(o.ch, { kind: "broadcast", received_at_ms: Date.now(), latency_ms: null, payload: { event: a.event, payload: a.payload, type: "broadcast" } });
      }
      if (tc.req.broadcast_ack) await sleep(30);
      return null;
    }
    case "tester_track": {
      const tc = need(a.id as number);
      const prev = tc.meta;
      tc.meta = { ...(a.state as object), phx_ref: `F${phxRef++}` };
      diffToPeers(tc, { [tc.req.presence_key]: { metas: [tc.meta] } }, prev ? { [tc.req.presence_key]: { metas: [prev] } } : {});
      return null;
    }
    case "tester_untrack": {
      const tc = need(a.id as number);
      if (tc.meta) diffToPeers(tc, {}, { [tc.req.presence_key]: { metas: [tc.meta] } });
      tc.meta = null;
      return null;
    }
    case "backup_project": {
      needDocker();
      if (!state.projects.has(name)) throw err("not_found", `no project named ${name}`);
      const ch = a.onProgress as Chan;
      send<Progress>(ch, { service: "db", stage: "starting", detail: "pg_dump", current: null, total: null });
      await sleep(STEP);
      return { project: name, file: `/root/.local/share/supalove/backups/${name}-mock.sql`, bytes: 4096 } satisfies BackupReport;
    }
    case "restore_project": {
      needDocker();
      if (!state.projects.has(name)) throw err("not_found", `no project named ${name}`);
      const ch = a.onProgress as Chan;
      send<Progress>(ch, { service: "db", stage: "starting", detail: "psql", current: null, total: null });
      await sleep(STEP);
      return { project: name, file: a.file as string, bytes: 4096, previous: null } satisfies RestoreReport;
    }
    case "local_api_status":
      return localApi();
    case "local_api_start": {
      const port = (a.port as number | null) ?? 54320;
      if (state.localApi.takenPorts.includes(port)) {
        throw err("port_in_use", `port ${port} (the control-plane API) is in use by supalove (pid 4242)`, "Choose another port, or stop the program holding it.");
      }
      state.localApi.port = port;
      state.localApi.running = true;
      return localApi();
    }
    case "local_api_stop":
      state.localApi.running = false;
      return localApi();
    case "local_api_token":
      return state.localApi.token;
    case "local_api_rotate_token":
      state.localApi.token = `slv_mock${++state.localApi.rotations}`;
      return state.localApi.token;
    default: {
      // Every command src-tauri registers is handled above: a new or renamed one fails the type check here.
      const unhandled: never = cmd;
      throw err("internal", `mock: unknown command ${String(unhandled)}`);
    }
  }
}

function localApi(): LocalApiStatus {
  const { running, port } = state.localApi;
  return { running, port, url: running ? `http://127.0.0.1:${port}` : null };
}

if (cfg.seed) state.projects.set("demo", makeCard("demo"));

mockIPC((cmd, args) => handle(cmd as CommandName, (args ?? {}) as Record<string, unknown>));

/** Hooks the tests drive. */
(window as unknown as { __mock: unknown }).__mock = {
  state,
  setDocker(up: boolean) {
    state.docker = up;
  },
  emitEvent,
  /** Marks a project as an interrupted creation (its services still run, as after a killed create). */
  makeIncomplete(name: string, stuck = false) {
    const c = state.projects.get(name);
    if (c) state.projects.set(name, { ...c, status: "incomplete" });
    if (stuck) state.stuck.add(name);
    else state.stuck.delete(name);
  },
  /** Appends live lines to every open log stream. */
  pushLogs(lines: LogLine[]) {
    for (const e of state.logChans.values()) if (e.live) send<LogBatch>(e.ch, { lines, dropped: 0 });
  },
  calls: (cmd: string) => state.calls.filter((c) => c.cmd === cmd).map((c) => c.args),
  tables,
  testers,
  /** Sends `n` broadcast events to every open tester channel (virtual list test). */
  floodTester(n: number) {
    for (const tc of testers.values()) {
      if (!tc.live) continue;
      for (let i = 0; i < n; i++) send<TesterEvent>(tc.ch, { kind: "broadcast", received_at_ms: Date.now(), latency_ms: null, payload: { event: "flood", payload: { i } } });
    }
  },
};
