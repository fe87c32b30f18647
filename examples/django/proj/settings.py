"""Settings of the example project: Celery's "First steps with Django" with a Node worker.

The environment chooses the services (the interop test sets them): DATABASE_URL
(postgres://user:password@host:port/name), CELERY_BROKER_URL, and the queues: NODE_QUEUE (the
Node worker's, default "node") and DJANGO_QUEUE (the Django worker's, default "celery").
"""
import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "Europe/Berlin"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_celery_results",
    "django_celery_beat",
    "demo",
]

_db = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/proj"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_db.path.lstrip("/")),
        "USER": unquote(_db.username or ""),
        "PASSWORD": unquote(_db.password or ""),
        "HOST": _db.hostname or "",
        "PORT": str(_db.port or ""),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Celery (namespace CELERY): what both workers share.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("DJANGO_QUEUE", "celery")
# The Node worker consumes the queue "node"; every node.* task goes there.
NODE_QUEUE = os.environ.get("NODE_QUEUE", "node")
CELERY_TASK_ROUTES = {"node.*": {"queue": NODE_QUEUE}}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# What `manage.py celeriac_config` writes for the Node worker: the queues it consumes.
CELERIAC_QUEUES = [NODE_QUEUE]
