import { describe, expect, it } from "vitest";
import { color256, parseAnsi, stripAnsi } from "./ansi";
import { detectLevel, isContinuation } from "./level";
import { Ring } from "./ring";
import { compileQuery, findRanges, lineMatches, MatchList } from "./search";
import { computeWindow, isAtBottom, scrollTopFor } from "./virtual";
import { byTimestamp, levelOf, LogModel } from "./model";
import { segments, shortTime, serviceSlot, styleCss } from "./format";
import type { LogLine } from "../api/types";

describe("ansi", () => {
  it("leaves plain text alone", () => {
    expect(parseAnsi("hello")).toEqual({ text: "hello", spans: [] });
  });
  it("parses basic colours and reset into spans", () => {
    const p = parseAnsi("a \x1b[31mred\x1b[0m b");
    expect(p.text).toBe("a red b");
    expect(p.spans).toEqual([{ start: 2, end: 5, style: { fg: "var(--ansi-1)" } }]);
  });
  it("combines bold, bright, 256 and truecolour", () => {
    const p = parseAnsi("\x1b[1;92mOK\x1b[38;5;196mX\x1b[48;2;1;2;3mY\x1b[39;49;22mZ");
    expect(p.text).toBe("OKXYZ");
    expect(p.spans[0]).toEqual({ start: 0, end: 2, style: { bold: true, fg: "var(--ansi-10)" } });
    expect(p.spans[1].style.fg).toBe("rgb(255,0,0)");
    expect(p.spans[2].style).toEqual({ bold: true, fg: "rgb(255,0,0)", bg: "rgb(1,2,3)" });
    expect(p.spans).toHaveLength(3); // Z is unstyled
  });
  it("drops cursor moves, OSC links and unterminated escapes", () => {
    expect(stripAnsi("\x1b[2K\x1b[1Gdone")).toBe("done");
    expect(stripAnsi("see \x1b]8;;http://x\x07link\x1b]8;;\x07!")).toBe("see link!");
    expect(stripAnsi("tail\x1b[31")).toBe("tail");
  });
  it("keeps markup-like text as text (nothing is HTML)", () => {
    const p = parseAnsi("\x1b[31m<img src=x onerror=alert(1)>\x1b[0m");
    expect(p.text).toBe("<img src=x onerror=alert(1)>");
  });
  it("maps the 256 palette", () => {
    expect(color256(1)).toBe("var(--ansi-1)");
    expect(color256(16)).toBe("rgb(0,0,0)");
    expect(color256(231)).toBe("rgb(255,255,255)");
    expect(color256(232)).toBe("rgb(8,8,8)");
  });
});

describe("level detection", () => {
  it("understands Postgres lines", () => {
    expect(detectLevel("2026-11-24 14:26:49.459 UTC [1] LOG:  database system is ready to accept connections")).toBe("info");
    expect(detectLevel('2026-11-24 14:26:49.459 UTC [77] ERROR:  relation "x" does not exist')).toBe("error");
    expect(detectLevel("2026-11-24 14:26:49.459 UTC [77] FATAL:  password authentication failed")).toBe("error");
    expect(detectLevel("2026-11-24 14:26:49.459 UTC [77] WARNING:  no usable system locales")).toBe("warn");
    expect(detectLevel("2026-11-24 14:26:49.459 UTC [77] DEBUG2:  x")).toBe("debug");
  });
  it("understands Rust tracing / env_logger lines", () => {
    expect(detectLevel("2026-11-24T14:26:49.459Z  INFO supalove_realtime::server: listening on 0.0.0.0:4000")).toBe("info");
    expect(detectLevel("2026-11-24T14:26:49.459Z  WARN supalove_realtime: slow")).toBe("warn");
    expect(detectLevel("2026-11-24T14:26:49.459Z ERROR supalove_realtime: boom")).toBe("error");
    expect(detectLevel("[2026-11-24T14:26:49Z DEBUG hyper] x")).toBe("debug");
  });
  it("understands Elixir and logfmt", () => {
    expect(detectLevel("14:26:49.459 [error] Postgrex.Protocol failed")).toBe("error");
    expect(detectLevel('time=1 level=warn msg="x"')).toBe("warn");
    expect(detectLevel('{"level":"info","msg":"x"}')).toBe("info");
  });
  it("does not invent levels", () => {
    expect(detectLevel("PostgreSQL init process complete; ready for start up.")).toBeNull();
    expect(detectLevel("an error occurred somewhere")).toBeNull();
    expect(detectLevel("INFORMATION_SCHEMA is fine")).toBeNull();
  });
});

