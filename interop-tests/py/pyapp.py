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
  PYAPP_BROKER_TRANSPORT_OPTIONS, PYAPP_RESULT_BACKEND_TRANSPORT_OPTIONS
                            JSON mappings merged into broker_transport_options /
                            result_backend_transport_options (master_name, sentinel_kwargs, ...)
  PYAPP_QUEUE_MAX_PRIORITY  int -> task_queue_max_priority (AMQP x-max-priority of the queues)
  PYAPP_QUEUE_TYPE          task_default_queue_type (Celery 5.5+: "quorum"); the first of
                            PYAPP_QUEUES is then the default queue Celery itself declares
  PYAPP_BROKER_USE_SSL      JSON mapping -> broker_use_ssl (a cert_reqs / ssl_cert_reqs string
                            such as "required" becomes Python's ssl.CERT_* constant)
  PYAPP_REDIS_BACKEND_USE_SSL  JSON mapping -> redis_backend_use_ssl (likewise)
  PYAPP_SECURITY_KEY, PYAPP_SECURITY_CERT, PYAPP_SECURITY_STORE
                            message signing: security_key, security_certificate,
                            security_cert_store; task and result serializer auth, accept only
                            auth, then app.setup_security()
  PYAPP_OTEL_SPANS          a file: OpenTelemetry's Celery instrumentation on (newest Celery
                            only), every span appended to it as a JSON line (otel_spans.py);
                            run the worker with -P solo

