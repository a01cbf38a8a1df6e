// Pure logic of the Realtime tester: filter strings, presence, UPDATE diffs, latency
// histogram, JSON lines export and the supabase-js snippet. No Svelte, no IPC.
import type { ChangeBinding } from "../api/bindings/ChangeBinding";
import type { TesterChannelRequest } from "../api/bindings/TesterChannelRequest";
import type { TesterEvent } from "../api/bindings/TesterEvent";
import type { RealtimeEngine } from "../api/bindings/RealtimeEngine";

// ---------------------------------------------------------------- filter builder

export const FILTER_OPS = ["eq", "neq", "lt", "lte", "gt", "gte", "in"] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

/** Whether `value` needs quoting inside an `in.(...)` list. */
function inItem(v: string): string {
  const t = v.trim();
  return /[,()"\s]/.test(t) ? `"${t.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : t;
}

/**
 * The Realtime filter string for a column, operator and value (`id=eq.5`,
 * `status=in.(open,done)`), or null when the column is empty (no filter).
 * For `in`, the value is a comma separated list (surrounding parentheses optional).
 */
export function buildFilter(column: string, op: FilterOp, value: string): string | null {
  const col = column.trim();
  if (!col) return null;
  if (op === "in") {
    let v = value.trim();
    if (v.startsWith("(") && v.endsWith(")")) v = v.slice(1, -1);
    const items = v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    return `${col}=in.(${items.map(inItem).join(",")})`;
  }
  return `${col}=${op}.${value.trim()}`;
}

/** Problems with a filter the server would refuse (shown under the builder), or null. */
export function filterProblem(column: string, op: FilterOp, value: string): string | null {
  if (!column.trim()) return null;
  if (op === "in") {
    const f = buildFilter(column, op, value) ?? "";
    if (f.endsWith("in.()")) return "list at least one value, separated by commas";
    if (f.length > 0 && (f.match(/,/g)?.length ?? 0) >= 100) return "Realtime accepts at most 100 values in `in`";
    return null;
  }
  if (!value.trim()) return "enter a value";
  return null;
}

// ---------------------------------------------------------------- presence

export type Meta = Record<string, unknown>;
/** Presence key → its metas (one per tracked connection). */
export type PresenceState = Record<string, Meta[]>;

/** Phoenix sends `{key: {metas: [...]}}`; some servers send `{key: [...]}`. */
function metasOf(v: unknown): Meta[] {
  if (Array.isArray(v)) return v.filter((m) => m && typeof m === "object") as Meta[];
  if (v && typeof v === "object" && Array.isArray((v as { metas?: unknown }).metas)) return metasOf((v as { metas: unknown }).metas);
  return [];
}

function refOf(m: Meta): unknown {
  return m.phx_ref ?? m.presence_ref;
}

/**
 * The inner payload of a wrapped event: the Rust client sends `system` and
 * `channel_error` as `{payload: {...}}` and `presence_state` as `{state: {...}}`;
 * the contract allows the bare object too.
 */
export function inner(payload: unknown, key: "payload" | "state"): unknown {
  if (!payload || typeof payload !== "object") return payload;
  const v = (payload as Record<string, unknown>)[key];
  const keys = Object.keys(payload);
  if (v && typeof v === "object" && !Array.isArray((v as { metas?: unknown }).metas) && keys.length === 1) return v;
  return payload;
}

/** The whole state from a `presence_state` payload (replaces what was there). */
export function presenceFromState(raw: unknown): PresenceState {
  const out: PresenceState = {};
  const payload = inner(raw, "state");
  if (!payload || typeof payload !== "object") return out;
  for (const [k, v] of Object.entries(payload as Record<string, unknown>)) {
    const metas = metasOf(v);
    if (metas.length) out[k] = metas;
  }
  return out;
}

/** Applies a `presence_diff` (`{joins, leaves}`) the way Phoenix.Presence.syncDiff does. */
export function applyPresenceDiff(state: PresenceState, diff: unknown): PresenceState {
  const next: PresenceState = {};
  for (const [k, v] of Object.entries(state)) next[k] = v.slice();
  const d = (diff && typeof diff === "object" ? diff : {}) as { joins?: unknown; leaves?: unknown };
  for (const [k, v] of Object.entries((d.joins ?? {}) as Record<string, unknown>)) {
    const joined = metasOf(v);
    const cur = next[k] ?? [];
    const refs = new Set<unknown>(joined.map(refOf).filter((r) => r !== undefined));
    next[k] = [...cur.filter((m) => refOf(m) === undefined || !refs.has(refOf(m))), ...joined];
  }
  for (const [k, v] of Object.entries((d.leaves ?? {}) as Record<string, unknown>)) {
    const cur = next[k];
    if (!cur) continue;
    const left = metasOf(v);
    const refs = new Set<unknown>(left.map(refOf).filter((r) => r !== undefined));
    // Without refs a leave removes the whole key.
    const rest = refs.size ? cur.filter((m) => !refs.has(refOf(m))) : [];
    if (rest.length) next[k] = rest;
    else delete next[k];
  }
  return next;
}

/** Applies a tester event to the presence state (other kinds leave it unchanged). */
export function reducePresence(state: PresenceState, ev: Pick<TesterEvent, "kind" | "payload">): PresenceState {
  if (ev.kind === "presence_state") return presenceFromState(ev.payload);
  if (ev.kind === "presence_diff") return applyPresenceDiff(state, ev.payload);
  if (ev.kind === "channel_closed" || ev.kind === "disconnected") return {};
  return state;
}

/** A meta without Phoenix's bookkeeping, for display. */
export function metaState(m: Meta): Meta {
  const { phx_ref: _a, phx_ref_prev: _b, presence_ref: _c, ...rest } = m;
  return rest;
}

// ---------------------------------------------------------------- postgres_changes

export interface ChangeData {
  schema?: string;
  table?: string;
  type?: string;
  commit_timestamp?: string;
  record?: Record<string, unknown> | null;
  old_record?: Record<string, unknown> | null;
  errors?: unknown;
}

/** The `data` of a postgres_changes payload (`{ids, data}`), tolerating a bare data object. */
export function changeData(payload: unknown): ChangeData | null {
  if (!payload || typeof payload !== "object") return null;
  const p = payload as { data?: unknown };
  if (p.data && typeof p.data === "object") return p.data as ChangeData;
  if ("type" in (payload as object)) return payload as ChangeData;
  return null;
}

export interface DiffRow {
  column: string;
  old: unknown;
  new: unknown;
  /** Absent from old_record (replica identity default sends only the key). */
  oldUnknown: boolean;
  changed: boolean;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Column-by-column old/new of an UPDATE (columns of the new record first, in order). */
export function updateDiff(record: Record<string, unknown> | null | undefined, old: Record<string, unknown> | null | undefined): DiffRow[] {
  const r = record ?? {};
  const o = old ?? {};
  const cols = [...Object.keys(r), ...Object.keys(o).filter((k) => !(k in r))];
  return cols.map((column) => {
    const oldUnknown = !(column in o);
    const changed = !oldUnknown && !same(o[column], r[column]);
    return { column, old: o[column], new: r[column], oldUnknown, changed };
  });
}

/** One line describing an event in the list. */
export function summarize(ev: TesterEvent): string {
  const p = ev.payload as Record<string, unknown> | null;
  switch (ev.kind) {
    case "postgres_changes": {
      const d = changeData(ev.payload);
      if (!d) return "change";
      const rec = (d.type === "DELETE" ? d.old_record : d.record) ?? {};
      const brief = Object.entries(rec)
        .slice(0, 3)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      return `${d.type ?? "?"} ${d.schema ?? ""}.${d.table ?? ""}${brief ? "  " + brief : ""}`;
    }
    case "broadcast":
      return `${String(p?.event ?? "")}  ${JSON.stringify(p?.payload ?? null)}`;
    case "presence_state": {
      const n = Object.keys(presenceFromState(p)).length;
      return `state: ${n} ${n === 1 ? "key" : "keys"}`;
    }
    case "presence_diff": {
      const j = Object.keys((p?.joins ?? {}) as object);
      const l = Object.keys((p?.leaves ?? {}) as object);
      return [j.length ? `+${j.join(", +")}` : "", l.length ? `-${l.join(", -")}` : ""].filter(Boolean).join("  ") || "diff";
    }
    case "system":
    case "error":
    case "channel_error": {
      const q = inner(p, "payload") as Record<string, unknown> | null;
      const st = q?.status && q.status !== "ok" ? `${String(q.status)}: ` : "";
      return st + String(q?.message ?? JSON.stringify(q));
    }
    case "disconnected":
      return String(p?.reason ?? "connection lost");
    case "joined": {
      const r = (p?.response ?? p) as Record<string, unknown> | null;
      const pc = Array.isArray(r?.postgres_changes) ? r.postgres_changes : null;
      const status = typeof p?.status === "string" ? p.status : "ok";
      return pc ? `${status} · ${pc.length} postgres_changes binding${pc.length === 1 ? "" : "s"} accepted` : `${status} · ${JSON.stringify(r ?? {})}`;
    }
    default:
      return p == null ? "" : JSON.stringify(p);
  }
}

// ---------------------------------------------------------------- latency

/** Upper edges (ms, exclusive) of the histogram buckets; the last bucket is open. */
export const LATENCY_EDGES = [5, 10, 25, 50, 100, 250, 500, 1000] as const;

export interface Histogram {
  /** One count per bucket: [<5, 5–10, …, 500–1000, ≥1000]. */
  counts: number[];
  labels: string[];
  n: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export function bucketOf(ms: number): number {
  for (let i = 0; i < LATENCY_EDGES.length; i++) if (ms < LATENCY_EDGES[i]) return i;
  return LATENCY_EDGES.length;
}

export function bucketLabels(): string[] {
  const out: string[] = [];
  let lo = 0;
  for (const e of LATENCY_EDGES) {
    out.push(`${lo}–${e} ms`);
    lo = e;
  }
  out.push(`≥${lo} ms`);
  return out;
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function histogram(latencies: number[]): Histogram {
  const counts = new Array<number>(LATENCY_EDGES.length + 1).fill(0);
  for (const l of latencies) counts[bucketOf(Math.max(0, l))]++;
  const sorted = latencies.slice().sort((a, b) => a - b);
  return {
    counts,
    labels: bucketLabels(),
    n: latencies.length,
    p50: pct(sorted, 50),
    p95: pct(sorted, 95),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

// ---------------------------------------------------------------- export

/** One JSON object per line (with a trailing newline), ready for `jq`. */
export function toJsonl(events: TesterEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join("\n") + (events.length ? "\n" : "");
}

// ---------------------------------------------------------------- supabase-js snippet

/** Why the official engine is joined with vsn 1.0.0 (the core says the same). */
export const OFFICIAL_VSN_WHY = "the official engine (supabase/realtime v2.28.32) drops the socket on a vsn 2.0.0 binary broadcast";

/** The base URL supabase-js wants: the card's api_url (the gateway in front of the official
 * engine presents its tenant Host, so 127.0.0.1 works for both engines). */
export function clientUrl(apiUrl: string | null, port: number): string {
  return apiUrl ?? `http://127.0.0.1:${port}`;
}

export interface SnippetInput {
  url: string;
  anonKey: string;
  request: TesterChannelRequest;
  /** The JWT of the channel's identity when it is not the anon key. */
  token: string | null;
  /** The project's engine (the official one is joined with vsn 1.0.0). */
  engine?: RealtimeEngine;
}

const js = (v: unknown) => JSON.stringify(v);

function bindingJs(b: ChangeBinding): string {
  const o: Record<string, string> = { event: b.event, schema: b.schema };
  if (b.table) o.table = b.table;
  if (b.filter) o.filter = b.filter;
  const fields = Object.entries(o)
    .map(([k, v]) => `${k}: ${js(v)}`)
    .join(", ");
  return `  .on("postgres_changes", { ${fields} }, (payload) => console.log("change", payload))`;
}

/** A runnable supabase-js program that subscribes like the tester channel does. */
export function snippet(s: SnippetInput): string {
  const r = s.request;
  const lines: string[] = [];
  lines.push(`import { createClient } from "@supabase/supabase-js";`, "");
  if (s.engine === "supabase") {
    lines.push(`// vsn 1.0.0: ${OFFICIAL_VSN_WHY}.`);
    lines.push(`const supabase = createClient(${js(s.url)}, ${js(s.anonKey)}, { realtime: { vsn: "1.0.0" } });`);
  } else {
    lines.push(`const supabase = createClient(${js(s.url)}, ${js(s.anonKey)});`);
  }
  if (s.token && s.token !== s.anonKey) {
    lines.push(`// Connect as ${r.role}${r.claims && Object.keys(r.claims).length ? " with " + JSON.stringify(r.claims) : ""}:`);
    lines.push(`supabase.realtime.setAuth(${js(s.token)});`);
  }
  lines.push("");
  const config: string[] = [`broadcast: { self: ${r.broadcast_self}, ack: ${r.broadcast_ack} }`];
  if (r.presence_key) config.push(`presence: { key: ${js(r.presence_key)} }`);
  lines.push(`const channel = supabase`);
  lines.push(`  .channel(${js(r.channel)}, { config: { ${config.join(", ")} } })`);
  for (const b of r.bindings) lines.push(bindingJs(b));
  lines.push(`  .on("broadcast", { event: "*" }, (msg) => console.log("broadcast", msg))`);
  lines.push(`  .on("presence", { event: "sync" }, () => console.log("presence", channel.presenceState()))`);
  lines.push(`  .subscribe((status, err) => console.log(status, err ?? ""));`);
  if (r.vsn !== "1.0.0" && s.engine !== "supabase") lines.push("", `// The tester joined with vsn ${r.vsn}; supabase-js picks its own serializer.`);
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------- claims / values

/** Parses the claims box: empty → null; must be a JSON object. */
export function parseClaims(text: string): { ok: true; value: Record<string, unknown> | null } | { ok: false; error: string } {
  const t = text.trim();
  if (!t) return { ok: true, value: null };
  try {
    const v = JSON.parse(t) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) return { ok: false, error: "claims must be a JSON object" };
    return { ok: true, value: v as Record<string, unknown> };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Parses a JSON box that may hold any JSON value; empty → `empty`. */
export function parseJson(text: string, empty: unknown = {}): { ok: true; value: unknown } | { ok: false; error: string } {
  const t = text.trim();
  if (!t) return { ok: true, value: empty };
  try {
    return { ok: true, value: JSON.parse(t) as unknown };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * A form field's text as the JSON value to insert for a column of `dataType`:
 * numbers for numeric types, booleans, parsed JSON for json/jsonb/arrays, text otherwise.
 * Returns undefined for an empty field (the column gets its default or NULL).
 */
export function coerceValue(text: string, dataType: string): unknown {
  if (text === "") return undefined;
  const t = dataType.toLowerCase();
  if (t === "json" || t === "jsonb" || t.endsWith("[]")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (/^(smallint|integer|bigint|real|double precision|numeric|decimal)/.test(t) || /^(int|float)\d/.test(t)) {
    const n = Number(text.trim());
    return Number.isFinite(n) && text.trim() !== "" ? n : text;
  }
  if (t === "boolean" || t === "bool") {
    const v = text.trim().toLowerCase();
    if (["true", "t", "yes", "1", "on"].includes(v)) return true;
    if (["false", "f", "no", "0", "off"].includes(v)) return false;
    return text;
  }
  if (text.trim().toLowerCase() === "null") return null;
  return text;
}
