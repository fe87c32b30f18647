"""The Python side of the node-calls-python example: an existing Celery app whose tasks a Node
service calls by name. Run it with `celery -A tasks worker -l info` in this directory."""
import time

from celery import Celery

# CELERY_BROKER_URL and CELERY_RESULT_BACKEND, when set, win over these (Celery reads them first).
app = Celery("tasks", broker="redis://127.0.0.1:6379/0", backend="redis://127.0.0.1:6379/1")
app.conf.task_track_started = True


class PaymentDeclined(Exception):
    """Raised by reports.charge; the Node service maps it to a class of its own."""


@app.task(name="reports.add")
def add(x, y):
    return x + y


@app.task(name="reports.render", bind=True)
def render(self, report_id, pages):
    for page in range(1, pages + 1):
        time.sleep(0.5)
        self.update_state(state="PROGRESS", meta={"page": page, "pages": pages})
    return {"report_id": report_id, "pages": pages}


@app.task(name="reports.charge")
def charge(order_id, amount):
    if amount > 100:
        raise PaymentDeclined(f"order {order_id}: card declined", amount)
    return f"order {order_id}: charged {amount}"


@app.task(name="reports.parse")
def parse(text):
    return int(text)


@app.task(name="reports.slow")
def slow(seconds):
    time.sleep(seconds)
    return f"done after {seconds} s"
