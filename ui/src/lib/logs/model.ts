// The log view's data: a bounded ring of parsed lines plus the live search matches.
// Plain TypeScript (no Svelte) so it is cheap per line and testable; the viewer
// subscribes and repaints at most once per animation frame.
import type { LogLine } from "../api/types";
import { parseAnsi, type AnsiSpan } from "./ansi";
import { detectLevel, isContinuation, type Level } from "./level";
import { Ring } from "./ring";
import { compileQuery, lineMatches, MatchList, type SearchOptions } from "./search";

/** One row of the log view: a log line or a marker we insert (container restarts). */
export interface LogEntry {
  seq: number;
  kind: "line" | "marker";
  service: string;
  stderr: boolean;
  ts: string | null;
  /** Plain text (escape codes removed), capped at the model's line cap; without the
   *  program's own time stamp when it repeats `ts` (the backend finds it). */
  text: string;
  /** The program's own stamp cut from the head of the text (kept for downloads). */
  stamp?: string;
  /** ANSI styles over `text`, null for uncoloured lines. */
  spans: AnsiSpan[] | null;
  /** Characters cut off by the line cap. */
  cut: number;
  /** Level: stated by the backend, else detected on first display. */
  level?: Level | null;
}

/** Which levels the view shows: everything, warnings and errors, or errors only. */
export type LevelFilter = "all" | "warn" | "error";

/** What the view hides: lines below a level, and (with a search) lines that do not match. */
export interface ViewFilter {
  level: LevelFilter;
  onlyMatching: boolean;
}

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Lines held in memory by default; older ones are evicted. */
export const DEFAULT_CAPACITY = 100_000;
/** Longest line kept; the rest is cut and counted. */
export const DEFAULT_LINE_CAP = 2_000;

/**
 * Level of an entry, computed once. A Postgres `DETAIL:`/`STATEMENT:` line takes the level
 * of the line before it from the same service, so an ERROR and its statement read as one.
 */
export function levelOf(e: LogEntry, prev?: (seq: number) => LogEntry | undefined): Level | null {
  if (e.level !== undefined) return e.level;
  if (e.kind === "marker") return (e.level = null);
  let level = detectLevel(e.text);
  if (level === null && prev && isContinuation(e.text)) {
    // Look back a few rows: merged views interleave other services.
    for (let s = e.seq - 1, n = 0; n < 8; s--, n++) {
      const p = prev(s);
      if (!p) break;
      if (p.service === e.service && p.kind === "line") {
        level = levelOf(p, prev);
        break;
      }
    }
  }
  e.level = level;
  return level;
}

/** The batch in time-stamp order (stable; lines without a time stamp keep their place after the previous one). */
export function byTimestamp(lines: LogLine[]): LogLine[] {
  let prev = "";
  let ordered = true;
  for (const l of lines) {
    const t = l.timestamp ?? prev;
    if (t < prev) {
      ordered = false;
      break;
    }
    prev = t;
  }
  if (ordered) return lines;
  let last = "";
  const keyed = lines.map((l, i) => {
    last = l.timestamp ?? last;
    return { l, t: last, i };
  });
  keyed.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.i - b.i));
  return keyed.map((k) => k.l);
}

export class LogModel {
  readonly ring: Ring<LogEntry>;
  readonly matches = new MatchList();
  /** Lines the backend reported as dropped (it sends counts when we fall behind). */
  dropped = 0;
  /** Lines received since the model was created or cleared. */
  received = 0;
  /**
   * Merged views get each container's history separately; ordering every batch by
   * time stamp interleaves them correctly (a no-op for already ordered batches).
   */
  sortBatches = false;
  private re: RegExp | null = null;
  private filter: ViewFilter = { level: "all", onlyMatching: false };
  /** Seqs the filter lets through; null when it hides nothing. */
  private visible: MatchList | null = null;
  private visibleEvicted = 0;
  private evicted = 0;
  private listeners = new Set<() => void>();

  constructor(
    capacity = DEFAULT_CAPACITY,
    readonly lineCap = DEFAULT_LINE_CAP,
  ) {
    this.ring = new Ring<LogEntry>(capacity);
  }

  /** Called after every change; keep it cheap (schedule work, don't do it). */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(): void {
    for (const fn of this.listeners) fn();
  }

  private toEntry(line: LogLine, seq: number): LogEntry {
    const cutAt = line.stamp_len ?? 0;
    let raw = cutAt > 0 ? line.text.slice(cutAt) : line.text;
    const stamp = cutAt > 0 ? line.text.slice(0, cutAt) : undefined;
    // Bound the parse work on huge lines before we cut the plain text.
    if (raw.length > this.lineCap * 4) raw = raw.slice(0, this.lineCap * 4);
    let text = raw;
    let spans: AnsiSpan[] | null = null;
    if (raw.indexOf("\x1b") >= 0) {
      const p = parseAnsi(raw);
      text = p.text;
      spans = p.spans.length ? p.spans : null;
    }
    if (text.endsWith("\n")) text = text.replace(/\r?\n$/, "");
    let cut = line.text.length - cutAt - raw.length;
    if (text.length > this.lineCap) {
      cut += text.length - this.lineCap;
      text = text.slice(0, this.lineCap);
      if (spans) spans = spans.filter((s) => s.start < text.length).map((s) => ({ ...s, end: Math.min(s.end, text.length) }));
    }
    return {
      seq,
      kind: "line",
      service: line.service,
      stderr: line.stream === "stderr",
      ts: line.timestamp,
      text,
      stamp,
      spans,
      cut,
      level: line.level ?? undefined,
    };
  }

