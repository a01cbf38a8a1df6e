#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), lints, unit tests, and integration tests against a
# real dockerd, real Postgres containers and a real Secret Service (gnome-keyring).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh --test
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cleanup() {
  # Tests remove their own projects (all named it-*); this catches what a crashed run left.
  docker ps -aq --filter name=project_it- | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker network ls -q --filter name=project_it- | xargs -r docker network rm >/dev/null 2>&1 || true
  docker volume ls -q --filter name=project_it- | xargs -r docker volume rm >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== generated TypeScript bindings match the Rust types"
cargo test -q --locked -p supalove-core --features ts --lib export_bindings >/dev/null
cargo test -q --locked -p supalove-app --lib export_bindings >/dev/null
git diff --exit-code -- ui/src/lib/api/bindings || {
  echo "ui/src/lib/api/bindings drifted from the Rust types: commit the regenerated files" >&2
  exit 1
}
if [ -n "$(git ls-files --others --exclude-standard ui/src/lib/api/bindings)" ]; then
  echo "new generated bindings are not committed:" >&2
  git ls-files --others --exclude-standard ui/src/lib/api/bindings >&2
  exit 1
fi

echo "== format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests (real dockerd, real Postgres, real Secret Service)"
export SUPALOVE_PULL=never   # tests never pull
scripts/with-keyring.sh cargo test --workspace --locked -- --test-threads "${SUPALOVE_TEST_THREADS:-4}"

echo "== the official clients (realtime-js, supabase-js) against a provisioned project"
npm ci --prefix e2e --no-audit --no-fund --loglevel=error
scripts/with-keyring.sh node --test --test-concurrency=1 e2e/realtime-js.test.mjs e2e/api-url.test.mjs

echo "== the control-plane API against its own OpenAPI document (schemathesis)"
scripts/with-keyring.sh scripts/test-api-schema.sh

echo "== UI: type check, lint, unit tests, build, mocked-IPC browser suite"
ui/run-tests.sh

echo "== the real app window (tauri-driver + WebKitWebDriver under Xvfb) against the real dockerd"
scripts/e2e-app.sh

echo "== the native engine's compatibility suite (its Rust tests ran with the workspace above)"
SKIP_CARGO_TESTS=1 scripts/test-realtime.sh
echo "== all tests passed"
