// Short-lived notices ("Copied", "Stopped my-app") and errors that have no better place.
import type { CommandError } from "../api/types";

export interface Toast {
  id: number;
  kind: "info" | "error";
  text: string;
  hint?: string | null;
}

class Toasts {
  items = $state<Toast[]>([]);
  private next = 1;

  show(text: string, kind: Toast["kind"] = "info", hint: string | null = null, ms = 2500): void {
    const id = this.next++;
    this.items = [...this.items, { id, kind, text, hint }];
    setTimeout(() => this.dismiss(id), ms);
  }

  error(e: CommandError, prefix = ""): void {
    this.show(prefix + e.message, "error", e.hint, 8000);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
