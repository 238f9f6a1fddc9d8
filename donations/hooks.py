"""The one explicit hook through which other apps hear what happened to a gift.

`donations` announces facts (a gift succeeded, was refunded, disputed; a recurring gift
changed state) with plain ids; `receipts` and `members` register listeners in their
AppConfig.ready(). Reading the `listen(...)` calls across the project gives every
consequence of a gift in one list:

- receipts.listeners: issue the receipt (succeeded), void or replace it (refunded),
  hold it (dispute opened), release or void it (dispute closed);
- donations.memberships: the supporter's tier follows their giving (succeeded, refunded,
  dispute closed, recurring changed);
- donations.ratelimit: a decline counts toward the card-testing limits (failed).

Announcing is durable (an outbox, donations.outbox): `announce` writes one
GiftConsequence row per listener in the same transaction as the gift's change, and after
commit one task runs all of them. A broker that is down, or a worker killed half-way,
leaves the rows pending and the sweep drives them. So a listener does the work itself (no
task of its own), inside the row's transaction, and must be idempotent: a row can run
again after a crash, and Stripe repeats itself.

`finds_missed(listener)` registers, beside a listener, a question the sweep asks to find
gifts whose consequence never happened at all (history from before the outbox, a fact
announced by no one): the sweep writes rows for what it returns.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

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
MissedFinder = Callable[[], Iterable[GiftEvent]]
_listeners: dict[GiftFact, list[Listener]] = defaultdict(list)
_by_name: dict[str, Listener] = {}
_finders: list[tuple[Listener, MissedFinder]] = []


def consequence_name(listener: Listener) -> str:
    """The name a GiftConsequence row stores to find its listener again in any process."""
    return f"{listener.__module__}.{listener.__qualname__}"


def listen(*facts: GiftFact) -> Callable[[Listener], Listener]:
    """Register the decorated function for the given facts (from an AppConfig.ready())."""

    def register(listener: Listener) -> Listener:
        _by_name[consequence_name(listener)] = listener
        for fact in facts:
            if listener not in _listeners[fact]:
                _listeners[fact].append(listener)
        return listener

    return register


def finds_missed(listener: Listener) -> Callable[[MissedFinder], MissedFinder]:
    """Register the decorated function as the sweep's question for `listener`: which
    gifts should have had this consequence and show no sign of it?"""

    def register(finder: MissedFinder) -> MissedFinder:
        if (listener, finder) not in _finders:
            _finders.append((listener, finder))
        return finder

    return register


def listeners(fact: GiftFact) -> list[Listener]:
    return list(_listeners[fact])


def listener_named(name: str) -> Listener | None:
    return _by_name.get(name)


def missed_finders() -> list[tuple[Listener, MissedFinder]]:
    return list(_finders)


def announce(event: GiftEvent) -> None:
    """Record every consequence of `event` in the current transaction; they run once it
    commits (see donations.outbox)."""
    from donations import outbox  # outbox reads the models; hooks is imported by them early

    outbox.record(event, listeners(event.fact))
