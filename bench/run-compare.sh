#!/usr/bin/env bash
# colachat beside the original stack: the same `colachat bench` command against the Node + MariaDB
# re-creation of the original backend (shared/peer-node) and against a fresh `colachat serve` on
# SQLite (synchronous=FULL, the default), one after the other; reports server CPU per stored
# message and per connect+join for both and their ratio, delivery latency, loss, and how busy
# the machine was.
#
# Usage: bench/run-compare.sh [scenario...]        (default: moderate joins)
#   moderate  250 rooms of 4, 0.5 msg/s per person (500 msg/s in)                original, colachat
#   joins     250 rooms of 4, no messages: connect+join alone                      original, colachat
#   busy2k    1,000 rooms of 4, 0.5 msg/s per person (2,000 msg/s in)              colachat
#   busy10k   1,000 rooms of 4, 2.5 msg/s per person (10,000 msg/s in)             colachat
#   busy      busy2k and busy10k
#   hotroom   one room of 10, 100 msg/s each (1,000 msg/s into one room)          colachat
#   bigroom   one room of 1,000 joining at 100/s, 20 members at 1 msg/s (20,000 deliveries/s)  colachat
#   all       every scenario above
# Environment:
#   TARGETS="original colachat"  run every scenario on these servers instead of its default ones
#   REPEAT=1          rounds; each round runs every scenario once, the original first
#   DURATION=20s      message phase of every scenario
#   BENCH_FLAGS=...   extra `colachat bench` flags (the same for both servers)
#   SERVE_FLAGS=...   extra `colachat serve` flags
#   COLACHAT_BIN=...  a built colachat to serve and bench with (default: build this checkout)
#   PEER_DIR=/work/shared/peer-node   the original's re-creation; copied, never written
#   OUT=<dir>         where results go: one JSON per run and report.md (default: a new /tmp dir, kept)
#
# The original runs in a MariaDB database of its own (colachat_cmp_<pid>), dropped at the end;
# its CPU is the node process plus mariadbd. The script stops only what it started (node,
# colachat, and mariadbd only if it was not running before) and removes its scratch directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
peer_src=${PEER_DIR:-/work/shared/peer-node}
duration=${DURATION:-20s}
repeat=${REPEAT:-1}
out=${OUT:-$(mktemp -d /tmp/colachat-compare.XXXXXX)}
mkdir -p "$out"

# scenario NAME: sets bench_args and default_targets; fails on an unknown name.
scenario() {
	case $1 in
	moderate) bench_args="-rooms 250 -capacity 4 -rate 0.5 -duration $duration"; default_targets="original colachat" ;;
	joins) bench_args="-rooms 250 -capacity 4 -rate 0"; default_targets="original colachat" ;;
	busy2k) bench_args="-rooms 1000 -capacity 4 -rate 0.5 -duration $duration"; default_targets="colachat" ;;
	busy10k) bench_args="-rooms 1000 -capacity 4 -rate 2.5 -duration $duration"; default_targets="colachat" ;;
	hotroom) bench_args="-rooms 1 -capacity 10 -rate 100 -duration $duration"; default_targets="colachat" ;;
	bigroom) bench_args="-rooms 1 -capacity 1000 -senders 20 -rate 1 -ramp 100 -duration $duration"; default_targets="colachat" ;;
	*) return 1 ;;
	esac
}

scenarios=()
for a in "${@:-moderate joins}"; do
	for s in $a; do
		case $s in
		-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		busy) scenarios+=(busy2k busy10k) ;;
		all) scenarios+=(moderate joins busy2k busy10k hotroom bigroom) ;;
		*) scenario "$s" || { echo "unknown scenario $s (try -h)" >&2; exit 2; }; scenarios+=("$s") ;;
		esac
	done
done
need_original=false
for s in "${scenarios[@]}"; do
	scenario "$s"
	case " ${TARGETS:-$default_targets} " in *" original "*) need_original=true ;; esac
done

ulimit -n "$(ulimit -Hn)"
scratch=$(mktemp -d /tmp/colachat-compare-scratch.XXXXXX)
db=colachat_cmp_$$
colachat_pid="" peer_pid="" mariadb_started=""
mariadb_before=$(pgrep -x mariadbd | head -1 || true)

stop_pid() { # stop_pid PID: SIGTERM, up to 15 s to exit, then SIGKILL
	local pid=$1
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
sql() { mariadb --protocol=socket -uroot -e "$1" >/dev/null 2>&1; }
cleanup() {
	[ -z "$colachat_pid" ] || stop_pid "$colachat_pid"
	[ -z "$peer_pid" ] || stop_pid "$peer_pid"
	if $need_original && pgrep -x mariadbd >/dev/null; then
		sql "DROP DATABASE IF EXISTS \`$db\`" || true
		for h in 127.0.0.1 localhost; do sql "REVOKE ALL PRIVILEGES ON \`$db\`.* FROM 'cola'@'$h'" || true; done
	fi
	if [ -n "$mariadb_started" ]; then stop_pid "$mariadb_started"; fi
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${COLACHAT_BIN:-}" ]; then
	bin=$COLACHAT_BIN
else
	bin=$scratch/colachat
	(cd "$repo" && go build -o "$bin" ./cmd/colachat)
fi
# Rooms above 100 need --max-capacity, on builds that have it.
serve_help=$("$bin" serve -h 2>&1 || true)
max_capacity=()
case $serve_help in *-max-capacity*) max_capacity=(--max-capacity 1000) ;; esac

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}
wait_http() { # wait_http URL PID SECONDS LOG
	local i
	for i in $(seq $(($3 * 10))); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "server did not come up at $1; its log:" >&2; tail -20 "$4" >&2; return 1
}

