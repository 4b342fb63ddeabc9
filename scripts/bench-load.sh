#!/usr/bin/env bash
# The loopback load comparison of BENCHMARKS.md: our webhook layer / extractor / route next to
# a bare handler (the framework's ceiling) and a hand-written receiver, in axum and actix-web,
# side by side in one run.
#
#   scripts/bench-load.sh            full run: release build, 5 rounds of 1 s warm-up + 6 s per run
#   scripts/bench-load.sh --smoke    CI check: debug build, 1 round of 1 s per run, no numbers asserted
#
# In every round, for every server variant of examples/load_server.rs and every scenario
# (`unique`: every request a new caller_location event; `dup20`: 20 % of the requests resend
# an event sent recently), it starts the server alone, records its idle RSS, warms it up, runs wrk
# (scripts/load/caller_location.lua) with 64 connections on one wrk thread, and records
# requests/s, p50 and p99 latency, the non-2xx answers and socket errors, the server's peak RSS
# (VmHWM) and how many events its app code saw. The server is pinned to CPU 0 and wrk to CPU 1
# when taskset and two CPUs are there. The rounds interleave the variants, so that a slow
# minute of a shared machine does not fall on one variant only. It prints a markdown table of
# each variant's median round (with the spread of req/s over the rounds) and the ratios against
# the project's targets, each the median of the ratios within one round.
#
# --smoke checks only that every variant answered 2xx to nearly all requests (at most 1 %
# failures) and that the receivers refuse a wrong token; it exits non-zero otherwise.
#
# Settings (environment): BENCH_PORT (38917), BENCH_ROUNDS (5, smoke 1), BENCH_DURATION
# (seconds per run: 6, smoke 1), BENCH_WARMUP (1, smoke 0), BENCH_CONNECTIONS (64), BENCH_VARIANTS (space-separated subset),
# BENCH_SCENARIOS ("unique dup20"), BENCH_KEEP_LOGS=1 to keep the per-run logs. The variant
# axum-durable (not in the default set) needs LOAD_SERVER_REDIS_URL: a throw-away Redis; the
# axum-pg-before-ack and axum-pg-best-effort variants (not in the default set either) need
# LOAD_SERVER_DATABASE_URL: a throw-away PostgreSQL database (createdb).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
case "${1:-}" in
  "") ;;
  --smoke) mode=smoke ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 [--smoke]" >&2
    exit 2
    ;;
