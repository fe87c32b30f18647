"""manage.py celeriac_config FILE: the Celery settings the Node worker needs, for `celeriac worker --config FILE`.

Writes JSON with Celery's setting names (task_routes, task_queues, timezone, serializers, result
settings, time limits), read from this project's CELERY_* settings, and, for the django-db result
backend, the database of DATABASES["default"] (django_database: it holds the password, like
settings.py; keep the file as private as your settings).
"""
import datetime
import json

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand

# The Celery settings the Node worker reads (celeriac's src/config-file.ts).
NAMES = [
    "broker_url", "result_backend", "task_serializer", "result_serializer", "accept_content",
    "task_compression", "task_default_queue", "task_default_exchange", "task_default_routing_key",
    "task_default_priority", "task_routes", "result_expires", "result_extended", "task_track_started",
    "task_acks_late", "task_ignore_result", "task_time_limit", "task_soft_time_limit", "timezone",
    "enable_utc", "worker_prefetch_multiplier",
]


def plain(value):
    """JSON for a setting: seconds for a timedelta, a list for a tuple or set."""
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


class Command(BaseCommand):
    help = "Write the Celery settings of the Node (celeriac) worker to FILE (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        conf = current_app.conf
        out = {}
        for name in NAMES:
            value = conf.get(name)
            if value is not None or name in ("result_backend",):
                out[name] = plain(value)
        routes = conf.get("task_routes")
        if routes is not None and not isinstance(routes, dict):
            raise SystemExit("task_routes must be a dict of task name (or glob) to route for the Node worker")
        out["task_queues"] = list(getattr(settings, "CELERIAC_QUEUES", []))
        if conf.get("result_backend") == "django-db":
            db = settings.DATABASES["default"]
            out["django_database"] = {k: str(db.get(k) or "") for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")}
            timeout = (db.get("OPTIONS") or {}).get("timeout")
            if timeout is not None:
                # SQLite's busy timeout (seconds), which the Node side waits for Django's locks
                out["django_database"]["OPTIONS"] = {"timeout": timeout}
        with open(file, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2, sort_keys=True)
            f.write("\n")
        self.stdout.write("wrote %s (%d settings)" % (file, len(out)))
