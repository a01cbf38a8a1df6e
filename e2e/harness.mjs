// Drives the real supalove window: tauri-driver -> WebKitWebDriver -> the app binary.
// The app talks to the real dockerd; each run gets its own SUPALOVE_HOME and port range.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "..");
export const artifacts = path.join(root, "e2e", "artifacts");
mkdirSync(artifacts, { recursive: true });

const app = process.env.SUPALOVE_APP_BIN ?? path.join(root, "target", "debug", "supalove-app");
const driverBin = process.env.TAURI_DRIVER ?? path.join(os.homedir(), ".cargo", "bin", "tauri-driver");

function waitPort(port, ms) {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => { s.destroy(); resolve(); });
      s.once("error", () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`port ${port} never opened`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Starts tauri-driver and a session on the app, in a private supalove world. */
export async function launch() {
  const home = mkdtempSync(path.join(os.tmpdir(), "supalove-e2e-"));
  const env = {
    ...process.env,
    SUPALOVE_HOME: home,
    SUPALOVE_DB_PORT_BASE: "58400",
    SUPALOVE_REALTIME_PORT_BASE: "9800",
    SUPALOVE_PULL: "never",
  };
  const driver = spawn(driverBin, ["--port", "4444", "--native-port", "4445"], { env, stdio: ["ignore", "inherit", "inherit"] });
  await waitPort(4444, 20_000);
  const browser = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "warn",
    capabilities: { "tauri:options": { application: app }, "wdio:enforceWebDriverClassic": true },
  });
  const close = async () => {
    try { await browser.deleteSession(); } catch { /* the window may be gone */ }
    driver.kill();
  };
  return { browser, home, env, close };
}

/** Waits two animation frames so the screenshot shows what the DOM says. */
export async function shot(browser, name) {
  await browser.executeAsync((done) => requestAnimationFrame(() => requestAnimationFrame(() => done())));
  await browser.saveScreenshot(path.join(artifacts, `${name}.png`));
}

/** `docker <args>`, trimmed (the test checks real side effects as a user would). */
export function docker(...args) {
  try {
    return execFileSync("docker", args, { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/** Removes a project through the CLI, for clean-up when a test fails half-way. */
export function cliRemove(env, name) {
  try {
    execFileSync(path.join(root, "target", "debug", "supalove"), ["rm", name, "--volumes", "--yes"], { env, stdio: "ignore" });
  } catch { /* already gone */ }
}

export const byTest = (id) => `[data-testid="${id}"]`;
