"""Print, as one JSON list, the events of node ARGV[1] seen by Python's Receiver for ARGV[2] seconds.

Configured like the worker through pyapp's PYAPP_* environment variables.
"""
import json
import os
import sys
import threading

from pyapp import app

node, seconds = sys.argv[1], float(sys.argv[2])
seen = []


def on_event(event):
    if event.get('hostname') == node:
        seen.append(event)


def done():
    print(json.dumps(seen, default=str))
    sys.stdout.flush()
    os._exit(0)


threading.Timer(seconds, done).start()
with app.connection() as conn:
    recv = app.events.Receiver(conn, handlers={'*': on_event})
    recv.capture(limit=None, timeout=None, wakeup=False)
