"""The one explicit hook through which other apps hear what happened to a gift.

`donations` announces facts (a gift succeeded, was refunded, disputed; a recurring gift
changed state) with plain ids; `receipts` and `members` register listeners in their
AppConfig.ready(). Reading the `listen(...)` calls across the project gives every
consequence of a gift in one list.

Listeners run after the announcing transaction commits, so they never see a gift that
was rolled back; they should be quick (enqueue a Celery task) and must be idempotent,
because Stripe and workers repeat themselves.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import transaction

log = logging.getLogger(__name__)


class GiftFact(StrEnum):
    SUCCEEDED = "gift.succeeded"
    FAILED = "gift.failed"
    REFUNDED = "gift.refunded"  # fully or partly: see amount_refunded in the fact's details
    DISPUTE_OPENED = "gift.dispute_opened"
    DISPUTE_CLOSED = "gift.dispute_closed"
    RECURRING_CHANGED = "recurring.changed"


@dataclass(frozen=True)
class GiftEvent:
    fact: GiftFact
    supporter_id: int
    donation_id: int | None = None
    recurring_donation_id: int | None = None
    details: dict = field(default_factory=dict)


Listener = Callable[[GiftEvent], None]
_listeners: dict[GiftFact, list[Listener]] = defaultdict(list)


def listen(*facts: GiftFact) -> Callable[[Listener], Listener]:
    """Register the decorated function for the given facts (from an AppConfig.ready())."""

    def register(listener: Listener) -> Listener:
        for fact in facts:
            if listener not in _listeners[fact]:
                _listeners[fact].append(listener)
        return listener

    return register


def listeners(fact: GiftFact) -> list[Listener]:
    return list(_listeners[fact])


def announce(event: GiftEvent) -> None:
    """Tell every listener of event.fact, once the current transaction commits."""

    def deliver() -> None:
        for listener in listeners(event.fact):
            try:
                listener(event)
            except Exception:
                # One listener's failure must not stop the others; its own task retries.
                log.exception("listener %s failed for %s", listener, event)

    transaction.on_commit(deliver)
