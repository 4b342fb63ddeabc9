#!/usr/bin/env bash
# The project's test command (README.md, "Run the tests"): every test of the workspace with
# every feature. The tests that need a server are #[ignore]d with the reason: "needs Redis"
# (they read REDIS_URL) and "needs PostgreSQL" (they read DATABASE_URL, and their names hold
# `_postgres`). Without REDIS_URL, cargo reports all of them as ignored, never as passed. With
# REDIS_URL, the ignored tests run too, except the PostgreSQL ones when DATABASE_URL is unset
# (they are then left out by name, and the script says so). With REDIS_URL the script also
# starts a throw-away three-node Redis Cluster on loopback (scripts/redis-cluster.sh, a few
# seconds) for the cluster tests, exports its nodes as REDIS_CLUSTER_NODES, and stops it at
# the end; an REDIS_CLUSTER_NODES already set is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${REDIS_URL:-}" ]; then
  echo "test.sh: REDIS_URL is set: running the Redis tests too" >&2
  skip=()
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "test.sh: DATABASE_URL is set: running the PostgreSQL tests too" >&2
  else
    echo "test.sh: DATABASE_URL is not set: the PostgreSQL tests are left out" >&2
    skip=(--skip _postgres)
  fi
  if [ -z "${REDIS_CLUSTER_NODES:-}" ]; then
    cluster_dir="$(mktemp -d)"
    trap 'scripts/redis-cluster.sh stop "$cluster_dir"' EXIT
    REDIS_CLUSTER_NODES="$(scripts/redis-cluster.sh start "$cluster_dir")"
    export REDIS_CLUSTER_NODES
  fi
  cargo test --workspace --all-features "$@" -- --include-ignored "${skip[@]}"
else
  echo "test.sh: REDIS_URL is not set: the Redis and PostgreSQL tests are skipped (reported as ignored)" >&2
  exec cargo test --workspace --all-features "$@"
fi
