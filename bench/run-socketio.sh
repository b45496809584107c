#!/usr/bin/env bash
# Side by side: Node's socket.io 4.8.1 (bench/node-echo) vs colachat's internal/socketio
# (bench/cmd/go-echo), same broadcast app, same Go load client (bench/cmd/sioload -protocol raw).
# For each client count it starts each server, connects the clients, holds them idle to measure
# RSS per connection, then runs a broadcast phase and measures server CPU per delivered message
# and delivery latency. Prints one table with the Node/Go ratios.
#
# Usage: bench/run-socketio.sh [clients ...]        (default: 2000 10000)
# Environment:
#   ROOM_SIZE=20            clients per room
#   DELIVERIES=20000        target deliveries per second (the rate per client follows from it)
#   DURATION=10s HOLD=5s    broadcast phase; idle time before the RSS sample
#   DRAIN=15s               wait for late deliveries before counting them lost
#   SOURCES=127.0.0.1       comma-separated source addresses for the load client
#   OUT=<dir>               where the JSON results go (default: a new temp dir)
#   SERVERS="node go"       which servers to run; "go-write" is go-echo without io_uring
#                           (one write(2) per delivery, the portable path)
#   GO_ECHO_FLAGS=...       extra go-echo flags, e.g. "-cpuprofile /tmp/go.cpu" or "-pprof 127.0.0.1:6060"
#   GO_ECHO_ENV=...         environment for go-echo only, e.g. "GOGC=50"
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(2000 10000)
room_size=${ROOM_SIZE:-20}
deliveries=${DELIVERIES:-20000}
duration=${DURATION:-10s}
hold=${HOLD:-5s}
sources=${SOURCES:-127.0.0.1}
servers=${SERVERS:-node go}
out=${OUT:-$(mktemp -d /tmp/colachat-bench.XXXXXX)}
mkdir -p "$out"

ulimit -n "$(ulimit -Hn)"
bin=$(mktemp -d /tmp/colachat-bench-bin.XXXXXX)
(cd "$repo" && go build -o "$bin/go-echo" ./bench/cmd/go-echo && go build -o "$bin/sioload" ./bench/cmd/sioload)

server_pid=""
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$bin"
}
trap cleanup EXIT

# start_server <name> <logfile>: sets server_pid and server_port.
start_server() {
	local name=$1 log=$2
	case $name in
	node) node "$here/node-echo/server.mjs" 0 >"$log" 2>&1 & ;;
	go) env ${GO_ECHO_ENV:-} "$bin/go-echo" -addr 127.0.0.1:0 ${GO_ECHO_FLAGS:-} >"$log" 2>&1 & ;;
	go-write) env ${GO_ECHO_ENV:-} "$bin/go-echo" -addr 127.0.0.1:0 -no-io-uring ${GO_ECHO_FLAGS:-} >"$log" 2>&1 & ;;
	*) echo "unknown server $name" >&2; exit 2 ;;
	esac
	server_pid=$!
	for _ in $(seq 100); do
		if grep -q '^listening ' "$log"; then
			server_port=$(awk '/^listening /{print $2; exit}' "$log")
			return
		fi
		sleep 0.1
	done
	echo "$name did not start:" >&2; cat "$log" >&2; exit 1
}

stop_server() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

for n in "${clients[@]}"; do
	rooms=$(( (n + room_size - 1) / room_size ))
	rate=$(awk -v d="$deliveries" -v n="$n" -v s="$room_size" 'BEGIN{printf "%.6f", d/(n*s)}')
	for s in $servers; do
		echo "== $s, $n clients ($rooms rooms of $room_size, $rate msg/s per client)" >&2
		start_server "$s" "$out/$s-$n.log"
		sleep 1 # let the server settle before its baseline RSS is read
		"$bin/sioload" -protocol raw -url "http://127.0.0.1:$server_port" -rooms "$rooms" -capacity "$room_size" \
			-rate "$rate" -duration "$duration" -hold "$hold" -drain "${DRAIN:-15s}" -source-addrs "$sources" \
			-server-pid "$server_pid" -json >"$out/$s-$n.json"
		stop_server
	done
done

node "$here/compare.mjs" "$out"/*.json
echo "results: $out" >&2
