// Debounced "is this project name usable?" checks while the user types. Only the answer
// to the latest input is ever shown; stale answers are dropped.
import type { NameCheck } from "../api/types";

export type NameState =
  | { state: "idle" }
  | { state: "checking"; name: string }
  | { state: "ok"; name: string; note?: string }
  | { state: "bad"; name: string; message: string }
  | { state: "error"; name: string; message: string };

/** Runs `check` `delayMs` after the last `input`, reporting each state change. */
export class NameChecker {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private token = 0;
  current: NameState = { state: "idle" };

  constructor(
    private check: (name: string) => Promise<NameCheck>,
    private onChange: (s: NameState) => void,
    private delayMs = 200,
  ) {}

  private set(s: NameState): void {
    this.current = s;
    this.onChange(s);
  }

  input(name: string): void {
    if (this.timer) clearTimeout(this.timer);
    const token = ++this.token;
    if (name.trim() === "") {
      this.set({ state: "idle" });
      return;
    }
    this.set({ state: "checking", name });
    this.timer = setTimeout(async () => {
      this.timer = null;
      try {
        const r = await this.check(name);
        if (token !== this.token) return;
        this.set(r.ok ? { state: "ok", name, note: r.message ?? undefined } : { state: "bad", name, message: r.message ?? "This name cannot be used" });
      } catch (e) {
        if (token !== this.token) return;
        const message = e && typeof e === "object" && "message" in e ? String((e as { message: unknown }).message) : String(e);
        this.set({ state: "error", name, message });
      }
    }, this.delayMs);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.token++;
  }
}
