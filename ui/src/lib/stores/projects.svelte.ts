// Projects: the cards, live updates from the engine's event stream, per-project
// operations in flight (with their progress timelines), and container stats.
import { api, asCommandError } from "../api/commands";
import type { CommandError, Progress, ProjectCard, RemoveReport, ServiceStats, StatusEvent } from "../api/types";
import { docker } from "./docker.svelte";
import { applyProgress, type ServiceRow } from "./timeline";
import { dropTester } from "../realtime/tester.svelte";
import { toasts } from "./toasts.svelte";

/** `finish` completes an interrupted creation (core's start resumes it, like `supalove new`). */
export type Action = "start" | "stop" | "restart" | "remove" | "finish";

/** An operation running on a project, with its live timeline. */
export interface Operation {
  action: Action;
  rows: ServiceRow[];
}

export const STATS_POLL_MS = 2000;

/** Statuses in which containers run and have stats. */
export function isRunning(c: ProjectCard): boolean {
  return c.status === "healthy" || c.status === "starting" || c.status === "unhealthy" || c.status === "partial";
}

class ProjectsStore {
  cards = $state<ProjectCard[]>([]);
  loaded = $state(false);
  error = $state<CommandError | null>(null);
  ops = $state<Record<string, Operation>>({});
  stats = $state<Record<string, ServiceStats[]>>({});
  /** A start refused because the project's data volume is gone or foreign: the app asks. */
  dataProblem = $state<{ name: string; error: CommandError } | null>(null);
  private eventsId: number | null = null;
  private eventListeners = new Set<(e: StatusEvent) => void>();
  private pending = new Map<string, ReturnType<typeof setTimeout>>();
  /** Projects being or just deleted: late event-driven reads must not bring their cards back. */
  private removed = new Set<string>();
  private statsTimer: ReturnType<typeof setInterval> | null = null;

  byName(name: string): ProjectCard | undefined {
    return this.cards.find((c) => c.name === name);
  }

  /** When each card was last read from Docker (ms since the epoch): shown while Docker is away. */
  seenAt = $state<Record<string, number>>({});

  private markSeen(names: string[]): void {
    const now = Date.now();
    const next = { ...this.seenAt };
    for (const n of names) next[n] = now;
    this.seenAt = next;
  }

  async refresh(): Promise<void> {
    try {
      this.cards = await api.listProjects();
      this.markSeen(this.cards.map((c) => c.name));
      this.error = null;
    } catch (e) {
      this.error = asCommandError(e);
      docker.suspect();
    } finally {
      this.loaded = true;
    }
  }

  /** Re-reads one card (after an event or an action); drops it when it no longer exists. */
  async refreshOne(name: string): Promise<void> {
    if (this.removed.has(name)) return;
    try {
      const card = await api.showProject(name);
      if (this.removed.has(name)) return;
      this.upsert(card);
    } catch (e) {
      const err = asCommandError(e);
      if (err.kind === "not_found") this.cards = this.cards.filter((c) => c.name !== name);
    }
  }

  upsert(card: ProjectCard): void {
    this.removed.delete(card.name);
    this.markSeen([card.name]);
    const i = this.cards.findIndex((c) => c.name === card.name);
    if (i < 0) this.cards = [...this.cards, card];
    else {
      const next = this.cards.slice();
      next[i] = card;
      this.cards = next;
    }
  }

  /** Listens to engine events; each refreshes the card it concerns (coalesced per project). */
  async watch(): Promise<void> {
    if (this.eventsId !== null) return;
    try {
      this.eventsId = await api.watchEvents((ev) => this.onEvent(ev));
    } catch {
      // Docker may be down; the reconnect hook calls watch() again.
    }
  }

  async unwatch(): Promise<void> {
    if (this.eventsId === null) return;
    const id = this.eventsId;
    this.eventsId = null;
    await api.closeEvents(id).catch(() => {});
  }

