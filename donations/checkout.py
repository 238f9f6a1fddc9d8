"""Starting a gift: the supporter, the pending Donation, then Stripe.

Order matters. The pending Donation (and, for a recurring gift, its RecurringDonation) is
committed before any call to Stripe, so whatever Stripe does next (answers, times out,
sends a webhook before we hear back) there is a row of ours to find by the UUID in the
metadata. Every Stripe create carries an idempotency key derived from our row's UUID, so
a retry after a timeout, or a second click, can never make a second charge.

Payment status is written only by donations.reconcile (shared with the webhook handlers);
this module records ids and the "Stripe could not be reached" mark.
"""

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone

from donations import card_testing, gateway, ratelimit, reconcile
from donations.forms import GiftRequest
from donations.models import Donation, RecurringDonation
from members.models import Newsletter, Supporter
from members.services import newsletter_request_confirmation, newsletter_subscribe

log = logging.getLogger(__name__)

STRIPE_UNREACHABLE = "stripe_unreachable"
UNREACHABLE_MESSAGE = (
    "We could not reach our card processor just now. Nothing has been charged. "
    "Please try again in a minute."
)
CONSENT_SOURCE = "donation_form"
# Errors that mean "Stripe did not answer properly", worth a retry by the donor.
_TRANSIENT = (
    gateway.APIConnectionError,
    gateway.APIError,
    gateway.RateLimitError,
    gateway.IdempotencyError,
)


class StripeUnavailable(Exception):
    """Stripe was down, slow or refused for its own reasons; the donation is kept, marked."""

    def __init__(self, donation: Donation) -> None:
        super().__init__(UNREACHABLE_MESSAGE)
        self.donation = donation


