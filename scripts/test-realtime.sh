#!/usr/bin/env bash
# Runs every test of the native Realtime engine: the Rust unit/property/integration tests of
# crates/phoenix and crates/realtime (against a throwaway Postgres 15), then the Node
# compatibility suites: the official @supabase/realtime-js and @supabase/supabase-js and the
# `phoenix` npm client (Node), then the official Python clients `realtime` and `supabase`
# (a venv cached under ~/.cache/supalove). After the Rust tests, a bounded run of each fuzz
# target (FUZZ_SECONDS each, default 15; SKIP_FUZZ=1 skips it).
# Idempotent: installs only what is missing. Fails loudly on the first failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPAT="$ROOT/crates/realtime/compat"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
export PG_BIN

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- prerequisites --------------------------------------------------------------------------
if [ ! -x "$PG_BIN/initdb" ] || ! command -v psql >/dev/null; then
  say "installing postgresql-15 (Debian package)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql-15 >/dev/null
fi
[ -x "$PG_BIN/initdb" ] || die "initdb not found in $PG_BIN (install postgresql-15 or set PG_BIN)"
command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
command -v node >/dev/null || die "node not found: install Node.js 20 or newer"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js $NODE_MAJOR is too old: realtime-js needs Node 20 or newer"

# Postgres refuses to run as root: the throwaway clusters run as the `postgres` user then.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "user postgres missing (it comes with the postgresql-15 package)"
  PG_AS=(setpriv --reuid=postgres --regid=postgres --init-groups)
else
  PG_AS=()
fi

# --- Rust tests -----------------------------------------------------------------------------
cd "$ROOT"
if [ "${SKIP_CARGO_TESTS:-0}" != 1 ]; then
  say "cargo test: supalove-phoenix and supalove-realtime"
  cargo test -p supalove-phoenix -p supalove-realtime
fi