  /** Subscribes to raw status events (the log viewer marks restarts with them). */
  onStatusEvent(fn: (e: StatusEvent) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  private onEvent(ev: StatusEvent): void {
    for (const fn of this.eventListeners) fn(ev);
    const card = this.cards.find((c) => c.name === ev.project || c.id === ev.project);
    const name = card?.name ?? ev.project;
    if (this.pending.has(name)) return;
    this.pending.set(
      name,
      setTimeout(() => {
        this.pending.delete(name);
        void this.refreshOne(name);
      }, 150),
    );
  }

  private track(name: string, action: Action): (p: Progress) => void {
    this.ops = { ...this.ops, [name]: { action, rows: [] } };
    return (p) => {
      const op = this.ops[name];
      if (!op) return;
      this.ops = { ...this.ops, [name]: { ...op, rows: applyProgress(op.rows, p) } };
    };
  }

  private done(name: string): void {
    const { [name]: _, ...rest } = this.ops;
    this.ops = rest;
  }

  /** Start, stop or restart a project from its card; `finish` completes an interrupted creation. */
  async act(name: string, action: "start" | "stop" | "restart" | "finish", opts: { recreateEmpty?: boolean } = {}): Promise<void> {
    if (this.ops[name]) return;
    const onProgress = this.track(name, action);
    try {
      const card =
        action === "start" || action === "finish"
          ? await api.startProject(name, onProgress, opts.recreateEmpty ?? false)
          : action === "stop"
            ? await api.stopProject(name, onProgress)
            : await api.restartProject(name, onProgress);
      this.upsert(card);
      if (card.status === "incomplete" && action !== "stop") {
        // Never "started" while the project is still not set up.
        toasts.show(`${name}: setup is still not finished`, "error", "Press Finish setup to try again, or delete the project.", 8000);
        return;
      }
      const verb = {
        stop: "stopped",
        start: opts.recreateEmpty ? "started with an empty database" : "started",
        restart: "restarted",
        finish: "set up and running",
      }[action];
      toasts.show(`${name}: ${verb}`);
    } catch (e) {
      const err = asCommandError(e);
      // Never an empty database in place of lost data without asking: the dialog offers the choice.
      if (err.kind === "volume_missing" || err.kind === "volume_foreign") this.dataProblem = { name, error: err };
      else toasts.error(err, `${action === "finish" ? "finish setup of" : action} ${name}: `);
      if (err.kind === "docker_unavailable") docker.suspect();
      void this.refreshOne(name);
    } finally {
      this.done(name);
    }
  }

  async remove(name: string, volumes: boolean, skipBackup = false): Promise<RemoveReport | null> {
    const onProgress = this.track(name, "remove");
    this.removed.add(name);
    try {
      const report = await api.removeProject(name, volumes, onProgress, skipBackup);
      this.cards = this.cards.filter((c) => c.name !== name);
      dropTester(name);
      const { [name]: _, ...rest } = this.stats;
      this.stats = rest;
      const backup = report.backup ? `; backup in ${report.backup}` : "";
      toasts.show(`${name} deleted${volumes ? ` with its data${backup}` : "; data volumes kept"}`);
      return report;
    } catch (e) {
      toasts.error(asCommandError(e), `delete ${name}: `);
      this.removed.delete(name);
      void this.refreshOne(name);
      return null;
    } finally {
      this.done(name);
    }
  }

  /** Polls container stats of running projects every 2 s. */
  startStats(): void {
    if (this.statsTimer) return;
    const tick = async () => {
      const running = this.cards.filter(isRunning);
      const next: Record<string, ServiceStats[]> = {};
      await Promise.all(
        running.map(async (c) => {
          try {
            next[c.name] = await api.projectStats(c.name);
          } catch {
            // A container may be going away; the next tick tries again.
          }
        }),
      );
      this.stats = next;
    };
    void tick();
    this.statsTimer = setInterval(tick, STATS_POLL_MS);
  }

  stopStats(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
  }
}

export const projects = new ProjectsStore();
