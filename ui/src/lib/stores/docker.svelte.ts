// Docker connection state. Polled every 2 s while the engine is unreachable so the
// banner clears by itself, and every 15 s while connected to notice it going away.
import { api } from "../api/commands";
import type { DockerStatus } from "../api/types";

export const POLL_DOWN_MS = 2000;
export const POLL_UP_MS = 15000;

class DockerStore {
  status = $state<DockerStatus | null>(null);
  private timer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<() => void>();

  get connected(): boolean {
    return this.status?.connected ?? true;
  }

  /** Called once when the engine comes back after being unreachable. */
  onReconnect(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async poll(): Promise<void> {
    const wasDown = this.status !== null && !this.status.connected;
    try {
      this.status = await api.dockerStatus();
    } catch (e) {
      const err = e as { message?: string; hint?: string | null };
      this.status = { connected: false, endpoint: null, tried: [], error: err.message ?? String(e), hint: err.hint ?? null };
    }
    if (wasDown && this.status.connected) for (const fn of this.listeners) fn();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.poll(), this.connected ? POLL_UP_MS : POLL_DOWN_MS);
  }

  /** A command failed in a way that suggests Docker went away: check now. */
  suspect(): void {
    void this.poll();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

export const docker = new DockerStore();
