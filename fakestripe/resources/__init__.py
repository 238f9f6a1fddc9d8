"""Stripe resources; importing this package registers every route."""

from fakestripe.resources import (  # noqa: F401
    balance,
    billing_cycle,
    browser,
    charges,
    customers,
    disputes,
    events,
    invoices,
    payment_intents,
    payment_methods,
    payouts,
    prices,
    refunds,
    search,
    setup_intents,
    subscription_items,
    subscriptions,
)
