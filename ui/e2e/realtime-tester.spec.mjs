// The Realtime tester tab against the mocked backend (e2e/mock-backend.ts): SQL helper,
// two channels with different roles on an RLS table, the filter builder, test rows with
// latency, UPDATE diff, broadcast, presence, the virtual event list, export, snippet and
// the in-tab doctor with its safe fix.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mockedPage, mockedSuite, shot, tid } from "./harness.mjs";

const env = mockedSuite();

const rowsOf = (page, i) => page.$$eval(tid(`channel-${i}-event-row`), (r) => r.map((x) => ({ kind: x.dataset.kind, text: x.textContent })));

const SQL = `create table public.todos (
  id bigint generated always as identity primary key,
  title text not null,
  is_public boolean not null default false,
  done boolean default false
);
alter table public.todos enable row level security;
create policy "anon reads public" on public.todos for select to anon using (is_public);
alter table public.todos replica identity full;
alter publication supabase_realtime add table public.todos;`;

describe("Realtime tester (mocked IPC)", () => {
  let page;
  let errors;
  let context;

  before(async () => {
    ({ page, errors, context } = await mockedPage(env.browser, env.server.url, { seed: true }));
  });
  after(async () => context?.close());

  it("opens from the card", async () => {
    await page.click(tid("action-realtime-demo"));
    await page.waitForSelector(tid("realtime-view"));
    assert.equal(await page.$$eval(`${tid("channels")} > section`, (s) => s.length), 2);
    assert.equal(await page.inputValue(tid("channel-1-role")), "service_role");
    await shot(page, "20-realtime-empty.png");
  });

  it("creates a table from the SQL helper and fills the pickers", async () => {
    await page.fill(tid("sql-input"), SQL);
    await page.click(tid("sql-run"));
    await page.waitForSelector(tid("table-public.todos"));
    assert.match(await page.textContent(tid("sql-result")), /5 statements/);
    assert.equal(await page.inputValue(tid("channel-0-table")), "todos");
    assert.equal(await page.inputValue(tid("channel-1-table")), "todos");
    assert.match(await page.textContent(tid("table-public.todos")), /RLS/);
  });

  it("builds filter strings for each operator", async () => {
    await page.click(tid("add-channel"));
    await page.waitForSelector(tid("channel-2"));
    await page.selectOption(tid("channel-2-role"), "authenticated");
    await page.fill(tid("channel-2-claims"), '{ "sub": "user-9", "app_metadata": { "plan": "pro" } }');
    await page.selectOption(tid("channel-2-event"), "UPDATE");
    await page.selectOption(tid("channel-2-filter-col"), "id");
    for (const op of ["eq", "neq", "lt", "lte", "gt", "gte"]) {
      await page.selectOption(tid("channel-2-filter-op"), op);
      await page.fill(tid("channel-2-filter-value"), "5");
      assert.equal(await page.textContent(tid("channel-2-filter-string")), `id=${op}.5`);
    }
    await page.selectOption(tid("channel-2-filter-col"), "title");
    await page.selectOption(tid("channel-2-filter-op"), "in");
    await page.fill(tid("channel-2-filter-value"), "open, in progress");
    assert.equal(await page.textContent(tid("channel-2-filter-string")), 'title=in.(open,"in progress")');
    await page.click(tid("channel-2-token-show"));
    await page.waitForSelector(tid("channel-2-token"));
    assert.match(await page.textContent(tid("channel-2-token")), /"sub":"user-9".*"role":"authenticated"/);
    assert.deepEqual(await page.evaluate(() => window.__mock.calls("tester_token").at(-1)), {
      name: "demo",
      role: "authenticated",
      claims: { sub: "user-9", app_metadata: { plan: "pro" } },
    });
    await page.selectOption(tid("channel-2-role"), "other");
    await page.fill(tid("channel-2-role-custom"), "moderator");
    await page.waitForSelector(tid("channel-2-token"), { state: "detached" });
    await page.fill(tid("channel-2-claims"), "{ nope");
    assert.equal(await page.isDisabled(tid("channel-2-connect")), true, "bad claims JSON blocks connecting");
    await page.$eval(tid("channels"), (el) => (el.scrollLeft = el.scrollWidth));
    await shot(page, "21-realtime-three-channels-filter.png");
    await page.click(tid("channel-2-remove"));
    await page.waitForSelector(tid("channel-2"), { state: "detached" });
  });

  it("connects anon and service_role; each sees what its role may see, with latency", async () => {
    await page.selectOption(tid("channel-1-vsn"), "2.0.0");
    await page.click(tid("channel-0-connect"));
    await page.click(tid("channel-1-connect"));
    await page.waitForSelector(`${tid("channel-0-status")}[data-status="subscribed"]`);
    await page.waitForSelector(`${tid("channel-1-status")}[data-status="subscribed"]`);
    const req = await page.evaluate(() => window.__mock.calls("tester_open").map((a) => a.request));
    assert.deepEqual(req[0].bindings, [{ event: "*", schema: "public", table: "todos", filter: null }]);
    assert.equal(req[0].role, "anon");
    assert.equal(req[1].role, "service_role");
    assert.equal(req[0].vsn, "1.0.0");
    assert.equal(req[1].vsn, "2.0.0");
    assert.deepEqual({ ...req[0], bindings: null }, {
      channel: "room-1",
      role: "anon",
      claims: null,
      vsn: "1.0.0",
      bindings: null,
      broadcast_self: true,
      broadcast_ack: false,
      presence_key: "user-1",
    });
    assert.equal(req[0].claims, null);

    // A private row (is_public defaults to false), then a public one.
    await page.click(tid("insert-row-open"));
    await page.waitForSelector(tid("insert-field-title"));
    assert.equal(await page.getAttribute(tid("insert-field-id"), "placeholder"), "default");
    await shot(page, "22-realtime-insert-form.png");
    await page.fill(tid("insert-field-title"), "private note");
    await page.click(tid("insert-submit"));
    await page.waitForSelector(tid("insert-dialog"), { state: "detached" });
    await page.click(tid("insert-row-open"));
    await page.fill(tid("insert-field-title"), "hello world");
    await page.fill(tid("insert-field-is_public"), "true");
    await page.click(tid("insert-submit"));
    const args = await page.evaluate(() => window.__mock.calls("insert_row").at(-1));
    assert.deepEqual(args, { name: "demo", schema: "public", table: "todos", values: { title: "hello world", is_public: true } });

    await page.waitForFunction(() => document.querySelectorAll('[data-testid="channel-1-event-row"][data-kind="postgres_changes"]').length === 2);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="channel-0-event-row"][data-kind="postgres_changes"]').length === 1);
    const anon = (await rowsOf(page, 0)).filter((r) => r.kind === "postgres_changes");
    assert.match(anon[0].text, /INSERT public\.todos .*hello world/);
    assert.match(anon[0].text, /\d+ ms$/);
    assert.ok(!anon.some((r) => /private note/.test(r.text)), "anon must not see the private row");
    assert.match(await page.textContent(tid("channel-1-latency")), /p50 \d+ ms · p95 \d+ ms/);
  });

  it("shows an UPDATE as an old/new diff", async () => {
    await page.fill(tid("sql-input"), "update public.todos set done = true where id = 2");
    await page.click(tid("sql-run"));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="channel-1-event-row"]')].some((r) => /UPDATE/.test(r.textContent)));
    const rows = await page.$$(tid("channel-1-event-row"));
    for (const r of rows) if (/UPDATE/.test(await r.textContent())) await r.click();
    await page.waitForSelector(tid("channel-1-diff"));
    const changed = await page.$$eval(`${tid("channel-1-diff")} tr.changed`, (t) => t.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.deepEqual(changed, [["done", "false", "true"]]);
    assert.match(await page.textContent(tid("channel-1-raw")), /"old_record"/);
    // Up/Down walk the events from the keyboard.
    await page.focus(tid("channel-1-events"));
    await page.keyboard.press("ArrowUp");
    await page.waitForSelector(tid("channel-1-diff"), { state: "detached" });
    assert.match(await page.textContent(tid("channel-1-raw")), /"type": "INSERT"/);
    await page.keyboard.press("ArrowDown");
    await page.waitForSelector(tid("channel-1-diff"));
    await shot(page, "23-realtime-update-diff.png");
  });

  it("broadcasts between the two channels (self on)", async () => {
    await page.fill(tid("channel-0-broadcast-event"), "cursor");
    await page.fill(tid("channel-0-broadcast-payload"), '{ "x": 10, "y": 20 }');
    await page.click(tid("channel-0-broadcast-send"));
    for (const i of [0, 1])
      await page.waitForFunction((n) => [...document.querySelectorAll(`[data-testid="channel-${n}-event-row"]`)].some((r) => /cursor\s+\{"x":10,"y":20\}/.test(r.textContent)), i);
    const a = await page.evaluate(() => window.__mock.calls("tester_broadcast").at(-1));
    assert.deepEqual(a.payload, { x: 10, y: 20 });
    assert.equal(a.event, "cursor");
    // Invalid JSON cannot be sent.
    await page.fill(tid("channel-0-broadcast-payload"), "{ x: ");
    assert.equal(await page.isDisabled(tid("channel-0-broadcast-send")), true);
    await page.fill(tid("channel-0-broadcast-payload"), "{}");
  });

  it("tracks presence and sees members join and leave live", async () => {
    await page.fill(tid("channel-0-presence-state"), '{ "status": "online", "name": "Ada" }');
    await page.click(tid("channel-0-track"));
    await page.waitForSelector(`${tid("channel-1-members")}[data-count="1"]`);
    assert.match(await page.textContent(tid("channel-1-members")), /user-1.*"name":"Ada"/);
    await page.click(tid("channel-1-track"));
    await page.waitForSelector(`${tid("channel-0-members")}[data-count="2"]`);
    await page.waitForSelector(`${tid("channel-1-members")}[data-count="2"]`);
    await shot(page, "24-realtime-broadcast-presence.png");
    await page.click(tid("channel-0-untrack"));
    await page.waitForSelector(`${tid("channel-1-members")}[data-count="1"]`);
    assert.match(await page.textContent(tid("channel-1-members")), /user-2/);
    assert.doesNotMatch(await page.textContent(tid("channel-1-members")), /user-1/);
  });

  it("keeps every event in a virtual list, pauses, exports JSON lines and clears", async () => {
    await page.evaluate(() => window.__mock.floodTester(20_000));
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="channel-1-count"]').dataset.count) > 20_000);
    const n = Number(await page.getAttribute(tid("channel-1-count"), "data-count"));
    assert.match(await page.textContent(tid("channel-1-count")), /^20,0\d\d events/);
    assert.ok(n > 20_000, `all events kept (${n})`);
    const dom = await page.$$eval(tid("channel-1-event-row"), (r) => r.length);
    assert.ok(dom < 120, `only visible rows are in the DOM (${dom})`);
    assert.match((await rowsOf(page, 1)).at(-1).text, /flood\s+\{"i":19999\}/, "follows the newest event");

    await page.click(tid("channel-1-pause"));
    await page.evaluate(() => window.__mock.floodTester(3));
    await page.waitForFunction(() => /3 new/.test(document.querySelector('[data-testid="channel-1-paused"]')?.textContent ?? ""));
    await page.click(tid("channel-1-pause"));
    await page.waitForSelector(tid("channel-1-paused"), { state: "detached" });

    await page.click(tid("channel-0-export"));
    const saved = await page.evaluate(() => window.__mock.calls("save_download").at(-1));
    assert.equal(saved.fileName, "demo-room-1-anon.jsonl");
    const lines = saved.contents.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines[0].kind, "joined");
    assert.ok(lines.some((l) => l.kind === "postgres_changes" && l.latency_ms !== null));

    await page.click(tid("channel-1-clear"));
    await page.waitForFunction(() => document.querySelector('[data-testid="channel-1-count"]').textContent.startsWith("0 "));
  });

  it("copies a supabase-js snippet for the channel", async () => {
    await page.click(`${tid("channel-0")} ${tid("snippet-copy")}`);
    await page.waitForFunction(async () => /createClient/.test(await navigator.clipboard.readText()));
    const text = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(text, /createClient\("http:\/\/127\.0\.0\.1:8000", "eyJ/);
    assert.match(text, /\.channel\("room-1", \{ config: \{ broadcast: \{ self: true, ack: false \}, presence: \{ key: "user-1" \} \} \}\)/);
    assert.match(text, /postgres_changes", \{ event: "\*", schema: "public", table: "todos" \}/);
    assert.doesNotMatch(text, /setAuth/);
  });

  it("runs the doctor when a channel gets nothing after a test row, and applies the safe fix", async () => {
    await page.fill(tid("sql-input"), "create table public.notes (id bigint generated always as identity primary key, body text)");
    await page.click(tid("sql-run"));
    await page.waitForSelector(tid("table-public.notes"));
    assert.match(await page.textContent(tid("table-public.notes")), /unpublished/);
    await page.click(tid("channel-0-connect"));
    await page.waitForSelector(`${tid("channel-0-status")}[data-status="idle"]`);
    await page.selectOption(tid("channel-0-table"), "notes");
    await page.click(tid("channel-0-connect"));
    await page.waitForSelector(`${tid("channel-0-status")}[data-status="subscribed"]`);
    await page.click(tid("insert-row-open"));
    await page.selectOption(tid("insert-table"), "public.notes");
    await page.fill(tid("insert-field-body"), "anyone there?");
    await page.click(tid("insert-submit"));
    // Nothing arrives: after ~5 s the doctor runs by itself for public.notes.
    await page.waitForSelector(`${tid("doctor-check")}[data-id="table_published"]`, { timeout: 9000 });
    assert.match(await page.textContent(tid("doctor-reason")), /room-1 \(anon\) received nothing 5 s after a row went into public\.notes/);
    assert.match(await page.textContent(`${tid("doctor-check")}[data-id="table_published"]`), /ALTER PUBLICATION supabase_realtime ADD TABLE public\.notes;/);
    const d = await page.evaluate(() => window.__mock.calls("doctor").at(-1));
    assert.deepEqual(d, { name: "demo", tables: ["public.notes"], fix: false });
    await shot(page, "25-realtime-doctor.png");
    await page.click(tid("doctor-fix"));
    await page.waitForSelector(tid("doctor-fixed"));
    assert.equal(await page.$(`${tid("doctor-check")}[data-id="table_published"]`), null);
    assert.doesNotMatch(await page.textContent(tid("table-public.notes")), /unpublished/);
    await shot(page, "26-realtime-doctor-fixed.png");
    // Now a row arrives.
    await page.click(tid("insert-row-open"));
    await page.selectOption(tid("insert-table"), "public.notes");
    await page.fill(tid("insert-field-body"), "now?");
    await page.click(tid("insert-submit"));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="channel-0-event-row"]')].some((r) => /INSERT public\.notes/.test(r.textContent)));
  });

  it("is in the command palette and the sidebar, and keeps channels while away", async () => {
    await page.click(tid("nav-projects"));
    await page.click(tid("nav-realtime-demo"));
    await page.waitForSelector(tid("realtime-view"));
    await page.click(tid("nav-projects"));
    await page.keyboard.press("Control+k");
    await page.fill(tid("palette-input"), "realtime demo");
    await page.keyboard.press("Enter");
    await page.waitForSelector(tid("realtime-view"));
    await page.waitForSelector(`${tid("channel-0-status")}[data-status="subscribed"]`);
    assert.deepEqual(errors, []);
  });
});
