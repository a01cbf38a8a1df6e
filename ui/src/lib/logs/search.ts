// Search over the buffered log lines: plain or regex, case toggle, match ranges for
// highlighting, and a sorted match list for next/previous.

export interface SearchOptions {
  query: string;
  regex: boolean;
  caseSensitive: boolean;
}

export type Compiled = { re: RegExp | null; error: string | null };

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Builds the RegExp for a query; an invalid regex gives `error` instead of throwing. */
export function compileQuery(o: SearchOptions): Compiled {
  if (o.query === "") return { re: null, error: null };
  const flags = o.caseSensitive ? "g" : "gi";
  try {
    return { re: new RegExp(o.regex ? o.query : escapeRegExp(o.query), flags), error: null };
  } catch (e) {
    return { re: null, error: e instanceof Error ? e.message : String(e) };
  }
}

/** All non-overlapping match ranges `[start, end)` in `text` (empty matches skipped). */
export function findRanges(re: RegExp, text: string, limit = 1000): [number, number][] {
  const out: [number, number][] = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && out.length < limit) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    out.push([m.index, m.index + m[0].length]);
  }
  re.lastIndex = 0;
  return out;
}

/** True when the line has at least one non-empty match. */
export function lineMatches(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length > 0) {
      re.lastIndex = 0;
      return true;
    }
    re.lastIndex++;
    if (re.lastIndex > text.length) break;
  }
  re.lastIndex = 0;
  return false;
}

/**
 * Sequence numbers of matching lines, kept sorted as lines arrive and are evicted,
 * with a cursor for next/previous that wraps around.
 */
export class MatchList {
  private seqs: number[] = [];
  private head = 0; // seqs[0..head) were evicted
  /** Index (into the live part) of the current match, -1 when none is selected. */
  current = -1;

  get count(): number {
    return this.seqs.length - this.head;
  }

  seqAt(i: number): number | undefined {
    return this.seqs[this.head + i];
  }

  get currentSeq(): number | null {
    return this.current >= 0 && this.current < this.count ? this.seqs[this.head + this.current] : null;
  }

  reset(): void {
    this.seqs = [];
    this.head = 0;
    this.current = -1;
  }

  /** Records a matching line; seqs must be added in increasing order. */
  add(seq: number): void {
    this.seqs.push(seq);
  }

  /** Drops matches older than `firstSeq` (evicted from the ring). */
  evictBefore(firstSeq: number): void {
    let dropped = 0;
    while (this.head < this.seqs.length && this.seqs[this.head] < firstSeq) {
      this.head++;
      dropped++;
    }
    if (dropped > 0 && this.current >= 0) this.current = Math.max(0, this.current - dropped);
    if (this.head > 4096 && this.head * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    if (this.count === 0) this.current = -1;
  }

  /** Index of the first match at or after `seq` (count when none). */
  lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }

  /** Moves to the next match (after `fromSeq` when nothing is selected); wraps. */
  next(fromSeq?: number): number | null {
    if (this.count === 0) return null;
    if (this.current < 0) {
      const i = fromSeq === undefined ? 0 : this.lowerBound(fromSeq);
      this.current = i >= this.count ? 0 : i;
    } else {
      this.current = (this.current + 1) % this.count;
    }
    return this.currentSeq;
  }

  /** Moves to the previous match (before `fromSeq` when nothing is selected); wraps. */
  prev(fromSeq?: number): number | null {
    if (this.count === 0) return null;
    if (this.current < 0) {
      const i = fromSeq === undefined ? this.count - 1 : this.lowerBound(fromSeq) - 1;
      this.current = i < 0 ? this.count - 1 : i;
    } else {
      this.current = (this.current - 1 + this.count) % this.count;
    }
    return this.currentSeq;
  }
}
