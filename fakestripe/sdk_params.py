"""What Stripe accepts on each endpoint, read from the pinned SDK's generated types.

stripe-python is generated from Stripe's OpenAPI spec for the API version it pins: each
service method names its endpoint (`self._request("post", "/v1/payment_intents/{intent}/
confirm".format(...))`) and its parameters' TypedDict (`params: Optional[
"PaymentIntentConfirmParams"]`), nested hashes being TypedDicts of their own. Reading the
names from there, instead of keeping a list by hand, makes the emulator refuse what Stripe
refuses for that version (a parameter an API version removed, such as a PaymentIntent's
`payment_method_types` under endive) the day the SDK is upgraded.

A route's own spec (fakestripe.params) still decides what the emulator implements and how
each value is checked; this module only answers "does Stripe know this name here?".
"""

import functools
import importlib
import pkgutil
import re
from collections.abc import Mapping
from typing import Any

import stripe
import typing_extensions

# The SDK's per-request options share the params dict in its signatures; they travel as
# headers, never as parameters.
_REQUEST_OPTIONS = set(stripe.RequestOptions.__annotations__)
# A nested hash's TypedDict, named inside a field's annotation (often a forward reference
# string such as "Literal['']|PaymentIntentCreateParamsShipping").
_TYPE_NAME = re.compile(r"\b([A-Z]\w*Params\w*)\b")

_METHOD = re.compile(
    r"\n    def \w+\(\n(?P<signature>.*?)\n    \)(?P<body>.*?)(?=\n    (?:async )?def |\Z)",
    re.S,
)
_PARAMS_TYPE = re.compile(r'params: Optional\["(\w+)"\]|params: "(\w+)"')
_REQUEST = re.compile(r'self\._request\(\s*"(\w+)",\s*"(/v1/[^"]+)"')


def _shape(template: str) -> str:
    """`/v1/payment_intents/{intent}/confirm` and `{pi_id}` alike -> `/v1/payment_intents/{}/confirm`."""
    return re.sub(r"\{\w*\}", "{}", template)


@functools.cache
def _endpoints() -> dict[tuple[str, str], str]:
    """(METHOD, path shape) -> the name of the SDK's params TypedDict for it."""
    found: dict[tuple[str, str], str] = {}
    for module_info in pkgutil.iter_modules(stripe.__path__):
        if not module_info.name.endswith("_service"):
            continue
        module = importlib.import_module(f"stripe.{module_info.name}")
        source = getattr(module, "__loader__", None)
        text = source.get_source(module.__name__) if source is not None else None
        if not text:
            continue
        for method in _METHOD.finditer(text):
            params = _PARAMS_TYPE.search(method["signature"])
            request = _REQUEST.search(method["body"])
            if params and request:
                key = (request[1].upper(), _shape(request[2]))
                found.setdefault(key, params[1] or params[2])
    return found


def _typeddict(name: str) -> type | None:
    return getattr(stripe.params, name, None)


@functools.cache
def _fields(typed: type) -> Mapping[str, str]:
    """Each field's annotation as text (forward references are not evaluated: some name
    types the params modules never import)."""
    return {key: str(annotation) for key, annotation in typed.__annotations__.items()}


def _nested(annotation: str) -> type | None:
    """The TypedDict a field holds, directly, in a list, or beside "" (the unset form)."""
    for name in _TYPE_NAME.findall(annotation):
        typed = _typeddict(name) or _module_level(name)
        if typed is not None and typing_extensions.is_typeddict(typed):
            return typed
    return None


@functools.cache
def _module_level(name: str) -> type | None:
    """Nested TypedDicts live in the module of their top-level params type."""
    match = re.match(r"(.+?Params)", name)
    top = _typeddict(match[1]) if match else None
    module = importlib.import_module(top.__module__) if top is not None else None
    return getattr(module, name, None) if module is not None else None


def _is_free_form(annotation: str) -> bool:
    """metadata and the like: a Dict[str, str] whose keys are the caller's own."""
    return "Dict[" in annotation or "Mapping[" in annotation


def unknown_parameter(method: str, template: str, params: Mapping[str, Any]) -> str | None:
    """The first parameter (as `a[b][c]`) the SDK's type for this endpoint lacks, if any.

    Endpoints the SDK does not type (none that the app calls) are not checked.
    """
    name = _endpoints().get((method.upper(), _shape(template)))
    typed = _typeddict(name) if name else None
    if typed is None:
        return None
    return _first_unknown(typed, params, "", top=True)


def _first_unknown(typed: type, value: Any, prefix: str, *, top: bool = False) -> str | None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            missing = _first_unknown(typed, item, f"{prefix}[{index}]")
            if missing:
                return missing
        return None
    if not isinstance(value, Mapping):
        return None
    fields = _fields(typed)
    for key, item in value.items():
        full = f"{prefix}[{key}]" if prefix else key
        if key not in fields or (top and key in _REQUEST_OPTIONS):
            return full
        annotation = fields[key]
        if _is_free_form(annotation):
            continue
        inner = _nested(annotation)
        if inner is not None:
            missing = _first_unknown(inner, item, full)
            if missing:
                return missing
    return None


def routes_beyond_the_sdk(routes: list[Any]) -> list[str]:
    """Every parameter (nested ones too) a route's spec accepts that the SDK's type for the
    endpoint lacks: for tests, so the emulator never takes what Stripe would refuse."""
    extra = []
    for route in routes:
        if route.publishable:
            continue
        name = _endpoints().get((route.method, _shape(route.template)))
        typed = _typeddict(name) if name else None
        if typed is not None:
            label = f"{route.method} {route.template}: "
            extra += [label + key for key in _spec_beyond(typed, route.spec, "", top=True)]
    return extra


def _spec_beyond(typed: type, spec: Any, prefix: str, *, top: bool = False) -> list[str]:
    if isinstance(spec, list) and spec:
        return _spec_beyond(typed, spec[0], prefix)
    if not isinstance(spec, dict):
        return []
    fields = _fields(typed)
    extra = []
    for key, inner_spec in spec.items():
        full = f"{prefix}[{key}]" if prefix else key
        if key not in fields or (top and key in _REQUEST_OPTIONS):
            extra.append(full)
            continue
        inner = _nested(fields[key])
        if inner is not None:
            extra += _spec_beyond(inner, inner_spec, full)
    return extra


def untyped_routes(routes: list[Any]) -> list[str]:
    return [
        f"{route.method} {route.template}"
        for route in routes
        if not route.publishable and (route.method, _shape(route.template)) not in _endpoints()
    ]