# --- bounded fuzzing ------------------------------------------------------------------------
# Each cargo-fuzz target of crates/realtime/fuzz runs FUZZ_SECONDS (default 15) on a copy of its
# committed seeds (the inputs libFuzzer adds go to a temp dir, the repo is not modified). A crash,
# hang or OOM fails the run; the input stays in crates/realtime/fuzz/artifacts/<target>/ (git-
# ignored) and is printed in base64 too, for CI machines that do not survive the run.
# FUZZ_JOBS targets run at once (default: one per core). SKIP_FUZZ=1 skips the step.
CARGO_FUZZ_VERSION=0.13.2
FUZZ_DIR="$ROOT/crates/realtime/fuzz"
FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  case "$FUZZ_SECONDS" in ''|*[!0-9]*|0) die "FUZZ_SECONDS must be a positive integer, got '$FUZZ_SECONDS'" ;; esac
  command -v c++ >/dev/null || die "c++ not found: libFuzzer is C++ (install build-essential, or SKIP_FUZZ=1)"
  if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    # Unoptimised and without debug info: cargo-fuzz only drives cargo, and this build takes
    # about 40% of the CPU time of a release one (the largest part of the step on a cold machine).
    CARGO_PROFILE_DEV_DEBUG=0 cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --debug
  fi
  # Only a stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets it take cargo-fuzz's -Z flags;
  # --sanitizer none because the decoders are safe Rust (the targets check panics, debug
  # assertions, overflow and re-encode round trips).
  fuzz() { (cd "$FUZZ_DIR" && RUSTC_BOOTSTRAP=1 cargo fuzz "$@"); }
  say "building the fuzz targets ($(cargo fuzz --version))"
  FUZZ_START=$SECONDS
  FUZZ_LOCK_SHA="$(sha256sum "$FUZZ_DIR/Cargo.lock" | cut -d' ' -f1)"
  fuzz build --sanitizer none
  # The fuzz crate is its own workspace with its own lock file: keep it committed and current.
  [ "$(sha256sum "$FUZZ_DIR/Cargo.lock" | cut -d' ' -f1)" = "$FUZZ_LOCK_SHA" ] \
    || die "crates/realtime/fuzz/Cargo.lock was out of date and the fuzz build updated it: commit it"
  FUZZ_TARGETS="$(fuzz list)"
  [ -n "$FUZZ_TARGETS" ] || die "cargo fuzz list found no fuzz targets in $FUZZ_DIR"
  FUZZ_WORK="$(mktemp -d /tmp/supalove-fuzz.XXXXXX)"
  touch "$FUZZ_WORK/started"
  fuzz_one() {
    mkdir -p "$FUZZ_WORK/corpus/$1"
    if [ -d "$FUZZ_DIR/seeds/$1" ]; then cp -R "$FUZZ_DIR/seeds/$1/." "$FUZZ_WORK/corpus/$1/"; fi
    fuzz run --sanitizer none "$1" "$FUZZ_WORK/corpus/$1" -- \
      -max_total_time="$FUZZ_SECONDS" -timeout=10 >"$FUZZ_WORK/$1.log" 2>&1
  }
  fuzz_failed() {
    # The log without libFuzzer's progress lines (#<n> NEW/REDUCE/pulse ...): the panic is kept.
    printf '\n--- %s ---\n' "$FUZZ_WORK/$1.log" >&2
    grep -Ev '^#[0-9]+[[:space:]]' "$FUZZ_WORK/$1.log" | tail -150 >&2 || true
    local input found=0
    while IFS= read -r input; do
      found=1
      printf '\ncrashing input of %s: %s\nbase64: %s\nreproduce: cd crates/realtime/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none %s %s\n' \
        "$1" "$input" "$(base64 -w0 "$input")" "$1" "$input" >&2
    done < <(find "$FUZZ_DIR/artifacts/$1" -type f -newer "$FUZZ_WORK/started" 2>/dev/null)
    [ "$found" = 1 ] || printf '\n(%s wrote no input: see its log above)\n' "$1" >&2
  }
  # FUZZ_JOBS targets at a time (default: one per core); each gets FUZZ_SECONDS of wall time.
  FUZZ_JOBS="${FUZZ_JOBS:-$(nproc)}"
  case "$FUZZ_JOBS" in ''|*[!0-9]*|0) die "FUZZ_JOBS must be a positive integer, got '$FUZZ_JOBS'" ;; esac
  mapfile -t targets <<<"$FUZZ_TARGETS"
  for ((i = 0; i < ${#targets[@]}; i += FUZZ_JOBS)); do
    batch=("${targets[@]:i:FUZZ_JOBS}")
    say "fuzzing ${batch[*]} for ${FUZZ_SECONDS}s each"
    pids=()
    for target in "${batch[@]}"; do fuzz_one "$target" & pids+=("$!"); done
    failed=()
    for j in "${!batch[@]}"; do wait "${pids[$j]}" || failed+=("${batch[$j]}"); done
    for target in "${batch[@]}"; do
      printf '%s: %s\n' "$target" "$(grep -E '^Done [0-9]+ runs' "$FUZZ_WORK/$target.log" || echo 'no summary')"
    done
    if [ "${#failed[@]}" -gt 0 ]; then
      for target in "${failed[@]}"; do fuzz_failed "$target"; done
      die "fuzz target(s) ${failed[*]} failed (logs and corpora kept in $FUZZ_WORK)"
    fi
  done
  # cargo-fuzz creates the (ignored) artifact dirs; leave nothing behind when nothing crashed.
  for target in "${targets[@]}"; do rmdir "$FUZZ_DIR/artifacts/$target" 2>/dev/null || true; done
  rmdir "$FUZZ_DIR/artifacts" 2>/dev/null || true
  rm -rf "$FUZZ_WORK"
  say "fuzzing passed (build and runs: $((SECONDS - FUZZ_START))s)"
fi

# --- Node compatibility suite ---------------------------------------------------------------
say "building supalove-realtime"
cargo build -p supalove-realtime --bin supalove-realtime
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
ENGINE="$TARGET_DIR/debug/supalove-realtime"

LOCK_STAMP="$COMPAT/node_modules/.supalove-lock-sha"
LOCK_SHA="$(sha256sum "$COMPAT/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$LOCK_STAMP" ] || [ "$(cat "$LOCK_STAMP")" != "$LOCK_SHA" ]; then
  say "npm ci (compat suite)"
  (cd "$COMPAT" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$LOCK_SHA" > "$LOCK_STAMP"
fi

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

WORK="$(mktemp -d /tmp/supalove-rt-compat.XXXXXX)"
ENGINE_PID=""
cleanup() {
  if [ -n "$ENGINE_PID" ]; then kill "$ENGINE_PID" 2>/dev/null || true; wait "$ENGINE_PID" 2>/dev/null || true; fi
  if [ -f "$WORK/data/postmaster.pid" ]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$WORK"

say "starting a throwaway Postgres 15 (wal_level=logical)"
PG_PORT="$(free_port)"
"${PG_AS[@]}" "$PG_BIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -w start \
  -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK -c wal_level=logical -c max_replication_slots=10 -c fsync=off" >/dev/null \
  || { cat "$WORK/postgres.log" >&2; die "postgres did not start"; }
psql -v ON_ERROR_STOP=1 -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres <<'SQL'
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
create publication supabase_realtime;
SQL

say "starting supalove-realtime"
RT_PORT="$(free_port)"
JWT_SECRET="compat-suite-secret-with-at-least-32-chars"
# A throwaway ES256 key: its public half is the engine's API_JWT_JWKS, the private half signs
# the suite's ES256 tokens (never stored beyond this run's work directory).
node -e '
const { generateKeyPairSync } = require("node:crypto"); const fs = require("node:fs");
const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pub = { ...publicKey.export({ format: "jwk" }), kid: "compat-es256", alg: "ES256", use: "sig" };
fs.writeFileSync(process.argv[1] + "/jwks.json", JSON.stringify({ keys: [pub] }));
fs.writeFileSync(process.argv[1] + "/es256.jwk.json", JSON.stringify(privateKey.export({ format: "jwk" })));
' "$WORK"
PORT="$RT_PORT" DB_HOST=127.0.0.1 DB_PORT="$PG_PORT" DB_NAME=postgres DB_USER=postgres DB_PASSWORD=unused \
  JWT_SECRET="$JWT_SECRET" API_JWT_JWKS_FILE="$WORK/jwks.json" REPLICATION_MODE=RLS REPLICATION_POLL_INTERVAL=10 SECURE_CHANNELS=true \
  TEMPORARY_SLOT=true LOG_LEVEL="${LOG_LEVEL:-warn}" \
  "$ENGINE" >"$WORK/engine.log" 2>&1 &
ENGINE_PID=$!
healthy() { node -e "fetch('http://127.0.0.1:$RT_PORT/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; }
for _ in $(seq 1 200); do
  if healthy; then break; fi
  kill -0 "$ENGINE_PID" 2>/dev/null || { cat "$WORK/engine.log" >&2; die "engine exited"; }
  sleep 0.1
done
healthy || { cat "$WORK/engine.log" >&2; die "engine never became healthy"; }

say "node compatibility suite (realtime-js 2.109.0 + 2.119.1, vsn 1.0.0 + 2.0.0, supabase-js, phoenix)"
if ! (cd "$COMPAT" && REALTIME_PORT="$RT_PORT" JWT_SECRET="$JWT_SECRET" ES256_JWK_FILE="$WORK/es256.jwk.json" \
      DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres" npm test --silent); then
  echo "--- engine log ---" >&2; tail -50 "$WORK/engine.log" >&2
  die "node compatibility suite failed"
fi

# --- Python compatibility suite -------------------------------------------------------------
PY_REALTIME=2.34.1
PY_SUPABASE=2.34.1
PY_PSYCOPG=3.2.10
PY_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/supalove/realtime-py-$PY_REALTIME"
if ! "$PY_VENV/bin/python" -c 'import realtime, supabase, psycopg' 2>/dev/null; then
  say "installing realtime $PY_REALTIME, supabase $PY_SUPABASE into $PY_VENV"
  python3 -m venv "$PY_VENV"
  "$PY_VENV/bin/pip" install -q "realtime==$PY_REALTIME" "supabase==$PY_SUPABASE" "psycopg[binary]==$PY_PSYCOPG"
fi
say "python compatibility suite (realtime-py $PY_REALTIME, supabase-py $PY_SUPABASE, vsn 1.0.0)"
ENGINE="$ENGINE" PG_PORT="$PG_PORT" JWT_SECRET="$JWT_SECRET" "$PY_VENV/bin/python" "$COMPAT/python/test_realtime_py.py" \
  || die "python compatibility suite failed"

say "all realtime tests passed"
