// End-to-end UI tests of the production bundle (ui/dist) in headless Chromium, with the
// Tauri backend MOCKED through @tauri-apps/api/mocks (e2e/mock-backend.ts). No Docker,
// no Rust: this proves the UI's behaviour against the command contract.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { mockedPage, mockedSuite, shot, tid } from "./harness.mjs";

const env = mockedSuite();

describe("supalove UI with a mocked backend (mocked IPC)", () => {
  let page;
  let errors;

  before(async () => {
    ({ page, errors } = await mockedPage(env.browser, env.server.url, { stepMs: 60 }));
  });

  it("shows an empty state that teaches the first click", async () => {
    await page.waitForSelector(tid("empty-state"));
    assert.match(await page.textContent(tid("empty-state")), /New project/);
    await shot(page, "01-projects-empty.png");
  });

  it("validates the name as you type and refuses bad names", async () => {
    await page.click(tid("new-project"));
    await page.fill(tid("name-input"), "Bad_Name");
    await page.waitForSelector(`${tid("name-check")}[data-state="bad"]`);
    assert.match(await page.textContent(tid("name-check")), /lowercase/);
    assert.equal(await page.isDisabled(tid("create-submit")), true);
    await page.fill(tid("name-input"), "my-app");
    await page.waitForSelector(`${tid("name-check")}[data-state="ok"]`);
    assert.equal(await page.isDisabled(tid("create-submit")), false);
    await shot(page, "02-new-project-form.png");
  });

  it("creates a project and shows a live per-service timeline that reaches ready", async () => {
    await page.click(tid("create-submit"));
    await page.waitForSelector(tid("pull-progress-db"));
    await shot(page, "03-new-project-pulling.png");
    await page.waitForSelector(`${tid("timeline-realtime")}[data-stage="ready"]`, { timeout: 10_000 });
    await page.waitForSelector(tid("create-done"));
    assert.equal(await page.getAttribute(tid("timeline-db"), "data-stage"), "ready");
    assert.match(await page.textContent(tid("create-connect")), /^SUPABASE_URL=http:\/\/127\.0\.0\.1:8000\nSUPABASE_ANON_KEY=eyJ/);
    await shot(page, "04-new-project-ready.png");
    const req = await page.evaluate(() => window.__mock.calls("create_project")[0].request);
    assert.deepEqual(req, { name: "my-app", db_port: null, realtime_port: null, engine: null });
    await page.click(tid("create-close"));
  });

  it("shows the card with db_url, realtime_url, masked keys, ports and stats", async () => {
    await page.waitForSelector(tid("card-my-app"));
    assert.match(await page.textContent(tid("db-url-my-app")), /^postgresql:\/\/app:•+@127\.0\.0\.1:54320\/app$/, "password masked");
    await page.click(tid("copy-db-url-my-app"));
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, /^postgresql:\/\/app:[^•@]+@127\.0\.0\.1:54320\/app$/, "copy takes the whole URL");
    await page.click(tid("reveal-db-url-my-app"));
    assert.equal(await page.textContent(tid("db-url-my-app")), copied);
    await page.click(tid("reveal-db-url-my-app"));
    assert.equal(await page.textContent(tid("realtime-url-my-app")), "ws://127.0.0.1:8000/socket");
    assert.equal(await page.textContent(tid("api-url-my-app")), "http://127.0.0.1:8000");
    await page.click(tid("copy-connect-my-app"));
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^SUPABASE_URL=http:\/\/127\.0\.0\.1:8000\n/);
    assert.equal(await page.getAttribute(tid("status-my-app"), "data-status"), "healthy");
    const masked = await page.textContent(tid("anon-my-app"));
    assert.match(masked, /•{10}/);
    await page.click(tid("reveal-anon-my-app"));
    assert.match(await page.textContent(tid("anon-my-app")), /^eyJ[\w.-]+$/);
    await page.click(tid("copy-anon-my-app"));
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^eyJ/);
    await page.click(tid("reveal-anon-my-app"));
    await page.waitForFunction(() => /mem/.test(document.querySelector('[data-testid="stats-my-app"]').textContent));
    assert.match(await page.textContent(tid("stats-my-app")), /79\.6 MB/);
    await shot(page, "05-projects-card.png");
  });

  it("stops then starts the project from its card", async () => {
    await page.click(tid("action-stop-my-app"));
    await page.waitForSelector(`${tid("status-my-app")}[data-status="stopped"]`);
    await page.waitForSelector(tid("action-start-my-app"));
    assert.match(await page.textContent(tid("stats-my-app")), /not running/);
    await page.click(tid("action-start-my-app"));
    await page.waitForSelector(`${tid("status-my-app")}[data-status="healthy"]`);
    await page.waitForSelector(tid("action-stop-my-app"));
  });

  it("opens logs: merged services, levels, ANSI as text, no HTML injection", async () => {
    await page.click(tid("action-logs-my-app"));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="log-row"]').length >= 10);
    const texts = await page.$$eval(tid("log-row"), (rows) => rows.map((r) => r.textContent));
    assert.ok(texts.some((t) => /database system is ready to accept connections/.test(t)));
    const level = (re) =>
      page.$$eval(tid("log-row"), (rows, src) => rows.find((r) => new RegExp(src).test(r.textContent))?.dataset.level, re.source);
    assert.equal(await level(/relation "todos" does not exist/), "error");
    assert.equal(await level(/STATEMENT: {2}select \* from todos/), "error", "a STATEMENT line takes its ERROR's level");
    assert.equal(await level(/WARNING: {2}wal_level/), "warn");
    assert.equal(await level(/listening on 0\.0\.0\.0:4000/), "info");
    // ANSI codes became styled spans, not visible escape garbage.
    assert.ok(!texts.some((t) => t.includes("\x1b") || t.includes("[0m")));
    const coloured = await page.$$eval(`${tid("log-row")} span[style*="--ansi-2"]`, (s) => s.map((x) => x.textContent));
    assert.ok(coloured.some((t) => /INFO/.test(t)));
    // Markup in log text stays text.
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.$$eval(`${tid("log-viewer")} img, ${tid("log-viewer")} b`, (e) => e.length), 0);
    assert.ok(texts.some((t) => t.includes('<img src=x onerror="window.__xss=1">')));
    // The 30,000-char line was capped.
    assert.ok(texts.some((t) => /more chars/.test(t)));
    await shot(page, "06-logs-merged.png");
  });

  it("searches with highlight, next/previous, regex and case toggles", async () => {
    await page.fill(tid("log-search"), "todos");
    await page.waitForFunction(() => /\/ 2$/.test(document.querySelector('[data-testid="log-match-count"]').textContent.trim()));
    assert.ok((await page.$$(`${tid("log-row")} .hit`)).length >= 2);
    await page.click(tid("log-next"));
    assert.match(await page.textContent(tid("log-match-count")), /^\s*1 \/ 2/);
    await page.click(tid("log-next"));
    assert.match(await page.textContent(tid("log-match-count")), /^\s*2 \/ 2/);
    await page.click(tid("log-prev"));
    assert.match(await page.textContent(tid("log-match-count")), /^\s*1 \/ 2/);
    // Keyboard: Ctrl+F focuses the box, Enter / Shift+Enter walk the matches.
    await page.click(tid("log-scroller"));
    await page.keyboard.press("Control+f");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "log-search");
    await page.keyboard.press("Enter");
    assert.match(await page.textContent(tid("log-match-count")), /^\s*2 \/ 2/);
    await page.keyboard.press("Shift+Enter");
    assert.match(await page.textContent(tid("log-match-count")), /^\s*1 \/ 2/);
    const cur = await page.$$eval(`${tid("log-row")} .hitcur`, (h) => h.map((x) => x.textContent));
    assert.deepEqual(cur, ["todos"]);
    await page.fill(tid("log-search"), "(LOG|WARNING):\\s+\\w+");
    await page.click(tid("log-regex"));
    await page.waitForFunction(() => /\/ 4$/.test(document.querySelector('[data-testid="log-match-count"]').textContent.trim()));
    await page.click(tid("log-case"));
    await page.fill(tid("log-search"), "(log|warning):");
    await page.waitForFunction(() => /\/ 0$/.test(document.querySelector('[data-testid="log-match-count"]').textContent.trim()));
    await page.fill(tid("log-search"), "(");
    await page.waitForFunction(() => /invalid/.test(document.querySelector('[data-testid="log-match-count"]').textContent));
    await page.fill(tid("log-search"), "ready");
    await page.click(tid("log-case"));
    await page.click(tid("log-regex"));
    await page.waitForFunction(() => /\/ [1-9]/.test(document.querySelector('[data-testid="log-match-count"]').textContent));
    await page.click(tid("log-next"));
    await shot(page, "07-logs-search.png");
    await page.fill(tid("log-search"), "");
  });

  it("shows one time stamp per line, filters by level and to matching lines; Download asks where", async () => {
    const rowTexts = () => page.$$eval(tid("log-row"), (r) => r.map((x) => x.textContent));
    let rows = await rowTexts();
    const ready = rows.find((t) => /database system is ready/.test(t));
    assert.ok(ready && !/2026-11-24 14:26/.test(ready), `Postgres' own stamp is not shown again: ${ready}`);
    const listening = rows.find((t) => /listening on 0\.0\.0\.0:4000/.test(t));
    assert.ok(listening && !/14:26:50\.100Z/.test(listening), `the engine's own stamp is not shown again: ${listening}`);
    assert.match(await page.getAttribute(tid("log-wrap"), "class"), /\bon\b/, "wrap is on by default");
    const levels = () => page.$$eval(tid("log-row"), (r) => r.map((x) => x.dataset.level));
    await page.selectOption(tid("log-level"), "warn");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="log-row"]').length === 4);
    assert.deepEqual([...new Set(await levels())].sort(), ["error", "warn"]);
    assert.match(await page.textContent(tid("log-hidden")), /hidden by the filter/);
    await page.selectOption(tid("log-level"), "error");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="log-row"]').length === 2);
    rows = await rowTexts();
    assert.ok(rows.some((t) => /ERROR: {2}relation "todos"/.test(t)) && rows.some((t) => /STATEMENT:/.test(t)));
    await shot(page, "07b-logs-errors-only.png");
    await page.selectOption(tid("log-level"), "all");
    await page.waitForFunction(() => !document.querySelector('[data-testid="log-hidden"]'));
    await page.fill(tid("log-search"), "listening");
    await page.click(tid("log-only-matching"));
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('[data-testid="log-row"]')];
      return r.length === 2 && r.every((x) => /listening/.test(x.textContent));
    });
    assert.equal(await page.getAttribute(tid("log-only-matching"), "aria-pressed"), "true");
    await shot(page, "07c-logs-only-matching.png");
    await page.click(tid("log-only-matching"));
    await page.fill(tid("log-search"), "");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="log-row"]').length >= 10);
    // Download: the save dialog answers; cancelling writes nothing and says nothing.
    const saved = () => page.$$eval(tid("toast"), (t) => t.filter((x) => /Saved /.test(x.textContent)).length);
    const before = await saved();
    await page.evaluate(() => (window.__mock.state.saveAnswer = null));
    await page.click(tid("log-download"));
    await page.waitForTimeout(300);
    assert.equal(await saved(), before, "no success toast after Cancel");
    await page.evaluate(() => (window.__mock.state.saveAnswer = "/home/dev/picked/shop.log"));
    await page.click(tid("log-download"));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="toast"]')].some((t) => /Saved \/home\/dev\/picked\/shop\.log/.test(t.textContent)));
    const args = await page.evaluate(() => window.__mock.calls("save_download").at(-1));
    assert.match(args.contents, /Z db \| 2026-11-24 14:26:49\.480 UTC \[1\] LOG: {2}database system is ready/, "the download keeps the raw lines");
    await page.evaluate(() => (window.__mock.state.saveAnswer = undefined));
  });

  it("follows new lines, un-sticks on scroll up, pauses explicitly, and marks restarts", async () => {
    // Jumping to a search match left follow mode; re-enter it.
    await page.click(tid("log-follow"));
    const lines = Array.from({ length: 400 }, (_, i) => ({ service: "db", stream: "stdout", timestamp: null, text: `line ${i}` }));
    await page.evaluate((l) => window.__mock.pushLogs(l), lines);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="log-row"]')].some((r) => r.textContent.includes("line 399")));
    await page.waitForSelector(tid("log-live"));
    await page.hover(tid("log-scroller"));
    await page.mouse.wheel(0, -600);
    await page.waitForSelector(tid("log-unstuck"));
    await page.evaluate(() => window.__mock.pushLogs([{ service: "db", stream: "stdout", timestamp: null, text: "after scroll" }]));
    await page.waitForTimeout(100);
    assert.equal(await page.$$eval(tid("log-row"), (r) => r.some((x) => x.textContent.includes("after scroll"))), false);
    await page.click(tid("log-follow"));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="log-row"]')].some((r) => r.textContent.includes("after scroll")));
    await page.click(tid("log-pause"));
    await page.evaluate(() => window.__mock.pushLogs([{ service: "db", stream: "stdout", timestamp: null, text: "while paused" }]));
    await page.waitForFunction(() => /1 new/.test(document.querySelector('[data-testid="log-paused"]')?.textContent ?? ""));
    assert.equal(await page.$$eval(tid("log-row"), (r) => r.some((x) => x.textContent.includes("while paused"))), false);
    await page.click(tid("log-pause"));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="log-row"]')].some((r) => r.textContent.includes("while paused")));
    const id = await page.evaluate(() => window.__mock.state.projects.get("my-app").id);
    await page.evaluate((pid) => {
      window.__mock.emitEvent(pid, "db", "die");
      window.__mock.emitEvent(pid, "db", "start");
    }, id);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="log-marker"]').length >= 2);
    assert.match(await page.textContent(tid("log-marker")), /db · container exited/);
    // Wrap is on by default; the shot shows wrapped rows.
    await shot(page, "08-logs-follow-restart-wrap.png");
  });

  it("switches to one service and closes the old stream", async () => {
    await page.click(tid("logs-tab-db"));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="log-row"]')].some((r) => /ready to accept/.test(r.textContent)));
    const rows = await page.$$eval(tid("log-row"), (r) => r.map((x) => x.textContent));
    assert.ok(!rows.some((t) => /supalove_realtime/.test(t)));
    const closed = await page.evaluate(() => window.__mock.calls("close_logs").length);
    assert.ok(closed >= 1);
    await page.click(tid("logs-back"));
    await page.waitForSelector(tid("card-my-app"));
    const open = await page.evaluate(() => [...window.__mock.state.logChans.values()].filter((c) => c.live).length);
    assert.equal(open, 0, "leaving the logs view closes its stream");
  });

  it("shows the failing service's last log lines inline, then retries", async () => {
    await page.click(tid("new-project"));
    await page.fill(tid("name-input"), "broken");
    await page.waitForSelector(`${tid("name-check")}[data-state="ok"]`);
    await page.click(tid("engine-supabase"));
    await page.click(tid("create-submit"));
    await page.waitForSelector(tid("create-error"), { timeout: 10_000 });
    assert.equal(await page.getAttribute(tid("timeline-realtime"), "data-stage"), "failed");
    assert.match(await page.textContent(tid("create-error-details-logs")), /password authentication failed/);
    await shot(page, "09-new-project-failed.png");
    const req = await page.evaluate(() => window.__mock.calls("create_project").at(-1).request);
    assert.equal(req.engine, "supabase");
    await page.click(tid("create-retry"));
    await page.waitForSelector(tid("create-done"), { timeout: 10_000 });
    await page.click(tid("create-close"));
    await page.waitForSelector(tid("card-broken"));
  });

  it("deletes with a dialog that lists what is removed and kept (keep data by default)", async () => {
    await page.click(tid("action-delete-broken"));
    await page.waitForSelector(tid("removal-plan"));
    assert.equal(await page.isChecked(tid("delete-data")), false);
    assert.match(await page.textContent(tid("kept-list")), /_db_data/);
    assert.match(await page.textContent(tid("removal-plan")), /project_broken-\w+_realtime/);
    await shot(page, "10-delete-dialog.png");
    // Deleting the data offers (and defaults to) a backup first; unticking it is deliberate.
    assert.equal(await page.isVisible(tid("delete-backup-first")), false);
    await page.check(tid("delete-data"));
    await page.waitForSelector(tid("delete-backup-first"));
    assert.equal(await page.isChecked(tid("delete-backup-first")), true);
    assert.match(await page.textContent(tid("kept-list")), /a dump of the database/);
    await page.uncheck(tid("delete-backup-first"));
    assert.doesNotMatch(await page.textContent(tid("kept-list")), /a dump of the database/);
    await page.check(tid("delete-backup-first"));
    await page.uncheck(tid("delete-data"));
    await page.waitForSelector(tid("removal-plan"));
    await page.click(tid("confirm-delete"));
    await page.waitForSelector(tid("card-broken"), { state: "detached" });
    const args = await page.evaluate(() => window.__mock.calls("remove_project").at(-1));
    assert.equal(args.volumes, false);
    assert.equal(args.skipBackup, false);
  });

  it("opens the command palette with Ctrl+K and runs an action", async () => {
    await page.keyboard.press("Control+k");
    await page.waitForSelector(tid("palette"));
    await page.fill(tid("palette-input"), "logs my");
    await shot(page, "11-command-palette.png");
    await page.keyboard.press("Enter");
    await page.waitForSelector(tid("log-viewer"));
    await page.keyboard.press("Control+k");
    await page.fill(tid("palette-input"), "settings");
    await page.keyboard.press("Enter");
    await page.waitForSelector(tid("settings-form"));
  });

  it("edits and saves settings", async () => {
    await page.fill(tid("settings-db-base"), "55000");
    await page.selectOption(tid("settings-default-engine"), "supabase");
    await page.fill(tid("settings-docker-host"), "unix:///run/user/1000/docker.sock");
    await shot(page, "12-settings.png");
    await page.click(tid("settings-save"));
    await page.waitForFunction(() => window.__mock.state.settings.db_port_base === 55000);
    const s = await page.evaluate(() => window.__mock.state.settings);
    assert.deepEqual(s, {
      docker_host: "unix:///run/user/1000/docker.sock",
      db_port_base: 55000,
      realtime_port_base: 8000,
      key_lifetime_days: 3650,
      default_engine: "supabase",
    });
  });

  it("asks before starting a project whose data volume is gone, and starts empty only when told", async () => {
    await page.click(tid("nav-projects"));
    await page.click(tid("action-stop-my-app"));
    await page.waitForFunction(() => window.__mock.state.projects.get("my-app")?.status === "stopped");
    await page.evaluate(() => window.__mock.state.volumeGone.add("my-app"));
    await page.click(tid("action-start-my-app"));
    await page.waitForSelector(tid("data-missing-dialog"));
    assert.match(await page.textContent(tid("data-missing-message")), /project_my-app_db_data .* is gone/);
    assert.doesNotMatch(await page.textContent(tid("data-missing-dialog")), /--recreate-empty/, "GUI words, no CLI flags");
    await shot(page, "12c-data-missing-dialog.png");
    await page.click(tid("data-missing-cancel"));
    await page.waitForSelector(tid("data-missing-dialog"), { state: "detached" });
    assert.equal(await page.evaluate(() => window.__mock.state.projects.get("my-app").status), "stopped");
    await page.click(tid("action-start-my-app"));
    await page.click(tid("data-missing-recreate"));
    await page.waitForFunction(() => window.__mock.state.projects.get("my-app")?.status === "healthy");
    const starts = await page.evaluate(() => window.__mock.calls("start_project").map((a) => a.recreateEmpty));
    assert.deepEqual(starts.slice(-3), [false, false, true]);
    await page.click(tid("nav-settings"));
  });

  it("starts and stops the local API from Settings; a taken port goes back to the field", async () => {
    await page.waitForSelector(`${tid("local-api-state")}:has-text("Stopped")`);
    await page.evaluate(() => window.__mock.state.localApi.takenPorts.push(54320));
    await page.click(tid("local-api-start"));
    await page.waitForSelector(tid("local-api-error"));
    assert.match(await page.textContent(tid("local-api")), /in use by supalove \(pid 4242\)/);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "local-api-port");
    await page.fill(tid("local-api-port"), "54399");
    await page.click(tid("local-api-start"));
    await page.waitForSelector(tid("local-api-url"));
    assert.equal(await page.textContent(tid("local-api-url")), "http://127.0.0.1:54399");
    assert.deepEqual(await page.evaluate(() => window.__mock.calls("local_api_start").at(-1)), { port: 54399 });
    await page.click(tid("reveal-local-api-token"));
    assert.equal(await page.textContent(tid("local-api-token")), "slv_mock0");
    await page.click(tid("local-api-rotate"));
    await page.waitForFunction(() => document.querySelector('[data-testid="local-api-token"]')?.textContent === "slv_mock1");
    await shot(page, "12b-settings-local-api.png");
    await page.click(tid("local-api-stop"));
    await page.waitForSelector(`${tid("local-api-state")}:has-text("Stopped")`);
    assert.equal(await page.evaluate(() => window.__mock.state.localApi.running), false);
  });

  it("shows the Docker banner with what was tried, and recovers by itself", async () => {
    await page.click(tid("nav-projects"));
    await page.evaluate(() => window.__mock.setDocker(false));
    await page.click(tid("action-stop-my-app"));
    await page.waitForSelector(tid("docker-banner"), { timeout: 5000 });
    assert.match(await page.textContent(tid("docker-tried")), /unix:\/\/\/var\/run\/docker\.sock/);
    // While Docker is away the card does not claim Healthy: unknown, with what was last seen.
    await page.waitForSelector(`${tid("status-my-app")}[data-status="unknown"]`);
    assert.match(await page.textContent(tid("last-seen-my-app")), /Docker is not reachable: last seen healthy at \d/);
    assert.doesNotMatch(await page.textContent(tid("card-my-app")), /healthy\s+\d/, "no service claims healthy with live stats");
    await shot(page, "13-docker-banner.png");
    await page.evaluate(() => window.__mock.setDocker(true));
    await page.waitForSelector(tid("docker-banner"), { state: "detached", timeout: 5000 });
    await page.waitForSelector(`${tid("status-my-app")}[data-status="healthy"]`);
  });

  it("raised no page errors", () => {
    assert.deepEqual(errors, []);
  });
});

