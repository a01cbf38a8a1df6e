// What every part of a tester channel's view is handed.
import type { ProjectCard } from "../../lib/api/types";
import type { TesterChannel } from "../../lib/realtime/channel.svelte";
import type { Tester } from "../../lib/realtime/tester.svelte";

/** The channel, its place in the row (test ids and labels count from it), the tester and the project. */
export interface ChannelView {
  ch: TesterChannel;
  index: number;
  tester: Tester;
  card: ProjectCard | undefined;
}