class GiftRefused(Exception):
    """Stripe refused something the donor typed; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class TooManyStarts(Exception):
    """This IP has started as many gifts as the window allows; nothing was written."""

    def __init__(self) -> None:
        super().__init__(ratelimit.Verdict(allowed=False).message)


class AlreadyGiven(Exception):
    """The page asked to retry a gift that has already succeeded."""

    def __init__(self, donation: Donation) -> None:
        super().__init__("already given")
        self.donation = donation


@dataclass(frozen=True)
class StartedGift:
    donation: Donation
    client_secret: str
    reused: bool


# --- Supporters and their consent -------------------------------------------------------


def _by_email(email: str):
    # LOWER() on both sides, in the database: the same comparison as the unique index on
    # Lower("email") (so PostgreSQL can use it, and SQLite agrees about non-ASCII letters).
    return Supporter.objects.alias(email_lower=Lower("email")).filter(
        email_lower=Lower(Value(email))
    )


def find_or_create_supporter(
    *, email: str, first_name: str, last_name: str, address: dict[str, str]
) -> tuple[Supporter, bool]:
    """The supporter with this email (matched without regard to case), or a new one made
    from what was typed; returns (supporter, created).

    An existing supporter is never changed here: anyone can type anyone's email on the
    public form, so what they typed goes on the gift (Donation.donor_*), and the profile
    changes only from the signed-in account or by staff."""
    supporter = _by_email(email).first()
    if supporter is not None:
        return supporter, False
    try:
        with transaction.atomic():
            created = Supporter.objects.create(
                email=email, first_name=first_name, last_name=last_name, **address
            )
        return created, True
    except IntegrityError:
        # A second request for the same new email won the race; use its row, unchanged.
        return _by_email(email).get(), False


def record_newsletter_consent(
    *, supporter: Supporter, slugs: list[str], ip: str | None, proven: bool
) -> None:
    """The lists the donor ticked. `proven`: this request is known to come from the
    address's owner (they are signed in as this supporter, or the supporter was made by
    this very request). Then consent is recorded at once, as before; otherwise each list
    they do not already receive waits for a confirmation emailed to the address (double
    opt-in), so a stranger can neither undo an unsubscribe nor sign someone up."""
    for newsletter in Newsletter.objects.filter(slug__in=slugs, offered_on_form=True):
        if proven:
            newsletter_subscribe(
                supporter=supporter, newsletter=newsletter, source=CONSENT_SOURCE, ip=ip
            )
        else:
            newsletter_request_confirmation(
                supporter=supporter, newsletter=newsletter, source=CONSENT_SOURCE, ip=ip
            )


# --- The pending gift -----------------------------------------------------------------


def _interval(frequency: str) -> str:
    return (
        RecurringDonation.Interval.YEAR
        if frequency == Donation.Frequency.ANNUAL
        else RecurringDonation.Interval.MONTH
    )


def _write_pending(*, gift: GiftRequest, supporter: Supporter) -> Donation:
    recurring = None
    if gift.frequency != Donation.Frequency.ONE_TIME:
        recurring = RecurringDonation.objects.create(
            supporter=supporter,
            amount=gift.amount,
            fee_covered=gift.fee_covered,
            currency=gift.currency,
            interval=_interval(gift.frequency),
            status=RecurringDonation.Status.INCOMPLETE,
            campaign=gift.campaign,
            source=gift.source,
        )
    return Donation.objects.create(
        supporter=supporter,
        recurring=recurring,
        frequency=gift.frequency,
        amount=gift.amount,
        fee_covered=gift.fee_covered,
        currency=gift.currency,
        status=Donation.Status.PENDING,
        campaign=gift.campaign,
        source=gift.source,
        dedication_kind=gift.dedication_kind,
        dedication_name=gift.dedication_name,
        donor_first_name=gift.first_name,
        donor_last_name=gift.last_name,
        **{f"donor_{name}": value for name, value in gift.address.items()},
    )


def _retryable(gift: GiftRequest) -> Donation | None:
    """The page's earlier, unfinished attempt at this same gift, if that is what this is.

    A retry after a decline reuses the Donation and its PaymentIntent (Stripe allows a new
    card on the same intent), so one gift never becomes two charges. A changed amount or
    frequency is a new gift."""
    if gift.donation_id is None:
        return None
    donation = (
        Donation.objects.select_related("supporter", "recurring")
        .filter(public_id=gift.donation_id, supporter__email__iexact=gift.email)
        .first()
    )
    if donation is None:
        return None
    if donation.status == Donation.Status.SUCCEEDED:
        raise AlreadyGiven(donation)
    same_gift = (
        donation.frequency == gift.frequency
        and donation.amount == gift.amount
        and donation.fee_covered == gift.fee_covered
        and donation.currency == gift.currency
    )
    if same_gift and donation.status in {Donation.Status.PENDING, Donation.Status.FAILED}:
        return donation
    return None


# --- Stripe -----------------------------------------------------------------------------


def _saved_customer_id(supporter: Supporter, *, fresh_key: str = "") -> str:
    """The supporter's own Stripe customer (made and saved on first use)."""
    if supporter.stripe_customer_id and not fresh_key:
        return supporter.stripe_customer_id
    customer = gateway.create_customer(
        email=supporter.email,
        name=supporter.full_name,
        idempotency_key=f"pledge-customer-{supporter.public_id}{fresh_key}",
    )
    Supporter.objects.filter(pk=supporter.pk).update(stripe_customer_id=customer.id)
    supporter.stripe_customer_id = customer.id
    return customer.id


def _gift_customer_id(donation: Donation, *, fresh_key: str = "") -> str:
    """A Stripe customer of this gift's own, named as the donor typed, saved nowhere: an
    unproven gift must not join the supporter's customer (their payment history, their
    saved cards, what a billing portal would show them)."""
    customer = gateway.create_customer(
        email=donation.supporter.email,
        name=donation.typed_name or donation.supporter.full_name,
        idempotency_key=f"pledge-gift-customer-{donation.public_id}{fresh_key}",
    )
    return customer.id


def _customer_id(donation: Donation, *, proven: bool, fresh_key: str = "") -> str:
    """The customer this gift pays under. The supporter's own only when the request is
    proven to come from them (signed in, or the supporter is new with this gift); else
    one of the gift's own, so a stranger who types someone's email cannot attach their
    payment to that person's Stripe history. Kept on the gift, so a retry (after a lost
    answer) repeats exactly the request it made before."""
    if donation.stripe_customer_id and not fresh_key:
        return donation.stripe_customer_id
    if proven:
        customer_id = _saved_customer_id(donation.supporter, fresh_key=fresh_key)
    else:
        customer_id = _gift_customer_id(donation, fresh_key=fresh_key)
    Donation.objects.filter(pk=donation.pk).update(stripe_customer_id=customer_id)
    donation.stripe_customer_id = customer_id
    return customer_id


