"""The donation page, built once and filled in per visitor.

Rendering the form with Django's templates costs milliseconds a request; a giving-day
spike must not need more machines for that. So the page is rendered once per process
(and again when staff change presets or newsletters, or the settings it shows change)
with markers where per-visitor values go: the CSRF token, which frequency and amount are
chosen (from the query string), the tracking codes, the totals. Each request then only
joins the pre-split parts with those few values, escaped.

The same template renders the no-JavaScript error page, with errors beside their fields,
through the same fill step, so both paths produce the same markup.
"""

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe

from donations.fees import (
    AmountError,
    cover_fee,
    currency_digits,
    currency_symbol,
    format_amount,
    format_plain,
    parse_amount,
)
from donations.forms import FREQUENCIES, OTHER, clean_code
from donations.models import Donation, DonationPreset
from members.models import Newsletter

TEMPLATE = "donations/donate.html"
VERSION_KEY = "donate:page-version"
CHECK_EVERY_SECONDS = 1.0  # how stale another process's preset change may look
MAX_AGE_SECONDS = 300.0  # rebuild anyway now and then (a change made with .update())

_SEP = "\x1f"
_MARK = re.compile("\x00([^\x00]*)\x00")
State = Mapping[str, "str | list[str]"]


def slot_checked(name: str, value: str) -> str:
    """Marker for ` checked` when the visitor's `name` is (or includes) `value`."""
    return mark_safe(f"\x00c{_SEP}{name}{_SEP}{value}\x00")


def slot_selected(name: str, value: str) -> str:
    return mark_safe(f"\x00s{_SEP}{name}{_SEP}{value}\x00")


def slot_value(name: str) -> str:
    """Marker for the visitor's `name`, HTML-escaped."""
    return mark_safe(f"\x00v{_SEP}{name}\x00")


def _compile(html: str) -> tuple[list[str], list[tuple[str, ...]]]:
    pieces = _MARK.split(html)
    return pieces[0::2], [tuple(spec.split(_SEP)) for spec in pieces[1::2]]


def _fill(literals: list[str], slots: list[tuple[str, ...]], state: State) -> str:
    out = [literals[0]]
    for slot, literal in zip(slots, literals[1:], strict=True):
        kind, name = slot[0], slot[1]
        current = state.get(name, "")
        if kind == "v":
            out.append(escape(current) if current else "")
        else:
            chosen = current == slot[2] if isinstance(current, str) else slot[2] in current
            if chosen:
                out.append(" checked" if kind == "c" else " selected")
        out.append(literal)
    return "".join(out)


@dataclass
class Page:
    """One build of the page: its parts, and the choices a visitor starts with."""

    literals: list[str]
    slots: list[tuple[str, ...]]
    defaults: dict[str, str]
    presets: dict[str, list[int]] = field(default_factory=dict)

    def render(self, state: State) -> bytes:
        return _fill(self.literals, self.slots, state).encode()


def _settings_key() -> tuple:
    return (
        settings.DONATION_MIN_AMOUNT,
        settings.DONATION_MAX_AMOUNT,
        settings.DONATION_FEE_BASIS_POINTS,
        settings.DONATION_FEE_FIXED,
        settings.DONATION_ADDRESS_REQUIRED,
        settings.DONATION_DEFAULT_COUNTRY,
        settings.ORG_CURRENCY,
        settings.ORG_NAME,
        settings.STRIPE_PUBLISHABLE_KEY,
        settings.STRIPE_JS_URL,
    )


def _preset_groups() -> tuple[list[dict], dict[str, str], dict[str, list[int]]]:
    presets = list(DonationPreset.objects.all())
    groups, defaults, amounts = [], {}, {}
    for frequency, label in Donation.Frequency.choices:
        mine = [p for p in presets if p.frequency == frequency]
        amounts[frequency] = [p.amount for p in mine]
        suggested = next((p for p in mine if p.suggested), mine[0] if mine else None)
        defaults[f"amount_{frequency}"] = str(suggested.amount) if suggested else OTHER
        groups.append(
            {
                "frequency": frequency,
                "label": label,
                "presets": [{"amount": p.amount, "text": format_amount(p.amount)} for p in mine],
            }
        )
    return groups, defaults, amounts


