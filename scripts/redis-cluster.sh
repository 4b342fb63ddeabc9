#!/usr/bin/env bash
# A throw-away three-node Redis Cluster on loopback for the tests (nothing kept beyond DIR).
#
#   scripts/redis-cluster.sh start DIR   starts three masters on free ports (cluster bus at
#                                        port + 10000), creates the cluster (no replicas),
#                                        waits for cluster_state:ok, and prints the nodes as
#                                        127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3 on stdout
#   scripts/redis-cluster.sh stop DIR    stops the nodes started in DIR and removes DIR
#
# scripts/test.sh uses it to set REDIS_CLUSTER_NODES when the Redis tests run.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
command="$1"
dir="$2"
log() { printf 'redis-cluster: %s\n' "$*" >&2; }

# Whether something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "$command" in
  start)
    mkdir -p "$dir"
    # Ports below the kernel's ephemeral range (32768 and up on Linux), bus ports too, so
    # that no outgoing connection holds one; a node that does not come up is started again
    # on another port.
    ports=()
    attempts=0
    while [ "${#ports[@]}" -lt 3 ]; do
      attempts=$((attempts + 1))
      [ "$attempts" -le 20 ] || { log "could not start three nodes"; exit 1; }
      port=$((12000 + RANDOM % 10000))
      if listening "$port" || listening $((port + 10000)) || [[ " ${ports[*]} " == *" $port "* ]]; then
        continue
      fi
      mkdir -p "$dir/$port"
      redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$dir/$port/nodes.conf" --cluster-node-timeout 2000 \
        --dir "$dir/$port" --save "" --appendonly no \
        --daemonize yes --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log" || true
      up=
      for _ in $(seq 1 40); do
        if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then up=1; break; fi
        sleep 0.05
      done
      if [ -n "$up" ]; then
        ports+=("$port")
      else
        log "node on $port did not come up ($(tail -n 1 "$dir/$port/redis.log" 2>/dev/null)); trying another port"
        [ -f "$dir/$port/redis.pid" ] && kill "$(cat "$dir/$port/redis.pid")" 2>/dev/null || true
        rm -rf "${dir:?}/$port"
      fi
    done
    nodes=()
    for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
      { log "redis-cli --cluster create failed: $(cat "$dir/create.log")"; exit 1; }
    for port in "${ports[@]}"; do
      ok=
      for _ in $(seq 1 200); do
        if redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then ok=1; break; fi
        sleep 0.05
      done
      [ -n "$ok" ] || { log "node $port never reached cluster_state:ok"; exit 1; }
    done
    log "three-node cluster up on ${ports[*]}"
    (IFS=,; echo "${nodes[*]}")
    ;;
  stop)
    [ -d "$dir" ] || exit 0
    for pidfile in "$dir"/*/redis.pid; do
      [ -f "$pidfile" ] || continue
      kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 0.2
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
