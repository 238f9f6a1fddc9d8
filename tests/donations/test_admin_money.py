"""Staff cannot silently change money that was charged and receipted.

The admin shows amounts as money in the gift's currency; once a gift has left pending its
amounts, currency, status and Stripe ids are read-only, and a recurring gift's amount,
currency and interval only change through the audited actions."""

import pytest

from donations.models import AuditEntry, Donation, RecurringDonation
from tests.factories import DonationFactory, RecurringDonationFactory

pytestmark = pytest.mark.django_db


def change_form(client, donation: Donation) -> str:
    return f"/admin/donations/donation/{donation.pk}/change/"


def post_everything(client, url: str, **overrides):
    """POST the change form as it was rendered, with some values changed."""
    context = client.get(url).context
    form = context["adminform"].form
    data = {}
    for name in form.fields:
        data.update(_as_post(name, form[name].field.widget, form[name].value()))
    for inline in context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    data.update(overrides)
    response = client.post(url, data)
    if response.status_code == 200:
        pytest.fail(f"the form was refused: {response.context['errors']}")
    return response


def _as_post(name: str, widget, value) -> dict:
    if hasattr(widget, "widgets"):  # a split date and time
        parts = widget.decompress(value)
        return {f"{name}_{i}": "" if p is None else str(p) for i, p in enumerate(parts)}
    if value is None or value is False:
        return {name: ""} if value is None else {}
    return {name: value}


def test_a_paid_gift_is_shown_as_money_and_its_amount_cannot_be_edited(client, admin_user):
    gift = DonationFactory(
        amount=12000,
        status=Donation.Status.SUCCEEDED,
        stripe_payment_intent_id="pi_paid",
        stripe_charge_id="ch_paid",
    )
    client.force_login(admin_user)
    url = change_form(client, gift)
    page = client.get(url)
    assert "$120.00" in page.content.decode()
    assert "12000" not in page.content.decode()

    response = post_everything(
        client,
        url,
        amount="11999",
        currency="cad",
        status="refunded",
        stripe_payment_intent_id="pi_other",
        stripe_charge_id="ch_other",
        amount_refunded="500",
        campaign="spring",
    )
    assert response.status_code == 302
    gift.refresh_from_db()
    assert (gift.amount, gift.currency, gift.status, gift.amount_refunded) == (
        12000,
        "usd",
        Donation.Status.SUCCEEDED,
        0,
    )
    assert (gift.stripe_payment_intent_id, gift.stripe_charge_id) == ("pi_paid", "ch_paid")
    assert gift.campaign == "spring"  # what is not money stays editable


def test_money_is_shown_in_the_gifts_own_currency(client, admin_user):
    gift = DonationFactory(amount=2500, currency="jpy", status=Donation.Status.SUCCEEDED)
    client.force_login(admin_user)
    assert "¥2,500" in client.get(change_form(client, gift)).content.decode()
    listing = client.get("/admin/donations/donation/").content.decode()
    assert "¥2,500" in listing


def test_a_recurring_gifts_amount_currency_and_interval_cannot_be_edited(client, admin_user):
    recurring = RecurringDonationFactory(amount=1500, stripe_subscription_id="sub_x")
    client.force_login(admin_user)
    url = f"/admin/donations/recurringdonation/{recurring.pk}/change/"
    assert "$15.00" in client.get(url).content.decode()
    response = post_everything(
        client, url, amount="1", currency="eur", interval="year", campaign="autumn"
    )
    assert response.status_code == 302
    recurring.refresh_from_db()
    assert (recurring.amount, recurring.currency, recurring.interval) == (
        1500,
        "usd",
        RecurringDonation.Interval.MONTH,
    )
    assert recurring.campaign == "autumn"
    assert not AuditEntry.objects.exists()


def test_a_pending_gift_cannot_be_marked_paid_by_hand(client, admin_user):
    gift = DonationFactory(amount=12000, status=Donation.Status.PENDING)
    client.force_login(admin_user)
    post_everything(client, change_form(client, gift), status="succeeded", amount="1")
    gift.refresh_from_db()
    assert (gift.status, gift.amount) == (Donation.Status.PENDING, 12000)
