"""N sequential round trips ``tasks.add`` delay -> get: ``roundtrip.py N``.

Needs a worker and a result backend (BENCH_BACKEND). Prints {"n", "p50_ms", "p99_ms", "mean_ms"}
as one JSON line; the first 5 round trips warm up and are not counted.
"""
import json
import statistics
import sys
import time

from benchapp import add

n = int(sys.argv[1])
WARMUP = 5
times = []
for i in range(n + WARMUP):
    start = time.perf_counter()
    add.delay(i, 1).get(timeout=30)
    if i >= WARMUP:
        times.append((time.perf_counter() - start) * 1000)
times.sort()


def pct(p):
    return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))]


print(json.dumps({'n': n, 'p50_ms': pct(50), 'p99_ms': pct(99),
                  'mean_ms': statistics.fmean(times)}))
