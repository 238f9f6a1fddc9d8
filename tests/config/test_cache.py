"""Redis down: the form keeps taking gifts, the limits still hold within the process, and
the outage is logged once, then again when Redis answers.

The unreachable Redis is a real one: a closed port, or a socket that accepts and never
answers. Nothing is mocked below the cache backend."""

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from django.core import mail
from django.core.cache import cache

from donations import page
from donations.models import Donation
from tests.donations.test_checkout import give
from tests.factories import SupporterFactory

pytestmark = pytest.mark.django_db

BACKEND = "config.cache.RedisCacheWithLocalFallback"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_redis(settings, location: str, **options) -> None:
    page.invalidate()  # so the next page view asks the cache, not this process's copy
    settings.CACHES = {"default": {"BACKEND": BACKEND, "LOCATION": location, "OPTIONS": options}}


def outage_logs(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "config.cache"]


@pytest.fixture
def dead_redis(settings) -> str:
    """REDIS_URL pointing at a port nothing listens on (each test its own)."""
    location = f"redis://127.0.0.1:{free_port()}/4"
    use_redis(settings, location)
    return location


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A Redis that accepts connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/4"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


# --- The donor's paths with Redis down -----------------------------------------------------


def test_the_donation_page_answers_with_redis_unreachable(client, dead_redis, caplog):
    response = client.get("/donate/")
    assert response.status_code == 200
    assert b'name="email"' in response.content
    assert any("unreachable" in line for line in outage_logs(caplog))


def test_a_gift_starts_with_redis_unreachable(client, dead_redis, stripe_emulator):
    response = give(client, custom_amount="25")
    assert response.status_code == 200, response.content
    body = response.json()
    donation = Donation.objects.get()
    assert (donation.status, body["donation_id"]) == ("pending", str(donation.public_id))
    assert stripe_emulator.by_type["payment_intent"] == [donation.stripe_payment_intent_id]
    assert body["client_secret"].startswith(donation.stripe_payment_intent_id)


def test_a_sign_in_link_is_sent_with_redis_unreachable(
    client, dead_redis, donor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/sign-in/", {"email": "donor@example.com"})
    assert response.status_code == 200
    assert b"Check your email" in response.content
    assert len(mail.outbox) == 1


def test_gift_limits_still_hold_within_the_process(client, dead_redis, stripe_emulator, settings):
    settings.DONATION_START_LIMIT = 2
    answers = [give(client, custom_amount=str(10 + n)).status_code for n in range(3)]
    assert answers == [200, 200, 429]
    assert Donation.objects.count() == 2


def test_sign_in_limits_still_hold_within_the_process(
    client, dead_redis, donor, settings, django_capture_on_commit_callbacks
):
    settings.SIGNIN_REQUESTS_PER_HOUR = 2
    SupporterFactory(email="other@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        for email in ["donor@example.com", "other@example.com", "third@example.com"]:
            response = client.post("/account/sign-in/", {"email": email})
    assert b"Too many sign-in emails" in response.content
    assert len(mail.outbox) == 2


def test_an_outage_is_logged_once_not_per_request(client, dead_redis, stripe_emulator, caplog):
    caplog.set_level(logging.WARNING, logger="config.cache")
    for n in range(3):
        client.get("/donate/")
        give(client, custom_amount=str(10 + n))
    (line,) = outage_logs(caplog)
    assert "127.0.0.1" in line and "unreachable" in line


def test_a_hung_redis_costs_one_short_wait_then_none(settings, silent_redis):
    use_redis(settings, silent_redis, fallback_retry_seconds=60)
    started = time.monotonic()
    assert cache.get("anything", "default") == "default"
    first = time.monotonic() - started
    started = time.monotonic()
    for n in range(50):
        cache.set(f"key-{n}", n)
    assert cache.get("key-49") == 49
    rest = time.monotonic() - started
    assert first < 2.0  # the socket timeout (0.5 s), not the OS's minutes
    assert rest < 0.2  # during the back-off Redis is not asked at all


# --- Redis coming back, and the normal path ------------------------------------------------


@pytest.fixture
def redis_server_later() -> Iterator[tuple[str, callable]]:
    """A port with no Redis yet, and a function that starts a real one on it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    started: list[subprocess.Popen] = []

    def start() -> None:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        started.append(process)
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    yield f"redis://127.0.0.1:{port}/4", start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_redis_coming_back_is_used_again_and_logged(settings, redis_server_later, caplog):
    location, start_redis = redis_server_later
    use_redis(settings, location, fallback_retry_seconds=0.2)
    cache.set("during-outage", "memory")
    assert cache.get("during-outage") == "memory"
    start_redis()
    time.sleep(0.3)
    cache.set("after", "redis")
    assert redis.Redis.from_url(location).keys("*after*")  # written to Redis itself
    assert cache.get("during-outage") is None  # Redis's values, not the outage's
    lines = outage_logs(caplog)
    assert len(lines) == 2 and "answers again" in lines[1]


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real Redis)")
def test_with_redis_up_the_limits_are_shared_in_redis(client, settings, stripe_emulator, caplog):
    use_redis(settings, os.environ["REDIS_URL"])
    cache.clear()
    assert client.get("/donate/").status_code == 200
    assert give(client, custom_amount="25").status_code == 200
    assert Donation.objects.get().status == "pending"
    shared = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert shared.keys("*donate:start-ip:*")  # the count is in Redis, for every process
    assert outage_logs(caplog) == []
    cache.clear()


def test_redis_url_configures_the_cache_with_its_fallback():
    environ = {**os.environ, "DEBUG": "1", "REDIS_URL": "redis://127.0.0.1:6379/4"}
    result = subprocess.run(
        [sys.executable, "-c", "from config import settings; print(settings.CACHES)"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert BACKEND in result.stdout and "redis://127.0.0.1:6379/4" in result.stdout
