"""Numbering under real concurrency, on PostgreSQL: separate processes, real row locks."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from donations.models import Donation
from receipts import services
from receipts.models import Receipt, ReceiptCounter
from tests import celery_worker as worker_support
from tests import moved_clock
from tests.receipts.conftest import RECEIVED, receipt_number

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent writers are proven on PostgreSQL (set DATABASE_URL)")


def issuer(*args: str) -> subprocess.Popen:
    env = moved_clock.child_environment(
        {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": worker_support.test_database_url(),
            "CONN_MAX_AGE": "0",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tests.receipts.issuer", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def gifts(supporter, count: int) -> list[int]:
    Donation.objects.bulk_create(
        Donation(
            supporter=supporter,
            amount=1000 + i,
            status="succeeded",
            succeeded_at=RECEIVED,
            stripe_payment_intent_id=f"pi_concurrency_{i:05d}",
        )  # fmt: skip
        for i in range(count)
    )
    return list(Donation.objects.order_by("pk").values_list("pk", flat=True))


def test_eight_processes_issuing_2000_receipts_number_them_1_to_2000(donor, tmp_path):
    ids = gifts(donor, 2000)
    start = tmp_path / "go"
    processes = []
    for worker in range(8):
        # Each process also re-issues its neighbour's gifts, as a redelivered task would.
        mine = ids[worker::8] + ids[(worker + 1) % 8 :: 8]
        random.Random(worker).shuffle(mine)
        processes.append(issuer("issue", str(start), ",".join(map(str, mine))))
    start.touch()
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output

    sequences = sorted(Receipt.objects.filter(series="US-2026").values_list("sequence", flat=True))
    assert sequences == list(range(1, 2001))  # no gap, no repeat
    assert Receipt.objects.values("number").distinct().count() == 2000
    assert Receipt.objects.values("donation").distinct().count() == 2000  # one per gift
    assert ReceiptCounter.objects.get(series="US-2026").last_number == 2000


def test_a_worker_killed_mid_issue_and_retried_leaves_one_receipt(gift, tmp_path, outbox):
    marker = tmp_path / "numbered"
    process = issuer("hang", str(marker), str(gift.pk))
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the issuer never took a number"
        time.sleep(0.02)
    assert marker.read_text() == receipt_number(1)
    assert not Receipt.objects.exists()  # nothing is visible before commit

    process.send_signal(signal.SIGKILL)  # the worker dies holding the locks
    process.wait(timeout=10)
    receipt = services.issue_gift_receipt(donation_id=gift.pk)  # acks_late: the task runs again
    services.issue_gift_receipt(donation_id=gift.pk)

    assert Receipt.objects.count() == 1
    assert receipt.number == receipt_number(1)  # the dead transaction's number came back
    assert ReceiptCounter.objects.get(series="US-2026").last_number == 1
    assert len(outbox) == 1
