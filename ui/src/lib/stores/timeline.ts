// Folds Progress reports into one row per service for the provisioning timeline.
import type { Progress, Stage } from "../api/types";

/** The steps a service goes through, in order, as the timeline shows them. */
export const STEPS: Stage[] = ["pulling", "creating", "starting", "waiting_ready", "ready"];

export const STEP_LABEL: Record<Stage, string> = {
  pulling: "Pull",
  creating: "Create",
  starting: "Start",
  waiting_ready: "Health",
  ready: "Ready",
  stopping: "Stopping",
  stopped: "Stopped",
  removing: "Removing",
  removed: "Removed",
  failed: "Failed",
};

export interface ServiceRow {
  service: string;
  stage: Stage;
  detail: string;
  current: number | null;
  total: number | null;
  /** Index in STEPS of the furthest step reached (-1 for stop/remove stages). */
  step: number;
  failed: boolean;
  /** When the service entered its current stage (ms). */
  since: number;
  /** When it first reported (ms), to show how long it took. */
  started: number;
  finished: number | null;
}

/** Applies one report; returns a new array (rows keep first-seen order). */
export function applyProgress(rows: ServiceRow[], p: Progress, now = Date.now()): ServiceRow[] {
  const i = rows.findIndex((r) => r.service === p.service);
  const prev = i >= 0 ? rows[i] : null;
  const stepIdx = STEPS.indexOf(p.stage);
  const failed = p.stage === "failed";
  const row: ServiceRow = {
    service: p.service,
    stage: p.stage,
    detail: p.detail,
    current: p.current,
    total: p.total,
    step: failed ? (prev?.step ?? 0) : Math.max(stepIdx, prev && stepIdx >= 0 ? prev.step : -1),
    failed,
    since: prev && prev.stage === p.stage ? prev.since : now,
    started: prev?.started ?? now,
    finished: p.stage === "ready" || p.stage === "removed" || p.stage === "stopped" || failed ? now : null,
  };
  if (i < 0) return [...rows, row];
  const out = rows.slice();
  out[i] = row;
  return out;
}

/** Fraction 0–1 of a byte/step progress, or null when unknown. */
export function fraction(current: number | null, total: number | null): number | null {
  if (current == null || !total || total <= 0) return null;
  return Math.max(0, Math.min(1, current / total));
}

/** "12.3 MB" style sizes. */
export function bytes(n: number): string {
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${u[i]}`;
}
