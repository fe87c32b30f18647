#!/usr/bin/env bash
# A private, throw-away RabbitMQ node on 127.0.0.1 for the tests and the demo.
#
#   private-rabbitmq.sh start PORT DIR   prints "reused" if our node for PORT already runs (or
#                                        something else answers AMQP on PORT: it is left alone),
#                                        else starts a detached node, waits for it and prints
#                                        "started"
#   private-rabbitmq.sh stop PORT DIR    stops the node (and its private epmd) that `start` began
#   private-rabbitmq.sh reset PORT DIR   stop, delete DIR's broker data, start again
#   private-rabbitmq.sh ctl PORT DIR ARGS...   rabbitmqctl -n <node> ARGS (same cookie/epmd)
#   private-rabbitmq.sh node PORT DIR    prints the node name
#
# With PRIVATE_RABBITMQ_TLS_PORT set, `start` also opens a TLS listener (AMQPS) on
# 127.0.0.1:PRIVATE_RABBITMQ_TLS_PORT that requires a client certificate; the certificates are made
# at start in DIR/tls (scripts/make-test-certs.sh: ca.pem, server.*, client.*, wrong-ca.pem).
#
# Node `celeriac-test-<PORT>@localhost`, AMQP on 127.0.0.1:PORT, Erlang distribution on
# 127.0.0.1:PORT+20000, its own epmd on 127.0.0.1:PORT+10000 (never the shared 4369 one, so `stop`
# can end it without touching other nodes). Mnesia, logs, the Erlang cookie (HOME) and an empty
# rabbitmq-env.conf / enabled_plugins live under DIR; /etc/rabbitmq and /var/lib/rabbitmq are not
# used. Runs as the calling user through /usr/lib/rabbitmq/bin (the /usr/sbin wrappers would
# su to the rabbitmq user). guest/guest works because clients connect over loopback.
#
# Cluster members (scripts/private-rabbitmq-cluster.sh) share one epmd and one Erlang cookie:
# PRIVATE_RABBITMQ_EPMD_PORT replaces the node's own epmd port (`stop` then leaves that epmd
# running), PRIVATE_RABBITMQ_COOKIE is written as the node's cookie.
set -euo pipefail

usage="usage: private-rabbitmq.sh start|stop|reset|ctl|node PORT DIR [ARGS...]"
cmd=${1:?$usage}
port=${2:?$usage}
dir=${3:?$usage}
shift 3

RMQ_BIN=/usr/lib/rabbitmq/bin
node="celeriac-test-${port}@localhost"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

export HOME="$dir"
export RABBITMQ_NODENAME="$node"
export RABBITMQ_USE_LONGNAME=false
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$port"
export RABBITMQ_DIST_PORT=$((port + 20000))
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=${PRIVATE_RABBITMQ_EPMD_PORT:-$((port + 10000))}
export RABBITMQ_MNESIA_BASE="$dir/mnesia"
export RABBITMQ_LOG_BASE="$dir/log"
export ERL_CRASH_DUMP="$dir/erl_crash.dump"                # never in the working directory
export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"            # -> $dir/rabbitmq.conf
export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
# The distribution listens on loopback only.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

ctl() { "$RMQ_BIN/rabbitmqctl" -n "$node" "$@"; }
running() { ctl -q status >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  if running; then echo reused; return 0; fi
  if port_open; then echo reused; return 0; fi # someone else's broker: leave it alone
  [ -x "$RMQ_BIN/rabbitmq-server" ] || { echo "rabbitmq-server not found: run bash scripts/ensure-deps.sh" >&2; return 1; }
  mkdir -p "$dir/log" "$dir/mnesia"
  : >"$dir/rabbitmq-env.conf"
  printf '%s\n' \
    "listeners.tcp.default = 127.0.0.1:$port" \
    "loopback_users.guest = true" \
    "log.console = false" \
    "log.file.level = warning" >"$dir/rabbitmq.conf"
  if [ -n "${PRIVATE_RABBITMQ_TLS_PORT:-}" ]; then
    bash "$(dirname "${BASH_SOURCE[0]}")/make-test-certs.sh" "$dir/tls"
    printf '%s\n' \
      "listeners.ssl.default = 127.0.0.1:$PRIVATE_RABBITMQ_TLS_PORT" \
      "ssl_options.cacertfile = $dir/tls/ca.pem" \
      "ssl_options.certfile = $dir/tls/server.pem" \
      "ssl_options.keyfile = $dir/tls/server.key" \
      "ssl_options.verify = verify_peer" \
      "ssl_options.fail_if_no_peer_cert = true" >>"$dir/rabbitmq.conf"
  fi
  [ -f "$dir/enabled_plugins" ] || echo '[].' >"$dir/enabled_plugins"
  if [ -n "${PRIVATE_RABBITMQ_COOKIE:-}" ]; then
    rm -f "$dir/.erlang.cookie"
    (umask 077 && printf '%s' "$PRIVATE_RABBITMQ_COOKIE" >"$dir/.erlang.cookie")
  elif [ ! -f "$dir/.erlang.cookie" ]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/.erlang.cookie")
  fi
  chmod 400 "$dir/.erlang.cookie"
  rm -f "$RABBITMQ_PID_FILE"
  # epmd of our own (daemon) on a private port bound to loopback (ERL_EPMD_ADDRESS/PORT).
  epmd -daemon
  setsid "$RMQ_BIN/rabbitmq-server" >"$dir/log/startup.log" 2>&1 </dev/null &
  echo $! >"$dir/server.pid"
  for _ in $(seq 120); do
    if ctl -q await_startup --timeout 1 >/dev/null 2>&1; then echo started; return 0; fi
    if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "RabbitMQ node $node on 127.0.0.1:$port did not start; $dir/log/startup.log:" >&2
  tail -n 30 "$dir/log/startup.log" >&2 || true
  return 1
}

stop() {
  [ -f "$dir/server.pid" ] || return 0
  if running; then ctl -q stop >/dev/null 2>&1 || true; fi
  local pid
  pid=$(cat "$dir/server.pid")
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; fi
  rm -f "$dir/server.pid"
  # the epmd on our private port (no other node uses it), unless a cluster shares it
  [ -n "${PRIVATE_RABBITMQ_EPMD_PORT:-}" ] || epmd -kill >/dev/null 2>&1 || true
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  reset)
    stop
    rm -rf "$dir/mnesia" "$dir/log"
    start
    ;;
  ctl) ctl "$@" ;;
  node) echo "$node" ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
