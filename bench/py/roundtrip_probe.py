"""Round trips ``tasks.add`` delay -> get from Python Celery, and how each get found its result:
``roundtrip_probe.py N``. Prints one JSON line: p50 (ms), how many gets found the result ready in
the GET that Celery's Redis backend sends first (``ready_at_get``) and how many waited for the
PUBLISH instead (``waited``), and the gap from the task's LPUSH to that GET being sent (µs
percentiles): a worker that stores its result within that gap spares the client the wait.
With PROBE_ROWS=<file> it also writes each counted round trip there as JSON, [LPUSH sent, GET
sent (µs of time.perf_counter, CLOCK_MONOTONIC: 0 if not seen), ms, found at the GET].
"""
import json
import os
import sys
import time

import redis.connection as rc
from benchapp import add, app

n = int(sys.argv[1])
WARMUP = 5
marks = {}
send_packed_command = rc.Connection.send_packed_command


def timed_send(self, command, check_health=True):
    data = command if isinstance(command, (bytes, bytearray)) else b''.join(command)
    if b'LPUSH' in data[:40]:
        marks['lpush'] = time.perf_counter()
    elif b'\r\nGET\r\n' in data[:30]:
        marks.setdefault('get', time.perf_counter())
    return send_packed_command(self, command, check_health)


rc.Connection.send_packed_command = timed_send
consumer = type(app.backend.result_consumer)
on_state_change = consumer.on_state_change
found = {'ready_at_get': 0, 'waited': 0}


def counted(self, meta, message):
    # Celery calls this once with the GET's meta (message None), then with the PUBLISH if needed.
    if message is None and marks.get('count') is True:
        marks['count'] = False
        found['ready_at_get' if meta.get('status') == 'SUCCESS' else 'waited'] += 1
    return on_state_change(self, meta, message)


consumer.on_state_change = counted
times, gaps, rows = [], [], []
for i in range(n + WARMUP):
    marks.clear()
    marks['count'] = i >= WARMUP
    ready_before = found['ready_at_get']
    start = time.perf_counter()
    add.delay(i, 1).get(timeout=30)
    if i >= WARMUP:
        times.append((time.perf_counter() - start) * 1000)
        rows.append([marks.get('lpush', 0) * 1e6, marks.get('get', 0) * 1e6, times[-1],
                     found['ready_at_get'] > ready_before])
        if 'get' in marks and 'lpush' in marks:
            gaps.append((marks['get'] - marks['lpush']) * 1e6)
if os.environ.get('PROBE_ROWS'):
    with open(os.environ['PROBE_ROWS'], 'w') as f:
        json.dump(rows, f)
times.sort()
gaps.sort()


def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


print(json.dumps({'n': n, 'p50_ms': pct(times, 50), **found,
                  'gap_us': {'p10': pct(gaps, 10), 'p50': pct(gaps, 50), 'p90': pct(gaps, 90)}}))