esac
[ $# -le 1 ] || { echo "usage: $0 [--smoke]" >&2; exit 2; }

if [ "$mode" = smoke ]; then
  rounds="${BENCH_ROUNDS:-1}"
  duration="${BENCH_DURATION:-1}"
  warmup="${BENCH_WARMUP:-0}"
else
  rounds="${BENCH_ROUNDS:-5}"
  duration="${BENCH_DURATION:-6}"
  warmup="${BENCH_WARMUP:-1}"
fi
connections="${BENCH_CONNECTIONS:-64}"
port="${BENCH_PORT:-38917}"
host=127.0.0.1
url="http://$host:$port/webhooks/prepared"
read -r -a variants <<<"${BENCH_VARIANTS:-axum-bare axum-handwritten axum-layer actix-bare actix-handwritten actix-extractor actix-route}"
read -r -a scenarios <<<"${BENCH_SCENARIOS:-unique dup20}"
lua=scripts/load/caller_location.lua
token="load-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
started_at=$SECONDS

log() { printf 'bench-load: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

scripts/ensure-wrk.sh

# --- the server binary --------------------------------------------------------------------
target_dir="${CARGO_TARGET_DIR:-target}"
if [ "$mode" = smoke ]; then
  # The same command line as scripts/test.sh (workspace, every feature), so the example that
  # `cargo test` built is fresh and nothing is compiled again; built when missing or stale.
  log "building the example (debug; a no-op after scripts/test.sh)"
  cargo build --quiet --workspace --all-features --example load_server
  server_bin="$target_dir/debug/examples/load_server"
else
  log "building the example (release)"
  cargo build --quiet --release --example load_server
  server_bin="$target_dir/release/examples/load_server"
fi
[ -x "$server_bin" ] || die "no server binary at $server_bin"

# --- CPU pinning ----------------------------------------------------------------------------
server_cmd=("$server_bin")
wrk_cmd=(wrk)
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  server_cmd=(taskset -c 0 "$server_bin")
  wrk_cmd=(taskset -c 1 wrk)
  pinning="server pinned to CPU 0, wrk to CPU 1 (taskset)"
else
  pinning="no CPU pinning (taskset missing or fewer than 2 CPUs): server and wrk share the CPUs"
fi

# --- the servers, cleaned up whatever happens -----------------------------------------------
work="$(mktemp -d)"
server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      log "server $server_pid did not stop on SIGTERM in 10 s: killing it"
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  stop_server
  if [ "${BENCH_KEEP_LOGS:-0}" = 1 ]; then
    log "logs kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

# The status code of one POST with this token (a fresh event), over bash's /dev/tcp.
probe_status() {
  local body request status
  body='{"type":"caller_location","id":"6f1d2c3b-0000-4000-8000-000000000001","incident_id":"550e8400-e29b-41d4-a716-446655440000","lat":37.7749,"lng":-122.4194}'
  request="POST /webhooks/prepared HTTP/1.1\r\nHost: $host:$port\r\nAuthorization: Bearer $1\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
  exec 3<>"/dev/tcp/$host/$port"
  printf '%b' "$request" >&3
  IFS=' ' read -r _ status _ <&3 || status=none
  exec 3<&- 3>&-
  printf '%s' "$status"
}

status_field() { awk -v key="$2" '$1 == key":" { print $2 }' "/proc/$1/status"; }
# The CPU time the process used so far (user + system, every thread), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second="$(getconf CLK_TCK)"

start_server() {
  local variant=$1 log_file=$2
  port_open && die "something already listens on $host:$port (set BENCH_PORT)"
  PREPARED_WEBHOOK_TOKEN="$token" "${server_cmd[@]}" "$variant" "$host:$port" 2>"$log_file" &
  server_pid=$!
  for _ in $(seq 1 200); do
    kill -0 "$server_pid" 2>/dev/null || die "$variant exited at start: $(cat "$log_file")"
    port_open && return 0
    sleep 0.05
  done
  die "$variant does not listen on $host:$port after 10 s"
}

# wrk for $2 seconds, dup share $3 %; prints the WRK_RESULT line; the full output goes to $1.
run_wrk() {
  local out=$1 seconds=$2 dup=$3 tag
  tag="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  "${wrk_cmd[@]}" -t1 -c"$connections" -d"${seconds}s" --latency -s "$lua" "$url" \
    -- "$token" "$dup" "$tag" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
  grep '^WRK_RESULT ' "$out" || die "no WRK_RESULT from wrk: $(cat "$out")"
}

field() { tr ' ' '\n' <<<"$1" | awk -F= -v key="$2" '$1 == key { print $2 }'; }

# --- the runs -------------------------------------------------------------------------------
log "mode=$mode, $rounds round(s), ${duration} s per run after ${warmup} s warm-up, $connections connections, 1 wrk thread"
log "$pinning"
log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load: $(uptime | sed 's/.*load average/load average/')"

results="$work/results"
: >"$results"
failures=0
for round in $(seq 1 "$rounds"); do
for variant in "${variants[@]}"; do
  for scenario in "${scenarios[@]}"; do
    case "$scenario" in
      unique) dup=0 ;;
      dup20) dup=20 ;;
      *) die "unknown scenario $scenario (unique, dup20)" ;;
    esac
    run="$work/$round-$variant-$scenario"
    start_server "$variant" "$run.server.log"
    sleep 0.2
    idle_kb="$(status_field "$server_pid" VmRSS)"

    if [ "$mode" = smoke ] && [ "$scenario" = unique ] && [[ "$variant" != *-bare ]]; then
      wrong="$(probe_status "not-the-token")"
      right="$(probe_status "$token")"
      if [ "$wrong" != 401 ] || [ "$right" != 200 ]; then
        log "FAIL $variant: a wrong token got $wrong (want 401), the right one $right (want 200)"
        failures=$((failures + 1))
      fi
    fi

    warm_requests=0
    if [ "$warmup" -gt 0 ]; then
      warm="$(run_wrk "$run.warmup.wrk" "$warmup" "$dup")"
      warm_requests="$(field "$warm" requests)"
    fi
    ticks_before="$(cpu_ticks "$server_pid")"
    result="$(run_wrk "$run.wrk" "$duration" "$dup")"
    ticks_after="$(cpu_ticks "$server_pid")"
    peak_kb="$(status_field "$server_pid" VmHWM)"
    stop_server
    processed="$(sed -n 's/^load_server: stopped .*processed=\([0-9]*\).*/\1/p' "$run.server.log")"
    [ -n "$processed" ] || die "$variant did not report at exit: $(cat "$run.server.log")"

    requests="$(field "$result" requests)"
    failed=$(($(field "$result" non2xx) + $(field "$result" connect_errors) + $(field "$result" read_errors) + $(field "$result" write_errors) + $(field "$result" timeouts)))
    cpu_us=$(((ticks_after - ticks_before) * 1000000 / ticks_per_second))
    printf '%s %s %s %s %s %s %s %s %s %s %s %s %s\n' "$round" "$variant" "$scenario" "$(field "$result" rps)" \
      "$(field "$result" p50_us)" "$(field "$result" p99_us)" "$requests" "$failed" \
      "$idle_kb" "$peak_kb" "$processed" "$((requests + warm_requests))" "$cpu_us" >>"$results"
    log "round $round, $variant/$scenario: $(field "$result" rps) req/s, p99 $(field "$result" p99_us) us, $failed failed of $requests"

    if [ "$requests" -le 0 ] || [ $((failed * 100)) -gt "$requests" ]; then
      log "FAIL $variant/$scenario: $failed of $requests requests failed (non-2xx or socket errors)"
      failures=$((failures + 1))
    fi
  done
