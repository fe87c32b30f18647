#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks need, and only what is missing.
# Idempotent and silent when everything is already there (run by `npm test`'s pretest).
#
#   Debian packages : redis-server, rabbitmq-server, Debian's Celery 5.2 for /usr/bin/python3 (+ redis, msgpack,
#                     yaml), python3-venv, and chromium when /usr/bin/chromium is missing (headless
#                     screenshots of Flower)        -> apt-get update (once) + apt-get install
#   interop venv    : interop-tests/.venv with the "newest Celery": celery[redis], kombu, msgpack, pyyaml,
#                     backports.zstd, brotli, flower at the versions pinned in interop-tests/requirements.txt
#                     (re-installed when that file changes; scripts/bump-python-deps.sh bumps the pins)
#   node modules    : npm ci when node_modules/ is missing or older than package-lock.json
#
# Works on a fresh Debian 12 with node and npm (as root, or with sudo). No Docker.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SYS_PY=/usr/bin/python3
VENV="$ROOT/interop-tests/.venv"
VENV_PY="$VENV/bin/python"
PY_MODULES="celery, redis, msgpack, yaml"

say() { echo "ensure-deps: $*"; }

# --- Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(
  redis-server
  python3-celery python3-redis python3-msgpack python3-yaml
  python3-venv
  # Celery 5.2's auth serializer (message signing, interop-tests/message-signing.test.ts)
  python3-cryptography
  # RabbitMQ: started privately by scripts/private-rabbitmq.sh (test/services/global-setup.js)
  rabbitmq-server
  # PostgreSQL: the django-db result backend's tests start a private server (test/services/postgres.js)
  postgresql
  # MariaDB: the django-db backend on MySQL/MariaDB, a private server (scripts/private-mariadb.sh)
  mariadb-server
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
done
# Chromium (headless screenshots of Flower, interop-tests/flower.test.ts): checked by path, so any
# chromium at /usr/bin/chromium will do; fonts come with it through libfontconfig1.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! "$SYS_PY" -c "import $PY_MODULES" 2>/dev/null; then
  echo "ensure-deps: $SYS_PY cannot import $PY_MODULES although the Debian packages are installed" >&2
  exit 1
fi

# --- interop virtualenv: the newest Celery, pinned in interop-tests/requirements.txt ------------
# The stamp holds the hash of the requirements file the venv was installed from, so a changed pin
# (a bump) re-installs, as does a module that cannot be imported; a venv whose Python does not run
# is rebuilt from scratch.
REQUIREMENTS="$ROOT/interop-tests/requirements.txt"
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if ! "$VENV_PY" -c "" 2>/dev/null; then
  say "creating interop-tests/.venv"
  rm -rf "$VENV"
  "$SYS_PY" -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ] ||
  ! "$VENV_PY" -c "import $PY_MODULES, brotli, flower; from backports import zstd" 2>/dev/null; then
  say "installing interop-tests/requirements.txt into interop-tests/.venv"
  start=$SECONDS
  "$VENV_PY" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$want" >"$STAMP"
  say "interop-tests/.venv ready in $((SECONDS - start))s: $("$VENV_PY" -c \
    'import celery, kombu, redis; print("celery", celery.__version__, "kombu", kombu.__version__, "redis-py", redis.__version__)')"
fi

# --- node modules ------------------------------------------------------------------------------
# npm ci only: a lock file it refuses (out of sync with package.json) is an error, never a fallback,
# so every install is the locked one. Re-run when package-lock.json is newer than the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    echo "ensure-deps: npm ci refused package-lock.json (out of sync with package.json?);" \
      "regenerate it with 'npm install --package-lock-only' and commit it" >&2
    exit 1
  fi
fi
