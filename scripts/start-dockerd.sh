#!/usr/bin/env bash
# Make sure a Docker daemon answers. Starts Debian's dockerd in the background only if none does.
# The daemon we start keeps containers' DNS on 127.0.0.1, so no lookup leaves the machine.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd is not installed: run scripts/setup.sh (installs Debian's docker.io)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "No Docker daemon answers and starting one needs root: run 'sudo systemctl start docker' or 'sudo $0'" >&2
  exit 1
fi

mkdir -p /etc/docker
cfg=/etc/docker/daemon.json
if [ ! -s "$cfg" ]; then
  printf '{\n  "dns": ["127.0.0.1"]\n}\n' >"$cfg"
elif ! grep -q '"dns"' "$cfg"; then
  python3 - "$cfg" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["dns"] = ["127.0.0.1"]
json.dump(d, open(p, "w"), indent=2)
PY
fi

pidfile=/var/run/docker.pid
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  rm -f "$pidfile"
fi
log=${DOCKERD_LOG:-/var/log/supalove-dockerd.log}
setsid nohup dockerd --host unix:///var/run/docker.sock --pidfile "$pidfile" --shutdown-timeout 2 >>"$log" 2>&1 </dev/null &

for _ in $(seq 1 600); do
  if docker info >/dev/null 2>&1; then
    echo "dockerd is up (log: $log)"
    exit 0
  fi
  sleep 0.1
done
echo "dockerd did not answer within 60 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
