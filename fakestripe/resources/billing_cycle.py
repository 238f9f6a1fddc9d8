"""A subscription's life on the emulator clock: renewals, failed payments and Smart
Retries, the 23-hour expiry of an unpaid first invoice, and cancellation.

Statuses follow Stripe: `incomplete` until the first invoice is paid (and
`incomplete_expired` 23 hours later if it never is), `active`, `past_due` while a renewal
is failing and being retried, then `unpaid` (or `canceled`, see
`Emulator.billing.after_final_failure`) once retries run out, `canceled`.
"""

from typing import Any

from fakestripe.resources import invoices, subscription_items
from fakestripe.resources.common import apply_update
from fakestripe.snapshot import snapshot

INCOMPLETE_EXPIRES_AFTER = 23 * 3600


def expire_incomplete(em: Any, sub_id: str) -> None:
    sub = em.objects[sub_id]
    if sub["status"] != "incomplete":
        return
    invoice = em.objects[sub["latest_invoice"]]
    if invoice["status"] == "open":
        invoices.void(em, invoice)
    previous = apply_update(sub, {"status": "incomplete_expired", "ended_at": em.now()})
    em.emit("customer.subscription.updated", sub, previous)
    em.emit("customer.subscription.deleted", sub)


def schedule_renewal(em: Any, sub: dict[str, Any]) -> None:
    end = subscription_items.period(sub)[1]
    sub_id = sub["id"]
    em.clock.at(end, lambda: renew(em, sub_id, end))


def renewal_collected_by(em: Any, sub: dict[str, Any]) -> int | None:
    """When the next renewal's invoice will have been drafted, finalized and charged; None
    for a subscription that no longer renews."""
    if sub["status"] in ("canceled", "incomplete", "incomplete_expired"):
        return None
    return subscription_items.period(sub)[1] + invoices.FINALIZE_AFTER_SECONDS


def invoice_paid(
    em: Any, sub: dict[str, Any], invoice: dict[str, Any], pi: dict[str, Any] | None
) -> None:
    previous: dict[str, Any] = {}
    if (
        pi is not None
        and pi["payment_method"]
        and (
            sub["payment_settings"]["save_default_payment_method"] == "on_subscription"
            and sub["default_payment_method"] != pi["payment_method"]
        )
    ):
        previous["default_payment_method"] = sub["default_payment_method"]
        sub["default_payment_method"] = pi["payment_method"]
    if sub["status"] in ("incomplete", "past_due", "unpaid"):
        was = sub["status"]
        previous["status"] = was
        sub["status"] = "active"
        if was == "incomplete":
            schedule_renewal(em, sub)
    if previous:
        em.emit("customer.subscription.updated", sub, previous)


def invoice_failed(em: Any, sub: dict[str, Any], invoice: dict[str, Any], *, final: bool) -> None:
    if invoice["billing_reason"] == "subscription_create" or sub["status"] in (
        "canceled",
        "incomplete_expired",
    ):
        return
    if final:
        outcome = em.billing.after_final_failure
        if outcome == "canceled":
            cancel_now(em, sub, reason="payment_failed")
            return
        if outcome == "unpaid" and sub["status"] != "unpaid":
            previous = apply_update(sub, {"status": "unpaid"})
            em.emit("customer.subscription.updated", sub, previous)
        if outcome == "paused" and sub["status"] != "paused":
            # API 2026-10-28.endive: Stripe can pause the subscription itself; only
            # POST /v1/subscriptions/{id}/resume brings it back (pause_collection cannot).
            previous = apply_update(sub, {"status": "paused"})
            em.emit("customer.subscription.paused", sub, previous)
            em.emit("customer.subscription.updated", sub, previous)
        return
    if sub["status"] == "active":
        previous = apply_update(sub, {"status": "past_due"})
        em.emit("customer.subscription.updated", sub, previous)


