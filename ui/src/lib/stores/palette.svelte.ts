// Open state of the command palette and of the dialogs it can open.

class UiState {
  paletteOpen = $state(false);
  newProjectOpen = $state(false);
  /** Name of the project whose delete dialog is open. */
  deleting = $state<string | null>(null);
}

export const ui = new UiState();
