#!/usr/bin/env bash
# A Redis Cluster on loopback, without persistence, for tests: 3 masters, and a replica each
# when REDIS_CLUSTER_REPLICAS=1 (then give six ports).
#
#   scripts/redis-cluster.sh start   starts what is not running, creates the cluster if it has
#                                    no slots yet, waits for cluster_state:ok (idempotent)
#   scripts/redis-cluster.sh kill [PORT...]
#                                    SIGKILLs its servers (or those on PORT), as a crash;
#                                    `start` brings them back empty, into the same cluster
#                                    (nodes.conf is kept)
#   scripts/redis-cluster.sh stop    ends its servers and removes their directory
#
# REDIS_CLUSTER_PORTS (default "7101 7102 7103") picks the ports (each port + 10000 is its
# cluster bus); REDIS_CLUSTER_DIR (default /tmp/colachat-redis-cluster-<first port>) holds
# nodes.conf, pid and log files. The seed URL is redis-cluster://127.0.0.1:7101,... .
set -euo pipefail

read -r -a ports <<<"${REDIS_CLUSTER_PORTS:-7101 7102 7103}"
dir="${REDIS_CLUSTER_DIR:-/tmp/colachat-redis-cluster-${ports[0]}}"
server="${REDIS_SERVER_BIN:-redis-server}"
cli="${REDIS_CLI_BIN:-redis-cli}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
ask() { "$cli" -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }
answers() { [ "$(ask "$1" ping)" = PONG ]; }
field() { ask "$1" cluster info | tr -d '\r' | sed -n "s/^$2://p"; }

start() {
  command -v "$server" >/dev/null || { as_root apt-get update -q; as_root apt-get install -y -q redis-server; }
  mkdir -p "$dir"
  for p in "${ports[@]}"; do
    answers "$p" && continue
    "$server" --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$dir/nodes-$p.conf" --cluster-node-timeout 3000 \
      --save '' --appendonly no --dir "$dir" \
      --daemonize yes --pidfile "$dir/redis-$p.pid" --logfile "$dir/redis-$p.log"
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 100); do answers "$p" && break; sleep 0.1; done
    answers "$p" || { echo "redis-cluster: 127.0.0.1:$p does not answer; see $dir/redis-$p.log" >&2; exit 1; }
  done
  if [ "$(field "${ports[0]}" cluster_slots_assigned)" = 0 ]; then
    local addrs=()
    for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
    "$cli" --cluster create "${addrs[@]}" --cluster-replicas "${REDIS_CLUSTER_REPLICAS:-0}" --cluster-yes >"$dir/create.log" 2>&1 ||
      { cat "$dir/create.log" >&2; exit 1; }
  fi
  for p in "${ports[@]}"; do
    for _ in $(seq 300); do [ "$(field "$p" cluster_state)" = ok ] && break; sleep 0.1; done
    [ "$(field "$p" cluster_state)" = ok ] ||
      { echo "redis-cluster: 127.0.0.1:$p is not cluster_state:ok after 30 s" >&2; exit 1; }
  done
  # A replica can only take over once it has synchronized with its master.
  for p in "${ports[@]}"; do
    replication() { ask "$p" info replication | tr -d '\r'; }
    replication | grep -q '^role:slave' || continue
    for _ in $(seq 300); do replication | grep -q '^master_link_status:up' && break; sleep 0.1; done
    replication | grep -q '^master_link_status:up' ||
      { echo "redis-cluster: replica 127.0.0.1:$p not in sync with its master after 30 s" >&2; exit 1; }
  done
}

# running PID: the process exists and is not a zombie (its parent may reap it late).
running() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)" && [ -n "$st" ] && [ "${st:0:1}" != Z ]; }

# Sends the signal to each server of this cluster by its pid file, and waits for it to end.
signal() {
  local sig="$1"
  shift
  for p in "$@"; do
    local pidfile="$dir/redis-$p.pid"
    [ -f "$pidfile" ] || continue
    local pid
    pid="$(cat "$pidfile")"
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 100); do running "$pid" || break; sleep 0.05; done
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  start) start ;;
  kill) shift; if [ $# -gt 0 ]; then signal KILL "$@"; else signal KILL "${ports[@]}"; fi ;;
  stop) signal KILL "${ports[@]}"; rm -rf "$dir" ;; # nothing to save: no persistence
  *) echo "usage: $0 start|kill|stop" >&2; exit 2 ;;
esac
