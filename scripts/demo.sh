#!/usr/bin/env bash
# The newcomer's first command: set up, build, and create a demo project, then print its card.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
echo "building supalove (release)"
cargo build --release --locked -p supalove
bin="$root/target/release/supalove"

# Secrets go to the OS keyring when the session has one; a headless machine has none, so the
# demo then opts in to the documented 0600 file store (in SUPALOVE_HOME) and says so.
if [ -z "${SUPALOVE_SECRET_STORE:-}" ]; then
  if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] || ! secret-tool search --all supalove probe >/dev/null 2>&1; then
    echo "note: no unlocked Secret Service in this session; the demo keeps secrets in 0600 files" >&2
    echo "      (SUPALOVE_SECRET_STORE=file). Desktop sessions use the OS keyring." >&2
    export SUPALOVE_SECRET_STORE=file
  fi
fi
# The commands printed below must reach the same store: name it in them when it is the file one.
store_env=""
[ "${SUPALOVE_SECRET_STORE:-}" = file ] && store_env="SUPALOVE_SECRET_STORE=file "

name=${1:-demo}
if "$bin" show "$name" >/dev/null 2>&1; then
  "$bin" start "$name"
  "$bin" show "$name"
else
  "$bin" new "$name"
fi
echo
"$bin" list
echo
echo "next: ${store_env}$bin logs $name | ${store_env}$bin listen $name | ${store_env}$bin doctor $name | ${store_env}$bin stop $name | ${store_env}$bin rm $name"
if [ -n "$store_env" ]; then
  echo "      (this project's secrets are in 0600 files: keep SUPALOVE_SECRET_STORE=file for its commands, or export it)"
fi

# The desktop app, when there is a display to show it on.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${SUPALOVE_NO_APP:-}" != 1 ]; then
  exec "$root/scripts/app.sh"
else
  echo "no display here: the desktop app starts with scripts/app.sh in a graphical session"
fi
