#!/usr/bin/env bash
# The project's test command (README.md, "Run the tests"): every test of the workspace with
# every feature. The tests that need Redis are #[ignore]d with the reason "needs Redis"; they
# run here when REDIS_URL is set (CI sets it and makes sure Redis answers). Without it, cargo
# reports them as ignored, never as passed. With it, the script also starts a throw-away
# three-node Redis Cluster on loopback (scripts/redis-cluster.sh, a few seconds) for the
# cluster tests, exports its nodes as REDIS_CLUSTER_NODES, and stops it at the end; an
# REDIS_CLUSTER_NODES already set is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${REDIS_URL:-}" ]; then
  echo "test.sh: REDIS_URL is set: running the Redis tests too" >&2
  if [ -z "${REDIS_CLUSTER_NODES:-}" ]; then
    cluster_dir="$(mktemp -d)"
    trap 'scripts/redis-cluster.sh stop "$cluster_dir"' EXIT
    REDIS_CLUSTER_NODES="$(scripts/redis-cluster.sh start "$cluster_dir")"
    export REDIS_CLUSTER_NODES
  fi
  cargo test --workspace --all-features "$@" -- --include-ignored
else
  echo "test.sh: REDIS_URL is not set: the Redis tests are skipped (reported as ignored)" >&2
  exec cargo test --workspace --all-features "$@"
fi
