#!/usr/bin/env bash
# The Redis Sentinel failover of interop-tests/redis-sentinel-failover.test.ts at full size: Python
# sends 10,000 acks_late tasks (or $1) to two celeriac workers through three sentinels, the master
# is SIGKILLed when a fifth are done, every task must reach SUCCESS on the promoted replica; the
# recovery times are printed. Build first (npm run build). Ports as the tests' (set
# CELERIAC_TEST_REDIS_PORT / CELERIAC_TEST_AMQP_PORT to run next to someone else).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CELERIAC_SENTINEL_FAILOVER_TASKS="${1:-10000}" exec npx jest interop-tests/redis-sentinel-failover.test.ts -t "a failover" --verbose
