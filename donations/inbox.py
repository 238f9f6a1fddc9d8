"""The Stripe webhook inbox: store each event once, process it once, catch up on misses.

The webhook view only verifies and stores (`store_event`); a Celery task then runs
`process_event`, which dispatches by type to `donations.event_handlers`. The periodic
`sweep` re-enqueues rows whose task was lost and lists Stripe's events to store any
that never arrived.
"""

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from donations import gateway
from donations.event_handlers import HANDLERS
from donations.models import StripeEvent
from donations.reconcile import plain

log = logging.getLogger(__name__)


class BadEvent(ValueError):
    """The body is not a Stripe event (not JSON, or no id and type)."""


@dataclass(frozen=True)
class StoredEvent:
    pk: int
    created: bool  # False: a duplicate of an event already in the inbox
    needs_processing: bool = True  # False: a type with no handler, stored as ignored


def parse_event(body: bytes) -> dict[str, Any]:
    """The event as a dict, or BadEvent. Only id and type are required: new fields are fine."""
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadEvent("the body is not JSON") from error
    if not isinstance(event, dict):
        raise BadEvent("the body is not a JSON object")
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise BadEvent("the event has no id")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        raise BadEvent("the event has no type")
    return event


def _created(event: Mapping) -> int:
    created = event.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else 0


def store_event(event: dict[str, Any]) -> StoredEvent:
    """Insert the event into the inbox; a duplicate id inserts nothing.

    A plain INSERT in autocommit is one round trip; the unique stripe_id makes it the
    arbiter between racing deliveries (check-then-insert would let both through), and
    on PostgreSQL a failed INSERT outside a transaction poisons nothing.
    """
    # Inside an outer transaction (ATOMIC_REQUESTS, tests) a savepoint keeps it usable
    # after a duplicate's IntegrityError; in autocommit there is nothing to protect.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    # A type we do not handle is stored as already ignored, so it costs no task at all.
    handled = event["type"] in HANDLERS
    try:
        with guard:
            row = StripeEvent.objects.create(
                stripe_id=event["id"],
                type=event["type"],
                payload=event,
                stripe_created=_created(event),
                status=StripeEvent.Status.PENDING if handled else StripeEvent.Status.IGNORED,
                processed_at=None if handled else timezone.now(),
            )
    except IntegrityError:
        existing = (
            StripeEvent.objects.filter(stripe_id=event["id"]).values_list("pk", flat=True).first()
        )
        if existing is None:
            raise
        return StoredEvent(pk=existing, created=False)
    return StoredEvent(pk=row.pk, created=True, needs_processing=handled)


# --- Processing -----------------------------------------------------------------------


class RetryLater(Exception):
    """Processing failed in a way that may pass (a row not written yet, Stripe down)."""


_CLAIMABLE = (StripeEvent.Status.PENDING, StripeEvent.Status.FAILED)


def process_event(*, event_pk: int) -> str:
    """Run the handler for one inbox row, once. Returns the row's status afterwards.

    The claim, the handler's writes and the final status share one transaction: a worker
    killed half-way rolls everything back, the row is pending again and the redelivered
    task (acks_late) starts afresh. A second task for the same row waits on the claimed
    row and then finds it no longer claimable, so it does nothing.
    """
    try:
        with transaction.atomic():
            claimed = StripeEvent.objects.filter(pk=event_pk, status__in=_CLAIMABLE).update(
                status=StripeEvent.Status.PROCESSING
            )
            if not claimed:
                return "skipped"
            event = StripeEvent.objects.get(pk=event_pk)
            handler = HANDLERS.get(event.type)
            outcome = (
                StripeEvent.Status.IGNORED if handler is None else StripeEvent.Status.PROCESSED
            )
            if handler is not None:
                handler(event.payload)
            StripeEvent.objects.filter(pk=event_pk).update(
                status=outcome,
                processed_at=timezone.now(),
                last_error="",
                attempts=F("attempts") + 1,
            )
            return outcome
    except Exception as error:
        # The transaction is rolled back; record the attempt outside it.
        StripeEvent.objects.filter(pk=event_pk, status__in=_CLAIMABLE).update(
            status=StripeEvent.Status.FAILED,
            attempts=F("attempts") + 1,
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        log.warning("stripe event %s failed: %r", event_pk, error)
        raise RetryLater(str(error)) from error


# --- Enqueueing -----------------------------------------------------------------------


def enqueue(event_pks: Iterable[int], *, send: Callable[[int], None]) -> int:
    """Publish one processing task per row; a broker that is down loses nothing, because
    the row stays pending and the sweep re-enqueues it. Returns how many were sent."""
    sent = 0
    for pk in event_pks:
        try:
            send(pk)
            sent += 1
        except Exception:
            log.warning("could not enqueue stripe event %s; the sweep will", pk, exc_info=True)
            break  # the broker is down: do not wait for it once per row
    return sent


# --- The sweep ------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    fetched: int
    stored: int


def stuck_event_pks(*, limit: int = 500) -> list[int]:
    """Rows whose task was lost or failed: pending for a while, or failed."""
    settle = timezone.now() - timedelta(seconds=settings.STRIPE_INBOX_STUCK_AFTER_SECONDS)
    pending = StripeEvent.objects.filter(status=StripeEvent.Status.PENDING, received_at__lt=settle)
    failed = StripeEvent.objects.filter(status=StripeEvent.Status.FAILED)
    # A row "processing" was claimed in a transaction that has not committed; a worker
    # that dies rolls it back to pending, so it is never stuck in that state.
    return list((pending | failed).order_by("received_at").values_list("pk", flat=True)[:limit])


def fetch_missed_events(*, now: int | None = None) -> tuple[int, list[int]]:
    """List Stripe's events since shortly before the newest we hold; store those we lack.

    The cursor is the inbox itself (newest `stripe_created` less an overlap), in Stripe's
    clock, so it needs no state of its own and advances as events arrive either way.
    Returns (events listed, pks of rows newly stored).
    """
    newest = StripeEvent.objects.aggregate(newest=Max("stripe_created"))["newest"] or 0
    now = now if now is not None else int(time.time())
    if newest:
        since = newest - settings.STRIPE_EVENT_SWEEP_OVERLAP_SECONDS
    else:
        since = now - settings.STRIPE_EVENT_SWEEP_LOOKBACK_SECONDS
    listed, new_pks = 0, []
    batch: list[dict[str, Any]] = []
    for event in gateway.list_events(created_gte=max(since, 0)):
        batch.append(plain(event))
        listed += 1
        if len(batch) >= 100:
            new_pks += _store_missing(batch)
            batch = []
    if batch:
        new_pks += _store_missing(batch)
    return listed, new_pks


def _store_missing(events: list[dict[str, Any]]) -> list[int]:
    ids = [event["id"] for event in events if isinstance(event.get("id"), str)]
    known = set(StripeEvent.objects.filter(stripe_id__in=ids).values_list("stripe_id", flat=True))
    stored = []
    for event in events:
        if event.get("id") in known or not isinstance(event.get("type"), str):
            continue
        result = store_event(event)
        if result.created:
            stored.append(result.pk)
    return stored
