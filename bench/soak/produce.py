"""Python producer of the chaos soak: SOAK_COUNT tasks at SOAK_RATE/s through Celery's send_task,
alternating soak.late and soak.early (as bench/soak/produce.js). An id goes to the ledger's `sent`
set only once send_task returned (confirm_publish on AMQP); a send that raises puts its id in
`failed`, the producer is acquired again and the next attempt uses a new id.
Prints {"sent", "failed"} as its last line. Env: SOAK_BROKER, SOAK_LEDGER, SOAK_KEY_PREFIX.
"""
import json
import os
import sys
import time
import uuid

import redis
from celery import Celery

TASKS = [('soak.late', 'soak.late'), ('soak.early', 'soak.early')]  # as keys.js
count = int(os.environ['SOAK_COUNT'])
rate = float(os.environ['SOAK_RATE'])
prefix = os.environ['SOAK_KEY_PREFIX']
ledger = redis.Redis.from_url(os.environ['SOAK_LEDGER'])

app = Celery('soak-producer', broker=os.environ['SOAK_BROKER'])
app.conf.broker_transport_options = {'confirm_publish': True}
app.conf.task_publish_retry_policy = {'max_retries': 10, 'interval_start': 0, 'interval_step': 0.5, 'interval_max': 1}

pending = []
last_flush = time.monotonic()


def record(task, what, task_id):
    global last_flush
    pending.append((task, what, task_id, int(time.time() * 1000)))
    if time.monotonic() - last_flush > 0.1:
        flush()


def flush():
    global last_flush
    pipe = ledger.pipeline(transaction=False)
    for task, what, task_id, at in pending:
        key = '%s:%s:' % (prefix, task)
        pipe.sadd(key + what, task_id)
        if what == 'sent':
            pipe.zadd(key + 'sent-at', {task_id: at})
            pipe.hset(key + 'sent-by', task_id, 'python')
    pipe.execute()
    pending.clear()
    last_flush = time.monotonic()


sent = failed = 0
t0 = time.monotonic()
while sent < count:
    try:
        with app.producer_or_acquire() as producer:
            while sent < count:
                ahead = t0 + sent / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                name, queue = TASKS[sent % len(TASKS)]
                task_id = str(uuid.uuid4())
                try:
                    app.send_task(name, task_id=task_id, queue=queue, producer=producer)
                except Exception:
                    record(name, 'failed', task_id)
                    raise
                record(name, 'sent', task_id)
                sent += 1
    except Exception as exc:
        failed += 1
        if failed % 50 == 1:
            print('publish failed (%d so far): %r' % (failed, exc), file=sys.stderr, flush=True)
        time.sleep(0.2)
flush()
print(json.dumps({'sent': sent, 'failed': failed}), flush=True)
