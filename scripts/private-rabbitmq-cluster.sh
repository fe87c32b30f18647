#!/usr/bin/env bash
# A private, throw-away three-node RabbitMQ cluster on 127.0.0.1 (for the HA tests).
#
#   private-rabbitmq-cluster.sh start PORT DIR       nodes on AMQP ports PORT, PORT+1, PORT+2 (each
#                                                    a scripts/private-rabbitmq.sh node: Erlang
#                                                    distribution on its port + 20000), one shared
#                                                    epmd on PORT+20007, one cookie; the second and
#                                                    third join the first (rabbitmqctl join_cluster);
#                                                    prints "started" once all three run as one
#   private-rabbitmq-cluster.sh stop PORT DIR        stops the three nodes and the epmd
#   private-rabbitmq-cluster.sh node-stop PORT DIR I stops node I (0, 1, 2) alone
#   private-rabbitmq-cluster.sh node-start PORT DIR I starts it again (it rejoins the cluster)
#   private-rabbitmq-cluster.sh ctl PORT DIR I ARGS  rabbitmqctl on node I
set -euo pipefail

usage="usage: private-rabbitmq-cluster.sh start|stop|node-stop|node-start|ctl PORT DIR [I] [ARGS...]"
cmd=${1:?$usage}
port=${2:?$usage}
dir=${3:?$usage}
shift 3
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
node_script="$(dirname "${BASH_SOURCE[0]}")/private-rabbitmq.sh"

export PRIVATE_RABBITMQ_EPMD_PORT=$((port + 20007))
[ -f "$dir/cookie" ] || (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/cookie")
PRIVATE_RABBITMQ_COOKIE=$(cat "$dir/cookie")
export PRIVATE_RABBITMQ_COOKIE

node() { bash "$node_script" "$1" $((port + $2)) "$dir/node-$2" "${@:3}"; }

start() {
  local pids=() i
  for i in 0 1 2; do node start "$i" >"$dir/start-$i.out" 2>&1 & pids+=($!); done
  for i in 0 1 2; do
    wait "${pids[$i]}" || { cat "$dir/start-$i.out" >&2; return 1; }
  done
  local first
  first=$(node node 0)
  for i in 1 2; do
    if node ctl "$i" -q cluster_status --formatter json 2>/dev/null | grep -q "$first"; then continue; fi
    node ctl "$i" -q stop_app
    node ctl "$i" -q join_cluster "$first" >"$dir/join-$i.out" 2>&1 || { cat "$dir/join-$i.out" >&2; return 1; }
    node ctl "$i" -q start_app
  done
  node ctl 0 -q await_online_nodes 3 --timeout 60 >/dev/null 2>&1 || true
  echo started
}

stop() {
  local i
  for i in 0 1 2; do node stop "$i" || true; done
  ERL_EPMD_PORT=$PRIVATE_RABBITMQ_EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1 epmd -kill >/dev/null 2>&1 || true
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  node-stop) node stop "${1:?$usage}" ;;
  node-start) node start "${1:?$usage}" ;;
  ctl) i=${1:?$usage}; shift; node ctl "$i" "$@" ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
