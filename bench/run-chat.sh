#!/usr/bin/env bash
# Loads a colachat server through its public protocol with `colachat bench` and reports what the
# server spends: CPU per stored message and per connect+join, RSS per idle connection.
#
# Usage: bench/run-chat.sh [messages|idle]
#   messages (default)  ROOMS x CAPACITY clients send RATE msg/s each for DURATION
#   idle                for each of IDLE_CLIENTS (2000 10000 19000): connect, join, hold HOLD, read RSS
# Environment:
#   URL=http://127.0.0.1:PORT   bench an already running server instead (give its PID in SERVER_PID)
#   ROOMS=125 CAPACITY=16 RATE=1 DURATION=10s HOLD=10s IDLE_CLIENTS="2000 10000 19000"
#   SOURCES=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4  source addresses (ephemeral ports per address run out near 28k)
#   SERVE_FLAGS="..."           extra flags for `colachat serve`
#   OUT=<dir>                   where JSON summaries go (default: a new temp dir)
# The server is started with per-IP and per-connection limits off: every simulated client comes
# from the same few loopback addresses, which the defaults rightly treat as one abusive visitor.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
mode=${1:-messages}
rooms=${ROOMS:-125}
capacity=${CAPACITY:-16}
rate=${RATE:-1}
duration=${DURATION:-10s}
hold=${HOLD:-10s}
idle_clients=${IDLE_CLIENTS:-2000 10000 19000}
sources=${SOURCES:-127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4}
out=${OUT:-$(mktemp -d /tmp/colachat-chatbench.XXXXXX)}
mkdir -p "$out"

ulimit -n "$(ulimit -Hn)"
bin=$(mktemp -d /tmp/colachat-chatbench-bin.XXXXXX)
(cd "$repo" && go build -o "$bin/colachat" ./cmd/colachat)

server_pid=""
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$bin"
}
trap cleanup EXIT

# start_server: a fresh colachat on a free port with a fresh SQLite file; sets url and server_pid.
start_server() {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000)))
	rm -f "$out/colachat.db"*
	# shellcheck disable=SC2086
	"$bin/colachat" serve -addr "127.0.0.1:$port" -database-url "sqlite://$out/colachat.db" \
		-ip-rate off -ip-message-rate off -ip-join-rate off -message-rate off -join-rate off -log-level warn ${SERVE_FLAGS:-} >"$out/server.log" 2>&1 &
	server_pid=$!
	url="http://127.0.0.1:$port"
	for _ in $(seq 100); do
		if curl -fsS "$url/healthz" >/dev/null 2>&1; then return; fi
		sleep 0.1
	done
	echo "colachat did not start:" >&2; cat "$out/server.log" >&2; exit 1
}

stop_server() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	server_pid=""
}

bench() { "$bin/colachat" bench -url "$url" -source-addrs "$sources" -server-pid "$pid" "$@"; }

case $mode in
messages)
	if [ -n "${URL:-}" ]; then url=$URL; pid=${SERVER_PID:?SERVER_PID is needed with URL}; else start_server; pid=$server_pid; fi
	bench -rooms "$rooms" -capacity "$capacity" -rate "$rate" -duration "$duration" | tee "$out/messages.txt"
	;;
idle)
	for n in $idle_clients; do
		echo "== idle, $n clients" >&2
		if [ -n "${URL:-}" ]; then url=$URL; pid=${SERVER_PID:?SERVER_PID is needed with URL}; else start_server; pid=$server_pid; fi
		bench -rooms $(( n / capacity )) -capacity "$capacity" -rate 0 -hold "$hold" -json >"$out/idle-$n.json"
		jq -r --arg n "$n" '"\($n) clients: \(.connected) connected, \(.joined) joined, RSS \(.server.rss_idle_kb) KB, \(.server.rss_kb_per_connection | .*10 | round / 10) KB per connection, \(.server.cpu_us_per_connect_join | round) µs CPU per connect+join"' "$out/idle-$n.json"
		[ -n "${URL:-}" ] || stop_server
	done
	;;
*)
	echo "usage: $0 [messages|idle]" >&2; exit 2 ;;
esac
echo "results: $out" >&2
