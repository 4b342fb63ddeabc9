#!/usr/bin/env bash
# Makes sure the PostgreSQL that the delivery-log tests use answers on $DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/test): starts the machine's cluster when none answers,
# creates the database when it is missing, and exits non-zero when PostgreSQL still cannot
# be reached, so CI fails instead of skipping those tests.
set -euo pipefail

url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
rest="${url#*://}"
userinfo=""
[ "${rest#*@}" != "$rest" ] && userinfo="${rest%%@*}"
rest="${rest#*@}"
hostport="${rest%%/*}"
database="${rest#*/}"
database="${database%%\?*}"
host="${hostport%%:*}"
port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=5432
user="${userinfo%%:*}"
user="${user:-postgres}"

ready() { pg_isready -q -h "$host" -p "$port"; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure-postgres: pg_isready is missing (install PostgreSQL, e.g. Debian's postgresql)" >&2
  exit 1
fi

if ! ready; then
  echo "ensure-postgres: starting PostgreSQL" >&2
  (service postgresql start || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start) >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do ready && break; sleep 0.1; done
fi

if ! ready; then
  echo "ensure-postgres: PostgreSQL cannot be reached on $host:$port" >&2
  exit 1
fi

if ! psql "$url" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  echo "ensure-postgres: creating database $database" >&2
  createdb -h "$host" -p "$port" -U "$user" "$database"
fi
psql "$url" -qtAc 'SELECT 1' >/dev/null
echo "ensure-postgres: PostgreSQL answers on $host:$port, database $database" >&2
