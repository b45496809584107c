#!/usr/bin/env bash
# Installs what the test suites need on a fresh machine: the Node packages of test/ (and web/)
# and Debian's Chromium for the browser tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium for the browser tests; Korean and emoji fonts so its screenshots show text.
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
dpkg -s fonts-nanum >/dev/null 2>&1 || packages+=(fonts-nanum fonts-noto-color-emoji)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${packages[@]}"
fi

(cd test && npm ci --no-audit --no-fund)
if [ -f web/package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund)
fi
