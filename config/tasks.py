"""Project-wide tasks that belong to no single app."""

import time

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_KEY = "celery:heartbeat"


@shared_task
def heartbeat(token: str = "") -> None:
    """Beat runs this every minute; /healthz reports how long ago a worker last did.

    Written to the shared cache, so every web process sees the same answer.
    """
    cache.set(HEARTBEAT_KEY, {"at": time.time(), "token": token}, timeout=None)
