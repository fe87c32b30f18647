#!/usr/bin/env bash
# A private, throw-away PostgreSQL server on 127.0.0.1 for the tests (the django-db result backend).
#
#   private-postgres.sh start PORT DIR   prints "reused" if a server already answers on PORT (left
#                                        alone), else initdb's DIR/data (first time), starts it and
#                                        prints "started"
#   private-postgres.sh stop PORT DIR    stops the server of DIR/data
#
# Superuser `celeriac`, password `celeriac-test` (scram over TCP; the socket in DIR is trust). No
# fsync. PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user
# (Debian's postgresql package creates it) and DIR/data is theirs. Log in DIR/postgres.log.
set -euo pipefail

cmd=${1:?usage: private-postgres.sh start|stop PORT DIR}
port=${2:?usage: private-postgres.sh start|stop PORT DIR}
dir=${3:?usage: private-postgres.sh start|stop PORT DIR}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$bin" ] && [ -x "$bin/pg_ctl" ] || { echo "PostgreSQL not found (/usr/lib/postgresql/*/bin): run bash scripts/ensure-deps.sh" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
ready() { "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" >/dev/null 2>&1; }

case "$cmd" in
  start)
    if ready; then echo reused; exit 0; fi
    if [ "$(id -u)" = 0 ]; then
      # the postgres user must reach DIR: its parents are only traversed, DIR is theirs
      chown postgres:postgres "$dir"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      pwfile="$dir/pw"
      printf 'celeriac-test\n' >"$pwfile"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$pwfile"
      as_owner "$bin/initdb" -D "$data" -U celeriac --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
      rm -f "$pwfile"
    fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null || { tail -20 "$dir/postgres.log" >&2; exit 1; }
    for _ in $(seq 100); do
      if ready; then echo started; exit 0; fi
      sleep 0.1
    done
    echo "PostgreSQL on 127.0.0.1:$port did not become ready (log: $dir/postgres.log)" >&2
    exit 1
    ;;
  stop)
    [ -f "$data/postmaster.pid" ] || exit 0
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: private-postgres.sh start|stop PORT DIR" >&2
    exit 2
    ;;
esac
