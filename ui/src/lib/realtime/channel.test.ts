import { describe, expect, it } from "vitest";
import type { TesterEvent } from "../api/types";
import { TesterChannel } from "./channel.svelte";

const ev = (kind: string, payload: unknown, latency_ms: number | null = null): TesterEvent => ({ kind, payload, latency_ms, received_at_ms: 1000 });

describe("tester channel", () => {
  it("builds the request from its settings", () => {
    const c = new TesterChannel("demo", 0);
    c.table = "todos";
    c.event = "UPDATE";
    c.filterCol = "id";
    c.filterOp = "gte";
    c.filterValue = "10";
    expect(c.request()).toEqual({
      channel: "room-1",
      role: "anon",
      claims: null,
      vsn: "1.0.0",
      bindings: [{ event: "UPDATE", schema: "public", table: "todos", filter: "id=gte.10" }],
      broadcast_self: true,
      broadcast_ack: false,
      presence_key: "user-1",
    });
    c.role = "authenticated";
    c.claims = '{"sub":"u"}';
    expect(c.request().claims).toEqual({ sub: "u" });
    c.role = "other";
    c.customRole = "moderator";
    expect(c.request().role).toBe("moderator");
    c.claims = "{";
    expect(() => c.request()).toThrow(/claims/);
    c.changes = false;
    c.role = "anon";
    expect(c.request().bindings).toEqual([]);
  });

  it("tracks status, presence and latencies from events", () => {
    const c = new TesterChannel("demo", 1);
    c.table = "todos";
    c.receive(ev("joined", { status: "ok" }));
    expect(c.status).toBe("joined");
    c.receive(ev("system", { payload: { status: "ok", message: "Subscribed to PostgreSQL" } }));
    expect(c.status).toBe("subscribed");
    expect(c.subscribedAt).toBe(1000);
    c.receive(ev("presence_state", { state: { u1: { metas: [{ phx_ref: "a" }] } } }));
    c.receive(ev("presence_diff", { joins: { u2: { metas: [{ phx_ref: "b" }] } }, leaves: {} }));
    expect(Object.keys(c.members)).toEqual(["u1", "u2"]);
    c.receive(ev("postgres_changes", { ids: [1], data: { type: "INSERT" } }, 12));
    expect(c.changesReceived).toBe(1);
    expect(c.latencies).toEqual([12]);
    c.receive(ev("disconnected", { reason: "eof" }));
    expect(c.status).toBe("error");
    expect(c.error).toMatch(/eof/);
    expect(c.members).toEqual({});
    c.receive(ev("reconnected", null));
    expect(c.status).toBe("joined");
    expect(c.events).toHaveLength(7);
    c.clear();
    expect(c.events).toEqual([]);
    expect(c.latencies).toEqual([]);
  });

  it("is subscribed on join when it has no postgres_changes binding", () => {
    const c = new TesterChannel("demo", 2);
    c.changes = false;
    c.receive(ev("joined", {}));
    expect(c.status).toBe("subscribed");
    c.receive(ev("system", { payload: { status: "error", message: "invalid filter" } }));
    expect(c.error).toBe("invalid filter");
  });
});
