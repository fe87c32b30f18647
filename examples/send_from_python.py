"""Python Celery sends tasks to the celeriac worker of examples/tasks.js and prints the results."""
import os

import celery
from celery import Celery

app = Celery("proj",
             broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
             backend=os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/1"))

print(f"Python Celery {celery.__version__} → celeriac worker")
print("  tasks.add(2, 3)            =", app.send_task("tasks.add", (2, 3)).get(timeout=10))
print("  tasks.mul(x=6, y=7)        =", app.send_task("tasks.mul", kwargs={"x": 6, "y": 7}).get(timeout=10))
print("  tasks.info('héllo')        =", app.send_task("tasks.info", ("héllo",)).get(timeout=10))
try:
    app.send_task("tasks.fail", ("out of range",)).get(timeout=10)
except Exception as exc:  # the JS RangeError, re-raised in Python
    print(f"  tasks.fail('out of range') raised {type(exc).__name__}: {exc}")
