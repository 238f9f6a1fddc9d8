"""The Celery app, importable as config.celery:app.

Settings live in Django's settings module under the CELERY_ prefix, so one place says
which broker is used (Redis with REDIS_URL, kombu's filesystem transport without it).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pledge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
