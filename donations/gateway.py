"""The one door to Stripe. Only this module calls the Stripe SDK.

It speaks to whatever STRIPE_API_BASE names: Stripe itself in production, the project's
emulator (fakestripe) in development and tests. Tests swap the client with
`use_client(...)`, never the SDK's internals.

Time: gunicorn kills a worker that spends WEB_TIMEOUT_SECONDS on one request, and the
donor then gets its bare error page while the pending gift stays unmarked. So every web
request gets a deadline for its Stripe calls together (STRIPE_WEB_BUDGET_SECONDS, well
inside that timeout): each call's timeout and the SDK's retries shrink to the time left,
and past it a call raises StripeTooSlow, which callers already handle as "Stripe is
down". Celery tasks and commands have no such deadline: each call there may take
STRIPE_TIMEOUT_SECONDS per try, with the SDK's retries.
"""

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from typing import Any

import stripe
from django.conf import settings
from django.core.signals import request_finished, request_started, setting_changed

# The SDK's retries (with the same idempotency key, so never a second charge).
MAX_NETWORK_RETRIES = 2
# Below this much time left a call or a retry is not started: a round trip to Stripe
# takes a few hundred milliseconds when it is well.
MIN_ATTEMPT_SECONDS = 0.5

# When this request's (or block's) Stripe calls must be done, on time.monotonic()'s clock.
_deadline: ContextVar[float | None] = ContextVar("stripe_deadline", default=None)


class StripeTooSlow(stripe.APIConnectionError):
    """The time allowed for Stripe in this request ran out. A connection error, so every
    caller treats it as Stripe being down: the donor is asked to try again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, should_retry=False)


def seconds_left() -> float | None:
    """Time left for Stripe calls here, or None when there is no deadline."""
    ends = _deadline.get()
    return None if ends is None else ends - time.monotonic()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Stripe calls inside must be done within `seconds`; an earlier deadline still holds."""
    ends = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(ends if current is None else min(current, ends))
    try:
        yield
    finally:
        _deadline.reset(token)


def _start_web_deadline(**_kwargs: Any) -> None:
    _deadline.set(time.monotonic() + settings.STRIPE_WEB_BUDGET_SECONDS)


def _end_web_deadline(**_kwargs: Any) -> None:
    _deadline.set(None)


# Connected from DonationsConfig.ready(), so the first request already has its deadline.
request_started.connect(_start_web_deadline, dispatch_uid="stripe-web-deadline-start")
request_finished.connect(_end_web_deadline, dispatch_uid="stripe-web-deadline-end")


class DeadlineRequestsClient(stripe.RequestsClient):
    """The SDK's requests-based client, with each try and retry fitted to the time left."""

    @property
    def _timeout(self) -> float:  # read by RequestsClient for every try
        left = seconds_left()
        return self.configured_timeout if left is None else min(self.configured_timeout, left)

    @_timeout.setter
    def _timeout(self, value: float) -> None:  # RequestsClient.__init__ stores it here
        self.configured_timeout = value

    def _before_try(self) -> None:
        left = seconds_left()
        if left is not None and left < MIN_ATTEMPT_SECONDS:
            raise StripeTooSlow(f"No time left for Stripe in this request ({left:.2f} s).")

    def _after_failed_try(self, error: stripe.APIConnectionError) -> None:
        left = seconds_left()
        if left is not None and left < MIN_ATTEMPT_SECONDS:
            raise StripeTooSlow(f"Stripe did not answer within this request's budget: {error}")

    def request(self, *args: Any, **kwargs: Any):
        self._before_try()
        try:
            return super().request(*args, **kwargs)
        except stripe.APIConnectionError as error:
            self._after_failed_try(error)
            raise

    def request_stream(self, *args: Any, **kwargs: Any):
        self._before_try()
        try:
            return super().request_stream(*args, **kwargs)
        except stripe.APIConnectionError as error:
            self._after_failed_try(error)
            raise

    def _sleep_time_seconds(self, num_retries: int) -> float:
        sleep = super()._sleep_time_seconds(num_retries)
        left = seconds_left()
        # A retry that could not start in time is not worth the wait.
        return sleep if left is None else max(0.0, min(sleep, left - MIN_ATTEMPT_SECONDS))

    def _should_retry(self, response, api_connection_error, num_retries, max_network_retries):
        if not super()._should_retry(
            response, api_connection_error, num_retries, max_network_retries
        ):
            return False
        left = seconds_left()
        return left is None or left >= MIN_ATTEMPT_SECONDS + stripe.HTTPClient.INITIAL_DELAY


# The API version every request names, and the one the handlers are written for: the
# version the installed SDK is built against. Webhook events come in the endpoint's own
# version, so the endpoint is created with this one (README, "Stripe webhooks").
API_VERSION: str = stripe.api_version


