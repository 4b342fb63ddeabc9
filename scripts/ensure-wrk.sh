#!/usr/bin/env bash
# Makes sure the HTTP load generator `wrk` (with its LuaJIT scripting) is on the PATH, which
# scripts/bench-load.sh needs: installs Debian's `wrk` package when it is missing (as root, or
# through sudo when there is one). Exits non-zero when wrk still cannot be run, so CI fails
# instead of skipping the load smoke test.
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
  echo "ensure-wrk: installing wrk" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
fi

# `wrk -v` prints its version and usage, and exits 1: what matters is that it runs at all.
version="$(wrk -v 2>&1 || true)"
if command -v wrk >/dev/null 2>&1 && [[ "$version" == wrk* ]]; then
  echo "ensure-wrk: ${version%%$'\n'*}" >&2
else
  echo "ensure-wrk: wrk cannot be run" >&2
  exit 1
fi
