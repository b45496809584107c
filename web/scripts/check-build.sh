#!/usr/bin/env bash
# Rebuilds the UI from a clean install into a scratch directory and fails when the result
# differs from the committed internal/web/dist (which `go build` embeds). CI runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
committed=../internal/web/dist
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

npm ci --no-audit --no-fund >/dev/null
COLACHAT_WEB_OUTDIR="$scratch/dist" npm run --silent build >/dev/null

if ! diff -r "$scratch/dist" "$committed" >"$scratch/diff.txt"; then
  echo "internal/web/dist is stale: run 'npm ci && npm run build' in web/ and commit the result." >&2
  head -n 40 "$scratch/diff.txt" >&2
  exit 1
fi
echo "internal/web/dist matches a fresh build of web/."
