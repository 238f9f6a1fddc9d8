"""Subscription items: prices on a subscription, its billing period, and prorations."""

from typing import Any

from fakestripe import errors
from fakestripe.clock import add_interval, day_of_month
from fakestripe.params import PAGE, string
from fakestripe.resources import invoices, prices
from fakestripe.resources.common import merge_metadata
from fakestripe.routing import route
from fakestripe.snapshot import snapshot


def plan(price: dict[str, Any]) -> dict[str, Any]:
    recurring = price["recurring"]
    return {
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": price["currency"],
        "id": price["id"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": dict(price["metadata"]),
        "meter": None,
        "nickname": price["nickname"],
        "object": "plan",
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def price_for_item(em: Any, item: dict[str, Any], index: int) -> dict[str, Any]:
    if item.get("price"):
        price = em.get("price", item["price"], param=f"items[{index}][price]")
    elif item.get("price_data"):
        data = item["price_data"]
        if not data.get("recurring"):
            raise errors.missing_parameter(f"items[{index}][price_data][recurring]")
        price = prices.new_price(em, data, param=f"items[{index}][price_data]", inline=True)
    else:
        raise errors.missing_parameter(f"items[{index}][price]")
    if price["type"] != "recurring":
        raise errors.StripeError(
            400,
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
            param=f"items[{index}][price]",
        )
    return price


def new_item(
    em: Any,
    sub_id: str,
    price: dict[str, Any],
    quantity: int,
    meta: dict[str, str],
    period: tuple[int, int],
) -> dict[str, Any]:
    return {
        "created": em.now(),
        "discounts": [],
        "id": em.new_id("si", 14),
        "metadata": meta,
        "object": "subscription_item",
        "price": snapshot(price),
        "quantity": quantity,
        "subscription": sub_id,
        "tax_rates": [],
        "plan": plan(price),
        "current_period_end": period[1],
        "current_period_start": period[0],
        "billing_thresholds": None,
    }


def period_end(sub: dict[str, Any], start: int) -> int:
    recurring = sub["items"]["data"][0]["price"]["recurring"]
    anchor_day = day_of_month(sub["billing_cycle_anchor"])
    return add_interval(start, recurring["interval"], recurring["interval_count"], anchor_day)


def period(sub: dict[str, Any]) -> tuple[int, int]:
    item = sub["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def cycle_lines(em: Any, sub: dict[str, Any]) -> list[dict[str, Any]]:
    start, end = period(sub)
    out = []
    for item in sub["items"]["data"]:
        price = item["price"]
        product = em.objects.get(price["product"], {})
        out.append(
            invoices.line(
                em,
                amount=price["unit_amount"] * item["quantity"],
                currency=price["currency"],
                description=f"{item['quantity']} × {product.get('name', 'Subscription')} "
                f"(at ${price['unit_amount'] / 100:.2f} / {price['recurring']['interval']})",
                period=(start, end),
                quantity=item["quantity"],
                subscription=sub["id"],
                item=item["id"],
                price=price,
            )
        )
    return out


def prorate(
    em: Any,
    sub: dict[str, Any],
    old: dict[str, Any],
    new_price: dict[str, Any],
    new_qty: int,
    moment: int,
) -> list[dict[str, Any]]:
    start, end = period(sub)
    remaining = max(end - moment, 0) / max(end - start, 1)
    product = em.objects.get(new_price["product"], {}).get("name", "Subscription")
    credit = -round(old["price"]["unit_amount"] * old["quantity"] * remaining)
    debit = round(new_price["unit_amount"] * new_qty * remaining)
    common = {
        "currency": sub["currency"],
        "period": (moment, end),
        "subscription": sub["id"],
        "item": old["id"],
        "proration": True,
    }
    return [
        invoices.line(
            em,
            amount=credit,
            description=f"Unused time on {product}",
            quantity=old["quantity"],
            price=old["price"],
            **common,
        ),
        invoices.line(
            em,
            amount=debit,
            description=f"Remaining time on {product}",
            quantity=new_qty,
            price=new_price,
            **common,
        ),
    ]


def update_items(em: Any, sub: dict[str, Any], p: dict[str, Any]) -> None:
    behavior = p.get("proration_behavior", "create_prorations")
    moment = p.get("proration_date") if isinstance(p.get("proration_date"), int) else em.now()
    prorations: list[dict[str, Any]] = []
    by_id = {item["id"]: item for item in sub["items"]["data"]}
    for index, change in enumerate(p["items"]):
        if change.get("id"):
            if change["id"] not in by_id:
                raise errors.no_such("subscription_item", change["id"], f"items[{index}][id]")
            item = by_id[change["id"]]
            if change.get("deleted"):
                if len(sub["items"]["data"]) == 1:
                    raise errors.StripeError(
                        400,
                        "A subscription must have at least one active plan.",
                        param=f"items[{index}][deleted]",
                    )
                sub["items"]["data"].remove(item)
                continue
            new_price = (
                price_for_item(em, change, index)
                if (change.get("price") or change.get("price_data"))
                else item["price"]
            )
            if new_price["recurring"]["interval"] != item["price"]["recurring"]["interval"]:
                raise errors.StripeError(
                    400,
                    "Changing the billing interval is not supported by the emulator "
                    "(Stripe would reset the billing cycle).",
                    param=f"items[{index}]",
                )
            qty = change.get("quantity", item["quantity"])
            if behavior != "none" and sub["status"] in ("active", "past_due"):
                prorations += prorate(em, sub, item, new_price, qty, moment)
            item.update(price=snapshot(new_price), plan=plan(new_price), quantity=qty)
            if "metadata" in change:
                item["metadata"] = merge_metadata(item["metadata"], change["metadata"])
        else:
            price = price_for_item(em, change, index)
            start, end = period(sub)
            sub["items"]["data"].append(
                new_item(
                    em,
                    sub["id"],
                    price,
                    change.get("quantity", 1),
                    merge_metadata({}, change.get("metadata", {})),
                    (start, end),
                )
            )
    if not prorations:
        return
    if behavior == "create_prorations":
        em.secret_of(sub["id"]).setdefault("prorations", []).extend(prorations)
        return
    customer = em.objects[sub["customer"]]
    total = sum(line["amount"] for line in prorations)
    invoice = invoices.create(
        em,
        customer=customer,
        subscription=sub,
        lines=prorations,
        billing_reason="subscription_update",
        period=(moment, moment),
    )
    sub["latest_invoice"] = invoice["id"]
    if total < 0:
        # Credit goes to the customer balance and pays future invoices.
        invoice["amount_due"] = invoice["amount_remaining"] = 0
        customer["balance"] += total
    invoices.finalize(em, invoice)
    if invoice["status"] == "open":
        invoices.attempt_payment(em, invoice)


def _find_item(em: Any, item_id: str) -> dict[str, Any]:
    for sub_id in em.by_type.get("subscription", []):
        for item in em.objects[sub_id]["items"]["data"]:
            if item["id"] == item_id:
                return item
    raise errors.no_such("subscription_item", item_id)


@route("GET", "/v1/subscription_items/{item_id}")
def retrieve(em: Any, p: dict[str, Any], item_id: str) -> dict[str, Any]:
    return _find_item(em, item_id)


@route("GET", "/v1/subscription_items", {**PAGE, "subscription": string})
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    if not p.get("subscription"):
        raise errors.missing_parameter("subscription")
    sub = em.get("subscription", p["subscription"], param="subscription")
    limit = p.get("limit", 10)
    return {
        "object": "list",
        "data": sub["items"]["data"][:limit],
        "has_more": len(sub["items"]["data"]) > limit,
        "url": "/v1/subscription_items",
    }
