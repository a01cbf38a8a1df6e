import { describe, expect, it } from "vitest";
import { filterCommands, type PaletteCommand } from "./palette";

const cmd = (id: string, title: string, group: string, keywords?: string): PaletteCommand => ({ id, title, group, keywords, run: () => {} });
const all = [
  cmd("new", "New project…", "Projects", "create add"),
  cmd("logs-a", "Open logs: my-app", "my-app"),
  cmd("stop-a", "Stop my-app", "my-app"),
  cmd("delete-b", "Delete shop…", "shop", "remove rm"),
];

describe("command palette filter", () => {
  it("returns everything for an empty query", () => {
    expect(filterCommands(all, "  ")).toHaveLength(4);
  });
  it("needs every word, in any order and case", () => {
    expect(filterCommands(all, "MY logs").map((c) => c.id)).toEqual(["logs-a"]);
    expect(filterCommands(all, "my-app").map((c) => c.id)).toEqual(["logs-a", "stop-a"]);
  });
  it("matches keywords", () => {
    expect(filterCommands(all, "rm").map((c) => c.id)).toEqual(["delete-b"]);
    expect(filterCommands(all, "create").map((c) => c.id)).toEqual(["new"]);
    expect(filterCommands(all, "nothing-like-this")).toEqual([]);
  });
});