@cache
def _default_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        stripe_version=API_VERSION,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=DeadlineRequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _forget_client(*, setting: str, **_kwargs: Any) -> None:
    # Tests point STRIPE_API_BASE (or the keys, the timeout) elsewhere.
    if setting.startswith("STRIPE_"):
        _default_client.cache_clear()


setting_changed.connect(_forget_client, dispatch_uid="stripe-gateway-settings")

_override: list[stripe.StripeClient] = []


def client() -> stripe.StripeClient:
    return _override[-1] if _override else _default_client()


@contextlib.contextmanager
def use_client(replacement: stripe.StripeClient) -> Iterator[stripe.StripeClient]:
    """Route every gateway call through `replacement` (tests: the in-process emulator)."""
    _override.append(replacement)
    try:
        yield replacement
    finally:
        _override.remove(replacement)


# --- Starting a gift (donations.checkout) -----------------------------------------------
# Every create carries an idempotency key derived from our own row's UUID, so a retry after
# a timeout (by the SDK, the donor or the page) gets the object Stripe already made.


def create_customer(*, email: str, name: str, idempotency_key: str) -> stripe.Customer:
    return client().v1.customers.create(
        params={"email": email, "name": name}, options={"idempotency_key": idempotency_key}
    )


def create_payment_intent(
    *,
    amount: int,
    currency: str,
    customer_id: str,
    description: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> stripe.PaymentIntent:
    # No receipt_email: the tax receipt is ours, Stripe's own receipt would confuse donors.
    return client().v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": currency,
            "customer": customer_id,
            "description": description,
            "metadata": metadata,
            "automatic_payment_methods": {"enabled": True},
        },
        options={"idempotency_key": idempotency_key},
    )


def retrieve_payment_intent(payment_intent_id: str) -> stripe.PaymentIntent:
    return client().v1.payment_intents.retrieve(payment_intent_id)


def donation_product_id() -> str:
    """The Stripe product every recurring gift's price points at, made on first use.

    Subscription items take `price_data` but it must name a product; a fixed id makes
    creating it idempotent across processes and restarts."""
    product_id = settings.STRIPE_DONATION_PRODUCT_ID
    # Remember it only for the real client: a test's fresh emulator starts with no products.
    if product_id in _known_products and not _override:
        return product_id
    try:
        client().v1.products.retrieve(product_id)
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise
        try:
            client().v1.products.create(params={"id": product_id, "name": "Recurring gift"})
        except stripe.InvalidRequestError as create_error:
            # Another process made it between our two calls.
            if create_error.code != "resource_already_exists":
                raise
    if not _override:
        _known_products.add(product_id)
    return product_id


_known_products: set[str] = set()


def create_subscription(
    *,
    customer_id: str,
    amount: int,
    currency: str,
    interval: str,
    description: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> stripe.Subscription:
    """An incomplete subscription whose first invoice the browser pays with the Payment
    Element (`default_incomplete`); its client secret is on latest_invoice."""
    return client().v1.subscriptions.create(
        params={
            "customer": customer_id,
            "description": description,
            "items": [
                {
                    "price_data": {
                        "currency": currency,
                        "product": donation_product_id(),
                        "unit_amount": amount,
                        "recurring": {"interval": interval},
                    }
                }
            ],
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "metadata": metadata,
            "expand": ["latest_invoice.confirmation_secret", "latest_invoice.payments"],
        },
        options={"idempotency_key": idempotency_key},
    )


def retrieve_subscription(subscription_id: str) -> stripe.Subscription:
    return client().v1.subscriptions.retrieve(subscription_id)


def cancel_payment_intent(payment_intent_id: str) -> stripe.PaymentIntent:
    return client().v1.payment_intents.cancel(
        payment_intent_id, params={"cancellation_reason": "abandoned"}
    )


def cancel_subscription(subscription_id: str) -> stripe.Subscription:
    return client().v1.subscriptions.cancel(subscription_id)


# --- Webhooks and reconciliation (the webhook inbox, its handlers and the sweep) ---------

# Stripe's own default: a signature older than five minutes is refused (replay defence).
WEBHOOK_TOLERANCE_SECONDS = 300


class WebhookSignatureInvalid(Exception):
    """The Stripe-Signature header is absent, malformed, wrong or too old."""


def verify_webhook_signature(
    *, payload: bytes, header: str | None, secret: str | None = None
) -> None:
    """Check the HMAC only (~11 µs); construct_event would also build SDK objects (~1 ms)."""
    try:
        stripe.WebhookSignature.verify_header(
            payload,
            header,
            secret if secret is not None else settings.STRIPE_WEBHOOK_SECRET,
            tolerance=WEBHOOK_TOLERANCE_SECONDS,
        )
    # TypeError: hmac.compare_digest refuses a header with non-ASCII text in it.
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, TypeError) as error:
        raise WebhookSignatureInvalid(str(error)) from error


