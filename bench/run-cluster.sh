#!/usr/bin/env bash
# Measures what a message pays when a room's members sit on different nodes of a colachat
# cluster (PostgreSQL + Redis): the same load against 1, 2 and 3 nodes in one session, each
# room's members alternating over the nodes. Per configuration it reports delivery latency,
# server CPU summed over the nodes, Redis commands and bytes, PostgreSQL WAL and disk bytes, per
# message and per join. Then an idle run gives RSS and CPU per joined connection on cluster nodes.
#
# Usage: bench/run-cluster.sh
# Environment (defaults in brackets):
#   ROOMS [250] CAPACITY [4] RATE [0.5] DURATION [20s]   the message load
#   CONFIGS ["local 1 2 3"]   node counts to run; "local" is one node with the in-process broker
#                             (PostgreSQL, no Redis): the cost of going through Redis at all
#   REPEAT [2]                the whole sequence of CONFIGS is run this many times, interleaved
#   BASE [10]                 seconds the fresh nodes' own CPU is read with no client connected
#   IDLE_NODES [2] IDLE_CLIENTS ["2000 8000"] IDLE_HOLD [40s]   the idle-connections runs; "" skips
#   PGURL [postgres://postgres@127.0.0.1:5432]   a PostgreSQL server; a database bench_<random>
#                             is created on it and dropped at the end
#   OUT                       where results go (default: a new temp dir)
#   BIN                       a colachat binary to use instead of building the checkout
# Needs: go, redis-server, redis-cli, psql, python3; pg_waldump and read access to the server's
# pg_wal for the per-database WAL split (skipped otherwise).
#
# Every configuration runs twice against fresh nodes: a join-only run (connect, join, leave) and
# the message run (connect, join, send, leave). Redis commands, Redis CPU and WAL are read before
# and after each; the message run minus the join-only run, divided by the messages stored, is the
# cost of a message; the join-only run divided by its joins is the cost of a join and its leave.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
rooms=${ROOMS:-250}
capacity=${CAPACITY:-4}
rate=${RATE:-0.5}
duration=${DURATION:-20s}
configs=${CONFIGS:-local 1 2 3}
repeat=${REPEAT:-2}
base=${BASE:-10}
idle_nodes=${IDLE_NODES:-2}
idle_clients=${IDLE_CLIENTS-2000 8000}
idle_hold=${IDLE_HOLD:-40s}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
out=${OUT:-$(mktemp -d /tmp/colachat-cluster.XXXXXX)}
mkdir -p "$out"

ulimit -n "$(ulimit -Hn)"
bin=$(mktemp -d /tmp/colachat-cluster-bin.XXXXXX)
if [ -n "${BIN:-}" ]; then cp "$BIN" "$bin/colachat"; else (cd "$repo" && go build -o "$bin/colachat" ./cmd/colachat); fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

db=bench_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
ticket_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
redis_port=$(free_port)
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

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
	>"$out/redis.log" 2>&1 &
redis_pid=$!
rcli() { redis-cli -p "$redis_port" "$@"; }
for _ in $(seq 50); do rcli PING >/dev/null 2>&1 && break; sleep 0.1; done
psql "$pgurl/postgres?sslmode=disable" -qAtc "CREATE DATABASE $db" >/dev/null
dburl="$pgurl/$db?sslmode=disable"
pq() { psql "$dburl" -qAtc "$1"; }

# start_nodes N [local]: N fresh nodes on free ports; with "local", no Redis (in-process broker).
start_nodes() {
	local n=$1 mode=${2:-} i port url redis_flags=()
	[ "$mode" = local ] || redis_flags=(--redis-url "redis://127.0.0.1:$redis_port/0")
	for i in $(seq "$n"); do
		port=$(free_port)
		"$bin/colachat" serve --addr "127.0.0.1:$port" --database-url "$dburl" "${redis_flags[@]}" \
			--node-id "bench-$i-$$-$RANDOM" --ticket-key "$ticket_key" \
			--ip-rate off --ip-message-rate off --ip-join-rate off --message-rate off --join-rate off --log-level warn >>"$out/node-$i.log" 2>&1 &
		node_pids+=("$!")
		node_urls+=("http://127.0.0.1:$port")
	done
	for url in "${node_urls[@]}"; do
		for i in $(seq 200); do
			curl -fsS "$url/readyz" >/dev/null 2>&1 && continue 2
			sleep 0.1
		done
		echo "node $url not ready" >&2; cat "$out"/node-*.log >&2; exit 1
	done
}

# snapshot FILE: Redis counters, WAL position, messages table, node and Redis CPU ticks.
snapshot() {
	local f=$1 p
	{
		echo "time $(date +%s.%N)"
		rcli INFO commandstats | tr -d '\r' | grep '^cmdstat_' | sed 's/^/redis /'
		rcli INFO stats | tr -d '\r' | grep -E '^(total_commands_processed|total_net_input_bytes|total_net_output_bytes|instantaneous_ops_per_sec):' | sed 's/^/redis /'
		rcli INFO cpu | tr -d '\r' | grep -E '^used_cpu_(sys|user):' | sed 's/^/redis /'
		echo "pg $(pq "SELECT pg_current_wal_lsn(), (SELECT count(*) FROM messages), (SELECT count(*) FROM messages WHERE type = 'MESSAGE'), pg_total_relation_size('messages'), pg_relation_size('messages'), (SELECT count(*) FROM room_chatters), pg_database_size(current_database()), (SELECT oid FROM pg_database WHERE datname = current_database())" | tr '|' ' ')"
		for p in "${node_pids[@]}"; do echo "nodecpu $p $(awk '{print $14+$15}' "/proc/$p/stat")"; done
		echo "rediscpu $(awk '{print $14+$15}' "/proc/$redis_pid/stat")"
		echo "sockstat $(grep '^TCP:' /proc/net/sockstat)"
		echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "xact $(pq "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")"
		echo "slab $(awk '$1 == "Slab:" {print $2}' /proc/meminfo)"
	} >"$f"
}

