#!/usr/bin/env bash
# Installs what the test suites need on a fresh machine: the Node packages of test/ (and web/)
# and Debian's Chromium for the browser tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  else
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  fi
fi

(cd test && npm ci --no-audit --no-fund)
if [ -f web/package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund)
fi
