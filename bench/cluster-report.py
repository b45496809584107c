#!/usr/bin/env python3
"""Summarises a bench/run-cluster.sh result directory as Markdown tables.

Usage: cluster-report.py DIR
       cluster-report.py --fanout DIR...   (runs of one node with Redis and different room sizes)

Per configuration (tag in DIR/configs) it reads the two bench summaries (<tag>.join.json,
<tag>.msg.json), the snapshots taken around them (<tag>.{join,msg}.{before,after}) and, when
present, pg_waldump output for the two runs. The cost of a message is (message run - join-only
run) / messages stored in the message run: both runs make the same joins and leaves.
"""
import json
import os
import re
import statistics
import sys

TICK = 100.0  # /proc/<pid>/stat clock ticks a second (USER_HZ)
# Commands that are not the chat's work: the snapshots' own INFO, connection set-up by clients.
NOT_CHAT = ("info", "hello", "ping", "select")


def chat_command(k):
    return k.islower() and not k.startswith(("total", "used", "instant", "client|", "command|")) and k not in NOT_CHAT


def snapshot(path):
    s = {"redis": {}, "nodecpu": {}}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "time":
            s["time"] = float(f[1])
        elif f[0] == "redis":
            key, _, val = f[1].partition(":")
            if key.startswith("cmdstat_"):
                calls = int(re.search(r"calls=(\d+)", val).group(1))
                s["redis"][key[len("cmdstat_"):]] = calls
            else:
                s["redis"][key] = float(val)
        elif f[0] == "pg":
            lsn, rows, msgs, total, heap, rc, dbsize, oid = f[1:9]
            hi, lo = lsn.split("/")
            s["pg"] = dict(lsn=(int(hi, 16) << 32) + int(lo, 16), rows=int(rows), msgs=int(msgs),
                           total=int(total), heap=int(heap), room_chatters=int(rc),
                           dbsize=int(dbsize), oid=oid)
        elif f[0] == "nodecpu":
            s["nodecpu"][f[1]] = int(f[2])
        elif f[0] == "rediscpu":
            s["rediscpu"] = int(f[1])
        elif f[0] == "sockstat":
            kv = f[2:]
            s["sockstat"] = {kv[i]: int(kv[i + 1]) for i in range(0, len(kv) - 1, 2)}
        elif f[0] in ("xact", "slab") and len(f) > 1:
            s[f[0]] = int(f[1])
        elif f[0] == "loadavg":
            s["loadavg"] = " ".join(f[1:4])
    return s


def diff(a, b):
    """Counters of snapshot b minus a."""
    cmds = set(a["redis"]) | set(b["redis"])
    return {
        "seconds": b["time"] - a["time"],
        "redis": {k: b["redis"].get(k, 0) - a["redis"].get(k, 0) for k in cmds},
        "wal": b["pg"]["lsn"] - a["pg"]["lsn"],
        "rows": b["pg"]["rows"] - a["pg"]["rows"],
        "msgs": b["pg"]["msgs"] - a["pg"]["msgs"],
        "room_chatters": b["pg"]["room_chatters"] - a["pg"]["room_chatters"],
        "rediscpu": (b["rediscpu"] - a["rediscpu"]) / TICK,
        "xact": b["xact"] - a["xact"] if "xact" in a and "xact" in b else None,
    }


RECORD = re.compile(r"len \(rec/tot\):\s*(\d+)/\s*(\d+), tx:\s*(\d+)")


