#!/usr/bin/env bash
# Rewrites interop-tests/requirements.txt with the newest release on PyPI of every pinned package,
# so that a bump of the interop tests' "newest Celery" is a reviewed diff of that file (run weekly by
# .github/workflows/bump-python-deps.yml, which opens a pull request; by hand: run it, then
# `bash scripts/ensure-deps.sh` re-installs interop-tests/.venv from the new pins, then the interop tests).
# Prints one line a changed pin; comments, order and extras are kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 - interop-tests/requirements.txt <<'PY'
import json, re, sys, urllib.request

path = sys.argv[1]
pin = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(?P<extras>\[[^\]]*\])?==(?P<version>\S+)\s*$")
out = []
for line in open(path, encoding="utf-8").read().splitlines():
    m = pin.match(line)
    if not m:
        out.append(line)
        continue
    with urllib.request.urlopen(f"https://pypi.org/pypi/{m['name']}/json", timeout=30) as r:
        newest = json.load(r)["info"]["version"]
    if newest != m["version"]:
        print(f"{m['name']}: {m['version']} -> {newest}")
    out.append(f"{m['name']}{m['extras'] or ''}=={newest}")
open(path, "w", encoding="utf-8").write("\n".join(out) + "\n")
PY
