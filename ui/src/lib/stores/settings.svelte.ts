// App settings as saved by the backend.
import { api } from "../api/commands";
import type { AppSettings, CommandError } from "../api/types";

class SettingsStore {
  value = $state<AppSettings | null>(null);
  error = $state<CommandError | null>(null);

  async load(): Promise<void> {
    try {
      this.value = await api.getSettings();
      this.error = null;
    } catch (e) {
      this.error = e as CommandError;
    }
  }

  async save(s: AppSettings): Promise<AppSettings> {
    const saved = await api.saveSettings(s);
    this.value = saved;
    return saved;
  }
}

export const settings = new SettingsStore();
