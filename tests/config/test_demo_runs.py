"""`make demo`'s runner starts the whole system on embedded defaults and Ctrl-C stops it."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests import moved_clock

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_env(tmp_path) -> dict[str, str]:
    web, stripe_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "CELERY_FILESYSTEM_DIR",
            "CACHE_DIR",
        }
    }
    env.update(
        PORT=str(web),
        FAKESTRIPE_PORT=str(stripe_port),
        PLEDGE_VAR_DIR=str(tmp_path / "var"),
        DEBUG="1",
    )
    return env


def test_the_demo_starts_within_a_minute_answers_healthz_and_stops_on_ctrl_c(tmp_path):
    env = demo_env(tmp_path)
    web, stripe_port = int(env["PORT"]), int(env["FAKESTRIPE_PORT"])
    started = time.monotonic()
    demo = subprocess.Popen(
        [sys.executable, "-m", "config.demo"],
        env=moved_clock.child_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    running = threading.Event()

    def pump() -> None:
        for line in demo.stdout:
            output.append(line)
            if "Pledge is running:" in line:
                running.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert running.wait(60), "demo did not start within a minute:\n" + "".join(output)
        assert time.monotonic() - started < 60
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/donate/", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{stripe_port}/v3/", timeout=5) as response:
            assert response.status == 200
        assert "password '" in "".join(output)
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    # Every process it started is gone: the ports are free again.
    for port in (web, stripe_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "".join(output)


def run_demo_until_it_is_up(env: dict[str, str]) -> str:
    """Start `make demo`'s runner, wait for its banner, Ctrl-C it; returns its output."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "config.demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    running = threading.Event()

    def pump() -> None:
        for line in demo.stdout:
            output.append(line)
            if "Pledge is running" in line:
                running.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert running.wait(90), "demo did not start:\n" + "".join(output)
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    return "".join(output)


def manage(env: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_restarted_demo_starts_afresh_with_database_queue_and_emulator_agreeing(tmp_path):
    env = demo_env(tmp_path)
    run_demo_until_it_is_up(env)
    # What the first run leaves: a monthly gift whose subscription lived only in that
    # run's emulator, and a task still queued for it.
    manage(
        env,
        "from members.models import Supporter; from donations.models import RecurringDonation;"
        "s = Supporter.objects.create(email='last-run@example.com');"
        "RecurringDonation.objects.create(supporter=s, amount=1500, currency='usd',"
        " interval='month', status='active', stripe_subscription_id='sub_lastrun')",
    )
    queued = tmp_path / "var" / "celery" / "queue" / "left-by-the-last-run.msg"
    queued.write_text("{}")

    output = run_demo_until_it_is_up(env)

    assert "Starting afresh" in output
    assert "emptied the SQLite database" in output and "emptied the Celery queue" in output
    assert not queued.exists()
    counts = manage(
        env,
        "from members.models import Supporter; from donations.models import RecurringDonation;"
        "print(Supporter.objects.count(), RecurringDonation.objects.count())",
    )
    assert counts.splitlines()[-1] == "0 0"
