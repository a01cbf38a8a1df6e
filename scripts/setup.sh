#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine: installs only what is missing, makes sure
# a Docker daemon answers, and builds the local images. Run as root (or with sudo).
#   scripts/setup.sh          what the app and CLI need
#   scripts/setup.sh --test   plus what the test suite needs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# CLI and core: Docker engine, image building, psql, the Secret Service, D-Bus headers.
pkgs=(docker.io mmdebstrap postgresql-client gnome-keyring dbus libsecret-tools libdbus-1-dev
      pkg-config build-essential ca-certificates curl python3)
# The desktop app (Tauri 2 on WebKitGTK).
pkgs+=(libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev)
if ! command -v node >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi
if [ "${1:-}" = "--test" ]; then
  # compose (export test, bench), a virtual display, WebKit's WebDriver, screenshots, Chromium, xdotool (the GTK save dialog in the window test).
  pkgs+=(docker-compose xvfb xauth webkit2gtk-driver imagemagick chromium xdotool)
  # The Realtime engine's own integration tests run throwaway clusters from Debian's binaries.
  pkgs+=(postgresql-15)
  # schemathesis (the API's property run) goes into a venv.
  pkgs+=(python3-venv)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]}; run this script with sudo" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "installing the Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
  . "$HOME/.cargo/env"
fi

node_major=$(node -e 'console.log(process.versions.node.split(".")[0])' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "warning: Node.js $(node --version 2>/dev/null) is older than 20; the UI build (Vite) needs Node >= 20" >&2
fi

"$root/scripts/start-dockerd.sh"
"$root/scripts/build-images.sh"
