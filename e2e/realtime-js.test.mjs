// The official clients against a project supalove provisioned: @supabase/realtime-js (Node 20
// build, `ws` transport) at the project's realtime_url, and @supabase/supabase-js createClient.
// Real dockerd, real Postgres, our native engine in its container. Run by scripts/test.sh.
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
  SUPALOVE_HOME: mkdtempSync(path.join(os.tmpdir(), "supalove-rtjs-")),
  SUPALOVE_DB_PORT_BASE: "23500",
  SUPALOVE_REALTIME_PORT_BASE: "29500",
  SUPALOVE_PULL: "never",
};
if (process.env.SUPALOVE_IN_KEYRING_SESSION !== "1") env.SUPALOVE_SECRET_STORE = "file";
const cli = (...args) => execFileSync(bin, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const name = `it-rtjs-${process.pid % 100000}`;

after(() => {
  try { cli("rm", name, "--volumes", "--yes"); } catch { /* already gone */ }
});

const card = JSON.parse(cli("new", name, "--json"));
const vars = JSON.parse(cli("env", name, "--json"));
cli("sql", name, "CREATE TABLE notes (id serial PRIMARY KEY, body text); ALTER PUBLICATION supabase_realtime ADD TABLE notes");

function once(subscribe) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), 15000);
    subscribe((v) => { clearTimeout(timer); resolve(v); });
  });
}

for (const vsn of ["1.0.0", "2.0.0"]) {
  test(`realtime-js ${vsn} at realtime_url gets INSERT, UPDATE and DELETE`, async () => {
    assert.equal(card.realtime_url, vars.REALTIME_URL);
    const client = new RealtimeClient(card.realtime_url, { params: { apikey: vars.ANON_KEY }, transport: WebSocket, vsn });
    const got = [];
    let wake = () => {};
    const channel = client.channel(`notes-${vsn}`).on("postgres_changes", { event: "*", schema: "public", table: "notes" }, (p) => {
      got.push(p);
      wake();
    });
    await once((done) => channel.subscribe((status, err) => {
      if (status === "SUBSCRIBED") done();
      if (err) throw err;
    }));
    const next = async (n) => {
      while (got.length < n) await once((done) => { wake = done; });
    };
    cli("sql", name, `INSERT INTO notes (body) VALUES ('from ${vsn}')`);
    await next(1);
    assert.equal(got[0].eventType, "INSERT");
    assert.equal(got[0].new.body, `from ${vsn}`);
    assert.equal(got[0].schema, "public");
    assert.equal(got[0].table, "notes");
    assert.ok(got[0].commit_timestamp);
    const id = got[0].new.id;
    cli("sql", name, `UPDATE notes SET body = 'updated ${vsn}' WHERE id = ${id}`);
    await next(2);
    assert.equal(got[1].eventType, "UPDATE");
    assert.equal(got[1].new.body, `updated ${vsn}`);
    assert.equal(got[1].old.id, id);
    cli("sql", name, `DELETE FROM notes WHERE id = ${id}`);
    await next(3);
    assert.equal(got[2].eventType, "DELETE");
    assert.equal(got[2].old.id, id);
    await client.removeAllChannels();
    client.disconnect();
  });
}

test("realtime-js broadcast with self and ack, and presence join", async () => {
  const client = new RealtimeClient(card.realtime_url, { params: { apikey: vars.ANON_KEY }, transport: WebSocket });
  const channel = client.channel("room", { config: { broadcast: { self: true, ack: true }, presence: { key: "me" } } });
  const echoed = once((done) => channel.on("broadcast", { event: "hi" }, (m) => done(m)));
  const joined = once((done) => channel.on("presence", { event: "join" }, (p) => done(p)));
  await once((done) => channel.subscribe((s) => s === "SUBSCRIBED" && done()));
  assert.equal(await channel.send({ type: "broadcast", event: "hi", payload: { n: 1 } }), "ok");
  assert.deepEqual((await echoed).payload, { n: 1 });
  await channel.track({ online: true });
  const p = await joined;
  assert.equal(p.key, "me");
  assert.equal(p.newPresences[0].online, true);
  await client.removeAllChannels();
  client.disconnect();
});

test("supabase-js createClient reaches the project's Realtime at /realtime/v1", async () => {
  const port = new URL(card.realtime_url).port;
  const supabase = createClient(`http://127.0.0.1:${port}`, vars.ANON_KEY, { realtime: { transport: WebSocket } });
  const inserted = once((done) => {
    supabase
      .channel("sb-notes")
      .on("postgres_changes", { event: "INSERT", schema: "public", table: "notes" }, (p) => done(p))
      .subscribe((status) => {
        if (status === "SUBSCRIBED") cli("sql", name, "INSERT INTO notes (body) VALUES ('via supabase-js')");
      });
  });
  const p = await inserted;
  assert.equal(p.new.body, "via supabase-js");
  await supabase.removeAllChannels();
});
