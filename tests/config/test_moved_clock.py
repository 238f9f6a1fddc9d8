"""PLEDGE_TEST_NOW: the test process and every process it starts run on the moved clock."""

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests import moved_clock

# Far from any real "now", so a process that kept the machine's clock cannot pass.
MOMENT = datetime.fromisoformat("2031-02-28T23:30:00-05:00")


@pytest.fixture
def moved(monkeypatch):
    """The session's state under PLEDGE_TEST_NOW=MOMENT, for one test."""
    monkeypatch.setenv(moved_clock.ENV, MOMENT.isoformat())
    travel = moved_clock.start()
    yield
    travel.stop()


def clock_of(env: dict[str, str], code: str = "import time; print(time.time())") -> float:
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(result.stdout.split()[-1])


def test_the_test_process_starts_at_the_moment_asked_and_the_clock_ticks(moved):
    first = datetime.now(UTC)
    assert timedelta(0) <= first - MOMENT < timedelta(seconds=5)
    time.sleep(0.05)
    assert datetime.now(UTC) > first


def test_a_child_and_its_child_run_on_the_moved_clock(moved):
    env = moved_clock.child_environment(os.environ)

    assert abs(clock_of(env) - time.time()) < 30
    grandchild = (
        "import os, subprocess, sys; print(subprocess.run([sys.executable, '-c', "
        "'import time; print(time.time())'], env=os.environ, capture_output=True,"
        " text=True, check=True).stdout)"
    )
    assert abs(clock_of(env, grandchild) - time.time()) < 30
    assert abs(time.time() - MOMENT.timestamp()) < 30


def test_a_child_starts_where_the_parents_clock_is_now_not_where_it_began(moved, time_machine):
    time_machine.move_to(MOMENT + timedelta(days=40), tick=True)  # a test that moved on

    env = moved_clock.child_environment(os.environ)

    assert abs(clock_of(env) - (MOMENT + timedelta(days=40)).timestamp()) < 30


def test_without_the_variable_children_keep_the_real_clock(monkeypatch):
    monkeypatch.delenv(moved_clock.ENV, raising=False)

    env = moved_clock.child_environment({**os.environ, moved_clock.ENV: MOMENT.isoformat()})

    assert moved_clock.ENV not in env and moved_clock.start() is None
    assert clock_of(env) < (MOMENT - timedelta(days=365)).timestamp()


@pytest.mark.parametrize(
    ("value", "complaint"),
    [("2027-01-31T23:30:00", "needs a UTC offset"), ("31/01/2027", "not an ISO 8601")],
)
def test_a_moment_without_an_offset_or_not_iso_is_refused(value, complaint):
    with pytest.raises(ValueError, match=complaint):
        moved_clock.requested_now({moved_clock.ENV: value})


@pytest.mark.slow
def test_the_celery_worker_runs_on_the_moved_clock(moved, settings, transactional_db):
    from tests.celery_worker import CeleryWorker

    with CeleryWorker.start(settings=settings) as worker:
        # Celery stamps each log line with the worker's own clock.
        [ready] = [line for line in worker.output if " ready." in line]
    stamp = re.search(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", ready).group(1)
    logged = datetime.fromisoformat(stamp)  # the worker's local time; TZ is UTC or near it
    assert abs(logged - MOMENT.astimezone(UTC).replace(tzinfo=None)) < timedelta(days=1), ready


def test_the_suite_runs_at_the_requested_moment_when_asked():
    """Under `PLEDGE_TEST_NOW=... make test` (CI runs some suites that way), this test
    itself runs on the moved clock: never before the moment asked, and within the session."""
    moment = moved_clock.requested_now()
    if moment is None:
        pytest.skip(f"{moved_clock.ENV} is not set for this run")
    assert moment <= datetime.now(UTC) < moment + timedelta(hours=2)
