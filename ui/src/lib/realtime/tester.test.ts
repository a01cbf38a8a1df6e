import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const calls: { cmd: string; args: unknown[] }[] = [];
vi.mock("../api/commands", () => {
  const rec =
    (cmd: string, out: (...a: unknown[]) => unknown) =>
    async (...args: unknown[]) => {
      calls.push({ cmd, args });
      return out(...args);
    };
  return {
    asCommandError: (e: unknown) => e,
    api: {
      listTables: rec("list_tables", () => [
        { schema: "public", name: "todos", columns: [], published: false, rls: false, has_primary_key: true },
      ]),
      insertRow: rec("insert_row", () => ({ columns: [], rows: [], count: 1 })),
      doctor: rec("doctor", () => ({ checks: [], fixed: [] })),
      testerClose: rec("tester_close", () => true),
    },
  };
});

const { Tester, SILENCE_MS } = await import("./tester.svelte");

describe("tester doctor trigger", () => {
  beforeEach(() => {
    calls.length = 0;
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  function subscribed(t: InstanceType<typeof Tester>) {
    const c = t.channels[0];
    c.table = "todos";
    c.receive({ kind: "joined", payload: {}, received_at_ms: 0, latency_ms: null });
    c.receive({ kind: "system", payload: { payload: { status: "ok", message: "Subscribed to PostgreSQL" } }, received_at_ms: 0, latency_ms: null });
    return c;
  }

  it("runs the doctor for the table when a subscribed channel hears nothing for 5 s after a test row", async () => {
    const t = new Tester("demo");
    await t.loadTables();
    const c = subscribed(t);
    expect(c.status).toBe("subscribed");
    await t.insert("public", "todos", { title: "x" });
    await vi.advanceTimersByTimeAsync(SILENCE_MS - 1);
    expect(calls.some((x) => x.cmd === "doctor")).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const d = calls.find((x) => x.cmd === "doctor");
    expect(d?.args).toEqual(["demo", ["public.todos"], false]);
    expect(t.doctorReason).toMatch(/room-1 \(anon\) received nothing 5 s after a row went into public\.todos/);
  });

  it("stays quiet when the change arrives", async () => {
    const t = new Tester("demo");
    const c = subscribed(t);
    await t.insert("public", "todos", {});
    c.receive({ kind: "postgres_changes", payload: { data: { type: "INSERT" } }, received_at_ms: 1, latency_ms: 3 });
    await vi.advanceTimersByTimeAsync(SILENCE_MS + 100);
    expect(calls.some((x) => x.cmd === "doctor")).toBe(false);
  });

  it("ignores channels bound to another table", async () => {
    const t = new Tester("demo");
    const c = subscribed(t);
    c.table = "other";
    await t.insert("public", "todos", {});
    await vi.advanceTimersByTimeAsync(SILENCE_MS + 100);
    expect(calls.some((x) => x.cmd === "doctor")).toBe(false);
  });

  it("runs the doctor at once when the server refuses the subscription", async () => {
    const t = new Tester("demo");
    const c = t.channels[1];
    c.table = "todos";
    c.receive({ kind: "joined", payload: {}, received_at_ms: 0, latency_ms: null });
    c.receive({ kind: "system", payload: { payload: { status: "error", message: "Unable to subscribe to changes" } }, received_at_ms: 0, latency_ms: null });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.find((x) => x.cmd === "doctor")?.args).toEqual(["demo", ["public.todos"], false]);
    expect(t.doctorReason).toBe("room-1 (service_role) could not subscribe: Unable to subscribe to changes");
  });

  it("fills the table pickers and names bound tables once", async () => {
    const t = new Tester("demo");
    await t.loadTables();
    expect(t.channels.map((c) => c.table)).toEqual(["todos", "todos"]);
    expect(t.boundTables()).toEqual(["public.todos"]);
    expect(t.schemas()).toEqual(["public"]);
  });
});
