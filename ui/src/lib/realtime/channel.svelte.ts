// One tester channel: its configuration, its connection (a backend Channel of
// TesterEvents), the events it received (unbounded, outside Svelte's reactivity) and
// its presence members.
import { api } from "../api/commands";
import type { ChangeBinding, CommandError, TesterChannelRequest, TesterEvent } from "../api/types";
import { buildFilter, inner, parseClaims, reducePresence, type FilterOp, type PresenceState } from "./logic";

export type ChannelStatus = "idle" | "connecting" | "joined" | "subscribed" | "closed" | "error";
export const ROLES = ["anon", "service_role", "authenticated"] as const;
/** The role select's value for a role typed by hand. */
export const OTHER_ROLE = "other";
export const VSNS = ["1.0.0", "2.0.0"] as const;
export const EVENTS = ["*", "INSERT", "UPDATE", "DELETE"] as const;

let seq = 0;

export class TesterChannel {
  readonly key = ++seq;
  topic = $state("");
  /** anon, service_role, authenticated, or OTHER_ROLE (then `customRole`). */
  role = $state<string>("anon");
  customRole = $state("");
  claims = $state('{\n  "sub": "user-1"\n}');
  vsn = $state<string>("1.0.0");
  /** Listen to postgres_changes at all. */
  changes = $state(true);
  schema = $state("public");
  /** Empty: every table of the schema. */
  table = $state("");
  event = $state<string>("*");
  filterCol = $state("");
  filterOp = $state<FilterOp>("eq");
  filterValue = $state("");
  broadcastSelf = $state(true);
  broadcastAck = $state(false);
  presenceKey = $state("");
  broadcastEvent = $state("ping");
  broadcastPayload = $state('{ "hello": "world" }');
  presenceState = $state('{ "status": "online" }');

  status = $state<ChannelStatus>("idle");
  error = $state<string | null>(null);
  members = $state<PresenceState>({});
  tracking = $state(false);
  /** Bumped whenever `events` changes (the list repaints on it). */
  version = $state(0);
  /** When the subscription was confirmed (ms), and when the last change arrived. */
  subscribedAt = $state<number | null>(null);
  changesReceived = $state(0);

  /** Every event received since the last clear. Not reactive on purpose: can be huge. */
  events: TesterEvent[] = [];
  /** Latencies of the postgres_changes among `events` (for the histogram). */
  latencies: number[] = [];
  /** Called when the server refuses the postgres_changes subscription (the tester runs the doctor). */
  onSubscribeError: ((c: TesterChannel, message: string) => void) | null = null;
  private id: number | null = null;
  private gen = 0;
  private raf = 0;

  constructor(
    readonly project: string,
    index: number,
  ) {
    this.topic = `room-${index + 1}`;
    this.presenceKey = `user-${index + 1}`;
  }

  /** The role the JWT carries. */
  get effectiveRole(): string {
    return this.role === OTHER_ROLE ? this.customRole.trim() : this.role;
  }

  /** Claims are sent for every role but anon and service_role. */
  get usesClaims(): boolean {
    return this.role !== "anon" && this.role !== "service_role";
  }

  get filter(): string | null {
    return buildFilter(this.filterCol, this.filterOp, this.filterValue);
  }

  get connected(): boolean {
    return this.status === "connecting" || this.status === "joined" || this.status === "subscribed";
  }

  bindings(): ChangeBinding[] {
    if (!this.changes) return [];
    return [{ event: this.event, schema: this.schema, table: this.table || null, filter: this.table ? this.filter : null }];
  }

  /** The request `tester_open` gets; throws a readable message on bad claims JSON. */
  request(): TesterChannelRequest {
    const c = parseClaims(this.claims);
    if (this.usesClaims && !c.ok) throw new Error(`claims: ${c.error}`);
    if (!this.effectiveRole) throw new Error("enter a role");
    return {
      channel: this.topic.trim() || "room",
      role: this.effectiveRole,
      claims: this.usesClaims && c.ok ? c.value : null,
      vsn: this.vsn,
      bindings: this.bindings(),
      broadcast_self: this.broadcastSelf,
      broadcast_ack: this.broadcastAck,
      presence_key: this.presenceKey,
    };
  }

