// Command palette entries and their filtering.

/** One palette entry. */
export interface PaletteCommand {
  id: string;
  title: string;
  group: string;
  run: () => void;
  keywords?: string;
}

/** Every word of the query must appear in the title, group or keywords (any order, any case). */
export function filterCommands(cmds: PaletteCommand[], q: string): PaletteCommand[] {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return cmds;
  return cmds.filter((c) => {
    const hay = `${c.title} ${c.group} ${c.keywords ?? ""}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}
