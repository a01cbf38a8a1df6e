// The subscription tester in the real app window (tauri-driver + WebKitWebDriver, Xvfb) against
// a real project: a table made with the app's SQL helper, the doctor naming the table missing
// from the publication and fixing it, anon and service_role channels on an RLS table (each sees
// exactly what its role may), latency, broadcast between two channels, presence join and leave,
// and a subscription the server refuses (its reason shown on the channel).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { launch, shot, cliRemove, byTest, root } from "./harness.mjs";

const name = `it-tester-${process.pid % 100000}`;
let s;
const el = (id) => s.browser.$(byTest(id));
const texts = (id) =>
  s.browser.execute((sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent ?? ""), byTest(id));
const attr = (id, a) => s.browser.execute((sel, at) => document.querySelector(sel)?.getAttribute(at) ?? null, byTest(id), a);
async function until(pred, what, timeout = 30_000) {
  try {
    await s.browser.waitUntil(pred, { timeout, interval: 250, timeoutMsg: what });
  } catch (e) {
    await shot(s.browser, `tester-FAILED-${what.replace(/\W+/g, "-").slice(0, 40)}`);
    throw e;
  }
}
async function setText(id, value) {
  const e = await el(id);
  await e.click();
  await s.browser.keys(["Control", "a"]);
  await s.browser.keys(["Backspace"]);
  await e.setValue(value);
}
const select = async (id, value) => (await el(id)).selectByAttribute("value", value);

before(async () => {
  s = await launch();
  execFileSync(path.join(root, "target", "debug", "supalove"), ["new", name], { env: s.env, stdio: "ignore" });
  await s.browser.refresh();
});

after(async () => {
  cliRemove(s.env, name);
  await s.close();
});

test("open the Realtime tab and make a table with the SQL helper", async () => {
  await (await el(`action-realtime-${name}`)).waitForDisplayed({ timeout: 30_000 });
  await (await el(`action-realtime-${name}`)).click();
  await (await el("realtime-view")).waitForDisplayed({ timeout: 20_000 });
  await setText(
    "sql-input",
    "CREATE TABLE notes (id serial PRIMARY KEY, body text, secret boolean NOT NULL DEFAULT false); " +
      "ALTER TABLE notes ENABLE ROW LEVEL SECURITY; " +
      "CREATE POLICY anon_sees_public ON notes FOR SELECT TO anon USING (NOT secret);",
  );
  await (await el("sql-run")).click();
  await until(async () => (await texts("sql-result")).length > 0, "the SQL helper shows its result");
  await (await el("tables-reload")).click();
  await until(async () => (await texts("table-public.notes")).length === 1, "the new table is listed");
  await shot(s.browser, "t01-sql-helper");
});

async function configure(i, role) {
  await setText(`channel-${i}-topic`, "room");
  await select(`channel-${i}-role`, role);
  await select(`channel-${i}-schema`, "public");
  await select(`channel-${i}-table`, "notes");
  await select(`channel-${i}-event`, "*");
}

test("the doctor names the table missing from the publication and fixes it", async () => {
  if ((await texts("channel-0")).length === 0) await (await el("add-channel")).click();
  await configure(0, "anon");
  await (await el("doctor-run")).click();
  await until(
    async () => (await texts("doctor-check")).some((t) => /public\.notes is not in supabase_realtime/.test(t)),
    "the doctor names the unpublished table",
  );
  await shot(s.browser, "t02-doctor-finding");
  await (await el("doctor-fix")).click();
  await until(async () => (await texts("doctor-fixed")).join(" ").includes("ALTER PUBLICATION"), "the fix ran");
  const published = execFileSync(
    path.join(root, "target", "debug", "supalove"),
    ["sql", name, "SELECT tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime'"],
    { env: s.env, encoding: "utf8" },
  );
  assert.match(published, /notes/);
  await shot(s.browser, "t03-doctor-fixed");
});

test("anon and service_role channels each see exactly what their role may, with latency", async () => {
  await (await el("channel-0-connect")).click();
  await until(async () => (await attr("channel-0-status", "data-status")) === "subscribed", "anon subscribed");
  if ((await texts("channel-1")).length === 0) await (await el("add-channel")).click();
  await configure(1, "service_role");
  await (await el("channel-1-connect")).click();
  await until(async () => (await attr("channel-1-status", "data-status")) === "subscribed", "service_role subscribed");

  for (const [body, secret] of [["public row", "false"], ["secret row", "true"]]) {
    await (await el("insert-row-open")).click();
    await (await el("insert-table")).waitForDisplayed({ timeout: 10_000 });
    await select("insert-table", "public.notes");
    await setText("insert-field-body", body);
    await setText("insert-field-secret", secret);
    await (await el("insert-submit")).click();
    await (await el("insert-submit")).waitForDisplayed({ timeout: 10_000, reverse: true });
  }
  await until(
    async () => (await texts("channel-1-event-row")).filter((t) => /public row|secret row/.test(t)).length === 2,
    "service_role sees both rows",
  );
  await until(async () => (await texts("channel-0-event-row")).some((t) => t.includes("public row")), "anon sees the public row");
  // Give the hidden row time to (wrongly) arrive before asserting it did not.
  await s.browser.pause(1500);
  assert.ok(!(await texts("channel-0-event-row")).some((t) => t.includes("secret row")), "anon must not see the secret row");
  assert.match((await texts("channel-0-latency")).join(" "), /\d+(\.\d+)?\s*ms/);
  await shot(s.browser, "t04-two-roles");
});

test("broadcast from one channel reaches the other", async () => {
  await setText("channel-0-broadcast-event", "ping");
  await setText("channel-0-broadcast-payload", '{"n": 1}');
  await (await el("channel-0-broadcast-send")).click();
  await until(async () => (await texts("channel-1-event-row")).some((t) => t.includes("ping")), "channel 2 receives the broadcast");
  await shot(s.browser, "t05-broadcast");
});

test("presence: members join and leave live", async () => {
  await setText("channel-1-presence-state", '{"user": "svc"}');
  await (await el("channel-1-track")).click();
  await until(async () => (await texts("channel-0-member")).some((t) => t.includes("svc")), "channel 1 sees the member join");
  await shot(s.browser, "t06-presence-join");
  await (await el("channel-1-untrack")).click();
  await until(async () => !(await texts("channel-0-member")).some((t) => t.includes("svc")), "channel 1 sees the member leave");
  await shot(s.browser, "t07-presence-leave");
});

test("a subscription the server refuses shows the server's reason on the channel", async () => {
  // Channels 0 and 1 are the earlier tests'; this one is the third.
  await (await el("add-channel")).click();
  const i = 2;
  await (await el(`channel-${i}`)).waitForDisplayed({ timeout: 10_000 });
  await configure(i, "service_role");
  await select(`channel-${i}-filter-col`, "id");
  await select(`channel-${i}-filter-op`, "eq");
  await setText(`channel-${i}-filter-value`, "abc");
  assert.equal((await texts(`channel-${i}-filter-string`))[0], "id=eq.abc");
  await (await el(`channel-${i}-connect`)).click();
  await until(
    async () => (await texts(`channel-${i}-error`)).some((t) => /invalid filter value `abc` for column id/.test(t)),
    "the channel shows the server's refusal",
  );
  assert.notEqual(await attr(`channel-${i}-status`, "data-status"), "subscribed");
  await shot(s.browser, "t08-refused-filter");
});