  private append(e: LogEntry): void {
    this.evicted += this.ring.push(e);
    const hit = this.re !== null && lineMatches(this.re, e.text);
    if (hit) this.matches.add(e.seq);
    if (this.visible && this.shows(e, hit)) this.visible.add(e.seq);
  }

  /** True when the view filter lets `e` through (`hit`: it matches the search). */
  private shows(e: LogEntry, hit: boolean): boolean {
    if (e.kind === "marker") return true;
    const f = this.filter;
    if (f.onlyMatching && this.re && !hit) return false;
    if (f.level === "all") return true;
    const lvl = levelOf(e, (s) => this.ring.bySeq(s));
    return lvl !== null && RANK[lvl] >= RANK[f.level];
  }

  /** Drops evicted rows from the lists; counts the visible rows that left. */
  private evictLists(): void {
    const first = this.ring.firstSeq;
    if (this.re) this.matches.evictBefore(first);
    if (this.visible) {
      const before = this.visible.count;
      this.visible.evictBefore(first);
      this.visibleEvicted += before - this.visible.count;
    }
  }

  /** Rebuilds the visible list after the filter or the search changed. */
  private refilter(): void {
    const f = this.filter;
    if (f.level === "all" && !(f.onlyMatching && this.re)) {
      this.visible = null;
      return;
    }
    this.visible = new MatchList();
    const re = this.re;
    for (const e of this.ring) {
      if (this.shows(e, re !== null && e.kind === "line" && lineMatches(re, e.text))) this.visible.add(e.seq);
    }
  }

  /** Sets what the view hides; rescans the buffer. */
  setFilter(f: ViewFilter): void {
    this.filter = { ...f };
    this.refilter();
    this.notify();
  }

  /** True when some rows are hidden by the filter (row i is then not seq firstSeq+i). */
  get filtered(): boolean {
    return this.visible !== null;
  }

  /** Rows the view shows, up to (not including) seq `end`. */
  viewCount(end = this.ring.endSeq): number {
    const first = this.ring.firstSeq;
    if (!this.visible) return Math.max(0, Math.min(end, this.ring.endSeq) - first);
    return this.visible.lowerBound(end);
  }

  /** Sequence number of the view's row `i`. */
  seqAt(i: number): number | undefined {
    if (!this.visible) return this.ring.firstSeq + i;
    return this.visible.seqAt(i);
  }

  /** The view's row index of `seq` (of the next shown row when `seq` is hidden). */
  indexOf(seq: number): number {
    if (!this.visible) return seq - this.ring.firstSeq;
    return this.visible.lowerBound(seq);
  }

  /** Adds a batch from the backend. */
  ingest(lines: LogLine[], dropped = 0): void {
    if (this.sortBatches) lines = byTimestamp(lines);
    this.dropped += dropped;
    for (let i = 0; i < lines.length; i++) {
      this.append(this.toEntry(lines[i], this.ring.endSeq));
    }
    this.received += lines.length;
    this.evictLists();
    this.notify();
  }

  /** Inserts a marker row (e.g. "db restarted"). */
  marker(service: string, text: string, ts: string | null = null): void {
    this.append({ seq: this.ring.endSeq, kind: "marker", service, stderr: false, ts, text, spans: null, cut: 0 });
    this.evictLists();
    this.notify();
  }

  /** Rows evicted since the last call (the view shifts its scroll position by this many). */
  takeEvicted(): number {
    const n = this.visible ? this.visibleEvicted : this.evicted;
    this.evicted = 0;
    this.visibleEvicted = 0;
    return n;
  }

  /** Sets the search; rescans the buffer. Returns the regex error, if any. */
  setSearch(o: SearchOptions): string | null {
    const c = compileQuery(o);
    this.re = c.re;
    this.matches.reset();
    if (c.re) {
      const re = c.re;
      const n = this.ring.size;
      for (let i = 0; i < n; i++) {
        const e = this.ring.at(i)!;
        if (lineMatches(re, e.text)) this.matches.add(e.seq);
      }
    }
    this.refilter();
    this.notify();
    return c.error;
  }

  /** The active search expression (for highlighting visible rows). */
  get searchRe(): RegExp | null {
    return this.re;
  }

  clear(): void {
    this.ring.clear();
    this.matches.reset();
    this.visible?.reset();
    this.received = 0;
    this.dropped = 0;
    this.evicted = 0;
    this.notify();
  }

  /** The buffer as text, one line per entry, for download or copy; lines keep the
   *  program's own stamp (as written), after the engine's. */
  toText(withTimestamps = true, withService = true): string {
    const out: string[] = [];
    for (const e of this.ring) {
      let s = "";
      if (withTimestamps && e.ts) s += e.ts + " ";
      if (withService) s += e.service + " | ";
      s += e.kind === "marker" ? `--- ${e.text} ---` : (e.stamp ?? "") + e.text;
      out.push(s);
    }
    return out.join("\n") + "\n";
  }
}
