"""Python Celery app of the benchmark: ``python -m celery -A benchapp worker`` (cwd bench/py).

  BENCH_BROKER         broker URL          (default redis://127.0.0.1:6379/0)
  BENCH_BACKEND        result backend URL  (default: none)
  BENCH_IGNORE_RESULT  "1" -> task_ignore_result (no result is stored)
"""
import os
import time

from celery import Celery

app = Celery('benchapp',
             broker=os.environ.get('BENCH_BROKER', 'redis://127.0.0.1:6379/0'),
             backend=os.environ.get('BENCH_BACKEND') or None)
app.conf.update(
    enable_utc=True,
    timezone='UTC',
    task_ignore_result=os.environ.get('BENCH_IGNORE_RESULT') == '1',
    broker_connection_retry_on_startup=True,
)


@app.task(name='tasks.add')
def add(x, y):
    return x + y


@app.task(name='tasks.cpu')
def cpu(ms):
    """CPU-bound: a busy loop of ``ms`` milliseconds (BENCH_TASK=cpu)."""
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


@app.task(name='tasks.io')
def io(ms):
    """I/O-bound: waits ``ms`` milliseconds (BENCH_TASK=io), as a call to another service would."""
    time.sleep(ms / 1000)
    return ms
