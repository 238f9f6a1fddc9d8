"""Faults with real processes: gifts succeed while the broker is unreachable, and the
worker is killed (SIGKILL) in the middle of the work; after the sweeps every gift has
exactly one receipt, the numbers have no gap and no twin, and every membership matches
the giving behind it.

Runs on whatever the environment gives the `celery_worker` fixture: Redis and PostgreSQL
in CI (REDIS_URL, DATABASE_URL), the filesystem broker and SQLite without them.
"""

import os
import time

import pytest
from django.db.models import Count

from donations import outbox, reconcile
from donations.memberships import memberships_disagreeing
from donations.models import Donation, GiftConsequence
from members.models import Membership
from receipts.models import Receipt
from tests.celery_worker import CeleryWorker
from tests.donations import stripe_events as se
from tests.factories import DonationFactory, SupporterFactory, TierFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GIFTS = int(os.environ.get("OUTBOX_FAULT_GIFTS", "200"))


@pytest.fixture
def worker_env(tmp_path, monkeypatch, settings):
    """The worker writes PDFs and mail under a var folder of its own; the sweep in this
    process treats every open row as lost (no grace period)."""
    monkeypatch.setenv("PLEDGE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MAIL_BACKEND", "file")
    settings.GIFT_CONSEQUENCE_STUCK_AFTER_SECONDS = 0


def succeed(donation: Donation) -> None:
    reconcile.sync_payment_intent(
        payment_intent={
            "id": donation.stripe_payment_intent_id,
            "status": "succeeded",
            "amount_received": donation.amount,
            "metadata": {"donation_id": str(donation.public_id)},
        }
    )


def open_rows() -> int:
    return GiftConsequence.objects.exclude(status=GiftConsequence.Status.DONE).count()


def test_broker_outages_and_a_killed_worker_end_with_one_receipt_per_gift(worker_env, settings):
    TierFactory(name="Reader", monthly_amount=500, yearly_amount=3000)
    TierFactory(name="Member", monthly_amount=1500, yearly_amount=6000)
    # Two gifts a supporter, so a membership depends on both consequences landing.
    supporters = [SupporterFactory() for _ in range(GIFTS // 2)]
    gifts = [
        DonationFactory(
            supporter=supporters[i % len(supporters)],
            amount=2000 + 100 * (i % 3),
            status=Donation.Status.PENDING,
        )
        for i in range(GIFTS)
    ]
    first, second, third = (
        gifts[: GIFTS // 3],
        gifts[GIFTS // 3 : 2 * GIFTS // 3],
        gifts[2 * GIFTS // 3 :],
    )

    with CeleryWorker.start(settings=settings) as doomed:
        for gift in first:
            succeed(gift)
        with se.broker_down():  # the broker unreachable when these successes are seen
            for gift in second:
                succeed(gift)
        assert (
            GiftConsequence.objects.filter(donation_id__in=[g.pk for g in second])
            .exclude(status=GiftConsequence.Status.PENDING)
            .count()
            == 0
        )
        # The broker is back: the next sweep sends what waited (and ends the pause this
        # process put on publishing after the first failure).
        # (It also sends the first lot's rows the worker has not reached yet: a row run
        # twice does its work once.)
        assert outbox.sweep().resent >= 2 * len(second)
        for gift in third:
            succeed(gift)
        # Kill it while it works through the third lot: mid-issue, mid-render or mid-send.
        doomed.wait_for(lambda: Receipt.objects.count() >= len(first) + 5, timeout=120)
        doomed.process.kill()
        doomed.process.wait(timeout=10)
    left_behind = open_rows()
    assert left_behind > 0, "the kill came too late to leave any work behind"

    # A new worker (the old one's unacknowledged message stays with the broker until its
    # visibility timeout; nothing waits for that), and the sweeps.
    with CeleryWorker.start(settings=settings) as worker:
        deadline = time.monotonic() + 120
        while open_rows() and time.monotonic() < deadline:
            outbox.sweep()
            worker.wait_for(lambda: open_rows() == 0, timeout=15)
        outbox.sweep()  # the finders: unreceipted gifts, tiers out of line
        worker.wait_for(lambda: open_rows() == 0, timeout=60)

    assert Donation.objects.filter(status=Donation.Status.SUCCEEDED).count() == GIFTS
    receipts = Receipt.objects.filter(kind=Receipt.Kind.GIFT)
    assert receipts.count() == GIFTS
    assert not receipts.values("donation").annotate(n=Count("pk")).filter(n__gt=1).exists()
    for series in set(receipts.values_list("series", flat=True)):  # one, unless at New Year
        sequences = sorted(receipts.filter(series=series).values_list("sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1))  # gapless, no twins
    assert memberships_disagreeing() == []
    assert Membership.objects.filter(status=Membership.Status.ACTIVE).count() == len(supporters)
    print(f"{GIFTS} gifts; {left_behind} consequence rows left open by the kill and outage")
