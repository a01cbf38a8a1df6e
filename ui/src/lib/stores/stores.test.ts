import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NameChecker, type NameState } from "./namecheck";
import { applyProgress, bytes, fraction, type ServiceRow } from "./timeline";
import type { NameCheck, Progress } from "../api/types";

describe("name checker", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("debounces typing into one check of the last value", async () => {
    const calls: string[] = [];
    const states: NameState[] = [];
    const c = new NameChecker(async (n) => (calls.push(n), { ok: true, message: null }), (s) => states.push(s), 200);
    c.input("m");
    c.input("my");
    c.input("my-app");
    expect(c.current).toEqual({ state: "checking", name: "my-app" });
    await vi.advanceTimersByTimeAsync(199);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(["my-app"]);
    expect(c.current).toEqual({ state: "ok", name: "my-app" });
  });

  it("keeps the backend's note on a usable name", async () => {
    const note = "available: the data kept in volume project_shop_db_data will be used again";
    const c = new NameChecker(async () => ({ ok: true, message: note }), () => {}, 50);
    c.input("shop");
    await vi.advanceTimersByTimeAsync(50);
    expect(c.current).toEqual({ state: "ok", name: "shop", note });
  });

  it("reports the backend's message for a bad name", async () => {
    const c = new NameChecker(async () => ({ ok: false, message: "already exists" }), () => {}, 50);
    c.input("dup");
    await vi.advanceTimersByTimeAsync(50);
    expect(c.current).toEqual({ state: "bad", name: "dup", message: "already exists" });
  });

  it("drops a slow answer when the user typed again", async () => {
    let resolveFirst!: (v: NameCheck) => void;
    const check = vi
      .fn<(n: string) => Promise<NameCheck>>()
      .mockImplementationOnce(() => new Promise((r) => (resolveFirst = r)))
      .mockImplementationOnce(async () => ({ ok: false, message: "bad chars" }));
    const c = new NameChecker(check, () => {}, 10);
    c.input("a");
    await vi.advanceTimersByTimeAsync(10);
    c.input("a_");
    await vi.advanceTimersByTimeAsync(10);
    resolveFirst({ ok: true, message: null });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.current).toEqual({ state: "bad", name: "a_", message: "bad chars" });
  });

  it("goes idle on empty input and surfaces errors", async () => {
    const c = new NameChecker(async () => Promise.reject({ kind: "docker", message: "no engine" }), () => {}, 10);
    c.input("x");
    await vi.advanceTimersByTimeAsync(10);
    expect(c.current).toEqual({ state: "error", name: "x", message: "no engine" });
    c.input("  ");
    expect(c.current).toEqual({ state: "idle" });
  });
});

const p = (service: string, stage: Progress["stage"], current: number | null = null, total: number | null = null): Progress => ({
  service,
  stage,
  detail: stage,
  current,
  total,
});

describe("timeline", () => {
  it("keeps one row per service in first-seen order and tracks the furthest step", () => {
    let rows: ServiceRow[] = [];
    rows = applyProgress(rows, p("db", "pulling", 10, 100), 1);
    rows = applyProgress(rows, p("realtime", "creating"), 2);
    rows = applyProgress(rows, p("db", "starting"), 3);
    rows = applyProgress(rows, p("db", "waiting_ready"), 4);
    rows = applyProgress(rows, p("db", "ready"), 9);
    expect(rows.map((r) => r.service)).toEqual(["db", "realtime"]);
    expect(rows[0].step).toBe(4);
    expect(rows[0].started).toBe(1);
    expect(rows[0].finished).toBe(9);
    expect(rows[1].step).toBe(1);
  });
  it("marks failures without losing the step reached", () => {
    let rows = applyProgress([], p("db", "waiting_ready"));
    rows = applyProgress(rows, p("db", "failed"));
    expect(rows[0].failed).toBe(true);
    expect(rows[0].step).toBe(3);
  });
  it("formats progress and sizes", () => {
    expect(fraction(50, 200)).toBe(0.25);
    expect(fraction(null, 200)).toBeNull();
    expect(fraction(5, 0)).toBeNull();
    expect(bytes(999)).toBe("999 B");
    expect(bytes(12_345_678)).toBe("12.3 MB");
    expect(bytes(250_000_000)).toBe("250 MB");
  });
});