# The server's WAL records, to count this database's share; needs read access to its pg_wal.
waldir=$(pq "SHOW data_directory" 2>/dev/null || true)/pg_wal
waldump=$(command -v pg_waldump || ls /usr/lib/postgresql/*/bin/pg_waldump 2>/dev/null | tail -1 || true)
# dump_wal TAG PHASE: the records between the two snapshots of a run, read at once (the server
# recycles old segments within minutes).
dump_wal() {
	local s e
	[ -n "$waldump" ] && [ -r "$waldir" ] || return 0
	s=$(awk '$1 == "pg" {print $2}' "$out/$1.$2.before")
	e=$(awk '$1 == "pg" {print $2}' "$out/$1.$2.after")
	"$waldump" -p "$waldir" -s "$s" -e "$e" 2>/dev/null >"$out/$1.$2.waldump" || true
}

urls() { local IFS=,; echo "${node_urls[*]}"; }
pids() { local IFS=,; echo "${node_pids[*]}"; }

# one_config TAG N [local]
one_config() {
	local tag=$1 n=$2 mode=${3:-}
	echo "== $tag: $n node(s)${mode:+ ($mode broker)}, $rooms rooms x $capacity, $rate msg/s per client, $duration" >&2
	start_nodes "$n" "$mode"
	sleep 2
	snapshot "$out/$tag.base.before" # the nodes' own CPU with no client, subtracted from the message phase
	sleep "$base"
	snapshot "$out/$tag.base.after"
	snapshot "$out/$tag.join.before"
	"$bin/colachat" bench -urls "$(urls)" -server-pid "$(pids)" -rooms "$rooms" -capacity "$capacity" \
		-rate 0 -settle 1s -json -quiet >"$out/$tag.join.json"
	sleep 3 # leave grace (1 s) and the leave alerts that follow it
	snapshot "$out/$tag.join.after"
	dump_wal "$tag" join
	snapshot "$out/$tag.msg.before"
	"$bin/colachat" bench -urls "$(urls)" -server-pid "$(pids)" -rooms "$rooms" -capacity "$capacity" \
		-rate "$rate" -duration "$duration" -json -quiet >"$out/$tag.msg.json"
	sleep 3
	snapshot "$out/$tag.msg.after"
	dump_wal "$tag" msg
	echo "$tag $n ${mode:-redis}" >>"$out/configs"
	stop_nodes
}

# idle_run TAG N CLIENTS: connect and join, hold; node CPU is sampled over 25 s of the hold.
idle_run() {
	local tag=$1 n=$2 clients=$3 bpid got
	echo "== $tag: idle, $clients clients over $n node(s), hold $idle_hold" >&2
	start_nodes "$n"
	snapshot "$out/$tag.before"
	"$bin/colachat" bench -urls "$(urls)" -server-pid "$(pids)" -rooms $((clients / capacity)) -capacity "$capacity" \
		-rate 0 -hold "$idle_hold" -json -quiet >"$out/$tag.json" &
	bpid=$!
	for _ in $(seq 600); do # until every client holds an established connection
		got=0
		for url in "${node_urls[@]}"; do
			got=$((got + $(ss -Htn state established "( sport = :${url##*:} )" | wc -l)))
		done
		[ "$got" -ge "$clients" ] && break
		sleep 0.5
	done
	sleep 5
	snapshot "$out/$tag.hold.start"
	sleep 25
	snapshot "$out/$tag.hold.end"
	wait "$bpid"
	echo "$tag $n $clients" >>"$out/idle"
	stop_nodes
}

{
	echo "date: $(date -u +%FT%TZ)"
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -m | awk '/^Mem:/ {print $2}') MB memory"
	echo "kernel: $(uname -r); go: $(go version | cut -d' ' -f3); redis: $(redis-server --version | grep -o 'v=[^ ]*'); $(psql "$dburl" -qAtc 'SHOW server_version' | sed 's/^/postgres /')"
	echo "uptime at start: $(uptime)"
	echo "load: rooms=$rooms capacity=$capacity rate=$rate duration=$duration configs=\"$configs\" repeat=$repeat base=${base}s"
} | tee "$out/machine"
: >"$out/configs"
: >"$out/idle"

for r in $(seq "$repeat"); do
	for c in $configs; do
		if [ "$c" = local ]; then one_config "r$r-local" 1 local; else one_config "r$r-n$c" "$c"; fi
	done
done
for k in $idle_clients; do idle_run "idle-$k" "$idle_nodes" "$k"; done
echo "uptime at end: $(uptime)" | tee -a "$out/machine"

python3 "$here/cluster-report.py" "$out" | tee "$out/report.md"
echo "results: $out" >&2
