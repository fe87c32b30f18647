#!/usr/bin/env bash
# npm run demo: a celeriac worker next to Python Celery on a local Redis (127.0.0.1:6379).
# Uses the Redis already answering on 6379 if there is one; otherwise starts a private one
# (data dir .tmp/redis-demo) and stops it again at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/ensure-deps.sh

REDIS_PORT=6379
REDIS_DIR=.tmp/redis-demo
if [ "$(bash scripts/private-redis.sh start "$REDIS_PORT" "$REDIS_DIR")" = started ]; then
  echo "demo: started a private redis-server on 127.0.0.1:$REDIS_PORT ($REDIS_DIR)"
  trap 'bash scripts/private-redis.sh stop "$REDIS_PORT" "$REDIS_DIR"' EXIT
else
  echo "demo: using the Redis already answering on 127.0.0.1:$REDIS_PORT"
fi

npm run build --silent

LOG=.tmp/demo-worker.log
mkdir -p .tmp
node dist/cli/main.js worker -A examples/tasks.js -n demo@%h >"$LOG" 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null; [ -f "$REDIS_DIR/redis.pid" ] && bash scripts/private-redis.sh stop "$REDIS_PORT" "$REDIS_DIR"' EXIT
for _ in $(seq 100); do grep -q "ready." "$LOG" && break; sleep 0.1; done
grep -q "ready." "$LOG" || { echo "demo: the celeriac worker did not start:"; cat "$LOG"; exit 1; }
echo "demo: celeriac worker started (log: $LOG)"

interop-tests/.venv/bin/python examples/send_from_python.py
/usr/bin/python3 examples/send_from_python.py

echo
echo "demo: the worker's log:"
cat "$LOG"
