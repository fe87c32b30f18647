#!/usr/bin/env bash
# A private, throw-away MariaDB server on 127.0.0.1 for the tests (the django-db result backend on
# MySQL/MariaDB).
#
#   private-mariadb.sh start PORT DIR   prints "reused" if a server already answers on PORT (left
#                                       alone), else installs DIR/data (first time), starts mariadbd
#                                       and prints "started"
#   private-mariadb.sh stop PORT DIR    stops the server of DIR
#
# User `celeriac`, password `celeriac-test`, every privilege (tests create databases of their own);
# root logs in through the socket DIR/mariadbd.sock only. Loopback only, no binary log, no fsync
# at commit. As root the server runs with --user=root (its files stay root's); no system service
# is touched (--no-defaults: /etc/mysql is not read). Log in DIR/mariadb.log.
set -euo pipefail

usage="usage: private-mariadb.sh start|stop PORT DIR"
cmd=${1:?$usage}
port=${2:?$usage}
dir=${3:?$usage}

command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || { echo "MariaDB not found (/usr/sbin/mariadbd): run bash scripts/ensure-deps.sh" >&2; exit 1; }
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
sock="$dir/mariadbd.sock"
pidfile="$dir/mariadbd.pid"
user=()
[ "$(id -u)" = 0 ] && user=(--user=root)

ready() { mariadb-admin --no-defaults --protocol=tcp -h 127.0.0.1 -P "$port" --connect-timeout=2 -u celeriac -pceleriac-test ping >/dev/null 2>&1; }
# something accepts TCP connections on PORT
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

case "$cmd" in
  start)
    if ready; then echo reused; exit 0; fi
    if listening; then echo "something else listens on 127.0.0.1:$port" >&2; exit 1; fi
    if [ ! -d "$data/mysql" ]; then
      mariadb-install-db --no-defaults --datadir="$data" "${user[@]}" --auth-root-authentication-method=socket \
        --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
    fi
    setsid "$MARIADBD" --no-defaults --datadir="$data" --port="$port" --bind-address=127.0.0.1 --socket="$sock" \
      --pid-file="$pidfile" "${user[@]}" --skip-name-resolve --skip-log-bin --innodb-flush-log-at-trx-commit=0 \
      --innodb-buffer-pool-size=32M --max-connections=200 --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_unicode_ci --log-error="$dir/mariadb.log" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 300); do
      if mariadb-admin --no-defaults -S "$sock" -u root ping >/dev/null 2>&1; then break; fi
      sleep 0.1
    done
    mariadb --no-defaults -S "$sock" -u root -e "
      CREATE USER IF NOT EXISTS 'celeriac'@'%' IDENTIFIED BY 'celeriac-test';
      GRANT ALL PRIVILEGES ON *.* TO 'celeriac'@'%' WITH GRANT OPTION;
      DROP USER IF EXISTS ''@'localhost';" 2>>"$dir/mariadb.log" || { tail -20 "$dir/mariadb.log" >&2; exit 1; }
    # Time zone tables, as Django's MySQL notes ask (CONVERT_TZ: the admin's date filters), loaded once.
    if [ ! -f "$dir/tzinfo-loaded" ]; then
      mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null | mariadb --no-defaults -S "$sock" -u root mysql 2>>"$dir/mariadb.log" &&
        touch "$dir/tzinfo-loaded" || { tail -20 "$dir/mariadb.log" >&2; exit 1; }
    fi
    for _ in $(seq 100); do
      if ready; then echo started; exit 0; fi
      sleep 0.1
    done
    echo "MariaDB on 127.0.0.1:$port did not become ready (log: $dir/mariadb.log)" >&2
    exit 1
    ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
      kill -0 "$pid" 2>/dev/null || exit 0
      sleep 0.1
    done
    echo "MariaDB (pid $pid) did not stop" >&2
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
