#!/usr/bin/env bash
# End-to-end tests of the real app window: builds the UI and the app (custom-protocol), makes
# sure tauri-driver is installed, then runs e2e/app.test.mjs under Xvfb inside a private D-Bus
# session with an unlocked gnome-keyring. Screenshots land in e2e/artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  npm ci --prefix ui --no-audit --no-fund --loglevel=error
fi
npm run --prefix ui build >/dev/null
cargo build --locked -q -p supalove -p supalove-app --features supalove-app/custom-protocol
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  cargo install --locked tauri-driver --version '^2'
fi
if [ ! -d e2e/node_modules ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
  npm ci --prefix e2e --no-audit --no-fund --loglevel=error
fi
rm -rf e2e/artifacts
exec scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" \
  node --test --test-concurrency=1 e2e/app.test.mjs e2e/tester.test.mjs
