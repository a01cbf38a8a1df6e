#!/usr/bin/env bash
# Builds the UI and the desktop app (embedding ui/dist) and starts it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  npm ci --prefix ui --no-audit --no-fund --loglevel=error
fi
echo "building the UI and the app (first build: a few minutes)"
npm run --prefix ui build >/dev/null
cargo build --locked -q -p supalove-app --features supalove-app/custom-protocol
exec "$root/target/debug/supalove-app"
