// Screenshots of every screen that shows the shared UI primitives (status badges, pills,
// toolbars, channel panels, event lists), at fixed viewports and a frozen clock, so a
// refactor can be compared pixel by pixel:
//   node e2e/screens.mjs /tmp/ui-shots/before     (after `npm run build && npm run build:mocks`)
//   node e2e/screens.mjs /tmp/ui-shots/after
// Not part of the suite: the PNGs depend on the machine's fonts.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ARTIFACTS, launch, serveDist, tid } from "./harness.mjs";

const VIEWPORTS = [
  { w: 1280, h: 800 },
  { w: 900, h: 700 },
];
const SQL = `create table public.todos (
  id bigint generated always as identity primary key,
  title text not null,
  is_public boolean not null default false,
  done boolean default false
);
alter table public.todos replica identity full;
alter publication supabase_realtime add table public.todos;`;

async function frames(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function take(browser, url, dir) {
  await mkdir(dir, { recursive: true });
  for (const { w, h } of VIEWPORTS) {
    const context = await browser.newContext({ viewport: { width: w, height: h }, timezoneId: "UTC", reducedMotion: "reduce" });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
    const page = await context.newPage();
    // A fixed Date.now (timers still run): event times and latencies are the same each run.
    await page.clock.setFixedTime(new Date("2026-11-24T14:30:00.000Z"));
    await page.addInitScript((c) => (window.__mockConfig = c), { seed: true, stepMs: 10 });
    await page.addInitScript({ path: join(ARTIFACTS, "mock-backend.iife.js") });
    // Animations (the pulsing dots) would make shots differ by when they are taken.
    await page.addInitScript(() => {
      addEventListener("DOMContentLoaded", () => {
        const s = document.createElement("style");
        s.textContent = "*,*::before,*::after{animation-play-state:paused!important;animation-delay:0s!important;caret-color:transparent!important;transition:none!important}.toasts{visibility:hidden!important}";
        document.head.append(s);
      });
    });
    await page.goto(url);
    const snap = async (name) => {
      await frames(page);
      await page.mouse.move(w - 1, h - 1);
      await frames(page);
      await page.screenshot({ path: join(dir, `${w}-${name}.png`) });
    };

    await page.waitForSelector(`${tid("status-demo")}[data-status="healthy"]`);
    await page.waitForFunction(() => /mem/.test(document.querySelector('[data-testid="stats-demo"]')?.textContent ?? ""));
    await snap("01-projects-healthy");

    // Logs: toolbar, rows, live indicator, paused pill.
    await page.click(tid("action-logs-demo"));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="log-row"]').length >= 10);
    await page.waitForSelector(tid("log-live"));
    await snap("02-logs");
    await page.fill(tid("log-search"), "todos");
    await page.waitForFunction(() => /\/ 2$/.test(document.querySelector('[data-testid="log-match-count"]').textContent.trim()));
    await page.click(tid("log-case"));
    await page.waitForTimeout(400);
    await page.waitForFunction(() => /\/ 2$/.test(document.querySelector('[data-testid="log-match-count"]').textContent.trim()));
    await page.click(tid("log-next"));
    await page.waitForFunction(() => /^\s*1 \/ 2/.test(document.querySelector('[data-testid="log-match-count"]').textContent));
    await snap("03-logs-search");
    await page.fill(tid("log-search"), "");
    await page.click(tid("log-case"));
    await page.click(tid("log-pause"));
    await page.evaluate(() => window.__mock.pushLogs([{ service: "db", stream: "stdout", timestamp: null, text: "while paused" }]));
    await page.waitForFunction(() => /1 new/.test(document.querySelector('[data-testid="log-paused"]')?.textContent ?? ""));
    await snap("04-logs-paused");
    await page.click(tid("log-pause"));
    await page.click(tid("logs-back"));
    await page.waitForSelector(tid("card-demo"));

    // Realtime tester: two channel panels, setup forms, then connected with events.
    await page.click(tid("action-realtime-demo"));
    await page.waitForSelector(tid("realtime-view"));
    await snap("05-realtime-empty");
    await page.fill(tid("sql-input"), SQL);
    await page.click(tid("sql-run"));
    await page.waitForSelector(tid("table-public.todos"));
    await page.selectOption(tid("channel-0-role"), "authenticated");
    await page.fill(tid("channel-0-claims"), '{ "sub": "user-9" }');
    await page.selectOption(tid("channel-0-filter-col"), "id");
    await page.fill(tid("channel-0-filter-value"), "5");
    await page.click(tid("channel-0-token-show"));
    await page.waitForSelector(tid("channel-0-token"));
    await snap("06-realtime-setup");
    await page.fill(tid("channel-0-filter-value"), "");
    await page.selectOption(tid("channel-0-filter-col"), "");
    await page.selectOption(tid("channel-0-role"), "anon");

    await page.click(tid("channel-0-connect"));
    await page.click(tid("channel-1-connect"));
    await page.waitForSelector(`${tid("channel-0-status")}[data-status="subscribed"]`);
    await page.waitForSelector(`${tid("channel-1-status")}[data-status="subscribed"]`);
    for (const [title, pub] of [
      ["hello world", "true"],
      ["private note", ""],
    ]) {
      await page.click(tid("insert-row-open"));
      await page.fill(tid("insert-field-title"), title);
      if (pub) await page.fill(tid("insert-field-is_public"), pub);
      await page.click(tid("insert-submit"));
      await page.waitForSelector(tid("insert-dialog"), { state: "detached" });
    }
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="channel-1-event-row"][data-kind="postgres_changes"]').length === 2);
    await page.fill(tid("sql-input"), "update public.todos set done = true where id = 1");
    await page.click(tid("sql-run"));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="channel-1-event-row"]')].some((r) => /UPDATE/.test(r.textContent)));
    await page.fill(tid("channel-0-broadcast-event"), "cursor");
    await page.fill(tid("channel-0-broadcast-payload"), '{ "x": 10, "y": 20 }');
    await page.click(tid("channel-0-broadcast-send"));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="channel-1-event-row"]')].some((r) => /cursor/.test(r.textContent)));
    await page.fill(tid("channel-0-presence-state"), '{ "name": "Ada" }');
    await page.click(tid("channel-0-track"));
    await page.waitForSelector(`${tid("channel-1-members")}[data-count="1"]`);
    await page.click(tid("channel-0-broadcast-payload"));
    await page.$eval(tid("channels"), (el) => (el.scrollLeft = 0));
    await snap("07-realtime-connected");
    const rows = await page.$$(tid("channel-1-event-row"));
    for (const r of rows) if (/UPDATE/.test(await r.textContent())) await r.click();
    await page.waitForSelector(tid("channel-1-diff"));
    await snap("08-realtime-detail");
    await page.click(tid("channel-1-pause"));
    await page.evaluate(() => window.__mock.floodTester(3));
    await page.waitForFunction(() => /3 new/.test(document.querySelector('[data-testid="channel-1-paused"]')?.textContent ?? ""));
    await snap("09-realtime-paused");
    await page.click(tid("channel-1-pause"));

    // Error state: the project stopped under a channel that tries to connect.
    await page.click(tid("channel-0-connect"));
    await page.waitForSelector(`${tid("channel-0-status")}[data-status="idle"]`);
    await page.evaluate(() => (window.__mock.state.projects.get("demo").status = "stopped"));
    await page.click(tid("channel-0-connect"));
    await page.waitForSelector(`${tid("channel-0-status")}[data-status="error"]`);
    await page.waitForSelector(tid("channel-0-error"));
    await snap("10-realtime-error");
    await page.evaluate(() => (window.__mock.state.projects.get("demo").status = "healthy"));

    // Back to the projects: a stopped card, then Docker unreachable (unknown badge).
    await page.click(tid("nav-projects"));
    await page.waitForSelector(tid("card-demo"));
    await page.click(tid("action-stop-demo"));
    await page.waitForSelector(`${tid("status-demo")}[data-status="stopped"]`);
    await page.waitForSelector(tid("action-start-demo"));
    await page.waitForFunction(() => /not running/.test(document.querySelector('[data-testid="stats-demo"]')?.textContent ?? ""));
    await page.waitForFunction(() => !/MB/.test(document.querySelector('[data-testid="card-demo"]')?.textContent ?? ""));
    await snap("11-projects-stopped");
    await page.evaluate(() => window.__mock.setDocker(false));
    await page.waitForSelector(`${tid("status-demo")}[data-status="unknown"]`, { timeout: 15_000 });
    await snap("12-projects-docker-down");
    await page.evaluate(() => window.__mock.setDocker(true));

    await page.click(tid("nav-settings"));
    await page.waitForSelector(tid("settings-form"));
    await snap("13-settings");
    await context.close();
  }
}

const server = await serveDist();
const browser = await launch();
try {
  await take(browser, server.url, process.argv[2] ?? join(ARTIFACTS, "screens"));
} finally {
  await browser.close();
  await server.close();
}