describe("ring buffer", () => {
  it("evicts the oldest past capacity and keeps sequence numbers", () => {
    const r = new Ring<number>(3);
    expect([1, 2, 3].map((x) => r.push(x))).toEqual([0, 0, 0]);
    expect(r.push(4)).toBe(1);
    expect(r.push(5)).toBe(1);
    expect([...r]).toEqual([3, 4, 5]);
    expect(r.firstSeq).toBe(2);
    expect(r.endSeq).toBe(5);
    expect(r.bySeq(2)).toBe(3);
    expect(r.bySeq(1)).toBeUndefined();
    expect(r.at(3)).toBeUndefined();
  });
  it("clears without reusing sequence numbers", () => {
    const r = new Ring<string>(2);
    r.push("a");
    r.push("b");
    r.clear();
    expect(r.size).toBe(0);
    expect(r.firstSeq).toBe(2);
    r.push("c");
    expect(r.bySeq(2)).toBe("c");
  });
  it("rejects a zero capacity", () => {
    expect(() => new Ring(0)).toThrow();
  });
});

describe("search", () => {
  it("escapes plain queries and honours the case toggle", () => {
    const ci = compileQuery({ query: "a.b", regex: false, caseSensitive: false }).re!;
    expect(lineMatches(ci, "xA.Bx")).toBe(true);
    expect(lineMatches(ci, "axb")).toBe(false);
    const cs = compileQuery({ query: "Err", regex: false, caseSensitive: true }).re!;
    expect(lineMatches(cs, "err")).toBe(false);
    expect(lineMatches(cs, "Err")).toBe(true);
  });
  it("supports regex and reports invalid ones", () => {
    const re = compileQuery({ query: "\\d{3}", regex: true, caseSensitive: false }).re!;
    expect(findRanges(re, "a 123 b 4567")).toEqual([[2, 5], [8, 11]]);
    const bad = compileQuery({ query: "(", regex: true, caseSensitive: false });
    expect(bad.re).toBeNull();
    expect(bad.error).toMatch(/./);
    expect(compileQuery({ query: "", regex: true, caseSensitive: false })).toEqual({ re: null, error: null });
  });
  it("skips empty regex matches", () => {
    const re = compileQuery({ query: "x*", regex: true, caseSensitive: false }).re!;
    expect(findRanges(re, "abxxc")).toEqual([[2, 4]]);
    expect(lineMatches(re, "abc")).toBe(false);
  });
  it("walks matches with next/previous and wraps", () => {
    const m = new MatchList();
    [3, 7, 9].forEach((s) => m.add(s));
    expect(m.next(5)).toBe(7);
    expect(m.next()).toBe(9);
    expect(m.next()).toBe(3);
    expect(m.prev()).toBe(9);
    const n = new MatchList();
    [3, 7, 9].forEach((s) => n.add(s));
    expect(n.prev(8)).toBe(7);
    expect(n.prev()).toBe(3);
    expect(n.prev()).toBe(9);
    expect(new MatchList().next()).toBeNull();
  });
  it("forgets evicted matches", () => {
    const m = new MatchList();
    [1, 2, 10].forEach((s) => m.add(s));
    m.next(); // 1
    m.next(); // 2
    m.evictBefore(5);
    expect(m.count).toBe(1);
    expect(m.currentSeq).toBe(10);
    m.evictBefore(11);
    expect(m.count).toBe(0);
    expect(m.currentSeq).toBeNull();
  });
});

