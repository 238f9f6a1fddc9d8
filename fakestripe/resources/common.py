"""Helpers shared by the resource modules."""

from typing import Any

from fakestripe import errors
from fakestripe.snapshot import snapshot


def merge_metadata(current: dict[str, str], update: dict[str, str] | str) -> dict[str, str]:
    """Stripe merges metadata keys; "" as a value deletes the key, "" as a whole clears."""
    if update == "":
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def apply_update(obj: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Set fields and return Stripe's `previous_attributes` for the *.updated event."""
    previous: dict[str, Any] = {}
    for key, value in changes.items():
        if obj.get(key) != value:
            previous[key] = snapshot(obj.get(key))
            obj[key] = value
    return previous


def empty_address() -> dict[str, Any]:
    return {k: None for k in ("city", "country", "line1", "line2", "postal_code", "state")}


def address(value: dict[str, Any] | None) -> dict[str, Any]:
    out = empty_address()
    out.update(value or {})
    return out


def positive_amount(p: dict[str, Any], name: str = "amount", minimum: int = 50) -> int:
    amount = p.get(name)
    if amount is None:
        raise errors.missing_parameter(name)
    if amount < minimum:
        # Stripe's minimum charge in USD is $0.50.
        raise errors.StripeError(
            400,
            "Amount must be at least $0.50 usd",
            code="amount_too_small",
            param=name,
        )
    if amount > 99999999:
        raise errors.StripeError(
            400, "Amount must be no more than $999,999.99", code="amount_too_large", param=name
        )
    return amount


def currency(p: dict[str, Any], name: str = "currency") -> str:
    value = p.get(name)
    if not value:
        raise errors.missing_parameter(name)
    value = value.lower()
    if len(value) != 3 or not value.isalpha():
        raise errors.StripeError(400, f"Invalid currency: {value}.", param=name)
    return value


def fee_for(amount: int) -> int:
    """Stripe's standard US card pricing: 2.9% + 30 cents."""
    return (amount * 29 + 500) // 1000 + 30  # rounded half up, in cents