Task names are explicit (``py.*``) so messages do not depend on the module name.
"""
import json
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

if _env('PYAPP_QUEUE_MAX_PRIORITY'):
    app.conf.task_queue_max_priority = int(os.environ['PYAPP_QUEUE_MAX_PRIORITY'])

QUEUES = _list(_env('PYAPP_QUEUES', ''))
if _env('PYAPP_QUEUE_TYPE'):
    app.conf.task_default_queue_type = os.environ['PYAPP_QUEUE_TYPE']
    if QUEUES:
        app.conf.task_default_queue = QUEUES[0]
        QUEUES = []  # Celery builds the default queue (its arguments) itself
if QUEUES:
    app.conf.task_default_queue = QUEUES[0]
    # the exchange/routing key Celery itself gives an automatically created queue
    app.conf.task_queues = [Queue(q, Exchange(q), routing_key=q) for q in QUEUES]

def _ssl_setting(name):
    import ssl
    value = json.loads(os.environ[name])
    for key in ('cert_reqs', 'ssl_cert_reqs'):
        if isinstance(value.get(key), str):
            value[key] = getattr(ssl, 'CERT_' + value[key].upper().replace('CERT_', ''))
    return value


if _env('PYAPP_BROKER_USE_SSL'):
    app.conf.broker_use_ssl = _ssl_setting('PYAPP_BROKER_USE_SSL')
if _env('PYAPP_REDIS_BACKEND_USE_SSL'):
    app.conf.redis_backend_use_ssl = _ssl_setting('PYAPP_REDIS_BACKEND_USE_SSL')

if _env('PYAPP_VISIBILITY_TIMEOUT'):
    app.conf.broker_transport_options = {
        'visibility_timeout': int(os.environ['PYAPP_VISIBILITY_TIMEOUT'])}

if _env('PYAPP_BROKER_TRANSPORT_OPTIONS'):
    app.conf.broker_transport_options = dict(
        app.conf.broker_transport_options or {}, **json.loads(os.environ['PYAPP_BROKER_TRANSPORT_OPTIONS']))
if _env('PYAPP_RESULT_BACKEND_TRANSPORT_OPTIONS'):
    app.conf.result_backend_transport_options = json.loads(os.environ['PYAPP_RESULT_BACKEND_TRANSPORT_OPTIONS'])

if _env('PYAPP_SECURITY_KEY'):
    app.conf.update(
        security_key=os.environ['PYAPP_SECURITY_KEY'],
        security_certificate=os.environ['PYAPP_SECURITY_CERT'],
        security_cert_store=os.environ['PYAPP_SECURITY_STORE'],
        task_serializer='auth', result_serializer='auth', accept_content=['auth'],
    )
    app.setup_security()


@app.task(name='py.add')
def add(x, y):
    return x + y


@app.task(name='py.request_fields', bind=True)
def request_fields(self, *names):
    """Returns what the worker saw of the request: its timelimit and the named message headers
    (Celery puts a message's custom headers on self.request)."""
    tl = self.request.timelimit
    return {'timelimit': list(tl) if tl is not None else None,
            'headers': {n: self.request.get(n) for n in names}}


@app.task(name='py.mul')
def mul(x, y):
    return x * y


@app.task(name='py.echo')
def echo(*args, **kwargs):
    return {'args': list(args), 'kwargs': kwargs}


@app.task(name='py.fail')
def fail(msg):
    raise ValueError(msg, 42)


@app.task(name='both.where')
def where(i):
    """Registered under the same name by celeriac's canvas tests: a chord part on a queue both
    workers consume returns [i, 'py'] here and [i, 'ts'] there."""
    time.sleep(0.01)
    return [i, 'py']


@app.task(name='py.replace_with', bind=True)
def replace_with(self, name, args, queue):
    """Celery's self.replace: the task ``name`` (a celeriac one in the canvas tests) runs under this id."""
    raise self.replace(app.signature(name, args=args, queue=queue))


@app.task(name='py.sleep')
def sleep(seconds):
    time.sleep(seconds)
    return seconds


# --- worker semantics: the same behaviours as the ts.* tasks of interop-tests/apps/tsapp.js ---

@app.task(name='py.retry_then_ok', bind=True)
def retry_then_ok(self, x):
    if self.request.retries < 2:
        raise self.retry(exc=ValueError('try again'), countdown=1)
    return x


@app.task(name='py.retry_exhaust', bind=True, max_retries=1)
def retry_exhaust(self):
    raise self.retry(exc=ValueError('no more'), countdown=0)


@app.task(name='py.auto_retry', autoretry_for=(KeyError,), max_retries=2,
          retry_kwargs={'countdown': 0})
def auto_retry():
    raise KeyError('missing')


@app.task(name='py.soft_limited', soft_time_limit=1)
def soft_limited():
    time.sleep(3)
    return 'not reached'


@app.task(name='py.hard_limited', time_limit=1)
def hard_limited():
    time.sleep(5)
    return 'not reached'


@app.task(name='py.decline')
def decline(amount):
    import pyerrors
    raise pyerrors.PaymentDeclined('declined', amount)


@app.task(name='py.progress', bind=True)
def progress(self, steps):
    for i in range(1, steps + 1):
        self.update_state(state='PROGRESS', meta={'current': i, 'total': steps})
        time.sleep(0.4)
    return steps


@app.task(name='py.beat_tick', bind=True)
def beat_tick(self, *args, **kwargs):
    """A beat target: appends {id, hostname, time, args} as JSON to the Redis list
    kwargs['record_key'] on the broker's Redis, so a test sees every run exactly as it happened."""
    import json as _json
    import redis as _redis
    key = kwargs.get('record_key')
    if key:
        client = _redis.Redis.from_url(BROKER)
        try:
            client.rpush(key, _json.dumps({'id': self.request.id, 'hostname': self.request.hostname,
                                           'time': time.time(), 'args': list(args)}))
        finally:
            client.close()
    return self.request.id


# --- OpenTelemetry (newest Celery only): PYAPP_OTEL_SPANS=<file> instruments this app, spans go to
# the file as JSON lines (otel_spans.py). Run the worker with -P solo (instrumented in this process).
if _env('PYAPP_OTEL_SPANS'):
    import otel_spans
    otel_spans.install(os.environ['PYAPP_OTEL_SPANS'])


@app.task(name='py.send_on', bind=True)
def send_on(self, name, args, queue):
    """Sends the task ``name`` (a celeriac one in the tracing test) from this task and returns its id."""
    return app.send_task(name, args=args, queue=queue).id


@app.task(name='otel.leaf')
def otel_leaf(x):
    """Runs on a celeriac worker in the tracing test; registered here only so that the Celery
    instrumentation finds the task when py.send_on publishes it (it ends the publish span only for
    a task it knows)."""
    raise NotImplementedError('runs on celeriac')
