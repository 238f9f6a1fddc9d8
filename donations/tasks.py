"""Celery tasks for the Stripe webhook inbox: thin wrappers around donations.inbox."""

import logging

from celery import shared_task
from django.conf import settings

from donations import gateway, inbox, outbox
from donations.models import StripeEvent
from donations.publisher import BatchPublisher

log = logging.getLogger(__name__)

# The task's own retries (5 s, 10 s, 20 s... capped at 30 min, see inbox.retry_countdown)
# are the row's one retry chain; inbox leases the row meanwhile, so the sweep only starts
# another when this one was lost. After STRIPE_INBOX_MAX_ATTEMPTS the row is `failed` and
# waits for staff (the admin's retry action).
MAX_RETRIES = settings.STRIPE_INBOX_MAX_ATTEMPTS


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def process_stripe_event(self, event_pk: int) -> str:
    try:
        return inbox.process_event(event_pk=event_pk)
    except inbox.GaveUp:
        return "failed"
    except inbox.RetryLater as error:
        if self.request.called_directly or self.request.is_eager:
            # In-process (tests, the sweep run by hand): the row is leased until its retry
            # is due and the sweep takes it then; re-raising would fail the webhook.
            log.info("stripe event %s will be retried by the sweep: %s", event_pk, error)
            return "retrying"
        if self.request.retries >= MAX_RETRIES:
            return "retrying"
        raise self.retry(countdown=error.countdown, exc=error) from error


def send_processing_task(event_pk: int) -> None:
    """Publish process_stripe_event without Celery's publish retries: with the broker down
    the webhook must still answer at once (the row is stored; the sweep enqueues it)."""
    process_stripe_event.apply_async((event_pk,), retry=False)


@shared_task(acks_late=True)
def dispatch_stripe_events(event_pks: list[int]) -> int:
    """One message from a web process's publisher, fanned out one task per event."""
    return inbox.enqueue([int(pk) for pk in event_pks], send=send_processing_task)


def _publish_batch(event_pks: list[int]) -> None:
    dispatch_stripe_events.apply_async((event_pks,), retry=False)


_publisher = BatchPublisher(_publish_batch)


def enqueue_new_event(event_pk: int) -> None:
    """Enqueue a freshly stored event's processing; cheap enough for the webhook's
    request path (see donations.publisher for why and what it costs)."""
    if (
        settings.STRIPE_WEBHOOK_ENQUEUE == "direct"
        or process_stripe_event.app.conf.task_always_eager
    ):
        inbox.enqueue([event_pk], send=send_processing_task)
    else:
        _publisher.add(event_pk)


@shared_task(acks_late=True)
def sweep_stripe_inbox() -> dict[str, int]:
    """Re-enqueue inbox rows whose task was lost, and store events Stripe sent that never
    arrived (the endpoint was down, a delivery was dropped). Run by beat."""
    stuck = inbox.claim_stuck_events()
    requeued = inbox.enqueue(stuck, send=send_processing_task)
    try:
        listed, new_pks = inbox.fetch_missed_events()
    except gateway.StripeError as error:
        # Stripe unreachable: the re-enqueueing above still counts; the next run lists.
        log.warning("the sweep could not list stripe events: %s", error)
        listed, new_pks = 0, []
    # Types we do not handle were stored as ignored and need no task.
    to_process = StripeEvent.objects.filter(pk__in=new_pks, status=StripeEvent.Status.PENDING)
    enqueued_new = inbox.enqueue(
        to_process.order_by("pk").values_list("pk", flat=True), send=send_processing_task
    )
    if new_pks:
        log.warning("the sweep found %d stripe events that never arrived", len(new_pks))
    return {
        "requeued": requeued,
        "listed": listed,
        "stored": len(new_pks),
        "enqueued": enqueued_new,
    }


@shared_task(
    autoretry_for=(gateway.APIConnectionError, gateway.APIError, gateway.RateLimitError),
    retry_backoff=True,
    max_retries=5,
)
def cancel_open_gifts(ip_digest: str = "", supporter_id: int | None = None) -> int:
    """Card testing: cancel at Stripe the open gifts of an IP or an email past the limits."""
    from donations import card_testing

    return card_testing.cancel_open_gifts(ip_digest=ip_digest, supporter_id=supporter_id)


# --- The gift outbox (donations.outbox) ---------------------------------------------------


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def run_gift_consequences(self, consequence_pks: list[int]) -> int:
    """Run one gift's consequences (or a sweep's batch), each row claimed on its own."""
    failed = outbox.run(int(pk) for pk in consequence_pks)
    in_worker = not (self.request.called_directly or self.request.is_eager)
    if failed and in_worker and self.request.retries < MAX_RETRIES:
        # Only the failed rows again; the sweep keeps offering them after this.
        raise self.retry(args=(failed,), countdown=inbox.retry_countdown(self.request.retries))
    return len(consequence_pks) - len(failed)


@shared_task(acks_late=True)
def sweep_gift_consequences() -> dict[str, int]:
    """Beat: send rows whose task was lost, and record consequences that never happened."""
    result = outbox.sweep()
    return {"resent": result.resent, "found_missed": result.found_missed}
