#!/usr/bin/env bash
# Builds supalove's local images from Debian packages and our own binaries; no registry needed.
# Each build is skipped when its inputs are unchanged.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/start-dockerd.sh"
"$root/images/postgres/build.sh"
"$root/images/gateway/build.sh"
if [ -x "$root/images/realtime/build.sh" ]; then
  "$root/images/realtime/build.sh"
fi