def renew(em: Any, sub_id: str, due: int) -> None:
    """The period ended: cancel if asked to, otherwise start the next period and bill it."""
    sub = em.objects.get(sub_id)
    if (
        sub is None
        or subscription_items.period(sub)[1] != due
        or sub["status"] in ("canceled", "incomplete", "incomplete_expired", "paused")
    ):
        return  # a paused subscription is not billed; resume starts a new period
    if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= em.now()):
        cancel_now(em, sub, reason="cancellation_requested")
        return
    previous: dict[str, Any] = {"items": snapshot(sub["items"])}
    pause = sub["pause_collection"]
    if pause and pause.get("resumes_at") and pause["resumes_at"] <= em.now():
        previous["pause_collection"] = pause
        sub["pause_collection"] = pause = None
    start = due
    end = subscription_items.period_end(sub, start)
    for item in sub["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = start, end
    customer = em.objects[sub["customer"]]
    lines = subscription_items.cycle_lines(em, sub) + em.secret_of(sub_id).pop("prorations", [])
    previous_start = previous["items"]["data"][0]["current_period_start"]
    invoice = invoices.create(
        em,
        customer=customer,
        subscription=sub,
        lines=lines,
        billing_reason="subscription_cycle",
        period=(previous_start, start),
    )
    previous["latest_invoice"] = sub["latest_invoice"]
    sub["latest_invoice"] = invoice["id"]
    em.emit("customer.subscription.updated", sub, previous)
    schedule_renewal(em, sub)
    if pause:
        if pause["behavior"] == "void":
            invoices.void(em, invoice)
        elif pause["behavior"] == "mark_uncollectible":
            invoices.finalize(em, invoice)
            if invoice["status"] == "open":
                invoices.mark_uncollectible(em, invoice)
        return  # keep_as_draft: the invoice waits as a draft
    if sub["status"] == "unpaid":
        return  # Stripe leaves an unpaid subscription's new invoices as drafts
    inv_id = invoice["id"]
    invoice["automatically_finalizes_at"] = em.now() + invoices.FINALIZE_AFTER_SECONDS
    em.clock.at(invoice["automatically_finalizes_at"], lambda: collect(em, inv_id))


def resume(em: Any, sub: dict[str, Any]) -> dict[str, Any]:
    """A paused subscription starts again: a new period from now, billed at once."""
    previous: dict[str, Any] = {"status": sub["status"], "items": snapshot(sub["items"])}
    start = em.now()
    end = subscription_items.period_end(sub, start)
    for item in sub["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = start, end
    sub["status"] = "active"
    invoice = invoices.create(
        em,
        customer=em.objects[sub["customer"]],
        subscription=sub,
        lines=subscription_items.cycle_lines(em, sub),
        billing_reason="subscription_cycle",
        period=(start, start),
    )
    previous["latest_invoice"] = sub["latest_invoice"]
    sub["latest_invoice"] = invoice["id"]
    em.emit("customer.subscription.resumed", sub, previous)
    em.emit("customer.subscription.updated", sub, previous)
    schedule_renewal(em, sub)
    collect(em, invoice["id"])
    return sub


def collect(em: Any, invoice_id: str) -> None:
    invoice = em.objects[invoice_id]
    sub = invoices.subscription_of(em, invoice)
    invoice["automatically_finalizes_at"] = None
    if invoice["status"] != "draft" or sub is None or sub["status"] == "canceled":
        return
    invoices.finalize(em, invoice)
    if invoice["status"] == "open":
        invoices.attempt_payment(em, invoice)


def cancel_now(
    em: Any,
    sub: dict[str, Any],
    *,
    reason: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = em.now()
    sub.update(
        status="canceled",
        canceled_at=now,
        ended_at=now,
        cancellation_details={
            "comment": (details or {}).get("comment"),
            "feedback": (details or {}).get("feedback"),
            "reason": reason,
        },
    )
    if sub["latest_invoice"]:
        invoice = em.objects[sub["latest_invoice"]]
        if invoice["status"] == "open" and invoice["billing_reason"] == "subscription_create":
            invoices.void(em, invoice)
        elif invoice["status"] == "open":
            invoice["next_payment_attempt"] = None  # retries stop with the subscription
    em.emit("customer.subscription.deleted", sub)
    return sub


def cancel_at(em: Any, sub_id: str, at: int) -> None:
    sub = em.objects[sub_id]
    if sub["cancel_at"] == at and sub["status"] not in ("canceled", "incomplete_expired"):
        cancel_now(em, sub, reason="cancellation_requested")