describe("virtual window", () => {
  const base = { viewportHeight: 100, rowHeight: 20, overscan: 2 };
  it("renders only the rows in view", () => {
    const w = computeWindow({ ...base, scrollTop: 410, count: 1000 });
    expect(w.start).toBe(20);
    expect(w.offsetY).toBe(-10);
    expect(w.end).toBe(20 + 5 + 1 + 2);
    expect(w.bottomAligned).toBe(false);
  });
  it("bottom-aligns at the end", () => {
    const w = computeWindow({ ...base, scrollTop: 1000 * 20 - 100, count: 1000 });
    expect(w).toEqual({ start: 1000 - 5 - 2, end: 1000, offsetY: 0, bottomAligned: true });
  });
  it("handles short and empty lists", () => {
    expect(computeWindow({ ...base, scrollTop: 0, count: 0 })).toEqual({ start: 0, end: 0, offsetY: 0, bottomAligned: false });
    const w = computeWindow({ ...base, scrollTop: 0, count: 3 });
    expect([w.start, w.end, w.bottomAligned]).toEqual([0, 3, false]);
  });
  it("clamps scroll positions past the end", () => {
    const w = computeWindow({ ...base, scrollTop: 1e9, count: 50 });
    expect(w.end).toBe(50);
    expect(w.bottomAligned).toBe(true);
  });
  it("knows when it is at the bottom and where to scroll to", () => {
    expect(isAtBottom(900, 100, 1000)).toBe(true);
    expect(isAtBottom(880, 100, 1000)).toBe(false);
    expect(scrollTopFor(50, 20, 100, 1000)).toBe(50 * 20 - 50 + 20);
    expect(scrollTopFor(0, 20, 100, 1000)).toBe(0);
    expect(scrollTopFor(999, 20, 100, 1000)).toBe(1000 * 20 - 100);
  });
});

const line = (text: string, service = "db"): LogLine => ({ service, stream: "stdout", timestamp: null, text, level: null, stamp_len: 0 });

describe("log model", () => {
  it("caps long lines, strips ANSI and counts what was cut", () => {
    const m = new LogModel(10, 5);
    m.ingest([line("\x1b[31mabcdefgh\x1b[0m"), line("ok\n")]);
    const a = m.ring.at(0)!;
    expect(a.text).toBe("abcde");
    expect(a.cut).toBeGreaterThan(0);
    expect(a.spans).toEqual([{ start: 0, end: 5, style: { fg: "var(--ansi-1)" } }]);
    expect(m.ring.at(1)!.text).toBe("ok");
  });
  it("keeps a bounded buffer, reports evictions and live matches", () => {
    const m = new LogModel(4);
    m.setSearch({ query: "err", regex: false, caseSensitive: false });
    m.ingest(["a", "ERR 1", "b", "err 2", "c", "d"].map((t) => line(t)));
    expect(m.ring.size).toBe(4);
    expect(m.takeEvicted()).toBe(2);
    expect(m.takeEvicted()).toBe(0);
    expect(m.matches.count).toBe(1); // "ERR 1" was evicted
    expect(m.matches.next()).toBe(3);
    expect(m.received).toBe(6);
  });
  it("rescans on a new query and includes markers in the text export", () => {
    const m = new LogModel(10);
    m.ingest([line("alpha"), line("beta", "realtime")]);
    m.marker("db", "db restarted");
    expect(m.setSearch({ query: "^b", regex: true, caseSensitive: true })).toBeNull();
    expect(m.matches.count).toBe(1);
    expect(m.setSearch({ query: "[", regex: true, caseSensitive: true })).not.toBeNull();
    expect(m.toText(false)).toBe("db | alpha\nrealtime | beta\ndb | --- db restarted ---\n");
  });
  it("notifies subscribers", () => {
    const m = new LogModel(10);
    let n = 0;
    const off = m.subscribe(() => n++);
    m.ingest([line("x")]);
    off();
    m.ingest([line("y")]);
    expect(n).toBe(1);
  });
});

