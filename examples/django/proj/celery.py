import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")

app = Celery("proj")
# Every CELERY_* Django setting is a Celery setting (CELERY_TASK_ROUTES is task_routes, ...).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
