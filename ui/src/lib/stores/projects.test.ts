import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Progress, ProjectCard, ProjectStatus } from "../api/types";

const startProject = vi.fn<(name: string, onProgress: (p: Progress) => void, recreateEmpty: boolean) => Promise<ProjectCard>>();
vi.mock("../api/commands", () => ({
  api: {
    startProject: (n: string, p: (p: Progress) => void, r: boolean) => startProject(n, p, r),
    showProject: async () => Promise.reject({ kind: "internal", message: "unused", hint: null, last_logs: [] }),
    dockerStatus: async () => ({ connected: true, endpoint: null, tried: [], error: null, hint: null }),
  },
  asCommandError: (e: unknown) => e,
}));

const card = (status: ProjectStatus) => ({ name: "shop", id: "shop", status, services: [] }) as unknown as ProjectCard;

describe("projects store: finishing an interrupted create", () => {
  beforeEach(() => startProject.mockReset());

  it("runs the resume through start, with a live timeline, and says it is set up", async () => {
    const { projects } = await import("./projects.svelte");
    const { toasts } = await import("./toasts.svelte");
    toasts.items = [];
    let seen: string | undefined;
    startProject.mockImplementation(async (_n, onProgress) => {
      onProgress?.({ service: "project", stage: "creating", detail: "resuming an interrupted provisioning", current: null, total: null });
      seen = projects.ops.shop?.rows[0]?.service;
      return card("healthy");
    });
    await projects.act("shop", "finish");
    expect(startProject).toHaveBeenCalledWith("shop", expect.any(Function), false);
    expect(seen).toBe("project");
    expect(projects.ops.shop).toBeUndefined();
    expect(toasts.items.map((t) => [t.kind, t.text])).toEqual([["info", "shop: set up and running"]]);
  });

  it("never toasts success while the project is still incomplete", async () => {
    const { projects } = await import("./projects.svelte");
    const { toasts } = await import("./toasts.svelte");
    for (const action of ["finish", "start"] as const) {
      toasts.items = [];
      startProject.mockResolvedValue(card("incomplete"));
      await projects.act("shop", action);
      expect(toasts.items.map((t) => t.kind)).toEqual(["error"]);
      expect(toasts.items[0].text).toMatch(/setup is still not finished/);
    }
    expect(projects.byName("shop")?.status).toBe("incomplete");
  });
});
