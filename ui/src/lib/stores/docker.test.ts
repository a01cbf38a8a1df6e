import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DockerStatus } from "../api/types";

const dockerStatus = vi.fn<() => Promise<DockerStatus>>();
vi.mock("../api/commands", () => ({ api: { dockerStatus: () => dockerStatus() } }));

const up: DockerStatus = { connected: true, endpoint: "unix:///var/run/docker.sock", tried: [], error: null, hint: null };
const down: DockerStatus = { connected: false, endpoint: null, tried: ["unix:///var/run/docker.sock"], error: "refused", hint: "start docker" };

describe("docker store", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    dockerStatus.mockReset();
  });
  afterEach(() => vi.useRealTimers());

  it("polls every 2 s while down and fires the reconnect hook once it is back", async () => {
    const { docker, POLL_DOWN_MS, POLL_UP_MS } = await import("./docker.svelte");
    dockerStatus.mockResolvedValueOnce(down).mockResolvedValueOnce(down).mockResolvedValue(up);
    let reconnected = 0;
    const off = docker.onReconnect(() => reconnected++);
    await docker.poll();
    expect(docker.connected).toBe(false);
    expect(docker.status?.tried).toEqual(["unix:///var/run/docker.sock"]);
    await vi.advanceTimersByTimeAsync(POLL_DOWN_MS);
    expect(dockerStatus).toHaveBeenCalledTimes(2);
    expect(reconnected).toBe(0);
    await vi.advanceTimersByTimeAsync(POLL_DOWN_MS);
    expect(dockerStatus).toHaveBeenCalledTimes(3);
    expect(docker.connected).toBe(true);
    expect(reconnected).toBe(1);
    // Connected: the next check is much later.
    await vi.advanceTimersByTimeAsync(POLL_DOWN_MS * 2);
    expect(dockerStatus).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(POLL_UP_MS);
    expect(dockerStatus).toHaveBeenCalledTimes(4);
    off();
    docker.stop();
  });

  it("treats a failing status call as disconnected, with its message", async () => {
    const { docker } = await import("./docker.svelte");
    dockerStatus.mockRejectedValue({ kind: "internal", message: "boom", hint: "restart the app", last_logs: [] });
    await docker.poll();
    expect(docker.status).toEqual({ connected: false, endpoint: null, tried: [], error: "boom", hint: "restart the app" });
    docker.stop();
  });
});
