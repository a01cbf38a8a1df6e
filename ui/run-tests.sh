#!/usr/bin/env bash
# The UI's whole test run: type check, lint, unit tests, production build, and the
# Playwright suite against ui/dist with a mocked Tauri backend. Idempotent: installs
# npm packages only when package-lock.json changed, and Chromium only when missing.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { printf '\n\033[31mFAILED: %s\033[0m\n' "$*" >&2; exit 1; }
trap 'fail "ui/run-tests.sh at line $LINENO"' ERR

STAMP=node_modules/.supalove-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  step "npm ci (package-lock.json changed or node_modules missing)"
  npm ci --no-audit --no-fund
  echo "$want" > "$STAMP"
fi

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  step "installing chromium (for the Playwright suite)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
  CHROMIUM=/usr/bin/chromium
fi
export CHROMIUM

step "svelte-check";             npm run --silent check
step "eslint";                   npm run --silent lint
step "vitest";                   npx vitest run
step "vite build";               npm run --silent build
step "playwright (mocked IPC)";  npm run --silent e2e

printf '\n\033[32mui: all checks passed\033[0m\n'
