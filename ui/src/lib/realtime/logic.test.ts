import { describe, expect, it } from "vitest";
import type { TesterChannelRequest, TesterEvent } from "../api/types";
import {
  applyPresenceDiff,
  bucketOf,
  buildFilter,
  clientUrl,
  coerceValue,
  filterProblem,
  histogram,
  metaState,
  parseClaims,
  presenceFromState,
  reducePresence,
  snippet,
  summarize,
  toJsonl,
  updateDiff,
} from "./logic";

describe("filter builder", () => {
  it("builds each comparison operator", () => {
    expect(buildFilter("id", "eq", "5")).toBe("id=eq.5");
    expect(buildFilter("id", "neq", " 5 ")).toBe("id=neq.5");
    expect(buildFilter("n", "lt", "1")).toBe("n=lt.1");
    expect(buildFilter("n", "lte", "1")).toBe("n=lte.1");
    expect(buildFilter("n", "gt", "1")).toBe("n=gt.1");
    expect(buildFilter("n", "gte", "1")).toBe("n=gte.1");
  });
  it("builds in-lists from commas, with or without parentheses, quoting odd items", () => {
    expect(buildFilter("status", "in", "open, done")).toBe("status=in.(open,done)");
    expect(buildFilter("status", "in", "(a,b)")).toBe("status=in.(a,b)");
    expect(buildFilter("name", "in", "a b, c")).toBe('name=in.("a b",c)');
    expect(buildFilter("s", "in", "a,,b,")).toBe("s=in.(a,b)");
  });
  it("has no filter without a column", () => {
    expect(buildFilter("", "eq", "5")).toBeNull();
    expect(filterProblem("", "eq", "")).toBeNull();
  });
  it("flags an empty value or list", () => {
    expect(filterProblem("id", "eq", " ")).toMatch(/value/);
    expect(filterProblem("id", "in", "()")).toMatch(/at least one/);
    expect(filterProblem("id", "in", "1")).toBeNull();
  });
});

describe("presence", () => {
  const a1 = { phx_ref: "A1", status: "online" };
  const b1 = { phx_ref: "B1", status: "away" };
  it("reads presence_state in Phoenix and bare-array forms", () => {
    expect(presenceFromState({ u1: { metas: [a1] }, u2: [b1], empty: { metas: [] } })).toEqual({ u1: [a1], u2: [b1] });
    expect(presenceFromState(null)).toEqual({});
  });
  it("unwraps the Rust client's {state} and {payload} envelopes", () => {
    expect(presenceFromState({ state: { u1: { metas: [a1] } } })).toEqual({ u1: [a1] });
    // A presence key that is literally "state" is not an envelope.
    expect(presenceFromState({ state: { metas: [a1] } })).toEqual({ state: [a1] });
    const ev = (kind: string, payload: unknown): TesterEvent => ({ kind, payload, received_at_ms: 0, latency_ms: null });
    expect(summarize(ev("system", { payload: { status: "ok", message: "Subscribed to PostgreSQL" } }))).toBe("Subscribed to PostgreSQL");
    expect(summarize(ev("system", { payload: { status: "error", message: "bad filter" } }))).toBe("error: bad filter");
    expect(summarize(ev("presence_state", { state: { u1: { metas: [a1] } } }))).toBe("state: 1 key");
    expect(summarize(ev("disconnected", { reason: "eof" }))).toBe("eof");
  });
  it("applies joins and leaves by ref", () => {
    let s = presenceFromState({ u1: { metas: [a1] } });
    s = applyPresenceDiff(s, { joins: { u2: { metas: [b1] } }, leaves: {} });
    expect(Object.keys(s)).toEqual(["u1", "u2"]);
    const a2 = { phx_ref: "A2", status: "busy" };
    s = applyPresenceDiff(s, { joins: { u1: { metas: [a2] } }, leaves: { u1: { metas: [a1] } } });
    expect(s.u1).toEqual([a2]);
    s = applyPresenceDiff(s, { joins: {}, leaves: { u2: { metas: [b1] } } });
    expect(s).toEqual({ u1: [a2] });
  });
  it("keeps a key while one of its connections remains, and does not mutate the input", () => {
    const a2 = { phx_ref: "A2" };
    const s0 = { u1: [a1, a2] };
    const s1 = applyPresenceDiff(s0, { leaves: { u1: { metas: [a1] } } });
    expect(s1).toEqual({ u1: [a2] });
    expect(s0.u1).toHaveLength(2);
    expect(applyPresenceDiff(s1, { leaves: { nobody: { metas: [a1] } } })).toEqual(s1);
  });
  it("is driven by tester events and emptied on close", () => {
    let s = reducePresence({}, { kind: "presence_state", payload: { u1: { metas: [a1] } } });
    s = reducePresence(s, { kind: "presence_diff", payload: { joins: { u2: { metas: [b1] } } } });
    expect(Object.keys(s)).toHaveLength(2);
    expect(reducePresence(s, { kind: "broadcast", payload: {} })).toBe(s);
    expect(reducePresence(s, { kind: "channel_closed", payload: null })).toEqual({});
    expect(metaState({ phx_ref: "x", presence_ref: "y", status: "on" })).toEqual({ status: "on" });
  });
});