describe("format", () => {
  it("shortens time stamps", () => {
    expect(shortTime("2026-11-24T14:26:49.459123456Z")).toBe("14:26:49.459");
    expect(shortTime("2026-11-24T14:26:49Z")).toBe("14:26:49.000");
    expect(shortTime(null)).toBe("");
  });
  it("gives a stable service colour slot", () => {
    expect(serviceSlot("db")).toBe(serviceSlot("db"));
    expect(serviceSlot("db")).toBeGreaterThanOrEqual(0);
    expect(serviceSlot("realtime")).toBeLessThan(8);
  });
  it("splits text at style and hit boundaries", () => {
    const segs = segments("hello world", [{ start: 0, end: 5, style: { fg: "red" } }], [[3, 8]], true);
    expect(segs.map((s) => [s.text, !!s.style, s.hit])).toEqual([
      ["hel", true, false],
      ["lo", true, true],
      [" wo", false, true],
      ["rld", false, false],
    ]);
    expect(segs[1].current).toBe(true);
    expect(segments("x", null, [])).toEqual([{ text: "x", style: null, hit: false, current: false }]);
  });
  it("builds CSS from parsed styles only", () => {
    expect(styleCss({ fg: "var(--ansi-1)", bold: true })).toBe("color:var(--ansi-1);font-weight:600;");
    expect(styleCss(null)).toBe("");
  });
});

describe("merged history ordering", () => {
  const at = (t: string | null, text: string): LogLine => ({ service: "x", stream: "stdout", timestamp: t, text, level: null, stamp_len: 0 });
  it("interleaves per-container history by time stamp, stably", () => {
    const batch = [at("2026-11-24T15:12:55Z", "db1"), at(null, "db1b"), at("2026-11-24T15:12:57Z", "db2"), at("2026-11-24T15:12:53Z", "rt1"), at("2026-11-24T15:12:55Z", "rt2")];
    expect(byTimestamp(batch).map((l) => l.text)).toEqual(["rt1", "db1", "db1b", "rt2", "db2"]);
  });
  it("returns ordered batches untouched", () => {
    const batch = [at("a", "1"), at("b", "2")];
    expect(byTimestamp(batch)).toBe(batch);
  });
  it("sorts when the model is told to", () => {
    const m = new LogModel(10);
    m.sortBatches = true;
    m.ingest([at("2", "later"), at("1", "earlier")]);
    expect(m.ring.at(0)!.text).toBe("earlier");
  });
});

describe("postgres continuation lines", () => {
  it("recognises DETAIL/STATEMENT/HINT lines", () => {
    expect(isContinuation("2026-11-24 14:26:52.001 UTC [77] STATEMENT:  select * from todos")).toBe(true);
    expect(isContinuation("2026-11-24 14:26:52.001 UTC [77] DETAIL:  Key (id)=(1) already exists.")).toBe(true);
    expect(isContinuation("2026-11-24 14:26:52.001 UTC [77] ERROR:  boom")).toBe(false);
    expect(isContinuation("plain")).toBe(false);
  });
  it("take the level of the previous line of the same service", () => {
    const m = new LogModel(20);
    m.ingest([
      { service: "db", stream: "stderr", timestamp: null, text: "2026-11-24 14:26:52.001 UTC [77] ERROR:  duplicate key", level: null, stamp_len: 0 },
      { service: "realtime", stream: "stdout", timestamp: null, text: "2026-11-24T14:26:51.000Z  INFO x: y", level: null, stamp_len: 0 },
      { service: "db", stream: "stderr", timestamp: null, text: "2026-11-24 14:26:52.001 UTC [77] DETAIL:  Key (id)=(1) already exists.", level: null, stamp_len: 0 },
      { service: "db", stream: "stderr", timestamp: null, text: "2026-11-24 14:26:52.001 UTC [77] STATEMENT:  insert into todos values (1)", level: null, stamp_len: 0 },
      { service: "db", stream: "stderr", timestamp: null, text: "2026-11-24 14:26:53.000 UTC [1] LOG:  checkpoint starting", level: null, stamp_len: 0 },
    ]);
    const prev = (s: number) => m.ring.bySeq(s);
    expect([0, 1, 2, 3, 4].map((i) => levelOf(m.ring.at(i)!, prev))).toEqual(["error", "info", "error", "error", "info"]);
  });
});

