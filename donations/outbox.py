"""The gift outbox: consequences of a gift's facts as rows, driven to done.

healthchecks' Flip is the model: the status change and a row saying "this must follow"
commit together; a worker processes the row; a loop finds any row left behind. Here:

- `record` writes one GiftConsequence per listener of a fact, inside the caller's
  transaction; after commit ONE pass runs all of them (one gift, one task): the worker
  task that announced the fact runs them itself, anything else publishes a task.
- `run` claims each row and runs its listener in one transaction, so a crash rolls the
  claim back with the work; a failure is recorded on the row and retried.
- `sweep` re-sends rows whose task was lost (the broker was down at commit, a worker was
  killed) and asks each listener's registered finder for consequences that never got a
  row at all, writing rows for them.

Nothing depends on the broker keeping a message: a lost task costs only the time until
the next sweep (GIFT_CONSEQUENCE_STUCK_AFTER_SECONDS).
"""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from donations.hooks import (
    GiftEvent,
    GiftFact,
    Listener,
    consequence_name,
    listener_named,
    missed_finders,
)
from donations.models import GiftConsequence

log = logging.getLogger(__name__)

# A row that failed this many times stays failed for staff to see (its last error is on
# it); the sweep stops offering it.
MAX_ATTEMPTS = 10
SWEEP_BATCH = 200

_OPEN = (GiftConsequence.Status.PENDING, GiftConsequence.Status.FAILED)


# After a failed publish this process stops trying for a while: a refused connection to
# Redis still costs ~2 s (the client's own reconnect attempts), which a thank-you page or
# a webhook's task must not pay once per gift. The rows wait, committed, for the sweep,
# whose own publish ignores the pause and ends it.
BROKER_PAUSE_SECONDS = 30.0
_paused_until = 0.0


def _send(pks: list[int], *, from_sweep: bool = False) -> None:
    """Publish the task that runs these rows; a broker that is down loses nothing."""
    global _paused_until
    from donations.tasks import run_gift_consequences

    eager = run_gift_consequences.app.conf.task_always_eager  # nothing to pause in-process
    if not from_sweep and not eager and time.monotonic() < _paused_until:
        log.info("broker paused after a failure: gift consequences %s wait for the sweep", pks)
        return
    try:
        # retry=False: with the broker down the caller (a webhook's task, the thank-you
        # page) must not wait on Celery's publish retries; the sweep will send the rows.
        run_gift_consequences.apply_async((pks,), retry=False)
    except Exception as error:
        _paused_until = time.monotonic() + BROKER_PAUSE_SECONDS
        log.warning("could not enqueue gift consequences %s (%s); the sweep will", pks, error)
        if from_sweep:
            raise
    else:
        _paused_until = 0.0


def _in_worker_task() -> bool:
    from celery import current_task

    return bool(current_task and current_task.request.id and not current_task.request.is_eager)


def _run_after_commit(pks: list[int]) -> None:
    """On a worker (a webhook's task announced the fact), this task runs the rows itself
    once its transaction has committed: one pass, no second task for the broker to carry.
    Anywhere else (the thank-you page, the admin), a task is published for them. Either
    way the rows are committed first, so a crash here only leaves them to the sweep."""
    if not _in_worker_task():
        _send(pks)
        return
    failed = run(pks)
    if failed:
        from donations.tasks import run_gift_consequences

        try:
            run_gift_consequences.apply_async((failed,), countdown=5, retry=False)
        except Exception:
            log.warning("could not enqueue gift consequences %s; the sweep will", failed)


def record(event: GiftEvent, listeners: Iterable[Listener], *, publish: bool = True) -> list[int]:
    """Write a row per listener for `event` in the current transaction; with `publish`,
    one task runs them after commit. Returns the new rows' ids."""
    rows = [
        GiftConsequence(
            fact=str(event.fact),
            consequence=consequence_name(listener),
            supporter_id=event.supporter_id,
            donation_id=event.donation_id,
            recurring_donation_id=event.recurring_donation_id,
            details=event.details,
        )
        for listener in listeners
    ]
    if not rows:
        return []
    with transaction.atomic():  # a savepoint inside the caller's; atomic on its own outside
        created = GiftConsequence.objects.bulk_create(rows)
    pks = [row.pk for row in created]
    if publish:
        transaction.on_commit(lambda: _run_after_commit(pks))
    return pks


