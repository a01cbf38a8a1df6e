// The real supalove window (Tauri 2 + WebKitGTK under Xvfb) driven through tauri-driver and
// WebKitWebDriver, against the real dockerd: create a project by clicking, watch the timeline
// reach ready, read the card, see the database's startup lines in the log viewer, stop and start
// from the card, delete (data kept by default), and the Docker banner coming and going.
// Screenshots of each screen go to e2e/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { launch, shot, docker, cliRemove, byTest, root, artifacts } from "./harness.mjs";

const name = `it-app-${process.pid % 100000}`;
let s;

before(async () => {
  s = await launch();
});

after(async () => {
  cliRemove(s.env, name);
  cliRemove(s.env, `${name}-half`);
  cliRemove(s.env, `${name}-port`);
  await s.close();
});

/** A port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const el = (id) => s.browser.$(byTest(id));
// Reads text in the page in one step, so re-rendered nodes never go stale between calls.
const texts = (id) =>
  s.browser.execute((sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent ?? ""), byTest(id));
async function clearInput(id) {
  const input = await el(id);
  await input.click();
  await s.browser.keys(["Control", "a"]);
  await s.browser.keys(["Backspace"]);
}
async function waitText(id, pred, what, timeout = 120_000) {
  await s.browser.waitUntil(async () => (await texts(id)).some(pred), { timeout, interval: 200, timeoutMsg: `${what} (${id})` });
}
async function status() {
  return s.browser.execute((sel) => document.querySelector(sel)?.getAttribute("data-status") ?? null, byTest(`status-${name}`));
}
async function waitStatus(want, timeout = 120_000) {
  await s.browser.waitUntil(async () => (await status()) === want, {
    timeout,
    interval: 250,
    timeoutMsg: `status never became ${want}`,
  });
}

test("empty state teaches the first click", async () => {
  await (await el("empty-state")).waitForDisplayed({ timeout: 20_000 });
  assert.match((await texts("empty-state")).join(" "), /New project/);
  await shot(s.browser, "01-projects-empty");
});

test("create a project by clicking; the timeline reaches ready", async () => {
  await (await el("new-project")).click();
  const input = await el("name-input");
  await input.waitForDisplayed();
  await input.setValue("Bad_Name");
  await waitText("name-check", (t) => /uppercase|not allowed/.test(t), "the name check explains the rule", 10_000);
  await shot(s.browser, "02-new-project-invalid-name");
  await clearInput("name-input");
  await input.setValue(name);
  await s.browser.waitUntil(async () => (await (await el("name-check")).getAttribute("data-state")) === "ok", {
    timeout: 10_000,
    timeoutMsg: "name check never said ok",
  });
  await shot(s.browser, "03-new-project-form");
  await (await el("create-submit")).click();
  await (await el("timeline-db")).waitForDisplayed({ timeout: 20_000 });
  await shot(s.browser, "04-timeline-running");
  await (await el("create-done")).waitForDisplayed({ timeout: 120_000 });
  assert.match((await texts("timeline-db")).join(" "), /ready/i);
  assert.match((await texts("timeline-realtime")).join(" "), /ready/i);
  await shot(s.browser, "05-timeline-done");
  await (await el("create-close")).click();
  // The containers really exist.
  assert.equal(docker("inspect", "-f", "{{.State.Running}}", `project_${name}_db`), "true");
  assert.equal(docker("inspect", "-f", "{{.State.Running}}", `project_${name}_realtime`), "true");
});

test("the card shows status, db_url and realtime_url", async () => {
  await waitStatus("healthy");
  assert.match((await texts(`db-url-${name}`))[0], /^postgresql:\/\/app:•+@127\.0\.0\.1:\d+\/app$/, "password masked");
  await (await el(`reveal-db-url-${name}`)).click();
  const dbUrl = await texts(`db-url-${name}`);
  assert.match(dbUrl[0], /^postgresql:\/\/app:[0-9a-f]+@127\.0\.0\.1:\d+\/app$/);
  assert.match((await texts(`realtime-url-${name}`))[0], /^ws:\/\/127\.0\.0\.1:\d+\/socket$/);
  await shot(s.browser, "06-projects-card");
});

test("logs show the database's startup lines", async () => {
  await (await el(`action-logs-${name}`)).click();
  await (await el("log-viewer")).waitForDisplayed({ timeout: 20_000 });
  // The viewer renders only visible rows (virtualized): find the line with its own search.
  await s.browser.waitUntil(async () => (await texts("log-row")).length > 0, {
    timeout: 30_000,
    timeoutMsg: "the log viewer shows no line",
  });
  await shot(s.browser, "07-logs-all");
  await (await el("log-search")).setValue("ready to accept connections");
  try {
    await waitText("log-match-count", (t) => /[1-9]/.test(t), "search finds the startup line", 20_000);
    await (await el("log-next")).click();
    await s.browser.waitUntil(
      async () => (await texts("log-row")).some((t) => t.includes("database system is ready to accept connections")),
      { timeout: 10_000, interval: 200, timeoutMsg: "the match is not scrolled into view" },
    );
  } catch (e) {
    await shot(s.browser, "08-logs-search-FAILED");
    throw e;
  }
  await shot(s.browser, "08-logs-search");
  // One time stamp per line: Postgres' own `2026-12-03 11:14:50.158 UTC` is not shown again.
  const rows = await texts("log-row");
  assert.ok(rows.some((t) => /\[\d+\] LOG:/.test(t)), "Postgres lines are shown");
  assert.ok(!rows.some((t) => /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC/.test(t)), `no second stamp: ${rows.join("\n")}`);
  // Only matching lines: with the toggle, every shown row matches the search.
  await (await el("log-only-matching")).click();
  await s.browser.waitUntil(
    async () => {
      const r = await texts("log-row");
      return r.length > 0 && r.every((t) => t.includes("ready to accept connections"));
    },
    { timeout: 10_000, interval: 200, timeoutMsg: "non-matching lines are still shown" },
  );
  await shot(s.browser, "08b-logs-only-matching");
  await (await el("log-only-matching")).click();
  await clearInput("log-search");
  // The level filter: an ERROR (and its STATEMENT) from a bad query; "Errors" shows only those.
  docker("exec", `project_${name}_db`, "psql", "-U", "app", "-d", "app", "-c", "select * from no_such_table_e2e");
  await s.browser.waitUntil(async () => (await texts("log-row")).some((t) => t.includes("no_such_table_e2e")), {
    timeout: 20_000,
    interval: 200,
    timeoutMsg: "the ERROR line never arrived",
  });
  await (await el("log-level")).selectByAttribute("value", "error");
  await s.browser.waitUntil(
    async () => {
      const levels = await s.browser.execute((sel) => [...document.querySelectorAll(sel)].map((e) => e.getAttribute("data-level")), byTest("log-row"));
      return levels.length > 0 && levels.every((l) => l === "error");
    },
    { timeout: 10_000, interval: 200, timeoutMsg: "lines below ERROR are still shown" },
  );
  const errs = await texts("log-row");
  assert.ok(errs.some((t) => /ERROR:\s+relation "no_such_table_e2e" does not exist/.test(t)), errs.join("\n"));
  assert.ok(errs.some((t) => /STATEMENT:\s+select \* from no_such_table_e2e/.test(t)), "the STATEMENT follows its ERROR");
  assert.match((await texts("log-hidden")).join(" "), /[1-9]\d* hidden by the filter/);
  await shot(s.browser, "08c-logs-errors-only");
  await (await el("log-level")).selectByAttribute("value", "all");
  await saveThroughDialog();
  await (await el("logs-back")).click();
});

/** The GTK save dialog is a native window: find it under Xvfb with xdotool. */
async function dialogWindow(timeout = 15_000) {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    try {
      const ids = execFileSync("xdotool", ["search", "--onlyvisible", "--name", "^Save logs$"], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
      if (ids.length) return ids[ids.length - 1];
    } catch { /* not open yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  await shotRoot("08e-save-dialog-FAILED");
  throw new Error("the save dialog never opened");
}

/** Gives the dialog the keyboard (there is no window manager under Xvfb to do it). */
function focus(win) {
  try {
    execFileSync("xdotool", ["windowfocus", "--sync", win], { stdio: "ignore" });
  } catch { /* not focusable yet: keys still go to --window */ }
}

/** Download asks where to save (the OS dialog): cancel writes nothing; a chosen path gets the raw lines. */
async function saveThroughDialog() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "supalove-save-"));
  const target = path.join(dir, "chosen-logs.txt");
  // Cancel first: no file, no toast claiming success.
  const toastsBefore = (await texts("toast")).filter((t) => t.includes("Saved ")).length;
  await (await el("log-download")).click();
  let win = await dialogWindow();
  await shotRoot("08d-save-dialog");
  focus(win);
  execFileSync("xdotool", ["key", "Escape"]);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await texts("toast")).filter((t) => t.includes("Saved ")).length, toastsBefore, "a cancelled save says nothing was saved");
  assert.deepEqual(readdirSync(dir), []);
  // Then a path typed into the dialog's name field.
  await (await el("log-download")).click();
  win = await dialogWindow();
  focus(win);
  execFileSync("xdotool", ["key", "ctrl+a"]);
  execFileSync("xdotool", ["type", "--delay", "20", target]);
  execFileSync("xdotool", ["key", "Return"]);
  await waitText("toast", (t) => t.includes(`Saved ${target}`), "a toast names the chosen file", 15_000);
  const saved = readFileSync(target, "utf8");
  // The download keeps the raw lines: the engine's stamp, then Postgres' own.
  assert.match(saved, /Z db \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC \[\d+\] LOG:  database system is ready to accept connections/);
  rmSync(dir, { recursive: true });
}

