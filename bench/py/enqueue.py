"""Enqueue N ``tasks.add`` messages as fast as the Python client can: ``enqueue.py N``.

One producer (one connection) for all sends. BENCH_QUEUE picks the queue (default: celery).
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
with app.producer_or_acquire() as producer:
    for i in range(n):
        app.send_task('tasks.add', (i, i), producer=producer, **options)
seconds = time.perf_counter() - start
print(json.dumps({'n': n, 'seconds': seconds, 'per_sec': n / seconds}))
