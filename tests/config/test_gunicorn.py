"""The web server's timeout and the Stripe budget are one setting: under a real gunicorn,
a Stripe that never answers in time still gets the donor our "try again" answer.

Without the budget, gunicorn kills the worker at its timeout and the donor sees a bare
500 (or a dropped connection) while the pending gift stays unmarked."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from config.timeouts import stripe_web_budget_seconds
from donations import checkout
from donations.models import Donation
from fakestripe import Emulator
from fakestripe.server import EmulatorServer
from tests import celery_worker
from tests.config.test_cache import free_port
from tests.donations.test_form import valid_post

BASE_DIR = Path(__file__).resolve().parents[2]
WEB_TIMEOUT = 3


def gunicorn_timeout(environ: dict[str, str]) -> int:
    """The timeout gunicorn resolves from the project's gunicorn.conf.py."""
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "config.wsgi"],
        cwd=BASE_DIR,
        env={**os.environ, "DEBUG": "1", **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("timeout "))
    return int(line.split("=")[1])


@pytest.mark.parametrize("environ", [{}, {"WEB_TIMEOUT_SECONDS": "12"}])
def test_gunicorns_timeout_is_the_setting_the_budget_is_cut_from(environ, settings):
    timeout = gunicorn_timeout(environ)
    assert timeout == int(environ.get("WEB_TIMEOUT_SECONDS", settings.WEB_TIMEOUT_SECONDS))
    assert stripe_web_budget_seconds(timeout) <= timeout - 1  # a second or more to spare
    if not environ:
        assert timeout > settings.STRIPE_WEB_BUDGET_SECONDS


@pytest.fixture
def slow_stripe_server(settings) -> Iterator[EmulatorServer]:
    server = EmulatorServer(Emulator(webhook_secret=settings.STRIPE_WEBHOOK_SECRET)).start()
    yield server
    server.stop()


@pytest.fixture
def gunicorn(transactional_db, slow_stripe_server, tmp_path) -> Iterator[str]:
    """A real gunicorn (one sync worker) on the test database, timing out at WEB_TIMEOUT."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    environ.update(
        DEBUG="1",
        DATABASE_URL=celery_worker.test_database_url(),
        CONN_MAX_AGE="0",
        CACHE_DIR=str(tmp_path / "cache"),
        STRIPE_API_BASE=slow_stripe_server.url,
        WEB_TIMEOUT_SECONDS=str(WEB_TIMEOUT),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/donate/", timeout=5)
            break
        except requests.ConnectionError:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.slow
def test_a_stripe_slower_than_gunicorns_timeout_still_gets_our_answer(gunicorn, slow_stripe_server):
    slow_stripe_server.emulator.inject_fault("slow", delay=WEB_TIMEOUT * 3, times=10)
    session = requests.Session()
    session.get(f"{gunicorn}/donate/", timeout=5)
    started = time.monotonic()
    response = session.post(
        f"{gunicorn}/donate/",
        data=valid_post(custom_amount="25"),
        headers={"Accept": "application/json", "X-CSRFToken": session.cookies["csrftoken"]},
        timeout=WEB_TIMEOUT * 4,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text[:300]
    assert response.json()["errors"]["__all__"] == [checkout.UNREACHABLE_MESSAGE]
    assert elapsed < WEB_TIMEOUT
    donation = Donation.objects.get()
    assert (donation.status, donation.failure_code) == ("pending", checkout.STRIPE_UNREACHABLE)