done
done

# --- the report -----------------------------------------------------------------------------
echo
echo "## Load comparison ($mode), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $pinning"
echo "- wrk: 1 thread, $connections connections, ${duration} s per run after ${warmup} s warm-up, $rounds round(s); server: $(basename "$(dirname "$(dirname "$server_bin")")") build"
echo "- load after the run: $(uptime | sed 's/.*load average/load average/')"
echo
awk '
  function ms(us) { return sprintf("%.2f", us / 1000) }
  function mb(kb) { return sprintf("%.1f", kb / 1024) }
  # Fields: round variant scenario rps p50 p99 requests failed idle_kb peak_kb processed sent
  # cpu_us (the CPU time of the server during the measured run).
  {
    k = $2 " " $3
    if (!(k in count)) { keys[++n] = k }
    count[k]++; row[k, count[k]] = $0
    if (!(k in lo) || $4 < lo[k]) lo[k] = $4
    if (!(k in hi) || $4 > hi[k]) hi[k] = $4
  }
  # The median round of a key by req/s (the lower middle one when the count is even).
  function median_row(k,   i, j, c, t, f, g) {
    c = count[k]
    for (i = 1; i <= c; i++) sorted[i] = row[k, i]
    for (i = 2; i <= c; i++) {
      t = sorted[i]; split(t, f, " ")
      for (j = i - 1; j >= 1; j--) { split(sorted[j], g, " "); if (g[4] + 0 <= f[4] + 0) break; sorted[j + 1] = sorted[j] }
      sorted[j + 1] = t
    }
    return sorted[int((c + 1) / 2)]
  }
  BEGIN {
    print "| variant | scenario | req/s (median round) | req/s over the rounds | p50 ms | p99 ms | server CPU µs / request | failed / requests | idle RSS MB | peak RSS MB | processed / sent |"
    print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  }
  END {
    for (i = 1; i <= n; i++) {
      k = keys[i]; split(median_row(k), f, " ")
      printf "| %s | %s | %.0f | %.0f to %.0f | %s | %s | %.1f | %d / %d | %s | %s | %d / %d (%.0f %%) |\n",
        f[2], f[3], f[4], lo[k], hi[k], ms(f[5]), ms(f[6]), (f[7] > 0 ? f[13] / f[7] : 0), f[8], f[7], mb(f[9]), mb(f[10]), f[11], f[12],
        (f[12] > 0 ? 100 * f[11] / f[12] : 0)
    }
  }' "$results"
