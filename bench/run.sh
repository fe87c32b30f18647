#!/usr/bin/env bash
# npm run bench: install what is missing, build, run the side-by-side benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npm run build --silent
node bench/run.js