  private bump(): void {
    if (this.raf) return;
    const run = () => {
      this.raf = 0;
      this.version++;
    };
    this.raf = typeof requestAnimationFrame === "function" ? requestAnimationFrame(run) : (setTimeout(run, 16) as unknown as number);
  }

  /** Handles one event from the backend (public for tests and the mock). */
  receive(ev: TesterEvent): void {
    this.events.push(ev);
    if (ev.latency_ms !== null && ev.latency_ms !== undefined) this.latencies.push(ev.latency_ms);
    switch (ev.kind) {
      case "joined":
        // Broadcast and presence work from the join; changes once Postgres confirms.
        this.status = this.bindings().length ? "joined" : "subscribed";
        if (!this.bindings().length) this.subscribedAt = ev.received_at_ms;
        break;
      case "system": {
        const p = inner(ev.payload, "payload") as { status?: string; message?: string } | null;
        if (p?.status === "error") {
          this.error = p.message ?? "subscription error";
          this.onSubscribeError?.(this, this.error);
        }
        else if (/subscribed/i.test(p?.message ?? "") || p?.status === "ok") {
          this.status = "subscribed";
          this.subscribedAt ??= ev.received_at_ms;
        }
        break;
      }
      case "postgres_changes":
        this.changesReceived++;
        break;
      case "channel_error":
      case "error": {
        const p = inner(ev.payload, "payload") as { message?: string; reason?: string } | null;
        this.error = String(p?.message ?? p?.reason ?? (ev.kind === "channel_error" ? "the channel crashed on the server" : "error"));
        this.status = "error";
        break;
      }
      case "channel_closed":
        this.status = "closed";
        this.tracking = false;
        break;
      case "disconnected": {
        const reason = (ev.payload as { reason?: string } | null)?.reason;
        this.status = "error";
        this.error = `disconnected${reason ? ` (${reason})` : ""}; reconnecting…`;
        this.tracking = false;
        break;
      }
      case "reconnected":
        // The client rejoined its channels by itself.
        this.error = null;
        this.status = this.bindings().length ? "joined" : "subscribed";
        break;
    }
    const m = reducePresence(this.members, ev);
    if (m !== this.members) this.members = m;
    this.bump();
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    let request: TesterChannelRequest;
    try {
      request = this.request();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      return;
    }
    const gen = ++this.gen;
    this.status = "connecting";
    this.error = null;
    this.subscribedAt = null;
    this.changesReceived = 0;
    try {
      const id = await api.testerOpen(this.project, request, (ev) => {
        if (gen === this.gen) this.receive(ev);
      });
      if (gen !== this.gen) {
        void api.testerClose(id).catch(() => {});
        return;
      }
      this.id = id;
    } catch (e) {
      if (gen !== this.gen) return;
      this.status = "error";
      this.error = (e as CommandError).message ?? String(e);
    }
  }

  async disconnect(): Promise<void> {
    this.gen++;
    const id = this.id;
    this.id = null;
    this.status = "idle";
    this.tracking = false;
    this.members = {};
    this.subscribedAt = null;
    if (id !== null) await api.testerClose(id).catch(() => {});
  }

  clear(): void {
    this.events = [];
    this.latencies = [];
    this.version++;
  }

  private need(): number {
    if (this.id === null) throw new Error("connect the channel first");
    return this.id;
  }

  async broadcast(event: string, payload: unknown): Promise<void> {
    await api.testerBroadcast(this.need(), event, payload);
  }

  async track(state: unknown): Promise<void> {
    await api.testerTrack(this.need(), state);
    this.tracking = true;
  }

  async untrack(): Promise<void> {
    await api.testerUntrack(this.need());
    this.tracking = false;
  }
}
