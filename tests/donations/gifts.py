"""Starting gifts in tests the way the form does (donations.checkout), then paying them
through the emulator as the browser would."""

from typing import Any

from donations import checkout
from donations.forms import GiftRequest
from donations.models import Donation

ADDRESS = {
    "address_line1": "12 Elm Street",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62704",
    "country": "US",
}


def start(
    *, frequency: str = "one_time", amount: int = 2500, email: str = "donor@example.com"
) -> checkout.StartedGift:
    gift = GiftRequest(
        frequency=frequency,
        gift_amount=amount,
        fee_covered=0,
        email=email,
        first_name="Dana",
        last_name="Donor",
        address=dict(ADDRESS),
    )
    return checkout.start_gift(gift=gift, ip=None)


def give(emulator, *, card: str = "4242424242424242", **kwargs: Any) -> Donation:
    """Start a gift and confirm it with `card`; returns the donation as it now stands."""
    started = start(**kwargs)
    emulator.confirm_with_card(started.client_secret, card_number=card)
    return Donation.objects.get(pk=started.donation.pk)


def summary(email: str = "donor@example.com") -> dict[str, Any]:
    """Everything the webhooks wrote for one supporter, without the random Stripe ids:
    what a second run with other deliveries (twice, reversed) must reproduce exactly."""
    from donations.models import LedgerEntry, RecurringDonation, StripeEvent

    donations = Donation.objects.filter(supporter__email=email).order_by("created_at", "pk")
    return {
        "donations": [
            (
                d.frequency,
                d.status,
                d.amount,
                d.amount_refunded,
                bool(d.stripe_payment_intent_id),
                bool(d.stripe_invoice_id),
                bool(d.stripe_charge_id),
                d.failure_code,
                d.succeeded_at is not None,
            )
            for d in donations
        ],
        "recurring": [
            (
                r.status,
                r.failure_count,
                bool(r.stripe_subscription_id),
                r.current_period_end is not None,
                r.cancel_at_period_end,
            )
            for r in RecurringDonation.objects.filter(supporter__email=email).order_by("pk")
        ],
        "ledger": sorted(
            (
                e.kind,
                e.gross,
                e.fee,
                e.net,
                e.currency,
                bool(e.stripe_payout_id),
                e.donation.status if e.donation else None,
            )
            for e in LedgerEntry.objects.filter(donation__supporter__email=email)
        ),
        "inbox_unsettled": StripeEvent.objects.exclude(
            status__in=[StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED]
        ).count(),
    }


def make_renewals_fail(subscription_id: str) -> None:
    """Put a card on the subscription that attaches but declines every charge (0341), as
    when a donor's card is cancelled between payments."""
    from donations import gateway

    client = gateway.client()
    subscription = client.v1.subscriptions.retrieve(subscription_id)
    card = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": subscription.customer}
    )
    client.v1.subscriptions.update(subscription_id, params={"default_payment_method": card.id})
