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

# TODO(lead): start the celeriac worker and drive it from Python Celery, e.g.
#   node dist/cli/main.js worker -A examples/tasks.js &  (stop it on EXIT too)
#   wait for its ready line, then send tasks from Python (/usr/bin/python3, Celery 5.2) with
#   app.send_task("tasks.add", (2, 3)).get(timeout=10) and print the results.
echo "demo: TODO — the celeriac worker part is not written yet"