describe("one time stamp, levels from the backend, and the view filter", () => {
  const pg = (text: string, stamp: string, level: LogLine["level"] = null): LogLine => ({
    service: "db",
    stream: "stderr",
    timestamp: "2026-12-03T11:14:50.158335889Z",
    text: stamp + text,
    level,
    stamp_len: stamp.length,
  });
  const STAMP = "2026-12-03 11:14:50.158 UTC ";

  it("shows the text without the program's own stamp and downloads it raw", () => {
    const m = new LogModel(10);
    m.ingest([pg("[1] LOG:  ready", STAMP, "info")]);
    const e = m.ring.at(0)!;
    expect(e.text).toBe("[1] LOG:  ready");
    expect(e.level).toBe("info");
    expect(m.toText(true, false)).toBe(`2026-12-03T11:14:50.158335889Z ${STAMP}[1] LOG:  ready\n`);
  });

  it("hides lines below the chosen level (continuations follow their line), keeps markers", () => {
    const m = new LogModel(10);
    m.ingest([
      pg("[1] LOG:  ready", STAMP, "info"),
      pg("[7] ERROR:  relation \"todos\" does not exist", STAMP, "error"),
      pg("[7] STATEMENT:  select * from todos", STAMP),
      pg("[1] WARNING:  wal_level is logical", STAMP, "warn"),
      line("init: done"),
    ]);
    m.marker("db", "db restarted");
    expect(m.filtered).toBe(false);
    expect(m.viewCount()).toBe(6);
    m.setFilter({ level: "error", onlyMatching: false });
    expect(m.filtered).toBe(true);
    expect(m.viewCount()).toBe(3);
    expect([0, 1, 2].map((i) => m.seqAt(i))).toEqual([1, 2, 5]);
    expect(m.indexOf(2)).toBe(1);
    expect(m.indexOf(3)).toBe(2); // hidden: the next shown row
    m.setFilter({ level: "warn", onlyMatching: false });
    expect(m.viewCount()).toBe(4);
    m.setFilter({ level: "all", onlyMatching: false });
    expect(m.filtered).toBe(false);
    expect(m.seqAt(4)).toBe(4);
  });

  it("only matching lines: hides the rest while a search is set, also for lines arriving later", () => {
    const m = new LogModel(10);
    m.ingest(["alpha", "beta", "alphabet"].map((t) => line(t)));
    m.setFilter({ level: "all", onlyMatching: true });
    expect(m.filtered).toBe(false); // no search yet: nothing to hide
    m.setSearch({ query: "alpha", regex: false, caseSensitive: false });
    expect(m.viewCount()).toBe(2);
    m.ingest([line("gamma"), line("ALPHA 2")]);
    expect(m.viewCount()).toBe(3);
    expect(m.seqAt(2)).toBe(4);
    expect(m.viewCount(4)).toBe(2); // paused before seq 4
  });

  it("counts evicted shown rows only, so the view keeps its place", () => {
    const m = new LogModel(3);
    m.setSearch({ query: "x", regex: false, caseSensitive: false });
    m.setFilter({ level: "all", onlyMatching: true });
    m.ingest(["x1", "a", "b", "x2"].map((t) => line(t)));
    expect(m.takeEvicted()).toBe(1); // "x1" left; "a" was hidden
    expect(m.viewCount()).toBe(1);
    m.clear();
    expect(m.viewCount()).toBe(0);
  });
});
