"""A task enqueued by the web process runs in a real worker process, on each broker."""

import os
import uuid

import pytest
from django.core.cache import cache

from config.tasks import HEARTBEAT_KEY, heartbeat

pytestmark = pytest.mark.slow


def enqueue_and_wait(worker) -> None:
    token = uuid.uuid4().hex
    heartbeat.delay(token)
    worker.wait_for(lambda: (cache.get(HEARTBEAT_KEY) or {}).get("token") == token)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set")
def test_a_worker_runs_a_task_through_redis(celery_worker):
    enqueue_and_wait(celery_worker)


def test_a_worker_runs_a_task_through_the_filesystem_broker(filesystem_celery_worker):
    enqueue_and_wait(filesystem_celery_worker)


def test_healthz_reports_when_a_worker_last_beat(filesystem_celery_worker, client):
    enqueue_and_wait(filesystem_celery_worker)
    assert client.get("/healthz").json()["worker_last_seen_seconds_ago"] <= 5
