// Saving a text file the user asked for: in the app the shell asks where with the OS save
// dialog and writes it (a webview has no download manager); in a plain browser it is an
// ordinary download.
import { api, asCommandError } from "./api/commands";
import { toasts } from "./stores/toasts.svelte";

/** Saves `text` as `fileName` and says where it went; `what` names it in an error ("the logs"). */
export async function saveText(fileName: string, text: string, type: string, what: string): Promise<void> {
  if ("__TAURI_INTERNALS__" in window) {
    try {
      const path = await api.saveDownload(fileName, text);
      // null: the person cancelled the dialog; nothing was written, so nothing to announce.
      if (path !== null) toasts.show(`Saved ${path}`);
    } catch (e) {
      toasts.show(`Could not save ${what}: ${asCommandError(e).message}`, "error");
    }
    return;
  }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
