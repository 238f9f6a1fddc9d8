"""Compare an emulator object with Stripe's published example of its resource.

Rules (what "same shape" means here):
- a dict has exactly the fixture's keys, recursively;
- a value has the fixture's JSON type; null on either side matches anything (Stripe's
  fixtures fill nullable fields with either a sample or null);
- a list's items are compared with the fixture's first item;
- an expanded id (a dict where the fixture has a string) is compared with its own resource;
- free-form maps (metadata, previous_attributes' values) are not compared key by key;
- Stripe's polymorphic hashes carry one extra key named by their `type` value
  (`next_action.use_stripe_sdk`, `invoice_payment.payment.payment_intent`,
  `line_item.pricing.price_details`); the fixtures only show the bare `type`;
- API error hashes (`last_payment_error`, `last_setup_error`) carry the error's fields,
  which the fixtures reduce to `type`;
- an event's `data.previous_attributes` is present on *.updated events only, and its
  `data.object` is compared with the fixture of that object's own resource;
- includable fields (returned only when expanded, so absent from the fixtures):
  `invoice.payments` is a list of invoice_payment objects compared with that fixture, and
  `invoice.confirmation_secret` is `{client_secret, type}` as Stripe documents it.
"""

import json
from importlib import resources
from typing import Any

FIXTURES: dict[str, Any] = json.loads(
    resources.files("fakestripe").joinpath("fixtures", "fixtures3.json").read_text()
)["resources"]
FREE_FORM = {"metadata", "previous_attributes", "source_types"}
ERROR_HASHES = {"last_payment_error", "last_setup_error", "last_finalization_error"}
ERROR_KEYS = {
    "charge",
    "code",
    "decline_code",
    "doc_url",
    "message",
    "param",
    "payment_method",
    "type",
    "advice_code",
    "network_decline_code",
    "payment_method_type",
}


def resource_for(obj: dict[str, Any]) -> str:
    if obj.get("deleted"):
        return f"deleted_{obj['object']}"
    return obj["object"]


def _is_expanded(actual: Any, fixture: Any) -> bool:
    """An object where the fixture shows an id or null (an expanded field)."""
    return (
        isinstance(actual, dict)
        and isinstance(actual.get("object"), str)
        and resource_for(actual) in FIXTURES
        and (fixture is None or isinstance(fixture, str))
    )


def compare(actual: Any, fixture: Any, path: str = "") -> list[str]:
    if _is_expanded(actual, fixture):
        # An expanded id (the fixture shows an id or null): compare with its own resource.
        return compare(actual, FIXTURES[resource_for(actual)], path)
    if actual is None or fixture is None:
        return []
    if type(actual) is not type(fixture):
        return [f"{path}: {type(actual).__name__} where Stripe has {type(fixture).__name__}"]
    if isinstance(actual, list):
        if not fixture:
            return []
        return [
            p for i, item in enumerate(actual) for p in compare(item, fixture[0], f"{path}[{i}]")
        ]
    if not isinstance(actual, dict):
        return []
    name = path.rsplit(".", 1)[-1]
    if name in FREE_FORM:
        return []
    if name in ERROR_HASHES:
        extra = set(actual) - ERROR_KEYS
        return [f"{path}: unexpected error keys {sorted(extra)}"] if extra else []
    problems = []
    expected = set(fixture)
    if actual.get("object") == "invoice":
        for key in ("payments", "confirmation_secret"):
            if key in actual:
                expected.add(key)
                problems += _includable(key, actual[key], f"{path}.{key}")
    if path.endswith("data") and actual.get("object", {}) and "previous_attributes" in actual:
        expected.add("previous_attributes")
    if (
        isinstance(actual.get("type"), str)
        and actual["type"] in actual
        and actual["type"] not in fixture
    ):
        expected.add(actual["type"])
    missing, extra = expected - set(actual), set(actual) - expected
    if missing:
        problems.append(f"{path}: missing {sorted(missing)}")
    if extra:
        problems.append(f"{path}: extra {sorted(extra)}")
    for key in set(actual) & set(fixture):
        sub_path = f"{path}.{key}" if path else key
        if key == "object" and path.endswith("data") and isinstance(actual[key], dict):
            problems += compare(actual[key], FIXTURES[resource_for(actual[key])], sub_path)
        else:
            problems += compare(actual[key], fixture[key], sub_path)
    return problems


def _includable(key: str, value: Any, path: str) -> list[str]:
    if value is None:
        return []
    if key == "confirmation_secret":
        keys = set(value)
        return [] if keys == {"client_secret", "type"} else [f"{path}: keys {sorted(keys)}"]
    if set(value) != {"object", "data", "has_more", "url"}:
        return [f"{path}: not a list object"]
    return [
        p
        for i, item in enumerate(value["data"])
        for p in compare(item, FIXTURES["invoice_payment"], f"{path}.data[{i}]")
    ]


def check(obj: dict[str, Any]) -> list[str]:
    return compare(obj, FIXTURES[resource_for(obj)], resource_for(obj))
