"""Customers: /v1/customers."""

from typing import Any

from fakestripe import errors
from fakestripe.params import ADDRESS, LIST, metadata, string, string_list
from fakestripe.resources.common import address, apply_update, merge_metadata
from fakestripe.routing import route

FIELDS = {
    "email": string,
    "name": string,
    "phone": string,
    "description": string,
    "metadata": metadata,
    "address": ADDRESS,
    "preferred_locales": string_list,
    "invoice_settings": {"default_payment_method": string},
}
# Attaching a payment method in passing is for a new customer only (an update attaches
# through /v1/payment_methods/{id}/attach).
CREATE = {**FIELDS, "payment_method": string}


def shape(em: Any, cid: str) -> dict[str, Any]:
    return {
        "address": address(None),
        "balance": 0,
        "created": em.now(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "id": cid,
        "invoice_prefix": cid[-8:].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "object": "customer",
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def _apply(em: Any, customer: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    from fakestripe.resources import payment_methods

    changes: dict[str, Any] = {}
    for key in ("email", "name", "phone", "description"):
        if key in p:
            changes[key] = p[key] or None
    if "preferred_locales" in p:
        changes["preferred_locales"] = p["preferred_locales"]
    if "address" in p:
        changes["address"] = address(p["address"])
    if "metadata" in p:
        changes["metadata"] = merge_metadata(customer["metadata"], p["metadata"])
    if p.get("payment_method"):
        payment_methods.attach(em, p["payment_method"], customer["id"], param="payment_method")
    default_pm = (p.get("invoice_settings") or {}).get("default_payment_method")
    if default_pm is not None:
        if default_pm:
            pm = em.get(
                "payment_method", default_pm, param="invoice_settings[default_payment_method]"
            )
            if pm["customer"] != customer["id"]:
                raise errors.StripeError(
                    400,
                    f"No such PaymentMethod: '{default_pm}'; It's possible this PaymentMethod "
                    "exists on one of your connected accounts, in which case you should retry "
                    "this request on that connected account.",
                    code="resource_missing",
                    param="invoice_settings[default_payment_method]",
                )
        settings = dict(customer["invoice_settings"])
        settings["default_payment_method"] = default_pm or None
        changes["invoice_settings"] = settings
    return apply_update(customer, changes)


@route("POST", "/v1/customers", CREATE)
def create(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    customer = em.store(shape(em, em.new_id("cus", 14)))
    _apply(em, customer, p)
    em.emit("customer.created", customer)
    return customer


@route("GET", "/v1/customers/{cid}")
def retrieve(em: Any, p: dict[str, Any], cid: str) -> dict[str, Any]:
    obj = em.objects.get(cid)
    if obj is not None and obj["object"] == "customer" and obj.get("deleted"):
        return obj  # Stripe answers a deleted customer with its tombstone
    return em.get("customer", cid)


@route("POST", "/v1/customers/{cid}", FIELDS)
def update(em: Any, p: dict[str, Any], cid: str) -> dict[str, Any]:
    customer = em.get("customer", cid)
    previous = _apply(em, customer, p)
    if previous:
        em.emit("customer.updated", customer, previous)
    return customer


@route("DELETE", "/v1/customers/{cid}")
def delete(em: Any, p: dict[str, Any], cid: str) -> dict[str, Any]:
    from fakestripe.resources import billing_cycle

    customer = em.get("customer", cid)
    for sub_id in list(em.by_type.get("subscription", [])):
        sub = em.objects[sub_id]
        if sub["customer"] == cid and sub["status"] not in ("canceled", "incomplete_expired"):
            billing_cycle.cancel_now(em, sub, reason="cancellation_requested")
    em.emit("customer.deleted", customer)
    em.by_type["customer"].remove(cid)
    em.objects[cid] = {"id": cid, "object": "customer", "deleted": True}
    return em.objects[cid]


@route("GET", "/v1/customers", {**LIST, "email": string})
def list_all(em: Any, p: dict[str, Any]) -> dict[str, Any]:
    email = p.get("email")
    return em.list_objects(
        "customer", p, "/v1/customers", lambda c: email is None or c["email"] == email
    )
