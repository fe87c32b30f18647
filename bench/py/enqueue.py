"""Enqueue N ``tasks.add`` messages as fast as the Python client can: ``enqueue.py N``.

One producer (one connection) for all sends. BENCH_QUEUE picks the queue (default: celery).
BENCH_TASK=cpu sends ``tasks.cpu(BENCH_CPU_MS)`` instead (CPU-bound: a busy loop of that many ms),
BENCH_TASK=io ``tasks.io(BENCH_IO_MS)`` (I/O-bound: waits that many ms, default 10).
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
kind = os.environ.get('BENCH_TASK')
cpu_ms = float(os.environ.get('BENCH_CPU_MS') or 10)
io_ms = float(os.environ.get('BENCH_IO_MS') or 10)
with app.producer_or_acquire() as producer:
    for i in range(n):
        if kind == 'cpu':
            app.send_task('tasks.cpu', (cpu_ms,), producer=producer, **options)
        elif kind == 'io':
            app.send_task('tasks.io', (io_ms,), producer=producer, **options)
        else:
            app.send_task('tasks.add', (i, i), producer=producer, **options)
seconds = time.perf_counter() - start
print(json.dumps({'n': n, 'seconds': seconds, 'per_sec': n / seconds}))
