#!/usr/bin/env bash
# The project's test command (README.md, "Run the tests"). Runs every test of the workspace
# with every feature. Tests that need Redis read REDIS_URL; when it is unset they say that
# they are skipped and pass, so a machine without Redis still gets a green run.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --all-features "$@"