start_original() { # sets url, pids
	if [ ! -d "$scratch/peer" ]; then cp -r "$peer_src" "$scratch/peer"; fi
	local port log=$out/$tag.server.log
	port=$(free_port)
	PORT=$port PEER_RESET_DB=1 PEER_QUIET=1 DB_NAME=$db "$scratch/peer/start.sh" >"$log" 2>&1 &
	peer_pid=$! # start.sh execs node
	url=http://127.0.0.1:$port
	wait_http "$url/chat/rooms" "$peer_pid" 300 "$log"
	local mdb
	mdb=$(pgrep -x mariadbd | head -1)
	if [ -z "$mariadb_before" ] && [ -z "$mariadb_started" ]; then mariadb_started=$mdb; fi
	pids=$peer_pid,$mdb
}
start_colachat() { # sets url, pids
	local port log=$out/$tag.server.log
	port=$(free_port)
	rm -f "$scratch"/colachat.db*
	# shellcheck disable=SC2086
	"$bin" serve --addr "127.0.0.1:$port" --database-url "sqlite://$scratch/colachat.db" \
		--rate-limit-exempt 127.0.0.0/8 --message-rate off --join-rate off --log-level warn \
		"${max_capacity[@]}" ${SERVE_FLAGS:-} >"$log" 2>&1 &
	colachat_pid=$!
	url=http://127.0.0.1:$port
	wait_http "$url/healthz" "$colachat_pid" 30 "$log"
	pids=$colachat_pid
}
stop_servers() {
	[ -z "$colachat_pid" ] || stop_pid "$colachat_pid"
	[ -z "$peer_pid" ] || stop_pid "$peer_pid"
	colachat_pid="" peer_pid=""
}