def _event(row: GiftConsequence) -> GiftEvent:
    return GiftEvent(
        fact=GiftFact(row.fact),
        supporter_id=row.supporter_id,
        donation_id=row.donation_id,
        recurring_donation_id=row.recurring_donation_id,
        details=row.details,
    )


class UnknownConsequence(LookupError):
    """The row names a listener no longer registered (renamed or removed code)."""


def run_one(pk: int) -> str:
    """Claim one row and run its consequence; returns its status afterwards, or "skipped"
    when another run has it (or had it) already."""
    try:
        with transaction.atomic():
            # The claim and the work commit together: a second run of the same row waits
            # on this row's lock and then finds it done; a crash undoes both.
            claimed = GiftConsequence.objects.filter(pk=pk, status__in=_OPEN).update(
                status=GiftConsequence.Status.DONE,
                done_at=timezone.now(),
                attempts=F("attempts") + 1,
                last_error="",
            )
            if not claimed:
                return "skipped"
            row = GiftConsequence.objects.get(pk=pk)
            listener = listener_named(row.consequence)
            if listener is None:
                raise UnknownConsequence(row.consequence)
            listener(_event(row))
            return GiftConsequence.Status.DONE
    except Exception as error:
        GiftConsequence.objects.filter(pk=pk, status__in=_OPEN).update(
            status=GiftConsequence.Status.FAILED,
            attempts=F("attempts") + 1,
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        log.warning("gift consequence %s failed: %r", pk, error, exc_info=True)
        return GiftConsequence.Status.FAILED


def run(pks: Iterable[int]) -> list[int]:
    """Run each row in order (a listener's registration order); returns those that failed."""
    return [pk for pk in pks if run_one(pk) == GiftConsequence.Status.FAILED]


# --- The sweep ------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    resent: int
    found_missed: int


def stuck_pks(*, limit: int = 5000) -> list[int]:
    """Rows pending for longer than a task takes (the task was lost), and failed rows
    with attempts left, oldest first."""
    settle = timezone.now() - timedelta(seconds=settings.GIFT_CONSEQUENCE_STUCK_AFTER_SECONDS)
    open_rows = GiftConsequence.objects.filter(
        status__in=_OPEN, created_at__lt=settle, attempts__lt=MAX_ATTEMPTS
    )
    return list(open_rows.order_by("created_at", "pk").values_list("pk", flat=True)[:limit])


def _open_consequence_keys(name: str) -> set[tuple[int | None, int]]:
    return set(
        GiftConsequence.objects.filter(consequence=name, status__in=_OPEN).values_list(
            "donation_id", "supporter_id"
        )
    )


def record_missed() -> list[int]:
    """Ask every registered finder for consequences that never happened; write rows for
    those without an open row already (each committed at once, in autocommit). Returns
    the new rows' ids, for the caller to send."""
    new_pks: list[int] = []
    for listener, finder in missed_finders():
        name = consequence_name(listener)
        already = _open_consequence_keys(name)
        supporters_pending = {supporter_id for _, supporter_id in already}
        for event in finder():
            key = (event.donation_id, event.supporter_id)
            # An open row already promises it: for a gift, that gift's; for a supporter's
            # standing (no gift named), any of theirs.
            if key in already or (
                event.donation_id is None and event.supporter_id in supporters_pending
            ):
                continue
            already.add(key)
            supporters_pending.add(event.supporter_id)
            new_pks += record(event, [listener], publish=False)
    return new_pks


def sweep(*, send: Callable[[list[int]], None] | None = None) -> SweepResult:
    """Send lost and failed rows again, then find and record missed consequences."""
    send = send or (lambda pks: _send(pks, from_sweep=True))
    stuck = stuck_pks()
    missed = record_missed()
    due = stuck + missed
    for start in range(0, len(due), SWEEP_BATCH):
        send(due[start : start + SWEEP_BATCH])
    if stuck or missed:
        log.warning(
            "gift outbox sweep: %d rows sent again, %d missed consequences found",
            len(stuck),
            len(missed),
        )
    return SweepResult(resent=len(stuck), found_missed=len(missed))
