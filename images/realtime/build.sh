#!/usr/bin/env bash
# Builds supalove/realtime:<version> from the engine's release binary; no registry needed.
# Skips the docker build when the binary and these files are unchanged (a label holds the hash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
tag=${TAG:-supalove/realtime:$version}

if [ ! -d "$root/crates/realtime" ]; then
  echo "crates/realtime is not in this checkout; skipping the Realtime image" >&2
  exit 0
fi
if ! docker image inspect supalove/pg15-rootfs:bookworm >/dev/null 2>&1; then
  "$root/images/postgres/build.sh"
fi
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
echo "[1/2] cargo build --release -p supalove-realtime"
(cd "$root" && cargo build --release --locked -q -p supalove-realtime)
bin="$root/target/release/supalove-realtime"

inputs=$(cat "$bin" "$here/Dockerfile" "$here/healthcheck.sh" "$here/build.sh" | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{ index .Config.Labels "dev.supalove.inputs" }}' "$tag" 2>/dev/null || true)
if [ "$have" = "$inputs" ]; then
  echo "$tag is up to date (inputs $inputs)"
  exit 0
fi
echo "[2/2] docker build $tag"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$bin" "$here/Dockerfile" "$here/healthcheck.sh" "$ctx/"
DOCKER_BUILDKIT=0 docker build -q --label "dev.supalove.inputs=$inputs" -t "$tag" "$ctx" >/dev/null 2>"$ctx/build.log" || {
  cat "$ctx/build.log" >&2
  exit 1
}
docker image prune -f --filter "label=dev.supalove.inputs" >/dev/null 2>&1 || true
echo "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