def _description(gift_frequency: str) -> str:
    kind = {"one_time": "Gift", "monthly": "Monthly gift", "annual": "Annual gift"}[gift_frequency]
    return f"{kind} to {settings.ORG_NAME}"


def _start_payment_intent(donation: Donation, customer_id: str) -> str:
    intent = gateway.create_payment_intent(
        amount=donation.amount,
        currency=donation.currency,
        customer_id=customer_id,
        description=_description(donation.frequency),
        metadata={"donation_id": str(donation.public_id)},
        # Every parameter that can differ between tries is in the key (the customer, when
        # a deleted one is replaced): Stripe refuses a key reused with other parameters.
        idempotency_key=f"pledge-donation-{donation.public_id}-{customer_id}",
    )
    Donation.objects.filter(pk=donation.pk, stripe_payment_intent_id__isnull=True).update(
        stripe_payment_intent_id=intent.id
    )
    donation.stripe_payment_intent_id = intent.id
    return intent.client_secret


def _first_payment_intent_id(invoice: dict[str, Any], client_secret: str) -> str:
    payments = invoice.get("payments") or {}
    for payment in payments.get("data") or []:
        found = reconcile.stripe_id((payment.get("payment") or {}).get("payment_intent"))
        if found:
            return found
    # A client secret is "<PaymentIntent id>_secret_<...>", as Stripe documents.
    return client_secret.split("_secret_")[0] if "_secret_" in client_secret else ""


def _start_subscription(donation: Donation, customer_id: str) -> str:
    recurring = donation.recurring
    subscription = reconcile.plain(
        gateway.create_subscription(
            customer_id=customer_id,
            amount=donation.amount,
            currency=donation.currency,
            interval=recurring.interval,
            description=_description(donation.frequency),
            metadata={
                "recurring_donation_id": str(recurring.public_id),
                "donation_id": str(donation.public_id),
            },
            idempotency_key=f"pledge-subscription-{recurring.public_id}-{customer_id}",
        )
    )
    invoice = subscription.get("latest_invoice") or {}
    client_secret = ((invoice.get("confirmation_secret") or {}).get("client_secret")) or ""
    if not client_secret:
        raise gateway.APIError("the subscription's first invoice has no confirmation secret")
    payment_intent_id = _first_payment_intent_id(invoice, client_secret)
    RecurringDonation.objects.filter(pk=recurring.pk, stripe_subscription_id__isnull=True).update(
        stripe_subscription_id=subscription["id"]
    )
    # A webhook may have linked these already (reconcile matches by our metadata).
    Donation.objects.filter(pk=donation.pk, stripe_invoice_id__isnull=True).update(
        stripe_invoice_id=invoice.get("id")
    )
    if payment_intent_id:
        Donation.objects.filter(pk=donation.pk, stripe_payment_intent_id__isnull=True).update(
            stripe_payment_intent_id=payment_intent_id
        )
        donation.stripe_payment_intent_id = payment_intent_id
    return client_secret


def _mark_unreachable(donation: Donation, error: Exception) -> None:
    log.warning("Stripe unavailable while starting donation %s: %s", donation.public_id, error)
    Donation.objects.filter(pk=donation.pk).update(
        failure_code=STRIPE_UNREACHABLE,
        failure_message=UNREACHABLE_MESSAGE[:500],
        updated_at=timezone.now(),
    )


