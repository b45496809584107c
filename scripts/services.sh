#!/usr/bin/env bash
# Starts PostgreSQL and Redis on their default loopback ports when they are not already
# answering, and a 3-master Redis Cluster (scripts/redis-cluster.sh); the cluster and
# PostgreSQL tests need them. Installs them from Debian if missing.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! listening 5432; then
  command -v pg_ctlcluster >/dev/null || { as_root apt-get update -q; as_root apt-get install -y -q postgresql; }
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
for _ in $(seq 50); do listening 5432 && break; sleep 0.2; done
if command -v psql >/dev/null && ! psql -h 127.0.0.1 -U postgres -lqt 2>/dev/null | cut -d'|' -f1 | grep -qw test; then
  as_root su postgres -c "createdb test" 2>/dev/null || true
fi

if ! listening 6379; then
  command -v redis-server >/dev/null || { as_root apt-get update -q; as_root apt-get install -y -q redis-server; }
  mkdir -p /tmp/colachat-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp/colachat-redis
fi
for _ in $(seq 50); do listening 6379 && break; sleep 0.2; done

# A 3-master Redis Cluster on 127.0.0.1:7101-7103, for the tests that run on one.
"$(dirname "$0")/redis-cluster.sh" start