def retrieve_charge(charge_id: str) -> stripe.Charge:
    """The charge with its balance transaction expanded (gross, fee and net for the ledger)."""
    return client().v1.charges.retrieve(charge_id, params={"expand": ["balance_transaction"]})


def retrieve_balance_transaction(balance_transaction_id: str) -> stripe.BalanceTransaction:
    return client().v1.balance_transactions.retrieve(balance_transaction_id)


def retrieve_dispute(dispute_id: str) -> stripe.Dispute:
    return client().v1.disputes.retrieve(dispute_id)


def list_refunds(*, charge_id: str) -> Iterator[stripe.Refund]:
    """Every refund of a charge, each with its balance transaction expanded."""
    page = client().v1.refunds.list(
        params={"charge": charge_id, "limit": 100, "expand": ["data.balance_transaction"]}
    )
    return page.auto_paging_iter()


def invoice_payment_intent_id(invoice_id: str) -> str:
    """The PaymentIntent that paid (or tried to pay) an invoice; '' if none.

    Since API 2025-03-31 invoices no longer carry `payment_intent`; their payments do.
    """
    page = client().v1.invoice_payments.list(params={"invoice": invoice_id, "limit": 10})
    for invoice_payment in page.data:
        payment = invoice_payment.to_dict().get("payment") or {}
        intent = payment.get("payment_intent")
        if intent:
            return intent if isinstance(intent, str) else str(intent.get("id", ""))
    return ""


def list_events(*, created_gte: int, created_lt: int | None = None) -> Iterator[stripe.Event]:
    """Events Stripe recorded since `created_gte` (seconds), oldest pages last as Stripe sends them."""
    created: dict[str, int] = {"gte": created_gte}
    if created_lt is not None:
        created["lt"] = created_lt
    return client().v1.events.list(params={"created": created, "limit": 100}).auto_paging_iter()


def list_payout_balance_transactions(*, payout_id: str) -> Iterator[stripe.BalanceTransaction]:
    """The balance transactions a payout paid out."""
    page = client().v1.balance_transactions.list(params={"payout": payout_id, "limit": 100})
    return page.auto_paging_iter()


def retrieve_invoice(invoice_id: str) -> stripe.Invoice:
    return client().v1.invoices.retrieve(invoice_id)


def invoice_id_for_payment_intent(payment_intent_id: str) -> str:
    """The invoice a PaymentIntent paid (a subscription's renewal), or '' for none."""
    page = client().v1.invoice_payments.list(
        params={
            "payment": {"type": "payment_intent", "payment_intent": payment_intent_id},
            "limit": 1,
        }
    )
    for invoice_payment in page.data:
        invoice = invoice_payment.to_dict().get("invoice")
        if invoice:
            return invoice if isinstance(invoice, str) else str(invoice.get("id", ""))
    return ""


# Callers outside this module catch Stripe's failures (and name its objects in type hints)
# by these names, not the SDK's: this module is the only one that imports it.
StripeError = stripe.StripeError
InvalidRequestError = stripe.InvalidRequestError
APIError = stripe.APIError
APIConnectionError = stripe.APIConnectionError
RateLimitError = stripe.RateLimitError
IdempotencyError = stripe.IdempotencyError
Subscription = stripe.Subscription


def is_resource_missing(error: Exception) -> bool:
    """Stripe answered 404 resource_missing ("No such charge"): retrying cannot help."""
    return isinstance(error, stripe.InvalidRequestError) and (
        error.code == "resource_missing" or error.http_status == 404
    )


# --- Staff managing recurring gifts (donations.recurring) --------------------------------


def update_subscription(
    subscription_id: str, *, params: dict, idempotency_key: str
) -> stripe.Subscription:
    return client().v1.subscriptions.update(
        subscription_id, params=params, options={"idempotency_key": idempotency_key}
    )


def resume_subscription(subscription_id: str, *, idempotency_key: str) -> stripe.Subscription:
    """Restart a subscription Stripe paused (status `paused`): a new period, billed now.
    Clearing pause_collection does not do this; only this call does."""
    return client().v1.subscriptions.resume(
        subscription_id,
        params={"billing_cycle_anchor": "now"},
        options={"idempotency_key": idempotency_key},
    )


def subscription_item_id(subscription_id: str) -> str:
    """A donation subscription has one item: the gift's price."""
    subscription = retrieve_subscription(subscription_id)
    return subscription["items"]["data"][0]["id"]