describe("UPDATE diff", () => {
  it("marks changed columns and old values that were not sent", () => {
    const d = updateDiff({ id: 1, title: "b", done: true, tags: ["x"] }, { id: 1, title: "a", tags: ["x"] });
    expect(d).toEqual([
      { column: "id", old: 1, new: 1, oldUnknown: false, changed: false },
      { column: "title", old: "a", new: "b", oldUnknown: false, changed: true },
      { column: "done", old: undefined, new: true, oldUnknown: true, changed: false },
      { column: "tags", old: ["x"], new: ["x"], oldUnknown: false, changed: false },
    ]);
  });
  it("lists columns only in the old record last", () => {
    expect(updateDiff({ a: 1 }, { a: 1, gone: 2 }).map((r) => r.column)).toEqual(["a", "gone"]);
    expect(updateDiff(null, null)).toEqual([]);
  });
  it("summarizes events for the list", () => {
    const ev = (kind: string, payload: unknown): TesterEvent => ({ kind, payload, received_at_ms: 0, latency_ms: null });
    expect(summarize(ev("postgres_changes", { ids: [1], data: { type: "INSERT", schema: "public", table: "todos", record: { id: 1, title: "hi" } } }))).toBe(
      "INSERT public.todos  id=1 title=hi",
    );
    expect(summarize(ev("postgres_changes", { data: { type: "DELETE", schema: "public", table: "t", old_record: { id: 2 } } }))).toBe("DELETE public.t  id=2");
    expect(summarize(ev("broadcast", { event: "ping", payload: { a: 1 } }))).toBe('ping  {"a":1}');
    expect(summarize(ev("presence_diff", { joins: { u1: {} }, leaves: { u2: {} } }))).toBe("+u1  -u2");
    expect(summarize(ev("system", { message: "Subscribed to PostgreSQL" }))).toBe("Subscribed to PostgreSQL");
    expect(summarize(ev("joined", { status: "ok", response: { postgres_changes: [{ id: 1 }] } }))).toBe("ok · 1 postgres_changes binding accepted");
    expect(summarize(ev("joined", { postgres_changes: [] }))).toBe("ok · 0 postgres_changes bindings accepted");
    expect(summarize(ev("joined", {}))).toBe("ok · {}");
  });
});

describe("latency histogram", () => {
  it("puts values in their buckets", () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(4.9)).toBe(0);
    expect(bucketOf(5)).toBe(1);
    expect(bucketOf(99)).toBe(4);
    expect(bucketOf(1000)).toBe(8);
    expect(bucketOf(60_000)).toBe(8);
  });
  it("counts, labels and takes percentiles", () => {
    const h = histogram([1, 2, 7, 30, 30, 30, 120, 2000, -3, 40]);
    expect(h.n).toBe(10);
    expect(h.counts).toEqual([3, 1, 0, 4, 0, 1, 0, 0, 1]);
    expect(h.labels[0]).toBe("0–5 ms");
    expect(h.labels.at(-1)).toBe("≥1000 ms");
    expect(h.p50).toBe(30);
    expect(h.p95).toBe(2000);
    expect(h.max).toBe(2000);
  });
  it("is empty without data", () => {
    const h = histogram([]);
    expect(h.counts.every((c) => c === 0)).toBe(true);
    expect(h.p50).toBeNull();
  });
});

