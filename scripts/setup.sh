#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine: installs only what is missing, makes sure
# a Docker daemon answers, and builds the local images. Run as root (or with sudo).
#   scripts/setup.sh          what the app and CLI need
#   scripts/setup.sh --test   plus what the test suite needs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(docker.io mmdebstrap postgresql-client gnome-keyring dbus libsecret-tools libdbus-1-dev
      pkg-config build-essential ca-certificates curl python3)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(docker-compose)
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

"$root/scripts/start-dockerd.sh"
"$root/scripts/build-images.sh"
