"""The gift outbox (donations.hooks, donations.outbox): a gift's consequences are rows
written with its change, run by one task, and found again by the sweep whatever was lost."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from donations import outbox, reconcile, tasks
from donations.models import Donation, GiftConsequence
from members.models import Membership
from receipts import services
from receipts.models import Receipt, ReceiptProblem
from tests.donations import stripe_events as se
from tests.factories import DonationFactory, TierFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _organisation(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.ORG_JURISDICTION = "US"
    settings.ORG_NAME = "Springfield Free Press"
    settings.ORG_TAX_ID = "12-3456789"
    settings.GIFT_CONSEQUENCE_STUCK_AFTER_SECONDS = 0


@pytest.fixture
def member_tier(db):
    return TierFactory(
        name="Member",
        monthly_amount=1500,
        yearly_amount=6000,
        benefit_value=1500,
        benefit_description="A year of the members' print quarterly",
    )


def pending_gift(donor, amount: int = 6000) -> Donation:
    return DonationFactory(supporter=donor, amount=amount, status=Donation.Status.PENDING)


def succeed(donation: Donation) -> Donation:
    """Stripe's news that the gift's PaymentIntent succeeded, as the thank-you page and the
    webhook apply it."""
    return reconcile.sync_payment_intent(
        payment_intent={
            "id": donation.stripe_payment_intent_id,
            "status": "succeeded",
            "amount_received": donation.amount,
            "metadata": {"donation_id": str(donation.public_id)},
        }
    )


def receipts_of(donation: Donation) -> list[Receipt]:
    return list(Receipt.objects.filter(donation=donation))


def test_a_success_writes_one_row_per_consequence_and_one_task_runs_them(
    donor, member_tier, monkeypatch
):
    sent: list[list[int]] = []
    original = outbox._send
    monkeypatch.setattr(outbox, "_send", lambda pks: (sent.append(pks), original(pks)))
    gift = succeed(pending_gift(donor))

    rows = GiftConsequence.objects.filter(donation_id=gift.pk)
    assert sorted(rows.values_list("consequence", "status")) == [
        ("donations.memberships.membership_follows_giving", "done"),
        ("receipts.listeners.issue_receipt", "done"),
    ]
    assert len(sent) == 1 and sorted(sent[0]) == sorted(rows.values_list("pk", flat=True))
    assert len(receipts_of(gift)) == 1
    assert donor.memberships.get().tier == member_tier


def test_the_rows_roll_back_with_the_gift(donor):
    gift = pending_gift(donor)
    with pytest.raises(RuntimeError), transaction.atomic():
        succeed(gift)
        raise RuntimeError("the inbox's transaction fails after the handler")
    gift.refresh_from_db()
    assert gift.status == Donation.Status.PENDING
    assert not GiftConsequence.objects.exists()


def test_a_broker_down_when_success_is_seen_loses_nothing_the_sweep_drives_it(donor, member_tier):
    """Point 1: the thank-you page saw the success while the broker was unreachable."""
    with se.broker_down():  # and not eager: the publish really fails
        gift = succeed(pending_gift(donor))

    assert receipts_of(gift) == []
    assert set(GiftConsequence.objects.values_list("status", flat=True)) == {"pending"}

    assert tasks.sweep_gift_consequences() == {"resent": 2, "found_missed": 0}
    [receipt] = receipts_of(gift)
    assert receipt.status == Receipt.Status.ISSUED
    assert donor.memberships.get().tier == member_tier
    assert tasks.sweep_gift_consequences() == {"resent": 0, "found_missed": 0}


def test_the_sweep_finds_a_succeeded_gift_that_never_had_a_row(donor):
    gift = DonationFactory(supporter=donor, succeeded_at=timezone.now() - dt.timedelta(hours=1))

    assert tasks.sweep_gift_consequences()["found_missed"] == 1
    assert len(receipts_of(gift)) == 1
    assert tasks.sweep_gift_consequences()["found_missed"] == 0


def test_the_sweep_leaves_a_gift_with_an_open_problem_or_a_voided_receipt(
    donor, settings, admin_user
):
    settings.ORG_TAX_ID = ""  # every receipt now has a problem instead
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    with_problem = DonationFactory(supporter=donor, succeeded_at=an_hour_ago)
    tasks.sweep_gift_consequences()
    assert ReceiptProblem.objects.filter(donation=with_problem, resolved_at=None).exists()

    settings.ORG_TAX_ID = "12-3456789"
    voided = DonationFactory(supporter=donor, succeeded_at=an_hour_ago)
    receipt = services.issue_gift_receipt(donation_id=voided.pk)
    services.void_receipt(receipt_id=receipt.pk, reason="issued in error", actor=admin_user)

    assert tasks.sweep_gift_consequences()["found_missed"] == 0
    assert receipts_of(with_problem) == []
    assert [r.status for r in receipts_of(voided)] == [Receipt.Status.VOID]


def test_a_consequence_that_fails_is_recorded_and_the_sweep_retries_it(donor, monkeypatch):
    real_issue = services.issue_gift_receipt

    def database_hiccup(**kwargs):
        raise ConnectionError("lost the database for a moment")

    monkeypatch.setattr(services, "issue_gift_receipt", database_hiccup)
    gift = succeed(pending_gift(donor))
    row = GiftConsequence.objects.get(consequence="receipts.listeners.issue_receipt")
    assert (row.status, row.attempts) == ("failed", 1)
    assert "lost the database" in row.last_error
    assert receipts_of(gift) == []

    monkeypatch.setattr(services, "issue_gift_receipt", real_issue)
    assert tasks.sweep_gift_consequences()["resent"] == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("done", 2, "")
    assert len(receipts_of(gift)) == 1


def test_a_row_run_twice_does_its_work_once(donor):
    gift = succeed(pending_gift(donor))
    pks = list(GiftConsequence.objects.values_list("pk", flat=True))
    assert outbox.run(pks) == []
    assert [outbox.run_one(pk) for pk in pks] == ["skipped", "skipped"]
    assert len(receipts_of(gift)) == 1


def test_the_sweep_repairs_a_membership_that_disagrees_with_giving(donor, member_tier):
    DonationFactory(
        supporter=donor, amount=6000, succeeded_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert not donor.memberships.exists()

    tasks.sweep_gift_consequences()
    assert donor.memberships.get(status=Membership.Status.ACTIVE).tier == member_tier

    # A membership nobody's giving supports (written by hand, or giving refunded away).
    Donation.objects.filter(supporter=donor).update(
        amount_refunded=6000, status=Donation.Status.REFUNDED
    )
    tasks.sweep_gift_consequences()
    assert not donor.memberships.filter(status=Membership.Status.ACTIVE).exists()
