// supabase-js `createClient(api_url, anon_key)` and realtime-js at `realtime_url`, unmodified,
// against two provisioned projects: the native engine as it is, and the native engine behind
// the gateway the official engine always has (test-only setting SUPALOVE_NATIVE_GATEWAY=1;
// the official image cannot be pulled here). Joins, an inserted row arrives, REST broadcast
// under /realtime/v1/api works, and the APIs a project lacks come back with `error` set.
// Real dockerd, real Postgres. Run by scripts/test.sh.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { RealtimeClient } from "realtime-js-node20";
import { createClient } from "@supabase/supabase-js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(root, "target", "debug", "supalove");
const env = {
  ...process.env,
  SUPALOVE_HOME: mkdtempSync(path.join(os.tmpdir(), "supalove-apiurl-")),
  SUPALOVE_DB_PORT_BASE: "23800",
  SUPALOVE_REALTIME_PORT_BASE: "29800",
  SUPALOVE_PULL: "never",
};
if (process.env.SUPALOVE_IN_KEYRING_SESSION !== "1") env.SUPALOVE_SECRET_STORE = "file";
const cli = (args, extra = {}) =>
  execFileSync(bin, args, { env: { ...env, ...extra }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const projects = [
  { label: "native engine", name: `it-gw-apiurl-${process.pid % 100000}`, extra: {} },
  { label: "native engine behind the gateway", name: `it-gw-gwurl-${process.pid % 100000}`, extra: { SUPALOVE_NATIVE_GATEWAY: "1" } },
];

after(() => {
  for (const p of projects) {
    try { cli(["rm", p.name, "--volumes", "--yes", "--no-backup"]); } catch { /* already gone */ }
  }
});

function within(ms, what, subscribe) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: timed out`)), ms);
    subscribe((v) => { clearTimeout(timer); resolve(v); });
  });
}

for (const p of projects) {
  const card = JSON.parse(cli(["new", p.name, "--json"], p.extra));
  const vars = JSON.parse(cli(["env", p.name, "--json"]));
  cli(["sql", p.name, "CREATE TABLE messages (id serial PRIMARY KEY, body text); ALTER PUBLICATION supabase_realtime ADD TABLE messages"]);
  const hasGateway = card.services.some((s) => s.service === "gateway");

  test(`${p.label}: the card and env give api_url`, () => {
    assert.equal(hasGateway, p.extra.SUPALOVE_NATIVE_GATEWAY === "1");
    assert.equal(card.api_url, `http://127.0.0.1:${card.ports.realtime}`);
    assert.equal(vars.API_URL, card.api_url);
    assert.equal(vars.SUPABASE_URL, card.api_url);
    assert.equal(vars.SUPABASE_ANON_KEY, vars.ANON_KEY);
  });

  for (const vsn of ["1.0.0", "2.0.0"]) {
    test(`${p.label}: realtime-js ${vsn} at realtime_url joins and gets its own broadcast`, async () => {
      const client = new RealtimeClient(card.realtime_url, { params: { apikey: vars.ANON_KEY }, transport: WebSocket, vsn });
      const channel = client.channel(`room-${vsn}`, { config: { broadcast: { self: true, ack: true } } });
      const echoed = within(15000, "own broadcast", (done) => channel.on("broadcast", { event: "hi" }, (m) => done(m)));
      await within(15000, "SUBSCRIBED", (done) => channel.subscribe((s) => s === "SUBSCRIBED" && done()));
      assert.equal(await channel.send({ type: "broadcast", event: "hi", payload: { vsn } }), "ok");
      assert.deepEqual((await echoed).payload, { vsn });
      await client.removeAllChannels();
      client.disconnect();
    });
  }

  test(`${p.label}: supabase-js createClient(api_url, anon_key) joins and an inserted row arrives`, async () => {
    const supabase = createClient(card.api_url, vars.SUPABASE_ANON_KEY, { realtime: { transport: WebSocket } });
    const inserted = within(15000, "INSERT event", (done) => {
      supabase
        .channel("sb-messages")
        .on("postgres_changes", { event: "INSERT", schema: "public", table: "messages" }, (m) => done(m))
        .subscribe((status) => {
          if (status === "SUBSCRIBED") cli(["sql", p.name, `INSERT INTO messages (body) VALUES ('via ${p.label}')`]);
        });
    });
    const m = await inserted;
    assert.equal(m.new.body, `via ${p.label}`);
    assert.equal(m.table, "messages");
    await supabase.removeAllChannels();
  });

  test(`${p.label}: supabase-js REST broadcast goes through /realtime/v1/api`, async () => {
    const supabase = createClient(card.api_url, vars.SUPABASE_ANON_KEY, { realtime: { transport: WebSocket } });
    // A channel that is not joined sends over HTTP (POST /realtime/v1/api/broadcast).
    const r = await supabase.channel("rest-room").send({ type: "broadcast", event: "hi", payload: { n: 1 } });
    assert.equal(r, "ok");
    await supabase.removeAllChannels();
  });

  test(`${p.label}: .from().insert() and .auth.signUp() come back with error set`, async () => {
    const supabase = createClient(card.api_url, vars.SUPABASE_ANON_KEY, { realtime: { transport: WebSocket } });
    const ins = await supabase.from("messages").insert({ body: "never written" });
    assert.ok(ins.error, `insert must fail, got ${JSON.stringify(ins)}`);
    assert.equal(ins.status, 501);
    assert.match(ins.error.message, /no REST API/);
    assert.match(ins.error.hint, /DB_URL/);
    const rows = JSON.parse(cli(["sql", p.name, "SELECT count(*) AS n FROM messages WHERE body = 'never written'", "--json"]));
    assert.equal(rows[0].rows[0][0], "0", "nothing was written");
    const { data, error } = await supabase.auth.signUp({ email: "a@example.com", password: "password-123" });
    assert.ok(error, `signUp must fail, got ${JSON.stringify(data)}`);
    assert.equal(error.status, 501);
    assert.match(error.message, /no Auth service/);
    const stored = await supabase.storage.from("b").download("f");
    assert.ok(stored.error, "storage must fail");
    const fn = await supabase.functions.invoke("hello");
    assert.ok(fn.error, "functions must fail");
  });
}
