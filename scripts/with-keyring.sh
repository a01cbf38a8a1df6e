#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked, throwaway gnome-keyring,
# so the real Secret Service backs supalove's keyring calls on a headless machine.
# Usage: scripts/with-keyring.sh <command> [args...]
set -euo pipefail
if [ "${SUPALOVE_IN_KEYRING_SESSION:-}" = 1 ]; then
  exec "$@"
fi
exec dbus-run-session -- bash -c '
  set -euo pipefail
  export SUPALOVE_IN_KEYRING_SESSION=1
  export XDG_DATA_HOME="${SUPALOVE_KEYRING_DIR:-$(mktemp -d)}"
  # A private runtime dir: gnome-keyring keeps its control socket there, so two sessions running
  # at once (parallel test runs on one machine) never take over each other'"'"'s daemon.
  XDG_RUNTIME_DIR=$(mktemp -d)
  chmod 700 "$XDG_RUNTIME_DIR"
  export XDG_RUNTIME_DIR
  # A non-empty password creates and unlocks the login collection; an empty one would not.
  eval "$(printf %s "supalove-session-keyring" | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  exec "$@"
' with-keyring "$@"
