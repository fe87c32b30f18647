"""Python Celery client of the interop tests: prints ONE JSON line on stdout.

Configured like the worker, through pyapp's PYAPP_* environment variables.

  client.py send  <task> [--args JSON] [--kwargs JSON] [--options JSON]
        app.send_task(task, args, kwargs, **options)            -> {"id": ...}
        options are passed through (countdown, queue, priority, serializer, compression,
        headers, ...); "eta" and "expires" may be ISO-8601 strings (expires also seconds)
  client.py get   <id> [--timeout S] [--no-propagate] [--states]
        AsyncResult(id).get(...)  -> {"id", "state", "result", "traceback",
                                      "exc_type", "exc_message", "exc_module"}
        --states adds "states": [[status, result], ...], every state message get() received
        (its on_message callback), in order
  client.py call  <task> [--args ...] [--kwargs ...] [--options ...] [--timeout S] [--no-propagate] [--states]
        send + get in one process (same output as get)
  client.py state <id>
        -> {"id", "state", "result", "traceback"} without waiting

When the task failed (get raised, or returned an exception with --no-propagate), exc_type is the
Python class name of that exception, exc_message its str() and exc_module its module; result
then holds {"exc_type", "exc_message": [args...], "exc_module"}. When get times out, exc_type is
"TimeoutError" (module celery.exceptions). Everything is made JSON-safe (datetime -> isoformat,
bytes -> {"$bytes_base64": ...}, tuples -> lists, anything else unknown -> {"$repr": ...}).
Errors of the client itself (bad arguments, no broker) go to stderr with exit status 1.
"""
import argparse
import base64
import datetime
import decimal
import json
import sys
import uuid

from pyapp import app


def json_safe(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float('inf'), float('-inf')) else repr(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {'$bytes_base64': base64.b64encode(bytes(value)).decode('ascii')}
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, BaseException):
        return {'exc_type': type(value).__name__,
                'exc_message': json_safe(list(value.args)),
                'exc_module': type(value).__module__}
    return {'$repr': repr(value)}


def _parse_time(value):
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    return value


def send(args):
    options = dict(args.options)
    if 'eta' in options:
        options['eta'] = _parse_time(options['eta'])
    if 'expires' in options:
        options['expires'] = _parse_time(options['expires'])
    return app.send_task(args.task, args=args.args, kwargs=args.kwargs, **options)


def outcome(result, timeout, propagate, states=False):
    out = {'id': result.id, 'state': None, 'result': None, 'traceback': None,
           'exc_type': None, 'exc_message': None, 'exc_module': None}
    kwargs = {}
    if states:
        seen = out['states'] = []
        kwargs['on_message'] = lambda meta: seen.append([meta.get('status'), json_safe(meta.get('result'))])
    try:
        value = result.get(timeout=timeout, propagate=propagate, **kwargs)
    except Exception as exc:  # the task's exception as rebuilt by Celery, or a timeout
        value = exc
    if isinstance(value, BaseException):
        out.update(exc_type=type(value).__name__, exc_message=str(value),
                   exc_module=type(value).__module__)
    out.update(state=result.state, result=json_safe(value),
               traceback=result.traceback)
    return out


def main(argv):
    parser = argparse.ArgumentParser(prog='client.py')
    sub = parser.add_subparsers(dest='command', required=True)

    def task_args(p):
        p.add_argument('task')
        p.add_argument('--args', type=json.loads, default=[])
        p.add_argument('--kwargs', type=json.loads, default={})
        p.add_argument('--options', type=json.loads, default={})

    def get_args(p):
        p.add_argument('--timeout', type=float, default=30.0)
        p.add_argument('--no-propagate', dest='propagate', action='store_false')
        p.add_argument('--states', action='store_true')

    task_args(sub.add_parser('send'))
    p = sub.add_parser('get')
    p.add_argument('id')
    get_args(p)
    p = sub.add_parser('call')
    task_args(p)
    get_args(p)
    sub.add_parser('state').add_argument('id')
    args = parser.parse_args(argv)

    if args.command == 'send':
        out = {'id': send(args).id}
    elif args.command == 'get':
        out = outcome(app.AsyncResult(args.id), args.timeout, args.propagate, args.states)
    elif args.command == 'call':
        out = outcome(send(args), args.timeout, args.propagate, args.states)
    else:
        result = app.AsyncResult(args.id)
        out = {'id': result.id, 'state': result.state,
               'result': json_safe(result.result), 'traceback': result.traceback}
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main(sys.argv[1:])
