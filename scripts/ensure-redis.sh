#!/usr/bin/env bash
# Makes sure the Redis that the Redis-backed tests use is reachable on $REDIS_URL's host and
# port (default 127.0.0.1:6379): starts a throw-away redis-server (nothing kept on disk) when
# none answers, installing it from Debian's packages if it is missing. Exits non-zero when
# Redis still cannot be reached, so CI fails instead of skipping those tests.
set -euo pipefail

url="${REDIS_URL:-redis://127.0.0.1:6379/}"
hostport="${url#redis://}"
hostport="${hostport#*@}"
hostport="${hostport%%/*}"
host="${hostport%%:*}"
port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=6379

ping() { redis-cli -h "$host" -p "$port" ping 2>/dev/null | grep -q PONG; }

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "ensure-redis: installing redis-server" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi

if ! ping; then
  echo "ensure-redis: starting redis-server on $host:$port" >&2
  redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do ping && break; sleep 0.1; done
fi

if ping; then
  echo "ensure-redis: Redis answers on $host:$port" >&2
else
  echo "ensure-redis: Redis cannot be reached on $host:$port" >&2
  exit 1
fi