def build(*, errors: Mapping[str, list[str]] | None = None, notice: str = "") -> Page:
    groups, defaults, amounts = _preset_groups()
    defaults.update(
        frequency=Donation.Frequency.ONE_TIME, country=settings.DONATION_DEFAULT_COUNTRY
    )
    context = {
        "ORG_NAME": settings.ORG_NAME,
        "groups": groups,
        "newsletters": list(Newsletter.objects.filter(offered_on_form=True)),
        "errors": errors or {},
        "error_list": [
            (name, message) for name, messages in (errors or {}).items() for message in messages
        ],
        "notice": notice,
        "address_required": settings.DONATION_ADDRESS_REQUIRED,
        "currency": settings.ORG_CURRENCY,
        "currency_symbol": currency_symbol(),
        "currency_digits": currency_digits(),
        "min_amount": settings.DONATION_MIN_AMOUNT,
        "max_amount": settings.DONATION_MAX_AMOUNT,
        "min_text": format_amount(settings.DONATION_MIN_AMOUNT),
        "fee_basis_points": settings.DONATION_FEE_BASIS_POINTS,
        "fee_fixed": settings.DONATION_FEE_FIXED,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
    }
    literals, slots = _compile(render_to_string(TEMPLATE, context))
    return Page(literals=literals, slots=slots, defaults=defaults, presets=amounts)


# --- The per-process copy and its invalidation -----------------------------------------

_cached: dict[str, object] = {"page": None, "key": None, "checked_at": 0.0, "built_at": 0.0}


def current() -> Page:
    now = time.monotonic()
    if now - _cached["checked_at"] >= CHECK_EVERY_SECONDS:  # type: ignore[operator]
        key = (cache.get(VERSION_KEY, 0), _settings_key())
        _cached["checked_at"] = now
        if key != _cached["key"] or now - _cached["built_at"] >= MAX_AGE_SECONDS:  # type: ignore[operator]
            _cached.update(page=build(), key=key, built_at=now)
    return _cached["page"]  # type: ignore[return-value]


def invalidate() -> None:
    """Rebuild on the next request here, and within a second in every other process."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    _cached.update(page=None, key=None, checked_at=0.0)


@receiver([post_save, post_delete], sender=DonationPreset, dispatch_uid="donate-page-presets")
@receiver([post_save, post_delete], sender=Newsletter, dispatch_uid="donate-page-newsletters")
def _on_change(**_kwargs) -> None:
    invalidate()


# --- What each visitor sees -------------------------------------------------------------


def visitor_state(
    page: Page, query: Mapping[str, str], *, csrf_token: str
) -> dict[str, str | list[str]]:
    """The page's defaults, overridden by `?amount=25&frequency=monthly&source=...`.

    Anything unusable in the query is ignored: a bad link still shows a working form."""
    state: dict[str, str | list[str]] = dict(page.defaults)
    state["csrfmiddlewaretoken"] = csrf_token
    frequency = query.get("frequency", "")
    if frequency in FREQUENCIES:
        state["frequency"] = frequency
    amount_text = query.get("amount", "")
    if amount_text:
        try:
            amount = parse_amount(amount_text[:20])
        except AmountError:
            amount = 0
        if amount > 0:
            chosen = str(state["frequency"])
            if amount in page.presets.get(chosen, []):
                state[f"amount_{chosen}"] = str(amount)
            else:
                state[f"amount_{chosen}"] = OTHER
                state["custom_amount"] = format_plain(amount)
    for name in ("source", "campaign"):
        code = clean_code(query.get(name, ""))
        if code:
            state[name] = code
    add_totals(state)
    return state


def chosen_amount(state: Mapping[str, object]) -> int:
    custom = str(state.get("custom_amount") or "")
    if custom:
        try:
            return parse_amount(custom)
        except AmountError:
            return 0
    chosen = str(state.get(f"amount_{state.get('frequency')}") or "")
    return int(chosen) if chosen.isascii() and chosen.isdigit() else 0


def add_totals(state: dict[str, str | list[str]]) -> None:
    """The fee note and the button's total, as the page's script would compute them."""
    gift = chosen_amount(state)
    fee = cover_fee(gift) if gift > 0 else 0
    total = gift + (fee if state.get("cover_fee") else 0)
    state["fee_text"] = format_amount(fee) if gift > 0 else ""
    per = {"monthly": " a month", "annual": " a year"}.get(str(state.get("frequency")), "")
    state["submit_text"] = f"Give {format_amount(total)}{per}" if gift > 0 else "Give"
