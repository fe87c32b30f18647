"""Python Celery app of the interop tests, configured only by environment variables.

Runs under Debian's Celery 5.2 (/usr/bin/python3) and the newest Celery (interop-tests/.venv).
Worker: ``python -m celery -A pyapp worker`` (cwd interop-tests/py); client: ``client.py``.

  PYAPP_BROKER              broker URL          (default redis://127.0.0.1:16379/6)
  PYAPP_BACKEND             result backend URL  (default redis://127.0.0.1:16379/7; "" = none)
  PYAPP_ACCEPT              accept_content, comma list (default json, plus PYAPP_SERIALIZER and
                            PYAPP_RESULT_SERIALIZER when those are set)
  PYAPP_SERIALIZER          task_serializer     (default json)
  PYAPP_RESULT_SERIALIZER   result_serializer   (default json)
  PYAPP_COMPRESSION         task_compression    (default none)
  PYAPP_QUEUES              comma list: the first is task_default_queue; a worker started
                            without -Q consumes all of them (default: celery)
  PYAPP_RESULT_EXTENDED     "1"/"true" -> result_extended
  PYAPP_TRACK_STARTED       "1"/"true" -> task_track_started
  PYAPP_VISIBILITY_TIMEOUT  seconds -> broker_transport_options.visibility_timeout

Task names are explicit (``py.*``) so messages do not depend on the module name.
"""
import os
import time

from celery import Celery
from kombu import Exchange, Queue


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value is None else value


def _flag(name):
    return _env(name, '').strip().lower() in ('1', 'true', 'yes', 'on')


def _list(value):
    return [item.strip() for item in value.split(',') if item.strip()]


BROKER = _env('PYAPP_BROKER', 'redis://127.0.0.1:16379/6')
BACKEND = _env('PYAPP_BACKEND', 'redis://127.0.0.1:16379/7') or None
SERIALIZER = _env('PYAPP_SERIALIZER', 'json')
RESULT_SERIALIZER = _env('PYAPP_RESULT_SERIALIZER', 'json')
if os.environ.get('PYAPP_ACCEPT'):
    ACCEPT = _list(os.environ['PYAPP_ACCEPT'])
else:
    ACCEPT = sorted({'json', SERIALIZER, RESULT_SERIALIZER})

app = Celery('pyapp', broker=BROKER, backend=BACKEND)
app.conf.update(
    enable_utc=True,
    timezone='UTC',
    accept_content=ACCEPT,
    task_serializer=SERIALIZER,
    result_serializer=RESULT_SERIALIZER,
    task_compression=_env('PYAPP_COMPRESSION') or None,
    result_extended=_flag('PYAPP_RESULT_EXTENDED'),
    task_track_started=_flag('PYAPP_TRACK_STARTED'),
    broker_connection_retry_on_startup=True,  # silences a deprecation warning on Celery >= 5.3
)

QUEUES = _list(_env('PYAPP_QUEUES', ''))
if QUEUES:
    app.conf.task_default_queue = QUEUES[0]
    # the exchange/routing key Celery itself gives an automatically created queue
    app.conf.task_queues = [Queue(q, Exchange(q), routing_key=q) for q in QUEUES]

if _env('PYAPP_VISIBILITY_TIMEOUT'):
    app.conf.broker_transport_options = {
        'visibility_timeout': int(os.environ['PYAPP_VISIBILITY_TIMEOUT'])}


@app.task(name='py.add')
def add(x, y):
    return x + y


@app.task(name='py.mul')
def mul(x, y):
    return x * y


@app.task(name='py.echo')
def echo(*args, **kwargs):
    return {'args': list(args), 'kwargs': kwargs}


@app.task(name='py.fail')
def fail(msg):
    raise ValueError(msg, 42)


@app.task(name='py.sleep')
def sleep(seconds):
    time.sleep(seconds)
    return seconds