# CPU ticks (USER_HZ): of processes; of the whole machine (busy, total); of this shell's waited-for
# children (the load generator).
proc_ticks() { local t=0 p; for p in ${1//,/ }; do t=$((t + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat"))); done; echo "$t"; }
machine_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
children_ticks() { awk '{sub(/.*\) /, ""); print $14 + $15}' "/proc/$$/stat"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

{
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GB RAM"
	echo "colachat: $bin ($(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?'))${max_capacity[*]:+, serve ${max_capacity[*]}}"
	echo "start: $(date -u +%FT%TZ), uptime: $(uptime)"
} | tee "$out/machine.txt"

hz=$(getconf CLK_TCK)
for round in $(seq "$repeat"); do
	for s in "${scenarios[@]}"; do
		scenario "$s"
		for target in ${TARGETS:-$default_targets}; do
			tag=$s-$target-$round
			echo "== $tag" >&2
			case $target in
			original) start_original ;;
			colachat) start_colachat ;;
			*) echo "unknown target $target" >&2; exit 2 ;;
			esac
			# The server idle for 3 s: mariadbd is shared with anyone else on this machine.
			idle0=$(proc_ticks "$pids"); sleep 3; idle1=$(proc_ticks "$pids")
			# shellcheck disable=SC2206
			args=(bench -url "$url" -server-pid "$pids" -json $bench_args ${BENCH_FLAGS:-})
			load_before=$(load1) up_before=$(uptime)
			read -r busy0 total0 < <(machine_ticks)
			srv0=$(proc_ticks "$pids") gen0=$(children_ticks) t0=$(date +%s.%N)
			rc=0
			timeout 900 "$bin" "${args[@]}" >"$out/$tag.bench.json" 2>"$out/$tag.bench.log" || rc=$?
			srv1=$(proc_ticks "$pids" 2>/dev/null || echo "$srv0") gen1=$(children_ticks) t1=$(date +%s.%N)
			read -r busy1 total1 < <(machine_ticks)
			load_after=$(load1) up_after=$(uptime)
			stop_servers
			# Cores in use during the run: the whole machine, the server, the load generator, the rest.
			jq -n --arg scenario "$s" --arg target "$target" --argjson round "$round" --argjson rc "$rc" --arg stderr_tail "$(tail -1 "$out/$tag.bench.log")" \
				--arg command "colachat ${args[*]}" --arg up_before "$up_before" --arg up_after "$up_after" \
				--argjson load_before "$load_before" --argjson load_after "$load_after" \
				--argjson wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')" --argjson hz "$hz" --argjson ncpu "$(nproc)" \
				--argjson busy $((busy1 - busy0)) --argjson total $((total1 - total0)) \
				--argjson srv $((srv1 - srv0)) --argjson gen $((gen1 - gen0)) --argjson idle $((idle1 - idle0)) \
				--slurpfile b "$out/$tag.bench.json" '
				($total / $ncpu / $hz) as $secs |
				{scenario: $scenario, target: $target, round: $round, exit: $rc, stderr_tail: $stderr_tail, command: $command,
				 uptime_before: $up_before, uptime_after: $up_after, load_before: $load_before, load_after: $load_after,
				 server_idle_cores: ($idle / $hz / 3), seconds: $wall, cores_machine: ($busy / $hz / $secs), cores_server: ($srv / $hz / $secs),
				 cores_bench: ($gen / $hz / $secs), cores_others: (($busy - $srv - $gen) / $hz / $secs),
				 bench: ($b[0] // null)}' >"$out/$tag.run.json" || echo "no result for $tag (bench exit $rc)" >&2
			if [ -s "$out/$tag.run.json" ]; then
				jq -r 'def n: (. // 0) * 10 | round / 10; if .bench == null then "   \(.target): no result (exit \(.exit)): \(.stderr_tail)" else
					"   \(.target): \(.bench.server.cpu_us_per_message | n) µs/msg, \(.bench.server.cpu_us_per_connect_join | n) µs/join, acked \(.bench.acks_ok)/\(.bench.messages_sent), delivery p99 \(.bench.delivery_latency.p99_ms | n) ms, lost \(.bench.deliveries_lost), load \(.load_before) → \(.load_after), others \(.cores_others * 100 | round / 100) cores" end' "$out/$tag.run.json" >&2 || true
			fi
		done
	done
done

# The report: every run, then per scenario the ratio original / colachat within each round.
{
	cat "$out/machine.txt"
	echo
	jq -rs -f /dev/stdin "$out"/*.run.json <<'JQ'
def r2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
def r1: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
def r0: if . == null or . == 0 then "-" else (round | tostring) end;
def ms: if . == null or . == 0 then "-" else (if . < 10 then (. * 10 | round / 10) else round end | tostring) end;
def x: if . == null then "-" else "\(. * 10 | round / 10)×" end;
def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def msg: .bench.server.cpu_us_per_message;
def join: .bench.server.cpu_us_per_connect_join;
. as $all | map(select(.bench != null)) | sort_by(.scenario, .round, .target) as $runs |
($all[] | select(.bench == null) | "no result: \(.scenario) on \(.target), round \(.round), exit \(.exit): \(.stderr_tail)"),
"commands (url and pids vary):", ($runs | unique_by(.scenario, .target)[] | "    \(.target): \(.command)"), "",
"| scenario | round | server | CPU µs / stored msg | CPU µs / connect+join | msg/s in | acked / sent | deliveries lost / expected (of acked) | delivery p50 / p99 ms | ack p99 ms | load before → after | cores: server / bench / others | server idle before, cores |",
"|---|---|---|---|---|---|---|---|---|---|---|---|---|",
($runs[] | .bench as $b |
 "| \(.scenario) | \(.round) | \(.target) | \(msg | r0) | \(join | r0) | \($b.throughput_in_per_second | r0) | \($b.acks_ok) / \($b.messages_sent) | \($b.deliveries_lost) / \($b.deliveries_expected) | \($b.delivery_latency.p50_ms | ms) / \($b.delivery_latency.p99_ms | ms) | \($b.ack_latency.p99_ms | ms) | \(.load_before) → \(.load_after) | \(.cores_server | r2) / \(.cores_bench | r2) / \(.cores_others | r2) | \(.server_idle_cores | r2) |"),
"",
"| scenario | round | CPU per stored msg: original / colachat | ratio | CPU per connect+join: original / colachat | ratio |",
"|---|---|---|---|---|---|",
([$runs | group_by(.scenario, .round)[] | select(length == 2 and .[0].target == "colachat" and .[1].target == "original")
  | {s: .[0].scenario, r: .[0].round, c: .[0], o: .[1]}
  | . + {rm: (if (.c | msg) > 0 and (.o | msg) > 0 then (.o | msg) / (.c | msg) else null end), rj: (if (.c | join) > 0 and (.o | join) > 0 then (.o | join) / (.c | join) else null end)}] as $pairs |
 ($pairs[] | "| \(.s) | \(.r) | \(.o | msg | r0) / \(.c | msg | r0) µs | \(.rm | x) | \(.o | join | r0) / \(.c | join | r0) µs | \(.rj | x) |"),
 ($pairs | group_by(.s)[] | select(length > 1) |
  "| \(.[0].s) | median of \(length) | \(map(.o | msg) | median | r0) / \(map(.c | msg) | median | r0) µs | \(map(.rm | select(. != null)) | median | x) | \(map(.o | join) | median | r0) / \(map(.c | join) | median | r0) µs | \(map(.rj | select(. != null)) | median | x) |"))
JQ
} >"$out/report.md"
cat "$out/report.md"
echo "end: $(date -u +%FT%TZ), uptime: $(uptime)" | tee -a "$out/machine.txt"
echo "results: $out" >&2
