#!/usr/bin/env bash
# npm run bench: install what is missing (the bench's own peers, BullMQ, from bench/package-lock.json
# into bench/node_modules), build, run the side-by-side benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if [ ! -f bench/node_modules/.package-lock.json ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
  echo "bench: npm ci --prefix bench"
  npm ci --prefix bench --no-audit --no-fund --loglevel=error
fi
npm run build --silent
node bench/run.js
