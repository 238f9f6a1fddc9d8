"""Runs a real `celery worker` process for integration tests.

The worker is a separate process with its own settings, built from the environment the
way production builds them: the test passes it the test database's URL and a broker
(Redis when REDIS_URL is set, else kombu's filesystem transport in a temporary folder).
Under PLEDGE_TEST_NOW it runs on the test's moved clock (tests/moved_clock.py).
"""

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from tests import moved_clock

READY_TIMEOUT_SECONDS = 60


def test_database_url() -> str:
    """The URL of the database the test is using right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class CeleryWorker:
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def start(cls, *, settings, filesystem_dir: Path | None = None) -> Iterator["CeleryWorker"]:
        env = moved_clock.child_environment(
            {**os.environ, "DEBUG": "1", "DATABASE_URL": test_database_url(), "CONN_MAX_AGE": "0"}
        )
        redis_url = os.environ.get("REDIS_URL") if filesystem_dir is None else None
        if redis_url:
            broker_url, transport_options = redis_url, {}
            settings.CACHES = {
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": redis_url,
                }
            }
        else:
            queue = filesystem_dir or Path(settings.CELERY_FILESYSTEM_DIR)
            queue.mkdir(parents=True, exist_ok=True)
            cache_dir = queue.parent / "cache"
            env.pop("REDIS_URL", None)
            env.update(CELERY_FILESYSTEM_DIR=str(queue), CACHE_DIR=str(cache_dir))
            broker_url = "filesystem://"
            transport_options = {
                "data_folder_in": str(queue),
                "data_folder_out": str(queue),
                "control_folder": str(queue.parent / "control"),
                "store_processed": False,
            }
            settings.CACHES = {
                "default": {
                    "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                    "LOCATION": str(cache_dir),
                }
            }
        with _app_broker(broker_url, transport_options):
            # Drop anything an earlier test left queued, so this worker runs only our tasks.
            celery_app.control.purge()
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config.celery:app",
                    "worker",
                    "--pool=solo",
                    "--loglevel=INFO",
                    "--without-heartbeat",
                    "--without-mingle",
                    "--without-gossip",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            worker = cls(process=process)
            worker._wait_until_ready()
            try:
                yield worker
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _wait_until_ready(self) -> None:
        ready = threading.Event()

        def pump() -> None:
            for line in self.process.stdout:
                self.output.append(line)
                if " ready." in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not ready.wait(0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("Celery worker did not start:\n" + "".join(self.output))

    def wait_for(self, condition, timeout: float = 30.0, interval: float = 0.1):
        """Poll `condition()` until it returns something truthy; fail with the worker's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(interval)
        raise AssertionError(
            f"timed out after {timeout}s; worker log:\n" + "".join(self.output[-80:])
        )


@contextlib.contextmanager
def _app_broker(url: str, transport_options: dict) -> Iterator[None]:
    """Point the test process's Celery app at a broker, and back afterwards.

    Celery caches its connection and producer pools, so they are dropped both ways.
    """
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.task_always_eager)
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = (
        url,
        transport_options,
        False,
    )
    _drop_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved
        _drop_pools()


def _drop_pools() -> None:
    # kombu keeps a process-wide registry of pools keyed by connection; closing only the
    # app's pool would leave a closed one registered for the next publisher to find.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
