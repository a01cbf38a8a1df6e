// ANSI escape parsing: turns a raw log line into plain text plus style spans, so the
// viewer can render colours as text nodes and never as HTML.

/** Style of a run of characters; colours are CSS values we build ourselves. */
export interface AnsiStyle {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

/** A styled range `[start, end)` of the plain text. */
export interface AnsiSpan {
  start: number;
  end: number;
  style: AnsiStyle;
}

export interface ParsedAnsi {
  text: string;
  /** Only styled ranges; unstyled text has no span. */
  spans: AnsiSpan[];
}

const CUBE = [0, 95, 135, 175, 215, 255];

/** CSS colour of a 256-colour palette index; 0–15 map to theme variables. */
export function color256(n: number): string {
  if (n < 16) return `var(--ansi-${n})`;
  if (n < 232) {
    const i = n - 16;
    return `rgb(${CUBE[Math.floor(i / 36)]},${CUBE[Math.floor(i / 6) % 6]},${CUBE[i % 6]})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

function clampByte(n: number | undefined): number {
  return Math.max(0, Math.min(255, n ?? 0));
}

/** Applies one SGR parameter list to a style (returns a new object). */
export function applySgr(style: AnsiStyle, params: number[]): AnsiStyle {
  const s: AnsiStyle = { ...style };
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) {
      for (const k of Object.keys(s)) delete s[k as keyof AnsiStyle];
    } else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 22) {
      delete s.bold;
      delete s.dim;
    } else if (p === 23) delete s.italic;
    else if (p === 24) delete s.underline;
    else if (p >= 30 && p <= 37) s.fg = `var(--ansi-${p - 30})`;
    else if (p >= 90 && p <= 97) s.fg = `var(--ansi-${p - 90 + 8})`;
    else if (p === 39) delete s.fg;
    else if (p >= 40 && p <= 47) s.bg = `var(--ansi-${p - 40})`;
    else if (p >= 100 && p <= 107) s.bg = `var(--ansi-${p - 100 + 8})`;
    else if (p === 49) delete s.bg;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? "fg" : "bg";
      if (params[i + 1] === 5 && params[i + 2] !== undefined) {
        s[key] = color256(clampByte(params[i + 2]));
        i += 2;
      } else if (params[i + 1] === 2) {
        s[key] = `rgb(${clampByte(params[i + 2])},${clampByte(params[i + 3])},${clampByte(params[i + 4])})`;
        i += 4;
      }
    }
  }
  return s;
}

function isEmpty(s: AnsiStyle): boolean {
  for (const _ in s) return false;
  return true;
}

/**
 * Parses SGR colour codes into spans and drops every other escape sequence
 * (cursor moves, OSC titles/links) so they never reach the screen.
 */
export function parseAnsi(raw: string): ParsedAnsi {
  if (raw.indexOf("\x1b") < 0) return { text: raw, spans: [] };
  let text = "";
  const spans: AnsiSpan[] = [];
  let style: AnsiStyle = {};
  let runStart = 0;
  const closeRun = () => {
    if (text.length > runStart && !isEmpty(style)) {
      spans.push({ start: runStart, end: text.length, style });
    }
    runStart = text.length;
  };
  let i = 0;
  while (i < raw.length) {
    const esc = raw.indexOf("\x1b", i);
    if (esc < 0) {
      text += raw.slice(i);
      break;
    }
    text += raw.slice(i, esc);
    const kind = raw[esc + 1];
    if (kind === "[") {
      let j = esc + 2;
      while (j < raw.length && !(raw.charCodeAt(j) >= 0x40 && raw.charCodeAt(j) <= 0x7e)) j++;
      if (j >= raw.length) break; // unterminated sequence: drop the rest
      if (raw[j] === "m") {
        const body = raw.slice(esc + 2, j);
        const params = body === "" ? [] : body.split(/[;:]/).map((x) => (x === "" ? 0 : Number(x)));
        if (params.every((n) => Number.isFinite(n))) {
          closeRun();
          style = applySgr(style, params);
        }
      }
      i = j + 1;
    } else if (kind === "]") {
      // OSC: ends at BEL or ESC \
      const bel = raw.indexOf("\x07", esc + 2);
      const st = raw.indexOf("\x1b\\", esc + 2);
      const ends = [bel, st].filter((x) => x >= 0);
      if (ends.length === 0) break;
      const end = Math.min(...ends);
      i = end + (end === st ? 2 : 1);
    } else {
      i = esc + 2; // two-byte escape
    }
  }
  closeRun();
  return { text, spans };
}

/** Removes escape sequences, keeping the text. */
export function stripAnsi(raw: string): string {
  return parseAnsi(raw).text;
}