/** A screenshot of the whole X screen (native dialogs are outside the webview). */
async function shotRoot(name) {
  try {
    execFileSync("import", ["-window", "root", path.join(artifacts, `${name}.png`)]);
  } catch { /* ImageMagick missing: the assertions still run */ }
}

test("stop then start from the card", async () => {
  await (await el(`action-stop-${name}`)).click();
  await waitStatus("stopped");
  assert.equal(docker("inspect", "-f", "{{.State.Running}}", `project_${name}_db`), "false");
  await shot(s.browser, "09-card-stopped");
  // The card can show "stopped" (from Docker's events) before the stop command has returned;
  // Start is enabled once it has.
  const start = await el(`action-start-${name}`);
  await start.waitForEnabled({ timeout: 60_000 });
  await start.click();
  await waitStatus("healthy");
  assert.equal(docker("inspect", "-f", "{{.State.Running}}", `project_${name}_db`), "true");
});

test("Settings → Local API serves this project over HTTP, and stops", async () => {
  const port = await freePort();
  await (await el("nav-settings")).click();
  await (await el("local-api-start")).waitForDisplayed({ timeout: 10_000 });
  await clearInput("local-api-port");
  await (await el("local-api-port")).setValue(String(port));
  await (await el("local-api-start")).click();
  await waitText("local-api-url", (t) => t === `http://127.0.0.1:${port}`, "the URL of the running API", 20_000);
  await (await el("reveal-local-api-token")).click();
  await waitText("local-api-token", (t) => t.startsWith("slv_"), "the revealed token", 5_000);
  const token = (await texts("local-api-token"))[0];
  await shot(s.browser, "10a-settings-local-api");
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${base}/v1/health`)).status, 200);
  assert.equal((await fetch(`${base}/v1/projects/${name}`)).status, 401, "a token is required");
  const res = await fetch(`${base}/v1/projects/${name}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const card = await res.json();
  assert.equal(card.name, name);
  assert.match(card.realtime_url, /^ws:\/\/127\.0\.0\.1:\d+\/socket$/);
  await (await el("local-api-stop")).click();
  await waitText("local-api-state", (t) => t.includes("Stopped"), "the API stopped", 10_000);
  await assert.rejects(fetch(`${base}/v1/health`), "nothing listens once stopped");
  await (await el("nav-projects")).click();
  await (await el(`card-${name}`)).waitForDisplayed({ timeout: 10_000 });
});

