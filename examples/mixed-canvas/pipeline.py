"""The Python half of the mixed-canvas example: its tasks (py.*) and the settings both languages
share (celeryconfig.json). Worker: `celery -A pipeline worker -Q python -n py@%h -l info`."""
import json
from pathlib import Path

from celery import Celery

# CELERY_BROKER_URL and CELERY_RESULT_BACKEND, when set, win over these (Celery reads them first).
app = Celery("pipeline", broker="redis://127.0.0.1:6379/0", backend="redis://127.0.0.1:6379/1")
# The settings the Node side reads too: serializers and the routes (py.* -> python, node.* -> node).
app.conf.update(json.loads((Path(__file__).parent / "celeryconfig.json").read_text()))


@app.task(name="py.extract")
def extract(n):
    return list(range(1, n + 1))


@app.task(name="py.load")
def load(rows):
    return f"loaded {len(rows)} rows, total {sum(rows)}"


@app.task(name="py.square")
def square(x):
    return x * x
