// Small display helpers for log rows.
import type { AnsiSpan, AnsiStyle } from "./ansi";

/** `HH:MM:SS.mmm` of an RFC 3339 time stamp (as the engine gives it), or the input. */
export function shortTime(ts: string | null): string {
  if (!ts) return "";
  const m = /T(\d\d:\d\d:\d\d)(\.\d{1,3})?/.exec(ts);
  if (!m) return ts;
  return m[1] + (m[2] ?? ".000").padEnd(4, "0");
}

const PALETTE = 8;

/** Stable colour slot (0–7) for a service name. */
export function serviceSlot(service: string): number {
  let h = 0;
  for (let i = 0; i < service.length; i++) h = (h * 31 + service.charCodeAt(i)) | 0;
  return Math.abs(h) % PALETTE;
}

/** One piece of a rendered line: text plus its ANSI style and whether it is a search hit. */
export interface Segment {
  text: string;
  style: AnsiStyle | null;
  hit: boolean;
  /** The hit is the current search match. */
  current: boolean;
}

/**
 * Cuts `text` at every span and match boundary, so each segment has one style and one
 * highlight state.
 */
export function segments(text: string, spans: AnsiSpan[] | null, hits: [number, number][], currentLine = false): Segment[] {
  if (!spans?.length && !hits.length) return [{ text, style: null, hit: false, current: false }];
  const cuts = new Set<number>([0, text.length]);
  for (const s of spans ?? []) {
    cuts.add(s.start);
    cuts.add(s.end);
  }
  for (const [a, b] of hits) {
    cuts.add(a);
    cuts.add(b);
  }
  const points = [...cuts].filter((x) => x >= 0 && x <= text.length).sort((a, b) => a - b);
  const out: Segment[] = [];
  let si = 0;
  let hi = 0;
  const sp = spans ?? [];
  for (let k = 0; k + 1 < points.length; k++) {
    const a = points[k];
    const b = points[k + 1];
    if (a === b) continue;
    while (si < sp.length && sp[si].end <= a) si++;
    while (hi < hits.length && hits[hi][1] <= a) hi++;
    const style = si < sp.length && sp[si].start <= a ? sp[si].style : null;
    const hit = hi < hits.length && hits[hi][0] <= a;
    out.push({ text: text.slice(a, b), style, hit, current: hit && currentLine });
  }
  return out;
}

/** Inline CSS for an ANSI style (values are built by the parser, never from log text). */
export function styleCss(s: AnsiStyle | null): string {
  if (!s) return "";
  let css = "";
  if (s.fg) css += `color:${s.fg};`;
  if (s.bg) css += `background:${s.bg};`;
  if (s.bold) css += "font-weight:600;";
  if (s.dim) css += "opacity:.7;";
  if (s.italic) css += "font-style:italic;";
  if (s.underline) css += "text-decoration:underline;";
  return css;
}