def _talk_to_stripe(donation: Donation, *, proven: bool) -> str:
    if donation.stripe_payment_intent_id:
        # A retry of a declined gift: a new card on the same intent, no new customer.
        return gateway.retrieve_payment_intent(donation.stripe_payment_intent_id).client_secret
    start = (
        _start_payment_intent
        if donation.frequency == Donation.Frequency.ONE_TIME
        else _start_subscription
    )
    try:
        return start(donation, _customer_id(donation, proven=proven))
    except gateway.InvalidRequestError as error:
        if error.code == "resource_missing" and error.param == "customer":
            # The customer was deleted in Stripe's dashboard: make the donor a new one.
            customer_id = _customer_id(donation, proven=proven, fresh_key=f"-{donation.public_id}")
            return start(donation, customer_id)
        raise


def start_gift(
    *, gift: GiftRequest, ip: str | None, signed_in: Supporter | None = None
) -> StartedGift:
    """Write (or reuse) the pending gift, then ask Stripe for what the browser confirms.

    `signed_in` is the supporter whose account this browser is signed in to, if any: it
    proves the email is theirs. Raises TooManyStarts (nothing written), StripeUnavailable
    (the donation is kept, marked), GiftRefused (a field Stripe would not take) or
    AlreadyGiven."""
    donation = _retryable(gift)
    reused = donation is not None
    if ip and not reused and not ratelimit.claim_start(ip=ip):
        raise TooManyStarts()
    with transaction.atomic():
        supporter, created = find_or_create_supporter(
            email=gift.email,
            first_name=gift.first_name,
            last_name=gift.last_name,
            address=gift.address,
        )
        proven = created or (signed_in is not None and signed_in.pk == supporter.pk)
        record_newsletter_consent(
            supporter=supporter, slugs=gift.newsletter_slugs, ip=ip, proven=proven
        )
        if donation is None:
            donation = _write_pending(gift=gift, supporter=supporter)
    donation.supporter = supporter
    if ip:
        ratelimit.remember_gift(donation_pk=donation.pk, ip=ip, reused=reused)
    try:
        client_secret = _talk_to_stripe(donation, proven=proven)
    except _TRANSIENT as error:
        _mark_unreachable(donation, error)
        raise StripeUnavailable(donation) from error
    except gateway.InvalidRequestError as error:
        if error.param and "email" in error.param:
            raise GiftRefused(
                "email", "Our card processor did not accept this email address."
            ) from error
        # Our request was wrong, not the donor: log it loudly, tell the donor to retry.
        log.exception("Stripe refused the request starting donation %s", donation.public_id)
        _mark_unreachable(donation, error)
        raise StripeUnavailable(donation) from error
    except gateway.StripeError as error:
        log.exception("Stripe error starting donation %s", donation.public_id)
        _mark_unreachable(donation, error)
        raise StripeUnavailable(donation) from error
    Donation.objects.filter(pk=donation.pk, failure_code=STRIPE_UNREACHABLE).update(
        failure_code="", failure_message=""
    )
    return StartedGift(donation=donation, client_secret=client_secret, reused=reused)


# --- After the browser confirms --------------------------------------------------------


def refresh_from_stripe(*, donation: Donation, ip: str | None) -> tuple[Donation, dict[str, Any]]:
    """Ask Stripe how the donation's payment went and apply it (the thank-you page, and
    the page's report of a decline). A declined card counts toward the card-testing limits.

    Returns the donation as it now stands and the PaymentIntent as a plain dict."""
    if not donation.stripe_payment_intent_id:
        return donation, {}
    payment_intent = reconcile.plain(
        gateway.retrieve_payment_intent(donation.stripe_payment_intent_id)
    )
    donation = reconcile.sync_payment_intent(payment_intent=payment_intent) or donation
    if donation.recurring_id and payment_intent.get("status") == "succeeded":
        recurring = RecurringDonation.objects.get(pk=donation.recurring_id)
        if recurring.stripe_subscription_id:
            reconcile.sync_subscription(
                subscription=gateway.retrieve_subscription(recurring.stripe_subscription_id)
            )
    if ip and card_testing.is_card_decline(payment_intent):
        card_testing.count_attempt(
            donation=donation, payment_intent=payment_intent, ip_digest=ratelimit.digest(ip)
        )
    return donation, payment_intent


def donation_for_page(public_id: str) -> Donation | None:
    try:
        parsed = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return (
        Donation.objects.select_related("supporter", "recurring").filter(public_id=parsed).first()
    )
