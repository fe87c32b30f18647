#!/usr/bin/env bash
# A private, throw-away redis-server on 127.0.0.1 for the tests and the demo.
#
#   private-redis.sh start PORT DIR   prints "reused" if something already answers PING on PORT
#                                     (it is left alone), else starts redis-server daemonized
#                                     with DIR as data dir, waits for PING and prints "started"
#   private-redis.sh stop PORT DIR    stops the redis-server whose pid is in DIR/redis.pid
#
# No persistence (--save '' --appendonly no) unless PRIVATE_REDIS_APPENDONLY=yes (AOF in DIR, kept
# across stop/start: what the chaos soak restarts); log in DIR/redis.log.
set -euo pipefail

cmd=${1:?usage: private-redis.sh start|stop PORT DIR}
port=${2:?usage: private-redis.sh start|stop PORT DIR}
dir=${3:?usage: private-redis.sh start|stop PORT DIR}
pidfile="$dir/redis.pid"

ping() { [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }

case "$cmd" in
  start)
    if ping; then echo reused; exit 0; fi
    command -v redis-server >/dev/null || { echo "redis-server not found: run bash scripts/ensure-deps.sh" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    pidfile="$dir/redis.pid"
    rm -f "$pidfile"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly "${PRIVATE_REDIS_APPENDONLY:-no}" \
      --daemonize yes --pidfile "$pidfile" --logfile "$dir/redis.log"
    for _ in $(seq 100); do
      if ping; then echo started; exit 0; fi
      sleep 0.1
    done
    echo "redis-server on 127.0.0.1:$port did not answer PING within 10s; $dir/redis.log:" >&2
    tail -n 20 "$dir/redis.log" >&2 || true
    exit 1
    ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    # only a redis-server (a stale pidfile's pid may belong to something else by now)
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ] || exit 0
    kill "$pid" 2>/dev/null || exit 0
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || exit 0
      sleep 0.1
    done
    echo "redis-server pid $pid (port $port) did not stop within 10s" >&2
    exit 1
    ;;
  *)
    echo "usage: private-redis.sh start|stop PORT DIR" >&2
    exit 2
    ;;
esac
