#!/usr/bin/env bash
# Builds supalove/gateway:1 (nginx from Debian's nginx-light package), no registry needed:
# mmdebstrap a minimal bookworm rootfs with nginx-light -> docker import -> a thin docker build.
# Skips everything when an image labelled with the same input hash exists. Where images can be
# pulled, the official `nginx` image serves the same configuration (the template's gateway/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=${TAG:-supalove/gateway:1}
base=supalove/gateway-rootfs:bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

inputs=$(cat "$here/build.sh" "$here/Dockerfile" | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{ index .Config.Labels "dev.supalove.inputs" }}' "$tag" 2>/dev/null || true)
if [ "$have" = "$inputs" ]; then
  echo "$tag is up to date (inputs $inputs)"
  exit 0
fi

command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing: run scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

base_inputs=$(sha256sum "$here/build.sh" | cut -c1-16)
have_base=$(docker image inspect -f '{{ index .Config.Labels "dev.supalove.inputs" }}' "$base" 2>/dev/null || true)
if [ "$have_base" != "$base_inputs" ]; then
  echo "[1/3] mmdebstrap: bookworm rootfs with nginx-light (about 20 s)"
  log="$work/mmdebstrap.log"
  if ! mmdebstrap --mode=root --variant=essential \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --include=nginx-light \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/i18n/*' \
    --customize-hook='rm -f "$1/etc/nginx/sites-enabled/default"' \
    bookworm "$work/rootfs.tar" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main" \
    >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "mmdebstrap failed (full log above); is the Debian mirror $mirror reachable?" >&2
    exit 1
  fi
  echo "[2/3] docker import"
  docker import --change "LABEL dev.supalove.inputs=$base_inputs" "$work/rootfs.tar" "$base" >/dev/null
fi

echo "[3/3] docker build $tag"
DOCKER_BUILDKIT=0 docker build -q --label "dev.supalove.inputs=$inputs" -t "$tag" "$here" >/dev/null 2>"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
docker image prune -f --filter "label=dev.supalove.inputs" >/dev/null 2>&1 || true
echo "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
