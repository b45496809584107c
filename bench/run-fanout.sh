#!/usr/bin/env bash
# Fan-out by room on a 3-node cluster (PostgreSQL + Redis): the same chat load twice, with
# each room's members all on one node ("colocated": rooms alternate over the nodes) and with
# each room's members spread over the three ("spread"). Per node it reports CPU per delivered
# event, the events it received from Redis and how many of those were for rooms it does not
# host (the goal: none); for the cluster, Redis commands per stored message.
#
# Usage: bench/run-fanout.sh
# Environment (defaults in brackets):
#   ROOMS [300] CAPACITY [4] RATE [0.5] DURATION [20s]   the message load
#   MODES ["colocated spread"] REPEAT [2]
#   REDIS_URL   an existing Redis (redis:// or redis-cluster://) to use instead of starting one
#   PGURL [postgres://postgres@127.0.0.1:5432]   a database bench_<random> is created and dropped
#   OUT         results folder (default: a new temp dir); BIN: a colachat binary to use
# Needs: go, redis-server, redis-cli, psql, curl, python3. Stops only what it started.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
rooms=${ROOMS:-300}
capacity=${CAPACITY:-4}
rate=${RATE:-0.5}
duration=${DURATION:-20s}
modes=${MODES:-colocated spread}
repeat=${REPEAT:-2}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
out=${OUT:-$(mktemp -d /tmp/colachat-fanout.XXXXXX)}
mkdir -p "$out"

ulimit -n "$(ulimit -Hn)"
bin=$(mktemp -d /tmp/colachat-fanout-bin.XXXXXX)
if [ -n "${BIN:-}" ]; then cp "$BIN" "$bin/colachat"; else (cd "$repo" && go build -o "$bin/colachat" ./cmd/colachat); fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

db=bench_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
ticket_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
redis_pid=""
node_pids=()
node_urls=()

stop_nodes() {
	local p
	for p in "${node_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	node_pids=()
	node_urls=()
}
cleanup() {
	stop_nodes
	if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
	psql "$pgurl/postgres?sslmode=disable" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$bin"
}
trap cleanup EXIT

if [ -n "${REDIS_URL:-}" ]; then
	redis_url=$REDIS_URL
	redis_ports=$(echo "$redis_url" | sed -E 's#^[a-z-]+://##; s#/.*##' | tr ',' '\n' | sed 's/.*://')
else
	port=$(free_port)
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$out/redis.log" 2>&1 &
	redis_pid=$!
	for _ in $(seq 50); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
	redis_url="redis://127.0.0.1:$port/0"
	redis_ports=$port
fi
psql "$pgurl/postgres?sslmode=disable" -qAtc "CREATE DATABASE $db" >/dev/null
dburl="$pgurl/$db?sslmode=disable"

start_nodes() {
	local i port url
	for i in 1 2 3; do
		port=$(free_port)
		"$bin/colachat" serve --addr "127.0.0.1:$port" --database-url "$dburl" --redis-url "$redis_url" \
			--node-id "fanout-$i-$$-$RANDOM" --ticket-key "$ticket_key" \
			--ip-rate off --ip-message-rate off --ip-join-rate off --message-rate off --join-rate off \
			--log-level warn >>"$out/node-$i.log" 2>&1 &
		node_pids+=("$!")
		node_urls+=("http://127.0.0.1:$port")
	done
	for url in "${node_urls[@]}"; do
		for _ in $(seq 200); do
			curl -fsS "$url/readyz" >/dev/null 2>&1 && continue 2
			sleep 0.1
		done
		echo "node $url not ready" >&2; cat "$out"/node-*.log >&2; exit 1
	done
}

# snapshot FILE: per node CPU ticks and its counters; Redis commands (summed over servers).
snapshot() {
	local f=$1 i p
	{
		for i in "${!node_pids[@]}"; do
			p=${node_pids[$i]}
			echo "cpu $i $(awk '{print $14+$15}' "/proc/$p/stat")"
			curl -fsS "${node_urls[$i]}/metrics" | grep -E '^colachat_(broker_events_received_total|broker_events_not_hosted_total|stream_foreign_events_total|messages_out_total|messages_in_total) ' |
				sed "s/^/metric $i /"
		done
		for p in $redis_ports; do
			redis-cli -p "$p" INFO stats | tr -d '\r' | grep '^total_commands_processed:' | sed "s/^/redis $p /"
		done
		echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
	} >"$f"
}

urls() { local IFS=,; echo "${node_urls[*]}"; }
pids() { local IFS=,; echo "${node_pids[*]}"; }

{
	echo "date: $(date -u +%FT%TZ)"
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -m | awk '/^Mem:/ {print $2}') MB memory"
	echo "redis: $redis_url; uptime at start: $(uptime)"
	echo "load: rooms=$rooms capacity=$capacity rate=$rate duration=$duration modes=\"$modes\" repeat=$repeat"
} | tee "$out/machine"
: >"$out/runs"

for r in $(seq "$repeat"); do
	for mode in $modes; do
		tag="r$r-$mode"
		echo "== $tag" >&2
		start_nodes
		flag=""
		[ "$mode" = colocated ] && flag=-colocate
		snapshot "$out/$tag.before"
		"$bin/colachat" bench -urls "$(urls)" -server-pid "$(pids)" -rooms "$rooms" -capacity "$capacity" \
			-rate "$rate" -duration "$duration" $flag -json -quiet >"$out/$tag.json"
		snapshot "$out/$tag.after"
		echo "$tag $mode" >>"$out/runs"
		stop_nodes
	done
done
echo "uptime at end: $(uptime)" | tee -a "$out/machine"

python3 - "$out" <<'PY' | tee "$out/report.md"
import json, sys, collections
out = sys.argv[1]
def read(path):
    cpu, metric, redis = {}, collections.defaultdict(dict), 0
    for line in open(path):
        f = line.split()
        if f[0] == 'cpu': cpu[int(f[1])] = int(f[2])
        elif f[0] == 'metric': metric[int(f[1])][f[2]] = float(f[3])
        elif f[0] == 'redis': redis += int(f[2].split(':')[1])
    return cpu, metric, redis
hz = 100
print('| run | mode | messages stored | delivery p50 / p99 ms | node | CPU µs per delivered event | events from Redis | of rooms not hosted | Redis commands per message |')
print('|---|---|---|---|---|---|---|---|---|')
for line in open(f'{out}/runs'):
    tag, mode = line.split()
    s = json.load(open(f'{out}/{tag}.json'))
    c0, m0, r0 = read(f'{out}/{tag}.before')
    c1, m1, r1 = read(f'{out}/{tag}.after')
    stored = s.get('acks_ok', 0)
    lat = s.get('delivery_latency') or {}
    p50, p99 = lat.get('p50_ms', 0), lat.get('p99_ms', 0)
    for i in sorted(c1):
        d = lambda k: m1[i].get(k, 0) - m0[i].get(k, 0)
        out_events = d('colachat_messages_out_total')
        cpu_us = (c1[i] - c0[i]) / hz * 1e6
        per = cpu_us / out_events if out_events else float('nan')
        first = i == min(c1)
        print(f"| {tag if first else ''} | {mode if first else ''} | {stored if first else ''} | {f'{p50:.1f} / {p99:.1f}' if first else ''} | {i+1} | {per:.1f} | {d('colachat_broker_events_received_total'):.0f} | {d('colachat_broker_events_not_hosted_total') + d('colachat_stream_foreign_events_total'):.0f} | {f'{(r1 - r0) / stored:.2f}' if first and stored else ''} |")
PY
echo "results: $out" >&2