def waldump_bytes(path, oid):
    """WAL bytes of records touching database oid, plus the commit records of their
    transactions; returns (total, of which full-page images)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    mine_tx, per_tx, total, fpi = set(), {}, 0, 0
    needle = "/%s/" % oid
    for line in open(path, errors="replace"):
        m = RECORD.search(line)
        if not m:
            continue
        rec, tot, tx = int(m.group(1)), int(m.group(2)), m.group(3)
        if "blkref" in line:
            if needle in line:
                total += tot
                fpi += tot - rec
                mine_tx.add(tx)
        elif tx != "0":
            per_tx[tx] = per_tx.get(tx, 0) + tot
    total += sum(v for tx, v in per_tx.items() if tx in mine_tx)
    return total, fpi


def load(d, tag):
    r = {}
    for ph in ("join", "msg"):
        r[ph] = json.load(open(os.path.join(d, "%s.%s.json" % (tag, ph))))
        b = snapshot(os.path.join(d, "%s.%s.before" % (tag, ph)))
        a = snapshot(os.path.join(d, "%s.%s.after" % (tag, ph)))
        r[ph + "_d"] = diff(b, a)
        r[ph + "_before"], r[ph + "_after"] = b, a
        r[ph + "_wal_db"] = waldump_bytes(os.path.join(d, "%s.%s.waldump" % (tag, ph)), b["pg"]["oid"])
    return r


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec="%.1f"):
    return "–" if x is None else spec % x


def main(d):
    print(open(os.path.join(d, "machine")).read().rstrip().replace("\n", "  \n"))
    print()
    runs = []
    for line in open(os.path.join(d, "configs")):
        tag, n, broker = line.split()
        r = load(d, tag)
        r.update(tag=tag, n=int(n), broker=broker)
        runs.append(r)

    print("### Per run\n")
    print("| run | nodes | broker | load avg | acked | lost | deliveries | deliv p50 ms | deliv p99 ms | ack p50 ms | ack p99 ms "
          "| nodes' idle CPU ms/s | CPU µs / stored msg, raw | CPU µs / stored msg, net of idle (all nodes) | CPU µs / delivery, net | CPU µs / connect+join | Redis cmds / msg | Redis cmds / join+leave "
          "| WAL B / msg | WAL B / msg (this db) |")
    print("|" + "---|" * 20)
    for r in runs:
        m, j, md, jd = r["msg"], r["join"], r["msg_d"], r["join_d"]
        msgs = md["msgs"] or None
        joins = j["joined"] or None
        r["msgs"] = msgs
        # per message: message run minus join-only run; SET is left out (node heartbeats, 1/s per node)
        per_cmd = {k: md["redis"].get(k, 0) - jd["redis"].get(k, 0) for k in md["redis"] if chat_command(k)}
        r["per_cmd_msg"] = {k: v / msgs for k, v in per_cmd.items() if msgs and v and k != "set"}
        r["per_cmd_join"] = {k: v / joins for k, v in jd["redis"].items() if joins and v and chat_command(k) and k != "set"}
        r["cmds_msg"] = sum(r["per_cmd_msg"].values()) if msgs and r["broker"] == "redis" else None
        r["cmds_join"] = sum(r["per_cmd_join"].values()) if joins and r["broker"] == "redis" else None
        r["wal_msg"] = (md["wal"] - jd["wal"]) / msgs if msgs else None
        if r["msg_wal_db"] and r["join_wal_db"] and msgs:
            r["wal_db_msg"] = (r["msg_wal_db"][0] - r["join_wal_db"][0]) / msgs
            r["wal_db_fpi_msg"] = (r["msg_wal_db"][1] - r["join_wal_db"][1]) / msgs
        else:
            r["wal_db_msg"] = r["wal_db_fpi_msg"] = None
        r["wal_db_join"] = r["join_wal_db"][0] / joins if r["join_wal_db"] and joins else None
        r["net_out_msg"] = (md["redis"].get("total_net_output_bytes", 0) - jd["redis"].get("total_net_output_bytes", 0)) / msgs if msgs else None
        r["net_in_msg"] = (md["redis"].get("total_net_input_bytes", 0) - jd["redis"].get("total_net_input_bytes", 0)) / msgs if msgs else None
        r["redis_cpu_msg"] = (md["rediscpu"] - jd["rediscpu"]) / msgs * 1e6 if msgs else None
        r["redis_cpu_join"] = jd["rediscpu"] / joins * 1e6 if joins else None
        sv = m["server"]
        r["cpu_msg_raw"] = sv.get("cpu_us_per_message")
        # minus what the idle nodes burn anyway (heartbeats, GC, pools) over the measured seconds
        b0 = snapshot(os.path.join(d, r["tag"] + ".base.before"))
        b1 = snapshot(os.path.join(d, r["tag"] + ".base.after"))
        r["idle_cpu"] = sum(b1["nodecpu"][p] - b0["nodecpu"][p] for p in b1["nodecpu"]) / TICK / (b1["time"] - b0["time"])
        cpu_net = sv.get("cpu_message_seconds", 0) - r["idle_cpu"] * m.get("measured_seconds", 0)
        r["cpu_msg"] = cpu_net / m["acks_ok"] * 1e6 if m["acks_ok"] else None
        r["cpu_deliv"] = cpu_net / m["deliveries_received"] * 1e6 if m["deliveries_received"] else None
        r["cpu_join"] = med([j["server"].get("cpu_us_per_connect_join"), sv.get("cpu_us_per_connect_join")])
        r["p50"], r["p99"] = m["delivery_latency"]["p50_ms"], m["delivery_latency"]["p99_ms"]
        r["a50"], r["a99"] = m["ack_latency"]["p50_ms"], m["ack_latency"]["p99_ms"]
        print("| %s | %d | %s | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["tag"], r["n"], r["broker"], r["msg_before"].get("loadavg", "?"), m["acks_ok"], m["deliveries_lost"],
            m["deliveries_received"], fmt(r["p50"], "%.2f"), fmt(r["p99"], "%.2f"), fmt(r["a50"], "%.2f"), fmt(r["a99"], "%.2f"),
            fmt(r["idle_cpu"] * 1e3), fmt(r["cpu_msg_raw"]), fmt(r["cpu_msg"]), fmt(r["cpu_deliv"]), fmt(r["cpu_join"], "%.0f"), fmt(r["cmds_msg"], "%.2f"),
            fmt(r["cmds_join"], "%.2f"), fmt(r["wal_msg"], "%.0f"), fmt(r["wal_db_msg"], "%.0f")))

    # Medians per configuration.
    groups = {}
    for r in runs:
        groups.setdefault((r["broker"], r["n"]), []).append(r)
    order = sorted(groups, key=lambda k: (k[0] != "local", k[1]))
    base = groups.get(("redis", 1))
    base_cpu = med([r["cpu_msg"] for r in base]) if base else None
    base_p50 = med([r["p50"] for r in base]) if base else None
    base_p99 = med([r["p99"] for r in base]) if base else None
    print("\n### Medians per configuration\n")
    print("| config | runs | deliv p50 ms | deliv p99 ms | Δp50 vs 1 node | Δp99 vs 1 node | CPU µs / stored msg | × 1 node "
          "| CPU µs / delivery | u_bus µs (extra CPU per node per event) | Redis CPU µs / msg | Redis out B / msg | Redis cmds / msg | Redis cmds / join+leave | Redis CPU µs / join+leave |")
    print("|" + "---|" * 15)
    for key in order:
        g = groups[key]
        broker, n = key
        p50, p99, cpu = med([r["p50"] for r in g]), med([r["p99"] for r in g]), med([r["cpu_msg"] for r in g])
        ubus = None
        if broker == "redis" and n > 1 and base_cpu is not None:
            ubus = (cpu - base_cpu) / (n - 1)
        print("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            "%d node%s, %s" % (n, "s" if n > 1 else "", "Redis" if broker == "redis" else "in-process broker"), len(g),
            fmt(p50, "%.2f"), fmt(p99, "%.2f"),
            fmt(p50 - base_p50 if base_p50 is not None else None, "%+.2f"),
            fmt(p99 - base_p99 if base_p99 is not None else None, "%+.2f"),
            fmt(cpu), fmt(cpu / base_cpu if base_cpu else None, "%.2f"),
            fmt(med([r["cpu_deliv"] for r in g])), fmt(ubus),
            fmt(med([r["redis_cpu_msg"] for r in g]) if broker == "redis" else None),
            fmt(med([r["net_out_msg"] for r in g]) if broker == "redis" else None, "%.0f"),
            fmt(med([r["cmds_msg"] for r in g]), "%.2f"), fmt(med([r["cmds_join"] for r in g]), "%.2f"),
            fmt(med([r["redis_cpu_join"] for r in g]) if broker == "redis" else None)))

    print("\n### Redis commands per message and per join+leave (medians; SET heartbeats left out)\n")
    print("| config | per stored message | per join (with its leave) |")
    print("|---|---|---|")
    for key in order:
        if key[0] != "redis":
            continue
        g = groups[key]
        def per(field):
            names = sorted({k for r in g for k in r[field]})
            return ", ".join("%s %.2f" % (k.upper(), med([r[field].get(k, 0) for r in g])) for k in names
                             if med([r[field].get(k, 0) for r in g]) >= 0.005)
        print("| %d node%s | %s | %s |" % (key[1], "s" if key[1] > 1 else "", per("per_cmd_msg"), per("per_cmd_join")))

    last = snapshot(os.path.join(d, runs[-1]["tag"] + ".msg.after"))["pg"]
    print("\n### PostgreSQL\n")
    print("- WAL per stored message (whole server, message run minus join-only run, median): %s B"
          % fmt(med([r["wal_msg"] for r in runs]), "%.0f"))
    print("- WAL per stored message, this database only (pg_waldump: records of its relations and their commits): %s B, of which full-page images %s B"
          % (fmt(med([r["wal_db_msg"] for r in runs]), "%.0f"), fmt(med([r["wal_db_fpi_msg"] for r in runs]), "%.0f")))
    tx = [(r["msg_d"]["xact"] - r["join_d"]["xact"]) / r["msgs"] for r in runs
          if r["msgs"] and r["msg_d"]["xact"] is not None and r["join_d"]["xact"] is not None]
    if tx:
        print("- committed transactions per stored message in this database (group commit; message run minus join-only run, median): %.3f"
              % med(tx))
    print("- WAL per join+leave, this database only (join-only run ÷ joins; includes its join and leave alert rows, the room_chatters row, the chatter row and the room): %s B"
          % fmt(med([r["wal_db_join"] for r in runs]), "%.0f"))
    print("- messages table at the end: %d rows (%d messages, %d alerts), heap %d B, with indexes and TOAST %d B: %.0f B per row (heap %.0f B)"
          % (last["rows"], last["msgs"], last["rows"] - last["msgs"], last["heap"], last["total"],
             last["total"] / max(last["rows"], 1), last["heap"] / max(last["rows"], 1)))

    idle_path = os.path.join(d, "idle")
    if os.path.exists(idle_path) and os.path.getsize(idle_path):
        print("\n### Idle connections (each joined to a room; rooms split over the nodes)\n")
        print("| clients | nodes | connected | joined | RSS baseline MB (sum) | RSS idle MB (sum) | RSS KB / connection | CPU µs / connect+join "
              "| idle CPU µs/s per connection | kernel TCP buffer memory KB / connection (both ends, loopback) | kernel slab KB / connection (both ends; machine-wide, noisy) |")
        print("|" + "---|" * 11)
        rows = []
        for line in open(idle_path):
            tag, n, clients = line.split()
            j = json.load(open(os.path.join(d, tag + ".json")))
            s0, s1 = snapshot(os.path.join(d, tag + ".hold.start")), snapshot(os.path.join(d, tag + ".hold.end"))
            b = snapshot(os.path.join(d, tag + ".before"))
            ticks = sum(s1["nodecpu"][p] - s0["nodecpu"][p] for p in s1["nodecpu"])
            secs = s1["time"] - s0["time"]
            conns = j["connected"] or 1
            idle_us = ticks / TICK / secs / conns * 1e6
            kmem = (s0["sockstat"].get("mem", 0) - b["sockstat"].get("mem", 0)) * 4096 / 1024 / conns
            slab = (s0["slab"] - b["slab"]) / conns if "slab" in s0 and "slab" in b else None
            sv = j["server"]
            print("| %s | %s | %d | %d | %.1f | %.1f | %.1f | %.0f | %.2f | %.2f | %s |" % (
                clients, n, j["connected"], j["joined"], sv["rss_baseline_kb"] / 1024, sv["rss_idle_kb"] / 1024,
                sv["rss_kb_per_connection"], sv["cpu_us_per_connect_join"], idle_us, kmem, fmt(slab)))
            rows.append((j["connected"], sv["rss_idle_kb"], ticks / TICK / secs))
        for (c0, rss0, cpu0), (c1, rss1, cpu1) in zip(rows, rows[1:]):
            if c1 > c0:
                print("\nMarginal, between %d and %d connections: %.1f KB RSS and %.2f µs/s CPU per connection."
                      % (c0, c1, (rss1 - rss0) / (c1 - c0), (cpu1 - cpu0) / (c1 - c0) * 1e6))


def one_node_cpu(d):
    """Capacity and the median CPU µs per stored message (net of idle) of a directory's runs
    on one node with Redis."""
    cpus, cap = [], None
    for line in open(os.path.join(d, "configs")):
        tag, n, broker = line.split()
        if n != "1" or broker != "redis":
            continue
        m = json.load(open(os.path.join(d, tag + ".msg.json")))
        b0 = snapshot(os.path.join(d, tag + ".base.before"))
        b1 = snapshot(os.path.join(d, tag + ".base.after"))
        idle = sum(b1["nodecpu"][p] - b0["nodecpu"][p] for p in b1["nodecpu"]) / TICK / (b1["time"] - b0["time"])
        net = m["server"]["cpu_message_seconds"] - idle * m["measured_seconds"]
        cpus.append(net / m["acks_ok"] * 1e6)
        cap = m["capacity"]
    return cap, med(cpus)


def fanout(dirs):
    """Fits CPU per stored message = u_in + a * u_out over rooms of a members (the sender is
    one of the a recipients), one node with Redis, the same message rate in."""
    pts = [one_node_cpu(d) for d in dirs]
    pts = [(a, c) for a, c in pts if a and c is not None]
    print("### CPU per message against room size (one node, Redis)\n")
    print("| members per room (deliveries per message) | CPU µs per stored message, net of idle |")
    print("|---|---|")
    for a, c in pts:
        print("| %d | %.1f |" % (a, c))
    if len(pts) >= 2:
        n = len(pts)
        ma, mc = sum(a for a, _ in pts) / n, sum(c for _, c in pts) / n
        slope = sum((a - ma) * (c - mc) for a, c in pts) / sum((a - ma) ** 2 for a, _ in pts)
        print("\nLeast-squares fit: u_in = %.0f µs per message taken in (decode, validate, commit, publish, ack), "
              "u_out = %.0f µs per delivery." % (mc - slope * ma, slope))


if __name__ == "__main__":
    if sys.argv[1] == "--fanout":
        fanout(sys.argv[2:])
    else:
        main(sys.argv[1])