test("delete says what it removes and keeps the data by default", async () => {
  // Right after an action the card re-renders its buttons: click until the dialog is up.
  await s.browser.waitUntil(
    async () => {
      const button = await el(`action-delete-${name}`);
      if ((await button.isExisting()) && (await button.isEnabled())) await button.click();
      return (await texts("removal-plan")).length > 0 || (await texts("delete-dialog")).length > 0;
    },
    { timeout: 30_000, interval: 1_000, timeoutMsg: "the delete dialog never opened" },
  );
  try {
    await waitText("removal-plan", (t) => t.includes(`project_${name}_db`), "the plan names the containers", 20_000);
  } catch (e) {
    await shot(s.browser, "10-delete-plan-FAILED");
    throw e;
  }
  assert.match((await texts("kept-list")).join(" "), new RegExp(`project_${name}_db_data`));
  await shot(s.browser, "10-delete-dialog");
  await (await el("confirm-delete")).click();
  try {
    await s.browser.waitUntil(async () => (await texts(`card-${name}`)).length === 0, {
      timeout: 60_000,
      timeoutMsg: "the card never went away",
    });
  } catch (e) {
    await shot(s.browser, "10-delete-FAILED");
    throw e;
  }
  assert.equal(docker("ps", "-aq", "--filter", `name=project_${name}_`), "");
  assert.equal(docker("volume", "ls", "-q", "--filter", `name=project_${name}_db_data`), `project_${name}_db_data`);
});

test("settings, and the Docker banner that recovers by itself", async () => {
  await (await el("nav-settings")).click();
  await (await el("settings-form")).waitForDisplayed({ timeout: 10_000 });
  await shot(s.browser, "11-settings");
  const host = await el("settings-docker-host");
  await host.setValue("unix:///tmp/supalove-e2e-no-docker.sock");
  await (await el("settings-save")).click();
  await (await el("docker-banner")).waitForDisplayed({ timeout: 20_000 });
  assert.match((await texts("docker-banner")).join(" "), /supalove-e2e-no-docker\.sock/);
  await shot(s.browser, "12-docker-banner");
  await clearInput("settings-docker-host");
  await (await el("settings-save")).click();
  await (await el("docker-banner")).waitForDisplayed({ timeout: 20_000, reverse: true });
  await (await el("nav-projects")).click();
  await shot(s.browser, "13-projects-after-recovery");
});

