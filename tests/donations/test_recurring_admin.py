"""Staff manage recurring gifts in the admin: change the amount, pause, resume, cancel.

Every action goes to Stripe (the emulator) first, mirrors Stripe's answer on the row and
leaves an audit entry; the webhooks that follow change nothing more."""

import pytest
from django.contrib.auth.models import Permission

from donations.models import AuditEntry, RecurringDonation
from donations.recurring import (
    ActionRefused,
    recurring_change_amount,
    recurring_pause,
    recurring_resume,
)
from tests.donations.gifts import give
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/donations/recurringdonation/"


@pytest.fixture
def monthly(stripe_webhooks) -> RecurringDonation:
    donation = give(stripe_webhooks, frequency="monthly", amount=1500)
    recurring = RecurringDonation.objects.get(pk=donation.recurring_id)
    assert recurring.status == RecurringDonation.Status.ACTIVE
    return recurring


def act(client, action: str, recurring: RecurringDonation):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [recurring.pk]}, follow=True
    )


def stripe_subscription(emulator, recurring: RecurringDonation) -> dict:
    return emulator.stripe_client("sk_test_emulator").v1.subscriptions.retrieve(
        recurring.stripe_subscription_id
    )


def test_staff_change_the_amount_from_the_next_payment(
    client, admin_user, monthly, stripe_webhooks
):
    client.force_login(admin_user)
    response = client.post(
        f"{CHANGELIST}{monthly.pk}/amount/", {"amount": "20.00", "reason": "donor phoned"}
    )
    assert response.status_code == 302
    monthly.refresh_from_db()
    assert monthly.amount == 2000
    item = stripe_subscription(stripe_webhooks, monthly)["items"]["data"][0]
    assert item["price"]["unit_amount"] == 2000
    entry = AuditEntry.objects.get(action="recurring.change_amount")
    assert (entry.actor, entry.before["amount"], entry.after["amount"]) == (admin_user, 1500, 2000)
    assert entry.reason == "donor phoned"

    stripe_webhooks.advance_past_next_renewal()
    assert monthly.payments.order_by("-created_at").first().amount == 2000


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.005", ""])
def test_a_bad_amount_is_shown_on_the_form_and_nothing_changes(client, admin_user, monthly, amount):
    client.force_login(admin_user)
    response = client.post(f"{CHANGELIST}{monthly.pk}/amount/", {"amount": amount})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    monthly.refresh_from_db()
    assert monthly.amount == 1500
    assert not AuditEntry.objects.exists()


def test_an_amount_above_the_forms_maximum_is_refused(client, admin_user, monthly, settings):
    client.force_login(admin_user)
    too_much = settings.DONATION_MAX_AMOUNT + 1
    response = client.post(f"{CHANGELIST}{monthly.pk}/amount/", {"amount": f"{too_much / 100:.2f}"})
    assert response.status_code == 200
    assert "by arrangement" in response.context["form"].errors["amount"][0]
    monthly.refresh_from_db()
    assert monthly.amount == 1500
    assert not AuditEntry.objects.exists()


def test_the_service_refuses_an_amount_above_the_maximum(monthly, settings):
    with pytest.raises(ActionRefused):
        recurring_change_amount(
            recurring=monthly, amount=settings.DONATION_MAX_AMOUNT + 1, actor=None
        )
    monthly.refresh_from_db()
    assert monthly.amount == 1500


def test_pause_then_resume(client, admin_user, monthly, stripe_webhooks):
    client.force_login(admin_user)
    act(client, "pause", monthly)
    monthly.refresh_from_db()
    assert monthly.status == RecurringDonation.Status.PAUSED
    assert stripe_subscription(stripe_webhooks, monthly)["pause_collection"]["behavior"] == "void"

    act(client, "resume", monthly)
    monthly.refresh_from_db()
    assert monthly.status == RecurringDonation.Status.ACTIVE
    assert stripe_subscription(stripe_webhooks, monthly)["pause_collection"] is None
    assert list(AuditEntry.objects.order_by("at").values_list("action", flat=True)) == [
        "recurring.pause",
        "recurring.resume",
    ]


def test_pausing_twice_is_refused_with_a_message(client, admin_user, monthly):
    client.force_login(admin_user)
    act(client, "pause", monthly)
    response = act(client, "pause", monthly)
    assert "already paused" in response.content.decode()
    assert AuditEntry.objects.filter(action="recurring.pause").count() == 1


def test_cancel_at_period_end_keeps_the_paid_month(client, admin_user, monthly):
    client.force_login(admin_user)
    act(client, "cancel_at_period_end", monthly)
    monthly.refresh_from_db()
    assert monthly.status == RecurringDonation.Status.ACTIVE
    assert monthly.cancel_at_period_end


def test_cancel_now_ends_it_and_no_renewal_follows(client, admin_user, monthly, stripe_webhooks):
    period_end = stripe_subscription(stripe_webhooks, monthly)["items"]["data"][0][
        "current_period_end"
    ]
    client.force_login(admin_user)
    act(client, "cancel_now", monthly)
    monthly.refresh_from_db()
    assert monthly.status == RecurringDonation.Status.CANCELED
    payments = monthly.payments.count()
    # Past the moment the renewal would have been drafted and charged, had it not ended.
    stripe_webhooks.advance_clock(seconds=period_end - stripe_webhooks.now() + 2 * 3600)
    assert monthly.payments.count() == payments
    response = act(client, "pause", monthly)
    assert "Canceled" in response.content.decode() or "canceled" in response.content.decode()


def test_staff_without_the_change_permission_cannot_act(client, monthly):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_recurringdonation"))
    client.force_login(viewer)
    assert client.get(f"{CHANGELIST}{monthly.pk}/amount/").status_code == 403
    act(client, "cancel_now", monthly)
    monthly.refresh_from_db()
    assert monthly.status == RecurringDonation.Status.ACTIVE


def test_a_stranger_is_sent_to_the_admin_sign_in(client, stranger, monthly):
    client.force_login(stranger)
    response = client.get(f"{CHANGELIST}{monthly.pk}/amount/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_change_page_offers_the_amount_link_and_lists_payments(client, admin_user, monthly):
    client.force_login(admin_user)
    page = client.get(f"{CHANGELIST}{monthly.pk}/change/").content.decode()
    assert f"{CHANGELIST}{monthly.pk}/amount/" in page
    assert "15.00" in page or "1500" in page


def test_a_late_webhook_of_an_earlier_action_does_not_undo_the_latest(monthly, stripe_webhooks):
    """Paused then resumed within the same second: Stripe's events carry whole seconds, so
    the pause's event, arriving last, is no older than the resume's. The gift mirrors the
    subscription as it is, whatever order the news comes in."""
    stripe_webhooks.delivery.hold = True
    recurring_pause(recurring=monthly, actor=None, reason="travelling")
    recurring_resume(recurring=monthly, actor=None, reason="back")
    stripe_webhooks.delivery.reverse = True
    stripe_webhooks.flush_webhooks()
    monthly.refresh_from_db()
    assert monthly.status == RecurringDonation.Status.ACTIVE
    assert stripe_subscription(stripe_webhooks, monthly)["pause_collection"] is None
