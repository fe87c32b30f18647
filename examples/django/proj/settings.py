"""Settings of the example project: Celery's "First steps with Django" with a Node worker.

The environment chooses the services (the interop test sets them): DATABASE_URL
(postgres://user:password@host:port/name, sqlite:////absolute/path.sqlite3 or
mysql://user:password@host:port/name), CELERY_BROKER_URL, and the queues: NODE_QUEUE (the
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
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_celery_results",
    "django_celery_beat",
    "demo",
]
# The admin (/admin/): django-celery-results' Task results list shows the Node worker's rows too.
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "proj.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "static/"


def database(url):
    """DATABASES["default"] of a database URL, as dj-database-url reads it: postgres://,
    mysql:// (MySQL/MariaDB, through PyMySQL here) or sqlite:///relative/path and
    sqlite:////absolute/path."""
    u = urlsplit(url)
    if u.scheme == "sqlite":
        # Both workers and Django write the one file: wait up to 20 s for another's lock (the
        # Node worker reads this timeout too, through manage.py celeriac_config).
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(u.path[1:]) or ":memory:", "OPTIONS": {"timeout": 20}}
    engine = {
        "postgres": "django.db.backends.postgresql",
        "postgresql": "django.db.backends.postgresql",
        "mysql": "django.db.backends.mysql",
    }[u.scheme]
    if engine == "django.db.backends.mysql":
        # PyMySQL as the MySQLdb (mysqlclient) module Django's MySQL backend imports.
        import pymysql

        pymysql.version_info = (2, 2, 1, "final", 0)
        pymysql.install_as_MySQLdb()
    return {
        "ENGINE": engine,
        "NAME": unquote(u.path.lstrip("/")),
        "USER": unquote(u.username or ""),
        "PASSWORD": unquote(u.password or ""),
        "HOST": u.hostname or "",
        "PORT": str(u.port or ""),
    }


DATABASES = {"default": database(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/proj"))}
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