describe("seeded project view (mocked IPC)", () => {
  it("renders an existing running project on load", async () => {
    const { page, errors, context } = await mockedPage(env.browser, env.server.url, { seed: true });
    await page.waitForSelector(tid("card-demo"));
    assert.equal(await page.getAttribute(tid("status-demo"), "data-status"), "healthy");
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe("interrupted creates and failures in the app's words (mocked IPC)", () => {
  let page;
  let errors;
  let context;

  before(async () => {
    ({ page, errors, context } = await mockedPage(env.browser, env.server.url, { seed: true, stepMs: 250 }));
    await page.waitForSelector(tid("card-demo"));
  });

  it("an incomplete card offers Finish setup, which resumes with a timeline", async () => {
    await page.evaluate(() => window.__mock.makeIncomplete("demo"));
    await page.evaluate(() => window.__mock.emitEvent("demo-3e8", "db", "start"));
    await page.waitForSelector(`${tid("status-demo")}[data-status="incomplete"]`);
    assert.equal(await page.isVisible(tid("action-start-demo")), false, "Finish setup replaces Start");
    assert.match(await page.textContent(tid("incomplete-note-demo")), /interrupted/);
    await page.click(tid("action-finish-demo"));
    await page.waitForSelector(`${tid("status-demo")}:has-text("setting up")`);
    await page.waitForSelector(tid("op-timeline-demo"));
    assert.match(await page.textContent(tid("op-timeline-demo")), /project/);
    await shot(page, "20-finish-setup-running.png");
    await page.waitForSelector(`${tid("status-demo")}[data-status="healthy"]`, { timeout: 10_000 });
    assert.equal(await page.isVisible(tid("action-finish-demo")), false);
    await page.waitForSelector(`${tid("toast")}:has-text("demo: set up and running")`);
    assert.equal(await page.evaluate(() => window.__mock.calls("start_project").at(-1).name), "demo");
  });

  it("never toasts success while the project is still incomplete", async () => {
    await page.waitForSelector(tid("toast"), { state: "detached", timeout: 10_000 });
    await page.evaluate(() => window.__mock.makeIncomplete("demo", true));
    await page.evaluate(() => window.__mock.emitEvent("demo-3e8", "db", "start"));
    await page.waitForSelector(`${tid("status-demo")}[data-status="incomplete"]`);
    await page.click(tid("action-finish-demo"));
    await page.waitForSelector(`${tid("toast")}.error:has-text("setup is still not finished")`, { timeout: 10_000 });
    assert.equal(await page.getAttribute(tid("status-demo"), "data-status"), "incomplete");
    const texts = await page.$$eval(tid("toast"), (t) => t.map((x) => x.textContent));
    assert.ok(!texts.some((t) => /set up and running|started/.test(t)), texts.join(" | "));
    await page.evaluate(() => window.__mock.makeIncomplete("demo", false));
    await page.click(tid("action-finish-demo"));
    await page.waitForSelector(`${tid("status-demo")}[data-status="healthy"]`, { timeout: 10_000 });
  });

  it("a taken port goes back to the form with that field focused, in the app's words", async () => {
    await page.click(tid("new-project"));
    await page.fill(tid("name-input"), "shop");
    await page.waitForSelector(`${tid("name-check")}[data-state="ok"]`);
    await page.click("text=Ports (optional)");
    await page.fill(tid("db-port-input"), "54399");
    await page.click(tid("create-submit"));
    await page.waitForSelector(tid("create-form-error"));
    const text = await page.textContent(tid("create-form-error"));
    assert.match(text, /port 54399 \(db\) is already in use by postgres \(pid 4242\)/);
    assert.match(text, /choose another port in the form/);
    assert.doesNotMatch(text, /--db-port|--realtime-port/);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "db-port-input");
    assert.equal(await page.inputValue(tid("name-input")), "shop", "the form keeps what was typed");
    await shot(page, "21-port-taken-form.png");
    await page.fill(tid("db-port-input"), "54398");
    await page.click(tid("create-submit"));
    await page.waitForSelector(tid("create-done"), { timeout: 10_000 });
    assert.equal(await page.evaluate(() => window.__mock.calls("create_project").at(-1).request.db_port), 54398);
    await page.click(tid("create-close"));
  });

  it("a failed create offers Edit and retry, back to the filled form", async () => {
    await page.click(tid("new-project"));
    await page.fill(tid("name-input"), "broken");
    await page.waitForSelector(`${tid("name-check")}[data-state="ok"]`);
    await page.click(tid("engine-supabase"));
    await page.click(tid("create-submit"));
    await page.waitForSelector(tid("create-error"), { timeout: 10_000 });
    assert.equal(await page.isVisible(tid("create-retry")), true);
    await page.click(tid("create-edit"));
    await page.waitForSelector(tid("name-input"));
    assert.equal(await page.inputValue(tid("name-input")), "broken");
    assert.equal(await page.getAttribute(tid("engine-supabase"), "aria-checked"), "true");
    assert.equal(await page.isDisabled(tid("create-submit")), false);
    await page.click(tid("engine-native"));
    await page.click(tid("create-submit"));
    await page.waitForSelector(tid("create-done"), { timeout: 10_000 });
    assert.equal(await page.evaluate(() => window.__mock.calls("create_project").at(-1).request.engine), "native");
    await page.click(tid("create-close"));
    assert.deepEqual(errors, []);
    await context.close();
  });
});