/** Polls `pred` until it holds; false after `ms`. */
async function eventually(pred, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
const cliBin = path.join(root, "target", "debug", "supalove");

test("an interrupted create is finished from its card with a create's timeline", async () => {
  const half = `${name}-half`;
  // A real interruption: `supalove new` killed as soon as its db container exists (the app
  // closed during New project leaves the same record behind).
  const child = spawn(cliBin, ["new", half], { env: s.env, stdio: "ignore" });
  const seen = await eventually(() => docker("ps", "-aq", "--filter", `name=project_${half}_db`) !== "", 60_000);
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  assert.ok(seen, "the db container never appeared");
  await (await el("nav-projects")).click();
  const statusOf = () =>
    s.browser.execute((sel) => document.querySelector(sel)?.getAttribute("data-status") ?? null, byTest(`status-${half}`));
  // The card comes from Docker's events; a visit to Projects reads the list again.
  const shown = await eventually(async () => {
    if ((await statusOf()) === "incomplete") return true;
    await (await el("nav-settings")).click();
    await (await el("nav-projects")).click();
    return false;
  }, 30_000);
  assert.ok(shown, `the card never said incomplete (it says ${await statusOf()})`);
  assert.match((await texts(`incomplete-note-${half}`)).join(" "), /interrupted/);
  assert.equal(await (await el(`action-start-${half}`)).isExisting(), false, "Finish setup replaces Start");
  await shot(s.browser, "14-card-incomplete");
  await (await el(`action-finish-${half}`)).click();
  await (await el(`op-timeline-${half}`)).waitForDisplayed({ timeout: 20_000 });
  assert.match((await texts(`op-timeline-${half}`)).join(" "), /resuming an interrupted provisioning|db|realtime/);
  await shot(s.browser, "15-finish-setup-running");
  await s.browser.waitUntil(async () => (await statusOf()) === "healthy", { timeout: 120_000, interval: 250, timeoutMsg: "never healthy" });
  await waitText("toast", (t) => t.includes(`${half}: set up and running`), "the toast says it is set up", 10_000);
  assert.ok(!(await texts("toast")).some((t) => /still not finished/.test(t)));
  assert.equal(await (await el(`action-finish-${half}`)).isExisting(), false);
  await shot(s.browser, "16-finish-setup-done");
  // The registry agrees: the CLI sees a finished, healthy project.
  const { execFileSync } = await import("node:child_process");
  const card = JSON.parse(execFileSync(cliBin, ["show", half, "--json"], { env: s.env, encoding: "utf8" }));
  assert.equal(card.status, "healthy");
  assert.equal(docker("inspect", "-f", "{{.State.Running}}", `project_${half}_realtime`), "true");
});

test("a taken port names its holder and brings back the form with the port field focused", async () => {
  const taken = await freePort();
  const holder = createServer();
  await new Promise((r) => holder.listen(taken, "127.0.0.1", r));
  const other = `${name}-port`;
  try {
    await (await el("nav-projects")).click();
    await (await el("new-project")).click();
    const input = await el("name-input");
    await input.waitForDisplayed();
    await input.setValue(other);
    await s.browser.waitUntil(async () => (await (await el("name-check")).getAttribute("data-state")) === "ok", {
      timeout: 10_000,
      timeoutMsg: "name check never said ok",
    });
    await (await s.browser.$("button.toggle")).click();
    await (await el("db-port-input")).setValue(String(taken));
    await (await el("create-submit")).click();
    await (await el("create-form-error")).waitForDisplayed({ timeout: 30_000 });
    const text = (await texts("create-form-error")).join(" ");
    assert.match(text, new RegExp(`port ${taken} \\(db\\) is already in use by \\S+ \\(pid ${process.pid}\\)`), text);
    assert.match(text, /in the form/);
    assert.doesNotMatch(text, /--db-port|--realtime-port/);
    const focused = await s.browser.execute(() => document.activeElement?.getAttribute("data-testid") ?? null);
    assert.equal(focused, "db-port-input");
    assert.equal(await (await el("name-input")).getValue(), other, "the form keeps the name");
    await shot(s.browser, "17-port-taken-form");
    // Fix it in the form and create.
    await clearInput("db-port-input");
    await (await el("db-port-input")).setValue(String(await freePort()));
    await (await el("create-submit")).click();
    await (await el("create-done")).waitForDisplayed({ timeout: 120_000 });
    await (await el("create-close")).click();
  } finally {
    holder.close();
  }
});
