"""The Stripe webhook inbox: store each event once, process it once, catch up on misses.

The webhook view only verifies and stores (`store_event`); a Celery task then runs
`process_event`, which dispatches by type to `donations.event_handlers`. The periodic
`sweep` re-enqueues rows whose task was lost and lists Stripe's events to store any
that never arrived.
"""

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Max, Q
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


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity, which no database stores
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python accepts them, JSON does not


# A NUL (PostgreSQL's jsonb refuses \u0000) or a lone surrogate (not encodable as UTF-8)
# can only arrive as a \u escape: raw bytes of either are already invalid JSON or UTF-8.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> Any:
    """The value with every NUL and lone surrogate, in keys and strings, replaced by U+FFFD:
    Stripe signed it, so it is kept, but in a form every database and renderer accepts."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def parse_event(body: bytes) -> dict[str, Any]:
    """The event as a dict, or BadEvent. Only id and type are required: new fields are fine.

    What a database cannot store is refused (NaN, infinities, numbers out of range, a
    5,000-digit integer) or made storable (NUL, lone surrogates: see _storable), so a
    strange body gets a 400 or is kept, never a 500."""
    try:
        event = json.loads(body, parse_float=_finite, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadEvent("the body is not JSON") from error
    if _UNSTORABLE_ESCAPE.search(body):
        event = _storable(event)
    check_event(event)
    return event


def check_event(event: Any) -> None:
    """BadEvent unless `event` has the id and type a row needs."""
    if not isinstance(event, dict):
        raise BadEvent("the body is not a JSON object")
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise BadEvent("the event has no id")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        raise BadEvent("the event has no type")


def _created(event: Mapping) -> int:
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        return 0
    return created if 0 <= created < 2**63 else 0  # what a bigint column holds


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
    _check_api_version(event)
    return StoredEvent(pk=row.pk, created=True, needs_processing=handled)


# --- Processing -----------------------------------------------------------------------


class RetryLater(Exception):
    """Processing failed in a way that may pass (a row not written yet, Stripe down);
    the row is `retrying` and its task may retry after `countdown` seconds."""

    def __init__(self, message: str, *, countdown: int) -> None:
        super().__init__(message)
        self.countdown = countdown


class GaveUp(Exception):
    """Processing failed for good (a permanent error or the attempt cap): the row is
    `failed` and nothing retries it until staff do."""


_CLAIMABLE = (StripeEvent.Status.PENDING, StripeEvent.Status.RETRYING)


def retry_countdown(attempts: int) -> int:
    """5 s, 10 s, 20 s... capped at 30 min, after `attempts` failed attempts."""
    return min(5 * 2 ** max(attempts - 1, 0), 30 * 60)


def is_permanent(error: Exception) -> bool:
    """Stripe says the object does not exist (404, resource_missing): no retry brings it."""
    return gateway.is_resource_missing(error)


def process_event(*, event_pk: int) -> str:
    """Run the handler for one inbox row, once. Returns the row's status afterwards.

    The claim, the handler's writes and the final status share one transaction: a worker
    killed half-way rolls everything back, the row is claimable again and the redelivered
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
                next_attempt_at=None,
                attempts=F("attempts") + 1,
            )
            return outcome
    except Exception as error:
        _record_failure(event_pk, error)
        raise AssertionError("unreachable") from error  # _record_failure always raises


def _check_api_version(event: Mapping[str, Any]) -> None:
    """Log an event shaped by another API version than the one the handlers are written
    for: the webhook endpoint was created with another api_version (or none, and the
    account's default moved on). The handlers read tolerantly, so it is still applied.
    Checked once, when the event is first stored (ignored types never reach a task)."""
    version = event.get("api_version")
    if version and version != gateway.API_VERSION:
        log.warning(
            "stripe event %s (%s) is in API version %s, not the pinned %s: recreate the "
            "webhook endpoint with api_version=%s",
            event.get("id"),
            event.get("type"),
            version,
            gateway.API_VERSION,
            gateway.API_VERSION,
        )


def _record_failure(event_pk: int, error: Exception) -> None:
    """Count the attempt (the handler's transaction is rolled back) and decide: retry at
    next_attempt_at, or give up. Raises RetryLater or GaveUp."""
    row = (
        StripeEvent.objects.filter(pk=event_pk, status__in=_CLAIMABLE)
        .values("attempts", "status")
        .first()
    )
    message = f"{type(error).__name__}: {error}"[:2000]
    if row is None:  # another task settled it meanwhile
        raise GaveUp(message) from error
    attempts = row["attempts"] + 1
    permanent = is_permanent(error)
    gave_up = permanent or attempts >= settings.STRIPE_INBOX_MAX_ATTEMPTS
    countdown = retry_countdown(attempts)
    StripeEvent.objects.filter(pk=event_pk, status=row["status"]).update(
        status=StripeEvent.Status.FAILED if gave_up else StripeEvent.Status.RETRYING,
        attempts=attempts,
        last_error=("permanent: " if permanent else "") + message,
        # The lease covers the task's own retry and a grace for its queue; only when it
        # lapses (the retry was lost) does the sweep start another.
        next_attempt_at=None
        if gave_up
        else timezone.now() + timedelta(seconds=countdown + settings.STRIPE_INBOX_LEASE_SECONDS),
    )
    if gave_up:
        log.error(
            "stripe event %s failed for good after %d attempt(s): %r", event_pk, attempts, error
        )
        raise GaveUp(message) from error
    log.warning("stripe event %s failed (attempt %d): %r", event_pk, attempts, error)
    raise RetryLater(message, countdown=countdown) from error


def retry_failed(*, event_pks: Iterable[int]) -> int:
    """Staff ask for failed rows to be tried again (from the admin): a fresh attempt count."""
    return StripeEvent.objects.filter(
        pk__in=list(event_pks), status=StripeEvent.Status.FAILED
    ).update(status=StripeEvent.Status.PENDING, attempts=0, next_attempt_at=None)


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


def claim_stuck_events(*, limit: int = 500) -> list[int]:
    """Rows whose task was lost, or whose retry is due and not queued: each is leased (its
    next_attempt_at moved on) in the same UPDATE that picks it, so a second sweep, or one
    running at the same time, does not start another chain for it."""
    now = timezone.now()
    settle = now - timedelta(seconds=settings.STRIPE_INBOX_STUCK_AFTER_SECONDS)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    lost = Q(status=StripeEvent.Status.PENDING, received_at__lt=settle)
    retrying = Q(status=StripeEvent.Status.RETRYING)
    # A row "processing" was claimed in a transaction that has not committed; a worker
    # that dies rolls it back, so it is never stuck in that state.
    candidates = list(
        StripeEvent.objects.filter((lost | retrying) & due)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    lease = now + timedelta(seconds=settings.STRIPE_INBOX_LEASE_SECONDS)
    claimed = []
    for pk in candidates:
        if StripeEvent.objects.filter(Q(pk=pk) & (lost | retrying) & due).update(
            next_attempt_at=lease
        ):
            claimed.append(pk)
    return claimed


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
        if event.get("id") in known:
            continue
        try:
            check_event(event)
        except BadEvent as error:
            log.warning("the sweep skipped a listed stripe event: %s", error)
            continue
        try:
            result = store_event(_storable(event))
        except DatabaseError:
            # One event the database refuses must not stop the sweep for all the others.
            log.exception("the sweep could not store stripe event %s", event.get("id"))
            continue
        if result.created:
            stored.append(result.pk)
    return stored