echo
echo "\"failed\" counts non-2xx answers and socket errors; \"processed / sent\" compares the events"
echo "the app code saw (bare: requests; hand-written: new ids; ours: callback runs or extracted"
echo "events) with the requests sent, warm-up included: below 100 % in dup20 is the dedup at work."
echo
awk '
  # Fields: round variant scenario rps p50 p99 requests failed idle peak processed sent cpu_us
  {
    k = $1 "/" $2 "/" $3
    rps[k] = $4; p99[k] = $6; cpu[k] = ($7 > 0 ? $13 / $7 : 0)
    bad[$2 "/" $3] = bad[$2 "/" $3] || ($7 <= 0 || $8 * 100 > $7)
    if (!($1 in seen_round)) { seen_round[$1] = 1; rounds[++nr] = $1 }
    if (!($3 in order)) { order[$3] = ++n; name[n] = $3 }
  }
  function median(values, c,   i, j, t) {
    for (i = 2; i <= c; i++) {
      t = values[i]
      for (j = i - 1; j >= 1 && values[j] > t; j--) values[j + 1] = values[j]
      values[j + 1] = t
    }
    return values[int((c + 1) / 2)]
  }
  # The median over the rounds of ours/base within a round, for req/s and for p99.
  function ratio(ours, base, scenario, target_rps, target_p99,   i, a, b, c, r, q, u, rs, qs, us, verdict) {
    c = 0
    for (i = 1; i <= nr; i++) {
      a = rounds[i] "/" ours "/" scenario; b = rounds[i] "/" base "/" scenario
      if (!(a in rps) || !(b in rps) || rps[b] <= 0 || p99[b] <= 0 || cpu[b] <= 0) continue
      c++; rs[c] = rps[a] / rps[b]; qs[c] = p99[a] / p99[b]; us[c] = cpu[a] / cpu[b]
    }
    if (c == 0) return
    r = median(rs, c); q = median(qs, c); u = median(us, c)
    verdict = (r >= target_rps ? "met" : "missed")
    if (target_p99 > 0) verdict = verdict ", p99 " (q <= target_p99 ? "met" : "missed")
    if (bad[ours "/" scenario] || bad[base "/" scenario]) verdict = "not comparable: over 1 % of the requests of a run failed"
    printf "| %s / %s | %s | %.2f | %.2f | %.2f | >= %.2f%s | %s |\n", ours, base, scenario, r, q, u, target_rps,
      (target_p99 > 0 ? sprintf(", p99 <= %.2f", target_p99) : ""), verdict
  }
  END {
    print "| ratio (median over the rounds) | scenario | throughput | p99 | server CPU per request | target | verdict |"
    print "|---|---|---:|---:|---:|---|---|"
    for (i = 1; i <= n; i++) {
      s = name[i]
      ratio("axum-layer", "axum-bare", s, 0.85, 1.5)
      ratio("axum-layer", "axum-handwritten", s, 1.5, 0)
      ratio("actix-extractor", "actix-bare", s, 0.85, 1.5)
      ratio("actix-extractor", "actix-handwritten", s, 1.5, 0)
      ratio("actix-route", "actix-bare", s, 0.85, 1.5)
      ratio("actix-route", "actix-handwritten", s, 1.5, 0)
    }
  }' "$results"
echo
if [ "$mode" = smoke ]; then
  echo "Smoke run: a debug build for a few seconds on a shared machine; these are no measurements."
  echo
fi

log "done in $((SECONDS - started_at)) s"
if [ "$mode" = smoke ]; then
  if [ "$failures" -gt 0 ]; then
    log "smoke: $failures check(s) failed"
    exit 1
  fi
  log "smoke: every variant answered 2xx to nearly all requests; the receivers refuse a wrong token"
fi