describe("JSON lines export", () => {
  it("writes one parseable object per line", () => {
    const evs: TesterEvent[] = [
      { kind: "joined", received_at_ms: 1, latency_ms: null, payload: { status: "ok" } },
      { kind: "broadcast", received_at_ms: 2, latency_ms: null, payload: { event: "x", payload: { s: "a\nb" } } },
    ];
    const text = toJsonl(evs);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => JSON.parse(l))).toEqual(evs);
    expect(text.endsWith("\n")).toBe(true);
    expect(toJsonl([])).toBe("");
  });
});

describe("supabase-js snippet", () => {
  const req: TesterChannelRequest = {
    channel: "room-1",
    role: "authenticated",
    claims: { sub: "user-1" },
    vsn: "1.0.0",
    bindings: [{ event: "INSERT", schema: "public", table: "todos", filter: "id=eq.5" }],
    broadcast_self: true,
    broadcast_ack: false,
    presence_key: "user-1",
  };
  it("takes the card's api_url (the gateway presents the official engine's tenant)", () => {
    expect(clientUrl("http://127.0.0.1:8001", 8001)).toBe("http://127.0.0.1:8001");
    expect(clientUrl(null, 8123)).toBe("http://127.0.0.1:8123");
  });
  it("joins the official engine with vsn 1.0.0 and says why", () => {
    const s = snippet({ url: "http://127.0.0.1:8001", anonKey: "ANON", request: { ...req, vsn: "2.0.0" }, token: null, engine: "supabase" });
    expect(s).toContain('createClient("http://127.0.0.1:8001", "ANON", { realtime: { vsn: "1.0.0" } })');
    expect(s).toContain("v2.28.32");
  });
  it("subscribes like the channel, with setAuth for a minted token", () => {
    const s = snippet({ url: "http://127.0.0.1:8000", anonKey: "ANON", request: req, token: "TOKEN" });
    expect(s).toContain('createClient("http://127.0.0.1:8000", "ANON")');
    expect(s).toContain('supabase.realtime.setAuth("TOKEN")');
    expect(s).toContain('.channel("room-1", { config: { broadcast: { self: true, ack: false }, presence: { key: "user-1" } } })');
    expect(s).toContain('.on("postgres_changes", { event: "INSERT", schema: "public", table: "todos", filter: "id=eq.5" }');
    expect(s).toContain(".subscribe(");
  });
  it("leaves out setAuth for anon and table/filter when absent", () => {
    const s = snippet({
      url: "u",
      anonKey: "ANON",
      request: { ...req, role: "anon", claims: null, presence_key: "", bindings: [{ event: "*", schema: "public", table: null, filter: null }] },
      token: null,
    });
    expect(s).not.toContain("setAuth");
    expect(s).not.toContain("presence: {");
    expect(s).toContain('{ event: "*", schema: "public" }');
  });
});

describe("form values", () => {
  it("parses claims as a JSON object", () => {
    expect(parseClaims("")).toEqual({ ok: true, value: null });
    expect(parseClaims('{"sub":"u"}')).toEqual({ ok: true, value: { sub: "u" } });
    expect(parseClaims("[1]").ok).toBe(false);
    expect(parseClaims("{").ok).toBe(false);
  });
  it("types insert values by column type", () => {
    expect(coerceValue("", "integer")).toBeUndefined();
    expect(coerceValue("42", "bigint")).toBe(42);
    expect(coerceValue("4.5", "numeric(10,2)")).toBe(4.5);
    expect(coerceValue("abc", "integer")).toBe("abc");
    expect(coerceValue("true", "boolean")).toBe(true);
    expect(coerceValue("f", "boolean")).toBe(false);
    expect(coerceValue('{"a":1}', "jsonb")).toEqual({ a: 1 });
    expect(coerceValue("[1,2]", "integer[]")).toEqual([1, 2]);
    expect(coerceValue("hello", "text")).toBe("hello");
    expect(coerceValue("null", "text")).toBeNull();
  });
});
