"""Request parameters: Stripe's form encoding in, validated and typed values out.

Stripe encodes nested values as `items[0][price_data][unit_amount]=500` (stripe-python
indexes lists; Stripe.js may send `expand[]=`). Every route declares the parameters it
accepts; anything else is refused with `parameter_unknown`, as Stripe does, so a typo in
the app fails in tests rather than being silently ignored.
"""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fakestripe import errors

Spec = Any  # a coercer function, a dict of name -> Spec, or a one-element list [Spec]

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def decode_form(text: str) -> dict[str, Any]:
    """`a[b][0]=x&a[b][1]=y` -> {"a": {"b": ["x", "y"]}} (blank values kept: "" unsets)."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True):
        parts = [
            m.group(1) if m.group(1) is not None else m.group(2) for m in _KEY.finditer(raw_key)
        ]
        if not parts:
            continue
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":  # `expand[]=x` appends
                part = str(sum(1 for k in node if k.isdigit()))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise errors.invalid_hash(raw_key)
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


# --- Coercers ---------------------------------------------------------------------------


def string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise errors.StripeError(400, f"Invalid string: {value!r}", param=name)
    return value


def integer(name: str, value: Any) -> int:
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value.strip()):
        raise errors.invalid_integer(name, value)
    return int(value)


def boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "True"):
        return True
    if value in ("false", "False"):
        return False
    raise errors.invalid_boolean(name, value)


def timestamp(name: str, value: Any) -> int | str:
    if value == "now":
        return "now"
    return integer(name, value)


def metadata(name: str, value: Any) -> dict[str, str] | str:
    """Free-form string pairs; "" clears them all, a key set to "" removes that key."""
    if value == "":
        return ""
    if not isinstance(value, dict):
        raise errors.invalid_hash(name)
    for key, item in value.items():
        if not isinstance(item, str):
            raise errors.StripeError(400, "Invalid metadata value", param=f"{name}[{key}]")
        if len(key) > 40:
            raise errors.StripeError(
                400, "Metadata keys can have up to 40 characters.", param=f"{name}[{key}]"
            )
        if len(item) > 500:
            raise errors.StripeError(
                400, "Metadata values can have up to 500 characters.", param=f"{name}[{key}]"
            )
    if len(value) > 50:
        raise errors.StripeError(400, "Metadata can have up to 50 keys.", param=name)
    return dict(value)


def enum(*choices: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise errors.invalid_choice(name, value, choices)
        return value

    return check


def emptyable(spec: Spec) -> Callable[[str, Any], Any]:
    """A hash that may also be sent as "" to unset it (pause_collection="")."""

    def check(name: str, value: Any) -> Any:
        if value == "":
            return ""
        return validate(value, spec, name)

    return check


def int_range(name: str, value: Any) -> int | dict[str, int]:
    """`created=123` or `created[gte]=123&created[lt]=456`."""
    if isinstance(value, dict):
        return validate(value, {"gt": integer, "gte": integer, "lt": integer, "lte": integer}, name)
    return integer(name, value)


def string_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str):  # a single value sent without an index
        return [value]
    if not isinstance(value, list):
        raise errors.invalid_array(name)
    return [string(f"{name}[{i}]", item) for i, item in enumerate(value)]


# --- Validation -------------------------------------------------------------------------


def validate(value: Any, spec: Spec, name: str = "") -> Any:
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise errors.invalid_hash(name)
        out: dict[str, Any] = {}
        for key, item in value.items():
            full = f"{name}[{key}]" if name else key
            if key not in spec:
                raise errors.unknown_parameter(full)
            out[key] = validate(item, spec[key], full)
        return out
    if isinstance(spec, list):
        if isinstance(value, dict) and all(k.isdigit() for k in value):
            value = [value[k] for k in sorted(value, key=int)]
        if not isinstance(value, list):
            raise errors.invalid_array(name)
        return [validate(item, spec[0], f"{name}[{i}]") for i, item in enumerate(value)]
    return spec(name, value)


def require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise errors.missing_parameter(name)


# Parameters every request accepts.
COMMON: dict[str, Spec] = {"expand": string_list}
# Paging, which every list takes; most lists also filter by `created`.
PAGE: dict[str, Spec] = {"limit": integer, "starting_after": string, "ending_before": string}
LIST: dict[str, Spec] = {**PAGE, "created": int_range}
ADDRESS: dict[str, Spec] = {
    k: string for k in ("city", "country", "line1", "line2", "postal_code", "state")
}
