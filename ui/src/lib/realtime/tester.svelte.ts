// The Realtime tester of one project: its channels, the database's tables, the SQL
// helper's last result and the in-tab doctor. Kept per project while the app runs, so
// leaving the tab does not drop channels or their events.
import { api, asCommandError } from "../api/commands";
import type { CommandError, DoctorReport, StatementResult, TableInfo } from "../api/types";
import { toasts } from "../stores/toasts.svelte";
import { TesterChannel } from "./channel.svelte";

/** How long a subscribed channel may stay silent after a test row before the doctor runs. */
export const SILENCE_MS = 5000;

export class Tester {
  channels = $state<TesterChannel[]>([]);
  tables = $state<TableInfo[]>([]);
  tablesError = $state<string | null>(null);
  sql = $state(
    "create table if not exists public.todos (\n  id bigint generated always as identity primary key,\n  title text not null,\n  done boolean not null default false\n);\nalter publication supabase_realtime add table public.todos;",
  );
  sqlResult = $state<StatementResult[] | null>(null);
  sqlError = $state<CommandError | null>(null);
  sqlBusy = $state(false);
  doctor = $state<DoctorReport | null>(null);
  doctorTables = $state<string[]>([]);
  doctorBusy = $state(false);
  doctorReason = $state<string | null>(null);
  doctorError = $state<CommandError | null>(null);
  /** When the last test row went in, and into which table (`schema.table`). */
  insertedAt = $state<number | null>(null);
  insertedInto = $state<string | null>(null);
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly project: string) {
    this.addChannel();
    this.addChannel();
    this.channels[1].role = "service_role";
  }

  addChannel(): TesterChannel {
    const c = new TesterChannel(this.project, this.channels.length);
    // A new channel listens to what the previous one listens to, so comparing roles is one click.
    const prev = this.channels.at(-1);
    if (prev) {
      c.schema = prev.schema;
      c.table = prev.table;
      c.topic = prev.topic;
    }
    c.onSubscribeError = (ch, message) => {
      void this.runDoctor(this.boundTables(ch), `${ch.topic} (${ch.effectiveRole}) could not subscribe: ${message}`);
    };
    this.channels = [...this.channels, c];
    return c;
  }

  removeChannel(c: TesterChannel): void {
    void c.disconnect();
    this.channels = this.channels.filter((x) => x !== c);
  }

  async loadTables(): Promise<void> {
    try {
      this.tables = await api.listTables(this.project);
      this.tablesError = null;
      for (const c of this.channels) {
        if (!c.table && !c.connected) {
          const first = this.tables.find((t) => t.schema === c.schema);
          if (first) c.table = first.name;
        }
      }
    } catch (e) {
      this.tablesError = asCommandError(e).message;
    }
  }

  schemas(): string[] {
    const all = ["public", ...this.tables.map((t) => t.schema)];
    return all.filter((s, i) => all.indexOf(s) === i);
  }

  table(schema: string, name: string): TableInfo | undefined {
    return this.tables.find((t) => t.schema === schema && t.name === name);
  }

  async runSql(): Promise<void> {
    this.sqlBusy = true;
    this.sqlError = null;
    try {
      this.sqlResult = await api.runSql(this.project, this.sql);
      await this.loadTables();
    } catch (e) {
      this.sqlResult = null;
      this.sqlError = asCommandError(e);
    } finally {
      this.sqlBusy = false;
    }
  }

  async insert(schema: string, table: string, values: Record<string, unknown>): Promise<boolean> {
    try {
      const r = await api.insertRow(this.project, schema, table, values);
      toasts.show(`Inserted ${r.count} row into ${schema}.${table}`);
      this.insertedAt = Date.now();
      this.insertedInto = `${schema}.${table}`;
      this.armSilence();
      return true;
    } catch (e) {
      toasts.error(asCommandError(e), `insert into ${schema}.${table}: `);
      return false;
    }
  }

  /** Tables the connected (or all) channels are bound to, as `schema.table`. */
  boundTables(only?: TesterChannel): string[] {
    const all = (only ? [only] : this.channels).flatMap((c) => c.bindings().flatMap((b) => (b.table ? [`${b.schema}.${b.table}`] : [])));
    return all.filter((t, i) => all.indexOf(t) === i);
  }

  /** After a test row: a subscribed channel bound to that table that got nothing in 5 s asks the doctor. */
  private armSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    const at = this.insertedAt;
    const into = this.insertedInto;
    const before = this.channels.map((c) => ({ c, n: c.changesReceived }));
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = null;
      if (at !== this.insertedAt) return;
      // Joined but never confirmed counts too: that is a failure of its own.
      const silent = this.channels.filter(
        (c) =>
          (c.status === "subscribed" || c.status === "joined") &&
          c.bindings().some((b) => !b.table || `${b.schema}.${b.table}` === into) &&
          c.changesReceived === (before.find((b) => b.c === c)?.n ?? 0),
      );
      if (silent.length && into) {
        void this.runDoctor([into], `${silent.map((c) => c.topic + " (" + c.effectiveRole + ")").join(", ")} received nothing ${SILENCE_MS / 1000} s after a row went into ${into}`);
      }
    }, SILENCE_MS);
  }

  async runDoctor(tables: string[] = this.boundTables(), reason: string | null = null, fix = false): Promise<void> {
    this.doctorBusy = true;
    this.doctorError = null;
    this.doctorTables = tables;
    if (reason !== null || !fix) this.doctorReason = reason;
    try {
      this.doctor = await api.doctor(this.project, tables, fix);
      if (fix) {
        const n = this.doctor.fixed.length;
        toasts.show(n ? `Applied ${n} fix${n > 1 ? "es" : ""}` : "Nothing to fix automatically");
        await this.loadTables();
      }
    } catch (e) {
      this.doctorError = asCommandError(e);
    } finally {
      this.doctorBusy = false;
    }
  }

  dismissDoctor(): void {
    this.doctor = null;
    this.doctorError = null;
    this.doctorReason = null;
  }

  dispose(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    for (const c of this.channels) void c.disconnect();
  }
}

// Plain map on purpose: which testers exist is not rendered.
// eslint-disable-next-line svelte/prefer-svelte-reactivity
const testers = new Map<string, Tester>();

/** The tester of a project (created on first use). */
export function testerFor(project: string): Tester {
  let t = testers.get(project);
  if (!t) {
    t = new Tester(project);
    testers.set(project, t);
  }
  return t;
}

/** Drops a project's tester (after the project is deleted). */
export function dropTester(project: string): void {
  testers.get(project)?.dispose();
  testers.delete(project);
}
