#!/usr/bin/env bash
# The instructions each server of the load comparison spends per request, counted by callgrind:
# a cost figure that the noise of a shared VM does not move (BENCHMARKS.md, "Instructions per
# request, whole server").
#
#   scripts/bench-instructions.sh
#
# For every variant of examples/load_server.rs it starts the release server under
# `valgrind --tool=callgrind`, sends it BENCH_DURATION seconds of the load script's traffic
# (wrk, 1 thread, 4 connections: callgrind runs the server ~50 times slower), stops it, and
# divides the instructions the server executed in user space (startup and shutdown included:
# about 1 M, under 0.5 % of a run) by the requests wrk had answered (the server may have seen
# up to 4 more, in flight when wrk stopped). Any failed request fails the script. Kernel work (sockets, syscalls) is not counted, so these ratios are larger than the
# CPU-time ratios of scripts/bench-load.sh, which count both.
#
# Under valgrind the `sha2` crate runs its portable SHA-256 (~3 500 instructions for the
# Bearer check); natively it uses the CPU's SHA extensions (~140 ns in `benches/auth.rs`).
#
# Settings (environment): BENCH_PORT (38916), BENCH_DURATION (6), BENCH_VARIANTS
# (space-separated subset), BENCH_DUP (share of duplicates, 0 to 100; default 0).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  "") ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0" >&2
    exit 2
    ;;
esac

port="${BENCH_PORT:-38916}"
host=127.0.0.1
duration="${BENCH_DURATION:-6}"
dup="${BENCH_DUP:-0}"
read -r -a variants <<<"${BENCH_VARIANTS:-axum-bare axum-handwritten axum-layer actix-bare actix-handwritten actix-extractor actix-route}"
url="http://$host:$port/webhooks/prepared"
token="instructions-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

log() { printf 'bench-instructions: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v valgrind >/dev/null || die "valgrind is not installed (Debian: apt-get install valgrind)"
scripts/ensure-wrk.sh
log "building the example (release)"
cargo build --quiet --release --example load_server
server_bin="${CARGO_TARGET_DIR:-target}/release/examples/load_server"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
# The value of `key` ($2) in a `WRK_RESULT key=value ...` line ($1).
field() { tr ' ' '\n' <<<"$1" | awk -F= -v key="$2" '$1 == key { print $2 }'; }

log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(valgrind --version)"
echo "| variant | requests | instructions / request | / bare of its framework |"
echo "|---|---:|---:|---:|"
declare -A per_request
for variant in "${variants[@]}"; do
  port_open && die "something already listens on $host:$port (set BENCH_PORT)"
  PREPARED_WEBHOOK_TOKEN="$token" valgrind --tool=callgrind \
    --callgrind-out-file="$work/$variant.callgrind" \
    "$server_bin" "$variant" "$host:$port" 2>"$work/$variant.log" &
  server_pid=$!
  for _ in $(seq 1 300); do
    kill -0 "$server_pid" 2>/dev/null || die "$variant exited at start: $(cat "$work/$variant.log")"
    port_open && break
    sleep 0.1
  done
  port_open || die "$variant does not listen on $host:$port after 30 s"
  tag="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  wrk -t1 -c4 -d"${duration}s" -s scripts/load/caller_location.lua "$url" \
    -- "$token" "$dup" "$tag" >"$work/$variant.wrk" 2>&1 || die "wrk failed: $(cat "$work/$variant.wrk")"
  kill -TERM "$server_pid"
  wait "$server_pid" || die "$variant failed under valgrind: $(cat "$work/$variant.log")"
  server_pid=""
  result="$(grep '^WRK_RESULT ' "$work/$variant.wrk")" || die "no WRK_RESULT: $(cat "$work/$variant.wrk")"
  requests="$(field "$result" requests)"
  failed=0
  for counter in non2xx connect_errors read_errors write_errors timeouts; do
    failed=$((failed + $(field "$result" "$counter")))
  done
  [ "$failed" -eq 0 ] || die "$variant: $failed failed requests: $result"
  collected="$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$work/$variant.log")"
  [ -n "$requests" ] && [ "$requests" -gt 0 ] && [ -n "$collected" ] \
    || die "$variant: no request count or instruction count: $(cat "$work/$variant.log")"
  per_request[$variant]=$((collected / requests))
  bare="${per_request[${variant%%-*}-bare]:-}"
  ratio="$([ -n "$bare" ] && awk -v a="${per_request[$variant]}" -v b="$bare" 'BEGIN { printf "%.2f", a / b }' || echo "n/a")"
  echo "| $variant | $requests | ${per_request[$variant]} | $ratio |"
done
