#!/usr/bin/env bash
# Measures the desktop app: cold start to first paint (reported by the UI after two animation
# frames) and idle RSS of the app and its WebKit processes, over several launches under Xvfb.
# Prints figures; asserts nothing. Build first: scripts/e2e-app.sh or scripts/app.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5}
app=${SUPALOVE_APP_BIN:-$root/target/debug/supalove-app}
[ -x "$app" ] || { echo "build the app first (scripts/app.sh)" >&2; exit 1; }
export SUPALOVE_HOME=${SUPALOVE_HOME:-$(mktemp -d)} SUPALOVE_SECRET_STORE=file SUPALOVE_REPORT_STARTUP=1
cat >/tmp/supalove-bench-app-inner.sh <<'INNER'
set -euo pipefail
app=$1
log=$(mktemp)
"$app" 2>"$log" &
pid=$!
for _ in $(seq 1 300); do
  grep -q "first paint" "$log" && break
  sleep 0.05
done
paint=$(sed -n 's/.*first paint \([0-9]*\) ms.*/\1/p' "$log" | head -1)
sleep 5
kids=$(pgrep -P "$pid" | tr "\n" " " || true)
all="$pid $kids $(for k in $kids; do pgrep -P "$k" || true; done | tr "\n" " ")"
rss_app=$(ps -o rss= -p "$pid" | awk '{s+=$1} END {print int(s/1024)}')
rss_all=$(ps -o rss= -p $(echo $all | tr ' ' ',') | awk '{s+=$1} END {print int(s/1024)}')
kill "$pid"; wait "$pid" 2>/dev/null || true
echo "$paint $rss_app $rss_all"
INNER
printf '%-6s %16s %14s %22s\n' round "first paint ms" "app RSS MiB" "app+WebKit RSS MiB"
for i in $(seq 1 "$rounds"); do
  line=$(dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" bash /tmp/supalove-bench-app-inner.sh "$app" 2>/dev/null | tail -1)
  set -- $line
  printf '%-6s %16s %14s %22s\n' "$i" "$1" "$2" "$3"
done
