"""Enqueue N ``tasks.add`` messages as fast as the Python client can: ``enqueue.py N``.

One producer (one connection) for all sends. BENCH_QUEUE picks the queue (default: celery).
BENCH_TASK=cpu sends ``tasks.cpu(BENCH_CPU_MS)`` instead (CPU-bound: a busy loop of that many ms).
Prints {"n", "seconds", "per_sec"} as one JSON line.
"""
import json
import os
import sys
import time

from benchapp import app

n = int(sys.argv[1])
queue = os.environ.get('BENCH_QUEUE') or None
options = {'queue': queue} if queue else {}
start = time.perf_counter()
cpu = os.environ.get('BENCH_TASK') == 'cpu'
cpu_ms = float(os.environ.get('BENCH_CPU_MS') or 10)
with app.producer_or_acquire() as producer:
    for i in range(n):
        if cpu:
            app.send_task('tasks.cpu', (cpu_ms,), producer=producer, **options)
        else:
            app.send_task('tasks.add', (i, i), producer=producer, **options)
seconds = time.perf_counter() - start
print(json.dumps({'n': n, 'seconds': seconds, 'per_sec': n / seconds}))
