#!/bin/bash
# supalove's Postgres entrypoint: the official postgres image's environment contract on Debian packages.
#   POSTGRES_USER (postgres) POSTGRES_PASSWORD POSTGRES_DB (= user) POSTGRES_INITDB_ARGS
#   POSTGRES_HOST_AUTH_METHOD (scram-sha-256) and /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh
#   Each of POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS may instead come from
#   the file named by <VAR>_FILE (e.g. /run/secrets/db_password), so no secret sits in the
#   container's environment.
set -Eeuo pipefail

# Reads <VAR>_FILE into VAR. It runs while still root (the file may be 0400 root), and the
# value is inherited by the unprivileged re-exec below, which then finds no _FILE left.
file_env() {
  local var=$1 file_var="${1}_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set (they are exclusive)" >&2
    exit 1
  fi
  if [ -n "${!file_var:-}" ]; then
    if [ ! -r "${!file_var}" ]; then
      echo "error: $file_var names ${!file_var}, which is missing or unreadable" >&2
      exit 1
    fi
    export "$var"="$(<"${!file_var}")"
    unset "$file_var"
  fi
}

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

# Arguments that start with "-" are options for postgres itself.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
  exec "$@"
fi

for v in POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB POSTGRES_INITDB_ARGS; do
  file_env "$v"
done

if [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  chown postgres:postgres /var/run/postgresql
  chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != 'trust' ]; then
    echo 'error: database is uninitialized and POSTGRES_PASSWORD is not set.' >&2
    echo '       Set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust to allow logins without one.' >&2
    exit 1
  fi
  pwargs=()
  pwfile=
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    pwargs=(--pwfile="$pwfile")
  fi
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words by contract
  initdb --username="$POSTGRES_USER" "${pwargs[@]}" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
  [ -z "$pwfile" ] || rm -f "$pwfile"
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # Init files run on a server that listens on the socket only, so nothing outside sees it ready early.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  psql_run=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --no-password)
  if [ "$POSTGRES_DB" != 'postgres' ]; then
    "${psql_run[@]}" --dbname postgres --set db="$POSTGRES_DB" -q <<<'CREATE DATABASE :"db";'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then echo "init: running $f"; "$f"; else echo "init: sourcing $f"; . "$f"; fi ;;
      *.sql) echo "init: running $f"; "${psql_run[@]}" --dbname "$POSTGRES_DB" -q -f "$f" ;;
      *.sql.gz) echo "init: running $f"; gunzip -c "$f" | "${psql_run[@]}" --dbname "$POSTGRES_DB" -q ;;
      *) echo "init: ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo 'init: done; starting postgres'
fi

# The server never needs the password; keep it out of its environment.
unset POSTGRES_PASSWORD
exec "$@"
