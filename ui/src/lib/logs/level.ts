// Log level detection for the formats our stacks print: Postgres (`LOG:`, `ERROR:`,
// `FATAL:`, `WARNING:`), Rust tracing / env_logger (`INFO`, `WARN`, `ERROR`), Elixir
// (`[error]`), and logfmt/JSON `level=`.

export type Level = "error" | "warn" | "info" | "debug";

/** Postgres lines that belong to the line before them (`DETAIL:`, `STATEMENT:`, ...). */
const PG_CONT = /\b(DETAIL|HINT|STATEMENT|CONTEXT|LOCATION|QUERY):\s/;

/** True for a Postgres continuation line, which takes the level of the line it explains. */
export function isContinuation(text: string): boolean {
  const head = text.length > 120 ? text.slice(0, 120) : text;
  return PG_CONT.test(head) && !/\b(LOG|ERROR|FATAL|PANIC|WARNING):\s/.test(head);
}

const PG = /\b(LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?):\s/;
const WORD = /(?:^|[\s[(|])(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|ERRO|FATAL|CRITICAL|CRIT|PANIC)(?=[\]\s:|)]|$)/;
const ELIXIR = /\[(error|warning|warn|info|notice|debug)\]/;
const KEYED = /\blevel["']?\s*[=:]\s*["']?(error|err|fatal|warn|warning|info|debug|trace)\b/i;

const MAP: Record<string, Level> = {
  ERROR: "error",
  ERRO: "error",
  ERR: "error",
  FATAL: "error",
  PANIC: "error",
  CRITICAL: "error",
  CRIT: "error",
  WARNING: "warn",
  WARN: "warn",
  LOG: "info",
  NOTICE: "info",
  INFO: "info",
  DEBUG: "debug",
  TRACE: "debug",
};

function map(word: string): Level | null {
  const w = word.toUpperCase();
  if (w.startsWith("DEBUG")) return "debug";
  return MAP[w] ?? null;
}

/** The level of a plain-text log line, or null when it states none. Looks at the head only. */
export function detectLevel(text: string): Level | null {
  const head = text.length > 200 ? text.slice(0, 200) : text;
  let m = PG.exec(head);
  if (m) return map(m[1]);
  m = WORD.exec(head.length > 100 ? head.slice(0, 100) : head);
  if (m) return map(m[1]);
  m = ELIXIR.exec(head);
  if (m) return map(m[1]);
  m = KEYED.exec(head);
  if (m) return map(m[1]);
  return null;
}
