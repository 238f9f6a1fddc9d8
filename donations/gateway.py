"""The one door to Stripe. Only this module calls the Stripe SDK.

It speaks to whatever STRIPE_API_BASE names: Stripe itself in production, the project's
emulator (fakestripe) in development and tests. Tests swap the client with
`use_client(...)`, never the SDK's internals.
"""

import contextlib
from collections.abc import Iterator
from functools import cache

import stripe
from django.conf import settings


@cache
def _default_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


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
